"""Landmarks with face-alignment's FAN (2D-FAN-4), the study's extractor.

FAN's weights are downloaded by ``face_alignment`` on first use. fersk never
downloads silently: pass ``weights=`` (a local copy of the ``2DFAN4-*.pth.tar``
state dict), or have the file already in torch's hub cache, or set
``allow_download=True``. The library's own loading code
(``FaceAlignment._load_native``: build ``FAN``, ``torch.load``,
``load_state_dict``) runs in every case; fersk only tells it where the file is.
Face boxes come from fersk's detector choice and are passed to FAN directly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._core.layout import FIVE_FROM_68
from .base import FaceLandmarker

__all__ = ["FanLandmarker", "fan_weights_cache_path"]

_PATCH_LOCK = threading.Lock()


def fan_weights_cache_path() -> str:
    """Where ``face_alignment`` looks for (and downloads) 2D-FAN-4 weights.

    Examples
    --------
    >>> fan_weights_cache_path().endswith(".pth.tar")
    True
    """
    from urllib.parse import urlparse

    import torch
    from face_alignment.api import models_urls

    name = os.path.basename(urlparse(models_urls["2DFAN-4"]).path)
    return os.path.join(torch.hub.get_dir(), "checkpoints", name)


@contextlib.contextmanager
def _local_weights(weights: str | None, allow_download: bool):
    """Make ``face_alignment.api.load_file_from_url`` resolve to a local file."""
    import face_alignment.api as fa_api

    original = fa_api.load_file_from_url

    def resolve(url, *args, **kwargs):
        if weights is not None:
            if not os.path.isfile(weights):
                raise FileNotFoundError(f"FAN weights file not found: {weights!r}")
            return weights
        if allow_download or os.path.isfile(fan_weights_cache_path()):
            return original(url, *args, **kwargs)
        raise FileNotFoundError(
            "face_alignment's FAN weights are not on this machine "
            f"(looked for {fan_weights_cache_path()!r}). Pass weights='path/to/2DFAN4.pth.tar', "
            "or allow_download=True where a network is available, or use backend='dlib' "
            "(offline)."
        )

    with _PATCH_LOCK:
        fa_api.load_file_from_url = resolve
        try:
            yield
        finally:
            fa_api.load_file_from_url = original


@functools.lru_cache(maxsize=2)
def _face_alignment(weights: str | None, device: str, allow_download: bool):
    import face_alignment

    with _local_weights(weights, allow_download):
        try:
            return face_alignment.FaceAlignment(
                face_alignment.LandmarksType.TWO_D,
                device=device,
                face_detector="dlib",  # never used for detection: fersk passes boxes
                flip_input=False,
                compile=False,
            )
        except FileNotFoundError:
            raise
        except Exception as exc:  # torch.load / load_state_dict on a file that is no FAN
            what = repr(weights) if weights is not None else "in torch's hub cache"
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ValueError(
                f"FAN weights {what} cannot be loaded as 2D-FAN-4 weights "
                f"({type(exc).__name__}: {first})"
            ) from None


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class FanLandmarker(FaceLandmarker):
    """face-alignment's 2D-FAN-4 on one detected (or whole-image) face box.

    68 points natively; ``n_landmarks=5`` takes dlib's 5-point subset
    (:data:`~fersk._core.layout.FIVE_FROM_68`).

    Faces are found by fersk's detector (dlib, as for
    :class:`DlibLandmarker`) and their boxes passed to FAN; called on a
    ``uint8`` image, ``(H, W)`` gray or ``(H, W, 3)`` RGB, it returns one
    face's points as a flat array ``x0, y0, x1, y1, ...`` of ``2 *
    n_landmarks`` floats in the image's pixel coordinates. Constructing it
    loads nothing: the weights are loaded at the first call or :meth:`load`
    (once per process), which raises ``FileNotFoundError`` when they are not
    on the machine (and downloading is not allowed), and ``ValueError`` when
    the file is not 2D-FAN-4 weights. Needs ``torch`` and ``face-alignment``.

    Parameters
    ----------
    n_landmarks : {68, 5}, default=68
        FAN's 68 points, or their 5-point subset.
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
    weights : str or None, default=None
        Local path of the 2D-FAN-4 weights (a ``2DFAN4-*.pth.tar`` state
        dict). None: the copy in torch's hub cache (see
        :func:`fan_weights_cache_path`).
    device : str, default="auto"
        torch device (``"cpu"``, ``"cuda"``, ...); ``"auto"`` picks CUDA when
        available.
    allow_download : bool, default=False
        With ``weights=None``, let face_alignment download the weights when
        the hub cache lacks them (needs a network).

    See Also
    --------
    fersk.LandmarkExtractor : The estimator; ``backend="face_alignment"`` runs this class.
    fersk.landmarks.DlibLandmarker : The offline dlib landmarker.
    fersk.landmarks.detect_faces : The face detector.

    Examples
    --------
    Constructing one is cheap and offline; running it needs FAN's weights (a
    local file here), so those lines are not run:

    >>> fan = FanLandmarker(n_landmarks=5, weights="2DFAN4-11f355bf06.pth.tar", device="cpu")
    >>> fan.n_landmarks, fan.n_outputs
    (5, 10)
    >>> from skimage.data import astronaut
    >>> fan(astronaut()).shape  # doctest: +SKIP
    (10,)
    """

    weights: str | None = None
    device: str = "auto"
    allow_download: bool = False

    backend: ClassVar[str] = "face_alignment"
    color: ClassVar[str] = "rgb"

    @property
    def cache_namespace(self) -> str:
        # The weights' content, not their path, decides the output.
        base = super().cache_namespace
        if self.weights is None or not os.path.isfile(self.weights):
            return base
        stat = os.stat(self.weights)
        return f"{base}-{stat.st_size:x}-{int(stat.st_mtime):x}"

    def load(self) -> FanLandmarker:
        _face_alignment(self.weights, _resolve_device(self.device), self.allow_download)
        return self

    def predict(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        model = _face_alignment(self.weights, _resolve_device(self.device), self.allow_download)
        points = model.get_landmarks_from_image(image, detected_faces=[box])[0][:, :2]
        points = np.asarray(points, dtype=np.float64)
        return points[list(FIVE_FROM_68)] if self.n_landmarks == 5 else points
