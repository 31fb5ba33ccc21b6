"""The study's CNN baseline and its family, as scikit-learn classifiers (skorch).

* :mod:`~fersk.cnn.nets`: the networks (:class:`BaselineCNN`, :class:`CompactCNN`);
* :mod:`~fersk.cnn.augmentation`: train-time augmentation (:class:`TrainAugmentation`);
* :mod:`~fersk.cnn.callbacks`: atomic checkpoints, the resumable one-cycle schedule;
* :mod:`~fersk.cnn.estimator`: :class:`CNNClassifier` and :func:`make_cnn_pipeline`;
* :mod:`~fersk.cnn.compression`: int8 quantisation and structured pruning.

The preprocessor lives in :mod:`fersk.features.preprocess`, the late fusion in
:mod:`fersk.fusion`.
"""

from .augmentation import TrainAugmentation, augment_batch
from .callbacks import AtomicCheckpoint, OneCycle
from .estimator import CNNClassifier, make_cnn_pipeline
from .nets import (
    CONV_BLOCKS,
    DENSE_UNITS,
    BaselineCNN,
    CompactCNN,
    count_parameters,
    feature_side,
    standardize_images,
    state_dict_nbytes,
)

__all__ = [
    "CONV_BLOCKS",
    "DENSE_UNITS",
    "AtomicCheckpoint",
    "BaselineCNN",
    "CNNClassifier",
    "CompactCNN",
    "OneCycle",
    "TrainAugmentation",
    "augment_batch",
    "count_parameters",
    "feature_side",
    "make_cnn_pipeline",
    "standardize_images",
    "state_dict_nbytes",
]
