"""Shared fixtures: real face images, built from scikit-image's public-domain astronaut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

#: dlib's HOG box of the astronaut's face (left, top, right, bottom), measured once.
ASTRONAUT_FACE_BOX = (179, 83, 266, 170)


@pytest.fixture(scope="session")
def face_rgb() -> np.ndarray:
    """The 512x512 RGB astronaut photograph (one face)."""
    return astronaut()


@pytest.fixture(scope="session")
def face_crop(face_rgb) -> np.ndarray:
    """A 100x100 grayscale aligned crop of the face, like a RAF-DB/FER2013 image."""
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    pad = 12
    crop = face_rgb[top - pad : bottom + pad, left - pad : right + pad]
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, (100, 100), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def non_face() -> np.ndarray:
    """A textured image with no face in it."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, size=(64, 64), dtype=np.uint8)
    return cv2.resize(cv2.GaussianBlur(noise, (0, 0), 2), (200, 200))
