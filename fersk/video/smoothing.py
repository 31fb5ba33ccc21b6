"""Temporal smoothing of per-frame class probabilities, with label hysteresis.

A classifier applied frame by frame flickers: its top class changes whenever
two probabilities are close. :class:`ProbabilitySmoother` averages each face
track's probabilities exponentially over time and lets the *shown* label
change only on a clear, lasting lead. The price is latency; the trade-off
has a closed form (below, and :func:`step_lag`).

The module also holds the measures a benchmark of that trade-off needs:
:func:`count_flips`, :func:`flips_per_minute` and :func:`label_lag`.

**Stability and latency.** Take a clean step: the raw probabilities are
``a`` up to the frame at time ``t_b`` and ``b`` from the next frame on; the
smoothed probabilities have settled on ``a``, whose top class ``c`` is shown,
and ``c'`` is the top class of ``b``. Write ``D_a = a[c'] - a[c] < 0`` and
``D_b = b[c'] - b[c] > 0``. Because ``alpha = 1 - exp(-dt / tau_s)``, the
smoothed lead of ``c'`` over ``c`` at any later frame time ``t`` is exactly,
whatever the frame times (frames without probabilities included),

``d(t) = D_b + (D_a - D_b) * exp(-(t - t_b) / tau_s)``,

and it reaches the ``margin`` at ``t - t_b = L`` with

``L = tau_s * ln((D_b - D_a) / (D_b - margin))``

(``L = 0`` when ``tau_s = 0``; no switch ever when ``margin >= D_b``; with
more than two classes, provided no third class takes the lead on the way,
as in every step between two classes). For a two-class swap of ``(q, 1 -
q)`` into ``(1 - q, q)`` this is ``tau_s * ln(2 (2q - 1) / (2q - 1 -
margin))``; for a hard 0/1 swap, ``tau_s * ln(2 / (1 - margin))``: ``0.69
tau_s`` with no margin, ``0.80 tau_s`` with ``margin = 0.1``. The shown
label switches at the first frame at or after ``t_b + L`` (and no sooner
than ``min_dwell_s`` after its previous switch) while the raw label switches
at the first frame after ``t_b``, so the lag behind the raw label is within
a frame interval of ``L``: between ``L - dt`` and ``L`` at a constant frame
interval ``dt``, within the longest interval either way at a variable frame
rate. Stability, on the other side: white noise of variance ``s^2`` on a raw
probability leaves ``s^2 * alpha / (2 - alpha)`` on the smoothed one
(``alpha`` of one frame interval; ~``dt / (2 tau_s)`` for ``dt << tau_s``),
and a flip needs that noise to open a lead of ``margin`` at least
``min_dwell_s`` after the previous flip. A larger ``tau_s`` or ``margin``:
fewer flips, a longer lag.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._core._sklearn_compat import Interval
from .source import check_frame_time

__all__ = [
    "ProbabilitySmoother",
    "SmoothedPrediction",
    "count_flips",
    "flips_per_minute",
    "label_lag",
    "step_lag",
]


@dataclass(frozen=True, eq=False)
class SmoothedPrediction:
    """The smoother's output for one update of one track.

    Attributes
    ----------
    label : int or None
        Index of the shown class (``None`` until the track's first prediction).
    probabilities : ndarray of shape (n_classes,)
        The smoothed probabilities (a copy; shape ``(0,)`` before the first
        prediction).
    changed : bool
        Whether the shown label switched at this update (the first label
        after ``None`` counts as a switch).
    """

    label: int | None
    probabilities: np.ndarray
    changed: bool


class _Track:
    """Per-track state of :class:`ProbabilitySmoother`."""

    __slots__ = ("last_t", "prob_t", "smoothed", "label", "label_since")

    def __init__(self, t: float) -> None:
        self.last_t = t  # time of the last update, with or without probabilities
        self.prob_t = np.nan  # time of the last update with probabilities
        self.smoothed: np.ndarray | None = None
        self.label: int | None = None
        self.label_since = np.nan  # time the shown label was first shown

    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)


class ProbabilitySmoother(BaseEstimator):
    """Exponential smoothing of class probabilities per track, with label hysteresis.

    **Averaging.** At each update with probabilities ``p`` at time ``t``,
    ``dt`` seconds after the track's previous update with probabilities,

    ``s <- (1 - alpha) * s + alpha * p`` with ``alpha = 1 - exp(-dt / tau_s)``,

    a first-order low-pass filter with time constant ``tau_s``, right for any
    frame rate, variable included (holding ``p`` for ``dt1 + dt2`` seconds
    gives the same ``s`` in one step or in two). ``tau_s = 0`` gives
    ``alpha = 1``: no smoothing. The first probabilities of a track are taken
    as they are. ``None`` (no face, or no prediction, this frame) or an
    all-NaN vector changes nothing and returns the current state; the next
    update's ``dt`` spans the gap, so after a long gap the old average has
    (almost) no weight left.

    **Hysteresis.** The shown label ``c`` switches to the top class ``c'`` of
    ``s`` only when ``s[c'] >= s[c] + margin`` and ``c`` has been shown for at
    least ``min_dwell_s`` seconds (ties for the top class go to the lowest
    index, as in :func:`numpy.argmax`). With ``tau_s = margin = min_dwell_s =
    0`` the shown label is the raw argmax at every frame.

    The lag this costs after a clean step of the raw probabilities is
    ``tau_s * ln((D_b - D_a) / (D_b - margin))`` (see the module notes and
    :func:`step_lag`).

    Parameters
    ----------
    tau_s : float, default=0.5
        Time constant of the averaging in seconds (0: none).
    margin : float, default=0.1
        Lead in smoothed probability a new class needs to be shown; in
        ``[0, 1)``.
    min_dwell_s : float, default=0.5
        Shortest time in seconds a shown label stays before it may switch.

    Parameters are validated at the first :meth:`update` (scikit-learn's
    ``InvalidParameterError``, a ``ValueError``, naming the parameter).

    See Also
    --------
    fersk.video.step_lag : The lag these parameters cost after a clean step.
    fersk.video.label_lag : The measured lag of a smoothed label sequence.
    fersk.video.flips_per_minute : How often a label sequence switches.
    fersk.video.VideoAnalyzer : Smooths each face's predictions with this class.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.video.smoothing import ProbabilitySmoother, step_lag
    >>> smoother = ProbabilitySmoother(tau_s=0.5, margin=0.1, min_dwell_s=0.0)
    >>> smoother.update(0, 0.0, np.array([0.9, 0.1])).label
    0
    >>> for frame in range(1, 30):  # then, at 30 frames per second, class 1
    ...     pred = smoother.update(0, frame / 30, np.array([0.2, 0.8]))
    ...     if pred.changed:
    ...         print(f"class {pred.label} shown at {frame / 30:.3f} s")
    class 1 shown at 0.533 s
    >>> round(step_lag([0.9, 0.1], [0.2, 0.8], tau_s=0.5, margin=0.1), 3)  # closed form
    0.515
    """

    _parameter_constraints: dict = {
        "tau_s": [Interval(Real, 0, None, closed="left")],
        "margin": [Interval(Real, 0, 1, closed="left")],
        "min_dwell_s": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self, *, tau_s: float = 0.5, margin: float = 0.1, min_dwell_s: float = 0.5
    ) -> None:
        self.tau_s = tau_s
        self.margin = margin
        self.min_dwell_s = min_dwell_s

    def _track_states(self) -> dict[Hashable, _Track]:
        """Per-track state, created (and the parameters validated) at first use."""
        if not hasattr(self, "tracks_"):
            self._validate_params()
            self.tracks_: dict[Hashable, _Track] = {}
        return self.tracks_

    def update(
        self, track_id: Hashable, t: float, probabilities: np.ndarray | None
    ) -> SmoothedPrediction:
        """Take one frame's class probabilities of one track; return what to show.

        Parameters
        ----------
        track_id : int
            The face track (any hashable works); a new id starts a new track.
        t : float
            Frame time in seconds; must increase within a track.
        probabilities : ndarray of shape (n_classes,) or None
            The classifier's probabilities for this frame (finite, >= 0, the
            same number of classes throughout the track); ``None`` or all-NaN
            when there is none.

        Returns
        -------
        SmoothedPrediction

        Raises
        ------
        ValueError
            When ``t`` is not finite or does not increase within the track,
            or the probabilities are not a 1-D vector of finite non-negative
            numbers of the track's length.
        """
        track = self._track_states().get(track_id)
        t = check_frame_time(
            type(self).__name__, track_id, t, None if track is None else track.last_t
        )
        p = (
            None
            if probabilities is None
            else self._check_probabilities(track_id, t, track, probabilities)
        )
        if track is None:
            track = self._track_states()[track_id] = _Track(t)
        track.last_t = t
        if p is None:
            return self._state(track, changed=False)

        if track.smoothed is None:
            track.smoothed = p.copy()
        else:
            dt = t - track.prob_t
            alpha = 1.0 if self.tau_s == 0 else -math.expm1(-dt / self.tau_s)
            track.smoothed = (1.0 - alpha) * track.smoothed + alpha * p
        track.prob_t = t

        s = track.smoothed
        top = int(np.argmax(s))
        if track.label is None:
            track.label, track.label_since = top, t
            return self._state(track, changed=True)
        current = track.label
        if (
            top != current
            and s[top] >= s[current] + self.margin
            and t - track.label_since >= self.min_dwell_s
        ):
            track.label, track.label_since = top, t
            return self._state(track, changed=True)
        return self._state(track, changed=False)

    @staticmethod
    def _state(track: _Track, changed: bool) -> SmoothedPrediction:
        probabilities = np.empty(0) if track.smoothed is None else track.smoothed.copy()
        return SmoothedPrediction(label=track.label, probabilities=probabilities, changed=changed)

    def _check_probabilities(
        self, track_id: Hashable, t: float, track: _Track | None, probabilities
    ) -> np.ndarray | None:
        """Return the probabilities as a float vector, None when all NaN, or raise."""
        where = f"{type(self).__name__}: track {track_id!r} at t={t!r} s"
        try:
            p = np.array(probabilities, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: probabilities are not numeric ({exc})") from None
        if p.ndim != 1 or p.size == 0:
            raise ValueError(
                f"{where}: probabilities must be a non-empty 1-D vector (n_classes,), "
                f"got shape {p.shape}"
            )
        if np.isnan(p).all():
            return None
        if not np.isfinite(p).all() or (p < 0).any():
            raise ValueError(f"{where}: probabilities must be finite and >= 0, got {p}")
        if track is not None and track.smoothed is not None and p.size != track.smoothed.size:
            raise ValueError(
                f"{where}: got {p.size} class probabilities, but the track's earlier frames "
                f"had {track.smoothed.size}"
            )
        return p

    def forget(self, track_id: Hashable) -> None:
        """Drop a track's state (a track that ended); unknown ids are ignored.

        Examples
        --------
        >>> smoother = ProbabilitySmoother()
        >>> _ = smoother.update(3, 0.0, [0.3, 0.7])
        >>> smoother.forget(3)
        >>> smoother.update(3, 0.0, None).label is None
        True
        """
        self._track_states().pop(track_id, None)


def step_lag(
    before: Sequence[float] | np.ndarray,
    after: Sequence[float] | np.ndarray,
    *,
    tau_s: float,
    margin: float,
) -> float:
    """Closed-form lag of the shown label after a clean step of the raw probabilities.

    ``tau_s * ln((D_b - D_a) / (D_b - margin))`` seconds after the last frame
    before the step, with ``c`` the top class of ``before`` (the shown label),
    ``c'`` that of ``after``, ``D_a = before[c'] - before[c]`` and ``D_b =
    after[c'] - after[c]`` (see the module notes). The measured lag behind
    the raw label is within one frame interval below this value, and
    ``min_dwell_s`` may add to it when the previous switch was recent.

    Parameters
    ----------
    before, after : array-like of shape (n_classes,)
        Raw probabilities before and after the step; the smoothed ones are
        assumed settled on ``before``.
    tau_s, margin : float
        The smoother's parameters.

    Returns
    -------
    float
        The lag in seconds; ``0.0`` when the top class does not change, and
        ``inf`` when the shown label never switches (``margin >= D_b``).

    See Also
    --------
    fersk.video.ProbabilitySmoother : The smoother whose lag this is.
    fersk.video.label_lag : The lag measured on label sequences.

    Examples
    --------
    >>> round(step_lag([1, 0], [0, 1], tau_s=0.5, margin=0.0), 4)  # tau_s * ln 2
    0.3466
    >>> step_lag([0.6, 0.4], [0.48, 0.52], tau_s=0.5, margin=0.1)  # lead 0.04 < margin
    inf
    """
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    c, c_new = int(np.argmax(a)), int(np.argmax(b))
    if c == c_new:
        return 0.0
    d_a, d_b = a[c_new] - a[c], b[c_new] - b[c]
    if margin >= d_b:
        return math.inf
    if tau_s == 0:
        return 0.0
    return float(tau_s * math.log((d_b - d_a) / (d_b - margin)))


def _is_missing(label: Any) -> bool:
    return label is None or (isinstance(label, float) and math.isnan(label))


def _switches(labels: Sequence[Any]) -> list[tuple[int, Any]]:
    """``(index, new label)`` of every switch between consecutive present labels."""
    out: list[tuple[int, Any]] = []
    previous = None
    for i, label in enumerate(labels):
        if _is_missing(label):
            continue
        if previous is not None and label != previous:
            out.append((i, label))
        previous = label
    return out


def _as_labels(labels: Sequence[Any] | np.ndarray) -> list[Any]:
    return [x.item() if isinstance(x, np.generic) else x for x in labels]


def count_flips(labels: Sequence[Any] | np.ndarray) -> int:
    """Number of label switches in a sequence.

    A switch is a change between two consecutive *present* labels; missing
    labels (``None`` or NaN) are skipped, so ``A, None, B`` has one switch and
    ``A, None, A`` none.

    Parameters
    ----------
    labels : sequence or ndarray
        Labels per sample, in time order (``None`` or NaN: missing).

    Returns
    -------
    int

    See Also
    --------
    fersk.video.flips_per_minute : The switches per minute of a timed sequence.
    fersk.video.label_lag : How far a smoothed label's switches lag the raw ones.
    fersk.video.ProbabilitySmoother : Fewer switches through smoothing and hysteresis.

    Examples
    --------
    >>> count_flips([0, 0, 1, 1, None, 1, 0, 2])
    3
    """
    return len(_switches(_as_labels(labels)))


def _check_times(
    labels: Sequence[Any], times: Sequence[float] | np.ndarray, who: str
) -> np.ndarray:
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or len(times) != len(labels):
        raise ValueError(
            f"{who}: times must be a 1-D sequence as long as the labels ({len(labels)}), "
            f"got shape {times.shape}"
        )
    if not np.isfinite(times).all():
        bad = int(np.flatnonzero(~np.isfinite(times))[0])
        raise ValueError(f"{who}: times must be finite; sample {bad} is {times[bad]}")
    if len(times) > 1 and not (np.diff(times) > 0).all():
        bad = int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1
        raise ValueError(
            f"{who}: times must increase; sample {bad} ({times[bad]} s) is not after "
            f"sample {bad - 1} ({times[bad - 1]} s)"
        )
    return times


def flips_per_minute(
    labels: Sequence[Any] | np.ndarray, times: Sequence[float] | np.ndarray
) -> float:
    """Label switches per minute: :func:`count_flips` over the time span of ``times``.

    The span is ``times[-1] - times[0]`` (all samples, missing labels
    included); it must be positive.

    Parameters
    ----------
    labels : sequence or ndarray
        Labels per sample (``None`` or NaN: missing).
    times : sequence of float
        Sample times in seconds, increasing, as long as ``labels``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``times`` is not as long as ``labels``, not finite or not
        increasing, or has fewer than 2 samples.

    See Also
    --------
    fersk.video.count_flips : The number of switches.
    fersk.video.label_lag : How far a smoothed label's switches lag the raw ones.

    Examples
    --------
    >>> flips_per_minute([0, 1, 1, 0], [0.0, 10.0, 20.0, 30.0])  # 2 flips in half a minute
    4.0
    """
    labels = _as_labels(labels)
    times = _check_times(labels, times, "flips_per_minute")
    if len(times) < 2:
        raise ValueError("flips_per_minute: needs at least 2 samples to span a duration")
    return 60.0 * count_flips(labels) / float(times[-1] - times[0])


def label_lag(
    raw_labels: Sequence[Any] | np.ndarray,
    smoothed_labels: Sequence[Any] | np.ndarray,
    times: Sequence[float] | np.ndarray,
) -> float:
    """Mean delay in seconds of the smoothed label's switches behind the raw label's.

    Switches are as in :func:`count_flips`. A smoothed switch into label ``b``
    at sample ``j`` *matches* the raw switch into the same ``b`` at the
    latest sample ``i <= j`` -- provided ``i`` is not before the smoothed
    sequence's previous switch (or start); its delay is ``times[j] -
    times[i]``. A smoothed switch without such a raw switch (a spurious one,
    or one that the raw labels made long before, since when the smoothed label
    has switched to something else) is left out, and so is a raw switch that
    no smoothed switch follows. Each raw switch matches at most once.

    With noisy raw labels the latest raw switch into ``b`` may be a flicker
    just before the smoothed switch; pass the clean (ground-truth or
    noise-free) label sequence as ``raw_labels`` to measure the lag behind the
    actual change.

    Parameters
    ----------
    raw_labels, smoothed_labels : sequence
        Labels per sample (``None`` or NaN: missing), equally long.
    times : sequence of float
        Increasing sample times in seconds.

    Returns
    -------
    float
        Mean delay over the matched switches; NaN when none matches.

    Raises
    ------
    ValueError
        If the label sequences differ in length, or ``times`` is not as long
        as them, not finite or not increasing.

    See Also
    --------
    fersk.video.step_lag : The expected lag of a smoother, in closed form.
    fersk.video.count_flips : The number of switches.
    fersk.video.ProbabilitySmoother : The smoother whose labels this measures.

    Examples
    --------
    >>> raw = [0, 1, 1, 1, 0, 0, 0]
    >>> smooth = [0, 0, 1, 1, 1, 1, 0]
    >>> label_lag(raw, smooth, [0, 1, 2, 3, 4, 5, 6])  # seconds: (1 + 2) / 2
    1.5
    """
    raw, smooth = _as_labels(raw_labels), _as_labels(smoothed_labels)
    if len(raw) != len(smooth):
        raise ValueError(
            f"label_lag: raw_labels ({len(raw)}) and smoothed_labels ({len(smooth)}) "
            "must be equally long"
        )
    times = _check_times(raw, times, "label_lag")
    raw_switches = _switches(raw)
    delays = []
    since = 0  # the smoothed sequence's previous switch (or its start)
    for j, label in _switches(smooth):
        candidates = [i for i, new in raw_switches if new == label and since <= i <= j]
        if candidates:
            delays.append(times[j] - times[candidates[-1]])
        since = j
    return float(np.mean(delays)) if delays else float("nan")
