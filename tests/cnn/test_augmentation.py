"""fersk.cnn.augmentation: TrainAugmentation changes the training batches' pixels, never their
shapes or labels, and never what the network predicts on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fersk.cnn import TrainAugmentation, make_cnn_pipeline
from fersk.features.preprocess import CNNPreprocessor
from tests.cnn.conftest import SIZE

pytestmark = pytest.mark.usefixtures("one_thread")


def test_augmentation_only_in_training(sample):
    seen = []
    augment = TrainAugmentation()

    def collate(batch):
        seen.append(len(batch))
        return augment(batch)

    X_train, y_train = sample.X[sample.train], sample.target[sample.train]
    pipe = make_cnn_pipeline(
        SIZE, max_epochs=2, valid_size=0.5, batch_size=4, iterator_train__collate_fn=collate
    )
    pipe.fit(X_train, y_train)
    n_fit = len(y_train) - math.ceil(0.5 * len(y_train))
    assert sum(seen) == 2 * n_fit  # training batches only, never the validation split
    n_seen = len(seen)
    first = pipe.predict_proba(X_train)
    np.testing.assert_array_equal(pipe.predict_proba(X_train), first)
    assert len(seen) == n_seen  # prediction never goes through the training collate

    # the augmentation itself changes the pixels but not the shapes or labels
    X = CNNPreprocessor(size=SIZE).fit_transform(X_train[:4])
    batch = [(x, np.int64(label)) for x, label in zip(X, y_train[:4])]
    torch.manual_seed(0)
    X_aug, y_aug = augment(batch)
    assert X_aug.shape == (4, 1, SIZE, SIZE) and y_aug.tolist() == list(y_train[:4])
    assert not torch.allclose(X_aug, torch.from_numpy(X))
    X_flip, _ = TrainAugmentation(flip=1.0, max_rotation=0.0)(batch)
    np.testing.assert_array_equal(X_flip.numpy(), X[..., ::-1])
