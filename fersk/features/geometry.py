"""PairwiseDistance: landmark coordinates to scale-normalised pairwise distances."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core._sklearn_compat import Interval, StrOptions, _fit_context
from .._core.layout import EYE_CORNERS, interocular_distance

__all__ = ["PairwiseDistance"]


class PairwiseDistance(TransformerMixin, BaseEstimator):
    """All pairwise L2 distances between landmarks, normalised for face scale.

    Input is a landmark matrix ``(n_samples, 2 * L)`` with columns
    ``x0, y0, x1, y1, ...`` (what :class:`~fersk.LandmarkExtractor` returns;
    ``n_dims=3`` reads ``x0, y0, z0, ...`` 3-D landmarks);
    output has ``K * (K - 1) / 2`` columns for the ``K`` landmarks used, named
    ``d_i_j`` after the original landmark indices. Distances are divided by
    the inter-ocular distance (between the eye centres, each the mean of its
    two corners; defined for the 68- and 5-point layouts, and always measured
    on the full input layout, even when ``landmarks`` leaves the eyes out), so
    a face's size in the image does not matter. A NaN row (no face) stays NaN.

    Parameters
    ----------
    landmarks : array-like of int or None, default=None
        Indices of the landmarks to use (e.g. ``range(17, 68)`` to skip the
        jaw line); ``None`` uses all.
    normalize : {"interocular"} or None, default="interocular"
        Scale normalisation; ``None`` keeps pixel distances (any layout).
    n_dims : int, default=2
        Coordinates per landmark: 2 for ``(x, y)``, 3 for ``(x, y, z)``.

    Attributes
    ----------
    n_features_in_ : int
        ``n_dims * L``.
    n_landmarks_in_ : int
        ``L``, the landmarks per input row.
    landmark_indices_ : ndarray of int
        The landmarks used.
    pairs_ : ndarray of shape (n_features_out, 2)
        The landmark index pair behind each output column.

    See Also
    --------
    fersk.LandmarkExtractor : Images to the landmark matrix this transformer takes.
    fersk.SubjectNeutralizer : The distances relative to each subject's own baseline.
    fersk.MotionDelta : Motion features from the landmarks of clips.
    fersk._core.layout.interocular_distance : The scale the distances are divided by.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk import PairwiseDistance
    >>> # Five points: eye corners at x = 10, 8 (left eye) and 0, 2 (right eye), nose.
    >>> X = np.array([[10, 0, 8, 0, 0, 0, 2, 0, 5, 5]], dtype=float)
    >>> pd = PairwiseDistance().fit(X)
    >>> pd.transform(X).shape
    (1, 10)
    >>> float(pd.transform(X)[0, 0])  # |p0 - p1| / inter-ocular distance = 2 / 8
    0.25
    >>> pd.get_feature_names_out()[:2].tolist()
    ['d_0_1', 'd_0_2']
    """

    _parameter_constraints: dict = {
        "landmarks": [None, "array-like"],
        "normalize": [None, StrOptions({"interocular"})],
        "n_dims": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, landmarks=None, normalize: str | None = "interocular", n_dims: int = 2
    ) -> None:
        self.landmarks = landmarks
        self.normalize = normalize
        self.n_dims = n_dims

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the landmark layout from the number of columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2 * L)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.n_features_in_ % self.n_dims:
            raise ValueError(
                f"PairwiseDistance with n_dims={self.n_dims} expects {self.n_dims} columns per "
                f"landmark (x0, y0, x1, y1, ...), got {self.n_features_in_} columns"
            )
        n_landmarks = self.n_features_in_ // self.n_dims
        if self.normalize == "interocular" and n_landmarks not in EYE_CORNERS:
            raise ValueError(
                f"normalize='interocular' needs the 68- or 5-point layout; got {n_landmarks} "
                "landmarks. Use normalize=None for other layouts."
            )
        if self.landmarks is None:
            indices = np.arange(n_landmarks)
        else:
            indices = np.asarray(self.landmarks).ravel()
            whole = indices.dtype.kind in "iu" or (
                indices.dtype.kind == "f" and bool(np.all(indices == np.round(indices)))
            )
            if not whole:  # 1.5 is no landmark; True/False or names are not indices
                raise ValueError(f"landmarks must be integer indices, got {self.landmarks!r}")
            indices = indices.astype(np.intp)
            bad = indices[(indices < 0) | (indices >= n_landmarks)]
            if bad.size:
                raise ValueError(
                    f"landmarks {bad.tolist()} out of range for {n_landmarks} input landmarks"
                )
            if len(np.unique(indices)) != len(indices):
                raise ValueError("landmarks contains repeated indices")
        if len(indices) < 2:
            raise ValueError(
                f"at least two landmarks are needed for a distance; got {len(indices)} landmark "
                f"from n_features = {self.n_features_in_}"
            )
        self.n_landmarks_in_ = n_landmarks
        self.landmark_indices_ = indices
        i, j = np.triu_indices(len(indices), k=1)
        self.pairs_ = np.column_stack([indices[i], indices[j]])
        return self

    def transform(self, X) -> np.ndarray:
        """Return the distances ``(n_samples, K * (K - 1) / 2)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2 * L)

        Returns
        -------
        ndarray of float64
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        points = X.reshape(len(X), self.n_landmarks_in_, self.n_dims)
        a, b = self.pairs_[:, 0], self.pairs_[:, 1]
        distances = np.linalg.norm(points[:, a] - points[:, b], axis=2)
        if self.normalize == "interocular":
            scale = interocular_distance(points)
            with np.errstate(invalid="ignore", divide="ignore"):
                distances = distances / np.where(scale > 0, scale, np.nan)[:, None]
        return distances

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return ``d_i_j`` for each landmark pair."""
        check_is_fitted(self)
        return np.array([f"d_{a}_{b}" for a, b in self.pairs_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
