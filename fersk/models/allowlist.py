"""What a fersk model file may name: a fixed table of classes, and the parameters pinned on load.

A model file is data. It may name a class only from the tables below, by the
name given here; nothing else is ever imported or called. Each table is for
one kind of name:

* :func:`estimator_classes`: the estimators a model can be built of (fersk's
  own, and the scikit-learn pieces they compose with);
* :func:`parameter_types`: the classes a parameter may hold as a *type*
  (fersk's networks for a CNN's ``module``; a few criteria and optimizers;
  the loaders skorch needs), never instantiated by the format itself;
* :func:`dataclass_types`: the small frozen records a parameter may hold as an
  instance, built from plain-data fields (:class:`fersk.TrainAugmentation`).

:data:`PINNED` lists the parameters that touch the file system, the network,
processes or code loading (a cache folder, a weights file, a checkpoint
folder, ``torch.load`` options, callbacks, workers): they are never read from
a file; a loaded model gets the value given here (a routed one, such as
``iterator_train__num_workers``, is left out: its default holds), and a saved
one stores it.
"""

from __future__ import annotations

import functools

__all__ = [
    "PINNED",
    "TRANSIENT",
    "class_name",
    "dataclass_types",
    "estimator_classes",
    "parameter_types",
]

#: Constructor parameters never read from (or written to) a model file, per class name:
#: a loaded model gets these values. Set them yourself after loading if you need to.
PINNED: dict[str, dict[str, object]] = {
    "fersk.LandmarkExtractor": {
        "memory": None,
        "n_jobs": None,
        "weights": None,
        "allow_download": False,
        "predictor_path": None,
        "device": "auto",
        "progress": "auto",
    },
    "fersk.ClarityBinner": {"memory": None, "n_jobs": None, "progress": "auto"},
    "fersk.CNNPreprocessor": {"memory": None, "n_jobs": None, "progress": "auto"},
    "fersk.CNNClassifier": {
        "checkpoint_dir": None,
        "device": "auto",
        "torch_load_kwargs": None,
        "callbacks": None,
        "verbose": 0,
        "warm_start": False,
        "compile": False,
        "iterator_train__num_workers": 0,
        "iterator_valid__num_workers": 0,
    },
}

#: Fitted attributes that describe one fit's run, not the model (left out of the file).
TRANSIENT: frozenset[str] = frozenset({"failures_"})


@functools.cache
def estimator_classes() -> dict[str, type]:
    """Name -> class of every estimator a model file may hold."""
    from sklearn import (
        compose,
        decomposition,
        dummy,
        ensemble,
        feature_selection,
        frozen,
        impute,
        linear_model,
        neural_network,
        pipeline,
        preprocessing,
        svm,
    )

    from ..features.calibration import PersonCalibratedClassifier
    from ..features.clarity import ClarityBinner
    from ..features.geometry import PairwiseDistance
    from ..features.preprocess import CNNPreprocessor
    from ..features.routing import ClarityRoutedClassifier
    from ..features.subject import SubjectNeutralizer
    from ..features.temporal import MotionDelta, SelectFrames
    from ..landmarks.clip_extractor import ClipLandmarkExtractor
    from ..landmarks.extractor import LandmarkExtractor

    table: dict[str, type] = {
        f"fersk.{cls.__name__}": cls
        for cls in (
            LandmarkExtractor,
            ClipLandmarkExtractor,
            PairwiseDistance,
            ClarityBinner,
            ClarityRoutedClassifier,
            SubjectNeutralizer,
            MotionDelta,
            SelectFrames,
            CNNPreprocessor,
            PersonCalibratedClassifier,
        )
    }
    for module, names in [
        (pipeline, ["Pipeline", "FeatureUnion"]),
        (compose, ["ColumnTransformer"]),
        (
            preprocessing,
            [
                "StandardScaler",
                "MinMaxScaler",
                "MaxAbsScaler",
                "RobustScaler",
                "Normalizer",
                "LabelEncoder",
                "LabelBinarizer",
            ],
        ),
        (impute, ["SimpleImputer", "MissingIndicator"]),
        (decomposition, ["PCA"]),
        (feature_selection, ["VarianceThreshold"]),
        (linear_model, ["LogisticRegression", "RidgeClassifier", "SGDClassifier"]),
        (svm, ["SVC", "LinearSVC"]),
        (neural_network, ["MLPClassifier"]),
        (ensemble, ["VotingClassifier"]),
        (dummy, ["DummyClassifier"]),
        (frozen, ["FrozenEstimator"]),
    ]:
        for name in names:
            table[f"sklearn.{module.__name__.split('.')[1]}.{name}"] = getattr(module, name)
    try:
        from ..cnn.estimator import CNNClassifier
    except ImportError:  # pragma: no cover - torch missing
        pass
    else:
        table["fersk.CNNClassifier"] = CNNClassifier
    return table


@functools.cache
def parameter_types() -> dict[str, type]:
    """Name -> class a parameter may hold as a type (a network, a loss, an optimizer...)."""
    import numpy as np

    table: dict[str, type] = {
        f"numpy.{t.__name__}": t
        for t in (np.float64, np.float32, np.int64, np.int32, np.uint8, np.bool_)
    }
    try:
        import torch
        from skorch.dataset import Dataset
        from torch.utils.data import DataLoader

        from ..cnn import nets
    except ImportError:  # pragma: no cover - torch missing
        return table
    for name in nets.__all__:
        value = getattr(nets, name)
        if isinstance(value, type) and issubclass(value, torch.nn.Module):
            table[f"fersk.cnn.{name}"] = value
    table.update(
        {
            "torch.nn.CrossEntropyLoss": torch.nn.CrossEntropyLoss,
            "torch.nn.NLLLoss": torch.nn.NLLLoss,
            "torch.optim.SGD": torch.optim.SGD,
            "torch.optim.Adam": torch.optim.Adam,
            "torch.optim.AdamW": torch.optim.AdamW,
            "torch.utils.data.DataLoader": DataLoader,
            "skorch.dataset.Dataset": Dataset,
        }
    )
    return table


@functools.cache
def dataclass_types() -> dict[str, type]:
    """Name -> frozen dataclass a parameter may hold as an instance (plain-data fields)."""
    from .._core.layout import ClipLayout

    table: dict[str, type] = {"fersk.ClipLayout": ClipLayout}
    try:
        from ..cnn.augmentation import TrainAugmentation
    except ImportError:  # pragma: no cover - torch missing
        return table
    table["fersk.TrainAugmentation"] = TrainAugmentation
    return table


def class_name(cls: type, table: dict[str, type]) -> str | None:
    """The name of ``cls`` in ``table`` (the class itself, not a subclass), or None."""
    for name, value in table.items():
        if value is cls:
            return name
    return None
