"""fersk.io.video: videos written atomically and read back; damaged stretches read past, empty
videos refused, browser-playable copies."""

from __future__ import annotations

import math
import os

import cv2
import numpy as np
import pytest

from fersk.io import (
    CapturedFrame,
    VideoReadError,
    can_write_codec,
    capture_frames,
    count_frames,
    open_capture,
    read_clip,
    require_decodable_frame,
    video_codecs,
    write_video,
)
from fersk.video.source import open_source
from tests.conftest import WINDOW_SIDE as SIDE

FPS = 25.0


def damage(path, out, *, at: float, fraction: float, seed: int = 0) -> str:
    """A copy of ``path`` whose bytes from ``at`` (a fraction of its size) are random."""
    data = bytearray(open(path, "rb").read())
    start, n = int(len(data) * at), int(len(data) * fraction)
    data[start : start + n] = np.random.default_rng(seed).integers(0, 256, n, np.uint8).tobytes()
    open(out, "wb").write(data)
    return str(out)


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """100 frames of noise (each unlike the others), 128 x 96 at 25 fps, and their files."""
    folder = tmp_path_factory.mktemp("video")
    rng = np.random.default_rng(0)
    frames = rng.normal(128, 40, (100, 96, 128, 3)).clip(0, 255).astype(np.uint8)
    files = {ext: write_video(folder / f"noise{ext}", frames, fps=FPS) for ext in (".mp4", ".avi")}
    return frames, files


def walk(path) -> list[CapturedFrame]:
    capture = open_capture(path)
    try:
        return list(capture_frames(capture))
    finally:
        capture.release()


def which(frames: np.ndarray, image: np.ndarray) -> int:
    """The index of the frame of ``frames`` that ``image`` (a decoded copy) is."""
    errors = ((frames.astype(np.float32) - image.astype(np.float32)) ** 2).mean(axis=(1, 2, 3))
    return int(errors.argmin())


@pytest.mark.bad_input("video-damaged-stretch")
@pytest.mark.parametrize("at, fraction", [(0.5, 0.05), (0.3, 0.1)], ids=["short", "long"])
def test_a_damaged_stretch_of_an_mp4_is_read_past_with_every_frame_in_place(
    noise, tmp_path, at, fraction
):
    frames, files = noise
    path = damage(files[".mp4"], tmp_path / "damaged.mp4", at=at, fraction=fraction)
    walked = walk(path)  # before: the walk ended at the damage (frame 45, or 20)
    assert walked[-1].ended and not any(f.ended for f in walked[:-1])
    positions = walked[:-1]
    assert [f.index for f in positions] == list(range(100))
    damaged = [f.index for f in positions if f.image is None]
    assert damaged == list(range(damaged[0], damaged[-1] + 1)) and 0 < len(damaged) < 30
    after = [f for f in positions if f.index > damaged[-1]]
    assert after and all(f.image is not None for f in after)
    # Indices did not shift: each frame after the damage is the frame written there.
    assert [which(frames, f.image) for f in after] == [f.index for f in after]
    np.testing.assert_allclose([f.position_s * FPS for f in after], [f.index for f in after])
    assert count_frames(path) == 100


@pytest.mark.bad_input("video-damaged-stretch")
def test_a_damaged_chunk_of_an_avi_does_not_end_it(noise, tmp_path):
    _, files = noise
    path = damage(files[".avi"], tmp_path / "damaged.avi", at=0.5, fraction=0.005, seed=2)
    walked = walk(path)  # before: the walk ended at frame 49
    positions = walked[:-1]
    assert [f.index for f in positions if f.image is None] == [49]
    assert len(positions) >= 98 and positions[-1].image is not None
    assert count_frames(path) == len(positions)


@pytest.mark.bad_input("video-damaged-stretch")
def test_a_file_that_ends_ends_at_once(noise):
    frames = walk(noise[1][".mp4"])
    assert len(frames) == 101 and frames[-1].ended and frames[-1].index == 100
    assert all(f.image is not None for f in frames[:-1])


