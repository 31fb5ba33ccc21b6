"""Expression and identity changes of 68-point landmark sets.

The displacement fields of the synthetic faces, in face-frame units
(inter-ocular distances, y down; see :func:`~.source.face_frame`): the
emotions rendered (:data:`SAMPLE_EMOTIONS`), each emotion's FACS-like
movement of brows, eyelids, lips and jaw at full intensity
(:func:`expression_field`), the change that closes the photograph's smile
into a neutral face (:func:`neutralize`), a random identity's face-shape
morph (:func:`morph`) and a subject's per-region expressiveness
(:func:`idiosyncrasy`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._base import EMOTIONS
from .source import FLIP_68

__all__ = [
    "SAMPLE_EMOTIONS",
    "expression_field",
    "idiosyncrasy",
    "lip_opening",
    "morph",
    "neutralize",
]

SAMPLE_EMOTIONS: tuple[str, ...] = EMOTIONS[:7]
"""The emotions the synthetic faces, clips and videos render, in order."""

#: Points on the person's left side (the image's right).
_PERSON_LEFT = np.r_[9:17, 22:27, 34:36, 42:48, 52:57, 63:66]

# --------------------------------------------------------------------------
# Landmark displacements (face-frame units: inter-ocular distances, y down)
# --------------------------------------------------------------------------


def _move(field: np.ndarray, indices: Sequence[int], out: float = 0.0, up: float = 0.0) -> None:
    """Move person's-right points ``indices`` out/up, and their mirror partners alike.

    ``out`` is away from the facial midline (negative: towards it), ``up`` is
    up the face. Midline points (their own partner) only move up.
    """
    for index in indices:
        partner = FLIP_68[index]
        if partner == index:
            field[index] += (0.0, -up)
        else:
            field[index] += (-out, -up)
            field[partner] += (out, -up)


def _jaw_drop(field: np.ndarray, amount: float, chin: float = 1.0) -> None:
    """Open the jaw by ``amount``: lower lip and (``chin`` times) chin down."""
    for index, weight in ((8, 1.0), (7, 0.9), (6, 0.7), (5, 0.45), (4, 0.2), (3, 0.05)):
        _move(field, [index], up=-amount * weight * chin)
    _move(field, [57, 66], up=-amount)
    _move(field, [56, 65], up=-amount * 0.95)
    _move(field, [55], up=-amount * 0.6)


def neutralize(source: np.ndarray) -> np.ndarray:
    """Displacement that turns the photograph's open smile into a neutral face."""
    field = np.zeros((68, 2))
    # Relax the smile: upper lip, mouth corners and cheeks down, corners in.
    _move(field, [49, 50, 51, 61, 62], up=-0.04)
    _move(field, [48, 60], out=-0.05, up=-0.05)
    _move(field, [49, 59], out=-0.02, up=-0.02)
    _move(field, [40, 41], up=-0.015)
    # Close the lips over the teeth: the lower lip and chin come up.
    _jaw_drop(field, -(lip_opening(source + field) - 0.015), chin=0.4)
    return field


