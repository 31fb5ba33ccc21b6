"""fersk.video.source: frames in stream order with their times, from files, cameras and
iterables; a file is read to its real end; one without a decodable frame is refused."""

from __future__ import annotations

import time
import warnings

import cv2
import numpy as np
import pytest

from fersk.io import VideoReadError, write_video
from fersk.video.source import Frame, check_frame_time, open_source
from tests.io.test_video import FPS, damage


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    rng = np.random.default_rng(0)
    frames = rng.normal(128, 40, (100, 96, 128, 3)).clip(0, 255).astype(np.uint8)
    return write_video(tmp_path_factory.mktemp("source") / "noise.mp4", frames, fps=FPS)


@pytest.mark.bad_input("video-no-frame")
def test_a_video_without_a_decodable_frame_is_refused_when_opened(tmp_path):
    empty = str(tmp_path / "empty.avi")
    cv2.VideoWriter(empty, cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48)).release()
    with pytest.raises(VideoReadError, match=r"empty\.avi': it has no decodable frame"):
        open_source(empty)


@pytest.mark.bad_input("video-damaged-stretch")
def test_a_damaged_stretch_gives_unreadable_frames_in_place_and_the_stream_goes_on(video, tmp_path):
    path = damage(video, tmp_path / "damaged.mp4", at=0.5, fraction=0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_source(path) as source:
            frames = list(source)
    assert [f.index for f in frames] == list(range(100))  # before: 45 frames, then the end
    bad = [f.index for f in frames if not f.ok]
    assert bad == list(range(bad[0], bad[-1] + 1)) and 40 <= bad[0] and bad[-1] < 60
    assert all(f.ok for f in frames if f.index > bad[-1])
    times = np.array([f.time for f in frames])
    assert (np.diff(times) > 0).all()
    np.testing.assert_allclose(times[bad[-1] + 1 :] * FPS, np.arange(bad[-1] + 1, 100), atol=1e-6)
    messages = [str(w.message) for w in caught]
    assert messages == [
        f"{path!r}: frames {bad[0]} to {bad[-1]} could not be read (a damaged stretch); they "
        "are kept as unreadable frames and the stream goes on"
    ]


# --------------------------------------------------------------------------
# Iterables of frames, files, and their times
# --------------------------------------------------------------------------


def test_iterables_with_timestamps_keep_a_variable_frame_rate():
    frames = [(0.0, np.zeros((8, 8), np.uint8)), (0.05, None), (0.2, np.zeros((8, 8), np.uint8))]
    assert [(f.index, f.time, f.ok) for f in open_source(frames)] == [
        (0, 0.0, True),
        (1, 0.05, False),
        (2, 0.2, True),
    ]
    with pytest.raises(ValueError, match="not after the previous"):
        list(open_source([(0.1, None), (0.1, None)]))


def test_a_stack_of_frames_is_timed_by_index_over_fps_and_read_as_rgb():
    gray = np.arange(3 * 4 * 6, dtype=np.uint8).reshape(3, 4, 6)
    source = open_source(gray, fps=10)
    assert (source.fps, source.n_frames, source.live) == (10.0, 3, False)
    frames = list(source)
    assert [(f.index, f.time) for f in frames] == [(0, 0.0), (1, 0.1), (2, 0.2)]
    assert all(f.ok and f.image.shape == (4, 6, 3) for f in frames)
    np.testing.assert_array_equal(frames[1].image[..., 0], gray[1])  # gray expanded to RGB
    assert [f.time for f in open_source(list(gray))] == [0.0, 0.04, 0.08]  # 25 fps by default


def test_bgr_frames_are_turned_to_rgb_and_paths_are_read(tmp_path):
    red_bgr = np.zeros((8, 8, 3), np.uint8)
    red_bgr[..., 2] = 200  # red, in OpenCV's channel order
    (frame,) = open_source([red_bgr], channel_order="bgr")
    assert frame.image[0, 0].tolist() == [200, 0, 0]
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), red_bgr)
    read, missing, junk = open_source([path, tmp_path / "gone.png", np.zeros((4, 4, 2))])
    assert read.image[0, 0].tolist() == [200, 0, 0]
    assert (missing.ok, junk.ok) == (False, False) and missing.index == 1
    assert isinstance(read, Frame)


