"""Scripts of the synthetic sample videos: segments and their timing.

A :func:`~.video.make_sample_video` script tells each face what to do over
time. This module holds the segment type (:class:`VideoSegment`), the
default script, the checking and resolving of user scripts (one list of
segments per face, later faces cyclically time-shifted), the segments'
frame boundaries and the smooth intensity ramps of expression segments.

Scripts
-------
A script is a list of *segments*, played one after the other. A segment is
a tuple ``(kind, seconds[, emotion[, ramp[, peak]]])``:

* ``("neutral", seconds)``: the subject's neutral face (intensity 0);
* ``("expression", seconds, emotion[, ramp[, peak]])``: ``emotion`` (one of
  :data:`~fersk.datasets.SAMPLE_EMOTIONS` other than ``"neutral"``)
  ramps in smoothly (smoothstep) over ``ramp`` seconds (default
  :data:`DEFAULT_RAMP`), holds at ``peak`` (default 1.0, in ``(0, 1]``) and
  ramps out over the last ``ramp`` seconds, so ``seconds`` includes both
  ramps (``2 * ramp <= seconds``; ``ramp=0`` switches abruptly);
* ``("absent", seconds)``: no face, the background only.

For ``"neutral"`` and ``"absent"`` a third element may be given as ``None``
or ``""`` (or ``"neutral"`` for a neutral segment) and further ones as
``None`` or 0, so the resolved :class:`VideoSegment` tuples that
:func:`~.video.make_sample_video` returns can be passed back as a script.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .checks import is_number
from .expressions import SAMPLE_EMOTIONS

__all__ = [
    "DEFAULT_RAMP",
    "DEFAULT_VIDEO_SCRIPT",
    "SEGMENT_KINDS",
    "VideoSegment",
    "resolve_script",
    "segment_boundaries",
    "segment_intensity",
    "smoothstep",
]

SEGMENT_KINDS: tuple[str, ...] = ("neutral", "expression", "absent")
"""The kinds of script segment :func:`~.video.make_sample_video` plays."""

DEFAULT_RAMP: float = 0.5
"""Default onset and offset ramp of an expression segment, in seconds."""


class VideoSegment(NamedTuple):
    """One resolved segment of a :func:`~.video.make_sample_video` script.

    Attributes
    ----------
    kind : str
        ``"neutral"``, ``"expression"`` or ``"absent"``.
    seconds : float
        Duration, ramps included.
    emotion : str
        The emotion shown: ``"neutral"`` for a neutral segment, ``""`` for
        an absent one.
    ramp : float
        Onset (and offset) ramp in seconds; 0 unless ``kind="expression"``.
    peak : float
        Intensity held between the ramps; 0 unless ``kind="expression"``.
    """

    kind: str
    seconds: float
    emotion: str
    ramp: float
    peak: float


DEFAULT_VIDEO_SCRIPT: tuple[VideoSegment, ...] = (
    VideoSegment("neutral", 2.0, "neutral", 0.0, 0.0),
    VideoSegment("expression", 2.5, "happiness", DEFAULT_RAMP, 1.0),
    VideoSegment("neutral", 1.5, "neutral", 0.0, 0.0),
    VideoSegment("absent", 1.0, "", 0.0, 0.0),
    VideoSegment("neutral", 1.0, "neutral", 0.0, 0.0),
    VideoSegment("expression", 2.5, "surprise", DEFAULT_RAMP, 1.0),
    VideoSegment("neutral", 1.5, "neutral", 0.0, 0.0),
)
"""The default script of the first face (12 s): neutral, happiness, neutral, absent,
neutral, surprise, neutral."""


def _describe(segment: object) -> str:
    return repr(tuple(segment)) if isinstance(segment, (list, tuple)) else repr(segment)


def _resolve_segment(segment: object, where: str) -> VideoSegment:
    """Check one segment and return it in its resolved form."""
    if isinstance(segment, str) or not isinstance(segment, (list, tuple)):
        raise TypeError(
            f"{where} is {segment!r}; a segment is a tuple (kind, seconds[, emotion[, ramp"
            "[, peak]]])"
        )
    if not 2 <= len(segment) <= 5:
        raise ValueError(
            f"{where} {_describe(segment)} has {len(segment)} elements; expected "
            "(kind, seconds[, emotion[, ramp[, peak]]])"
        )
    kind, seconds, *rest = segment
    if kind not in SEGMENT_KINDS:
        raise ValueError(f"{where} {_describe(segment)}: kind must be one of {SEGMENT_KINDS}")
    if not is_number(seconds) or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"{where} {_describe(segment)}: seconds must be a finite number > 0, got {seconds!r}"
        )
    seconds = float(seconds)
    if kind != "expression":
        emotion = rest[0] if rest else None
        allowed = (None, "", "neutral") if kind == "neutral" else (None, "")
        if emotion not in allowed:
            raise ValueError(
                f"{where} {_describe(segment)}: a {kind!r} segment shows no emotion; use "
                f"('expression', seconds, {emotion!r}) to show one"
            )
        if any(value not in (None, 0) for value in rest[1:]):
            raise ValueError(
                f"{where} {_describe(segment)}: ramp and peak apply to 'expression' segments only"
            )
        return VideoSegment(kind, seconds, "neutral" if kind == "neutral" else "", 0.0, 0.0)
    if not rest:
        raise ValueError(
            f"{where} {_describe(segment)}: an 'expression' segment needs an emotion, "
            "('expression', seconds, emotion)"
        )
    emotion = rest[0]
    expressions = tuple(e for e in SAMPLE_EMOTIONS if e != "neutral")
    if emotion not in expressions:
        hint = "; use ('neutral', seconds) for rest" if emotion == "neutral" else ""
        raise ValueError(
            f"{where} {_describe(segment)}: emotion must be one of {expressions}, "
            f"got {emotion!r}{hint}"
        )
    ramp = rest[1] if len(rest) > 1 and rest[1] is not None else DEFAULT_RAMP
    peak = rest[2] if len(rest) > 2 and rest[2] is not None else 1.0
    if not is_number(ramp) or not math.isfinite(ramp) or ramp < 0:
        raise ValueError(
            f"{where} {_describe(segment)}: ramp must be a finite number >= 0, got {ramp!r}"
        )
    if 2 * ramp > seconds + 1e-9:
        raise ValueError(
            f"{where} {_describe(segment)}: its ramps need 2 x {float(ramp)} s but it lasts "
            f"{seconds} s; give a longer duration or a shorter ramp"
        )
    if not is_number(peak) or not 0 < peak <= 1:
        raise ValueError(f"{where} {_describe(segment)}: peak must be in (0, 1], got {peak!r}")
    return VideoSegment(kind, seconds, str(emotion), float(ramp), float(peak))


def _is_segment(item: object) -> bool:
    return isinstance(item, (list, tuple)) and len(item) > 0 and isinstance(item[0], str)


def _resolve_one(segments: object, where: str) -> list[VideoSegment]:
    if isinstance(segments, str) or not isinstance(segments, (list, tuple)):
        raise TypeError(f"{where} must be a list of segments, got {segments!r}")
    if len(segments) == 0:
        raise ValueError(f"{where} is empty; it needs at least one segment")
    return [
        _resolve_segment(segment, f"{where}, segment {k}") for k, segment in enumerate(segments)
    ]


def _rotate(segments: list[VideoSegment], fraction: float) -> list[VideoSegment]:
    """The script started at its inner segment boundary nearest ``fraction`` of its duration.

    The segments before that boundary move to the end (a cyclic time shift);
    neutral or absent segments that meet at the join are merged.
    """
    starts = np.cumsum([0.0] + [s.seconds for s in segments])
    total = starts[-1]
    if len(segments) < 2:
        return list(segments)
    k = 1 + int(np.argmin(np.abs(starts[1:-1] - fraction * total)))
    rotated = segments[k:] + segments[:k]
    join = len(segments) - k
    before, after = rotated[join - 1], rotated[join]
    if before.kind == after.kind != "expression":
        merged = before._replace(seconds=before.seconds + after.seconds)
        rotated[join - 1 : join + 1] = [merged]
    return rotated


def resolve_script(script: object, n_faces: int) -> list[list[VideoSegment]]:
    """One resolved list of segments per face (see the module docstring)."""
    if script is None:
        base = list(DEFAULT_VIDEO_SCRIPT)
    elif isinstance(script, str) or not isinstance(script, (list, tuple)):
        raise TypeError(
            f"script must be a list of segments (kind, seconds[, emotion[, ramp[, peak]]]) "
            f"or one such list per face, got {script!r}"
        )
    elif len(script) == 0:
        raise ValueError("script is empty; it needs at least one segment")
    elif _is_segment(script[0]):
        base = _resolve_one(script, "script")
    else:
        if len(script) != n_faces:
            raise ValueError(
                f"script holds {len(script)} per-face scripts but n_faces={n_faces}; give one "
                "list of segments per face, or a single list of segments"
            )
        return [_resolve_one(s, f"script of face {j}") for j, s in enumerate(script)]
    return [base] + [_rotate(base, j / n_faces) for j in range(1, n_faces)]


def segment_boundaries(segments: list[VideoSegment], fps: float) -> np.ndarray:
    """First frame of every segment, and the end: ``floor(cumulative seconds * fps + 0.5)``."""
    starts = np.cumsum([0.0] + [s.seconds for s in segments])
    return np.floor(starts * fps + 0.5 + 1e-9).astype(np.int64)


def smoothstep(x: np.ndarray) -> np.ndarray:
    """``3x^2 - 2x^3`` of ``x`` clipped to [0, 1]: a smooth ramp from 0 to 1."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def segment_intensity(segment: VideoSegment, n_frames: int, fps: float) -> np.ndarray:
    """Intensity at the middle of each of the segment's ``n_frames`` frames."""
    if segment.kind != "expression":
        return np.zeros(n_frames)
    middle = (np.arange(n_frames) + 0.5) / fps
    if segment.ramp == 0:
        return np.full(n_frames, segment.peak)
    up = smoothstep(middle / segment.ramp)
    down = smoothstep((n_frames / fps - middle) / segment.ramp)
    return segment.peak * np.minimum(up, down)
