"""Tests of clip reading and sampling (fersk.io.clips) and ClipLandmarkExtractor."""

from __future__ import annotations

import os
import warnings

import cv2
import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fersk._core._sklearn_compat import InvalidParameterError
from fersk._core.base import MissingFeaturesWarning
from fersk._core.batch import Failure, SampleError
from fersk._core.layout import clip_feature_names, from_sequences, to_sequences
from fersk.io import ImageReadError
from fersk.io.clips import ClipReadError, read_clip, sample_frame_indices
from fersk.io.video import write_video
from fersk.landmarks import LandmarkExtractor
from fersk.landmarks import clip_extractor as clip_module
from fersk.landmarks.clip_extractor import ClipFailure, ClipLandmarkExtractor

#: Top-left corner and side of the window around the astronaut's face that the
#: clips are cut from; moving the window by (-dx, -dy) moves the face by (dx, dy).
TOP, LEFT, SIDE = 50, 130, 200


def _window(face_rgb: np.ndarray, dx: int, dy: int = 0) -> np.ndarray:
    """A crop in which the face sits ``(dx, dy)`` pixels from where it is in ``_window(0, 0)``."""
    return np.ascontiguousarray(face_rgb[TOP - dy : TOP - dy + SIDE, LEFT - dx : LEFT - dx + SIDE])


def _blocks(row: np.ndarray, n_landmarks: int = 68) -> np.ndarray:
    """One clip row as ``(T, L, 2)``."""
    return to_sequences(row[None], n_landmarks)[0]


def _mean_motion(row: np.ndarray, n_landmarks: int = 68) -> np.ndarray:
    """Mean landmark displacement of every frame from frame 0: ``(T, 2)``."""
    points = _blocks(row, n_landmarks)
    return (points - points[0]).mean(axis=1)


@pytest.fixture(scope="module")
def shifts() -> np.ndarray:
    """Horizontal face positions of the 8 frames of the moving clip (pixels)."""
    return np.arange(8) * 3


@pytest.fixture(scope="module")
def moving_frames(face_rgb, shifts) -> np.ndarray:
    """8 RGB frames ``(8, 200, 200, 3)`` of the face moving right by 3 px per frame."""
    return np.stack([_window(face_rgb, int(dx)) for dx in shifts])


@pytest.fixture(scope="module")
def moving_video(tmp_path_factory, moving_frames) -> str:
    return write_video(tmp_path_factory.mktemp("video") / "moving.avi", moving_frames)


@pytest.fixture(scope="module")
def five() -> LandmarkExtractor:
    """A fast extractor: dlib's 5 points, HOG detector."""
    return LandmarkExtractor(n_landmarks=5)


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


# --------------------------------------------------------------------------
# Layout helpers and write_video
# --------------------------------------------------------------------------


def test_clip_feature_names_are_frame_major():
    names = clip_feature_names(16, 68)
    assert len(names) == 16 * 136 and len(set(names)) == len(names)
    assert names[0] == "t0_x0" and names[1] == "t0_y0" and names[135] == "t0_y67"
    assert names[136] == "t1_x0" and names[-1] == "t15_y67"


def test_to_sequences_views_rows_and_from_sequences_inverts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 4 * 2 * 5))
    seq = to_sequences(X, n_landmarks=5)
    assert seq.shape == (3, 4, 5, 2) and np.shares_memory(seq, X)
    # Column t*2L + 2i (+1) is frame t's x (y) of landmark i.
    assert seq[1, 2, 3, 0] == X[1, 2 * 10 + 2 * 3] and seq[1, 2, 3, 1] == X[1, 2 * 10 + 7]
    names = clip_feature_names(4, 5).reshape(4, 5, 2)
    assert names[2, 3, 1] == "t2_y3"
    np.testing.assert_array_equal(from_sequences(seq), X)
    seq[0, 0, 0, 0] = 42.0  # a view: writes through
    assert X[0, 0] == 42.0
    assert to_sequences(X, n_landmarks=5, n_dims=1).shape == (3, 8, 5, 1)


