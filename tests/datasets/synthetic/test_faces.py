"""fersk.datasets.synthetic.faces: make_sample_faces -- deterministic subjects, expressions that
move the landmarks the right way, and faces dlib finds."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fersk._core.batch import FaceNotFoundError
from fersk._core.layout import interocular_distance
from fersk.datasets.synthetic import SAMPLE_EMOTIONS, make_sample_faces
from fersk.datasets.synthetic.faces import generate_faces
from fersk.landmarks.dlib_backend import DlibLandmarker

#: A small configuration: 2 subjects x 7 emotions x 2 intensities x 2 blurs.
SMALL = dict(n_subjects=2, n_intensities=2, blur_sigmas=(0.0, 2.0), image_size=96)


def _points(flat: np.ndarray) -> np.ndarray:
    return np.asarray(flat, dtype=np.float64).reshape(len(flat), 68, 2)


def _distances(points: np.ndarray) -> np.ndarray:
    """All pairwise distances between the 68 points, divided by the inter-ocular distance."""
    i, j = np.triu_indices(68, k=1)
    lengths = np.linalg.norm(points[:, i] - points[:, j], axis=2)
    return lengths / interocular_distance(points)[:, None]


@pytest.fixture(scope="module")
def default_faces():
    return make_sample_faces()


@pytest.fixture(scope="module")
def sharp_faces():
    """3 subjects, every emotion, full intensity, no blur; with dlib's landmarks."""
    faces = make_sample_faces(n_subjects=3, n_intensities=1, blur_sigmas=(0.0,), random_state=1)
    landmarker = DlibLandmarker(n_landmarks=68, detector="none")
    faces.detected = _points([landmarker(image) for image in faces.data])
    return faces


# --------------------------------------------------------------------------
# Layout of the returned Bunch
# --------------------------------------------------------------------------


def test_default_shapes_dtypes_and_order(default_faces):
    faces = default_faces
    n = 8 * 7 * 3 * 3
    assert len(faces.data) == n == 504
    assert all(im.shape == (128, 128) and im.dtype == np.uint8 for im in faces.data)
    assert faces.target_names == list(SAMPLE_EMOTIONS)
    assert faces.target.dtype == np.int64 and faces.target.shape == (n,)
    assert faces.landmarks.shape == (n, 136) and faces.landmarks.dtype == np.float64
    assert np.isfinite(faces.landmarks).all()
    assert faces.blur.shape == faces.intensity.shape == faces.split.shape == (n,)
    assert isinstance(faces.DESCR, str) and "astronaut" in faces.DESCR
    # Subject-major, then emotion, then intensity, then blur.
    np.testing.assert_array_equal(faces.subject, np.repeat([f"s{s:02d}" for s in range(8)], 63))
    np.testing.assert_array_equal(faces.target, np.tile(np.repeat(np.arange(7), 9), 8))
    np.testing.assert_array_equal(faces.blur, np.tile([0.0, 1.2, 2.4], 168))
    levels = np.tile(np.repeat([0.6, 0.8, 1.0], 3), 56)
    expected = np.where(faces.target == SAMPLE_EMOTIONS.index("neutral"), 0.0, levels)
    np.testing.assert_allclose(faces.intensity, expected)
    # The face fills the image: brows, eyes, nose and mouth inside it (a
    # dropped chin may leave it, as in a face detector's box).
    points = _points(faces.landmarks)
    assert points[:, 17:].min() > 0 and points[:, 17:].max() < 127
    assert points.min() > -0.1 * 128 and points.max() < 1.15 * 128
    assert 0.25 * 128 < np.median(interocular_distance(points)) < 0.5 * 128


def test_blur_levels_share_one_face(default_faces):
    """The blur levels of one (subject, emotion, intensity) are the same face."""
    faces = default_faces
    np.testing.assert_array_equal(faces.landmarks[0], faces.landmarks[2])
    sharp, blurred = faces.data[0].astype(float), faces.data[2].astype(float)
    assert np.abs(cv2.GaussianBlur(sharp, (0, 0), 2.4) - blurred).mean() < 1.0
    assert not np.array_equal(faces.data[0], faces.data[3])  # next intensity


