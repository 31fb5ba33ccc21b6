"""Landmark motion energy and an adaptive, hysteretic "expressive motion" flag.

In the video stream mode every tracked face (track id) delivers, frame by
frame, its landmarks ``(L, 2)`` (iBUG 68-point or dlib 5-point layout), or
nothing when the face was not found. :class:`MotionDetector` turns them into
a per-frame *motion energy* -- how fast the face's landmarks move relative to
the head -- and a ``moving`` flag that marks expressive motion segments, with
a threshold that adapts to each track's own landmark jitter.

Everything is plain numpy, per track, O(1) in the length of the stream (the
work per update is bounded by the number of frames in ``window_s`` seconds),
and the detector pickles with its tracks' state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from .._core._sklearn_compat import Interval
from .._core.layout import REGIONS_68
from ..features.temporal import normalize_landmarks
from .source import check_frame_time

__all__ = ["MotionDetector", "MotionState", "default_motion_detector"]

#: Still-frame energies needed in the window before a threshold is computed.
MIN_HISTORY: int = 5

#: 1.4826 * MAD estimates the standard deviation of normally distributed data.
_MAD_TO_SIGMA: float = 1.4826


def _residual_step(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Displacements ``(K, 2)`` left after the least-squares similarity ``previous -> current``.

    With complex points ``z`` (previous) and ``w`` (current), centred on their
    means, the fit ``w ~ a z`` (``a``: rotation and scale) gives ``a = <z, w> /
    <z, z>`` and the residual ``w - a z``; for a fixed previous frame it is
    linear in the displacements ``w - z``.
    """
    z = previous[:, 0] + 1j * previous[:, 1]
    w = current[:, 0] + 1j * current[:, 1]
    z = z - z.mean()
    w = w - w.mean()
    zz = float(np.vdot(z, z).real)
    residual = w - (np.vdot(z, w) / zz) * z if zz > 0 else w - z
    return np.stack([residual.real, residual.imag], axis=1)


@dataclass(frozen=True)
class MotionState:
    """The motion detector's output for one frame of one track.

    Attributes
    ----------
    energy : float
        Landmark motion energy at this frame, in inter-ocular distances per
        second (NaN when it cannot be computed: no landmarks, the track's
        first frame, the first frame after a long gap).
    threshold : float
        The adaptive threshold the energy was compared with (``inf`` during
        the warm-up, before the track has a still-frame history).
    moving : bool
        Whether the track is inside an expressive motion segment.
    """

    energy: float
    threshold: float
    moving: bool


@dataclass
class _Track:
    """Per-track state of :class:`MotionDetector`."""

    last_t: float  # time of the last update, with or without landmarks
    n_landmarks: int | None = None  # layout of the track's landmarks, fixed at first sight
    prev_points: np.ndarray | None = None  # normalised points of the last valid frame
    prev_t: float = np.nan  # time of the last valid frame
    recent: deque = field(default_factory=deque)  # (t, points) of valid frames within lag_s
    history: deque = field(default_factory=deque)  # (t, energy) of recent still frames
    baseline: float = 0.0  # median still energy behind the current threshold
    threshold: float = np.inf
    moving: bool = False
    still_since: float | None = None  # start of the current run below the release level


