"""A camera source hands over its newest frame: it drops frames rather than lag behind."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fersk.video.source import open_source


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
