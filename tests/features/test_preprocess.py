"""fersk.features.preprocess: CNNPreprocessor -- paths or arrays to standardised tensors, the
same whatever the order, workers or cache; an unreadable image is named."""

from __future__ import annotations

import numpy as np
import pytest

from fersk._core.batch import SampleError
from fersk.features.preprocess import CNNPreprocessor
from fersk.io import read_image


@pytest.fixture(scope="module")
def sample(cnn_sample):
    return cnn_sample


def test_preprocessor_paths_and_arrays(sample, tmp_path):
    paths = list(sample.X[:5])
    X = CNNPreprocessor(size=32).fit_transform(paths)
    assert X.shape == (5, 1, 32, 32) and X.dtype == np.float32
    np.testing.assert_allclose(X.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=(1, 2, 3)), 1, atol=1e-4)
    arrays = [read_image(p, color="rgb") for p in paths]
    np.testing.assert_allclose(CNNPreprocessor(size=32).fit_transform(arrays), X, atol=1e-5)
    # order, workers and cache do not change the output
    reversed_ = CNNPreprocessor(size=32, n_jobs=2, memory=tmp_path).fit_transform(paths[::-1])
    np.testing.assert_array_equal(reversed_[::-1], X)
    cached = CNNPreprocessor(size=32, memory=tmp_path).fit_transform(paths)
    np.testing.assert_array_equal(cached, X)
    rgb = CNNPreprocessor(size=32, channels=3).fit_transform(paths)
    assert rgb.shape == (5, 3, 32, 32)


def test_preprocessor_errors_name_the_sample(sample, tmp_path):
    bad = tmp_path / "not_an_image.png"
    bad.write_text("nope")
    images = [sample.X[0], str(bad)]
    with pytest.raises(SampleError, match=r"sample 1 .*not_an_image\.png"):
        CNNPreprocessor(size=32, on_failure="raise").fit_transform(images)
    prep = CNNPreprocessor(size=32)  # on_failure="nan" is the default
    with pytest.warns(UserWarning, match="1 of 2 samples"):
        X = prep.fit_transform(images)
    assert prep.n_failures_ == 1 and not X[1].any() and X[0].any()
    with pytest.raises(ValueError):
        CNNPreprocessor(channels=2).fit([])
