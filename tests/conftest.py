"""Shared fixtures: real face images, built from scikit-image's public-domain astronaut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut
from threadpoolctl import threadpool_limits

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


@pytest.fixture(scope="module")
def one_thread():
    """Tiny problems: one thread (torch and BLAS) beats two contending ones."""
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="session")
def cnn_sample(tmp_path_factory):
    """21 sample faces (3 subjects x 7 emotions) as 48 px PNG files; 2 subjects train."""
    from fersk.datasets.synthetic import make_sample_faces

    out = tmp_path_factory.mktemp("cnn_sample")
    data = make_sample_faces(
        n_subjects=3, n_intensities=1, blur_sigmas=(0.0,), image_size=48, out_dir=out
    )
    data.X = np.array(data.data, dtype=object)
    data.train = data.split == "train"
    data.labels = np.array(data.target_names)[data.target]  # strings
    return data