def expression_field(emotion: str) -> np.ndarray:
    """Landmark displacement ``(68, 2)`` of ``emotion`` at full intensity."""
    field = np.zeros((68, 2))
    brows_inner, brows_mid, brows_outer = [20, 21], [19], [17, 18]
    upper_lids, lower_lids = [37, 38], [40, 41]
    if emotion == "happiness":
        _move(field, [48, 60], out=0.10, up=0.10)
        _move(field, [49, 59], out=0.05, up=0.06)
        _move(field, [50, 61], out=0.02, up=0.03)
        _move(field, [51, 62], up=0.03)
        _jaw_drop(field, 0.10)
        _move(field, [65], up=-0.02)
        _move(field, lower_lids, up=0.04)
        _move(field, [2, 3, 4], out=0.02, up=0.02)
    elif emotion == "surprise":
        _move(field, brows_inner + brows_mid, up=0.16)
        _move(field, brows_outer, up=0.12)
        _move(field, upper_lids, up=0.05)
        _move(field, lower_lids, up=-0.015)
        _jaw_drop(field, 0.32)
        _move(field, [48, 60], out=-0.06, up=-0.10)
        _move(field, [49, 59], out=-0.04, up=-0.03)
        _move(field, [55], up=-0.10)
        _move(field, [50, 51, 61, 62], up=0.02)
    elif emotion == "sadness":
        _move(field, [21], out=-0.03, up=0.14)
        _move(field, [20], out=-0.01, up=0.09)
        _move(field, [19], up=0.02)
        _move(field, [17], up=-0.06)
        _move(field, [18], up=-0.03)
        _move(field, upper_lids, up=-0.03)
        _move(field, [48, 60], out=-0.01, up=-0.15)
        _move(field, [49], up=-0.06)
        _move(field, [59], up=-0.10)
        _move(field, [58, 67], up=-0.02)
        _move(field, [57], up=0.02)
        _move(field, [61, 62, 65, 66], up=0.02)
        _move(field, [7, 8], up=0.03)
    elif emotion == "anger":
        _move(field, brows_outer + brows_mid, up=-0.08)
        _move(field, [20], out=-0.03, up=-0.12)
        _move(field, [21], out=-0.06, up=-0.15)
        _move(field, upper_lids, up=-0.04)
        _move(field, lower_lids, up=0.025)
        _move(field, [50, 51], up=-0.035)
        _move(field, [56, 57], up=0.035)
        _move(field, [48, 60], out=-0.05)
        _move(field, [49, 59], out=-0.025)
        _move(field, [31, 32], out=0.02)
    elif emotion == "disgust":
        _move(field, [49, 50, 51], up=0.10)
        _move(field, [61, 62], up=0.09)
        _move(field, [31, 32, 33], up=0.06)
        _move(field, [31], out=0.02)
        _move(field, [30, 29], up=0.03)
        _move(field, brows_outer + brows_mid, up=-0.05)
        _move(field, brows_inner, out=-0.02, up=-0.08)
        _move(field, [48, 60], up=-0.04)
        _move(field, [65, 66, 56, 57], up=0.03)
        _move(field, lower_lids, up=0.04)
    elif emotion == "fear":
        _move(field, [21], out=-0.04, up=0.13)
        _move(field, [20], out=-0.02, up=0.12)
        _move(field, brows_mid, up=0.09)
        _move(field, brows_outer, up=0.05)
        _move(field, upper_lids, up=0.05)
        _move(field, lower_lids, up=-0.02)
        _jaw_drop(field, 0.16)
        _move(field, [48, 60], out=0.11, up=-0.04)
        _move(field, [49, 59], out=0.06, up=-0.01)
        _move(field, [50, 61, 58, 67], out=0.02)
    elif emotion != "neutral":
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {SAMPLE_EMOTIONS}")
    return field


def morph(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random plausible identity: face-shape changes of face-frame landmarks."""
    p = points.copy()

    def uniform(width: float) -> float:
        return float(rng.uniform(-width, width))

    # Whole face width and height (about the eye midpoint).
    p *= [1 + uniform(0.08), 1 + uniform(0.08)]
    # Jaw width, more at the chin level than at the ears.
    jaw = np.arange(17)
    lower = np.clip(p[jaw, 1], 0, None) / max(p[jaw, 1].max(), 1e-6)
    p[jaw, 0] *= 1 + uniform(0.08) * lower
    # Eye spacing, eye size, brow height.
    spacing = uniform(0.03)
    for eye in (range(36, 42), range(42, 48)):
        eye = list(eye)
        sign = np.sign(p[eye, 0].mean())
        centre = p[eye].mean(axis=0)
        p[eye] = centre + (p[eye] - centre) * [1 + uniform(0.08), 1 + uniform(0.12)]
        p[eye, 0] += sign * spacing
    brows = list(range(17, 27))
    p[brows, 0] += np.sign(p[brows, 0]) * spacing
    p[brows, 1] -= uniform(0.06)
    # Nose length and width.
    nose_tip = list(range(30, 36))
    p[nose_tip, 1] += uniform(0.04)
    wings = list(range(31, 36))
    p[wings, 0] = p[33, 0] + (p[wings, 0] - p[33, 0]) * (1 + uniform(0.12))
    # Mouth width and height, lip thickness.
    mouth = list(range(48, 68))
    centre = p[mouth].mean(axis=0)
    p[mouth, 0] = centre[0] + (p[mouth, 0] - centre[0]) * (1 + uniform(0.08))
    p[mouth, 1] += uniform(0.04)
    p[[49, 50, 51, 52, 53], 1] -= rng.uniform(0, 0.03)
    p[[55, 56, 57, 58, 59], 1] += uniform(0.03)
    return p


_REGIONS = (range(0, 17), range(17, 27), range(27, 36), range(36, 48), range(48, 68))


def idiosyncrasy(draws: np.ndarray) -> np.ndarray:
    """Per-point gains ``(68,)`` of a subject's way of making an expression.

    ``draws`` are 6 numbers in [-1, 1]: one gain (0.8 to 1.2) per region
    (jaw, brows, nose, eyes, mouth) and a left/right asymmetry (+-10%).
    Region-wide gains keep neighbouring points moving together (no folds).
    """
    gains = np.empty(68)
    for region, draw in zip(_REGIONS, draws[:5]):
        gains[list(region)] = 1 + 0.2 * draw
    gains[_PERSON_LEFT] *= 1 + 0.1 * draws[5]
    return gains


def lip_opening(points: np.ndarray) -> float:
    """Mean gap between the middle inner-lip points, in the units of ``points``."""
    return float(np.mean(points[[67, 66, 65], 1] - points[[61, 62, 63], 1]))