def test_to_sequences_errors():
    with pytest.raises(ValueError, match="not a multiple of"):
        to_sequences(np.zeros((2, 30)), n_landmarks=4)
    with pytest.raises(ValueError, match="2-D"):
        to_sequences(np.zeros(136), n_landmarks=68)
    with pytest.raises(ValueError, match="n_landmarks"):
        to_sequences(np.zeros((2, 10)), n_landmarks=0)
    with pytest.raises(ValueError, match="shape"):
        from_sequences(np.zeros((2, 10)))


def test_write_video_gray_and_color_round_trip(tmp_path, moving_frames):
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in moving_frames[:3]])
    for name, frames in (("gray.mp4", gray), ("color.avi", moving_frames[:3])):
        path = write_video(tmp_path / name, list(frames), fps=10)
        assert path == str(tmp_path / name) and os.path.getsize(path) > 0
        back = read_clip(path)
        assert len(back) == 3 and back[0].shape == (SIDE, SIDE, 3)
        expected = frames if frames.ndim == 4 else np.repeat(frames[..., None], 3, axis=3)
        error = np.abs(np.stack(back).astype(float) - expected).mean()
        assert error < 6  # lossy, but the same pictures


def test_write_video_errors(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "a.mp4", [])
    with pytest.raises(ValueError, match="frame 1"):
        write_video(tmp_path / "a.mp4", [np.zeros((8, 8)), np.zeros((9, 8))])
    with pytest.raises(ValueError, match="frame 0"):
        write_video(tmp_path / "a.mp4", [np.zeros((8, 8, 2))])
    with pytest.raises(OSError, match="does not exist"):
        write_video(tmp_path / "no" / "such" / "a.mp4", [np.zeros((8, 8))])


# --------------------------------------------------------------------------
# ClipLandmarkExtractor on real faces (dlib)
# --------------------------------------------------------------------------


def test_array_clip_landmarks_follow_the_known_motion(moving_frames, shifts):
    extractor = ClipLandmarkExtractor(n_frames=8)
    X = extractor.fit_transform([moving_frames])
    assert X.shape == (1, 8 * 136) and np.isfinite(X).all()
    assert extractor.n_failures_ == 0 and extractor.failures_ == []
    motion = _mean_motion(X[0])
    np.testing.assert_allclose(motion[:, 0], shifts, atol=2.0)
    np.testing.assert_allclose(motion[:, 1], 0, atol=2.0)
    # The layout is exactly LandmarkExtractor's rows, frame after frame.
    direct = LandmarkExtractor().transform(list(moving_frames))
    np.testing.assert_array_equal(X[0], direct.ravel())


def test_video_clip_landmarks_follow_the_known_motion(moving_video, moving_frames, shifts):
    X = ClipLandmarkExtractor(n_frames=8).fit_transform([moving_video])
    motion = _mean_motion(X[0])
    np.testing.assert_allclose(motion[:, 0], shifts, atol=2.0)
    np.testing.assert_allclose(motion[:, 1], 0, atol=2.0)
    # Compression moves the landmarks by at most a few pixels.
    exact = ClipLandmarkExtractor(n_frames=8).fit_transform([moving_frames])
    assert np.abs(X - exact).max() < 4.0
    # Sampling 4 of 8 frames takes frames 0, 2, 5, 7.
    sampled = ClipLandmarkExtractor(n_frames=4).fit_transform([moving_video])
    np.testing.assert_allclose(
        _mean_motion(sampled[0])[:, 0], shifts[sample_frame_indices(8, 4)], atol=2.0
    )


