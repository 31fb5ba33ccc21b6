"""fersk.features.geometry: PairwiseDistance -- landmark distances in eye distances, invariant
to where the face is, how large and how turned."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from hypothesis import given
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fersk import LandmarkExtractor, PairwiseDistance
from fersk._core.layout import FIVE_FROM_68
from tests.strategies import SETTINGS, assert_rows_or_clear_error, clear_error, numeric_inputs


@pytest.fixture(scope="module")
def landmarks68(face_rgb):
    return LandmarkExtractor().transform([face_rgb])


def _rotate_scale_shift(X, angle, scale, shift):
    pts = X.reshape(len(X), -1, 2)
    c, s = np.cos(angle), np.sin(angle)
    return (scale * pts @ np.array([[c, s], [-s, c]]) + shift).reshape(len(X), -1)


def test_counts_and_names(landmarks68):
    pd = PairwiseDistance().fit(landmarks68)
    D = pd.transform(landmarks68)
    assert D.shape == (1, 68 * 67 // 2)
    names = pd.get_feature_names_out()
    assert names[0] == "d_0_1" and names[-1] == "d_66_67" and len(set(names)) == D.shape[1]
    sub = PairwiseDistance(landmarks=[36, 45, 48]).fit(landmarks68)
    assert sub.get_feature_names_out().tolist() == ["d_36_45", "d_36_48", "d_45_48"]


def test_values_are_distances_over_interocular(landmarks68):
    pts = landmarks68.reshape(68, 2)
    iod = np.linalg.norm(pts[36:42:3].mean(0) - pts[42:48:3].mean(0))
    D = PairwiseDistance(landmarks=[36, 45, 48, 54]).fit_transform(landmarks68)
    expected = np.linalg.norm(pts[48] - pts[54]) / iod  # mouth width in eye distances
    assert D[0, -1] == pytest.approx(expected)
    raw = PairwiseDistance(landmarks=[48, 54], normalize=None).fit_transform(landmarks68)
    assert raw[0, 0] == pytest.approx(np.linalg.norm(pts[48] - pts[54]))


@pytest.mark.parametrize("layout", [68, 5])
def test_invariant_to_face_scale_rotation_and_position(landmarks68, layout):
    five = landmarks68.reshape(68, 2)[list(FIVE_FROM_68)].reshape(1, -1)
    X = landmarks68 if layout == 68 else five
    moved = _rotate_scale_shift(X, angle=0.3, scale=2.5, shift=[40.0, -7.0])
    pd = PairwiseDistance().fit(X)
    np.testing.assert_allclose(pd.transform(moved), pd.transform(X), rtol=1e-10)
    raw = PairwiseDistance(normalize=None).fit(X)
    np.testing.assert_allclose(raw.transform(moved), 2.5 * raw.transform(X), rtol=1e-10)


def test_5_and_68_layouts_share_the_eye_scale(landmarks68):
    five = landmarks68.reshape(68, 2)[list(FIVE_FROM_68)].reshape(1, -1)
    d5 = PairwiseDistance().fit_transform(five)
    d68 = PairwiseDistance(landmarks=list(FIVE_FROM_68)).fit_transform(landmarks68)
    np.testing.assert_allclose(np.sort(d5), np.sort(d68))


def test_nan_rows_stay_nan_and_others_are_untouched(landmarks68):
    X = np.vstack([landmarks68, np.full_like(landmarks68, np.nan), landmarks68 * 2])
    D = PairwiseDistance().fit(X).transform(X)
    assert np.isnan(D[1]).all()
    np.testing.assert_allclose(D[0], D[2])
    degenerate = np.zeros_like(landmarks68)  # all points in one spot: no scale
    assert np.isnan(PairwiseDistance().fit(landmarks68).transform(degenerate)).all()


def test_three_d_landmarks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 5 * 3))
    D = PairwiseDistance(n_dims=3).fit_transform(X)
    pts = X.reshape(4, 5, 3)
    iod = np.linalg.norm(pts[:, [1, 0]].mean(1) - pts[:, [2, 3]].mean(1), axis=1)
    np.testing.assert_allclose(D[:, 0], np.linalg.norm(pts[:, 0] - pts[:, 1], axis=1) / iod)


@pytest.mark.parametrize(
    "params, X, message",
    [
        ({}, np.zeros((2, 7)), "2 columns per landmark"),
        ({}, np.zeros((2, 12)), "68- or 5-point layout"),
        ({"landmarks": [0, 70]}, np.zeros((2, 136)), r"\[70\] out of range"),
        ({"landmarks": [3, 3]}, np.zeros((2, 136)), "repeated"),
        ({"landmarks": [3]}, np.zeros((2, 136)), "at least two landmarks"),
    ],
)
def test_clear_errors(params, X, message):
    with pytest.raises(ValueError, match=message):
        PairwiseDistance(**params).fit(X)


def test_estimator_properties_on_landmark_data(tmp_path, landmarks68):
    """What sklearn's generic checks test, on a real 68-point layout."""
    rng = np.random.default_rng(1)
    X = landmarks68 + rng.normal(scale=2.0, size=(30, 136))
    pd = PairwiseDistance(landmarks=list(range(17, 68)))
    params = pd.get_params()
    assert pd.fit(X) is pd and pd.get_params() == params
    expected = pd.transform(X)
    for variant in (X.tolist(), np.asfortranarray(X), X.astype(np.float32)):
        np.testing.assert_allclose(pd.transform(variant), expected, rtol=1e-4, atol=1e-6)
    memmapped = joblib.load(joblib.dump(X, tmp_path / "X.joblib")[0], mmap_mode="r")
    np.testing.assert_allclose(pd.transform(memmapped), expected)
    for restored in (pickle.loads(pickle.dumps(pd)), clone(pd).fit(X)):
        np.testing.assert_array_equal(restored.transform(X), expected)
    joblib.dump(pd, tmp_path / "pd.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "pd.joblib").transform(X), expected)
    pipe = make_pipeline(PairwiseDistance(), StandardScaler()).set_output(transform="pandas")
    out = pipe.fit_transform(X)
    assert out.columns[0] == "d_0_1" and out.shape == (30, 2278)
    with pytest.raises(ValueError, match="136 features"):
        pd.transform(X[:, :10])


# n_dims=1 reads any number of columns as points on a line, so the generic checks'
# 3-column data is a valid landmark matrix.
@parametrize_with_checks([PairwiseDistance(normalize=None, n_dims=1)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@SETTINGS
@given(numeric_inputs(10))
def test_pairwise_distance_rows(X):
    finite = np.isfinite(X).all(axis=1) | np.isnan(X).all(axis=1)
    pd = PairwiseDistance()
    try:
        pd.fit(X)
    except ValueError as exc:
        assert clear_error(exc)
        return
    out = assert_rows_or_clear_error(pd.transform, X)
    if out is not None:
        assert out.shape[1] == 10 and np.isnan(out[np.isnan(X).all(axis=1)]).all()
        assert finite.shape[0] == out.shape[0]
