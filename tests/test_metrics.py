import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import cross_validate

from fersk.evaluation.metrics import (
    SCORING,
    grouped_war_uar,
    per_class_recall,
    uar_score,
    war_score,
)


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