def test_frame_folder_and_path_list_clips(tmp_path, moving_frames, shifts):
    folder = tmp_path / "clip"
    folder.mkdir()
    # f3, f6, ..., f24: names that plain string sorting would put out of order.
    paths = [str(folder / f"f{3 * (t + 1)}.png") for t in range(8)]
    for path, frame in zip(paths, moving_frames):
        cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert sorted(paths) != paths
    extractor = ClipLandmarkExtractor(n_frames=8)
    X = extractor.fit_transform([folder, paths, paths[::-1]])
    np.testing.assert_allclose(_mean_motion(X[0])[:, 0], shifts, atol=2.0)
    np.testing.assert_array_equal(X[0], X[1])  # the folder reads as its frames, in order
    np.testing.assert_array_equal(_blocks(X[2]), _blocks(X[1])[::-1])  # reversed clip
    # PNG is lossless: the same landmarks as the arrays.
    np.testing.assert_array_equal(
        X[0], ClipLandmarkExtractor(n_frames=8).transform([moving_frames])[0]
    )


def test_blank_frame_gives_nan_for_that_frame_only(moving_frames, five):
    clip = moving_frames[:5].copy()
    clip[3] = 0
    extractor = ClipLandmarkExtractor(five, n_frames=5)
    with pytest.warns(MissingFeaturesWarning, match="frame 3"):
        X = extractor.fit_transform([moving_frames[:5], clip])
    blocks = _blocks(X[1], 5)
    assert np.isnan(blocks[3]).all()
    assert np.isfinite(np.delete(blocks, 3, axis=0)).all() and np.isfinite(X[0]).all()
    np.testing.assert_array_equal(np.delete(blocks, 3, axis=0), np.delete(_blocks(X[0], 5), 3, 0))
    assert extractor.n_failures_ == 1
    failure = extractor.failures_[0]
    assert isinstance(failure, ClipFailure) and isinstance(failure, Failure)
    assert (failure.index, failure.frame, failure.reason) == (1, 3, "no_face")
    assert "frame 3" in failure.source


