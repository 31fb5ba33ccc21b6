"""Looking inside fitted models: walk nested estimators, find where landmarks enter, and
run a model with some steps' outputs given instead of computed.

Used by :func:`fersk.study.evaluate` (failure counts of every image step, in
any nesting), the video stream (it hands each step what it already has: the
tracker's landmarks to the landmark extractor's place, the face crop to the
steps that read pixels) and the command line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

__all__ = [
    "class_names",
    "combine_fitted",
    "find_steps",
    "iter_estimators",
    "predict_proba_with",
    "transform_with",
]


def _estimators_in(value) -> Iterator:
    """Estimators held by a parameter or attribute value (directly or in containers)."""
    if isinstance(value, BaseEstimator):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _estimators_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _estimators_in(item)


def _fitted_children(estimator) -> list:
    """Estimators a meta-estimator fitted as copies of its templates (``best_estimator_``...)."""
    children = []
    for key, value in vars(estimator).items():
        if key.endswith("_") and not key.startswith("_") and key != "classes_":
            children.extend(_estimators_in(value))
    return children


def iter_estimators(estimator, *, templates: bool = False) -> Iterator:
    """Yield ``estimator`` and every estimator nested in it, each once, outer first.

    Children are found through ``get_params(deep=False)`` (pipelines, unions,
    ``ClipLandmarkExtractor(extractor=...)``) and, for fitted meta-estimators
    that fit *copies* of their constructor estimators (``GridSearchCV``,
    ``ClarityRoutedClassifier``, ``VotingClassifier``, ``ColumnTransformer``...),
    through their fitted attributes (``best_estimator_``, ``estimators_``...):
    the fitted copies are what predicts, so the unfitted templates are skipped
    unless ``templates=True``.

    Parameters
    ----------
    estimator : estimator
        The model to walk (fitted or not).
    templates : bool, default=False
        Also walk the constructor estimators of fitted meta-estimators.

    Yields
    ------
    estimator
        ``estimator`` itself, then every nested estimator, depth first.

    See Also
    --------
    fersk._core.pipeline_tools.find_steps : The nested estimators of one type.
    fersk._core.fit_progress.verbose_mlps : Uses it to find a model's MLPs.

    Examples
    --------
    >>> from fersk.study import make_study_pipeline
    >>> names = [type(e).__name__ for e in iter_estimators(make_study_pipeline(5))]
    >>> names[:4]
    ['Pipeline', 'FeatureUnion', 'Pipeline', 'LandmarkExtractor']
    """
    seen: set[int] = set()

    def walk(est) -> Iterator:
        if id(est) in seen:
            return
        seen.add(id(est))
        yield est
        fitted = _fitted_children(est) if hasattr(est, "__dict__") else []
        params = []
        if hasattr(est, "get_params") and (templates or not fitted):
            params = est.get_params(deep=False).values()
        for child in [c for value in params for c in _estimators_in(value)] + fitted:
            yield from walk(child)

    yield from walk(estimator)


def find_steps(estimator, kind: type | tuple[type, ...]) -> list:
    """Every estimator of type ``kind`` nested in ``estimator`` (see :func:`iter_estimators`).

    Parameters
    ----------
    estimator : estimator
        The model to search (fitted or not).
    kind : type or tuple of types
        What to look for, as for ``isinstance``.

    Returns
    -------
    list
        The matching estimators, ``estimator`` itself included, outer first.

    See Also
    --------
    fersk._core.pipeline_tools.iter_estimators : Every nested estimator.
    fersk.study.evaluate : Counts the failures of a model's image steps with it.

    Examples
    --------
    >>> from fersk import LandmarkExtractor
    >>> from fersk.study import make_study_pipeline
    >>> [type(s).__name__ for s in find_steps(make_study_pipeline(5), LandmarkExtractor)]
    ['LandmarkExtractor']
    """
    return [e for e in iter_estimators(estimator) if isinstance(e, kind)]


def class_names(model, target_names=None) -> list[str]:
    """The names of a fitted classifier's classes, in ``predict_proba`` column order.

    String ``classes_`` name themselves. Integer classes are looked up in
    ``target_names`` (a list indexed by class code, as the loaders'
    ``target_names``), or in the model's ``target_names_`` (set by fersk 0.1's
    ``fersk train`` and demo, which fitted on integer codes).

    Parameters
    ----------
    model : fitted classifier
        Anything with ``classes_``.
    target_names : sequence of str or None, default=None
        Names indexed by integer class code.

    Returns
    -------
    list of str
        One name per class, in the order of ``classes_``.

    Raises
    ------
    ValueError
        When ``model`` has no ``classes_``, or ``target_names`` does not fit
        its classes (classes that are not integer codes, or too few names).

    See Also
    --------
    fersk._core.pipeline_tools.predict_proba_with : Probabilities whose columns these name.
    fersk.predict.predict_faces : Names its probability columns with them.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> class_names(DummyClassifier().fit([[0], [1]], ["happiness", "neutral"]))
    ['happiness', 'neutral']
    """
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ValueError(f"{type(model).__name__} has no classes_: is it a fitted classifier?")
    names = target_names if target_names is not None else getattr(model, "target_names_", None)
    if names is None:
        return [str(c) for c in classes]
    numeric = all(
        isinstance(c, (int, np.integer, float, np.floating)) and not isinstance(c, bool)
        for c in classes
    )
    if not numeric or any(c != int(c) or c < 0 for c in classes):
        if target_names is None:  # a stray attribute on a model whose classes name themselves
            return [str(c) for c in classes]
        raise ValueError(
            f"target_names names integer class codes (0, 1, ...), but the model's classes are "
            f"{list(classes)}; leave target_names out (such classes name themselves)"
        )
    names = list(names)
    if max(int(c) for c in classes) >= len(names):
        raise ValueError(f"target_names has {len(names)} names but classes_ is {list(classes)}")
    return [str(names[int(c)]) for c in classes]


def _accepted(method, params: Mapping) -> dict:
    """The entries of ``params`` that ``method`` takes as keyword arguments."""
    if not params:
        return {}
    accepted = inspect.signature(method).parameters
    return {k: v for k, v in params.items() if k in accepted}


def transform_with(
    estimator,
    X,
    *,
    provided: Mapping[int, object] | None = None,
    on_input: Mapping[int, Callable] | None = None,
    params: Mapping | None = None,
):
    """What ``estimator.transform(X)`` returns, with some steps' outputs given, not computed.

    Pipelines and feature unions are walked step by step (no joblib, no
    re-validation of the whole model), so a step listed in ``provided`` is
    never run: the video stream passes the tracker's landmarks for the
    landmark extractor and the face crop as ``X`` for the steps that read
    pixels (a clarity binner, a CNN input).

    Parameters
    ----------
    estimator : fitted transformer, Pipeline or FeatureUnion
    X : input of ``estimator``
    provided : mapping of ``id(step) -> output``, optional
        Steps whose output is given.
    on_input : mapping of ``id(step) -> callable(X_step)``, optional
        Called with the input a step receives, before it runs (e.g. to
        ``partial_fit`` a subject neutralizer on it).
    params : mapping, optional
        Metadata (``groups=``) passed to every ``transform`` that accepts it.

    Returns
    -------
    ndarray or object
        The transformed ``X``.

    See Also
    --------
    fersk._core.pipeline_tools.predict_proba_with : The same for a classifier's probabilities.
    fersk.video.VideoAnalyzer : Gives a model the landmarks its tracker has already found.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer, StandardScaler
    >>> double = FunctionTransformer(lambda X: 2 * X)
    >>> pipe = make_pipeline(double, StandardScaler()).fit(np.arange(4.0)[:, None])
    >>> given = np.array([[3.0]])  # as if `double` had returned it
    >>> float(transform_with(pipe, np.array([[100.0]]), provided={id(double): given})[0, 0])
    0.0
    """
    provided = provided or {}
    on_input = on_input or {}
    params = params or {}
    if id(estimator) in on_input:
        on_input[id(estimator)](X)
    if id(estimator) in provided:
        return provided[id(estimator)]
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            X = transform_with(step, X, provided=provided, on_input=on_input, params=params)
        return X
    if isinstance(estimator, FeatureUnion):
        weights = estimator.transformer_weights or {}
        parts = []
        for name, part in estimator.transformer_list:
            if part is None or (isinstance(part, str) and part == "drop"):
                continue
            if isinstance(part, str) and part == "passthrough":
                out = np.asarray(X)
            else:
                out = np.asarray(
                    transform_with(part, X, provided=provided, on_input=on_input, params=params)
                )
            parts.append(out * weights[name] if name in weights else out)
        return np.hstack(parts)
    return estimator.transform(X, **_accepted(estimator.transform, params))


def predict_proba_with(
    model,
    X,
    *,
    provided: Mapping[int, object] | None = None,
    on_input: Mapping[int, Callable] | None = None,
    params: Mapping | None = None,
) -> np.ndarray:
    """``model.predict_proba(X)`` (or a one-hot ``predict``), with some steps' outputs given.

    See :func:`transform_with`; the final step gets ``params`` too when its
    method accepts them (``groups`` for a routed classifier holding a subject
    neutralizer).

    Parameters
    ----------
    model : fitted classifier, Pipeline or soft-voting VotingClassifier
        A soft vote's members are each run this way, then averaged with its
        weights.
    X : input of ``model``
    provided : mapping of ``id(step) -> output``, optional
        Steps whose output is given.
    on_input : mapping of ``id(step) -> callable(X_step)``, optional
        Called with the input a step receives, before it runs.
    params : mapping, optional
        Metadata (``groups=``) passed to every method that accepts it.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        Probabilities in the order of ``classes_`` (one-hot rows for a final
        step without ``predict_proba``).

    See Also
    --------
    fersk._core.pipeline_tools.transform_with : The transformation part, on its own.
    fersk._core.pipeline_tools.class_names : The names of the columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), DummyClassifier()).fit([[0.0], [1.0]], [0, 1])
    >>> predict_proba_with(pipe, np.array([[5.0]])).tolist()
    [[0.5, 0.5]]
    """
    from sklearn.frozen import FrozenEstimator

    if isinstance(model, FrozenEstimator):  # a frozen model predicts as the one it holds
        model = model.estimator
    if isinstance(model, VotingClassifier) and model.voting == "soft":
        # Each member with what it is given, averaged as VotingClassifier averages them.
        kept = [w for (_, e), w in zip(model.estimators, model.weights or []) if e != "drop"]
        probas = [
            predict_proba_with(member, X, provided=provided, on_input=on_input, params=params)
            for member in model.estimators_
        ]
        return np.average(np.stack(probas), axis=0, weights=kept or None)
    final = model
    if isinstance(model, Pipeline):
        final = model.steps[-1][1]
        for _, step in model.steps[:-1]:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            X = transform_with(step, X, provided=provided, on_input=on_input, params=params)
    if on_input and id(final) in on_input:
        on_input[id(final)](X)
    if hasattr(final, "predict_proba"):
        return np.asarray(
            final.predict_proba(X, **_accepted(final.predict_proba, params or {})), dtype=float
        )
    labels = final.predict(X, **_accepted(final.predict, params or {}))
    classes = list(final.classes_)
    one_hot = np.zeros((len(labels), len(classes)))
    one_hot[np.arange(len(labels)), [classes.index(label) for label in labels]] = 1.0
    return one_hot


def combine_fitted(members: list[tuple[str, object]], weights=None):
    """A fitted soft-voting ``VotingClassifier`` of members that are already fitted.

    scikit-learn's ``VotingClassifier.fit`` refits every member; this builds
    the fitted ensemble around members trained separately (a CNN trained for
    an hour, a landmark model), as ``fit`` would have left it. The members
    must share their ``classes_``.

    Parameters
    ----------
    members : list of (name, fitted classifier)
        The members, with the names ``named_estimators_`` gives them; they
        must have the same ``classes_``.
    weights : list of float or None
        Soft-voting weights, one per member.

    Returns
    -------
    VotingClassifier
        Fitted, with ``voting="soft"``; ``predict_proba`` is the weighted mean
        of the members' probabilities.

    Raises
    ------
    ValueError
        When the members' ``classes_`` differ.

    See Also
    --------
    fersk.make_fusion : An unfitted fusion, trained as a whole.
    fersk.models.save_model : Saves such a fusion, its members by reference.
    sklearn.ensemble.VotingClassifier : The class of the result.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> a = DummyClassifier(strategy="prior").fit([[0], [0], [0]], ["x", "y", "y"])
    >>> b = DummyClassifier(strategy="uniform").fit([[0], [0]], ["x", "y"])
    >>> vote = combine_fitted([("a", a), ("b", b)], weights=[3, 1])
    >>> vote.predict_proba([[0]]).round(3).tolist(), vote.predict([[0]]).tolist()
    ([[0.375, 0.625]], ['y'])
    """
    from sklearn.ensemble import VotingClassifier
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils import Bunch

    classes = [np.asarray(m.classes_) for _, m in members]
    if any(c.tolist() != classes[0].tolist() for c in classes):
        raise ValueError(
            "the members' classes_ differ: "
            + "; ".join(f"{name}: {c.tolist()}" for (name, _), c in zip(members, classes))
        )
    vote = VotingClassifier(list(members), voting="soft", weights=weights)
    vote.estimators_ = [m for _, m in members]
    vote.named_estimators_ = Bunch(**dict(members))
    vote.le_ = LabelEncoder().fit(classes[0])
    vote.classes_ = vote.le_.classes_
    return vote
