"""fersk.video.source: a file is read to its real end; one without a decodable frame is refused."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from fersk.io import VideoReadError, write_video
from fersk.video.source import open_source
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
