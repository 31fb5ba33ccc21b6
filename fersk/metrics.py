"""WAR and UAR, the two numbers every FER paper reports, and scorers for them.

* **WAR** (weighted average recall) is plain accuracy: recall of each class
  weighted by its share of the test set.
* **UAR** (unweighted average recall) is the mean of per-class recalls, so a
  rare class (FER2013 disgust: 1.5% of images) counts as much as a common one.

In ``GridSearchCV`` use ``scoring=SCORING, refit="uar"`` (or the plain names
``"war"``/``"uar"`` via :data:`SCORING`), which map to scikit-learn's
``accuracy`` and ``balanced_accuracy`` scorers.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, get_scorer, recall_score

__all__ = ["SCORING", "per_class_recall", "uar_score", "war_score", "war_uar", "grouped_war_uar"]

#: Multi-metric ``scoring`` for ``GridSearchCV``/``cross_validate``.
SCORING: dict = {"war": get_scorer("accuracy"), "uar": get_scorer("balanced_accuracy")}


def war_score(y_true, y_pred) -> float:
    """Weighted average recall (= accuracy).

    Examples
    --------
    >>> war_score([0, 0, 0, 1], [0, 0, 0, 0])
    0.75
    """
    return float(accuracy_score(y_true, y_pred))


def uar_score(y_true, y_pred) -> float:
    """Unweighted average recall: the mean recall over the classes in ``y_true``.

    Examples
    --------
    >>> uar_score([0, 0, 0, 1], [0, 0, 0, 0])
    0.5
    """
    return float(balanced_accuracy_score(y_true, y_pred))


def per_class_recall(y_true, y_pred, labels=None) -> dict:
    """Recall of each class, ``{label: recall}``.

    Examples
    --------
    >>> per_class_recall([0, 0, 1, 1], [0, 1, 1, 1])
    {0: 0.5, 1: 1.0}
    """
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    recalls = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0.0)
    return {label.item() if hasattr(label, "item") else label: float(r)
            for label, r in zip(labels, recalls)}


def war_uar(y_true, y_pred) -> dict:
    """``{"war": ..., "uar": ..., "n": ...}`` for one set of predictions.

    Examples
    --------
    >>> war_uar([0, 1, 1], [0, 1, 0])
    {'war': 0.6666666666666666, 'uar': 0.75, 'n': 3}
    """
    return {"war": war_score(y_true, y_pred), "uar": uar_score(y_true, y_pred), "n": len(y_true)}


def grouped_war_uar(y_true, y_pred, groups) -> dict:
    """WAR/UAR overall and per group (e.g. per clarity level or subject).

    Examples
    --------
    >>> r = grouped_war_uar([0, 1, 0, 1], [0, 1, 1, 1], groups=[0, 0, 1, 1])
    >>> r["overall"]["war"], r["groups"][1]["war"]
    (0.75, 0.5)
    """
    y_true, y_pred, groups = map(np.asarray, (y_true, y_pred, groups))
    result = {"overall": war_uar(y_true, y_pred), "groups": {}}
    for g in np.unique(groups):
        mask = groups == g
        key = g.item() if hasattr(g, "item") else g
        result["groups"][key] = war_uar(y_true[mask], y_pred[mask])
    return result
