"""Late fusion of the CNN baseline and the landmark pipeline: does geometry add to pixels?

Both members take the same input (image paths or arrays), so scikit-learn's
own meta-estimators combine them:

* ``kind="soft"``: :class:`~sklearn.ensemble.VotingClassifier` averaging the
  two ``predict_proba`` (optionally weighted);
* ``kind="stacking"``: :class:`~sklearn.ensemble.StackingClassifier`, a
  logistic regression on the members' out-of-fold probabilities (each member
  is trained ``cv + 1`` times: mind the CNN's cost).

:class:`~fersk.cnn.CNNClassifier` encodes any labels itself, exposes
``classes_`` and clones like any sklearn estimator, which is all these
meta-estimators need.
"""

from __future__ import annotations

from typing import Literal

from sklearn.base import BaseEstimator
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from .cnn import make_cnn_pipeline
from .study import make_study_pipeline

__all__ = ["make_fusion"]


def make_fusion(
    kind: Literal["soft", "stacking"] = "soft",
    *,
    cnn: BaseEstimator | None = None,
    landmarks: BaseEstimator | None = None,
    size: int = 100,
    channels: int = 1,
    weights: list[float] | None = None,
    final_estimator: BaseEstimator | None = None,
    cv: int = 3,
    memory=None,
    n_jobs: int | None = None,
    random_state: int | None = 0,
    **cnn_params,
) -> VotingClassifier | StackingClassifier:
    """Late fusion of the CNN pipeline and the landmark pipeline, on image paths.

    Parameters
    ----------
    kind : {"soft", "stacking"}, default="soft"
        Soft voting (mean of probabilities) or stacking.
    cnn : estimator or None
        Defaults to ``make_cnn_pipeline(size, channels, memory=memory,
        random_state=random_state, **cnn_params)``.
    landmarks : estimator or None
        Defaults to ``make_study_pipeline(68, routed=False, detector="none",
        memory=memory, n_jobs=n_jobs, random_state=random_state)`` (aligned
        face crops, one MLP on 68-point distances).
    size, channels : int
        Input of the default CNN pipeline.
    weights : list of 2 floats or None
        Soft-voting weights ``[cnn, landmarks]``.
    final_estimator : classifier or None
        Stacking's meta-classifier; default ``LogisticRegression(max_iter=1000)``.
    cv : int, default=3
        Stacking's folds (stratified, shuffled with ``random_state``).
    memory : None, str or joblib.Memory
        Cache of the CNN inputs and of the landmarks, shared by every refit.
    n_jobs : int or None
        Workers for image reading and landmark extraction.
    random_state : int or None, default=0
        Seed of both members and of the stacking folds.
    **cnn_params
        Passed to :class:`~fersk.cnn.CNNClassifier` (``max_epochs``, ``lr``...).

    Returns
    -------
    VotingClassifier or StackingClassifier
        With the members named ``"cnn"`` and ``"landmarks"``.

    See Also
    --------
    fersk.make_cnn_pipeline : The default CNN member.
    fersk.study.make_study_pipeline : The default landmark member.
    fersk._core.pipeline_tools.combine_fitted : A soft vote of members fitted separately.
    sklearn.ensemble.VotingClassifier : The soft-voting meta-estimator.

    Examples
    --------
    >>> fusion = make_fusion("soft", size=48, max_epochs=30)
    >>> [name for name, _ in fusion.estimators], fusion.voting
    (['cnn', 'landmarks'], 'soft')
    >>> fusion.get_params()["cnn__cnn__max_epochs"]
    30
    >>> type(make_fusion("stacking", size=48)).__name__
    'StackingClassifier'
    """
    if cnn is None:
        cnn = make_cnn_pipeline(
            size, channels, memory=memory, n_jobs=n_jobs, random_state=random_state, **cnn_params
        )
    elif cnn_params:
        raise ValueError("pass CNN settings either in cnn= or as keyword arguments, not both")
    if landmarks is None:
        landmarks = make_study_pipeline(
            68,
            routed=False,
            detector="none",
            memory=memory,
            n_jobs=n_jobs,
            random_state=random_state,
        )
    estimators = [("cnn", cnn), ("landmarks", landmarks)]
    if kind == "soft":
        return VotingClassifier(estimators, voting="soft", weights=weights)
    if kind == "stacking":
        if final_estimator is None:
            final_estimator = LogisticRegression(max_iter=1000)
        folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
        return StackingClassifier(
            estimators, final_estimator=final_estimator, cv=folds, stack_method="predict_proba"
        )
    raise ValueError(f"kind must be 'soft' or 'stacking', got {kind!r}")
