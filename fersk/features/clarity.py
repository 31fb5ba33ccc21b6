"""Image clarity: the variance of the Laplacian, and equal-count clarity levels."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import ClassVar

import cv2
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._core._sklearn_compat import Interval, _fit_context
from .._core.base import IMAGE_PARAM_CONSTRAINTS, ImageInputMixin
from ..io import ImageSource, read_image, resize_square

__all__ = ["ClarityBinner", "LaplacianVariance", "laplacian_variance"]


@dataclass(frozen=True)
class LaplacianVariance:
    """Per-image clarity score as an :class:`~fersk._core.batch.ImageFunction`.

    Examples
    --------
    >>> import numpy as np
    >>> LaplacianVariance(size=8)(np.zeros((20, 20), dtype=np.uint8))
    array([0.])
    """

    size: int = 100

    color: ClassVar[str] = "gray"
    n_outputs: ClassVar[int] = 1

    @property
    def cache_namespace(self) -> str:
        return f"clarity-laplacian-v1-{self.size}"

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        gray = resize_square(gray, self.size)
        return np.array([cv2.Laplacian(gray, cv2.CV_64F).var()])


def laplacian_variance(image: ImageSource, size: int = 100, channel_order: str = "rgb") -> float:
    """Variance of the Laplacian of an image at a fixed working size.

    The image is converted to grayscale and resized to ``size x size`` first,
    so that the score reflects sharpness rather than resolution. Higher means
    sharper; blur, low resolution and heavy compression lower it.

    Parameters
    ----------
    image : path or array
        An image file, or a grayscale or colour array (see
        :func:`fersk.io.read_image`).
    size : int, default=100
        Working size in pixels.
    channel_order : {"rgb", "bgr"}, default="rgb"
        Channel order of a colour array.

    Returns
    -------
    float
        The variance of the Laplacian of the grayscale ``size x size`` image
        (0 for a constant image).

    See Also
    --------
    fersk.ClarityBinner : Equal-count clarity levels from this score.
    fersk.ClarityRoutedClassifier : One classifier per clarity level.

    Examples
    --------
    >>> import cv2
    >>> from skimage.data import astronaut
    >>> sharp = laplacian_variance(astronaut())
    >>> blurred = laplacian_variance(cv2.GaussianBlur(astronaut(), (0, 0), 5))
    >>> sharp > 5 * blurred
    True
    """
    gray = read_image(image, color="gray", channel_order=channel_order)
    return float(LaplacianVariance(size)(gray)[0])


class ClarityBinner(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Split images into ``n_levels`` clarity levels of equal count.

    The clarity score is :func:`laplacian_variance`. ``fit`` learns the
    ``n_levels - 1`` quantile edges of the training scores; ``transform``
    returns each image's level ``0`` (blurriest) to ``n_levels - 1``
    (sharpest) as a float column, and optionally the raw score. An unreadable
    image gets a NaN level (which :class:`~fersk.ClarityRoutedClassifier`
    sends to its fallback model), is listed in ``failures_`` and a warning
    says so; ``on_failure="raise"`` raises instead, naming the sample.

    Parameters
    ----------
    n_levels : int, default=3
        Number of levels (the study uses 3).
    size : int, default=100
        Working size for the score (see :func:`laplacian_variance`).
    return_score : bool, default=False
        Also return the score as a second column.
    channel_order, on_failure, memory, n_jobs, progress
        As in :class:`~fersk.LandmarkExtractor`.

    Attributes
    ----------
    bin_edges_ : ndarray of shape (n_levels - 1,)
        Score thresholds between consecutive levels.
    failures_ : list of fersk._core.batch.Failure
        Samples of the last ``fit``/``transform`` that could not be scored.

    See Also
    --------
    fersk.laplacian_variance : The clarity score of one image.
    fersk.ClarityRoutedClassifier : Routes each sample to its clarity level's classifier.
    fersk.study.make_study_pipeline : The study's pipeline, joining the levels to the
        landmark features.

    Examples
    --------
    >>> import cv2
    >>> from skimage.data import astronaut
    >>> from fersk import ClarityBinner
    >>> images = [cv2.GaussianBlur(astronaut(), (0, 0), s) for s in (0.1, 1, 2, 3, 4, 5)]
    >>> ClarityBinner(n_levels=3).fit_transform(images).ravel().tolist()
    [2.0, 2.0, 1.0, 1.0, 0.0, 0.0]
    """

    _parameter_constraints: dict = {
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "size": [Interval(Integral, 3, None, closed="left")],
        "return_score": ["boolean"],
        **IMAGE_PARAM_CONSTRAINTS,
    }

    def __init__(
        self,
        n_levels: int = 3,
        *,
        size: int = 100,
        return_score: bool = False,
        channel_order: str = "rgb",
        on_failure: str = "nan",
        memory=None,
        n_jobs: int | None = None,
        progress: bool | str = "auto",
    ) -> None:
        self.n_levels = n_levels
        self.size = size
        self.return_score = return_score
        self.channel_order = channel_order
        self.on_failure = on_failure
        self.memory = memory
        self.n_jobs = n_jobs
        self.progress = progress

    def _scores(self, X) -> np.ndarray:
        return self._map_images(LaplacianVariance(int(self.size)), X, desc="clarity")[:, 0]

    def _fit_edges(self, scores: np.ndarray) -> None:
        valid = scores[~np.isnan(scores)]
        if valid.size == 0:
            raise ValueError("ClarityBinner: no image could be scored")
        quantiles = np.arange(1, self.n_levels) / self.n_levels
        self.bin_edges_ = np.quantile(valid, quantiles)

    def _levels(self, scores: np.ndarray) -> np.ndarray:
        levels = np.searchsorted(self.bin_edges_, scores, side="right").astype(np.float64)
        levels[np.isnan(scores)] = np.nan
        return levels[:, None] if not self.return_score else np.column_stack([levels, scores])

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the level edges from the clarity scores of ``X``.

        Parameters
        ----------
        X : sequence of image paths or arrays
        y : ignored

        Returns
        -------
        self
        """
        self._fit_edges(self._scores(X))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit and transform, scoring each image once."""
        scores = self._scores(X)
        self._fit_edges(scores)
        return self._levels(scores)

    def transform(self, X) -> np.ndarray:
        """Return the clarity level (and score) of each image.

        Parameters
        ----------
        X : sequence of image paths or arrays

        Returns
        -------
        ndarray of shape (n_samples, 1) or (n_samples, 2)
        """
        check_is_fitted(self)
        return self._levels(self._scores(X))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return ``clarity_level`` (and ``clarity_score``)."""
        names = ["clarity_level", "clarity_score"] if self.return_score else ["clarity_level"]
        return np.array(names, dtype=object)
