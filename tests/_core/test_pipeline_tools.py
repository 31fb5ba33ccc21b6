"""fersk._core.pipeline_tools: walking nested models, running them with some steps' outputs
given, naming their classes, and fusing members fitted apart."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk._core.pipeline_tools import (
    class_names,
    combine_fitted,
    find_steps,
    iter_estimators,
    predict_proba_with,
    transform_with,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "happiness", "sadness")


class Doubler(BaseEstimator, TransformerMixin):
    """Doubles X and counts its transforms; records the groups it was given."""

    def fit(self, X, y=None):
        return self

    def transform(self, X, groups=None):
        self.calls_ = getattr(self, "calls_", 0) + 1
        self.groups_ = groups
        return 2 * np.asarray(X, dtype=float)


def test_transform_with_never_runs_a_provided_step_and_runs_the_rest_on_its_output():
    double = Doubler()
    pipe = make_pipeline(double, StandardScaler()).fit(X)
    calls = double.calls_
    given = np.full((2, 3), 5.0)
    out = transform_with(pipe, X[:2], provided={id(double): given})
    np.testing.assert_allclose(out, pipe[-1].transform(given))
    assert double.calls_ == calls  # never run
    np.testing.assert_allclose(transform_with(pipe, X[:5]), pipe.transform(X[:5]))
    # A provided whole model is its own output.
    assert transform_with(pipe, X, provided={id(pipe): "given"}) == "given"


def test_transform_with_walks_feature_unions_with_their_weights_drop_and_passthrough():
    double, scale = Doubler(), StandardScaler()
    union = FeatureUnion(
        [("double", double), ("scale", scale), ("gone", "drop"), ("raw", "passthrough")],
        transformer_weights={"scale": 10.0},
    ).fit(X)
    np.testing.assert_allclose(transform_with(union, X), union.transform(X))
    given = np.zeros((40, 3))
    out = transform_with(union, X, provided={id(double): given})
    np.testing.assert_allclose(out, np.hstack([given, 10.0 * scale.transform(X), X]))


def test_on_input_sees_what_each_step_receives_and_params_reach_the_steps_that_take_them():
    double, scale = Doubler(), StandardScaler()
    pipe = Pipeline([("double", double), ("scale", scale)]).fit(X)
    seen = {}
    transform_with(
        pipe,
        X[:3],
        on_input={id(double): lambda v: seen.setdefault("double", v),
                  id(scale): lambda v: seen.setdefault("scale", v)},
        params={"groups": ["a", "b", "c"]},
    )  # fmt: skip
    np.testing.assert_array_equal(seen["double"], X[:3])
    np.testing.assert_allclose(seen["scale"], 2 * X[:3])  # the step before's output
    assert double.groups_ == ["a", "b", "c"]  # StandardScaler takes no groups: not given


def test_predict_proba_with_matches_the_model_and_uses_what_it_is_given():
    scale = StandardScaler()
    pipe = make_pipeline(scale, LogisticRegression()).fit(X, Y)
    np.testing.assert_allclose(predict_proba_with(pipe, X), pipe.predict_proba(X))
    given = np.array([[3.0, 0.0, 0.0], [-3.0, 0.0, 0.0]])
    proba = predict_proba_with(pipe, X[:2], provided={id(scale): given})
    np.testing.assert_allclose(proba, pipe[-1].predict_proba(given))
    assert pipe.classes_[proba.argmax(axis=1)].tolist() == ["happiness", "sadness"]
    final_input = []
    predict_proba_with(pipe, X[:4], on_input={id(pipe[-1]): final_input.append})
    np.testing.assert_allclose(final_input[0], scale.transform(X[:4]))
    frozen = FrozenEstimator(pipe)
    np.testing.assert_allclose(predict_proba_with(frozen, X), pipe.predict_proba(X))


def test_predict_proba_with_averages_a_soft_vote_and_one_hots_a_model_without_probabilities():
    vote = VotingClassifier(
        [("lr", LogisticRegression()), ("prior", DummyClassifier())], voting="soft", weights=[3, 1]
    ).fit(X, Y)
    np.testing.assert_allclose(predict_proba_with(vote, X), vote.predict_proba(X))
    hard = make_pipeline(StandardScaler(), Perceptron(random_state=0)).fit(X, Y)
    one_hot = predict_proba_with(hard, X)
    assert set(one_hot.ravel().tolist()) == {0.0, 1.0} and (one_hot.sum(axis=1) == 1).all()
    assert hard.classes_[one_hot.argmax(axis=1)].tolist() == hard.predict(X).tolist()


def test_find_steps_finds_the_fitted_copies_that_predict_outer_first():
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()), {"logisticregression__C": [0.1, 1]}
    ).fit(X, Y)
    (found,) = find_steps(search, LogisticRegression)
    assert found is search.best_estimator_[-1] and hasattr(found, "coef_")
    template = search.estimator[-1]  # the unfitted constructor argument
    assert not any(e is template for e in iter_estimators(search))
    assert any(e is template for e in iter_estimators(search, templates=True))
    kinds = [type(e).__name__ for e in find_steps(search, (Pipeline, StandardScaler))]
    assert kinds == ["Pipeline", "StandardScaler"]
    assert find_steps(StandardScaler(), LogisticRegression) == []


def test_class_names_name_codes_with_target_names_and_refuse_what_does_not_fit():
    codes = DummyClassifier().fit([[0]] * 3, [0, 2, 1])
    assert class_names(codes) == ["0", "1", "2"]
    assert class_names(codes, ["anger", "joy", "fear"]) == ["anger", "joy", "fear"]
    codes.target_names_ = ["a", "b", "c"]  # as fersk 0.1's trained models carry them
    assert class_names(codes) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="target_names has 2 names but classes_ is"):
        class_names(codes, ["anger", "joy"])
    named = DummyClassifier().fit([[0]] * 2, ["joy", "anger"])
    named.target_names_ = ["x", "y"]  # a stray attribute: string classes name themselves
    assert class_names(named) == ["anger", "joy"]
    with pytest.raises(ValueError, match="integer class codes"):
        class_names(named, ["x", "y"])
    with pytest.raises(ValueError, match="has no classes_"):
        class_names(StandardScaler())


def test_combine_fitted_is_the_weighted_mean_of_members_fitted_apart():
    lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    prior = DummyClassifier(strategy="prior").fit(X[:10], Y[:10])
    vote = combine_fitted([("lr", lr), ("prior", prior)], weights=[0.7, 0.3])
    expected = 0.7 * lr.predict_proba(X) + 0.3 * prior.predict_proba(X)
    np.testing.assert_allclose(vote.predict_proba(X), expected)
    np.testing.assert_allclose(predict_proba_with(vote, X), expected)
    assert vote.classes_.tolist() == ["happiness", "sadness"]
    assert vote.named_estimators_["lr"] is lr and vote.estimators_ == [lr, prior]
    np.testing.assert_array_equal(vote.predict(X), vote.classes_[expected.argmax(axis=1)])
    other = DummyClassifier().fit(X[:4], ["happiness", "neutral", "sadness", "neutral"])
    with pytest.raises(ValueError, match="the members' classes_ differ"):
        combine_fitted([("lr", lr), ("other", other)])
