"""Per-person calibration: baselines per row, a head learned across people, rows that say so."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from fersk.features import calibration
from fersk.features.calibration import PersonCalibratedClassifier, person_baselines

CLASSES = np.array(["happy", "neutral", "sad"])


def people(n_people=12, per_person=9, bias=3.0, seed=0):
    """Faces as 2 features: each person's own offset (their resting face) plus the expression."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"p{i}" for i in range(n_people)], per_person)
    y = np.tile(CLASSES, n_people * per_person // 3)
    offset = rng.normal(scale=bias, size=(n_people, 2))[np.repeat(np.arange(n_people), per_person)]
    signal = np.stack([(y == "happy") * 2.0, (y == "sad") * 2.0], axis=1)
    return offset + signal + rng.normal(scale=0.5, size=(len(y), 2)), y, groups


def fitted(X, y, groups):
    """A calibration around a logistic regression fitted on the same people."""
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    return PersonCalibratedClassifier(base).fit(X, y, groups=groups)


def test_baselines_per_row_say_how_each_row_is_calibrated():
    Z = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 3.0], [5.0, 5.0], [np.nan, np.nan]])
    parts = person_baselines(
        Z, ["a", "a", "b", "c", None], [True, False, False, False, False],
        population=np.zeros(2), shrinkage=1.0, min_photos=1,
    )  # fmt: skip
    assert parts["calibration"].tolist() == ["neutral", "neutral", "mean", "mean", "none"]
    assert parts["reference"][1].tolist() == [0.0, 1.0]  # a's neutral photo
    np.testing.assert_allclose(parts["mean"][0], [2 / 3, 2 / 3])  # (0+2+0)/3, (1+1+0)/3
    np.testing.assert_allclose(parts["mean"][2], [2.0, 1.5])  # one photo, shrunk halfway
    assert parts["n_references"].tolist() == [1, 1, 0, 0, 0]


def test_min_photos_and_the_baseline_choice():
    Z = np.arange(8.0).reshape(4, 2)
    kw = {"population": np.zeros(2), "min_photos": 2}
    assert person_baselines(Z, ["a", "a", "b", "c"], **kw)["calibration"].tolist() == [
        "mean", "mean", "none", "none"
    ]  # fmt: skip
    flags = [True, False, False, False]
    only = person_baselines(Z, ["a", "a", "b", "b"], flags, baseline="neutral", **kw)
    assert only["calibration"].tolist() == ["neutral", "neutral", "none", "none"]
    ignored = person_baselines(Z, ["a", "a", "b", "b"], flags, baseline="mean", **kw)
    assert ignored["calibration"].tolist() == ["mean"] * 4 and ignored["n_references"].sum() == 0


def test_calibration_beats_the_model_on_people_it_never_saw():
    X, y, groups = people()
    raw, calibrated = [], []
    for train, test in GroupKFold(4).split(X, y, groups):
        model = PersonCalibratedClassifier(LogisticRegression())  # fitted on the training fold
        model.fit(X[train], y[train], groups=groups[train])
        calibrated.append(np.mean(model.predict(X[test], groups=groups[test]) == y[test]))
        raw.append(np.mean(model.predict(X[test]) == y[test]))  # no ids: the model alone
    assert np.mean(calibrated) > np.mean(raw) + 0.2, (calibrated, raw)


def test_a_neutral_reference_calibrates_a_person_with_two_photos():
    X, y, groups = people()
    model = PersonCalibratedClassifier(FrozenEstimator(LogisticRegression().fit(X, y))).fit(
        X, y, groups=groups
    )
    new, y_new, _ = people(n_people=6, per_person=3, seed=1)  # unseen people
    ids = np.repeat([f"q{i}" for i in range(6)], 3)
    flags = y_new == "neutral"
    calibrated = model.predict(new, groups=ids, neutral=flags)
    raw = model.predict(new)  # no ids: the wrapped model's answers
    np.testing.assert_array_equal(raw, model.estimator_.predict(new))
    assert np.mean(calibrated == y_new) > np.mean(raw == y_new) + 0.2
    info = model.calibration(groups=ids, neutral=flags)
    assert set(info["calibration"]) == {"neutral"} and set(info["n_references"]) == {1}


def test_rows_without_a_person_or_a_baseline_keep_the_models_answer():
    X, y, groups = people()
    model = PersonCalibratedClassifier(FrozenEstimator(LogisticRegression().fit(X, y))).fit(
        X, y, groups=groups
    )
    ids = np.array(["solo", None, "pair", "pair"], dtype=object)
    proba = model.predict_proba(X[:4], groups=ids)
    raw = model.estimator_.predict_proba(X[:4])
    np.testing.assert_allclose(proba[:2], raw[:2])  # one photo, no id: as the model
    assert not np.allclose(proba[2:], raw[2:])  # two photos of one person: calibrated
    assert model.calibration(groups=ids)["calibration"] == ["none", "none", "mean", "mean"]


