"""fersk.recipes.plain: the default's head for faces without a person baseline, learned on the
network's log-probabilities and measured by person folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch

from fersk.recipes.plain import (
    _z,
    choose_plain_share,
    fit_plain_head,
    plain_inputs,
    plain_out_of_fold,
)


@pytest.fixture(scope="module")
def setup(cnn, posed_sets):
    """The posed sets' rows, ``X`` as face crops (40, 48, 48)."""
    X = posed_sets.X[:, 0]
    return Bunch(X=X, y=posed_sets.y, sets=posed_sets.sets,
                 inputs=plain_inputs(cnn, X, posed_sets.y, posed_sets.sets))  # fmt: skip


def test_inputs_are_the_calibrations_z(cnn, setup):
    from fersk.features.calibration import PersonCalibratedClassifier

    calibrated = PersonCalibratedClassifier(FrozenEstimator(cnn)).fit(setup.X[:8], setup.y[:8])
    np.testing.assert_allclose(setup.inputs.train[0][0], calibrated.log_proba(setup.X), rtol=1e-6)
    z, labels = setup.inputs.posed[0][1]
    np.testing.assert_allclose(z, calibrated.log_proba(setup.sets[1].crops), rtol=1e-6)
    assert labels.tolist() == setup.sets[1].y.tolist()


def test_the_head_learns_the_posed_faces_more_with_a_larger_share(setup):
    posed_z = np.vstack([z for z, _ in setup.inputs.posed[0]])
    posed_y = np.concatenate([y for _, y in setup.inputs.posed[0]])
    accuracy = [
        np.mean(fit_plain_head(setup.inputs, share).predict(posed_z) == posed_y)
        for share in (0.0, 0.9)
    ]
    assert accuracy[1] > accuracy[0]
    with pytest.raises(ValueError, match=r"share must be in \[0, 1\)"):
        fit_plain_head(setup.inputs, 1.0)


def test_in_the_default_it_answers_uncalibrated_faces_only(cnn, setup):
    from fersk.features.calibration import PersonCalibratedClassifier

    head = fit_plain_head(setup.inputs, 0.5)
    crops = [c for s in setup.sets for c in s.crops]
    y = np.concatenate([s.y for s in setup.sets])
    groups = np.concatenate([[f"{k}:{g}" for g in s.groups] for k, s in enumerate(setup.sets)])
    kw = {"head": "classwise", "few_photos": ()}
    plain = PersonCalibratedClassifier(FrozenEstimator(cnn), plain_head=FrozenEstimator(head), **kw)
    plain.fit(crops, y, groups=groups)
    own = PersonCalibratedClassifier(FrozenEstimator(cnn), **kw).fit(crops, y, groups=groups)
    z = _z(cnn, crops)
    order = [list(head.classes_).index(c) for c in plain.classes_]
    np.testing.assert_allclose(
        plain.predict_proba(crops), head.predict_proba(z)[:, order], rtol=1e-4
    )
    np.testing.assert_array_equal(
        plain.predict_proba(crops, groups=groups), own.predict_proba(crops, groups=groups)
    )


def test_out_of_fold_answers_do_not_depend_on_the_person_s_own_labels(cnn, setup):
    answers = plain_out_of_fold(cnn, setup.inputs, 0.5, n_folds=4)
    assert [a.shape for a in answers] == [(28, 8), (28, 8)]
    np.testing.assert_allclose(answers[0].sum(axis=1), 1, atol=1e-6)
    s = setup.sets[0]
    mine = s.groups == "s00"
    wrong = Bunch(**{**s, "y": np.where(mine, "contempt", s.y)})
    z = [z for z, _ in setup.inputs.posed[0]]
    inputs = plain_inputs(cnn, setup.X, setup.y, [wrong, setup.sets[1]], z_posed=z)
    changed = plain_out_of_fold(cnn, inputs, 0.5, n_folds=4)
    np.testing.assert_allclose(changed[0][mine], answers[0][mine], atol=1e-9)
    assert not np.allclose(changed[0][~mine], answers[0][~mine], atol=1e-4)
    own = plain_out_of_fold(cnn, setup.inputs, 0.0)  # no head: the network's own answers
    np.testing.assert_allclose(own[1], cnn.predict_proba(setup.sets[1].crops), atol=1e-5)


def test_choose_plain_share_takes_the_largest_within_the_cost(cnn, setup):
    shares = (0.0, 0.3, 0.6, 0.9)
    X_val, y_val = (
        [c for s in setup.sets for c in s.crops],
        np.concatenate([s.y for s in setup.sets]),
    )
    _, scores = choose_plain_share(cnn, setup.inputs, X_val, y_val, shares=shares, max_cost=100)
    own = np.mean(np.asarray(cnn.classes_)[_z(cnn, X_val).argmax(axis=1)] == y_val)
    assert scores[0.0]["war"] == pytest.approx(100 * own, abs=0.01)  # 0: no head
    wars = [scores[s]["war"] for s in shares]
    assert len(set(wars)) > 1
    for cost in sorted({max(wars[0] - w, 0) for w in wars}):
        share, _ = choose_plain_share(cnn, setup.inputs, X_val, y_val, shares=shares,
                                      max_cost=cost)  # fmt: skip
        assert share == max(s for s, w in zip(shares, wars) if w >= wars[0] - cost)


def test_out_of_fold_answers_are_a_head_learned_without_the_person_in_the_net_s_order(cnn, setup):
    from fersk.recipes.plain import _fit

    answers = plain_out_of_fold(cnn, setup.inputs, 0.5, n_folds=4)[1]
    s = setup.sets[1]
    mine = s.groups == s.groups[0]
    learn = [(z[~mine], y[~mine]) if k == 1 else (z, y)
             for k, (z, y) in enumerate(setup.inputs.posed[0])]  # fmt: skip
    head = _fit(setup.inputs.train[0], learn, 0.5, 1.0)  # the fold holds out this person only
    z_mine = setup.inputs.posed[0][1][0][mine]
    names = np.asarray(cnn.classes_)[answers[mine].argmax(axis=1)]
    assert names.tolist() == head.predict(z_mine).tolist()
    assert list(head.classes_) != list(cnn.classes_)  # the columns had to be reordered
