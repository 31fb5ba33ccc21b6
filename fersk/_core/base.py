"""Shared plumbing for the transformers whose input is images."""

from __future__ import annotations

import os
import warnings
from numbers import Integral

import numpy as np

from ._sklearn_compat import HasMethods, StrOptions
from .batch import Failure, ImageFunction, as_image_list, map_images
from .cache import resolve_cache

__all__ = ["ImageInputMixin", "MissingFeaturesWarning", "IMAGE_PARAM_CONSTRAINTS"]

#: ``_parameter_constraints`` common to every image transformer.
IMAGE_PARAM_CONSTRAINTS: dict = {
    "channel_order": [StrOptions({"rgb", "bgr"})],
    "on_failure": [StrOptions({"nan", "raise"})],
    # A folder path, a joblib.Memory (its location is used) or a FeatureCache.
    "memory": [None, str, os.PathLike, HasMethods(["cache"]), HasMethods(["get", "put"])],
    "n_jobs": [None, Integral],
    "progress": ["boolean", StrOptions({"auto"})],
}


class MissingFeaturesWarning(UserWarning):
    """Some samples gave NaN rows (no face found, or unreadable)."""


class ImageInputMixin:
    """Run an :class:`~fersk._core.batch.ImageFunction` over X and keep the failure report.

    After each ``transform``, ``failures_`` lists the samples that gave NaN
    rows (index, source, reason, message) and ``n_failures_`` counts them.
    """

    def _map_images(self, func: ImageFunction, X, desc: str) -> np.ndarray:
        images = as_image_list(X)
        rows, failures = map_images(
            func,
            images,
            channel_order=self.channel_order,
            n_jobs=self.n_jobs,
            cache=resolve_cache(self.memory),
            on_failure=self.on_failure,
            progress=self.progress,
            desc=desc,
        )
        self._record_failures(failures, len(images))
        return rows

    def _record_failures(
        self,
        failures: list[Failure],
        n_samples: int,
        unit: str = "samples",
        sizes: list[int] | None = None,
    ) -> None:
        """Keep the failures; warn with counts. ``sizes[k]``: units failure ``k`` covers."""
        self.failures_ = failures
        self.n_failures_ = len(failures)
        if failures:
            sizes = sizes or [1] * len(failures)
            counts: dict[str, int] = {}
            for f, size in zip(failures, sizes):
                counts[f.reason] = counts.get(f.reason, 0) + size
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            first = "; ".join(f"sample {f.index} {f.source}: {f.message}" for f in failures[:3])
            warnings.warn(
                f"{type(self).__name__}: {sum(sizes)} of {n_samples} {unit} gave NaN rows "
                f"({detail}). First: {first}. See .failures_ for all.",
                MissingFeaturesWarning,
                stacklevel=3,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags
