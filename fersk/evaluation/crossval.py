"""Cross-validation with WAR/UAR per fold, subject ids passed where they belong.

:func:`cross_val_war_uar` runs any protocol given as a scikit-learn splitter
or as explicit ``(train, test)`` index pairs (DFEW's five official folds,
:func:`fersk.datasets.dfew_cv`) and reports what FER papers report: WAR and
UAR per fold, their mean and standard deviation, per-subject accuracy, and
the out-of-fold predictions. Subject ids (``groups``) drive ``GroupKFold``
*and* reach every step that requests them (a
:class:`~fersk.SubjectNeutralizer`) in both ``fit`` and ``predict``, through
scikit-learn's metadata routing, which is enabled for these calls only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from numbers import Integral

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.model_selection import check_cv
from tqdm.auto import tqdm

from .._core._sklearn_compat import _safe_indexing
from .metrics import fold_summary, per_class_recall, per_subject_accuracy, war_uar

__all__ = ["cross_val_war_uar"]


def cross_val_war_uar(
    estimator,
    X,
    y,
    *,
    cv=5,
    groups=None,
    route_groups: bool = True,
    allow_shared_subjects: bool = False,
    progress: bool = False,
) -> dict:
    """Fit and score ``estimator`` on each fold; WAR/UAR per fold and overall.

    Parameters
    ----------
    estimator : estimator
        Cloned for every fold.
    X : array-like or list
        Samples (feature rows, image paths, clips); indexed per fold.
    y : array-like of shape (n_samples,)
    cv : int, splitter or iterable of (train, test) index arrays, default=5
        An int means ``GroupKFold`` when ``groups`` is given (subject-
        independent folds), else ``StratifiedKFold``.
    groups : array-like of shape (n_samples,), optional
        Subject ids: used by the splitter, reported per subject, and, with
        ``route_groups``, passed to ``fit`` and ``predict`` of the estimator.
    route_groups : bool, default=True
        Pass ``groups`` to the ``fit`` and ``predict`` of the estimator that
        request them through metadata routing (a :class:`~fersk.SubjectNeutralizer`
        does; routing is enabled for the call). An estimator that requests
        none gets none, so the same call scores a baseline without
        conditioning. False: never pass them.
    allow_shared_subjects : bool, default=False
        With ``groups``, a fold whose train and test share a subject is an
        error (the protocol would not be subject-independent) unless this is
        True.
    progress : bool, default=False
        A tqdm bar over folds.

    Returns
    -------
    dict
        ``folds`` (per fold: ``war``, ``uar``, ``n``, ``fit_s``,
        ``predict_s``), ``war_mean``, ``war_std``, ``uar_mean``, ``uar_std``,
        ``n_folds``, ``pooled`` (WAR/UAR of all out-of-fold predictions),
        ``per_class_recall`` (pooled), ``per_subject`` (if ``groups``) and
        ``y_pred`` (out-of-fold predictions, ``None`` for samples in no test
        fold).

    See Also
    --------
    sklearn.model_selection.cross_validate : scikit-learn's cross-validation.
    fersk.datasets.dfew_cv : DFEW's five official folds, as ``cv``.
    fersk.evaluation.metrics.fold_summary : The mean and spread over folds.
    fersk.evaluation.metrics.GroupScorer : Scores folds with subject ids inside ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.r_[np.zeros((10, 1)), np.ones((10, 1))]
    >>> y = np.r_[np.zeros(10, int), np.ones(10, int)]
    >>> r = cross_val_war_uar(DecisionTreeClassifier(), X, y, cv=5)
    >>> r["war_mean"], r["n_folds"], len(r["y_pred"])
    (1.0, 5, 20)
    """
    y = np.asarray(y)
    n = len(y)
    if groups is not None:
        groups = np.asarray(groups, dtype=object)
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} ids for {n} samples")
    folds = _folds(cv, y, groups, allow_shared_subjects)
    # Only to the methods that consume them: with routing on, scikit-learn refuses
    # metadata that nothing requested (a baseline pipeline without a neutralizer).
    fit_route, predict_route = (
        _consumes_groups(estimator) if groups is not None and route_groups else (False, False)
    )
    y_pred = np.full(n, None, dtype=object)
    results = []
    for train, test in tqdm(folds, desc="folds", disable=not progress, leave=False):
        model = clone(estimator)
        fit_params, predict_params = {}, {}
        if fit_route:
            fit_params = {"groups": groups[train]}
        if predict_route:
            predict_params = {"groups": groups[test]}
        with sklearn.config_context(enable_metadata_routing=fit_route or predict_route):
            start = time.perf_counter()
            model.fit(_safe_indexing(X, train), y[train], **fit_params)
            fitted = time.perf_counter()
            predicted = model.predict(_safe_indexing(X, test), **predict_params)
            done = time.perf_counter()
        y_pred[test] = list(predicted)
        results.append(
            {
                **war_uar(y[test], predicted),
                "fit_s": fitted - start,
                "predict_s": done - fitted,
            }
        )
    summary = fold_summary(results)
    scored = np.array([p is not None for p in y_pred])
    y_scored = y_pred[scored].astype(y.dtype) if y.dtype != object else y_pred[scored]
    summary["pooled"] = war_uar(y[scored], y_scored)
    summary["per_class_recall"] = per_class_recall(y[scored], y_scored)
    if groups is not None:
        summary["per_subject"] = per_subject_accuracy(y[scored], y_scored, groups[scored])
    summary["y_pred"] = y_pred
    return summary


def _consumes_groups(estimator) -> tuple[bool, bool]:
    """Whether ``fit`` and ``predict`` of ``estimator`` take ``groups``.

    Either the estimator's own method names ``groups`` (a top-level argument
    needs no routing request), or one of its parts requests them through
    metadata routing (a neutralizer inside a pipeline).
    """
    import inspect

    from sklearn.utils.metadata_routing import get_routing_for_object

    def named(method: str) -> bool:
        try:
            params = inspect.signature(getattr(estimator, method)).parameters
        except (AttributeError, TypeError, ValueError):
            return False
        return "groups" in params

    with sklearn.config_context(enable_metadata_routing=True):
        routing = get_routing_for_object(estimator)
        return (
            named("fit") or bool(routing.consumes("fit", ["groups"])),
            named("predict") or bool(routing.consumes("predict", ["groups"])),
        )


def _folds(cv, y, groups, allow_shared) -> list[tuple[np.ndarray, np.ndarray]]:
    if isinstance(cv, Iterable) and not hasattr(cv, "split"):
        folds = [(np.asarray(a), np.asarray(b)) for a, b in cv]
    else:
        if isinstance(cv, Integral) and groups is not None:
            from sklearn.model_selection import GroupKFold

            cv = GroupKFold(n_splits=cv)
        splitter = check_cv(cv, y, classifier=True)
        folds = list(splitter.split(np.zeros((len(y), 1)), y, groups))
    if not folds:
        raise ValueError("cv gave no folds")
    for k, (train, test) in enumerate(folds):
        if groups is None or allow_shared:
            continue
        shared = sorted(set(groups[train].tolist()) & set(groups[test].tolist()), key=str)
        if shared:
            raise ValueError(
                f"fold {k}: subjects {shared[:5]} are in both train and test; use a "
                "subject-independent splitter such as GroupKFold (or pass "
                "allow_shared_subjects=True)"
            )
    return folds
