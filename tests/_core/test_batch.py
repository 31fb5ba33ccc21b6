"""fersk._core.batch: image batches in any container, mapped in order; an input over a budget
is one failed sample, never a lost batch."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fersk._core.batch import SampleError, as_image_list, map_images
from fersk._core.cache import FeatureCache
from fersk.features.clarity import LaplacianVariance
from fersk.io import images, read_image
from tests.io.test_images import png_of_size, run_with_deadline
from tests.strategies import SETTINGS, arrays, clear_error, image_batches


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


def test_as_image_list_accepts_the_usual_containers(face_crop):
    paths = ["a.png", "b.png"]
    assert as_image_list(paths) == paths
    assert as_image_list(np.array(paths)) == paths
    assert as_image_list(pd.Series(paths)) == paths
    assert as_image_list(pd.DataFrame({"path": paths})) == paths
    assert as_image_list(np.array(paths, dtype=object).reshape(-1, 1)) == paths
    assert len(as_image_list(np.stack([face_crop] * 3))) == 3
    assert len(as_image_list(iter([face_crop, face_crop]))) == 2


@pytest.mark.parametrize(
    "X, error, message",
    [
        ("a.png", TypeError, "single str"),
        (np.zeros((8, 8)), ValueError, "single image must be wrapped"),
        (pd.DataFrame({"a": [1], "b": [2]}), ValueError, "2 columns"),
        ([None], TypeError, r"X\[0\] is a NoneType"),
        (42, TypeError, "must be a sequence"),
    ],
)
def test_as_image_list_errors(X, error, message):
    with pytest.raises(error, match=message):
        as_image_list(X)


def test_map_images_keeps_order_across_chunks_and_workers(face_crop):
    # Distinct images whose score is known in advance: scaled copies of one face.
    images = [(face_crop * (k / 40)).astype(np.uint8) for k in range(1, 41)]
    expected = np.array([LaplacianVariance()(img)[0] for img in images])
    for n_jobs, chunk in ((1, 7), (2, 3)):
        rows, failures = map_images(LaplacianVariance(), images, n_jobs=n_jobs, chunk_size=chunk)
        np.testing.assert_array_equal(rows[:, 0], expected)
        assert failures == []


@SETTINGS
@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=5),
        st.sets(st.text(max_size=3), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
        arrays(max_dims=5, max_side=4),
        st.lists(st.one_of(st.none(), st.integers(), st.floats()), min_size=1, max_size=3),
    )
)
def test_as_image_list_accepts_or_explains(X):
    try:
        items = as_image_list(X)
    except (ValueError, TypeError) as exc:
        assert clear_error(exc)
        return
    assert isinstance(items, list)
    if isinstance(X, np.ndarray):
        assert len(items) == len(X)


@SETTINGS
@given(image_batches(), st.booleans())
def test_map_images_one_row_per_input_in_order(batch, use_cache):
    items, bad = batch
    func = LaplacianVariance(size=16)
    rows, failures = map_images(func, items, chunk_size=2)
    assert rows.shape == (len(items), 1)
    assert [f.index for f in failures] == bad
    assert all(f.reason == "unreadable" for f in failures)
    for i, item in enumerate(items):
        if i in bad:
            assert np.isnan(rows[i]).all()
        else:
            assert rows[i, 0] == func(read_image(item))[0]
