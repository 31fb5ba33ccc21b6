"""fersk.recipes.posed: the CNN's output layer relearned with posed faces, measured by person
folds where no face is predicted by a layer that learned from its person."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch

from fersk.recipes.calibration import Remembered
from fersk.recipes.posed import (
    _output_layer,
    _weighted,
    choose_share,
    fit_output_layer,
    layer_inputs,
    out_of_fold,
    penultimate,
)


@pytest.fixture(scope="module")
def setup(cnn, posed_sets):
    s = posed_sets
    return Bunch(**s, inputs=layer_inputs(cnn, s.X, s.y, s.sets))


def _logits(net, X):
    layer = _output_layer(net.module_)
    F = penultimate(net, X)
    return F @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()


def test_penultimate_is_what_the_output_layer_reads(cnn, setup):
    net = cnn[-1]
    single = net.__class__.__new__(net.__class__)
    single.__dict__.update(net.__dict__)
    single.tta = False  # one view: the layer's output is exactly the net's logits
    logits = _logits(single, setup.X[:6])
    proba = torch.softmax(torch.as_tensor(logits), 1).numpy()
    np.testing.assert_allclose(proba, single.predict_proba(setup.X[:6]), atol=1e-5)
    assert penultimate(net, setup.X[:0]).shape == (0, 512)


def test_weights_give_the_posed_faces_their_share():
    F, y = np.zeros((30, 2)), np.array(["a"] * 30)
    posed = [(np.ones((4, 2)), np.array(["b"] * 4)), (np.ones((6, 2)), np.array(["c"] * 6))]
    rows, labels, weights = _weighted((F, y), posed, 0.25)
    assert len(rows) == len(labels) == 40
    assert weights[30:].sum() / weights.sum() == pytest.approx(0.25)
    assert np.all(weights[:30] == 1) and len(set(weights[30:])) == 1


def test_fit_output_layer_changes_only_the_copy_s_output_layer(cnn, setup):
    before = {k: v.clone() for k, v in cnn[-1].module_.state_dict().items()}
    refit = fit_output_layer(cnn, setup.inputs, 0.3)
    after, new = cnn[-1].module_.state_dict(), refit[-1].module_.state_dict()
    last = [k for k in new if k.startswith("classifier.") and "bias" in k][-1].rsplit(".", 1)[0]
    for key, value in new.items():
        assert torch.equal(after[key], before[key])  # the original is untouched
        same = torch.equal(value, before[key])
        assert same != key.startswith(last + "."), key  # only the output layer moved


def test_the_layer_answers_as_its_logistic_regression_in_the_net_s_class_order(cnn, setup):
    """Share 0: the layer is the regression on FER+'s rows; its classes (alphabetical) are
    mapped onto the net's order (anger ... neutral, contempt)."""
    F, y = setup.inputs.train[0]
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(F, y)
    refit = fit_output_layer(cnn, setup.inputs, 0.0)
    logits = _logits(refit[-1], setup.X)
    order = [list(lr.classes_).index(c) for c in refit.classes_]
    np.testing.assert_allclose(logits, lr.decision_function(F)[:, order], atol=1e-3)
    assert list(refit.classes_) != sorted(refit.classes_)  # the mapping is exercised


def test_posed_faces_move_the_layer_towards_their_labels(cnn, setup):
    """The more the posed faces weigh, the more of them the layer gets right."""
    faces = setup.sets[0]
    right = [
        np.mean(fit_output_layer(cnn, setup.inputs, share).predict(faces.crops) == faces.y)
        for share in (0.0, 0.5)
    ]
    assert right[1] > right[0]


def test_out_of_fold_answers_do_not_depend_on_the_person_s_own_labels(cnn, setup):
    answers = out_of_fold(cnn, setup.inputs, 0.5, n_folds=4)
    assert [a.shape for a in answers] == [(28, 8), (28, 8)]
    assert all(np.isfinite(a).all() for a in answers)
    np.testing.assert_allclose(answers[0].sum(axis=1), 1, atol=1e-5)
    # relabel person s00 of the first set: their answers stay, another person's move
    s = setup.sets[0]
    mine = s.groups == "s00"
    wrong = Bunch(**{**s, "y": np.where(mine, "contempt", s.y)})
    inputs = layer_inputs(cnn, setup.X, setup.y, [wrong, setup.sets[1]])
    changed = out_of_fold(cnn, inputs, 0.5, n_folds=4)
    np.testing.assert_allclose(changed[0][mine], answers[0][mine], atol=1e-6)
    assert not np.allclose(changed[0][~mine], answers[0][~mine], atol=1e-4)


