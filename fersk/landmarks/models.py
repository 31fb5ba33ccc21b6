"""Where the offline model files live.

dlib's shape predictors (68 and 5 points), its MMOD face detector and its
face-recognition network ship in the ``face-recognition-models`` package. Its
``__init__`` imports ``pkg_resources`` (gone from current setuptools), so the
files are located through the import system without importing the package.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

__all__ = ["MODEL_FILES", "dlib_model_path"]

MODEL_FILES: dict[str, str] = {
    "68": "shape_predictor_68_face_landmarks.dat",
    "5": "shape_predictor_5_face_landmarks.dat",
    "mmod": "mmod_human_face_detector.dat",
    "recognition": "dlib_face_recognition_resnet_model_v1.dat",
}


def dlib_model_path(name: str) -> str:
    """Return the path of a dlib model file shipped by ``face-recognition-models``.

    Parameters
    ----------
    name : {"68", "5", "mmod", "recognition"}

    Examples
    --------
    >>> dlib_model_path("68").endswith("shape_predictor_68_face_landmarks.dat")
    True
    """
    if name not in MODEL_FILES:
        raise ValueError(f"unknown dlib model {name!r}; expected one of {sorted(MODEL_FILES)}")
    path = _package_folder() / "models" / MODEL_FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"dlib model file missing: {path}")
    return str(path)


@functools.lru_cache(maxsize=1)
def _package_folder() -> Path:
    """The folder of ``face-recognition-models``, found through the import system once (a
    video asks for every face; a failure is not cached, so installing it later works)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise ImportError(
            "dlib's model files come from the 'face-recognition-models' package: "
            "pip install face-recognition-models"
        )
    return Path(spec.origin).parent
