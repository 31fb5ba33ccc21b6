"""fersk.recipes.shipped: choosing members on validation, scoring, the int8 variant."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.recipes import members, shipped

CLASSES = np.array(["anger", "happiness", "sadness"])


class _Fixed:
    """A 'net' whose probabilities are given."""

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)

    def predict_proba(self, X):
        return self.proba[: len(X)]


def _arrays(y):
    return {"val": (np.zeros((len(y), 1, 4, 4)), np.asarray(y), None, CLASSES)}


def test_choose_ships_the_ensemble_only_when_it_beats_every_member():
    y = ["anger", "happiness", "sadness", "anger"]
    a = [[0.7, 0.3, 0], [0.6, 0.4, 0], [0, 0, 1], [1, 0, 0]]  # 3 of 4: wrong on the 2nd
    b = [[0.4, 0.6, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]  # 3 of 4: wrong on the 1st
    chosen, valid = members.choose({"a": _Fixed(a), "b": _Fixed(b)}, _arrays(y))
    assert valid["a"]["war"] == valid["b"]["war"] == 75.0
    assert valid["a+b"]["war"] == 100.0 and chosen == ["a", "b"]
    chosen, valid = members.choose({"a": _Fixed(a), "b": _Fixed(a)}, _arrays(y))
    assert chosen == ["a"]  # a tie is not a win: the cheaper model ships


def test_choose_ships_the_best_subset_not_the_vote_of_all():
    y = ["anger", "happiness", "sadness", "anger"]
    a = [[0.7, 0.3, 0], [0.6, 0.4, 0], [0, 0, 1], [1, 0, 0]]  # wrong on the 2nd
    b = [[0.4, 0.6, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]  # wrong on the 1st
    c = [[0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0]]  # always happiness: 1 of 4
    nets = {"c": _Fixed(c), "a": _Fixed(a), "b": _Fixed(b)}
    chosen, valid = members.choose(nets, _arrays(y))
    assert sorted(valid) == sorted(["a", "b", "c", "c+a", "c+b", "a+b", "c+a+b"])
    assert valid["c+a+b"]["war"] == 75.0 and valid["a+b"]["war"] == 100.0
    assert chosen == ["a", "b"]
    with pytest.raises(ValueError, match=r"may not hold '\+'"):
        members.choose({"a+b": _Fixed(a)}, _arrays(y))


def test_scores_report_war_uar_calibration_error_and_recall():
    y = np.array(["anger", "anger", "happiness", "sadness"])
    proba = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0, 1, 0], [0, 0.5, 0.5]])
    out = shipped._scores(y, proba, CLASSES)
    assert out["war"] == 50.0 and out["n"] == 4
    assert out["recall"] == {"anger": 50.0, "happiness": 100.0, "sadness": 0.0}
    assert out["uar"] == pytest.approx(50.0)
    assert 0 < out["ece"] < 100


def test_person_fold_scores_count_photos_without_a_face_as_errors():
    from sklearn.utils import Bunch

    faces = Bunch(y=np.array(["anger", "happiness"]), found=np.array([True, False, True]))
    proba = np.array([[0.9, 0.1, 0], [0.6, 0.4, 0]])
    out = shipped._folds_scores(faces, proba, CLASSES, {"faces_not_found": 1})
    assert out["war"] == 50.0 and out["n"] == 2 and out["person_folds"]
    assert out["war_with_missing"] == pytest.approx(100 / 3, abs=0.01)
    assert out["faces_not_found"] == 1
    with pytest.raises(RuntimeError, match="0 photos without a face through fersk predict"):
        shipped._folds_scores(faces, proba, CLASSES, {"faces_not_found": 0})


def test_int8_cnn_keeps_the_preprocessing_and_answers_as_the_float_model(cnn_sample):
    from sklearn.pipeline import Pipeline

    from fersk.features.preprocess import CNNPreprocessor
    from fersk.models import load_model

    float_model = load_model("cnn-fer2013")
    prep = CNNPreprocessor(48, dtype="uint8").fit()
    X = prep.transform(cnn_sample.data)
    cnn = Pipeline([("prep", prep), ("cnn", float_model[-1])])
    int8 = shipped.int8_cnn(cnn, X, n_calibration=len(X))
    assert int8[0] is prep
    agree = np.mean(int8.predict(X[:, 0]) == cnn.predict(X[:, 0]))
    assert agree >= 0.9


def test_the_prior_power_is_the_largest_within_the_war_budget():
    # 8 rows of a common class "a" the model is sure of, 2 rare "b" it leans away from
    proba = np.array([[0.9, 0.1]] * 6 + [[0.6, 0.4]] * 2 + [[0.6, 0.4]] * 2)
    y = ["a"] * 8 + ["b"] * 2
    prior = np.array([0.8, 0.2])
    power, scores = shipped.choose_prior_power(proba, y, ["a", "b"], prior, max_war_cost=0)
    # power 1 turns [0.6, 0.4] into b: +2 b right, -2 a wrong: same WAR, better UAR
    assert scores[0.0]["war"] == scores[1.0]["war"] == 80.0
    assert scores[0.0]["uar"] == 50.0 and scores[1.0]["uar"] == 87.5
    assert power == 1.0
    power, _ = shipped.choose_prior_power(proba, y, ["a", "b"], prior, powers=(0.0, 0.25))
    assert power == 0.25
    strict, _ = shipped.choose_prior_power(
        np.array([[0.6, 0.4]] * 4), ["a"] * 4, ["a", "b"], prior, max_war_cost=0
    )
    assert strict == 0.25  # 0.5 and above turn right answers wrong


def test_the_gpu_recipe_trains_the_shipped_network_longer_and_is_chosen_by_one_flag(monkeypatch):
    from argparse import Namespace

    from fersk.recipes.ferplus import MEMBERS

    for name in shipped.GPU_MEMBERS:
        gpu, cpu = MEMBERS[name], MEMBERS[name.removeprefix("gpu-")]
        assert (gpu.width, gpu.depth, gpu.size) == (cpu.width, cpu.depth, cpu.size)  # same size
        assert gpu.epochs > cpu.epochs and gpu.batch_size > cpu.batch_size and gpu.workers > 0
        assert gpu.classifier().get_params()["iterator_train__num_workers"] == gpu.workers
    assert shipped.members_of(Namespace(members=None, gpu=False)) == list(shipped.DEFAULT_MEMBERS)
    assert shipped.members_of(Namespace(members=["b"], gpu=False)) == ["b"]
    with pytest.raises(SystemExit, match="not both"):
        shipped.members_of(Namespace(members=["a"], gpu=True))
    monkeypatch.setattr(shipped, "_cuda", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA device here.*--members gpu-a gpu-b"):
        shipped.members_of(Namespace(members=None, gpu=True))
    monkeypatch.setattr(shipped, "_cuda", lambda: True)
    assert shipped.members_of(Namespace(members=None, gpu=True)) == list(shipped.GPU_MEMBERS)
    with pytest.raises(SystemExit, match="unknown members"):
        shipped.members_of(Namespace(members=["z"], gpu=False))