def test_rows_keep_input_order_across_chunks(moving_frames, five, monkeypatch):
    clips = [moving_frames[k : k + 3] for k in range(6)]  # each clip starts later
    clips[2] = clips[2].copy()
    clips[2][1] = 0  # a blank frame in the middle clip
    reference = np.vstack(
        [ClipLandmarkExtractor(five, n_frames=3).fit_transform([c]) for c in clips[:2]]
    )
    calls = []
    original = LandmarkExtractor.transform

    def spy(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(LandmarkExtractor, "transform", spy)
    monkeypatch.setattr(clip_module, "CHUNK_FRAMES", 7)  # chunks of 3 clips (9 frames)
    extractor = ClipLandmarkExtractor(five, n_frames=3)
    with pytest.warns(MissingFeaturesWarning):
        X = extractor.fit_transform(clips)
    assert calls == [9, 9]
    np.testing.assert_array_equal(X[:2], reference)
    # Clip k's frame t is frame k + t of the moving face: consecutive clips overlap.
    np.testing.assert_array_equal(_blocks(X[3], 5)[1:], _blocks(X[4], 5)[:2])
    np.testing.assert_array_equal(_blocks(X[0], 5)[1:], _blocks(X[1], 5)[:2])
    assert [(f.index, f.frame) for f in extractor.failures_] == [(2, 1)]
    # One chunk at a time: the same rows.
    monkeypatch.setattr(clip_module, "CHUNK_FRAMES", 10_000)
    with pytest.warns(MissingFeaturesWarning):
        np.testing.assert_array_equal(ClipLandmarkExtractor(five, n_frames=3).transform(clips), X)


def test_video_clips_are_decoded_a_chunk_at_a_time(moving_video, five, monkeypatch):
    calls = []
    original = LandmarkExtractor.transform
    monkeypatch.setattr(
        LandmarkExtractor, "transform", lambda self, X: calls.append(len(X)) or original(self, X)
    )
    monkeypatch.setattr(clip_module, "CHUNK_BYTES", 3 * SIDE * SIDE * 3)  # under 1 clip
    X = ClipLandmarkExtractor(five, n_frames=4).fit_transform([moving_video] * 3)
    assert calls == [4, 4, 4]
    np.testing.assert_array_equal(X[0], X[2])


def test_stacked_clip_array_and_repeated_frames(moving_frames, five):
    stack = np.stack([moving_frames[:4], moving_frames[4:]])  # (2, 4, H, W, 3)
    X = ClipLandmarkExtractor(five, n_frames=6).fit_transform(stack)
    assert X.shape == (2, 6 * 10)
    blocks = _blocks(X[0], 5)
    indices = sample_frame_indices(4, 6)  # each of the 4 frames once or twice
    assert sorted(set(indices.tolist())) == [0, 1, 2, 3]
    direct = LandmarkExtractor(n_landmarks=5).transform(list(moving_frames[:4]))
    np.testing.assert_array_equal(blocks, direct.reshape(4, 5, 2)[indices])


def test_unreadable_clip_gives_a_nan_row_or_an_error(tmp_path, moving_frames, five):
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    clips = [moving_frames[:3], junk, tmp_path / "missing", moving_frames[:3]]
    extractor = ClipLandmarkExtractor(five, n_frames=3)
    with pytest.warns(MissingFeaturesWarning, match="junk.mp4"):
        X = extractor.fit_transform(clips)
    assert np.isnan(X[1]).all() and np.isnan(X[2]).all()
    assert np.isfinite(X[0]).all() and np.array_equal(X[0], X[3])
    assert [(f.index, f.frame, f.reason) for f in extractor.failures_] == [
        (1, None, "unreadable"),
        (2, None, "unreadable"),
    ]
    assert "missing" in extractor.failures_[1].message
    raising = ClipLandmarkExtractor(clone(five).set_params(on_failure="raise"), n_frames=3)
    with pytest.raises(ClipReadError, match=r"clip 1: .*junk\.mp4"):
        raising.transform(clips)


def test_on_failure_raise_names_the_clip_and_frame(moving_frames, five):
    clip = moving_frames[:4].copy()
    clip[2] = 0
    extractor = ClipLandmarkExtractor(clone(five).set_params(on_failure="raise"), n_frames=4)
    with pytest.raises(SampleError, match=r"clip 1 frame 2 .*no face"):
        extractor.transform([moving_frames[:4], clip])


def test_extractor_settings_are_used_and_it_is_not_modified(tmp_path, moving_frames):
    cache_dir = tmp_path / "cache"
    inner = LandmarkExtractor(n_landmarks=5, memory=str(cache_dir), progress=False)
    before = inner.get_params()
    extractor = ClipLandmarkExtractor(inner, n_frames=3)
    X = extractor.fit_transform([moving_frames[:3]])
    assert X.shape == (1, 30)
    assert inner.get_params() == before and not hasattr(inner, "failures_")
    cached = list(cache_dir.rglob("*.npy"))
    assert len(cached) == 3  # one entry per frame
    for path in cached:  # poison the cache: the next run must read it
        np.save(path, np.full(10, 7.0))
    np.testing.assert_array_equal(extractor.transform([moving_frames[:3]]), np.full((1, 30), 7.0))


def test_parallel_workers_give_the_same_rows(moving_frames, five):
    clips = [moving_frames[:4], moving_frames[4:]]
    serial = ClipLandmarkExtractor(five, n_frames=4).fit_transform(clips)
    parallel = ClipLandmarkExtractor(clone(five).set_params(n_jobs=2), n_frames=4)
    np.testing.assert_array_equal(parallel.fit_transform(clips), serial)


def test_bgr_extractor_gets_bgr_video_frames(moving_video, five, monkeypatch):
    seen = []
    original = LandmarkExtractor.transform

    def spy(self, X):
        seen.append((self.channel_order, X[0]))
        return original(self, X)

    monkeypatch.setattr(LandmarkExtractor, "transform", spy)
    rgb = read_clip(moving_video, n_frames=2)[0]
    for order in ("rgb", "bgr"):
        inner = clone(five).set_params(channel_order=order)
        ClipLandmarkExtractor(inner, n_frames=2).transform([moving_video])
    assert [order for order, _ in seen] == ["rgb", "bgr"]
    np.testing.assert_array_equal(seen[0][1], rgb)
    np.testing.assert_array_equal(seen[1][1], rgb[..., ::-1])


def test_progress_bar_counts_clips(moving_frames, five, capsys):
    inner = clone(five).set_params(progress=True)
    ClipLandmarkExtractor(inner, n_frames=2).transform([moving_frames[:2]] * 3)
    err = capsys.readouterr().err
    assert "clip landmarks" in err and "clip/s" in err
    ClipLandmarkExtractor(five, n_frames=2).transform([moving_frames[:2]] * 3)  # "auto": quiet
    assert "clip landmarks" not in capsys.readouterr().err


def test_feature_names_and_pandas_output(moving_frames, five):
    extractor = ClipLandmarkExtractor(five, n_frames=3)
    names = extractor.get_feature_names_out()
    np.testing.assert_array_equal(names, clip_feature_names(3, 5))
    assert ClipLandmarkExtractor(n_frames=2).get_feature_names_out()[-1] == "t1_y67"
    frame = extractor.set_output(transform="pandas").fit_transform([moving_frames[:3]])
    assert list(frame.columns) == list(names) and frame.shape == (1, 30)
    # An extractor configured for pandas output is used the same way.
    inner = clone(five).set_output(transform="pandas")
    same = ClipLandmarkExtractor(inner, n_frames=3).fit_transform([moving_frames[:3]])
    np.testing.assert_array_equal(same, frame.to_numpy())


def test_pipeline_and_joblib_round_trip(tmp_path, face_rgb, five):
    # Class 0: the face moves right; class 1: it moves down.
    clips, y = [], []
    for label, step in (
        (0, (4, 0)),
        (1, (0, 4)),
        (0, (6, 0)),
        (1, (0, 6)),
        (0, (3, 0)),
        (1, (0, 3)),
    ):
        clips.append(np.stack([_window(face_rgb, step[0] * t, step[1] * t) for t in range(3)]))
        y.append(label)
    pipe = Pipeline(
        [
            ("clips", ClipLandmarkExtractor(five, n_frames=3)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression()),
        ]
    )
    pipe.fit(clips, y)
    assert pipe.score(clips, y) == 1.0
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(clips), pipe.predict(clips))
    np.testing.assert_array_equal(loaded[0].transform(clips), pipe[0].transform(clips))


