"""Images to the CNN's input tensors: resize, per-image normalisation, ``(n, C, H, W)``.

:class:`CNNPreprocessor` is the first step of :func:`fersk.cnn.make_cnn_pipeline`.
It runs :class:`CNNInput` over a batch with :func:`~fersk._core.batch.map_images`,
so it takes the same image paths or arrays as the landmark pipeline and gets
its guarantees: output in input order, ``n_jobs`` workers, an optional
on-disk cache (``memory``) and errors that name the sample. This module does
not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._core._sklearn_compat import Interval, Options, StrOptions, _fit_context
from .._core.base import IMAGE_PARAM_CONSTRAINTS, ImageInputMixin
from ..io import resize_square

__all__ = ["CNNInput", "CNNPreprocessor"]


@dataclass(frozen=True)
class CNNInput:
    """One image as the CNN's input: resized, normalised, channels first, flattened.

    An :class:`~fersk._core.batch.ImageFunction`. The image (gray or RGB) is resized
    to ``size x size`` (area interpolation when shrinking, bilinear when
    enlarging) and standardised over all its pixels to zero mean and unit
    standard deviation (a constant image becomes all zeros). The result
    ``(C, size, size)`` is returned flattened.

    Examples
    --------
    >>> import numpy as np
    >>> row = CNNInput(size=4)(np.arange(64, dtype=np.uint8).reshape(8, 8))
    >>> row.shape, round(float(row.mean()), 6), round(float(row.std()), 4)
    ((16,), 0.0, 1.0)
    """

    size: int = 100
    color: str = "gray"
    standardize: bool = True

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    @property
    def n_outputs(self) -> int:
        return self.channels * self.size * self.size

    @property
    def cache_namespace(self) -> str:
        raw = "" if self.standardize else "-raw"
        return f"cnn-input-v1-{self.color}-{self.size}{raw}"

    def __call__(self, image: np.ndarray) -> np.ndarray:
        x = resize_square(image, self.size).astype(np.float32)
        if not self.standardize:  # raw pixels: the network standardises them
            return (x.transpose(2, 0, 1) if x.ndim == 3 else x).ravel()
        std = float(x.std())
        x = (x - x.mean()) / std if std > 1e-6 else np.zeros_like(x)
        if x.ndim == 3:
            x = x.transpose(2, 0, 1)
        return x.ravel()


class CNNPreprocessor(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Turn images into the CNN's float32 input ``(n_samples, channels, size, size)``.

    Each image (a path or an array) is read as gray (``channels=1``) or RGB
    (``channels=3``), resized to ``size x size`` and normalised to zero mean
    and unit standard deviation per image (see :class:`CNNInput`). Stateless:
    ``fit`` only validates the parameters.

    Parameters
    ----------
    size : int, default=100
        Side in pixels (the study: 100; FER2013: 48). At least 16.
    channels : {1, 3}, default=1
        Grayscale or RGB input.
    dtype : {"float32", "uint8"}, default="float32"
        ``"float32"``: each image standardised (zero mean, unit standard
        deviation). ``"uint8"``: the resized pixels as they are, a quarter of
        the memory; the fersk networks standardise each image themselves, so
        both give the same predictions, and ``uint8`` is what the training of
        the shipped CNN keeps in memory and augments.
    channel_order : {"rgb", "bgr"}, default="rgb"
        Channel order of colour *array* inputs (files are decoded correctly).
    on_failure : {"nan", "raise"}, default="nan"
        An unreadable image becomes an all-zero image (the normalised mean),
        is listed in ``failures_`` and a warning is issued; with ``"raise"``
        it raises an error naming the sample.
    memory : None, str or joblib.Memory, default=None
        Cache of the computed inputs (keyed on image content and settings).
    n_jobs : int or None, default=None
        Worker processes for reading and resizing.
    progress : bool or "auto", default="auto"
        Progress bar for long batches.

    Attributes
    ----------
    failures_ : list of fersk._core.batch.Failure
        Samples of the last ``transform`` that could not be read.

    See Also
    --------
    fersk.CNNClassifier : The network this preprocessor's output feeds.
    fersk.make_cnn_pipeline : This preprocessor and the classifier in one pipeline.
    fersk.features.preprocess.CNNInput : The per-image function it runs.

    Examples
    --------
    >>> import numpy as np
    >>> images = [np.zeros((60, 60, 3), np.uint8), np.eye(30, dtype=np.uint8) * 255]
    >>> X = CNNPreprocessor(size=48).fit_transform(images)
    >>> X.shape, X.dtype
    ((2, 1, 48, 48), dtype('float32'))
    >>> CNNPreprocessor(size=48, channels=3).fit_transform(images).shape
    (2, 3, 48, 48)
    """

    _parameter_constraints: dict = {
        "size": [Interval(Integral, 16, None, closed="left")],
        "channels": [Options(Integral, {1, 3})],
        "dtype": [StrOptions({"float32", "uint8"})],
        **IMAGE_PARAM_CONSTRAINTS,
    }

    def __init__(
        self,
        size: int = 100,
        channels: int = 1,
        *,
        dtype: str = "float32",
        channel_order: str = "rgb",
        on_failure: str = "nan",
        memory=None,
        n_jobs: int | None = None,
        progress: bool | str = "auto",
    ) -> None:
        self.size = size
        self.channels = channels
        self.dtype = dtype
        self.channel_order = channel_order
        self.on_failure = on_failure
        self.memory = memory
        self.n_jobs = n_jobs
        self.progress = progress

    def _function(self) -> CNNInput:
        channels = int(self.channels)
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {self.channels}")
        color = "gray" if channels == 1 else "rgb"
        return CNNInput(size=int(self.size), color=color, standardize=self.dtype == "float32")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Validate the parameters (nothing is learned).

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self
        """
        self._function()
        self.n_channels_ = int(self.channels)
        return self

    def transform(self, X) -> np.ndarray:
        """Read, resize and normalise every image.

        Parameters
        ----------
        X : sequence of image paths or arrays (or a stacked array)

        Returns
        -------
        ndarray of float32 or uint8, shape (n_samples, channels, size, size)
        """
        func = self._function()
        rows = self._map_images(func, X, desc="cnn input")
        rows = np.nan_to_num(rows, nan=0.0)  # failed samples (on_failure="nan")
        return rows.astype(self.dtype).reshape(-1, func.channels, func.size, func.size)

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless
