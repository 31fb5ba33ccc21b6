"""fersk.recipes.fer2013: the held-out split, fine-tuning a FER+ member onto FER2013's labels."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch

from fersk.recipes import fer2013
from fersk.recipes.ferplus import MEMBERS

FER2013 = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]
FERPLUS = [*FER2013, "contempt"]
RECIPE = dataclasses.replace(MEMBERS["a"], epochs=1, batch_size=32, width=0.125, depth=1)


def _images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 1, 48, 48), dtype=np.uint8)


@pytest.fixture(scope="module")
def source():
    """A small fitted 'FER+ member': 8 classes, in an order unlike FER2013's sorted one."""
    X = _images(64, 0)
    y = np.array(FERPLUS * 8)
    net = RECIPE.classifier(verbose=0)
    net.set_params(classes=FERPLUS[::-1], train_split=None)
    return net.fit(X, y)


def _arrays(n_per_class=20):
    y = np.repeat(FER2013, n_per_class)
    return {"train": (_images(len(y), 1), y, [f"f{i}.png" for i in range(len(y))])}


def test_held_out_is_a_stratified_seeded_twentieth():
    y = np.repeat(FER2013, 40)
    mask = fer2013.held_out(y)
    assert mask.sum() == 14 and np.array_equal(mask, fer2013.held_out(y))
    assert all(mask[y == c].sum() == 2 for c in FER2013)


def test_fine_tuning_starts_as_the_source_network_with_its_output_rows_picked_by_name(source):
    X, y, _ = _arrays()["train"]
    net = RECIPE.classifier(verbose=0).set_params(train_split=None, module__width=0.5)
    net._prepare(X, y)
    fer2013._start_from(net, source)
    assert list(net.classes_) == FER2013 and net.module__width == source.module__width
    last = fer2013._last_linear(source.module_)
    rows = [list(source.classes_).index(c) for c in FER2013]
    theirs, ours = source.module_.state_dict(), net.module_.state_dict()
    assert set(theirs) == set(ours)
    for key, value in theirs.items():  # BatchNorm buffers included
        expected = value[rows] if key.startswith(f"{last}.") else value
        torch.testing.assert_close(ours[key], expected, msg=key)
    assert ours[f"{last}.bias"].shape == (7,)


def test_fine_tune_learns_and_a_rerun_resumes_from_its_checkpoint(source, tmp_path):
    arrays = _arrays()
    net = fer2013.fine_tune(source, arrays, tmp_path / "run", recipe=RECIPE, verbose=0)
    assert len(net.history) == 1 and not net.interrupted_
    conv = "features.0.0.weight"
    assert not torch.allclose(net.module_.state_dict()[conv], source.module_.state_dict()[conv])
    proba = net.predict_proba(arrays["train"][0][:5])
    again = fer2013.fine_tune(source, arrays, tmp_path / "run", recipe=RECIPE, verbose=0)
    assert again.history[-1]["dur"] == net.history[-1]["dur"]  # loaded, not trained again
    np.testing.assert_allclose(again.predict_proba(arrays["train"][0][:5]), proba, atol=1e-6)


def test_a_fine_tuning_from_another_source_never_resumes_the_first_ones_checkpoint(
    source, tmp_path
):
    arrays = _arrays()
    first = fer2013.fine_tune(source, arrays, tmp_path, recipe=RECIPE, verbose=0)
    other = copy.deepcopy(source)
    with torch.no_grad():
        for value in other.module_.parameters():
            value.mul_(0.5)
    second = fer2013.fine_tune(other, arrays, tmp_path, recipe=RECIPE, verbose=0)
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == sorted(f"from-{fer2013.source_digest(n)[:12]}" for n in (source, other))
    assert second.history[-1]["dur"] != first.history[-1]["dur"]  # trained, not resumed


def test_fine_tune_refuses_a_source_without_one_of_the_classes(source, tmp_path):
    X = _images(16, 2)
    small = RECIPE.classifier(verbose=0).set_params(train_split=None)
    small.fit(X, np.array(["anger", "happiness"] * 8))
    with pytest.raises(ValueError, match=r"no output for \['disgust', 'fear'"):
        fer2013.fine_tune(small, _arrays(), tmp_path / "x", recipe=RECIPE, verbose=0)


@pytest.mark.slow
def test_fer2013_models_train_choose_and_answer_on_crops(source, tmp_path, monkeypatch):
    import cv2

    rng = np.random.default_rng(3)
    folders = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    for split, prefix, n in [("train", "Training", 20), ("test", "PublicTest", 2),
                             ("test", "PrivateTest", 1)]:  # fmt: skip
        for folder in folders:
            (tmp_path / "fer2013" / split / folder).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                image = rng.integers(0, 256, (48, 48), dtype=np.uint8)
                cv2.imwrite(str(tmp_path / "fer2013" / split / folder / f"{prefix}_{i}.png"), image)
    monkeypatch.setattr(fer2013, "SCRATCH", RECIPE)
    monkeypatch.setattr(fer2013, "FINE_TUNE", {"epochs": 1, "batch_size": 32})
    said = []
    out = fer2013.fer2013_models(tmp_path, tmp_path / "work", source, say=said.append)
    record = out["record"]
    assert set(out["models"]) == {"cnn-fer2013", "landmarks-fer2013"}
    assert record["public_test"]["n"] == 14  # choices on PublicTest only
    assert set(record["history"]) == {"scratch", "fine-tuned"}
    scores = {k.removeprefix("cnn-fer2013 "): v for k, v in record["public_test"].items()}
    best = max(["scratch", "fine-tuned"], key=scores.get)
    ensemble = scores["scratch+fine-tuned"] > scores[best]
    assert record["chosen"] == (["scratch", "fine-tuned"] if ensemble else [best])
    assert set(record["views"]) == {"True", "crops"}
    crops = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    for model in out["models"].values():
        assert list(model.classes_) == FER2013
        proba = model.predict_proba(crops)
        assert proba.shape == (3, 7) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert any("PublicTest" in line for line in said)
    cnn = out["models"]["cnn-fer2013"]
    assert cnn[0].size == 48 and cnn[0].dtype == "uint8"  # the shipped pipeline's input
    nets = list(cnn[-1].estimators_) if hasattr(cnn[-1], "estimators_") else [cnn[-1]]
    views = record["views"]
    assert record["tta"] == ("crops" if views["crops"] > views["True"] else True)
    assert {n.tta for n in nets} == {record["tta"]}
