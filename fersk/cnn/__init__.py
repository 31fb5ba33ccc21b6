"""The study's CNN baseline and its family, as scikit-learn classifiers (skorch).

* :mod:`~fersk.cnn.nets`: the networks (:class:`BaselineCNN`, :class:`CompactCNN`);
* :mod:`~fersk.cnn.augmentation`: train-time augmentation (:class:`TrainAugmentation`);
* :mod:`~fersk.cnn.callbacks`: atomic checkpoints, the resumable one-cycle schedule;
* :mod:`~fersk.cnn.estimator`: :class:`CNNClassifier` and :func:`make_cnn_pipeline`;
* :mod:`~fersk.cnn.quantization`: int8 (:func:`quantize`, :func:`quantize_static`);
* :mod:`~fersk.cnn.pruning`: structured pruning (:func:`prune_channels`,
  :func:`prune_mlp_units`).

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
from .pruning import prune_channels, prune_mlp_units
from .quantization import QuantizedCNN, quantize, quantize_static

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
