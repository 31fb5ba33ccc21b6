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
def two_people(tmp_path_factory):
    """Two real people (the astronaut; Grace Hopper, public domain, shipped with matplotlib),
    3 photos each, and a photo of both (the astronaut's face larger)."""
    from matplotlib import cbook

    from fersk.io import face_crop, read_image, write_image
    from fersk.landmarks import find_faces

    folder = tmp_path_factory.mktemp("two_people")
    faces = {}
    hopper = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), color="rgb")
    for name, photo in [("eileen", astronaut()), ("grace", hopper)]:
        (box,), _ = find_faces(photo)
        faces[name] = face_crop(photo, box)
        for k in range(3):
            write_image(folder / f"{name}_{k}.jpg", _variant(faces[name], k))
    both = np.full((300, 600, 3), 70, np.uint8)
    both[40:240, 30:230] = cv2.resize(faces["eileen"], (200, 200))
    both[60:220, 380:540] = cv2.resize(faces["grace"], (160, 160))
    write_image(folder / "both.png", both)
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


# --------------------------------------------------------------------------
# Small fitted models of every kind the shipped models are made of (fersk.models, the stream)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_faces():
    """21 sample faces (3 subjects x 7 emotions) at 64 px; ``y``: the emotion names."""
    from fersk.datasets import make_sample_faces

    data = make_sample_faces(n_subjects=3, n_intensities=1, blur_sigmas=(0.0,), image_size=64)
    data.y = np.asarray(data.target_names)[data.target]
    return data


@pytest.fixture(scope="module")
def small_models(model_faces, one_thread):
    """A geometry pipeline, a one-epoch CNN pipeline and their fusion, fitted on ``model_faces``."""
    import torch
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fersk import CNNPreprocessor, LandmarkExtractor, PairwiseDistance, SubjectNeutralizer
    from fersk._core.pipeline_tools import combine_fitted
    from fersk.cnn import CNNClassifier, CompactCNN, TrainAugmentation

    faces = model_faces
    geometry = Pipeline(
        [
            ("landmarks", LandmarkExtractor(68, detector="none")),
            ("distances", PairwiseDistance()),
            ("subject", SubjectNeutralizer("neutral", method="recenter", shrinkage=5.0,
                                           missing_groups="population")),
            ("impute", SimpleImputer()),
            ("scale", StandardScaler()),
            ("clf", MLPClassifier((16,), max_iter=200, random_state=0)),
        ]
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geometry.fit(faces.data, faces.y)
    net = CNNClassifier(
        CompactCNN,
        max_epochs=1,
        optimizer=torch.optim.AdamW,
        schedule="onecycle",
        criterion__label_smoothing=0.1,
        iterator_train__collate_fn=TrainAugmentation(max_rotation=15, max_scale=0.1),
        train_split=None,
        tta=True,
    )
    cnn = make_pipeline(CNNPreprocessor(48, dtype="uint8"), net).fit(faces.data, faces.y)
    fusion = combine_fitted([("cnn", cnn), ("landmarks", geometry)], weights=[0.7, 0.3])
    return {"geometry": geometry, "cnn": cnn, "fusion": fusion}


# --------------------------------------------------------------------------
# A landmark model and a sample video (fersk video, VideoAnalyzer)
# --------------------------------------------------------------------------

#: Frame rate of the sample video of ``video`` (and of the stream tests' own clips).
STREAM_FPS = 15.0


@pytest.fixture(scope="module")
def stream_faces():
    """56 sample faces at 128 px: 4 subjects x 7 emotions x 2 intensities."""
    from fersk.datasets import make_sample_faces

    return make_sample_faces(n_subjects=4, n_intensities=2, blur_sigmas=(0.0,), image_size=128)


@pytest.fixture(scope="module")
def landmark_model(stream_faces):
    """68-point distances and an MLP fitted on ``stream_faces`` (class codes, ``target_names_``)."""
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fersk import LandmarkExtractor, PairwiseDistance

    faces = stream_faces
    model = make_pipeline(
        LandmarkExtractor(68, detector="none"),
        PairwiseDistance(),
        SimpleImputer(),
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0),
    )
    model.fit(faces.data, faces.target)
    model.target_names_ = list(faces.target_names)
    return model


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A sample video file at ``STREAM_FPS``: neutral 2 s, happiness 2 s, no face, neutral 1 s."""
    from fersk.datasets import make_sample_video

    script = [("neutral", 2.0), ("expression", 2.0, "happiness"), ("absent", 0.6), ("neutral", 1.0)]
    path = tmp_path_factory.mktemp("video") / "sample.avi"
    return make_sample_video(path, size=(320, 240), fps=STREAM_FPS, script=script, face_size=128)


# --------------------------------------------------------------------------
# Bad input: a folder of faces, a short clip and a small landmark model on disk
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    """A few sample faces as PNG files in one folder (64 px crops): ``(folder, paths)``."""
    from fersk.datasets import make_sample_faces

    out = tmp_path_factory.mktemp("faces")
    data = make_sample_faces(
        n_subjects=2, n_intensities=1, blur_sigmas=(0.0,), image_size=64, out_dir=out
    )
    return out, list(data.data)


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    """A 0.6 s sample video (6 frames at 10 fps, one neutral face) as an AVI file."""
    from fersk.datasets import make_sample_video
    from fersk.io.video import write_video

    video = make_sample_video(size=(240, 160), fps=10, script=[("neutral", 0.6)], face_size=96)
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    write_video(path, video.frames, fps=10)
    return path


@pytest.fixture(scope="module")
def landmark_model_path(tmp_path_factory):
    """5-point distances and a 1-nearest-neighbour classifier, saved with joblib."""
    import joblib
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from fersk import LandmarkExtractor, PairwiseDistance
    from fersk.datasets import make_sample_faces

    faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    model = make_pipeline(
        LandmarkExtractor(5, detector="none"), PairwiseDistance(), KNeighborsClassifier(1)
    ).fit(faces.data, faces.target)
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(model, path)
    return path


# --------------------------------------------------------------------------
# The face moving across frames (clips and videos)
# --------------------------------------------------------------------------

#: Top-left corner and side of the window around the astronaut's face that the moving
#: clips are cut from; moving the window by (-dx, -dy) moves the face by (dx, dy).
WINDOW_TOP, WINDOW_LEFT, WINDOW_SIDE = 50, 130, 200


def face_window(face_rgb: np.ndarray, dx: int, dy: int = 0) -> np.ndarray:
    """A crop in which the face sits ``(dx, dy)`` px from where it is in ``face_window(0, 0)``."""
    top, left, side = WINDOW_TOP - dy, WINDOW_LEFT - dx, WINDOW_SIDE
    return np.ascontiguousarray(face_rgb[top : top + side, left : left + side])


@pytest.fixture(scope="module")
def shifts() -> np.ndarray:
    """Horizontal face positions of the 8 frames of the moving clip (pixels)."""
    return np.arange(8) * 3


@pytest.fixture(scope="module")
def moving_frames(face_rgb, shifts) -> np.ndarray:
    """8 RGB frames ``(8, 200, 200, 3)`` of the face moving right by 3 px per frame."""
    return np.stack([face_window(face_rgb, int(dx)) for dx in shifts])
