"""Shared fixtures: real face images, built from scikit-image's public-domain astronaut."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from skimage.data import astronaut
from sklearn.frozen import FrozenEstimator
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


# --------------------------------------------------------------------------
# People in photos, and a calibration of the shipped CNN (fersk.predict, fersk predict)
# --------------------------------------------------------------------------


def _variant(face: np.ndarray, k: int) -> np.ndarray:
    """The astronaut's face, changed a little (light, mirror, size): another photo of 'her'."""
    image = np.clip(face.astype(float) * (0.7 + 0.1 * k) + 10 * k, 0, 255).astype(np.uint8)
    image = image[:, ::-1] if k % 2 else image
    side = 200 + 20 * k
    canvas = np.full((side + 100, side + 100, 3), 60, np.uint8)
    canvas[50 : 50 + side, 50 : 50 + side] = cv2.resize(image, (side, side))
    return canvas


def _proba(rows) -> np.ndarray:
    return rows.filter(like="p_").to_numpy(dtype=float)


@pytest.fixture(scope="session")
def person_photos(tmp_path_factory):
    """Two 'people' (the astronaut's face, plain and mirrored, 4 variants each), a photo of two
    faces (the left one larger), a face-less image and a broken file."""
    from fersk.io import face_crop, write_image
    from fersk.landmarks import find_faces

    folder = tmp_path_factory.mktemp("photos")
    photo = astronaut()
    (box,), _ = find_faces(photo)
    face = face_crop(photo, box)
    for person in ("ann", "bob"):
        for k in range(4):
            write_image(folder / f"{person}_{k}.jpg", _variant(face[:, ::-1] if person == "bob"
                                                               else face, k))  # fmt: skip
    group = np.full((280, 560, 3), 70, np.uint8)  # two faces, the left one larger
    group[50:230, 30:210] = cv2.resize(face, (180, 180))
    group[60:200, 370:510] = cv2.resize(face, (140, 140))[:, ::-1]
    write_image(folder / "group.png", group)
    write_image(folder / "wall.png", np.full((120, 160), 200, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff junk")
    return folder


@pytest.fixture(scope="session")
def calibrated_model(person_photos):
    """A calibration of the shipped CNN, its head learned on 'people' made of face variants."""
    from fersk.features.calibration import PersonCalibratedClassifier
    from fersk.io import face_crop
    from fersk.landmarks import find_faces
    from fersk.models import load_model

    base = load_model("cnn-fer2013")
    crops, y, groups = [], [], []
    labels = ["neutral", "happiness", "sadness", "surprise"]
    photo = astronaut()
    (box,), _ = find_faces(photo)
    face = face_crop(photo, box)
    for p in range(6):
        for k in range(4):
            crops.append(cv2.flip(_variant(face, k), 1) if p % 2 else _variant(face, k))
            y.append(labels[(k + p) % 4])
            groups.append(f"p{p}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PersonCalibratedClassifier(FrozenEstimator(base)).fit(crops, y, groups=groups)
