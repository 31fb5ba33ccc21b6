"""MotionDelta: landmark sequences of clips to short-term facial motion features.

An expression is a movement: the brows rise, the mouth corners pull back and
then relax. :class:`MotionDelta` reads each clip's landmarks over its frames,
removes the head's own motion, and summarises how far and how fast every
landmark moves away from a reference (resting) frame.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core._sklearn_compat import Interval, StrOptions, _check_feature_names_in, _fit_context
from .._core.layout import EYE_CORNERS, ClipLayout, eye_centres, landmark_feature_names, onset_mean

__all__ = ["MotionDelta", "SelectFrames", "normalize_landmarks"]

#: The feature kinds MotionDelta computes, and the statistics each one gives.
FEATURE_KINDS: tuple[str, ...] = ("displacement", "apex", "velocity")
_AXES = "xyz"


def _norm(vectors: np.ndarray) -> np.ndarray:
    """Euclidean length along the last axis."""
    return np.sqrt(np.einsum("...k,...k->...", vectors, vectors))


def _window_starts(n_frames: int, n_windows: int) -> np.ndarray:
    """First frame of each of ``n_windows`` contiguous near-equal windows.

    Like :func:`numpy.array_split`: the first ``n_frames % n_windows`` windows
    hold one frame more than the others.
    """
    sizes = np.full(n_windows, n_frames // n_windows)
    sizes[: n_frames % n_windows] += 1
    return np.concatenate([[0], np.cumsum(sizes)[:-1]])


def normalize_landmarks(
    P: np.ndarray, valid: np.ndarray | None = None, mode: str | None = "similarity"
) -> tuple[np.ndarray, np.ndarray]:
    """Remove head motion from landmark sequences ``(n, T, L, 2)``, as MotionDelta does.

    ``"similarity"``: per frame, the eye midpoint moves to the origin, the eye
    line becomes horizontal and lengths are divided by the inter-ocular
    distance. ``"translation"``: per frame minus the eye midpoint, divided by
    the clip's median inter-ocular distance. ``None``: unchanged.

    Parameters
    ----------
    P : ndarray of shape (n_clips, n_frames, n_landmarks, 2)
        68- or 5-point landmarks (any L with ``mode=None``).
    valid : ndarray of bool, shape (n_clips, n_frames), optional
        Frames to use; default: frames whose values are all finite.
    mode : {"similarity", "translation"} or None

    Returns
    -------
    P_norm : ndarray like ``P``
    valid : ndarray of bool
        ``valid`` minus frames whose eyes coincide (no scale).

    Examples
    --------
    >>> import numpy as np
    >>> P = np.zeros((1, 1, 5, 2)); P[0, 0, :4, 0] = [10, 8, 0, 2]  # eyes 8 px apart
    >>> out, ok = normalize_landmarks(P)
    >>> out[0, 0, :4, 0].tolist(), bool(ok[0, 0])
    ([0.625, 0.375, -0.625, -0.375], True)
    """
    if valid is None:
        valid = np.isfinite(P).all(axis=(2, 3))
    if mode is None:
        return P, valid
    n, T, L, _ = P.shape
    right, left = (c.reshape(n, T, 2) for c in eye_centres(P.reshape(n * T, L, 2)))
    centred = P - ((right + left) / 2)[:, :, None, :]
    eye = left - right
    iod_sq = (eye**2).sum(axis=-1)  # (n, T)
    with np.errstate(invalid="ignore", divide="ignore"):
        if mode == "similarity":
            valid = valid & (iod_sq > 0)
            # Rotate by minus the eye-line angle and divide by |eye| in one step:
            # x' = (e . p) / |e|^2, y' = (e_perp . p) / |e|^2 with e_perp = (-e_y, e_x).
            ex = (eye[..., 0] / iod_sq)[:, :, None]
            ey = (eye[..., 1] / iod_sq)[:, :, None]
            x, y = centred[..., 0], centred[..., 1]
            out = np.stack([ex * x + ey * y, ex * y - ey * x], axis=-1)
        else:
            iod = np.sqrt(np.where(valid, iod_sq, np.nan))
            all_nan = ~valid.any(axis=1)
            scale = np.full(n, np.nan)
            scale[~all_nan] = np.nanmedian(iod[~all_nan], axis=1)
            valid = valid & (scale > 0)[:, None]
            out = centred / scale[:, None, None, None]
    return out, valid


class MotionDelta(TransformerMixin, BaseEstimator):
    """Short-term facial motion features from landmark sequences of clips.

    Each row of ``X`` is one clip: its landmarks over ``T`` frames in the
    frame-major layout -- frame 0's ``x0, y0, x1, y1, ...`` (``n_dims * L``
    values), then frame 1's, and so on -- so ``X`` has ``T * n_dims * L``
    columns and ``T`` is read from the width at ``fit``. A frame is *valid*
    when all its values are finite; a NaN frame (no face found) is skipped,
    and every statistic runs over the valid frames only, so one lost frame
    never spoils a clip. Rows are never dropped or reordered.

    With ``p_t,i`` the (normalised) position of landmark ``i`` in valid frame
    ``t`` and ``ref_i`` its reference position, ``D_t,i = p_t,i - ref_i``:

    - ``"displacement"``: ``disp_mean_i = mean_t ||D_t,i||`` and
      ``disp_max_i = max_t ||D_t,i||``.
    - ``"apex"``: the apex frame is the valid frame with the largest
      ``mean_i ||D_t,i||`` (the earliest one on a tie); ``apex_dx_i``,
      ``apex_dy_i`` (and ``apex_dz_i`` when ``n_dims=3``; only ``apex_dx_i``
      when ``n_dims=1``) are the signed components of ``D`` there.
    - ``"velocity"``: for each pair of consecutive valid frames ``t < t'``
      (invalid frames in between are skipped),
      ``v_i = (p_t',i - p_t,i) / (t' - t)``, in units per frame;
      ``speed_mean_i``, ``speed_max_i`` and ``speed_std_i`` (population
      standard deviation, ``ddof=0``) of ``||v_i||`` over the pairs.
    - ``windows=w``: the ``T`` frames are split into ``w`` contiguous windows
      of near-equal length (the first ``T % w`` windows have one frame more);
      ``w{k}_dx_i``, ``w{k}_dy_i``, ... are the mean signed ``D_t,i`` over
      window ``k``'s valid frames (NaN for a window without one).

    A clip without a valid frame gives a NaN row. A clip with exactly one valid
    frame (including every clip when ``T == 1``) has displacement and apex
    features 0 and velocity features NaN.

    Output columns: the feature kinds in the order of ``features``, then the
    windows. Within a kind: ``disp_mean_*`` for every landmark, then
    ``disp_max_*``; ``speed_mean_*``, ``speed_max_*``, ``speed_std_*`` likewise;
    apex and window columns run landmark by landmark with the axes
    interleaved like the input (``apex_dx_0, apex_dy_0, apex_dx_1, ...``;
    ``w0_dx_0, w0_dy_0, ..., w1_dx_0, ...``).

    Parameters
    ----------
    n_landmarks : int or None, default=None
        Landmarks per frame, ``L``. None reads it from the input: the column
        names of a DataFrame (``t0_x0, ...``), else the width (68 or 5 points,
        see :meth:`fersk._core.layout.ClipLayout.infer`), so
        ``ClipLandmarkExtractor(LandmarkExtractor(5))`` followed by
        ``MotionDelta()`` needs no sizes repeated.
    n_dims : int, default=2
        Coordinates per landmark (1 to 3).
    normalize : {"similarity", "translation"} or None, default="similarity"
        How each frame is put in a head-centred frame of reference, using the
        eye centres (each the mean of its two corners, as in
        :data:`fersk.landmarks.EYE_CORNERS`, so the 68- and 5-point layouts
        agree); both need ``n_dims=2`` and ``L`` in (5, 68):

        - ``"similarity"``: per frame, move the midpoint of the eye centres
          to the origin, rotate so that the line from the right to the left
          eye centre points along +x, and divide by that frame's inter-ocular
          distance. Head translation, in-plane rotation and scale (zoom) are
          removed; units are inter-ocular distances. A frame whose eye centres
          coincide is invalid.
        - ``"translation"``: per frame, subtract the eye midpoint, and divide
          by the clip's median inter-ocular distance over its valid frames
          (no rotation; a clip whose median is 0 gives a NaN row).
        - ``None``: raw coordinates, any ``L`` and ``n_dims``.
    reference : {"onset", "least_moving", "median"}, default="onset"
        The resting position ``ref`` the displacements are measured from:
        the mean of the first ``onset_frames`` valid frames (all of them if
        the clip has fewer); the valid frame with the smallest mean landmark
        speed, its speed being the mean of its ``mean_i ||v_i||`` to the
        previous and to the next valid frame (whichever exist; the earliest
        frame on a tie); or the per-coordinate median over the valid frames.
    onset_frames : int, default=1
        Valid frames averaged into the ``"onset"`` reference.
    features : tuple of str, default=("displacement", "apex", "velocity")
        Which feature kinds to compute, in output order; a subset of
        ``"displacement"``, ``"apex"``, ``"velocity"`` (may be empty when
        ``windows`` is set).
    windows : int or None, default=None
        Number of windows for the per-window mean displacement features;
        ``None`` for none. At most ``T``.

    Attributes
    ----------
    n_features_in_ : int
        ``T * n_dims * L``.
    n_frames_ : int
        ``T``, the frames per clip.
    layout_ : fersk._core.layout.ClipLayout
        The clip layout read at ``fit``: frames, landmarks, coordinates.
    feature_names_in_ : ndarray of str
        Input column names, when ``X`` was a DataFrame with string column
        names.

    See Also
    --------
    fersk.ClipLandmarkExtractor : Clips to the landmark rows this transformer takes.
    fersk.SelectFrames : Some frames' landmarks of the same rows.
    fersk.features.temporal.normalize_landmarks : The head-motion removal on its own.
    fersk._core.layout.ClipLayout : The frame-major clip layout.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.features.temporal import MotionDelta
    >>> # Five points: left eye corners (10, 0), (8, 0); right eye (0, 0), (2, 0); nose (5, 5).
    >>> rest = np.array([10, 0, 8, 0, 0, 0, 2, 0, 5, 5], dtype=float)
    >>> moved = rest.copy(); moved[9] += 4  # the nose drops 4 px = half an eye distance
    >>> clip = np.concatenate([rest, moved, np.full(10, np.nan)])  # 3 frames, the last lost
    >>> md = MotionDelta(n_landmarks=5, features=("displacement", "velocity")).fit([clip])
    >>> md.n_frames_
    3
    >>> out = md.transform([clip])
    >>> out.shape == (1, len(md.get_feature_names_out()))
    True
    >>> names = md.get_feature_names_out().tolist()
    >>> names[4], float(out[0, 4]), names[9], float(out[0, 9])
    ('disp_mean_4', 0.25, 'disp_max_4', 0.5)
    >>> float(out[0, names.index("speed_max_4")])  # 0.5 over one frame step
    0.5
    """

    _parameter_constraints: dict = {
        "n_landmarks": [None, Interval(Integral, 1, None, closed="left")],
        "n_dims": [Interval(Integral, 1, 3, closed="both")],
        "normalize": [None, StrOptions({"similarity", "translation"})],
        "reference": [StrOptions({"onset", "least_moving", "median"})],
        "onset_frames": [Interval(Integral, 1, None, closed="left")],
        "features": [tuple, list],
        "windows": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_landmarks: int | None = None,
        *,
        n_dims: int = 2,
        normalize: str | None = "similarity",
        reference: str = "onset",
        onset_frames: int = 1,
        features: tuple[str, ...] = ("displacement", "apex", "velocity"),
        windows: int | None = None,
    ) -> None:
        self.n_landmarks = n_landmarks
        self.n_dims = n_dims
        self.normalize = normalize
        self.reference = reference
        self.onset_frames = onset_frames
        self.features = features
        self.windows = windows

    # ------------------------------------------------------------------ checks
    def _check_settings(self) -> tuple[str, ...]:
        """Check what the parameter constraints cannot; return the feature kinds."""
        kinds = tuple(self.features)
        unknown = [k for k in kinds if not isinstance(k, str) or k not in FEATURE_KINDS]
        if unknown:
            raise ValueError(
                f"MotionDelta: unknown features {unknown!r}; choose from {list(FEATURE_KINDS)}"
            )
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"MotionDelta: features has repeated entries: {list(kinds)!r}")
        if not kinds and self.windows is None:
            raise ValueError("MotionDelta: features is empty and windows is None: nothing to do")
        if self.normalize is not None and self.n_dims != 2:
            raise ValueError(
                f"normalize={self.normalize!r} needs 2-D landmarks (n_dims=2), got "
                f"n_dims={self.n_dims}. Use normalize=None for other landmarks."
            )
        return kinds

    def _check_layout(self, layout: ClipLayout) -> None:
        if self.normalize is not None and layout.n_landmarks not in EYE_CORNERS:
            raise ValueError(
                f"normalize={self.normalize!r} needs the eyes of the 68- or 5-point layout; "
                f"got {layout.n_landmarks} landmarks per frame. Use normalize=None for other "
                "layouts."
            )

    def _check_finite_or_nan(self, X: np.ndarray) -> None:
        infinite = np.isinf(X)
        if infinite.any():
            row, col = np.argwhere(infinite)[0]
            frame = col // self.layout_.per_frame
            raise ValueError(
                f"MotionDelta: sample {row} has an infinite coordinate in frame {frame} (column "
                f"{col}), {int(infinite.any(axis=1).sum())} sample(s) in all. Mark a frame "
                "without a face with NaN."
            )

    # --------------------------------------------------------------- sklearn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and learn the clip length from the width of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_clips, T * n_dims * n_landmarks)
            Landmark sequences in the frame-major layout; NaN frames allowed.
        y : ignored

        Returns
        -------
        self
        """
        kinds = self._check_settings()
        X = validate_data(self, X, ensure_all_finite=False, dtype=np.float64)
        try:
            layout = ClipLayout.infer(
                n_features=self.n_features_in_,
                feature_names=getattr(self, "feature_names_in_", None),
                n_landmarks=self.n_landmarks,
                n_dims=self.n_dims,
            )
        except ValueError as exc:
            raise ValueError(
                f"MotionDelta expects clip rows, T frames of {self.n_dims}-D landmarks "
                f"(frame-major: frame 0's x0, y0, x1, y1, ..., then frame 1's): {exc}"
            ) from None
        self._check_layout(layout)
        n_frames = layout.n_frames
        if self.windows is not None and self.windows > n_frames:
            raise ValueError(
                f"MotionDelta: windows={self.windows} needs at least {self.windows} frames per "
                f"clip; X has {n_frames}"
            )
        self.layout_ = layout
        self._check_finite_or_nan(X)
        self.n_frames_ = n_frames
        self._kinds = kinds
        return self

    def transform(self, X) -> np.ndarray:
        """Return the motion features of each clip.

        Parameters
        ----------
        X : array-like of shape (n_clips, T * n_dims * n_landmarks)
            Landmark sequences with the width seen in ``fit``.

        Returns
        -------
        ndarray of float64, shape (n_clips, n_features_out)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite=False, dtype=np.float64)
        self._check_finite_or_nan(X)
        return self._motion(self.layout_.to_sequences(X))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the output column names (see the class docstring for the order).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        landmarks = range(self.layout_.n_landmarks)
        axes = _AXES[: self.n_dims]
        names: list[str] = []
        for kind in self._kinds:
            if kind == "displacement":
                names += [f"disp_{s}_{i}" for s in ("mean", "max") for i in landmarks]
            elif kind == "apex":
                names += [f"apex_d{a}_{i}" for i in landmarks for a in axes]
            else:
                names += [f"speed_{s}_{i}" for s in ("mean", "max", "std") for i in landmarks]
        for k in range(self.windows or 0):
            names += [f"w{k}_d{a}_{i}" for i in landmarks for a in axes]
        return np.array(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -------------------------------------------------------------- computation
    def _normalized(self, P: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Head-normalised positions ``(n, T, L, d)`` and the updated valid mask."""
        return normalize_landmarks(P, valid, self.normalize)

    def _motion(self, P: np.ndarray) -> np.ndarray:
        n, T, L, d = P.shape
        valid = np.isfinite(P).all(axis=(2, 3))  # (n, T)
        P, valid = self._normalized(P, valid)
        P = np.where(valid[:, :, None, None], P, 0.0)  # invalid frames: zeros, masked below
        frames = np.arange(T)
        n_valid = valid.sum(axis=1)
        rows = np.arange(n)

        # Consecutive valid frames: for frame t, the next valid frame after it and the
        # previous valid frame before it (T / -1 where there is none).
        at_or_after = np.minimum.accumulate(np.where(valid, frames, T)[:, ::-1], axis=1)[:, ::-1]
        nxt = np.concatenate([at_or_after[:, 1:], np.full((n, 1), T)], axis=1)
        at_or_before = np.maximum.accumulate(np.where(valid, frames, -1), axis=1)
        prev = np.concatenate([np.full((n, 1), -1), at_or_before[:, :-1]], axis=1)
        pair = valid & (nxt < T)  # a velocity sample starts at frame t
        nxt_safe = np.minimum(nxt, T - 1)
        P_next = P[rows[:, None], nxt_safe]
        step = np.where(pair, nxt - frames, 1)[:, :, None]
        speed = np.where(pair[:, :, None], _norm(P_next - P) / step, 0.0)
        n_pairs = pair.sum(axis=1)

        ref = self._reference(P, valid, n_valid, speed, pair, prev)
        D = np.where(valid[:, :, None, None], P - ref[:, None], 0.0)  # (n, T, L, d)
        dist = _norm(D)  # (n, T, L)

        blocks: list[np.ndarray] = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for kind in self._kinds:
                if kind == "displacement":
                    mean = dist.sum(axis=1) / n_valid[:, None]
                    peak = np.where(valid[:, :, None], dist, -np.inf).max(axis=1)
                    blocks += [mean, peak]
                elif kind == "apex":
                    score = np.where(valid, dist.mean(axis=2), -np.inf)
                    apex = score.argmax(axis=1)
                    blocks.append(D[rows, apex].reshape(n, L * d))
                else:
                    mean = speed.sum(axis=1) / n_pairs[:, None]
                    peak = np.where(pair[:, :, None], speed, -np.inf).max(axis=1)
                    dev = np.where(pair[:, :, None], speed - mean[:, None], 0.0)
                    std = np.sqrt((dev**2).sum(axis=1) / n_pairs[:, None])
                    for block in (mean, peak, std):
                        block[n_pairs == 0] = np.nan
                    blocks += [mean, peak, std]
            if self.windows is not None:
                starts = _window_starts(T, self.windows)
                sums = np.add.reduceat(D, starts, axis=1)  # (n, w, L, d)
                counts = np.add.reduceat(valid.astype(float), starts, axis=1)
                blocks.append((sums / counts[:, :, None, None]).reshape(n, -1))
        out = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
        out[n_valid == 0] = np.nan
        return out

    def _reference(self, P, valid, n_valid, speed, pair, prev) -> np.ndarray:
        """Each clip's reference landmark positions ``(n, L, d)``."""
        n, T = valid.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.reference == "onset":
                return onset_mean(P, valid, self.onset_frames)
            if self.reference == "median":
                masked = np.where(valid[:, :, None, None], P, np.nan)
                ref = np.full(P.shape[:1] + P.shape[2:], np.nan)
                some = n_valid > 0
                ref[some] = np.nanmedian(masked[some], axis=1)
                return ref
            # least_moving: mean landmark speed of each valid frame to its neighbours.
            forward = np.where(pair, speed.mean(axis=2), np.nan)  # frame t to its next
            backward = np.where(
                valid & (prev >= 0),
                np.take_along_axis(forward, np.maximum(prev, 0), axis=1),
                np.nan,
            )
            both = np.stack([forward, backward])
            count = np.isfinite(both).sum(axis=0)
            frame_speed = np.where(count > 0, np.nansum(both, axis=0) / count, 0.0)
            frame_speed = np.where(valid, frame_speed, np.inf)
            still = frame_speed.argmin(axis=1)
            return P[np.arange(n), still]


