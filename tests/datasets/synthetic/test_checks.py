"""fersk.datasets.synthetic.checks: the generators' arguments -- emotions, counts, numbers -- and
the one seed every random stream derives from."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.datasets.synthetic.checks import (
    check_emotions,
    check_integers,
    is_number,
    resolve_seed,
)


def test_emotions_are_kept_in_order_and_refused_when_unknown_empty_repeated_or_a_string():
    assert check_emotions(["surprise", "anger"]) == ("surprise", "anger")
    for emotions, error, message in [
        (["joy"], ValueError, r"unknown emotions \['joy'\]"),
        ([], ValueError, "non-empty and without repeats"),
        (["fear", "fear"], ValueError, "non-empty and without repeats"),
        ("anger", TypeError, "not the string 'anger'"),
    ]:
        with pytest.raises(error, match=message):
            check_emotions(emotions)


def test_counts_must_be_integers_at_least_their_low_bound():
    check_integers(("n_subjects", 1, 1), ("onset_frames", np.int64(0), 0))
    for value in [0, 2.0, True, "3"]:
        with pytest.raises(ValueError, match=f"n_subjects must be an integer >= 1, got {value!r}"):
            check_integers(("n_frames", 4, 1), ("n_subjects", value, 1))


def test_a_seed_is_the_int_given_or_one_drawn_from_the_random_state():
    assert resolve_seed(7) == 7 and resolve_seed(np.int32(3)) == 3
    assert resolve_seed(np.random.RandomState(1)) == resolve_seed(np.random.RandomState(1))
    assert resolve_seed(np.random.RandomState(1)) != resolve_seed(np.random.RandomState(2))
    assert 0 <= resolve_seed(None) < np.iinfo(np.int32).max
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        resolve_seed(-1)


def test_a_bool_is_no_number():
    assert is_number(1) and is_number(2.5) and is_number(np.float32(1))
    assert not is_number(True) and not is_number("1") and not is_number(None)
