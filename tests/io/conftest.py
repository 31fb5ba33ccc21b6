"""Fixtures of the io tests."""

from __future__ import annotations

import cv2
import pytest


@pytest.fixture()
def face_png(tmp_path, face_crop):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), face_crop)
    return path
