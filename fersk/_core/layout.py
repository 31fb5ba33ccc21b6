"""Layouts: which landmark index is which facial point, and how clip rows are laid out.

**Landmark layouts.** fersk uses the iBUG 300-W 68-point layout (dlib's and
FAN's) and dlib's 5-point layout. Indices are 0-based. "Right"/"left" are the
*person's*; in an unmirrored image the person's right eye is on the image's
left. A landmark matrix has columns ``x0, y0, x1, y1, ...``.

**The clip layout.** Per-frame landmarks of a clip are *one row* of a 2-D
matrix, frame-major: frame 0's ``x0, y0, x1, y1, ...``, then frame 1's, and so
on (columns ``t0_x0, t0_y0, ..., t15_y67``). :class:`ClipLayout` owns this
layout -- frames x landmarks x coordinates, its column names, its reshapes --
and every clip consumer (:class:`~fersk.MotionDelta`,
:class:`~fersk.features.temporal.SelectFrames`, :class:`~fersk.SubjectNeutralizer`'s
onset baseline) reads its sizes from one, inferred from the input's column
names or width (:meth:`ClipLayout.infer`) rather than from parameters
repeated at every step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from numbers import Integral

import numpy as np

__all__ = [
    "EYE_CORNERS",
    "FIVE_FROM_68",
    "REGIONS_68",
    "ClipLayout",
    "clip_feature_names",
    "eye_centres",
    "from_sequences",
    "interocular_distance",
    "landmark_feature_names",
    "onset_mean",
    "select_frames",
    "to_sequences",
]

_AXES = "xyz"
_CLIP_NAME = re.compile(r"^t(\d+)_([xyz])(\d+)$")

#: Named index ranges of the 68-point layout.
REGIONS_68: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "right_brow": tuple(range(17, 22)),
    "left_brow": tuple(range(22, 27)),
    "nose": tuple(range(27, 36)),
    "right_eye": tuple(range(36, 42)),
    "left_eye": tuple(range(42, 48)),
    "outer_lips": tuple(range(48, 60)),
    "inner_lips": tuple(range(60, 68)),
}

#: For each layout, the indices of (right eye corners, left eye corners).
#: The eye centre is the mean of its two corners in both layouts, so a
#: 5-point and a 68-point extractor give the same inter-ocular distance.
EYE_CORNERS: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {
    68: ((36, 39), (42, 45)),
    5: ((2, 3), (1, 0)),
}

#: dlib's 5-point layout expressed as 68-point indices: left eye outer and
#: inner corner, right eye outer and inner corner, base of the nose.
FIVE_FROM_68: tuple[int, ...] = (45, 42, 36, 39, 33)


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the right and left eye centres of landmarks ``(n, L, 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.zeros((1, 5, 2)); pts[0, :4, 0] = [10, 8, 0, 2]  # x of the eye corners
    >>> [float(c[0, 0]) for c in eye_centres(pts)]
    [1.0, 9.0]
    """
    n_landmarks = points.shape[1]
    if n_landmarks not in EYE_CORNERS:
        raise ValueError(
            f"eye positions are defined for 68- and 5-point layouts, got {n_landmarks} points"
        )
    right, left = EYE_CORNERS[n_landmarks]
    return points[:, list(right)].mean(axis=1), points[:, list(left)].mean(axis=1)


