"""The per-image landmark computation shared by every backend.

A landmarker is a small frozen (hence picklable and hashable) description of
*how* to find landmarks. Heavy models are loaded lazily, once per process, so
it can be shipped to joblib workers cheaply.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import ClassVar

import cv2
import numpy as np

from .detection import choose_face, detect_faces, upscale_small

__all__ = ["FaceLandmarker"]

#: Bump when a change to the extraction code changes its output, so caches
#: written by an older version are not reused.
CACHE_VERSION = 1


@dataclass(frozen=True)
class FaceLandmarker:
    """Detect one face in an image and place ``n_landmarks`` points on it.

    Subclasses implement :meth:`predict` (the landmark model on one box).
    Coordinates come back in the input image's pixel coordinates.
    """

    n_landmarks: int = 68
    detector: str = "hog"
    upsample: int = 0
    detection_threshold: float = 0.0
    min_size: int = 160
    multiple_faces: str = "largest"

    backend: ClassVar[str] = "base"
    color: ClassVar[str] = "gray"

    @property
    def n_outputs(self) -> int:
        return 2 * self.n_landmarks

    @property
    def cache_namespace(self) -> str:
        settings = repr(sorted(asdict(self).items())).encode()
        digest = hashlib.blake2b(settings, digest_size=8).hexdigest()
        return f"landmarks-{self.backend}-v{CACHE_VERSION}-{digest}"

    def predict(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Return ``(n_landmarks, 2)`` points for the face in ``box``."""
        raise NotImplementedError

    def load(self) -> FaceLandmarker:
        """Load the model files now (once per process); raise ``ValueError`` naming a bad one.

        Called when an extractor is fitted or used, so a wrong model path
        fails at once with its name instead of inside every sample.
        """
        return self

    def __call__(self, image: np.ndarray) -> np.ndarray:
        big, factor = upscale_small(image, self.min_size)
        gray = big if big.ndim == 2 else cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)
        boxes, scores = detect_faces(gray, self.detector, self.upsample, self.detection_threshold)
        box = choose_face(boxes, gray.shape, self.multiple_faces, scores, detector=self.detector)
        points = self.predict(big if self.color == "rgb" else gray, box)
        # Map pixel centres back from the upscaled image.
        return ((points + 0.5) / factor - 0.5).ravel()
