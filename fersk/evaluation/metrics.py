"""WAR and UAR, the two numbers every FER paper reports, and scorers for them.

* **WAR** (weighted average recall) is plain accuracy: recall of each class
  weighted by its share of the test set.
* **UAR** (unweighted average recall) is the mean of per-class recalls, so a
  rare class (FER2013 disgust: 1.5% of images) counts as much as a common one.

In ``GridSearchCV`` use ``scoring=SCORING, refit="uar"`` (or the plain names
``"war"``/``"uar"`` via :data:`SCORING`), which map to scikit-learn's
``accuracy`` and ``balanced_accuracy`` scorers. When the pipeline holds a
:class:`~fersk.SubjectNeutralizer`, use :data:`GROUP_SCORING`: its scorers
pass each test fold's subject ids (``groups``) on to ``predict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, get_scorer, recall_score
from sklearn.utils.metadata_routing import MetadataRequest

__all__ = [
    "GROUP_SCORING",
    "expected_calibration_error",
    "SCORING",
    "GroupScorer",
    "fold_summary",
    "grouped_war_uar",
    "per_class_recall",
    "per_subject_accuracy",
    "uar_score",
    "war_score",
    "war_uar",
]

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

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like or None, default=None
        The classes to report, in this order; default: the classes of
        ``y_true``, sorted.

    Returns
    -------
    dict
        ``{label: recall}``; a class without true samples has recall 0.

    See Also
    --------
    fersk.evaluation.metrics.war_uar : WAR and UAR, whose UAR is the mean of these recalls.
    sklearn.metrics.recall_score : The recall computation.

    Examples
    --------
    >>> per_class_recall([0, 0, 1, 1], [0, 1, 1, 1])
    {0: 0.5, 1: 1.0}
    """
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    recalls = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0.0)
    return {
        label.item() if hasattr(label, "item") else label: float(r)
        for label, r in zip(labels, recalls)
    }


def war_uar(y_true, y_pred) -> dict:
    """``{"war": ..., "uar": ..., "n": ...}`` for one set of predictions.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.

    Returns
    -------
    dict
        ``war`` (accuracy), ``uar`` (mean per-class recall over the classes
        of ``y_true``) and ``n`` (the number of samples).

    See Also
    --------
    fersk.evaluation.metrics.grouped_war_uar : The same, overall and per group.
    fersk.evaluation.metrics.per_class_recall : The recall of each class.
    sklearn.metrics.balanced_accuracy_score : UAR in scikit-learn.

    Examples
    --------
    >>> war_uar([0, 1, 1], [0, 1, 0])
    {'war': 0.6666666666666666, 'uar': 0.75, 'n': 3}
    """
    return {"war": war_score(y_true, y_pred), "uar": uar_score(y_true, y_pred), "n": len(y_true)}


