"""Hypothesis strategies and checks shared by the property-based tests.

Random shapes, dtypes, NaN/inf, empty and single inputs. The invariant everywhere: a clear
error (a ``ValueError`` or ``TypeError`` subclass with a message), or one output row per
input, in input order.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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
