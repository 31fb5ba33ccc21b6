"""fersk.features.routing: ClarityRoutedClassifier -- one model per clarity level, a fallback
for the rest, metadata routed to each level's own samples."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from fersk import ClarityRoutedClassifier, SubjectNeutralizer
from tests.strategies import SETTINGS, assert_rows_or_clear_error, clear_error


def _flipping_rule(n=300, seed=0):
    """Two levels whose label rules are opposite: one model cannot fit both."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 2, n).astype(float)
    x = rng.normal(size=(n, 2))
    y = np.where(level == 0, x[:, 0] > 0, x[:, 0] < 0).astype(int)
    return np.column_stack([x, level]), y


def test_routing_beats_a_single_model_when_levels_differ():
    X, y = _flipping_rule()
    routed = ClarityRoutedClassifier(LogisticRegression()).fit(X, y)
    single = LogisticRegression().fit(X[:, :2], y)
    assert routed.score(X, y) > 0.95 > 0.7 > single.score(X[:, :2], y)
    assert sorted(routed.estimators_) == [0.0, 1.0]
    assert routed.level_counts_[0.0] + routed.level_counts_[1.0] == len(y)
    # Each level model was fit on its own samples only.
    for level, model in routed.estimators_.items():
        assert np.sign(model.coef_[0, 0]) == (1 if level == 0 else -1)


def test_unseen_nan_and_small_levels_go_to_the_fallback():
    X, y = _flipping_rule()
    X[:5, 2] = 7.0  # a tiny level: below min_samples_per_level
    clf = ClarityRoutedClassifier(LogisticRegression(), min_samples_per_level=10).fit(X, y)
    assert 7.0 not in clf.estimators_ and clf.level_counts_[7.0] == 5
    test = X[:4].copy()
    test[:, 2] = [0.0, 1.0, 5.0, np.nan]
    np.testing.assert_array_equal(clf.route(test), [0.0, 1.0, np.nan, np.nan])
    fallback = clf.fallback_estimator_.predict(test[2:, :2])
    np.testing.assert_array_equal(clf.predict(test)[2:], fallback)


def test_predict_proba_covers_classes_missing_from_a_level():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=(120, 2)), np.repeat([0.0, 1.0], 60)])
    y = np.array(["a", "b"] * 30 + ["b", "c"] * 30)  # level 0 lacks "c", level 1 lacks "a"
    clf = ClarityRoutedClassifier(LogisticRegression()).fit(X, y)
    proba = clf.predict_proba(X)
    assert clf.classes_.tolist() == ["a", "b", "c"] and proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba[:60, 2] == 0).all() and (proba[60:, 0] == 0).all()
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))


def test_single_class_level_and_estimator_without_proba():
    X, y = _flipping_rule()
    y[X[:, 2] == 1] = 0
    clf = ClarityRoutedClassifier(SVC(probability=False)).fit(X, y)
    assert list(clf.estimators_) == [0.0]  # the one-class level uses the fallback
    assert not hasattr(clf, "predict_proba")
    assert clf.predict(X).shape == y.shape


def test_level_params_and_nested_grid_search():
    X, y = _flipping_rule()
    clf = ClarityRoutedClassifier(LogisticRegression(), level_params={1: {"C": 0.01}}).fit(X, y)
    assert clf.estimators_[1.0].C == 0.01 and clf.estimators_[0.0].C == 1.0
    with pytest.raises(ValueError, match=r"levels \[5\]"):
        ClarityRoutedClassifier(LogisticRegression(), level_params={5: {"C": 1}}).fit(X, y)
    search = GridSearchCV(
        ClarityRoutedClassifier(MLPClassifier(max_iter=300, random_state=0)),
        {"estimator__learning_rate_init": [1e-3, 1e-2], "estimator__solver": ["adam", "lbfgs"]},
        cv=3,
    ).fit(X, y)
    best_solver = search.best_params_["estimator__solver"]
    assert search.best_estimator_.estimators_[0.0].solver == best_solver