def grouped_war_uar(y_true, y_pred, groups) -> dict:
    """WAR/UAR overall and per group (e.g. per clarity level or subject).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    groups : array-like of shape (n_samples,)
        The group of each sample; missing values (NaN, None) form one group,
        keyed ``nan``.

    Returns
    -------
    dict
        ``overall``: :func:`war_uar` of all samples; ``groups``:
        ``{group: war_uar of its samples}``, sorted where the groups sort
        (else in order of first appearance), the missing group last.

    Raises
    ------
    ValueError
        When the three arrays differ in length.

    See Also
    --------
    fersk.evaluation.metrics.war_uar : WAR/UAR of one set of predictions.
    fersk.evaluation.metrics.per_subject_accuracy : Accuracy per subject, and its spread.
    fersk.study.evaluate : WAR/UAR per clarity level of a fitted pipeline.

    Examples
    --------
    >>> r = grouped_war_uar([0, 1, 0, 1], [0, 1, 1, 1], groups=[0, 0, 1, 1])
    >>> r["overall"]["war"], r["groups"][1]["war"]
    (0.75, 0.5)
    >>> list(grouped_war_uar([0, 1], [0, 0], groups=[0.0, np.nan])["groups"])  # NaN: its own
    [0.0, nan]
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    groups = np.asarray(groups, dtype=object).ravel()
    if not (len(y_true) == len(y_pred) == len(groups)):
        raise ValueError(
            f"y_true, y_pred and groups must have one entry per sample; got {len(y_true)}, "
            f"{len(y_pred)} and {len(groups)}"
        )
    result = {"overall": war_uar(y_true, y_pred), "groups": {}}
    # NaN (e.g. the clarity level of an unreadable image) is one group of its own.
    missing = np.asarray(pd.isna(groups), dtype=bool)
    # Distinct groups in first-appearance order, compared by value (ids may mix types).
    keys = list(dict.fromkeys(g.item() if hasattr(g, "item") else g for g in groups[~missing]))
    try:
        keys = sorted(keys)
    except TypeError:  # mixed types: first-appearance order
        pass
    for g in keys:
        mask = np.array([x == g and type(x) is type(g) for x in groups]) & ~missing
        result["groups"][g] = war_uar(y_true[mask], y_pred[mask])
    if missing.any():
        result["groups"][float("nan")] = war_uar(y_true[missing], y_pred[missing])
    return result


class GroupScorer:
    """A WAR or UAR scorer that predicts with the test samples' subject ids.

    scikit-learn's scorers call ``estimator.predict(X)`` with nothing else,
    so a :class:`~fersk.SubjectNeutralizer` inside a cross-validated pipeline
    would not learn whose face each test sample is. This scorer requests
    ``groups`` through metadata routing and calls
    ``estimator.predict(X, groups=groups)``. Needs
    ``sklearn.set_config(enable_metadata_routing=True)``.

    Parameters
    ----------
    metric : {"war", "uar"}, default="war"
        Accuracy, or the mean per-class recall.

    See Also
    --------
    fersk.evaluation.metrics.GROUP_SCORING : Both scorers, as ``scoring`` for ``GridSearchCV``.
    fersk.SubjectNeutralizer : The step that needs the test samples' ids.
    fersk.evaluation.crossval.cross_val_war_uar : Cross-validation that passes the ids itself.

    Examples
    --------
    >>> import numpy as np, sklearn
    >>> from sklearn.model_selection import GroupKFold, cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from fersk import SubjectNeutralizer
    >>> rng = np.random.default_rng(0)
    >>> subjects = np.repeat(np.arange(6), 10)
    >>> y = np.tile([0, 1], 30)
    >>> X = rng.normal(size=(60, 2)) * 0.1 + subjects[:, None] + y[:, None]
    >>> pipe = make_pipeline(SubjectNeutralizer(), DecisionTreeClassifier(random_state=0))
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_val_score(pipe, X, y, cv=GroupKFold(3), scoring=GroupScorer("war"),
    ...                              params={"groups": subjects})
    >>> scores.round(2).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, metric: str = "war") -> None:
        if metric not in ("war", "uar"):
            raise ValueError(f"metric must be 'war' or 'uar', got {metric!r}")
        self.metric = metric

    def __call__(self, estimator, X, y_true, groups=None) -> float:
        params = {} if groups is None else {"groups": groups}
        y_pred = estimator.predict(X, **params)
        return war_score(y_true, y_pred) if self.metric == "war" else uar_score(y_true, y_pred)

    def get_metadata_routing(self) -> MetadataRequest:
        """Request ``groups`` for ``score`` (scikit-learn metadata routing)."""
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="groups", alias=True)
        return request

    def __repr__(self) -> str:
        return f"GroupScorer({self.metric!r})"


#: Like :data:`SCORING`, passing the test fold's ``groups`` to ``predict``.
GROUP_SCORING: dict = {"war": GroupScorer("war"), "uar": GroupScorer("uar")}