class SelectFrames(TransformerMixin, BaseEstimator):
    """Keep some frames of clip landmark rows: a clip model's single-frame branch.

    The clip layout (frames x landmarks x coordinates) is read at ``fit`` from
    the input, like :class:`MotionDelta` (column names, or the width: see
    :meth:`fersk._core.layout.ClipLayout.infer`), so a clip pipeline names its
    landmark count once, at the extractor.

    Parameters
    ----------
    frames : sequence of int, default=(-1,)
        Frame positions to keep; negative positions count from the end (the
        apex of an onset-to-apex clip is the last frame).
    n_landmarks : int or None, default=None
        Landmarks per frame; None reads it from the input.

    Attributes
    ----------
    layout_ : fersk._core.layout.ClipLayout
        The input's layout.

    See Also
    --------
    fersk.MotionDelta : Motion features over all the frames.
    fersk.ClipLandmarkExtractor : Clips to the landmark rows this transformer takes.
    fersk._core.layout.select_frames : The same selection as a function.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(30.0).reshape(1, 30)  # 3 frames of dlib's 5 points
    >>> SelectFrames([-1]).fit_transform(X)[0, :4].tolist()
    [20.0, 21.0, 22.0, 23.0]
    >>> SelectFrames([0]).fit(X).get_feature_names_out()[:2].tolist()
    ['x0', 'y0']
    """

    _parameter_constraints: dict = {
        "frames": ["array-like"],
        "n_landmarks": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, frames=(-1,), n_landmarks: int | None = None) -> None:
        self.frames = frames
        self.n_landmarks = n_landmarks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Read the clip layout from ``X`` and check the frame positions.

        Parameters
        ----------
        X : array-like of shape (n_clips, T * 2 * L)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        self.layout_ = ClipLayout.infer(
            n_features=self.n_features_in_,
            feature_names=getattr(self, "feature_names_in_", None),
            n_landmarks=self.n_landmarks,
        )
        self.layout_.select_frames(X[:1], self.frames)  # checks the positions now
        return self

    def transform(self, X) -> np.ndarray:
        """The selected frames' columns, frame after frame.

        Parameters
        ----------
        X : array-like of shape (n_clips, T * 2 * L)

        Returns
        -------
        ndarray of shape (n_clips, len(frames) * 2 * L)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self.layout_.select_frames(X, self.frames)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``x0, y0, ...`` for one frame; ``t0_x0, ...`` (renumbered) for several."""
        check_is_fitted(self)
        n = len(np.asarray(self.frames).ravel())
        layout = self.layout_.frame_layout(n)
        names = layout.feature_names()
        return landmark_feature_names(layout.n_landmarks) if n == 1 else names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
