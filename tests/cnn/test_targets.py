"""Soft targets (vote distributions), mixup/CutMix and random erasing in the CNN's training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from fersk.cnn import CNNClassifier, augment_batch
from fersk.cnn.augmentation import mix_batch
from fersk.cnn.labels import check_soft_targets, encode_labels


@pytest.fixture(scope="module")
def images():
    """Three classes told apart by where the image is bright (the net standardises brightness)."""
    rng = np.random.default_rng(0)
    y = np.repeat(["top", "left", "corner"], 30)
    X = rng.normal(60, 20, size=(90, 1, 16, 16))
    X[y == "top", :, :8, :] += 120
    X[y == "left", :, :, :8] += 120
    X[y == "corner", :, 8:, 8:] += 120
    return X.clip(0, 255).astype(np.uint8), y


def small(**params):
    settings = {"max_epochs": 6, "lr": 3e-3, "batch_size": 16, "train_split": None}
    return CNNClassifier(module__width=0.125, **{**settings, **params})


def test_soft_targets_move_the_confidence_to_the_vote_shares(images, one_thread):
    X, y = images
    classes = np.array(["corner", "left", "top"])
    hard = small().fit(X, y)
    votes = np.where(classes[None, :] == y[:, None], 0.6, 0.2)  # annotators split 60/20/20
    soft = small().fit(X, y, soft_targets=votes)
    assert soft.classes_.tolist() == classes.tolist()
    assert (soft.predict(X) == y).mean() > 0.9
    # Trained on 60% votes, the net is much less sure than one trained on hard labels.
    assert soft.predict_proba(X).max(axis=1).mean() < hard.predict_proba(X).max(axis=1).mean() - 0.1


def test_soft_targets_are_checked_and_named(images):
    X, y = images
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_classes\) = \(90, 3\)"):
        small().fit(X, y, soft_targets=np.ones((90, 2)))
    bad = np.ones((90, 3))
    bad[7] = [0, -1, 2]
    with pytest.raises(ValueError, match="row 7"):
        small().fit(X, y, soft_targets=bad)


def test_grid_search_slices_soft_targets_with_the_folds(images, one_thread):
    X, y = images
    votes = np.where(np.array(["corner", "left", "top"])[None, :] == y[:, None], 0.8, 0.1)
    search = GridSearchCV(small(max_epochs=2), {"lr": [1e-3, 3e-3]}, cv=3)
    search.fit(X, y, soft_targets=votes)  # each fit gets its training rows' targets
    assert search.best_estimator_.predict_proba(X).shape == (90, 3)


def test_mixup_and_cutmix_mix_images_and_targets_alike():
    torch.manual_seed(0)
    X = torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8) * 100])
    y = torch.tensor([0, 1])
    for kind in ({"mixup": 1.0}, {"cutmix": 1.0}):
        mixed, targets = mix_batch(X, y, 2, **kind)
        # The share of class 1 in each target is the share of image 1's pixels.
        share = mixed.mean(dim=(1, 2, 3)) / 100
        np.testing.assert_allclose(targets[:, 1].numpy(), share.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="mixup > 0 or cutmix > 0"):
        mix_batch(X, y, 2)


def test_training_with_mixup_still_learns(images, one_thread):
    X, y = images
    net = small(mixup=0.2, cutmix=1.0, max_epochs=8).fit(X, y)
    assert (net.predict(X) == y).mean() > 0.8


def test_random_erasing_sets_a_rectangle_to_the_mean():
    torch.manual_seed(0)
    x = torch.arange(400.0).reshape(1, 1, 20, 20).repeat(8, 1, 1, 1)
    out = augment_batch(x, flip=0, max_rotation=0, erase=1.0)
    for image, original in zip(out, x):
        changed = image != original
        assert 0.02 * 400 * 0.5 <= changed.sum() <= 0.25 * 400 * 1.1
        assert torch.allclose(image[changed], original.mean().expand(int(changed.sum())))
    assert torch.equal(augment_batch(x, flip=0, max_rotation=0, erase=0.0), x)


def test_labels_encode_and_soft_rows_normalise():
    assert encode_labels(["b", "a"], np.array(["a", "b"])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="'c', which is not among"):
        encode_labels(["c"], np.array(["a", "b"]))
    rows = check_soft_targets([[2, 2], [0, 5]], 2, np.array(["a", "b"]))
    np.testing.assert_allclose(rows, [[0.5, 0.5], [0, 1]])