def fold_summary(folds: Sequence[Mapping]) -> dict:
    """WAR and UAR per fold, and their mean and standard deviation over folds.

    Parameters
    ----------
    folds : sequence of dict
        One dict per fold with at least ``"war"`` and ``"uar"`` (as returned
        by :func:`war_uar`).

    Returns
    -------
    dict
        ``folds`` (the input dicts), ``war_mean``, ``war_std``, ``uar_mean``,
        ``uar_std`` (population standard deviation over folds), ``n_folds``.

    Examples
    --------
    >>> s = fold_summary([{"war": 0.5, "uar": 0.4}, {"war": 0.7, "uar": 0.6}])
    >>> round(s["war_mean"], 3), round(s["war_std"], 3), s["n_folds"]
    (0.6, 0.1, 2)
    """
    if not folds:
        raise ValueError("fold_summary needs at least one fold")
    summary: dict = {"folds": [dict(f) for f in folds], "n_folds": len(folds)}
    for key in ("war", "uar"):
        values = np.array([f[key] for f in folds], dtype=float)
        summary[f"{key}_mean"] = float(values.mean())
        summary[f"{key}_std"] = float(values.std())
    return summary


def per_subject_accuracy(y_true, y_pred, groups) -> dict:
    """Accuracy of each subject's samples, and how it spreads over subjects.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    groups : array-like of shape (n_samples,)
        The subject id of each sample.

    Returns
    -------
    dict
        ``subjects``: ``{subject: {"accuracy": ..., "n": ...}}`` in sorted
        order; ``mean``, ``std``, ``min``, ``max`` of the per-subject
        accuracies (each subject counts once); ``worst``: the five subjects
        with the lowest accuracy.

    Raises
    ------
    ValueError
        When the three arrays differ in length.

    See Also
    --------
    fersk.evaluation.metrics.grouped_war_uar : WAR/UAR per group, which this summarises.
    fersk.evaluation.crossval.cross_val_war_uar : Reports it for the out-of-fold predictions.

    Examples
    --------
    >>> r = per_subject_accuracy([0, 1, 0, 1], [0, 1, 1, 1], ["a", "a", "b", "b"])
    >>> r["subjects"]["b"], r["mean"]
    ({'accuracy': 0.5, 'n': 2}, 0.75)
    """
    y_true, y_pred, groups = map(np.asarray, (y_true, y_pred, groups))
    if not len(y_true) == len(y_pred) == len(groups):
        raise ValueError(
            f"y_true, y_pred and groups differ in length: {len(y_true)}, {len(y_pred)}, "
            f"{len(groups)}"
        )
    per_group = grouped_war_uar(y_true, y_pred, groups)["groups"]
    subjects = {k: {"accuracy": v["war"], "n": v["n"]} for k, v in per_group.items()}
    accuracies = np.array([v["accuracy"] for v in subjects.values()])
    worst = sorted(subjects, key=lambda k: subjects[k]["accuracy"])[:5]
    return {
        "subjects": subjects,
        "mean": float(accuracies.mean()),
        "std": float(accuracies.std()),
        "min": float(accuracies.min()),
        "max": float(accuracies.max()),
        "worst": worst,
    }


def expected_calibration_error(y_true, proba, classes, n_bins: int = 15) -> float:
    """How far a model's confidence is from its accuracy (ECE, Guo et al. 2017), from 0 to 1.

    The predictions are binned by confidence (the top probability) into
    ``n_bins`` equal-width bins; ECE is the mean, weighted by the bins' sizes,
    of ``|accuracy - mean confidence|`` in each bin. 0: a confidence of 0.8
    is right 80% of the time.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
        Probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    n_bins : int, default=15

    Returns
    -------
    float

    Examples
    --------
    >>> round(expected_calibration_error(["a", "b"], [[0.9, 0.1], [0.6, 0.4]], ["a", "b"]), 2)
    0.35
    """
    proba = np.asarray(proba, dtype=np.float64)
    confidence = proba.max(axis=1)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == np.asarray(y_true)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.sum() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total / len(confidence))
