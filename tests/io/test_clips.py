"""fersk.io.clips: which frames of a clip are sampled, and reading them from videos, frame
folders and arrays; a clip that cannot be read is an error naming it."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from fersk.io import ImageReadError
from fersk.io.clips import ClipReadError, read_clip, sample_frame_indices
from fersk.io.video import write_video

# --------------------------------------------------------------------------
# sample_frame_indices
# --------------------------------------------------------------------------


def test_sample_frame_indices_spreads_uniformly_with_both_ends():
    indices = sample_frame_indices(100, 16)
    assert indices.shape == (16,) and indices[0] == 0 and indices[-1] == 99
    steps = np.diff(indices)
    assert set(steps.tolist()) <= {6, 7}  # 99 / 15 = 6.6 frames apart
    np.testing.assert_allclose(indices, np.linspace(0, 99, 16), atol=0.5)


def test_sample_frame_indices_repeats_frames_of_short_clips():
    indices = sample_frame_indices(5, 16)
    assert indices[0] == 0 and indices[-1] == 4
    assert np.all(np.diff(indices) >= 0)
    counts = np.bincount(indices, minlength=5)
    assert counts.sum() == 16 and counts.min() >= 3 and counts.max() <= 4  # evenly repeated
    np.testing.assert_array_equal(sample_frame_indices(1, 4), [0, 0, 0, 0])
    np.testing.assert_array_equal(sample_frame_indices(7, 7), np.arange(7))
    assert sample_frame_indices(10, 1).tolist() == [0]


@pytest.mark.parametrize("args", [(0, 16), (-3, 16), (10, 0), (2.5, 4), (True, 4)])
def test_sample_frame_indices_rejects_bad_counts(args):
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        sample_frame_indices(*args)


# --------------------------------------------------------------------------
# read_clip
# --------------------------------------------------------------------------


def _gray_frames(n: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """``n`` flat gray frames of levels 0, 20, 40, ...: the level tells the frame."""
    return (np.arange(n) * 20).astype(np.uint8)[:, None, None] * np.ones(size, np.uint8)


@pytest.mark.parametrize("name", ["levels.mp4", "levels.avi"])
def test_read_clip_decodes_the_sampled_video_frames(tmp_path, name):
    path = write_video(tmp_path / name, _gray_frames(10))
    frames = read_clip(path)
    assert len(frames) == 10
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)
    levels = [float(f.mean()) for f in frames]
    np.testing.assert_allclose(levels, np.arange(10) * 20, atol=4)
    sampled = read_clip(path, n_frames=4)  # frames 0, 3, 6, 9
    np.testing.assert_allclose([f.mean() for f in sampled], [0, 60, 120, 180], atol=4)
    longer = read_clip(path, n_frames=13)  # repeats frames
    expected = sample_frame_indices(10, 13) * 20
    np.testing.assert_allclose([f.mean() for f in longer], expected, atol=4)


def test_read_clip_video_frames_are_rgb(tmp_path):
    frames = np.zeros((3, 32, 32, 3), np.uint8)
    frames[..., 0] = 200  # red in RGB
    decoded = read_clip(write_video(tmp_path / "red.avi", frames))
    red, green, blue = decoded[0].reshape(-1, 3).mean(axis=0)
    assert red > 150 and green < 50 and blue < 50


def test_read_clip_does_not_trust_the_container_frame_count(tmp_path, monkeypatch):
    """The frames are counted by grabbing them; CAP_PROP_FRAME_COUNT is never needed."""
    path = write_video(tmp_path / "levels.avi", _gray_frames(6))
    original = cv2.VideoCapture

    class LyingCapture:
        def __init__(self, *args):
            self._capture = original(*args)

        def get(self, prop):
            return 1000.0 if prop == cv2.CAP_PROP_FRAME_COUNT else self._capture.get(prop)

        def __getattr__(self, name):
            return getattr(self._capture, name)

    monkeypatch.setattr(cv2, "VideoCapture", LyingCapture)
    frames = read_clip(path, n_frames=3)
    np.testing.assert_allclose([f.mean() for f in frames], [0, 60, 100], atol=4)


def test_read_clip_folder_in_natural_order(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for k in (10, 2, 1, 33):
        cv2.imwrite(str(folder / f"img{k}.png"), np.full((8, 8), k, np.uint8))
    (folder / "notes.txt").write_text("not a frame")
    (folder / ".hidden.png").write_bytes(b"")
    (folder / "sub.png").mkdir()  # a folder with an image-like name
    frames = read_clip(folder)
    assert [os.path.basename(f) for f in frames] == [
        "img1.png",
        "img2.png",
        "img10.png",
        "img33.png",
    ]
    assert all(os.path.isfile(f) for f in frames)
    assert [os.path.basename(f) for f in read_clip(str(folder), n_frames=2)] == [
        "img1.png",
        "img33.png",
    ]


def test_read_clip_arrays_and_lists_are_returned_without_copying():
    clip = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    frames = read_clip(clip, n_frames=3)
    assert len(frames) == 3 and all(np.shares_memory(f, clip) for f in frames)
    np.testing.assert_array_equal(frames[1], clip[3])  # indices 0, 3, 5 (2.5 rounds up)
    np.testing.assert_array_equal(np.stack(frames), clip[sample_frame_indices(6, 3)])
    color = np.zeros((4, 5, 5, 3), np.uint8)
    assert len(read_clip(color)) == 4 and read_clip(color)[0].shape == (5, 5, 3)
    listed = [clip[0], "a.png", clip[1]]
    assert read_clip(listed)[0] is listed[0]
    assert read_clip(tuple(listed), n_frames=5)[2] == "a.png"
    assert read_clip(np.array(["a.png", "b.png"]), n_frames=2) == ["a.png", "b.png"]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda tmp: tmp / "missing.mp4", "no such file"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "no frame images"),
        (lambda tmp: (tmp / "junk.mp4").write_text("hello") and tmp / "junk.mp4", "video"),
        (
            lambda tmp: (
                cv2.imwrite(str(tmp / "one.png"), np.zeros((8, 8), np.uint8)) and tmp / "one.png"
            ),
            "single image",
        ),
    ],
    ids=["missing", "empty-folder", "junk-video", "image-file"],
)
def test_read_clip_path_errors_name_the_clip(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ClipReadError, match=match) as info:
        read_clip(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ImageReadError)


def test_read_clip_video_without_frames(tmp_path):
    path = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 32))
    writer.release()  # a container with no frame in it
    with pytest.raises(ClipReadError, match="empty.avi"):
        read_clip(path)


@pytest.mark.parametrize(
    "clip, match",
    [
        (np.zeros((8, 8), np.uint8), "single image"),
        (np.zeros((2, 8, 8, 2), np.uint8), r"\(T, H, W\)"),
        (np.zeros((0, 8, 8), np.uint8), "no frames"),
        (np.zeros((2, 2, 8, 8, 3), np.uint8), r"\(T, H, W\)"),
        ([], "no frames"),
        ([np.zeros((8, 8)), np.zeros(8)], "frame 1"),
    ],
)
def test_read_clip_array_errors(clip, match):
    with pytest.raises(ClipReadError, match=match):
        read_clip(clip)


def test_read_clip_type_errors():
    with pytest.raises(TypeError, match="a clip must be"):
        read_clip(3)
    with pytest.raises(TypeError, match="frame 1"):
        read_clip(["a.png", 7])
    with pytest.raises(ValueError, match="n_frames"):
        read_clip(np.zeros((3, 8, 8)), n_frames=0)