@pytest.mark.parametrize(
    ("n_subjects", "n_test"), [(1, 0), (2, 1), (3, 1), (4, 1), (6, 2), (8, 2), (12, 3)]
)
def test_split_is_subject_independent(n_subjects, n_test):
    kwargs = dict(emotions=["neutral"], n_intensities=1, blur_sigmas=(0.0,), image_size=48)
    faces = make_sample_faces(n_subjects=n_subjects, **kwargs)
    test = sorted(set(faces.subject[faces.split == "test"]))
    train = sorted(set(faces.subject[faces.split == "train"]))
    assert set(faces.split) <= {"train", "test"}
    assert not set(test) & set(train)
    assert test == [f"s{s:02d}" for s in range(n_subjects - n_test, n_subjects)]


def test_subset_of_emotions_keeps_their_order():
    faces = make_sample_faces(emotions=["surprise", "anger"], **SMALL)
    assert faces.target_names == ["surprise", "anger"]
    assert len(faces.data) == 2 * 2 * 2 * 2
    np.testing.assert_array_equal(faces.target[:8], [0, 0, 0, 0, 1, 1, 1, 1])
    assert all(im.shape == (96, 96) for im in faces.data)


def test_color_images_are_rgb_with_the_gray_geometry():
    kwargs = dict(n_subjects=1, emotions=["happiness"], n_intensities=1, blur_sigmas=(0.0,))
    color = make_sample_faces(color=True, **kwargs)
    gray = make_sample_faces(color=False, **kwargs)
    image = color.data[0]
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    # A real colour photograph: red skin, channels differ.
    assert image[..., 0].mean() > image[..., 2].mean() + 5
    np.testing.assert_array_equal(color.landmarks, gray.landmarks)
    as_gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float)
    assert np.corrcoef(as_gray.ravel(), gray.data[0].astype(float).ravel())[0, 1] > 0.9


# --------------------------------------------------------------------------
# Determinism and caching
# --------------------------------------------------------------------------


def test_deterministic_for_a_fixed_seed_even_without_the_cache():
    first = make_sample_faces(random_state=3, **SMALL)
    generate_faces.cache_clear()
    again = make_sample_faces(random_state=3, **SMALL)
    assert all(np.array_equal(a, b) for a, b in zip(first.data, again.data))
    np.testing.assert_array_equal(first.landmarks, again.landmarks)
    other = make_sample_faces(random_state=4, **SMALL)
    assert not np.array_equal(first.landmarks, other.landmarks)
    assert sum(np.array_equal(a, b) for a, b in zip(first.data, other.data)) == 0


def test_subjects_do_not_depend_on_the_other_arguments(default_faces):
    """Subject 1's sharp anger images are the same in a smaller call."""
    small = make_sample_faces(n_subjects=2, emotions=["anger"], blur_sigmas=(0.0,))
    start = 63  # subject s01, anger, intensity 0, blur 0 in the default set
    for level in range(3):
        np.testing.assert_array_equal(small.data[3 + level], default_faces.data[start + 3 * level])


def test_returns_copies_that_do_not_touch_the_cache():
    faces = make_sample_faces(**SMALL)
    kept = faces.data[0].copy()
    faces.data[0][:] = 0
    faces.landmarks[:] = -1
    faces.target[:] = 5
    faces.subject[:] = "x"
    again = make_sample_faces(**SMALL)
    np.testing.assert_array_equal(again.data[0], kept)
    assert again.landmarks.min() > 0 and again.target[0] == 0 and again.subject[0] == "s00"


