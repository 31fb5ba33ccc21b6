"""fersk.features.clarity: a sharpness score that falls with blur, binned into levels learned
at fit."""

from __future__ import annotations

import cv2
import joblib
import numpy as np
import pytest
from sklearn.base import clone

from fersk import ClarityBinner, laplacian_variance
from fersk._core.batch import SampleError


@pytest.fixture(scope="module")
def blurred(face_crop):
    """The same face at 9 blur strengths, sharpest first."""
    sigmas = [0, 0.6, 0.9, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0]
    return [face_crop if s == 0 else cv2.GaussianBlur(face_crop, (0, 0), s) for s in sigmas]


def test_laplacian_variance_falls_with_blur(blurred):
    scores = [laplacian_variance(img) for img in blurred]
    assert all(a > b for a, b in zip(scores, scores[1:]))


def test_working_size_makes_the_score_resolution_independent(face_rgb):
    """The same photo at 512 and 256 px scores alike at a fixed working size."""
    half = cv2.resize(face_rgb, (256, 256), interpolation=cv2.INTER_AREA)
    a, b = laplacian_variance(face_rgb, size=100), laplacian_variance(half, size=100)
    # At native size the two differ far more: this is why there is a working size.
    gray = cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (256, 256), interpolation=cv2.INTER_AREA)
    native = [cv2.Laplacian(g, cv2.CV_64F).var() for g in (gray, small)]
    assert abs(a - b) / a < 0.2 < abs(native[0] - native[1]) / min(native)


def test_equal_count_levels_from_training_quantiles(blurred):
    binner = ClarityBinner(n_levels=3).fit(blurred)
    levels = binner.transform(blurred).ravel()
    assert levels.tolist() == [2, 2, 2, 1, 1, 1, 0, 0, 0]
    assert np.bincount(levels.astype(int)).tolist() == [3, 3, 3]
    assert binner.bin_edges_.shape == (2,) and binner.bin_edges_[0] < binner.bin_edges_[1]
    # Edges are learned at fit: new images are placed by the training edges.
    assert binner.transform([blurred[0], blurred[-1]]).ravel().tolist() == [2.0, 0.0]
    fit_transformed = ClarityBinner(3).fit_transform(blurred)
    np.testing.assert_array_equal(fit_transformed, binner.transform(blurred))


def test_score_column_and_names(blurred):
    binner = ClarityBinner(n_levels=2, return_score=True).fit(blurred)
    out = binner.transform(blurred)
    assert out.shape == (9, 2)
    np.testing.assert_allclose(out[:, 1], [laplacian_variance(b) for b in blurred])
    assert binner.get_feature_names_out().tolist() == ["clarity_level", "clarity_score"]


def test_unreadable_images(tmp_path, blurred):
    bad = str(tmp_path / "missing.png")
    with pytest.raises(SampleError, match="sample 1.*missing.png"):
        ClarityBinner(on_failure="raise").fit(blurred[:1] + [bad] + blurred[1:])
    binner = ClarityBinner()  # on_failure="nan" is the default, as for the extractor
    with pytest.warns(UserWarning, match="1 of 10"):
        levels = binner.fit_transform(blurred[:1] + [bad] + blurred[1:]).ravel()
    assert np.isnan(levels[1]) and not np.isnan(np.delete(levels, 1)).any()


def test_roundtrip_and_cache(tmp_path, blurred):
    binner = ClarityBinner(n_levels=3, memory=tmp_path / "c").fit(blurred)
    joblib.dump(binner, tmp_path / "b.joblib")
    restored = joblib.load(tmp_path / "b.joblib")
    np.testing.assert_array_equal(restored.transform(blurred), binner.transform(blurred))
    np.testing.assert_array_equal(clone(binner).fit(blurred).bin_edges_, binner.bin_edges_)
    assert (tmp_path / "c").exists()


def test_feature_union_with_landmarks_speaks_pandas(blurred):
    from sklearn.pipeline import FeatureUnion, make_pipeline

    from fersk import LandmarkExtractor, PairwiseDistance

    union = FeatureUnion(
        [
            ("geometry", make_pipeline(LandmarkExtractor(5, detector="none"), PairwiseDistance())),
            ("clarity", ClarityBinner(n_levels=3)),
        ]
    ).set_output(transform="pandas")
    df = union.fit_transform(blurred)
    assert df.shape == (9, 11)
    assert df.columns[0] == "geometry__d_0_1" and df.columns[-1] == "clarity__clarity_level"
    assert df["clarity__clarity_level"].tolist() == [2, 2, 2, 1, 1, 1, 0, 0, 0]