def test_the_head_can_learn_a_class_the_model_lacks():
    X, y, groups = people()
    y = np.where((y == "sad") & (X[:, 0] > 1.5), "contempt", y)
    base = LogisticRegression().fit(X[y != "contempt"], y[y != "contempt"])
    model = PersonCalibratedClassifier(FrozenEstimator(base)).fit(X, y, groups=groups)
    assert model.classes_.tolist() == ["happy", "neutral", "sad", "contempt"]
    proba = model.predict_proba(X, groups=groups)
    assert proba.shape == (len(X), 4) and np.allclose(proba.sum(axis=1), 1)
    assert model.predict_proba(X)[:, 3].max() == 0  # uncalibrated rows: the model's classes


class _CountingHead(LogisticRegression):
    """A logistic regression that remembers the rows it was trained on."""

    def fit(self, X, y, sample_weight=None):
        self.trained_rows_ = len(X)
        return super().fit(X, y, sample_weight)


def test_reference_turns_copy_only_the_people_they_give_a_reference_to():
    X, y, groups = people(n_people=6, per_person=9)  # 3 neutral photos per person
    without = np.isin(groups, ["p4", "p5"])  # two people never neutral
    y = np.where(without & (y == "neutral"), "sad", y)
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    model = PersonCalibratedClassifier(base, head=_CountingHead()).fit(X, y, groups=groups)
    # Once against their mean (all 54 rows), then 3 turns of the 4 people with references
    # (36 rows each). Each of these also as if 1, 2, 4 photos were known: without
    # references 2 and 4 photos of all 6 people (1 photo is no mean: min_photos=2); in a
    # turn 1 + 2 + 4 photos of the 4 people, their reference not counted.
    assert model.few_photos == calibration.FEW_PHOTOS == (1, 2, 4)
    assert model.head_.trained_rows_ == 54 + 6 * (2 + 4) + 3 * (36 + 4 * (1 + 2 + 4))
    model = PersonCalibratedClassifier(base, head=_CountingHead(), few_photos=())
    assert model.fit(X, y, groups=groups).head_.trained_rows_ == 54 + 3 * 36
    with pytest.raises(ValueError, match="few_photos must hold whole numbers >= 1"):
        PersonCalibratedClassifier(base, few_photos=(0,)).fit(X, y, groups=groups)