def test_level_column_position_and_nan_features():
    X, y = _flipping_rule()
    first = np.column_stack([X[:, 2], X[:, :2]])
    a = ClarityRoutedClassifier(LogisticRegression(), level_column=0).fit(first, y)
    b = ClarityRoutedClassifier(LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(a.predict(first), b.predict(X))
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ClarityRoutedClassifier(LogisticRegression()).fit(X_nan, y)
    ClarityRoutedClassifier(HistGradientBoostingClassifier(max_iter=10)).fit(X_nan, y)
    with pytest.raises(ValueError, match="level_column=3 is out of range"):
        ClarityRoutedClassifier(LogisticRegression(), level_column=3).fit(X, y)


def test_clone_and_joblib_roundtrip(tmp_path):
    X, y = _flipping_rule()
    clf = ClarityRoutedClassifier(MLPClassifier(max_iter=200, random_state=0)).fit(X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    restored = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict(X), clf.predict(X))


class _Spy(BaseEstimator, TransformerMixin):
    """Records the groups each fit/transform received (a stand-in for a subject step)."""

    __metadata_request__fit = {"groups": True}
    __metadata_request__transform = {"groups": True}
    seen: list = []

    def fit(self, X, y=None, groups=None):
        _Spy.seen.append(("fit", None if groups is None else list(groups)))
        return self

    def transform(self, X, groups=None):
        _Spy.seen.append(("transform", None if groups is None else list(groups)))
        return X


def test_routed_classifier_routes_groups_to_a_subject_neutralizer_in_a_search():
    import sklearn
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from fersk import SubjectNeutralizer
    from fersk.evaluation.metrics import GROUP_SCORING

    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(6), 20)
    y = np.tile([0, 1], 60)
    offset = subjects[:, None] * 3.0  # each subject's own baseline
    X = np.column_stack([rng.normal(size=(120, 2)) * 0.2 + offset + y[:, None], subjects % 2])
    _Spy.seen = []
    inner = make_pipeline(_Spy(), SubjectNeutralizer(), LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            ClarityRoutedClassifier(inner, min_samples_per_level=5),
            {"estimator__logisticregression__C": [0.1, 1.0]},
            cv=GroupKFold(3),
            scoring=GROUP_SCORING,
            refit="uar",
        ).fit(X, y, groups=subjects)
        assert search.best_estimator_.predict(X, groups=subjects).shape == (120,)
    fits = [g for kind, g in _Spy.seen if kind == "fit"]
    assert fits and all(g is not None for g in fits)
    # Every per-level fit saw only its own samples' subject ids, and no test subject.
    assert all(set(g) <= set(range(6)) for g in fits)
    assert any(len(set(g)) < 6 for g in fits)
    for level, model in search.best_estimator_.estimators_.items():
        sn = model.named_steps["subjectneutralizer"]
        expected = sorted({s for s, lv in zip(subjects, X[:, -1]) if lv == level})
        assert sorted(sn.subjects_.tolist()) == expected
    # Conditioning on the subject beats the raw features across subjects.
    assert search.best_score_ > 0.9


def test_routed_classifier_passes_sample_weight_per_level():
    from sklearn.tree import DecisionTreeClassifier

    X = np.column_stack([np.arange(40.0), np.repeat([0.0, 1.0], 20)])
    y = np.tile([0, 1], 20)
    weight = np.where(np.arange(40) < 20, 1.0, 0.0)  # level 1 weighs nothing
    weight[20:22] = 1.0
    clf = ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0)).fit(
        X, y, sample_weight=weight
    )
    level1 = clf.estimators_[1.0]
    assert level1.tree_.weighted_n_node_samples[0] == 2.0  # only its own two weighted samples
    assert clf.fallback_estimator_.tree_.weighted_n_node_samples[0] == 22.0
    with pytest.raises(ValueError, match="does not take it"):
        from sklearn.neighbors import KNeighborsClassifier

        ClarityRoutedClassifier(KNeighborsClassifier()).fit(X, y, sample_weight=weight)


# The level column is dropped before the classifier sees X; on the checks' 2-feature blobs
# one feature remains, which a tree separates well enough.
@parametrize_with_checks(
    [
        ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0)),
        ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0), level_column=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@SETTINGS
@given(
    st.integers(0, 12).flatmap(
        lambda n: st.tuples(
            hnp.arrays("f8", (n, 2), elements=st.floats(-5, 5)),
            hnp.arrays("f8", n, elements=st.sampled_from([0.0, 1.0, np.nan])),
            hnp.arrays("i8", n, elements=st.integers(0, 2)),
        )
    )
)
def test_routed_classifier_rows(data):
    from sklearn.tree import DecisionTreeClassifier

    features, levels, y = data
    X = np.column_stack([features, levels])
    clf = ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0), min_samples_per_level=2)
    try:
        clf.fit(X, y)
    except ValueError as exc:
        assert clear_error(exc)
        return
    proba = assert_rows_or_clear_error(clf.predict_proba, X)
    if proba is not None:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.bad_input("routed-level-params-and-unordered-groups")
def test_routed_level_params_keys_and_unordered_groups():
    from sklearn.tree import DecisionTreeClassifier

    from fersk import ClarityRoutedClassifier

    X = np.column_stack([np.arange(40.0), np.repeat([0.0, 1.0], 20)])
    y = np.tile([0, 1], 20)
    for bad in [{"1": {"max_depth": 1}}, {"one": {"max_depth": 1}}]:
        with pytest.raises(ValueError, match="level_params keys must be level numbers"):
            ClarityRoutedClassifier(DecisionTreeClassifier(), level_params=bad).fit(X, y)
    clf = ClarityRoutedClassifier(
        DecisionTreeClassifier(), level_params={np.int64(1): {"max_depth": 1}}
    )
    assert clf.fit(X, y).estimators_[1.0].max_depth == 1
    Z = np.zeros((3, 2))
    for groups in [{"a", "b", "c"}, {"a": 0, "b": 1, "c": 2}]:
        with pytest.raises(TypeError, match="has no order"):
            SubjectNeutralizer().fit(Z, groups=groups)