@pytest.mark.bad_input("video-no-frame")
def test_a_video_without_frames_is_refused(tmp_path):
    empty = str(tmp_path / "empty.avi")
    writer = cv2.VideoWriter(empty, cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48))
    writer.release()  # a valid container holding no frame
    capture = open_capture(empty)  # it opens...
    try:
        with pytest.raises(VideoReadError, match=r"'.*empty\.avi': it has no decodable frame"):
            require_decodable_frame(capture_frames(capture), repr(empty))
    finally:
        capture.release()
    with pytest.raises(VideoReadError, match="no decodable frames"):
        count_frames(empty)


@pytest.mark.bad_input("video-no-frame")
def test_frames_read_ahead_are_all_given_back(noise, tmp_path):
    frames = [CapturedFrame(0, False, None, 0.0), CapturedFrame(1, True, np.zeros((2, 2, 3)), 0.04)]
    rest = [CapturedFrame(2, True, None, 0.08), CapturedFrame(3, False, None, 0.0, ended=True)]
    source = iter(frames + rest)
    assert list(require_decodable_frame(source, "'x.avi'")) == frames + rest
    path = damage(noise[1][".mp4"], tmp_path / "all_bad.mp4", at=0.0, fraction=1.0)
    with pytest.raises(VideoReadError):  # nothing in it decodes: refused, whether or not it opens
        capture = open_capture(path)
        try:
            require_decodable_frame(capture_frames(capture), repr(path))
        finally:
            capture.release()


@pytest.mark.bad_input("video-annotate-codec")
def test_mp4_is_h264_where_opencv_writes_it_and_reads_back(tmp_path):
    h264 = can_write_codec("avc1", ".mp4")
    assert can_write_codec("avc1", ".mp4") is h264  # probed once, cached
    assert (video_codecs("a.mp4")[0] == "avc1") is h264
    assert video_codecs("a.mp4")[-2:] == ("mp4v", "MJPG")
    frames = np.stack([np.full((48, 64, 3), 40 * k, np.uint8) for k in range(6)])
    path = write_video(tmp_path / "clip.mp4", frames, fps=10)
    capture = cv2.VideoCapture(path)
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode().lower()
    capture.release()
    assert fourcc in (("avc1", "h264") if h264 else ("fmp4", "mp4v"))
    back = read_clip(path)
    assert len(back) == 6
    np.testing.assert_allclose([f.mean() for f in back], [40 * k for k in range(6)], atol=6)


@pytest.mark.bad_input("video-annotate-codec")
def test_webm_for_browsers_is_written_in_vp8(tmp_path):
    frames = np.stack([np.full((48, 64, 3), 40 * k, np.uint8) for k in range(6)])
    path = write_video(tmp_path / "clip.webm", frames, fps=10)  # failed before: mp4v in WebM
    assert os.path.getsize(path) > 0 and len(read_clip(path)) == 6


# --------------------------------------------------------------------------
# write_video
# --------------------------------------------------------------------------


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


@pytest.mark.bad_input("write-video-atomic")
def test_write_video_is_atomic_and_checks_its_settings(tmp_path):
    from fersk.io.clips import read_clip
    from fersk.io.video import write_video

    path = tmp_path / "v.avi"
    write_video(path, np.zeros((5, 32, 48, 3), np.uint8))
    with pytest.raises(ValueError, match="one size"):
        write_video(path, [np.zeros((32, 48, 3), np.uint8)] * 3 + [np.zeros((16, 16, 3), np.uint8)])
    assert len(read_clip(path)) == 5 and sorted(os.listdir(tmp_path)) == ["v.avi"]
    for fps in [0, -5, math.nan, math.inf]:
        with pytest.raises(ValueError, match="fps"):
            write_video(tmp_path / "w.avi", np.zeros((2, 8, 8), np.uint8), fps=fps)
    with pytest.raises(ValueError, match="video extension"):
        write_video(tmp_path / "w.png", np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        list(open_source([np.zeros((8, 8))], fps=math.inf))


@pytest.mark.bad_input("video-fifo")
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_before_opencv_can_block_on_it(tmp_path):
    pipe = tmp_path / "clip.png"
    os.mkfifo(pipe)
    with pytest.raises(VideoReadError, match="named pipe .*regular files only"):
        open_capture(pipe)
