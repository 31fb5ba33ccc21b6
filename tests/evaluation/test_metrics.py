"""fersk.evaluation.metrics: WAR and UAR, overall, per group and per subject, as scorers that
cross-validation and searches can use."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline

from fersk import SubjectNeutralizer
from fersk.evaluation.metrics import (
    SCORING,
    GroupScorer,
    fold_summary,
    grouped_war_uar,
    per_class_recall,
    per_subject_accuracy,
    uar_score,
    war_score,
)
from tests.features.test_subject import make_subject_data


def test_war_and_uar_differ_on_imbalanced_data():
    y_true = np.array([0] * 90 + [1] * 10)
    y_pred = np.zeros(100, dtype=int)  # always the majority class
    assert war_score(y_true, y_pred) == 0.9
    assert uar_score(y_true, y_pred) == 0.5
    assert per_class_recall(y_true, y_pred) == {0: 1.0, 1: 0.0}


def test_grouped_report():
    r = grouped_war_uar([0, 1, 1, 0], [0, 1, 0, 0], groups=["a", "a", "b", "b"])
    assert r["overall"] == {"war": 0.75, "uar": 0.75, "n": 4}
    assert r["groups"]["a"]["war"] == 1.0 and r["groups"]["b"]["uar"] == 0.5


def test_scorers_in_cross_validate():
    X = np.zeros((40, 1))
    y = np.array([0] * 30 + [1] * 10)
    scores = cross_validate(DummyClassifier(), X, y, scoring=SCORING, cv=2)
    np.testing.assert_allclose(scores["test_war"], 0.75)
    np.testing.assert_allclose(scores["test_uar"], 0.5)


def test_group_scorer_needs_routing_in_cv():
    X, y, groups = make_subject_data(n_subjects=4)
    pipe = make_pipeline(SubjectNeutralizer(), LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_val_score(
            pipe,
            X,
            y,
            cv=GroupKFold(2),
            scoring=GroupScorer("uar"),
            params={"groups": groups},
        )
    assert scores.min() > 0.9
    with pytest.raises(ValueError, match="'war' or 'uar'"):
        GroupScorer("f1")


def test_fold_summary_and_per_subject():
    s = fold_summary([{"war": 0.2, "uar": 0.1}, {"war": 0.4, "uar": 0.3}, {"war": 0.6, "uar": 0.2}])
    assert s["war_mean"] == pytest.approx(0.4)
    assert s["war_std"] == pytest.approx(np.std([0.2, 0.4, 0.6]))
    r = per_subject_accuracy([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["a", "a", "b", "b", "c"])
    assert r["subjects"]["c"] == {"accuracy": 0.0, "n": 1}
    assert r["worst"][0] == "c" and r["min"] == 0.0 and r["max"] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        per_subject_accuracy([0], [0, 1], ["a"])