class MotionDetector(BaseEstimator):
    """Per-track landmark motion energy with an adaptive threshold and hysteresis.

    **Energy.** Each frame's landmarks are put in a head-centred frame of
    reference exactly as :class:`fersk.features.temporal.MotionDelta` does (through
    :func:`fersk.features.temporal.normalize_landmarks` with ``mode="similarity"``):
    the eye midpoint moves to the origin, the eye line becomes horizontal and
    lengths are divided by the inter-ocular distance, so head translation,
    in-plane rotation and zoom give (close to) zero energy. With ``q_i`` these
    normalised points (the landmarks outside the ``exclude``-d regions) and
    ``t_prev`` the track's previous frame with landmarks,

    ``energy_t = mean_i ||q_i(t) - q_i(t_prev)|| / (t - t_prev)``

    in inter-ocular distances per second, with ``align=False``. With
    ``align=True`` (default) ``q(t_prev)`` is first mapped onto ``q(t)`` by the
    least-squares similarity transform (shift, rotation, scale) over those
    points, and the energy is the mean remaining displacement per second.
    That removes what the 4 eye corners' jitter does to the normalisation (it
    turns and zooms the whole face by a little every frame): on a still face
    with white landmark jitter it cuts the spread of the energy to about a
    third and makes its distribution close to normal, which the median/MAD threshold below
    assumes; a mouth opening (8 lower-lip points moving) gives ~1.7x the
    energy of ``align=False``. Both are linear in the displacements for a
    given previous frame, so the same motion per second gives the same
    energy at any frame rate, constant or variable (``align=False``: exactly;
    ``align=True``: up to the change of the previous frame's shape). Landmark
    *jitter*, not a motion, does grow with the frame rate; the adaptive
    threshold follows it. The 5-point layout has no regions: all 5 points are
    always used.

    **Threshold.** From the energies of the *still* frames of the last
    ``window_s`` seconds -- a still frame is one whose energy did not exceed
    the threshold in force at that frame -- with ``b`` their median and
    ``MAD`` their median absolute deviation from ``b``:

    ``threshold = max(min_threshold, b + k * 1.4826 * MAD)``.

    (Frames held ``moving`` by the hysteresis but under the threshold count as
    still: leaving them out lets a threshold that came out too low lock the
    flag on, since no still frame would arrive to correct it.) Conservative
    start: until the window holds at least :data:`MIN_HISTORY` (5) still
    energies spanning ``window_s / 2`` seconds, the threshold is ``inf`` and
    nothing is flagged (the first second of a track at the defaults). When
    the window later runs short of still energies (a long motion, a long
    gap), the last threshold is kept.

    **Hysteresis.** ``moving`` turns on at a frame whose energy exceeds the
    threshold. It turns off only once the energy has stayed below the
    *release level* for ``min_still_s`` seconds (measured from the first
    frame of the run below it; the frame that completes the run is already
    not moving), where

    ``release = b + release_ratio * (threshold - b)``.

    With a jitter-free track (``b = 0``) this is ``release_ratio *
    threshold``. The ratio is taken from the still baseline ``b`` rather than
    from 0 because jitter gives still frames an energy well above 0 (a mean of
    positive speeds): ``b`` is typically above ``0.6 * threshold``, and a
    release level of ``release_ratio * threshold`` would never be reached.

    **Missing landmarks.** ``None``, or landmarks with a non-finite value (or
    whose eye centres coincide), give ``energy = NaN`` and leave the track's
    state as it was, except for the time: they neither start nor end a motion
    segment nor break a still run. The next frame's energy is measured from
    the last frame with landmarks, over the whole gap; a gap longer than
    ``window_s`` seconds forgets that frame instead (the next energy is NaN),
    so no velocity is made up across it.

    Parameters
    ----------
    window_s : float, default=2.0
        Length in seconds of the still-energy history, and the longest gap
        bridged by a velocity.
    k : float, default=4.0
        Threshold in robust standard deviations (1.4826 MAD) above the median
        still energy. On white landmark jitter at 30 frames per second, ``k =
        3`` flags 7 to 10% of the frames of a still face (~8 onsets a minute:
        the threshold is estimated from ~60 frames, and each onset holds for at
        least ``min_still_s``), ``k = 4`` under 1%.
    min_threshold : float, default=0.002
        Floor of the threshold, in inter-ocular distances per second (keeps a
        jitter-free stream from flagging rounding noise).
    release_ratio : float, default=0.6
        Where the release level sits between the still median (0) and the
        threshold (1); in ``(0, 1]``.
    min_still_s : float, default=0.3
        Seconds the energy must stay below the release level to end a segment.
    exclude : iterable of str, default=("jaw",)
        Regions of :data:`fersk._core.layout.REGIONS_68` left out of the
        68-point energy. The jaw contour is the least stable part of a landmark
        fit and moves with speech and head turns; a single string names one
        region.
    align : bool, default=True
        Remove the best-fitting similarity transform between consecutive
        frames before measuring (see *Energy*).
    lag_s : float, default=0.0
        Measure each frame against the latest earlier frame at least
        ``lag_s`` seconds old (0: the previous frame). Landmark jitter is
        independent from frame to frame, so its apparent speed falls as
        ``1 / lag`` while a smooth facial movement keeps its speed: a lag of
        ~0.2 s raises the contrast of real motion over jitter several-fold
        on real detector landmarks (the video stream uses 0.2).
    top : float, default=1.0
        Average only this fraction of the fastest landmarks (1: all).
        Expressions move a few regions (mouth, brows) while jitter spreads over
        every point, so ``top=0.3`` favours real motion (the video stream's
        setting).

    Parameters are validated at the first :meth:`update` (scikit-learn's
    ``InvalidParameterError``, a ``ValueError``, naming the parameter).

    See Also
    --------
    fersk.MotionDelta : Motion features of whole clips, in the same head frame.
    fersk.features.temporal.normalize_landmarks : The head-centred normalisation.
    fersk.video.VideoAnalyzer : Flags each face's motion with this class.
    fersk.video.FaceTracker : The per-track landmarks it is fed.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.video.motion import MotionDetector
    >>> face = np.zeros((5, 2)); face[:4, 0] = [10, 8, 0, 2]; face[4] = (5, 5)
    >>> detector = MotionDetector(align=False)
    >>> for frame in range(15):  # a still face at 10 frames per second
    ...     state = detector.update(0, frame / 10, face)
    >>> state.moving, state.threshold
    (False, 0.002)
    >>> nose_down = face.copy(); nose_down[4, 1] += 2  # 0.25 eye distance in 0.1 s
    >>> state = detector.update(0, 1.5, nose_down)
    >>> round(state.energy, 6), state.moving  # 2.5 / s for the nose, / 5 points
    (0.5, True)
    """

    def __init__(
        self,
        *,
        window_s: float = 2.0,
        k: float = 4.0,
        min_threshold: float = 0.002,
        release_ratio: float = 0.6,
        min_still_s: float = 0.3,
        exclude: Iterable[str] | str = ("jaw",),
        align: bool = True,
        lag_s: float = 0.0,
        top: float = 1.0,
    ) -> None:
        self.window_s = window_s
        self.k = k
        self.min_threshold = min_threshold
        self.release_ratio = release_ratio
        self.min_still_s = min_still_s
        self.exclude = exclude
        self.align = align
        self.lag_s = lag_s
        self.top = top

    _parameter_constraints: dict = {
        "window_s": [Interval(Real, 0, None, closed="neither")],
        "k": [Interval(Real, 0, None, closed="left")],
        "min_threshold": [Interval(Real, 0, None, closed="left")],
        "release_ratio": [Interval(Real, 0, 1, closed="right")],
        "min_still_s": [Interval(Real, 0, None, closed="left")],
        "exclude": [str, list, tuple],
        "align": ["boolean"],
        "lag_s": [Interval(Real, 0, None, closed="left")],
        "top": [Interval(Real, 0, 1, closed="right")],
    }

    def _track_states(self) -> dict[Hashable, _Track]:
        """Per-track state, created (and the parameters validated) at first use."""
        if not hasattr(self, "tracks_"):
            self.keep_68_ = self._kept_landmarks()
            self.tracks_: dict[Hashable, _Track] = {}
        return self.tracks_

    def _kept_landmarks(self) -> np.ndarray:
        """Check the parameters; return the kept 68-point indices."""
        self._validate_params()
        names = [self.exclude] if isinstance(self.exclude, str) else list(self.exclude)
        unknown = [name for name in names if name not in REGIONS_68]
        if unknown:
            raise ValueError(
                f"MotionDetector: unknown region(s) {unknown} in exclude; "
                f"known regions: {sorted(REGIONS_68)}"
            )
        dropped = {i for name in names for i in REGIONS_68[name]}
        keep = np.array([i for i in range(68) if i not in dropped], dtype=np.intp)
        if keep.size == 0:
            raise ValueError("MotionDetector: exclude leaves no 68-point landmark to measure")
        return keep

    def update(self, track_id: Hashable, t: float, landmarks: np.ndarray | None) -> MotionState:
        """Take one frame of one track and return its motion state.

        Parameters
        ----------
        track_id : int
            The face track the frame belongs to (any hashable works). A new
            id starts a new track.
        t : float
            Frame time in seconds; must increase within a track (tracks are
            independent of each other).
        landmarks : ndarray of shape (L, 2) or (2 * L,), or None
            The face's landmarks in pixels, ``L`` = 68 or 5 (iBUG / dlib
            layouts; the flat form is ``x0, y0, x1, y1, ...``); ``None`` or
            non-finite values when the face was not found.

        Returns
        -------
        MotionState

        Raises
        ------
        ValueError
            When ``t`` is not a finite number or does not increase within the
            track, or the landmarks do not have a 68- or 5-point shape, or a
            track changes its number of landmarks.
        """
        track = self._track_states().get(track_id)
        t = check_frame_time("MotionDetector", track_id, t, None if track is None else track.last_t)
        points = None if landmarks is None else self._check_landmarks(track_id, t, landmarks)
        if track is None:
            track = self._track_states()[track_id] = _Track(last_t=t)
        if points is not None:
            if track.n_landmarks is None:
                track.n_landmarks = len(points)
            elif len(points) != track.n_landmarks:
                raise ValueError(
                    f"MotionDetector: track {track_id!r} at t={t!r} s: got {len(points)} "
                    f"landmarks, but the track's earlier frames had {track.n_landmarks}"
                )
        track.last_t = t

        normalised = None
        if points is not None and np.isfinite(points).all():
            out, valid = normalize_landmarks(points[None, None], mode="similarity")
            if valid[0, 0]:
                normalised = out[0, 0]
                if len(points) == 68:
                    normalised = normalised[self.keep_68_]
        if normalised is None:  # missing: nothing but the time changes
            return MotionState(energy=np.nan, threshold=track.threshold, moving=track.moving)

        previous, prev_t = track.prev_points, track.prev_t
        if self.lag_s > 0 and previous is not None and t - prev_t <= self.window_s:
            # Measure over ~lag_s: the latest kept frame at least lag_s old (else the oldest).
            recent = track.recent
            while len(recent) > 1 and t - recent[1][0] >= self.lag_s:
                recent.popleft()
            prev_t, previous = recent[0]
        track.prev_points, track.prev_t = normalised, t
        if previous is None or t - prev_t > self.window_s:
            track.recent.clear()
            track.recent.append((t, normalised))
            return MotionState(energy=np.nan, threshold=track.threshold, moving=track.moving)
        track.recent.append((t, normalised))
        step = _residual_step(previous, normalised) if self.align else normalised - previous
        speeds = np.sqrt((step**2).sum(axis=1))
        if self.top < 1:
            n_top = max(1, int(np.ceil(self.top * len(speeds))))
            speeds = np.partition(speeds, len(speeds) - n_top)[-n_top:]
        energy = float(speeds.mean() / (t - prev_t))
        self._refresh_threshold(track, t)
        if energy <= track.threshold:  # a still frame, whatever the hysteresis says
            track.history.append((t, energy))
        self._apply_hysteresis(track, t, energy)
        return MotionState(energy=energy, threshold=track.threshold, moving=track.moving)

    @staticmethod
    def _check_landmarks(track_id: Hashable, t: float, landmarks) -> np.ndarray:
        """Return the landmarks as a float ``(L, 2)`` array, or raise a clear error."""
        try:
            points = np.asarray(landmarks, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"MotionDetector: track {track_id!r} at t={t!r} s: landmarks are not numeric "
                f"({exc})"
            ) from None
        if points.ndim == 1 and points.size in (136, 10):
            points = points.reshape(-1, 2)
        if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] not in (68, 5):
            raise ValueError(
                f"MotionDetector: track {track_id!r} at t={t!r} s: landmarks must have shape "
                f"(68, 2) or (5, 2) (or be flat x0, y0, x1, ...), got shape {points.shape}"
            )
        return points

    def _refresh_threshold(self, track: _Track, t: float) -> None:
        """Drop still energies older than the window; recompute the threshold."""
        history = track.history
        while history and t - history[0][0] > self.window_s:
            history.popleft()
        if len(history) < MIN_HISTORY or history[-1][0] - history[0][0] < self.window_s / 2:
            return  # warm-up (inf) or a thin window: keep the last threshold
        energies = np.fromiter((e for _, e in history), dtype=float, count=len(history))
        baseline = float(np.median(energies))
        mad = float(np.median(np.abs(energies - baseline)))
        track.baseline = baseline
        track.threshold = max(float(self.min_threshold), baseline + self.k * _MAD_TO_SIGMA * mad)

    def _apply_hysteresis(self, track: _Track, t: float, energy: float) -> None:
        """Update the moving flag from this frame's energy."""
        if not track.moving:
            if energy > track.threshold:
                track.moving = True
                track.still_since = None
            return
        release = track.baseline + self.release_ratio * (track.threshold - track.baseline)
        if energy >= release:
            track.still_since = None
            return
        if track.still_since is None:
            track.still_since = t
        if t - track.still_since >= self.min_still_s:
            track.moving = False
            track.still_since = None

    def forget(self, track_id: Hashable) -> None:
        """Drop a track's state (a track that ended); unknown ids are ignored.

        Examples
        --------
        >>> import numpy as np
        >>> detector = MotionDetector()
        >>> _ = detector.update(7, 0.0, np.ones((5, 2)) * np.arange(5)[:, None])
        >>> detector.forget(7)
        >>> detector.update(7, 0.0, None).energy  # a new track 7 may start again at 0 s
        nan
        """
        self._track_states().pop(track_id, None)


def default_motion_detector() -> MotionDetector:
    """The stream's motion detector: energy over ~0.2 s, from the fastest 30% of landmarks.

    On dlib landmarks of real pixels, frame-to-frame jitter is as fast as the
    start of an expression; measuring over 0.2 s and over the landmarks that
    move most (an expression moves the mouth or brows, jitter moves every
    point a little) doubles the contrast (measured on the sample videos:
    median energy 0.09 still vs 0.21 during expression onsets at 15 fps).
    """
    return MotionDetector(lag_s=0.2, top=0.3)
