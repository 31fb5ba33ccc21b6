"""fersk._core.base: what every image transformer shares -- one row per input, in order,
failures reported, and a bare image refused rather than read as a batch."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from hypothesis import assume, given

from fersk import ClarityBinner, LandmarkExtractor
from tests.strategies import SETTINGS, image_batches


@SETTINGS
@given(image_batches())
def test_image_transformers_keep_rows_and_order(batch):
    items, bad = batch
    assume(len(items) > len(bad))  # the binner needs one scorable image to fit
    extractor = LandmarkExtractor(5, detector="none", min_size=32)
    with pytest.warns() if bad else _no_warning():
        X = extractor.fit_transform(items)
    assert X.shape == (len(items), 10)
    assert [f.index for f in extractor.failures_] == bad
    binner = ClarityBinner(n_levels=2)
    with pytest.warns() if bad else _no_warning():
        levels = binner.fit_transform(items)
    assert levels.shape == (len(items), 1)
    assert np.isnan(levels[bad]).all() and np.isfinite(np.delete(levels, bad)).all()


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.bad_input("4")
def test_a_bare_colour_image_is_not_a_batch(face_rgb):
    with pytest.raises(ValueError, match="single image .* wrapped in a list"):
        LandmarkExtractor(detector="none").transform(face_rgb)
    with pytest.raises(ValueError, match="single image"):
        ClarityBinner().fit(face_rgb[:100])
    with pytest.raises(ValueError, match="single image"):
        LandmarkExtractor().transform(face_rgb[:, :, :1])
    # Wrapped, it is a batch of one.
    assert LandmarkExtractor(5).transform([face_rgb]).shape == (1, 10)


@pytest.mark.bad_input("4")
def test_a_bare_image_through_a_fitted_model_is_refused(landmark_model_path, face_rgb):
    model = joblib.load(landmark_model_path)
    with pytest.raises(ValueError, match="single image"):
        model.predict(face_rgb[:100])
