"""fersk: scikit-learn-compatible facial emotion recognition.

Landmark geometry, clarity-stratified classifiers, a skorch baseline CNN and
their fusion, as ordinary scikit-learn estimators. The torch-based names
(``CNNClassifier``, ``BaselineCNN``, ``make_cnn_pipeline``, ``make_fusion``)
are imported on first use, so ``import fersk`` does not import torch.
"""

from importlib import import_module

from .clarity import ClarityBinner, laplacian_variance
from .geometry import PairwiseDistance
from .landmarks import ClipLandmarkExtractor, LandmarkExtractor
from .preprocess import CNNPreprocessor
from .routing import ClarityRoutedClassifier
from .subject import SubjectNeutralizer
from .temporal import MotionDelta

__version__ = "0.1.0"

_LAZY = {
    "BaselineCNN": "fersk.cnn",
    "CNNClassifier": "fersk.cnn",
    "TrainAugmentation": "fersk.cnn",
    "make_cnn_pipeline": "fersk.cnn",
    "make_fusion": "fersk.fusion",
}

__all__ = [
    "BaselineCNN",
    "CNNClassifier",
    "CNNPreprocessor",
    "ClarityBinner",
    "ClarityRoutedClassifier",
    "ClipLandmarkExtractor",
    "LandmarkExtractor",
    "MotionDelta",
    "PairwiseDistance",
    "SubjectNeutralizer",
    "TrainAugmentation",
    "__version__",
    "laplacian_variance",
    "make_cnn_pipeline",
    "make_fusion",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fersk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