def test_random_state_none_and_instances():
    kwargs = dict(n_subjects=1, emotions=["neutral"], n_intensities=1, blur_sigmas=(0.0,))
    kwargs["image_size"] = 48
    assert make_sample_faces(random_state=None, **kwargs).data[0].shape == (48, 48)
    a = make_sample_faces(random_state=np.random.RandomState(7), **kwargs)
    b = make_sample_faces(random_state=np.random.RandomState(7), **kwargs)
    np.testing.assert_array_equal(a.data[0], b.data[0])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(emotions=["joy"]), ValueError),
        (dict(emotions=["anger", "anger"]), ValueError),
        (dict(emotions=[]), ValueError),
        (dict(emotions="anger"), TypeError),
        (dict(n_subjects=0), ValueError),
        (dict(n_intensities=0), ValueError),
        (dict(image_size=16), ValueError),
        (dict(blur_sigmas=(-1.0,)), ValueError),
        (dict(blur_sigmas=()), ValueError),
        (dict(random_state=-1), ValueError),
    ],
)
def test_invalid_arguments(kwargs, error):
    with pytest.raises(error):
        make_sample_faces(**kwargs)


# --------------------------------------------------------------------------
# Writing PNG files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("color", [False, True])
def test_out_dir_writes_pngs_in_order(tmp_path, color):
    in_memory = make_sample_faces(color=color, **SMALL)
    faces = make_sample_faces(color=color, out_dir=tmp_path / "faces", **SMALL)
    assert len(faces.data) == len(in_memory.data) == 56
    for k in (0, 1, 2, 3, 55):
        path = faces.data[k]
        assert isinstance(path, str) and os.path.isabs(path)
        emotion = faces.target_names[faces.target[k]]
        level, blur_level = divmod(k % 4, 2)
        expected = (
            tmp_path / "faces" / emotion / f"{faces.subject[k]}_{emotion}_{level}_{blur_level}.png"
        )
        assert path == str(expected)
        flag = cv2.IMREAD_COLOR if color else cv2.IMREAD_UNCHANGED
        read = cv2.imread(path, flag)
        if color:
            read = cv2.cvtColor(read, cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(read, in_memory.data[k])
    assert len(set(faces.data)) == 56
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == sorted(SAMPLE_EMOTIONS)


def test_out_dir_reads_back_with_the_folder_loader(tmp_path):
    from fersk.datasets import load_image_folder

    faces = make_sample_faces(out_dir=tmp_path, **SMALL)
    loaded = load_image_folder(tmp_path)
    labels = dict(zip(loaded.data, np.asarray(loaded.target_names)[loaded.target]))
    assert {os.path.realpath(p) for p in labels} == {os.path.realpath(p) for p in faces.data}
    names = {os.path.realpath(p): n for p, n in labels.items()}
    for path, target in zip(faces.data, faces.target):
        assert names[os.path.realpath(path)] == faces.target_names[target]


# --------------------------------------------------------------------------
# The images as dlib sees them
# --------------------------------------------------------------------------


def test_dlib_finds_the_intended_landmarks(sharp_faces):
    faces = sharp_faces
    truth = _points(faces.landmarks)
    error = np.linalg.norm(faces.detected - truth, axis=2) / interocular_distance(truth)[:, None]
    per_image = np.median(error, axis=1)
    assert np.median(error) < 0.06
    assert np.mean(per_image < 0.1) >= 0.95, per_image


def test_hog_detector_finds_the_face_in_sharp_images(sharp_faces):
    landmarker = DlibLandmarker(n_landmarks=68, detector="hog")
    found = 0
    for image in sharp_faces.data:
        try:
            landmarker(image)
        except FaceNotFoundError:
            continue
        found += 1
    assert found >= 0.9 * len(sharp_faces.data)


def _mouth_open(p: np.ndarray) -> np.ndarray:
    return p[:, [65, 66, 67], 1].mean(1) - p[:, [61, 62, 63], 1].mean(1)


def _brow_height(p: np.ndarray) -> np.ndarray:  # eyes minus brows: larger when brows go up
    return p[:, 36:48, 1].mean(1) - p[:, 17:27, 1].mean(1)


def _corners_up(p: np.ndarray) -> np.ndarray:  # mouth centre minus corners: larger in a smile
    return p[:, [51, 57], 1].mean(1) - p[:, [48, 54], 1].mean(1)


def _mouth_width(p: np.ndarray) -> np.ndarray:
    return np.linalg.norm(p[:, 54] - p[:, 48], axis=1)


def _upper_lip_to_nose(p: np.ndarray) -> np.ndarray:
    return p[:, 51, 1] - p[:, 33, 1]


#: (emotion, measure, direction, typical change from neutral in IODs,
#: whether dlib follows it reliably enough to test on single faces)
_MOVEMENTS = [
    ("surprise", _mouth_open, 1, 0.2, True),
    ("surprise", _brow_height, 1, 0.08, True),
    ("fear", _brow_height, 1, 0.05, True),
    ("fear", _mouth_width, 1, 0.08, True),
    ("anger", _brow_height, -1, 0.05, True),
    ("happiness", _corners_up, 1, 0.08, True),
    ("happiness", _mouth_width, 1, 0.08, True),
    ("sadness", _corners_up, -1, 0.05, True),
    ("disgust", _mouth_open, 1, 0.03, False),  # dlib takes the bared teeth as opening
    ("disgust", _upper_lip_to_nose, -1, 0.025, False),
]


@pytest.mark.parametrize("which", ["intended", "detected"])
def test_expressions_move_the_landmarks_the_right_way(sharp_faces, which):
    """Each expression against the same subject's neutral face, in IODs.

    The intended landmarks move by design; dlib's, found in the images, must
    follow (by at least half, on average over subjects: dlib misplaces a
    point now and then).
    """
    faces = sharp_faces
    points = _points(faces.landmarks) if which == "intended" else faces.detected
    iod = interocular_distance(points)
    neutral = faces.target == faces.target_names.index("neutral")
    for name, measure, sign, typical, reliable in _MOVEMENTS:
        if which == "detected" and not reliable:
            continue
        values = measure(points) / iod
        expressive = faces.target == faces.target_names.index(name)
        change = sign * (values[expressive] - values[neutral])  # one per subject
        message = (which, name, measure.__name__, change)
        if which == "intended":
            assert (change > 0.6 * typical).all() and change.mean() > typical, message
        else:
            assert np.median(change) > 0.5 * typical, message


def test_subjects_have_different_face_shapes():
    """dlib tells the subjects apart by their neutral face shape.

    Each subject's neutral faces (one per intensity level: only the head pose
    jitters) are nearer each other, in IOD-normalised landmark distances,
    than any other subject's.
    """
    faces = make_sample_faces(
        n_subjects=5, emotions=["neutral"], n_intensities=3, blur_sigmas=(0.0,), random_state=1
    )
    landmarker = DlibLandmarker(n_landmarks=68, detector="none")
    features = _distances(_points([landmarker(image) for image in faces.data]))
    gaps = np.abs(features[:, None] - features[None]).mean(axis=2)
    np.fill_diagonal(gaps, np.inf)
    same = faces.subject[:, None] == faces.subject[None]
    assert (faces.subject[gaps.argmin(axis=1)] == faces.subject).all()
    assert gaps[~same].mean() > 2 * gaps[same & np.isfinite(gaps)].mean()


def test_expressions_are_learnable_across_subjects():
    faces = make_sample_faces(n_subjects=6, n_intensities=2, blur_sigmas=(0.0,), random_state=0)
    landmarker = DlibLandmarker(n_landmarks=68, detector="none")
    features = _distances(_points([landmarker(image) for image in faces.data]))
    train, test = faces.split == "train", faces.split == "test"
    assert set(faces.subject[train]).isdisjoint(faces.subject[test])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    with threadpool_limits(1):  # tiny problem: BLAS threads only add overhead
        model.fit(features[train], faces.target[train])
    accuracy = model.score(features[test], faces.target[test])
    assert accuracy > 0.5, accuracy  # chance is 1/7; measured ~0.8


def test_sharpness_decreases_with_blur(default_faces):
    faces = default_faces
    sharpness = np.array([cv2.Laplacian(im, cv2.CV_64F).var() for im in faces.data])
    per_face = sharpness.reshape(-1, 3)  # (subject, emotion, intensity) x blur levels
    assert (np.diff(per_face, axis=1) < 0).all()
    assert (per_face[:, 0] > 3 * per_face[:, 2]).all()