def test_choose_share_takes_the_largest_within_the_cost(cnn, setup):
    X_val, y_val = setup.X[:, 0], setup.y  # the 'FER+' rows: share 0 fits them best
    shares = (0.0, 0.3, 0.6, 0.9)
    _, scores = choose_share(cnn, setup.inputs, X_val, y_val, shares=shares, max_valid_cost=100)
    wars = [scores[s]["war"] for s in shares]
    assert wars[0] > wars[-1]  # the posed faces cost these rows something
    for cost in sorted({wars[0] - w for w in wars}):
        share, _ = choose_share(cnn, setup.inputs, X_val, y_val, shares=shares,
                                max_valid_cost=cost)  # fmt: skip
        assert share == max(s for s, w in zip(shares, wars) if w >= wars[0] - cost)


def test_bad_share_and_missing_classes_are_errors(cnn, setup):
    with pytest.raises(ValueError, match=r"share must be in \[0, 1\)"):
        fit_output_layer(cnn, setup.inputs, 1.0)
    few = layer_inputs(cnn, setup.X[:10], setup.y[:10], [])
    with pytest.raises(ValueError, match="no training face of the classes"):
        fit_output_layer(cnn, few, 0.0)
    y = setup.y.copy()
    y[np.flatnonzero(y == "happiness")[0]] = "happy"  # a typo among good labels
    typo = layer_inputs(cnn, setup.X, y, [])
    with pytest.raises(ValueError, match=r"labels \['happy'\] are not among"):
        fit_output_layer(cnn, typo, 0.0)


class _Refusing:
    """A model that must never be asked: every answer has to come from ``Remembered``."""

    def __init__(self, classes):
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X):
        raise AssertionError("the model itself was asked")


def test_person_folds_calibrate_on_answers_no_layer_gave_with_the_person_seen(cnn, setup):
    """A calibration measured on out-of-fold answers (``Remembered``) never asks the model
    for those faces: not to learn the head, not to predict."""
    from fersk.recipes.calibration import leave_one_person_out

    sets = [Bunch(**s, neutral=s.y == "neutral") for s in setup.sets]
    answers = out_of_fold(cnn, setup.inputs, 0.5, n_folds=4)
    crops = [c for s in sets for c in s.crops]
    known = Remembered(_Refusing(cnn.classes_), crops, np.vstack(answers))
    runs = leave_one_person_out(known, sets[0], extra=[sets[1]], head="classwise", C=0.1)
    expected = np.asarray(cnn.classes_)[answers[0].argmax(axis=1)]
    assert runs["raw"][1].tolist() == expected.tolist()
    assert len(runs["mean"][1]) == len(runs["neutral"][1]) + 4  # a reference a person
    model = fit_output_layer(cnn, setup.inputs, 0.5)
    own = model.predict_proba(sets[0].crops)
    assert not np.allclose(own, answers[0], atol=1e-3)  # the shipped layer answers otherwise


def test_remembered_holds_its_faces_so_their_ids_stay_theirs(cnn):
    """Rows of an array are views made on the fly: remembered by id, they must be kept
    alive, or a later, unrelated face could take a freed id and its answer."""
    rng = np.random.default_rng(1)
    faces = rng.integers(0, 256, size=(8, 48, 48), dtype=np.uint8)
    known = Remembered(cnn, faces, proba=np.eye(8)[[7] * 8])  # 'contempt' for each
    others = rng.integers(0, 256, size=(8, 48, 48), dtype=np.uint8)  # rows: views too
    np.testing.assert_allclose(known.predict_proba(others), cnn.predict_proba(others))
    assert known.predict(known.crops).tolist() == ["contempt"] * 8


def test_remembered_checks_the_answers_shape(cnn):
    from fersk.models import reference_inputs

    with pytest.raises(ValueError, match="proba has shape"):
        Remembered(cnn, reference_inputs()[:2], proba=np.ones((3, 8)))