def test_params_clone_and_tags(five):
    extractor = ClipLandmarkExtractor(five, n_frames=4)
    params = extractor.get_params(deep=True)
    assert params["n_frames"] == 4 and params["extractor__n_landmarks"] == 5
    copy = clone(extractor)
    assert copy.extractor is not five and copy.extractor.get_params() == five.get_params()
    assert extractor.set_params(extractor__detector="none").extractor.detector == "none"
    assert extractor.__sklearn_tags__().requires_fit is False
    assert ClipLandmarkExtractor().get_params()["extractor"] is None


@pytest.mark.parametrize(
    "params, error",
    [
        (dict(extractor="dlib"), InvalidParameterError),
        (dict(n_frames=0), InvalidParameterError),
        (dict(n_frames=2.5), InvalidParameterError),
        (dict(extractor=LandmarkExtractor(n_landmarks=7)), ValueError),
    ],
)
def test_invalid_parameters(params, error):
    with pytest.raises(error):
        ClipLandmarkExtractor(**params).fit()


def test_invalid_inputs_are_named():
    extractor = ClipLandmarkExtractor(n_frames=2)
    with pytest.raises(TypeError, match="wrap it in a list"):
        extractor.transform("clip.mp4")
    with pytest.raises(TypeError, match=r"X\[1\]"):
        extractor.transform([np.zeros((2, 8, 8)), 5])
    with pytest.raises(ValueError, match="single clip must be wrapped"):
        extractor.transform(np.zeros((2, 8, 8)))
    with pytest.raises(TypeError, match=r"clip 1: frame 0 .* is a dict"):
        extractor.transform([np.zeros((2, 8, 8)), [{}]])


def test_empty_batch_gives_an_empty_matrix(five):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = ClipLandmarkExtractor(five, n_frames=3).transform([])
    assert X.shape == (0, 30)
