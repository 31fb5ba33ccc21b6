"""fersk._core.batch.map_images: an input over a budget is one failed sample, never a lost batch."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from fersk._core.batch import SampleError, map_images
from fersk._core.cache import FeatureCache
from fersk.features.clarity import LaplacianVariance
from fersk.io import images
from tests.io.test_images import png_of_size, run_with_deadline


@pytest.fixture()
def batch(tmp_path, face_crop):
    """A face, a 40000 x 40000 PNG header, a FIFO and another face: paths, in this order."""
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), face_crop)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_of_size(40000, 40000))
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), np.roll(face_crop, 9, axis=1))
    return [str(good), str(bomb), str(pipe), str(other)]


@pytest.mark.bad_input("S6-pixel-budget")
def test_budget_failures_keep_their_rows_and_are_not_cached(batch, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    func = LaplacianVariance(64)
    rows, failures = run_with_deadline(lambda: map_images(func, batch, cache=cache, progress=False))
    expected, none = map_images(func, [batch[0], batch[3]], progress=False)
    assert none == []
    np.testing.assert_array_equal(rows[[0, 3]], expected)
    assert np.isnan(rows[[1, 2]]).all()
    assert [(f.index, f.reason) for f in failures] == [(1, "unreadable"), (2, "unreadable")]
    assert "bomb.png" in failures[0].source and "exceeds the budget" in failures[0].message
    assert "named pipe" in failures[1].message
    assert len(cache) == 2  # only the two faces: a refused input is not remembered as "no face"


@pytest.mark.bad_input("S6-pixel-budget")
def test_a_larger_budget_reads_what_a_smaller_one_refused(batch, monkeypatch):
    func = LaplacianVariance(64)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100 * 100 - 1)  # the faces are 100 x 100
    rows, failures = map_images(func, [batch[0]], progress=False)
    assert np.isnan(rows).all() and "image of 100 x 100 pixels" in failures[0].message
    with pytest.raises(SampleError, match=r"sample 0 \('.*good\.png'\): .*exceeds the budget"):
        map_images(func, [batch[0]], progress=False, on_failure="raise")
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100 * 100)
    rows, failures = map_images(func, [batch[0]], progress=False)
    assert np.isfinite(rows).all() and failures == []