def _classwise_objective(model, features, y, C):
    """The classwise head's penalised negative log-likelihood at its fitted weights: the
    penalty draws each class's weights to (0, 0, 1) (the model's own answer), biases to 0."""
    from fersk.features.calibration import _classwise_scores

    scores = _classwise_scores(features, model.head_coef_, model.head_intercept_)
    scores -= scores.max(axis=1, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    target = np.searchsorted(model.classes_, y)
    moved = model.head_coef_ - np.array([0.0, 0.0, 1.0])
    penalty = ((moved**2).sum() + (model.head_intercept_**2).sum()) / (2 * C)
    return -log_p[np.arange(len(y)), target].sum() + penalty


def test_the_classwise_head_reads_each_class_from_its_own_numbers_and_is_fitted_to_its_optimum():
    X, y, groups = people()
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    model = PersonCalibratedClassifier(base, head="classwise", C=0.5, few_photos=())
    model.fit(X, y, groups=groups)
    assert model.head_ == "classwise" and model.head_coef_.shape == (3, 3)
    assert model.head_intercept_.shape == (3,) and model.classes_.tolist() == CLASSES.tolist()
    # the training rows, as fit builds them: once against the mean, then 3 reference turns
    rows, labels = [], []
    for turn, flags in enumerate(model._reference_sets(y, groups, None)):
        parts = model._baselines(model.log_proba(X), groups, flags)
        keep = parts["calibration"] != "none"
        if turn:
            keep &= parts["calibration"] == "neutral"
        rows.append(model._features(model.log_proba(X), parts)[keep])
        labels.append(y[keep])
    features, labels = np.vstack(rows), np.concatenate(labels)
    best = _classwise_objective(model, features, labels, 0.5)
    fitted = (model.head_coef_.copy(), model.head_intercept_.copy())
    for which in range(2):  # any small step away from the fitted weights costs more
        for index in np.ndindex(fitted[which].shape):
            for step in (-1e-3, 1e-3):
                moved = [fitted[0].copy(), fitted[1].copy()]
                moved[which][index] += step
                model.head_coef_, model.head_intercept_ = moved
                assert _classwise_objective(model, features, labels, 0.5) > best - 1e-9
    model.head_coef_, model.head_intercept_ = fitted
    new, y_new, _ = people(n_people=6, per_person=3, seed=1)  # unseen people
    ids = np.repeat([f"q{i}" for i in range(6)], 3)
    calibrated = model.predict(new, groups=ids, neutral=y_new == "neutral")
    assert np.mean(calibrated == y_new) > np.mean(model.predict(new) == y_new) + 0.2


def test_a_classwise_head_held_close_answers_as_the_model_it_wraps():
    X, y, groups = people()
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    held = PersonCalibratedClassifier(base, head="classwise", C=1e-6, few_photos=())
    held.fit(X, y, groups=groups)
    np.testing.assert_allclose(held.head_coef_, [[0, 0, 1]] * 3, atol=1e-4)
    np.testing.assert_allclose(held.head_intercept_, 0, atol=1e-4)
    new, _, _ = people(n_people=4, per_person=3, seed=2)
    ids = np.repeat([f"q{i}" for i in range(4)], 3)
    np.testing.assert_allclose(
        held.predict_proba(new, groups=ids), base.predict_proba(new), atol=1e-3
    )
    free = PersonCalibratedClassifier(base, head="classwise", C=10.0, few_photos=())
    free.fit(X, y, groups=groups)
    assert np.abs(free.head_coef_ - [0, 0, 1]).max() > 0.1  # learned, away from the model


def test_the_classwise_head_refuses_a_class_the_model_lacks_and_saves_as_data(tmp_path):
    import joblib

    from fersk.models import load_model, save_model

    X, y, groups = people()
    base = LogisticRegression().fit(X[y != "sad"], y[y != "sad"])
    with pytest.raises(ValueError, match=r"labels 'sad' are not among them.*head=None"):
        PersonCalibratedClassifier(FrozenEstimator(base), head="classwise").fit(X, y, groups=groups)
    base = LogisticRegression().fit(X, y)
    model = PersonCalibratedClassifier(FrozenEstimator(base), head="classwise")
    model.fit(X, y, groups=groups)
    expected = model.predict_proba(X, groups=groups)
    again = load_model(save_model(model, tmp_path / "m"))
    np.testing.assert_array_equal(again.predict_proba(X, groups=groups), expected)
    with pytest.raises(ValueError, match="at least 2 classes"):
        PersonCalibratedClassifier(FrozenEstimator(base), head="classwise").fit(
            X, np.full(len(y), "happy"), groups=groups
        )
    joblib.dump(model, tmp_path / "m.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "m.joblib").predict_proba(X, groups=groups), expected
    )


def test_the_offset_head_learns_nothing_and_reads_the_shift():
    X, y, groups = people()
    base = LogisticRegression().fit(X, y)
    model = PersonCalibratedClassifier(FrozenEstimator(base), head="offset")
    model.fit(X, y, groups=groups)
    z = np.log(np.clip(base.predict_proba(X[:3]), 1e-6, 1))
    shift = z - z[1]  # the second photo as the neutral reference
    expected = np.exp(shift) / np.exp(shift).sum(axis=1, keepdims=True)
    got = model.predict_proba(X[:3], groups=["a"] * 3, neutral=[False, True, False])
    np.testing.assert_allclose(got, expected)


def test_without_person_ids_nothing_is_learned():
    X, y, _ = people()
    model = PersonCalibratedClassifier(LogisticRegression()).fit(X, y)
    assert model.head_ is None
    np.testing.assert_allclose(model.predict_proba(X), model.estimator_.predict_proba(X))


def test_bad_reference_flags_are_named():
    X, y, groups = people()
    model = PersonCalibratedClassifier(FrozenEstimator(LogisticRegression().fit(X, y))).fit(
        X, y, groups=groups
    )
    with pytest.raises(ValueError, match="one True/False per sample"):
        model.predict(X[:3], groups=["a"] * 3, neutral=[True])
    with pytest.raises(ValueError, match="only True/False"):
        model.predict(X[:3], groups=["a"] * 3, neutral=[0, 2, 1])


def test_person_ids_travel_through_metadata_routing_in_a_grid_search():
    from sklearn.model_selection import GridSearchCV

    X, y, groups = people()
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    raw = np.mean(base.predict(X) == y)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            PersonCalibratedClassifier(base),
            {"head": [None, "classwise", "offset"], "C": [1e-3, 1.0]}, cv=GroupKFold(3),
        ).fit(X, y, groups=groups)  # fmt: skip
        assert search.best_estimator_.head_ is not None
    # every candidate is scored on calibrated answers (groups reach score), not the raw model's
    scores = search.cv_results_["mean_test_score"]
    assert len(set(np.round(scores, 6))) > 1 and scores.max() > raw + 0.2, (scores, raw)
    # the same number as scoring each held-out fold by hand, person ids given
    train, test = next(GroupKFold(3).split(X, y, groups))
    model = PersonCalibratedClassifier(base, **search.best_params_).fit(
        X[train], y[train], groups=groups[train]
    )
    expected = np.mean(model.predict(X[test], groups=groups[test]) == y[test])
    assert model.score(X[test], y[test], groups=groups[test]) == pytest.approx(expected)


