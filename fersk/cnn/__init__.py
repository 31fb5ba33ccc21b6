"""The study's CNN baseline and its family, as scikit-learn classifiers (skorch).

* :mod:`~fersk.cnn.nets`: the networks (:class:`BaselineCNN`, :class:`CompactCNN`);
* :mod:`~fersk.cnn.augmentation`: train-time augmentation (:class:`TrainAugmentation`);
* :mod:`~fersk.cnn.callbacks`: atomic checkpoints, the resumable one-cycle schedule;
* :mod:`~fersk.cnn.estimator`: :class:`CNNClassifier` and :func:`make_cnn_pipeline`;
* :mod:`~fersk.cnn.compression`: int8 quantisation (:func:`quantize`,
  :func:`quantize_static`) and structured pruning (:func:`prune_channels`,
  :func:`prune_mlp_units`).

The preprocessor lives in :mod:`fersk.features.preprocess`, the late fusion in
:mod:`fersk.fusion`.
"""

from .augmentation import TrainAugmentation, augment_batch
from .callbacks import AtomicCheckpoint, OneCycle
from .compression import (
    QuantizedCNN,
    prune_channels,
    prune_mlp_units,
    quantize,
    quantize_static,
)
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
    "QuantizedCNN",
    "TrainAugmentation",
    "augment_batch",
    "count_parameters",
    "feature_side",
    "make_cnn_pipeline",
    "prune_channels",
    "prune_mlp_units",
    "quantize",
    "quantize_static",
    "standardize_images",
    "state_dict_nbytes",
]