def test_a_file_gives_every_frame_with_the_containers_rate_and_times(video):
    with open_source(video) as source:
        assert source.fps == pytest.approx(FPS) and source.n_frames == 100
        frames = list(source)
    assert [f.index for f in frames] == list(range(100)) and all(f.ok for f in frames)
    np.testing.assert_allclose([f.time for f in frames], np.arange(100) / FPS, atol=1e-3)
    assert frames[0].image.shape == (96, 128, 3)
    assert open_source(video, fps=50).fps == 50.0  # the caller's rate replaces the container's


@pytest.mark.parametrize(
    "source, options, error, message",
    [
        ([np.zeros((4, 4))], {"channel_order": "rgba"}, ValueError, "channel_order"),
        ([np.zeros((4, 4))], {"fps": 0}, ValueError, "fps must be a positive, finite"),
        ([np.zeros((4, 4))], {"fps": float("nan")}, ValueError, "fps must be"),
        (np.zeros((4, 4)), {}, TypeError, "looks like a single image"),
        (np.zeros((4, 4, 3)), {}, TypeError, "looks like a single image"),
        (b"clip.mp4", {}, TypeError, "source is bytes"),
        (4.5, {}, TypeError, "must be a video path, a camera index or an iterable"),
    ],
)
def test_a_source_that_is_no_stream_is_refused(source, options, error, message):
    with pytest.raises(error, match=message):
        open_source(source, **options)


def test_a_missing_file_is_named_and_frame_times_must_increase(tmp_path):
    with pytest.raises(VideoReadError, match="gone.mp4"):
        open_source(tmp_path / "gone.mp4")
    with pytest.raises(ValueError, match="frame 1: time 0.5 is not after"):
        list(open_source([(0.5, None), (0.5, None)]))
    assert check_frame_time("Tracker", 3, 2, 1.5) == 2.0
    for t, last, message in [(1.0, 1.0, "is not after the track's previous"),
                             (float("inf"), None, "finite number of seconds"),
                             (True, None, "finite number of seconds")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"Tracker: track 3: .*{message}"):
            check_frame_time("Tracker", 3, t, last)


# --------------------------------------------------------------------------
# A camera hands over its newest frame: it drops frames rather than lag behind
# --------------------------------------------------------------------------


class _Camera:
    """A fake camera delivering a frame every ``period`` seconds, as OpenCV's capture does."""

    def __init__(self, period: float, n_frames: int):
        self.period, self.n, self.i, self.released = period, n_frames, 0, False

    def grab(self) -> bool:
        if self.i >= self.n:
            time.sleep(self.period)
            return False
        time.sleep(self.period)
        self.i += 1
        return True

    def retrieve(self):
        return True, np.full((24, 32, 3), self.i % 256, np.uint8)

    def get(self, prop):
        return 100.0

    def release(self):
        self.released = True


def test_a_camera_drops_frames_rather_than_lag_behind(monkeypatch):
    camera = _Camera(period=0.005, n_frames=120)
    monkeypatch.setattr("fersk.video.source.open_capture", lambda index: camera)
    with pytest.warns(RuntimeWarning, match="unreadable frames in a row"):
        with open_source(0) as source:
            seen = []
            for frame in source:
                seen.append(frame.index)
                time.sleep(0.03)  # a consumer six times slower than the camera
    assert source.live and source.dropped > 40
    assert len(seen) + source.dropped >= 120 - 2  # every frame is either seen or counted
    assert seen == sorted(seen) and seen[-1] >= 100  # no backlog: the newest frames come
    assert camera.released