@parametrize_with_checks(
    [
        PersonCalibratedClassifier(LogisticRegression()),
        PersonCalibratedClassifier(LogisticRegression(), head="classwise"),
        PersonCalibratedClassifier(LogisticRegression(), plain_head=LogisticRegression()),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_the_default_heads_direct_path_equals_scikit_learns_and_other_heads_fall_back():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from fersk.features.calibration import _head_proba

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 6)), np.repeat(["a", "b", "c"], 40)
    X[y == "b"] += 1.5
    default = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    new = rng.normal(size=(30, 6)) * 3
    np.testing.assert_allclose(_head_proba(default, new), default.predict_proba(new), atol=1e-12)
    other = make_pipeline(MinMaxScaler(), LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(_head_proba(other, new), other.predict_proba(new))
    binary = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:80], y[:80])
    np.testing.assert_array_equal(_head_proba(binary, new), binary.predict_proba(new))


def test_a_prior_is_divided_out_of_uncalibrated_rows_only():
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    people = np.repeat(np.arange(6), 6)
    y = np.tile(["neutral", "happy", "sad"], 12)
    X = rng.normal(size=(36, 2)) + np.where(y == "happy", 2.0, 0)[:, None]
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    prior = [0.2, 0.5, 0.3]  # in the order of base.classes_: happy, neutral, sad
    plain = PersonCalibratedClassifier(base).fit(X, y, groups=people)
    shifted = PersonCalibratedClassifier(base, prior=prior, prior_power=0.5)
    shifted.fit(X, y, groups=people)
    raw = base.predict_proba(X)
    expected = raw / np.asarray(prior) ** 0.5
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(shifted.predict_proba(X), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(plain.predict_proba(X), raw, rtol=1e-6, atol=1e-9)
    # rows calibrated to their person do not change
    np.testing.assert_allclose(
        shifted.predict_proba(X, groups=people), plain.predict_proba(X, groups=people)
    )
    with pytest.raises(ValueError, match="one positive frequency per class"):
        PersonCalibratedClassifier(base, prior=[0.5, 0.5], prior_power=1).fit(X, y)


@pytest.mark.bad_input("prior-overflow")
def test_extreme_or_invalid_priors_never_give_nan_or_a_raw_numpy_error():
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    y = np.tile(["neutral", "happy", "sad"], 10)
    X = rng.normal(size=(30, 2)) + np.where(y == "happy", 2.0, 0)[:, None]
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    model = PersonCalibratedClassifier(base, prior=[1e308] * 3, prior_power=1e6).fit(X, y)
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # a fitted model's parameters set again are checked when it predicts
    for power in (-1, float("nan"), float("inf"), "1", True):
        with pytest.raises(ValueError, match="prior_power must be a finite number"):
            model.set_params(prior=[0.2, 0.5, 0.3], prior_power=power).predict_proba(X)
    for prior in (["a"] * 3, {"a": 1}, [0.5, 0.5]):
        with pytest.raises(ValueError, match="prior must hold one positive frequency"):
            model.set_params(prior=prior, prior_power=0.5).predict_proba(X)


def test_a_plain_head_answers_the_rows_without_a_baseline_and_only_those(tmp_path):
    import joblib

    from fersk.models import load_model, save_model

    X, y, groups = people()
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    z = np.log(np.clip(base.predict_proba(X), 1e-6, 1))
    # learned elsewhere, on z: here, on labels that say "sad" wherever the base model hesitates
    relabelled = np.where(base.predict_proba(X).max(axis=1) < 0.6, "sad", y)
    plain = LogisticRegression().fit(z, relabelled)
    without = PersonCalibratedClassifier(base).fit(X, y, groups=groups)
    model = PersonCalibratedClassifier(base, plain_head=FrozenEstimator(plain))
    model.fit(X, y, groups=groups)
    assert model.plain_head_.estimator is plain  # frozen: used as given, never refitted
    ids = np.array(["solo", None, "pair", "pair"], dtype=object)
    got = model.predict_proba(X[:4], groups=ids)
    np.testing.assert_allclose(got[:2], plain.predict_proba(z[:2]), rtol=1e-9)  # by the head
    np.testing.assert_array_equal(got[2:], without.predict_proba(X[:4], groups=ids)[2:])
    np.testing.assert_allclose(model.predict_proba(X), plain.predict_proba(z), rtol=1e-9)
    assert (model.predict(X) != without.predict(X)).any()  # the head changes answers
    expected = model.predict_proba(X)
    again = load_model(save_model(model, tmp_path / "m"))
    np.testing.assert_array_equal(again.predict_proba(X), expected)
    joblib.dump(model, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict_proba(X), expected)


def test_an_unfrozen_plain_head_is_fitted_on_z_of_the_fit_rows():
    X, y, groups = people()
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    model = PersonCalibratedClassifier(base, plain_head=LogisticRegression(C=0.5))
    model.fit(X, y, groups=groups)
    z = np.log(np.clip(base.predict_proba(X), 1e-6, 1))
    reference = LogisticRegression(C=0.5).fit(z, y)
    np.testing.assert_allclose(model.plain_head_.coef_, reference.coef_)
    assert model.plain_head is not model.plain_head_  # a clone was fitted


@pytest.mark.bad_input("plain-head")
def test_a_plain_head_refuses_unknown_classes_and_a_prior_power():
    X, y, groups = people()
    base = FrozenEstimator(LogisticRegression().fit(X, y))
    z = np.log(np.clip(base.predict_proba(X), 1e-6, 1))
    stranger = FrozenEstimator(LogisticRegression().fit(z, np.where(y == "sad", "angry", y)))
    with pytest.raises(ValueError, match=r"plain_head answers \['angry'\], which are not among"):
        PersonCalibratedClassifier(base, plain_head=stranger).fit(X, y, groups=groups)
    plain = FrozenEstimator(LogisticRegression().fit(z, y))
    with pytest.raises(ValueError, match="plain_head replaces prior_power"):
        PersonCalibratedClassifier(
            base, plain_head=plain, prior=[0.3, 0.4, 0.3], prior_power=0.5
        ).fit(X, y, groups=groups)
    model = PersonCalibratedClassifier(base, plain_head=plain, prior=[0.3, 0.4, 0.3]).fit(X, y)
    model.set_params(prior_power=1.0)  # a loaded model's parameters set again
    with pytest.raises(ValueError, match="plain_head replaces prior_power"):
        model.predict(X)
    model.set_params(plain_head=None)  # switched off: the wrapped model, its prior divided out
    raw = base.predict_proba(X) / np.asarray([0.3, 0.4, 0.3])
    np.testing.assert_allclose(model.predict_proba(X), raw / raw.sum(axis=1, keepdims=True))
    later = PersonCalibratedClassifier(base).fit(X, y).set_params(plain_head=plain)
    np.testing.assert_allclose(later.predict_proba(X), plain.predict_proba(z))  # frozen: as is
    other = FrozenEstimator(LogisticRegression(C=1e-3).fit(z, y))
    model.set_params(prior_power=0.0, plain_head=other)  # swapped: the new one answers
    np.testing.assert_allclose(model.predict_proba(X), other.predict_proba(z))
    later.set_params(plain_head=LogisticRegression())  # to be fitted: only fit can
    with pytest.raises(ValueError, match="plain_head was set after fit: fit the model again"):
        later.predict(X)
    narrow = FrozenEstimator(LogisticRegression().fit(z[:, :2], y))
    with pytest.raises(ValueError, match="plain_head reads 2 numbers a row; it is given the "):
        PersonCalibratedClassifier(base, plain_head=narrow).fit(X, y)


def test_the_plain_heads_direct_path_equals_scikit_learns():
    from fersk.features.calibration import _head_proba

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(90, 4)), np.repeat(["a", "b", "c"], 30)
    X[y == "b"] += 1.0
    lr = LogisticRegression().fit(X, y)
    new = rng.normal(size=(20, 4)) * 3
    np.testing.assert_allclose(_head_proba(lr, new), lr.predict_proba(new), atol=1e-12)
    frozen = FrozenEstimator(lr)
    np.testing.assert_allclose(_head_proba(frozen, new), lr.predict_proba(new), atol=1e-12)
