"""ClarityRoutedClassifier: one classifier per clarity level, routed at predict time."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from .._core._sklearn_compat import (
    HasMethods,
    Interval,
    _assert_all_finite,
    _fit_context,
    _raise_for_params,
    _routing_enabled,
    _safe_indexing,
)

__all__ = ["ClarityRoutedClassifier"]


def _estimator_has(attr: str):
    def check(self) -> bool:
        getattr(self.estimator, attr)
        return True

    return check


class ClarityRoutedClassifier(ClassifierMixin, BaseEstimator):
    """Fit one clone of a classifier per level of a level column; route each sample to its level.

    The level is read from column ``level_column`` of ``X`` (by default the
    last one, where ``FeatureUnion([..., ("clarity", ClarityBinner())])`` puts
    it) and dropped before the classifiers see ``X``. ``fit`` trains one clone
    of ``estimator`` per level present in the training data, plus a *fallback*
    clone on all samples of all levels. A sample is predicted by its level's
    model; it goes to the fallback when its level had no model of its own: a
    level unseen at fit, a NaN level (an image that could not be scored), or a
    level with fewer than ``min_samples_per_level`` training samples or only
    one class.

    ``predict_proba`` always has one column per class in ``classes_``, also
    for levels whose training data lacked some classes (their columns are 0).

    Parameters
    ----------
    estimator : classifier
        The base classifier, cloned per level. Tune it through nested
        parameters: ``estimator__learning_rate_init``.
    level_column : int, default=-1
        Index of the level column in ``X``.
    min_samples_per_level : int, default=10
        Levels with fewer training samples use the fallback model.
    level_params : dict or None, default=None
        Per-level parameter overrides, ``{level: {param: value}}``, applied with
        ``set_params`` to that level's clone (e.g. a smaller network for the
        blurriest level). Tunable in ``GridSearchCV`` as a whole dict.

    Attributes
    ----------
    classes_ : ndarray
        All classes seen at fit.
    levels_ : ndarray of float
        Distinct (non-NaN) levels seen at fit.
    level_counts_ : dict
        Training samples per level.
    estimators_ : dict
        ``{level: fitted classifier}`` for the levels that got their own model.
    fallback_estimator_ : classifier
        The clone fitted on all training samples.
    n_features_in_ : int
        Columns of ``X``, the level column included.

    See Also
    --------
    fersk.ClarityBinner : The clarity level column this classifier reads.
    fersk.study.make_study_pipeline : Builds the routed pipeline of the study.
    fersk.study.evaluate : WAR/UAR overall and per clarity level.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fersk import ClarityRoutedClassifier
    >>> rng = np.random.default_rng(0)
    >>> level = np.repeat([0.0, 1.0], 50)
    >>> x = rng.normal(size=100)
    >>> y = np.where(level == 0, x > 0, x < 0).astype(int)  # the rule flips with the level
    >>> X = np.column_stack([x, level])
    >>> clf = ClarityRoutedClassifier(LogisticRegression()).fit(X, y)
    >>> sorted(clf.estimators_)
    [0.0, 1.0]
    >>> bool(clf.score(X, y) > 0.95)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "level_column": [Integral],
        "min_samples_per_level": [Interval(Integral, 1, None, closed="left")],
        "level_params": [None, dict],
    }

    def __init__(
        self,
        estimator,
        *,
        level_column: int = -1,
        min_samples_per_level: int = 10,
        level_params: dict | None = None,
    ) -> None:
        self.estimator = estimator
        self.level_column = level_column
        self.min_samples_per_level = min_samples_per_level
        self.level_params = level_params

    def _split(self, X) -> tuple[np.ndarray, np.ndarray]:
        if not -X.shape[1] <= self.level_column < X.shape[1]:
            raise ValueError(
                f"level_column={self.level_column} is out of range for X with {X.shape[1]} columns"
            )
        column = self.level_column % X.shape[1]
        levels = X[:, column].astype(np.float64)
        features = np.delete(X, column, axis=1)
        if not self._estimator_allows_nan():
            _assert_all_finite(features, input_name="X (features other than the level column)")
        return features, levels

    def _estimator_allows_nan(self) -> bool:
        try:
            return bool(self.estimator.__sklearn_tags__().input_tags.allow_nan)
        except AttributeError:
            return False

    def get_metadata_routing(self):
        """Metadata routing: ``fit``/``predict``/``predict_proba`` metadata go to ``estimator``.

        With ``sklearn.set_config(enable_metadata_routing=True)``, what the
        wrapped classifier requests (``sample_weight``, or ``groups`` for a
        :class:`~fersk.SubjectNeutralizer` in it) reaches every per-level clone
        and the fallback, each with its own samples' values.

        Returns
        -------
        MetadataRouter
        """
        mapping = MethodMapping()
        for method in ("fit", "predict", "predict_proba"):
            mapping.add(caller=method, callee=method)
        return MetadataRouter(owner=type(self).__name__).add(
            estimator=self.estimator, method_mapping=mapping
        )

    def _metadata(self, method: str, params: dict) -> dict:
        """The metadata ``estimator.<method>`` gets, per sample (routing on or off)."""
        if _routing_enabled():
            return dict(process_routing(self, method, **params).estimator[method])
        _raise_for_params({k: v for k, v in params.items() if k != "sample_weight"}, self, method)
        weight = params.get("sample_weight")
        if weight is None:
            return {}
        if not has_fit_parameter(self.estimator, "sample_weight"):
            raise ValueError(
                f"sample_weight was given but {type(self.estimator).__name__}.fit does not take it"
            )
        return {"sample_weight": weight}

    @staticmethod
    def _subset(metadata: dict, index: np.ndarray, n_samples: int) -> dict:
        """Each per-sample value restricted to ``index``; other values unchanged."""
        out = {}
        for key, value in metadata.items():
            if value is not None and hasattr(value, "__len__") and len(value) == n_samples:
                value = _safe_indexing(value, index)
            out[key] = value
        return out

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the per-level classifiers and the fallback.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features and the level column.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Passed to each clone's ``fit`` (its level's samples' weights).
        **fit_params
            Other metadata for the wrapped classifier (``groups``...), with
            metadata routing enabled.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", ensure_min_features=2)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        features, levels = self._split(X)
        self.levels_ = np.unique(levels[~np.isnan(levels)])
        overrides = self.level_params or {}
        bad = [k for k in overrides if isinstance(k, bool) or not isinstance(k, Real)]
        if bad:
            raise ValueError(
                f"level_params keys must be level numbers (0, 1, ...), got {bad!r}; e.g. "
                "level_params={0: {'alpha': 1e-2}}"
            )
        unknown = sorted(k for k in overrides if float(k) not in self.levels_)
        if unknown:
            raise ValueError(
                f"level_params names levels {unknown} that are not in the training data "
                f"(levels: {self.levels_.tolist()})"
            )
        metadata = self._metadata("fit", {"sample_weight": sample_weight, **fit_params})
        self.fallback_estimator_ = clone(self.estimator).fit(features, y, **metadata)
        self.level_counts_ = {}
        self.estimators_ = {}
        for level in self.levels_.tolist():
            mask = levels == level
            self.level_counts_[level] = int(mask.sum())
            if mask.sum() < self.min_samples_per_level or len(np.unique(y[mask])) < 2:
                continue
            # 1 == 1.0 and they hash alike, so int and float keys both match.
            model = clone(self.estimator).set_params(**overrides.get(level, {}))
            index = np.flatnonzero(mask)
            self.estimators_[level] = model.fit(
                features[mask], y[mask], **self._subset(metadata, index, len(y))
            )
        return self

    def _routes(self, levels: np.ndarray):
        """Yield ``(model, sample_indices)`` for every model that has samples to predict."""
        routed = np.zeros(len(levels), dtype=bool)
        for level, model in self.estimators_.items():
            idx = np.flatnonzero(levels == level)
            routed[idx] = True
            if idx.size:
                yield model, idx
        rest = np.flatnonzero(~routed)
        if rest.size:
            yield self.fallback_estimator_, rest

    def _validate_predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._split(X)

    def route(self, X) -> np.ndarray:
        """Return the level whose model predicts each sample (NaN: the fallback).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        _, levels = self._validate_predict(X)
        own = np.isin(levels, list(self.estimators_))
        return np.where(own, levels, np.nan)

    def predict(self, X, **params) -> np.ndarray:
        """Predict each sample with its level's classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        **params
            Metadata for the wrapped classifier's ``predict`` (``groups``...),
            with metadata routing enabled.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        features, levels = self._validate_predict(X)
        metadata = self._metadata("predict", params)
        y_pred = np.empty(len(features), dtype=self.classes_.dtype)
        for model, idx in self._routes(levels):
            y_pred[idx] = model.predict(features[idx], **self._subset(metadata, idx, len(features)))
        return y_pred

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X, **params) -> np.ndarray:
        """Class probabilities over all of ``classes_``, each from the sample's level model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        **params
            Metadata for the wrapped classifier's ``predict_proba``, with
            metadata routing enabled.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        features, levels = self._validate_predict(X)
        metadata = self._metadata("predict_proba", params)
        proba = np.zeros((len(features), len(self.classes_)))
        for model, idx in self._routes(levels):
            columns = np.searchsorted(self.classes_, model.classes_)
            proba[np.ix_(idx, columns)] = model.predict_proba(
                features[idx], **self._subset(metadata, idx, len(features))
            )
        return proba

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            sub = self.estimator.__sklearn_tags__()
            tags.input_tags.allow_nan = sub.input_tags.allow_nan
            tags.input_tags.sparse = False
        except AttributeError:
            pass
        return tags
