"""fersk.cnn.labels: labels checked before a training starts -- none missing, one type, classes
not repeated -- and class names that fit the classes."""

from __future__ import annotations

import math

import numpy as np
import pytest


@pytest.mark.bad_input("target-names-and-labels")
def test_target_names_and_labels_are_checked():
    from sklearn.dummy import DummyClassifier

    from fersk._core.pipeline_tools import class_names
    from fersk.cnn import CNNClassifier
    from fersk.evaluation.metrics import grouped_war_uar

    floats = DummyClassifier().fit([[0], [1]], [0.0, 1.0])
    assert class_names(floats, ["calm", "joy"]) == ["calm", "joy"]
    strings = DummyClassifier().fit([[0], [1]], ["a", "b"])
    with pytest.raises(ValueError, match="integer class codes"):
        class_names(strings, ["calm", "joy"])
    X = np.zeros((4, 1, 16, 16), np.float32)
    for y, needle in [
        ([None, "a", "b", "a"], "None labels"),
        ([np.nan, 1.0, 0.0, 1.0], "NaN labels"),
        ([1, "a", 1, "a"], "mixes string and number"),
    ]:
        with pytest.raises(ValueError, match=needle):
            CNNClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="repeated"):
        CNNClassifier(max_epochs=1, classes=[0, 1, 1]).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="one entry per sample"):
        grouped_war_uar([0, 1], [0, 1], groups=[0])
    report = grouped_war_uar([0, 1, 1], [0, 1, 0], groups=[1, "1", None])
    # Ids that differ only in type are two groups; a missing id is a group of its own, last.
    ids = list(report["groups"])
    assert ids[:2] == [1, "1"] and [type(g) for g in ids[:2]] == [int, str]
    assert len(ids) == 3 and isinstance(ids[2], float) and math.isnan(ids[2])
    assert [g["n"] for g in report["groups"].values()] == [1, 1, 1]
    assert [g["war"] for g in report["groups"].values()] == [1.0, 1.0, 0.0]
