"""Property-based tests (hypothesis): random shapes, dtypes, NaN/inf, empty and single inputs.

The invariant everywhere: a clear error (a ``ValueError`` or ``TypeError``
subclass with a message), or one output row per input, in input order.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fersk import (
    ClarityBinner,
    ClarityRoutedClassifier,
    LandmarkExtractor,
    MotionDelta,
    PairwiseDistance,
    SubjectNeutralizer,
)
from fersk._core.batch import as_image_list, map_images
from fersk.features.clarity import LaplacianVariance
from fersk.io import ImageReadError, read_image, to_uint8

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from(
    ["u1", "<u2", ">u2", "i2", "<i4", ">f4", "f8", "f2", "?", "c8", "u8", "i8"]
)


def arrays(min_dims=0, max_dims=4, max_side=9, elements=None):
    return DTYPES.flatmap(
        lambda dtype: hnp.arrays(
            dtype,
            hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side),
            elements=elements,
        )
    )


def clear_error(exc: BaseException) -> bool:
    return isinstance(exc, (ValueError, TypeError)) and len(str(exc)) > 10


@SETTINGS
@given(arrays())
def test_read_image_gives_an_image_or_a_clear_error(array):
    for color, n_dims in [("gray", 2), ("rgb", 3)]:
        try:
            image = read_image(array, color=color)
        except ImageReadError as exc:
            assert clear_error(exc)
            continue
        assert image.dtype == np.uint8 and image.ndim == n_dims
        assert image.shape[:2] == array.shape[:2]
        assert n_dims == 2 or image.shape[2] == 3


@SETTINGS
@given(arrays(min_dims=1, max_dims=3))
def test_to_uint8_is_byte_order_blind(array):
    assume(array.dtype.kind in "uif" and array.dtype.itemsize > 1)
    swapped = array.astype(array.dtype.newbyteorder())
    try:
        expected = to_uint8(array)
    except ImageReadError:
        with pytest.raises(ImageReadError):
            to_uint8(swapped)
        return
    np.testing.assert_array_equal(to_uint8(swapped), expected)


@st.composite
def image_batches(draw):
    """A list mixing good images, bad arrays and paths that do not exist."""
    n = draw(st.integers(0, 6))
    items, bad = [], []
    for i in range(n):
        kind = draw(st.sampled_from(["good", "bad_array", "missing"]))
        if kind == "good":
            side = draw(st.integers(8, 24))
            items.append(draw(hnp.arrays("u1", (side, side + 3))))
        elif kind == "bad_array":
            items.append(
                draw(
                    st.sampled_from(
                        [
                            np.zeros((0, 5), np.uint8),
                            np.full((6, 6), np.nan),
                            np.zeros((4, 4), bool),
                            np.zeros((4, 4, 2), np.uint8),
                            np.zeros((3, 3), complex),
                        ]
                    )
                )
            )
            bad.append(i)
        else:
            items.append(f"/no/such/image_{i}.png")
            bad.append(i)
    return items, bad


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


def numeric_inputs(n_columns):
    """Arrays (n, n_columns) with NaN/inf sprinkled in, n from 0 to 6."""
    return st.integers(0, 6).flatmap(
        lambda n: hnp.arrays(
            "f8",
            (n, n_columns),
            elements=st.one_of(
                st.floats(-1e3, 1e3, allow_nan=False),
                st.just(np.nan),
                st.just(np.inf),
            ),
        )
    )


def assert_rows_or_clear_error(transform, X):
    """transform(X): a clear error, or one row per input that follows a row permutation."""
    try:
        out = transform(X)
    except (ValueError, TypeError) as exc:
        assert clear_error(exc)
        return None
    assert out.shape[0] == X.shape[0]
    if len(X) > 1:
        order = np.arange(len(X))[::-1]
        # The same rows, reordered (summation order may change the last bit).
        np.testing.assert_allclose(transform(X[order]), out[order], rtol=1e-12, atol=1e-12)
    return out


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


@SETTINGS
@given(numeric_inputs(30))
def test_motion_delta_rows(X):
    md = MotionDelta(5)
    try:
        md.fit(X)
    except ValueError as exc:
        assert clear_error(exc)
        return
    assert_rows_or_clear_error(md.transform, X)


@SETTINGS
@given(numeric_inputs(3), st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6))
def test_subject_neutralizer_rows(X, subjects):
    groups = subjects[: len(X)]
    sn = SubjectNeutralizer(missing_groups="population")
    try:
        sn.fit(X, groups=groups)
    except ValueError as exc:
        assert clear_error(exc)
        return
    order = np.arange(len(X))[::-1]

    def transform(Z):
        ids = groups if Z is X else [groups[i] for i in order]
        return sn.transform(Z, groups=ids)

    assert_rows_or_clear_error(transform, X)


@SETTINGS
@given(
    st.integers(0, 12).flatmap(
        lambda n: st.tuples(
            hnp.arrays("f8", (n, 2), elements=st.floats(-5, 5)),
            hnp.arrays("f8", n, elements=st.sampled_from([0.0, 1.0, np.nan])),
            hnp.arrays("i8", n, elements=st.integers(0, 2)),
        )
    )
)
def test_routed_classifier_rows(data):
    from sklearn.tree import DecisionTreeClassifier

    features, levels, y = data
    X = np.column_stack([features, levels])
    clf = ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0), min_samples_per_level=2)
    try:
        clf.fit(X, y)
    except ValueError as exc:
        assert clear_error(exc)
        return
    proba = assert_rows_or_clear_error(clf.predict_proba, X)
    if proba is not None:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