def interocular_distance(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres of landmarks ``(n, L, 2)``; shape ``(n,)``.

    Each eye centre is the mean of its two corners (:data:`EYE_CORNERS`), so
    the 68- and the 5-point layout give the same distance for one face.

    Parameters
    ----------
    points : ndarray of shape (n, L, 2)
        Landmarks of ``n`` faces in the 68-point (``L = 68``) or dlib's 5-point
        (``L = 5``) layout.

    Returns
    -------
    ndarray of shape (n,)
        In the units of ``points`` (pixels for an extractor's output).

    Raises
    ------
    ValueError
        If ``L`` is neither 68 nor 5.

    See Also
    --------
    fersk._core.layout.eye_centres : The two eye centres themselves.
    fersk.features.temporal.normalize_landmarks : Landmarks in inter-ocular units.
    fersk.PairwiseDistance : Landmark distances, scaled by this distance.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.zeros((1, 5, 2)); pts[0, :4, 0] = [10, 8, 0, 2]
    >>> interocular_distance(pts)
    array([8.])
    """
    right, left = eye_centres(points)
    return np.linalg.norm(left - right, axis=1)


def landmark_feature_names(n_landmarks: int) -> np.ndarray:
    """Column names ``x0, y0, x1, y1, ...`` of a landmark matrix.

    Parameters
    ----------
    n_landmarks : int
        Landmarks per image.

    Returns
    -------
    ndarray of str, shape (2 * n_landmarks,)
        An object array, as scikit-learn's ``get_feature_names_out`` returns.

    See Also
    --------
    fersk.LandmarkExtractor : Its output columns have these names.
    fersk._core.layout.clip_feature_names : The names of clip rows, ``t0_x0, t0_y0, ...``.

    Examples
    --------
    >>> landmark_feature_names(2).tolist()
    ['x0', 'y0', 'x1', 'y1']
    """
    return np.array([f"{axis}{i}" for i in range(n_landmarks) for axis in "xy"], dtype=object)


def _check_count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ClipLayout:
    """How clip landmark rows are laid out: ``n_frames`` x ``n_landmarks`` x ``n_dims``.

    A row holds frame 0's ``n_landmarks`` points (``x0, y0, x1, y1, ...``),
    then frame 1's, and so on: ``width = n_frames * n_landmarks * n_dims``
    columns named ``t{t}_x{i}``, ``t{t}_y{i}`` (and ``t{t}_z{i}``).

    Parameters
    ----------
    n_frames : int
        Frames per clip ``T``.
    n_landmarks : int
        Landmarks per frame ``L``.
    n_dims : int, default=2
        Coordinates per landmark (1 to 3).

    See Also
    --------
    fersk.ClipLandmarkExtractor : Gives clip rows in this layout.
    fersk.MotionDelta : Motion features of clip rows.
    fersk.SelectFrames : Keep some frames of clip rows in a pipeline.
    fersk._core.layout.landmark_feature_names : The columns of one image's landmarks.

    Examples
    --------
    >>> import numpy as np
    >>> layout = ClipLayout(n_frames=3, n_landmarks=2)
    >>> layout.width, layout.feature_names()[:3].tolist()
    (12, ['t0_x0', 't0_y0', 't0_x1'])
    >>> X = np.arange(12.0).reshape(1, 12)
    >>> layout.to_sequences(X)[0, 1].tolist()  # frame 1: two (x, y) points
    [[4.0, 5.0], [6.0, 7.0]]
    >>> layout.select_frames(X, [-1]).tolist()
    [[8.0, 9.0, 10.0, 11.0]]
    >>> ClipLayout.infer(n_features=160)  # 16 frames of dlib's 5 points
    ClipLayout(n_frames=16, n_landmarks=5, n_dims=2)
    """

    n_frames: int
    n_landmarks: int
    n_dims: int = 2

    def __post_init__(self) -> None:
        _check_count("n_frames", self.n_frames, 1)
        _check_count("n_landmarks", self.n_landmarks, 1)
        if _check_count("n_dims", self.n_dims, 1) > 3:
            raise ValueError(f"n_dims must be 1, 2 or 3, got {self.n_dims}")

    @property
    def per_frame(self) -> int:
        """Columns per frame, ``n_landmarks * n_dims``."""
        return self.n_landmarks * self.n_dims

    @property
    def width(self) -> int:
        """Columns per row, ``n_frames * n_landmarks * n_dims``."""
        return self.n_frames * self.per_frame

    def feature_names(self) -> np.ndarray:
        """Column names ``t0_x0, t0_y0, ..., t{T-1}_y{L-1}`` (object array)."""
        frame = [f"{a}{i}" for i in range(self.n_landmarks) for a in _AXES[: self.n_dims]]
        return np.array([f"t{t}_{name}" for t in range(self.n_frames) for name in frame], object)

    def check(self, X) -> np.ndarray:
        """``X`` as a 2-D array of this layout's width, or a ``ValueError`` saying what it is."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                f"expected a 2-D clip landmark matrix (n_clips, {self.width}), got an array of "
                f"shape {X.shape}"
            )
        if X.shape[1] != self.width:
            raise ValueError(
                f"X has {X.shape[1]} columns; a clip of {self.n_frames} frames of "
                f"{self.n_landmarks} landmarks in {self.n_dims}-D has {self.width}"
            )
        return X

    def to_sequences(self, X) -> np.ndarray:
        """``(n, T, L, n_dims)`` view of clip rows (a copy when ``X`` is not C-contiguous)."""
        X = self.check(X)
        return X.reshape(X.shape[0], self.n_frames, self.n_landmarks, self.n_dims)

    def frames(self, X) -> np.ndarray:
        """``(n, T, L * n_dims)`` view: each frame's values in one block."""
        X = self.check(X)
        return X.reshape(X.shape[0], self.n_frames, self.per_frame)

    def select_frames(self, X, frames) -> np.ndarray:
        """The columns of some frames (negative positions count from the end); a copy."""
        index = np.asarray(frames).ravel()
        if index.dtype.kind not in "iu":
            raise ValueError(f"frames must be integer positions, got {frames!r}")
        T = self.n_frames
        if index.size == 0 or np.any((index < -T) | (index >= T)):
            raise ValueError(f"frames {index.tolist()} out of range for clips of {T} frames")
        return self.frames(X)[:, index].reshape(len(np.asarray(X)), -1).copy()

    def frame_layout(self, n_frames: int) -> ClipLayout:
        """The same landmarks over another number of frames."""
        return ClipLayout(n_frames, self.n_landmarks, self.n_dims)

    @classmethod
    def from_feature_names(cls, names) -> ClipLayout | None:
        """The layout whose :meth:`feature_names` are ``names``, or None if they are not clip names.

        Examples
        --------
        >>> ClipLayout.from_feature_names(["t0_x0", "t0_y0", "t1_x0", "t1_y0"])
        ClipLayout(n_frames=2, n_landmarks=1, n_dims=2)
        >>> ClipLayout.from_feature_names(["a", "b"]) is None
        True
        """
        names = [str(n) for n in names]
        parsed = [_CLIP_NAME.match(n) for n in names]
        if not names or any(m is None for m in parsed):
            return None
        frames = 1 + max(int(m.group(1)) for m in parsed)
        landmarks = 1 + max(int(m.group(3)) for m in parsed)
        dims = len({m.group(2) for m in parsed})
        try:
            layout = cls(frames, landmarks, dims)
        except ValueError:
            return None
        return layout if list(layout.feature_names()) == names else None

    @classmethod
    def infer(
        cls,
        X=None,
        *,
        n_features: int | None = None,
        feature_names=None,
        n_frames: int | None = None,
        n_landmarks: int | None = None,
        n_dims: int = 2,
    ) -> ClipLayout:
        """The layout of clip rows, from what is known about them.

        In order: the column names, when they are clip names (a DataFrame from
        ``set_output(transform="pandas")``); the width with a given
        ``n_landmarks`` or ``n_frames``; the width alone, for the 68- and
        5-point layouts in 2-D -- the one that divides the width, and when
        both do (``T`` a multiple of 5 frames of 68 points), 68 points.

        Parameters
        ----------
        X : array-like or None
            The clip rows (their width and, for a DataFrame, column names).
        n_features, feature_names : optional
            Instead of ``X``.
        n_frames, n_landmarks : int or None
            Known sizes.
        n_dims : int, default=2

        Raises
        ------
        ValueError
            When no layout fits, naming the width.

        Examples
        --------
        >>> ClipLayout.infer(n_features=2176)
        ClipLayout(n_frames=16, n_landmarks=68, n_dims=2)
        >>> ClipLayout.infer(n_features=40, n_landmarks=2)
        ClipLayout(n_frames=10, n_landmarks=2, n_dims=2)
        """
        if X is not None:
            feature_names = getattr(X, "columns", feature_names)
            n_features = np.shape(X)[1] if np.ndim(X) == 2 else n_features
        if feature_names is not None:
            layout = cls.from_feature_names(feature_names)
            if layout is not None and (n_landmarks in (None, layout.n_landmarks)):
                return layout
            n_features = len(feature_names)
        if n_features is None:
            raise ValueError("ClipLayout.infer needs X, n_features or feature_names")
        width = int(n_features)
        if n_landmarks is not None:
            per_frame = int(n_landmarks) * n_dims
            if width == 0 or width % per_frame:
                raise ValueError(
                    f"X has {width} columns, not a multiple of {per_frame} (n_dims * n_landmarks "
                    f"= {n_dims} * {n_landmarks}): not clips of {n_landmarks} landmarks in "
                    f"{n_dims}-D per frame"
                )
            return cls(width // per_frame, int(n_landmarks), n_dims)
        if n_frames is not None:
            if width == 0 or width % (int(n_frames) * n_dims):
                raise ValueError(
                    f"X has {width} columns, not {n_frames} frames of {n_dims}-D landmarks"
                )
            return cls(int(n_frames), width // (int(n_frames) * n_dims), n_dims)
        for landmarks in (68, 5):
            if width and width % (landmarks * n_dims) == 0:
                return cls(width // (landmarks * n_dims), landmarks, n_dims)
        raise ValueError(
            f"X has {width} columns: not clips of 68 or 5 landmarks in {n_dims}-D per frame. "
            "Give n_landmarks, or pass a DataFrame with the clip column names t0_x0, t0_y0, ..."
        )


def clip_feature_names(n_frames: int, n_landmarks: int) -> np.ndarray:
    """Column names of a clip landmark matrix: ``t0_x0, t0_y0, ..., t{T-1}_y{L-1}``.

    Examples
    --------
    >>> clip_feature_names(2, 2).tolist()
    ['t0_x0', 't0_y0', 't0_x1', 't0_y1', 't1_x0', 't1_y0', 't1_x1', 't1_y1']
    """
    return ClipLayout(n_frames, n_landmarks).feature_names()


def to_sequences(X, n_landmarks: int, n_dims: int = 2) -> np.ndarray:
    """View a clip landmark matrix ``(n, T * n_dims * L)`` as ``(n, T, L, n_dims)``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(1, 12)  # 1 clip, 3 frames of 2 points
    >>> seq = to_sequences(X, n_landmarks=2)
    >>> seq.shape, seq[0, 1].tolist()
    ((1, 3, 2, 2), [[4.0, 5.0], [6.0, 7.0]])
    >>> np.shares_memory(seq, X)
    True
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"expected a 2-D clip landmark matrix (n_clips, n_frames * {n_dims} * n_landmarks), "
            f"got an array of shape {X.shape}"
        )
    _check_count("n_landmarks", n_landmarks, 1)
    _check_count("n_dims", n_dims, 1)
    layout = ClipLayout.infer(n_features=X.shape[1], n_landmarks=n_landmarks, n_dims=n_dims)
    return layout.to_sequences(X)


def from_sequences(sequences) -> np.ndarray:
    """Flatten landmark sequences ``(n, T, L, n_dims)`` to clip rows ``(n, T * L * n_dims)``.

    The inverse of :func:`to_sequences` (a view when the input is C-contiguous).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(24.0).reshape(2, 12)
    >>> np.array_equal(from_sequences(to_sequences(X, n_landmarks=3)), X)
    True
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 4:
        raise ValueError(
            "expected landmark sequences of shape (n_clips, n_frames, n_landmarks, n_dims), "
            f"got an array of shape {sequences.shape}"
        )
    return sequences.reshape(sequences.shape[0], -1)


def select_frames(X, frames, n_landmarks: int | None = None, n_dims: int = 2) -> np.ndarray:
    """Keep the columns of some frames of clip landmark rows.

    ``n_landmarks=None`` infers the layout (see :meth:`ClipLayout.infer`).
    In a pipeline, prefer :class:`fersk.features.temporal.SelectFrames`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(1, 12)  # 3 frames of 2 points
    >>> select_frames(X, [-1], n_landmarks=2).tolist()
    [[8.0, 9.0, 10.0, 11.0]]
    """
    layout = ClipLayout.infer(X, n_landmarks=n_landmarks, n_dims=n_dims)
    return layout.select_frames(X, frames)


def onset_mean(frames: np.ndarray, valid: np.ndarray, n_onset: int) -> np.ndarray:
    """Mean of each clip's first ``n_onset`` valid frames: the "onset" (resting) reference.

    Parameters
    ----------
    frames : ndarray of shape (n_clips, n_frames, ...)
        Per-frame values.
    valid : ndarray of bool, shape (n_clips, n_frames)
        Frames that count (others are skipped, not counted).
    n_onset : int
        How many valid frames to average (all of them if a clip has fewer).

    Returns
    -------
    ndarray of shape (n_clips, ...)
        NaN for a clip without a valid frame.

    See Also
    --------
    fersk.SubjectNeutralizer : Its ``baseline="onset"`` is built from these means.
    fersk.MotionDelta : Its ``reference="onset"`` measures from this mean.
    fersk._core.layout.ClipLayout : Clip rows as ``(n_clips, n_frames, ...)`` frames.

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.array([[[1.0], [np.nan], [3.0], [9.0]]])
    >>> onset_mean(frames, np.isfinite(frames[..., 0]), 2).tolist()  # frames 0 and 2
    [[2.0]]
    """
    use = valid & (np.cumsum(valid, axis=1) <= n_onset)
    weights = use.reshape(use.shape + (1,) * (frames.ndim - 2))
    total = np.where(weights, frames, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / weights.sum(axis=1)
