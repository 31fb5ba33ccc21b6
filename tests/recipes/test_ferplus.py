"""fersk.recipes.ferplus: a recipe is a CNNClassifier with every one of its settings, trained
against vote shares in a folder that keeps its checkpoint and its recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fersk.cnn import CompactCNN, TrainAugmentation
from fersk.recipes.ferplus import MEMBERS, CNNRecipe, train_member

pytestmark = pytest.mark.usefixtures("one_thread")

RECIPE = CNNRecipe(
    width=0.5, depth=1, size=48, epochs=2, lr=1e-3, weight_decay=1e-4, batch_size=8, seed=7,
    augment={"flip": 1.0, "max_rotation": 5.0}, mixup=0.2, cutmix=0.1, label_smoothing=0.05,
    dropout=0.1,
)  # fmt: skip


def _arrays(n: int = 12, classes=("happiness", "neutral", "sadness")) -> dict:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (n, 1, 48, 48), dtype=np.uint8)
    y = np.array(classes)[np.arange(n) % len(classes)]
    soft = np.eye(len(classes), dtype=np.float32)[np.arange(n) % len(classes)] * 0.7 + 0.1
    return {"train": (X, y, soft, list(classes)), "val": (X[:6], y[:6], soft[:6], list(classes))}


def test_the_classifier_carries_every_setting_of_the_recipe(tmp_path):
    net = RECIPE.classifier(checkpoint_dir=tmp_path / "cp", verbose=0)
    params = net.get_params()
    assert net.module is CompactCNN and params["optimizer"] is torch.optim.AdamW
    expected = {
        "module__width": 0.5, "module__depth": 1, "module__dropout": 0.1, "lr": 1e-3,
        "optimizer__weight_decay": 1e-4, "criterion__label_smoothing": 0.05, "batch_size": 8,
        "max_epochs": 2, "schedule": "onecycle", "train_split": None, "mixup": 0.2,
        "cutmix": 0.1, "tta": True, "checkpoint_dir": str(tmp_path / "cp"), "random_state": 7,
        "verbose": 0,
    }  # fmt: skip
    assert {k: params[k] for k in expected} == expected
    augment = params["iterator_train__collate_fn"]
    assert isinstance(augment, TrainAugmentation)
    assert augment == TrainAugmentation(flip=1.0, max_rotation=5.0)
    assert CNNRecipe().classifier().get_params()["checkpoint_dir"] is None


def test_a_validation_set_is_the_split_every_epoch_is_scored_on():
    X = np.zeros((4, 1, 48, 48), np.uint8)
    codes = np.array([0, 1, 0, 1])
    net = RECIPE.classifier(valid=(X, codes))
    _, valid = net.train_split(None)  # skorch's predefined split ignores what it is given
    np.testing.assert_array_equal(valid.X, X)
    np.testing.assert_array_equal(valid.y, codes)


def test_the_members_are_two_seeds_one_with_mixup():
    a, b = MEMBERS["a"], MEMBERS["b"]
    assert (a.seed, a.mixup) == (0, 0.0) and (b.seed, b.mixup) == (1, 0.2)
    assert a.epochs == b.epochs and a.size == b.size == 48


def test_train_member_fits_on_vote_shares_and_keeps_its_recipe_and_checkpoint(tmp_path):
    arrays = _arrays()
    net = train_member(RECIPE, arrays, tmp_path / "a", verbose=0)
    assert net.classes_.tolist() == ["happiness", "neutral", "sadness"]
    assert len(net.history) == 2 and np.isfinite(net.history[-1, "valid_loss"])
    assert json.loads((tmp_path / "a" / "recipe.json").read_text())["seed"] == 7
    assert (tmp_path / "a" / "checkpoint" / "params.pt").is_file()
    again = train_member(RECIPE, arrays, tmp_path / "a", verbose=0)  # resumes: nothing left
    assert len(again.history) == 2
    np.testing.assert_allclose(
        again.predict_proba(arrays["val"][0]), net.predict_proba(arrays["val"][0]), atol=1e-6
    )
    other = dict(arrays, val=(*arrays["val"][:3], ["neutral", "happiness", "sadness"]))
    with pytest.raises(ValueError, match="FER\\+ val classes .* differ from train's"):
        train_member(RECIPE, other, tmp_path / "b", verbose=0)
