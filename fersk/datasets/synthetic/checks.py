"""Argument checks shared by the synthetic-data generators.

Validation of the emotions, integer counts and numbers that
:func:`~.faces.make_sample_faces`, :func:`~.clips.make_sample_clips` and
:func:`~.video.make_sample_video` take, and the conversion of their
``random_state`` into the non-negative int seed all their random streams
derive from.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np
from sklearn.utils import check_random_state

from .expressions import SAMPLE_EMOTIONS

__all__ = ["check_emotions", "check_integers", "is_number", "resolve_seed"]


def check_emotions(emotions: Sequence[str]) -> tuple[str, ...]:
    """The emotions as a tuple; raise if a string, empty, repeated or not sample emotions."""
    if isinstance(emotions, str):
        raise TypeError(f"emotions must be a sequence of names, not the string {emotions!r}")
    emotions = tuple(emotions)
    unknown = [e for e in emotions if e not in SAMPLE_EMOTIONS]
    if unknown:
        raise ValueError(f"unknown emotions {unknown}; expected names from {SAMPLE_EMOTIONS}")
    if not emotions or len(set(emotions)) != len(emotions):
        raise ValueError(f"emotions must be non-empty and without repeats, got {emotions}")
    return emotions


def check_integers(*checks: tuple[str, object, int]) -> None:
    """Raise ``ValueError`` unless every ``(name, value, low)`` has an integer ``value >= low``."""
    for name, value, low in checks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def resolve_seed(random_state: int | np.random.RandomState | None) -> int:
    """A non-negative int seed: the int itself, or one drawn from ``random_state``."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        seed = int(random_state)
        if seed < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {seed}")
        return seed
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def is_number(value: object) -> bool:
    """Whether ``value`` is a real number (a bool is not)."""
    return isinstance(value, Real) and not isinstance(value, bool)
