"""fersk: scikit-learn-compatible facial emotion recognition.

Landmark geometry, clarity-stratified classifiers, subject conditioning,
short-term facial motion, a skorch baseline CNN and their fusion, as ordinary
scikit-learn estimators. Every public name is imported on first use, so
``import fersk`` is fast and loads neither scikit-learn's estimators, torch,
scipy.stats nor the dataset loaders.

Examples
--------
>>> import fersk
>>> fersk.PairwiseDistance().normalize
'interocular'
"""

from importlib import import_module

from ._core.version import __version__ as __version__

#: Public name -> the module that defines it (imported when first used).
_LAZY = {
    "BaselineCNN": "fersk.cnn",
    "CNNClassifier": "fersk.cnn",
    "CNNPreprocessor": "fersk.features.preprocess",
    "ClarityBinner": "fersk.features.clarity",
    "ClarityRoutedClassifier": "fersk.features.routing",
    "ClipLandmarkExtractor": "fersk.landmarks.clip_extractor",
    "LandmarkExtractor": "fersk.landmarks.extractor",
    "MotionDelta": "fersk.features.temporal",
    "PairwiseDistance": "fersk.features.geometry",
    "SelectFrames": "fersk.features.temporal",
    "SubjectNeutralizer": "fersk.features.subject",
    "TrainAugmentation": "fersk.cnn",
    "laplacian_variance": "fersk.features.clarity",
    "list_models": "fersk.models",
    "load_model": "fersk.models",
    "predict_faces": "fersk.predict",
    "make_cnn_pipeline": "fersk.cnn",
    "make_fusion": "fersk.fusion",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fersk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
