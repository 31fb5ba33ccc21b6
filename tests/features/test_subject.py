"""fersk.features.subject: SubjectNeutralizer -- baselines, fallbacks, metadata routing, leakage."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fersk import SubjectNeutralizer
from fersk.evaluation.crossval import cross_val_war_uar
from fersk.evaluation.metrics import GROUP_SCORING
from tests.strategies import SETTINGS, assert_rows_or_clear_error, clear_error, numeric_inputs

# Two subjects with very different resting faces, each showing two expressions.
X4 = np.array([[1.0, 10.0], [3.0, 10.0], [11.0, 0.0], [13.0, 2.0]])
IDS4 = np.array(["ann", "ann", "bob", "bob"])


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def make_subject_data(n_subjects=12, per_class=6, seed=0):
    """Expression signal (class 0/1 shifts feature 0) under a large per-subject offset.

    The offset's spread (sd 5) dwarfs the expression effect (1.0), so without
    subject conditioning a classifier does poorly across subjects.
    """
    rng = np.random.default_rng(seed)
    offsets = rng.normal(scale=5.0, size=(n_subjects, 3))
    X, y, groups = [], [], []
    for s in range(n_subjects):
        for label in (0, 1, 2):
            for _ in range(per_class):
                effect = np.zeros(3)
                if label:
                    effect[label - 1] = 1.0
                X.append(offsets[s] + effect + rng.normal(scale=0.1, size=3))
                y.append(["neutral", "happy", "sad"][label])
                groups.append(f"s{s}")
    return np.array(X), np.array(y), np.array(groups)


class TestBaselines:
    def test_mean_subtracts_each_subjects_mean(self):
        out = SubjectNeutralizer().fit_transform(X4, groups=IDS4)
        expected = X4 - np.repeat([[2.0, 10.0], [12.0, 1.0]], 2, axis=0)
        np.testing.assert_allclose(out, expected)

    def test_median_is_robust_to_an_outlier(self):
        X = np.array([[0.0], [1.0], [2.0], [100.0]])
        out = SubjectNeutralizer("median").fit_transform(X, groups=["a"] * 4)
        np.testing.assert_allclose(out.ravel(), [-1.5, -0.5, 0.5, 98.5])

    def test_standardize_uses_subject_spread(self):
        X = np.array([[0.0], [2.0], [10.0], [30.0]])
        out = SubjectNeutralizer(method="standardize").fit_transform(X, groups=list("aabb"))
        np.testing.assert_allclose(out.ravel(), [-1, 1, -1, 1])

    def test_divide_gives_ratio_to_baseline(self):
        X = np.array([[2.0, 4.0], [6.0, 4.0]])
        out = SubjectNeutralizer(method="divide").fit_transform(X, groups=["a", "a"])
        np.testing.assert_allclose(out, [[0.5, 1.0], [1.5, 1.0]])

    def test_divide_floors_a_zero_baseline_at_a_tenth_of_the_population(self):
        # Feature 1 is 0 for subject a (lips closed) and 4 on average overall.
        X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 8.0], [1.0, 8.0], [1.0, 0.5]])
        ids = ["a", "a", "b", "b", "a"]
        out = SubjectNeutralizer(method="divide").fit_transform(X, groups=ids)
        # a's mean of feature 1 is 0.5/3, below the floor 0.1 * 3.3 = 0.33
        np.testing.assert_allclose(out[4, 1], 0.5 / (0.1 * X[:, 1].mean()))
        np.testing.assert_allclose(out[2:4, 1], [1.0, 1.0])

    def test_neutral_baseline_uses_only_neutral_labelled_samples(self):
        y = ["neutral", "happy", "neutral", "happy"]
        sn = SubjectNeutralizer("neutral").fit(X4, y, groups=IDS4)
        np.testing.assert_allclose(sn.baselines_, [[1.0, 10.0], [11.0, 0.0]])
        np.testing.assert_allclose(sn.population_baseline_, [6.0, 5.0])
        out = sn.transform(X4, groups=IDS4)
        np.testing.assert_allclose(out, [[0, 0], [2, 0], [0, 0], [2, 2]])

    def test_neutral_label_can_be_an_encoded_class(self):
        sn = SubjectNeutralizer("neutral", neutral_label=6).fit(X4, [6, 3, 6, 3], groups=IDS4)
        assert sn.subjects_.tolist() == ["ann", "bob"]

    def test_neutral_needs_y_and_a_neutral_sample(self):
        with pytest.raises(ValueError, match="needs y"):
            SubjectNeutralizer("neutral").fit(X4, groups=IDS4)
        with pytest.raises(ValueError, match="no sample of y equals neutral_label='neutral'"):
            SubjectNeutralizer("neutral").fit(X4, ["happy"] * 4, groups=IDS4)

    def test_nan_rows_stay_nan_and_do_not_move_baselines(self):
        X = np.vstack([X4, [np.nan, np.nan]])
        ids = [*IDS4, "ann"]
        out = SubjectNeutralizer().fit_transform(X, groups=ids)
        np.testing.assert_allclose(out[:4], SubjectNeutralizer().fit_transform(X4, groups=IDS4))
        assert np.isnan(out[4]).all()

    def test_one_column_nan_uses_the_others(self):
        X = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]])
        out = SubjectNeutralizer().fit_transform(X, groups=["a"] * 3)
        np.testing.assert_allclose(out, [[-2, np.nan], [0, -2], [2, 2]])

    def test_shrinkage_pulls_baselines_towards_the_population(self):
        out = SubjectNeutralizer(shrinkage=2.0).fit_transform(X4, groups=IDS4)
        # ann: n=2, weight 2/(2+2): baseline 0.5*(2, 10) + 0.5*(7, 5.5) = (4.5, 7.75)
        np.testing.assert_allclose(out[0], [1 - 4.5, 10 - 7.75])
        sn = SubjectNeutralizer("neutral", shrinkage=1.0).fit(X4, ["neutral", "x"] * 2, groups=IDS4)
        # ann's single neutral sample (1, 10) against the neutral population (6, 5)
        np.testing.assert_allclose(sn.transform(X4[:1], groups=["ann"]), [[1 - 3.5, 10 - 7.5]])


class TestPartialFit:
    def test_running_mean_and_spread_equal_a_batch_fit(self):
        X, _, groups = make_subject_data(n_subjects=3)
        whole = SubjectNeutralizer().fit(X, groups=groups)
        online = SubjectNeutralizer().fit(X[:10], groups=groups[:10])
        for start in range(10, len(X), 7):
            online.partial_fit(X[start : start + 7], groups=groups[start : start + 7])
        order = [list(online.subjects_).index(s) for s in whole.subjects_]
        np.testing.assert_allclose(online.baselines_[order], whole.baselines_)
        np.testing.assert_allclose(online.scales_[order], whole.scales_)
        assert online.counts_[order].tolist() == [18, 18, 18]

    def test_new_subject_then_used_by_transform(self):
        sn = SubjectNeutralizer(min_samples=2).fit(X4, groups=IDS4)
        sn.partial_fit([[100.0, 100.0], [102.0, 100.0]], groups=["cid", "cid"])
        # A lone cid sample now reads relative to cid's learned baseline (101, 100).
        np.testing.assert_allclose(sn.transform([[101.0, 103.0]], groups=["cid"]), [[0, 3]])

    def test_neutral_partial_fit_counts_only_neutral_samples(self):
        sn = SubjectNeutralizer("neutral").fit(X4, ["neutral", "x"] * 2, groups=IDS4)
        sn.partial_fit([[5.0, 5.0], [50.0, 50.0]], ["neutral", "happy"], groups=["ann"] * 2)
        np.testing.assert_allclose(sn.baselines_[0], [3.0, 7.5])  # mean of (1, 10), (5, 5)
        with pytest.raises(ValueError, match="needs y"):
            sn.partial_fit([[1.0, 1.0]], groups=["ann"])

    def test_first_partial_fit_fits_and_width_is_checked(self):
        sn = SubjectNeutralizer().partial_fit(X4, groups=IDS4)
        assert sn.subjects_.tolist() == ["ann", "bob"]
        with pytest.raises(ValueError, match="features"):
            sn.partial_fit(np.ones((1, 3)), groups=["ann"])


class TestFallbacks:
    def test_lone_subject_seen_at_fit_uses_its_fit_baseline(self):
        sn = SubjectNeutralizer().fit(X4, groups=IDS4)
        out = sn.transform(X4[[1]], groups=["ann"])  # 1 < min_samples=2 in this batch
        np.testing.assert_allclose(out, [[1.0, 0.0]])

    def test_lone_unseen_subject_uses_population(self):
        sn = SubjectNeutralizer().fit(X4, groups=IDS4)
        out = sn.transform([[7.0, 5.5]], groups=["cid"])
        np.testing.assert_allclose(out, [[0.0, 0.0]])  # population mean is (7, 5.5)

    def test_unseen_error_names_the_sample_and_subject(self):
        sn = SubjectNeutralizer(unseen="error").fit(X4, groups=IDS4)
        with pytest.raises(ValueError, match="sample 1 of subject 'cid' has no baseline"):
            sn.transform(X4[:2], groups=["ann", "cid"])

    def test_unseen_subject_with_enough_samples_gets_its_own_mean(self):
        sn = SubjectNeutralizer(unseen="error").fit(X4, groups=IDS4)
        out = sn.transform([[0.0, 0.0], [2.0, 2.0]], groups=["cid", "cid"])
        np.testing.assert_allclose(out, [[-1, -1], [1, 1]])

    @pytest.mark.parametrize("missing", [None, np.nan, "", pd.NA])
    def test_missing_ids_use_population(self, missing):
        sn = SubjectNeutralizer().fit(X4, groups=IDS4)
        out = sn.transform(X4[:2], groups=np.array(["ann", missing], dtype=object))
        np.testing.assert_allclose(out[1], X4[1] - [7.0, 5.5])

    def test_missing_id_with_unseen_error(self):
        sn = SubjectNeutralizer(unseen="error").fit(X4, groups=IDS4)
        with pytest.raises(ValueError, match="sample 0 has no subject id"):
            sn.transform(X4[:1], groups=[None])

    def test_no_groups_is_an_error_that_explains_routing(self):
        with pytest.raises(ValueError, match="enable_metadata_routing=True"):
            SubjectNeutralizer().fit(X4)
        sn = SubjectNeutralizer().fit(X4, groups=IDS4)
        with pytest.raises(ValueError, match="GROUP_SCORING"):
            sn.transform(X4)

    def test_no_groups_population_mode(self):
        out = SubjectNeutralizer(missing_groups="population").fit_transform(X4)
        np.testing.assert_allclose(out, X4 - X4.mean(axis=0))

    def test_groups_length_mismatch(self):
        with pytest.raises(ValueError, match="one subject id per sample"):
            SubjectNeutralizer().fit(X4, groups=["a", "b"])
        with pytest.raises(TypeError, match="got the string"):
            SubjectNeutralizer().fit(X4, groups="abcd")

    def test_transform_checks_width(self):
        sn = SubjectNeutralizer().fit(X4, groups=IDS4)
        with pytest.raises(ValueError, match="features"):
            sn.transform(np.ones((2, 3)), groups=["ann", "ann"])


class TestOnset:
    # Two clips of 3 frames x 2 features: onset frame, then expression frames.
    clips = np.array(
        [
            [1.0, 2.0, 2.0, 2.0, 3.0, 5.0],
            [3.0, 2.0, 3.0, 4.0, 3.0, 6.0],
        ]
    )

    def test_each_clip_uses_its_own_onset_without_ids(self):
        out = SubjectNeutralizer("onset", n_frames=3).fit_transform(self.clips)
        np.testing.assert_allclose(out, [[0, 0, 1, 0, 2, 3], [0, 0, 0, 2, 0, 4]])

    def test_a_subjects_clips_pool_their_onsets(self):
        out = SubjectNeutralizer("onset", n_frames=3).fit_transform(self.clips, groups=["a", "a"])
        onset = np.array([2.0, 2.0])  # mean of (1, 2) and (3, 2)
        np.testing.assert_allclose(out, self.clips - np.tile(onset, 3))

    def test_invalid_onset_frames_are_skipped(self):
        clips = self.clips.copy()
        clips[0, :2] = np.nan  # no face in the first frame: the onset is frame 1
        out = SubjectNeutralizer("onset", n_frames=3, onset_frames=1).fit_transform(clips)
        np.testing.assert_allclose(out[0], [np.nan, np.nan, 0, 0, 1, 3])

    def test_onset_frames_average(self):
        out = SubjectNeutralizer("onset", n_frames=3, onset_frames=2).fit_transform(self.clips)
        np.testing.assert_allclose(out[0], self.clips[0] - np.tile([1.5, 2.0], 3))

    def test_layout_errors(self):
        with pytest.raises(ValueError, match="needs n_frames"):
            SubjectNeutralizer("onset").fit(self.clips)
        with pytest.raises(ValueError, match="not a multiple of n_frames=4"):
            SubjectNeutralizer("onset", n_frames=4).fit(self.clips)


class TestRouting:
    def test_pipeline_fit_and_predict_route_groups(self, routing):
        X, y, groups = make_subject_data()
        pipe = make_pipeline(SubjectNeutralizer(), LogisticRegression(max_iter=1000))
        pipe.fit(X, y, groups=groups)
        assert pipe.score(X, y, groups=groups) > 0.95
        with pytest.raises(ValueError, match="needs subject ids"):
            pipe.predict(X)

    def test_without_routing_step_params_fit_the_pipeline(self):
        X, y, groups = make_subject_data()
        pipe = Pipeline([("sn", SubjectNeutralizer()), ("clf", LogisticRegression())])
        pipe.fit(X, y, sn__groups=groups)
        np.testing.assert_allclose(
            pipe[0].transform(X, groups=groups),
            SubjectNeutralizer().fit_transform(X, groups=groups),
        )

    def test_feature_union_routes_groups(self, routing):
        X, _, groups = make_subject_data(n_subjects=3)
        union = FeatureUnion(
            [("raw", FunctionTransformer()), ("conditioned", SubjectNeutralizer())]
        )
        out = union.fit_transform(X, groups=groups)
        np.testing.assert_allclose(out[:, :3], X)
        np.testing.assert_allclose(out[:, 3:], SubjectNeutralizer().fit_transform(X, groups=groups))
        np.testing.assert_allclose(union.transform(X, groups=groups), out)

    def test_column_transformer_routes_groups(self, routing):
        X, _, groups = make_subject_data(n_subjects=3)
        ct = ColumnTransformer([("sn", SubjectNeutralizer(), [0, 1])], remainder="passthrough")
        out = ct.fit_transform(X, groups=groups)
        np.testing.assert_allclose(out[:, 2], X[:, 2])

    def test_grid_search_with_group_kfold_and_group_scoring(self, routing):
        X, y, groups = make_subject_data()
        pipe = Pipeline([("sn", SubjectNeutralizer()), ("clf", LogisticRegression(max_iter=1000))])
        search = GridSearchCV(
            pipe,
            {"sn__baseline": ["mean", "median"], "sn__method": ["subtract", "standardize"]},
            cv=GroupKFold(4),
            scoring=GROUP_SCORING,
            refit="uar",
            error_score="raise",
        )
        search.fit(X, y, groups=groups)
        assert search.cv_results_["mean_test_war"].min() > 0.95
        assert (search.best_estimator_.predict(X, groups=groups) == y).mean() > 0.95
        # The same protocol without conditioning: the subject offsets dominate.
        raw = cross_val_score(
            LogisticRegression(max_iter=1000), X, y, cv=GroupKFold(4), params={"groups": groups}
        )
        assert search.best_score_ - raw.mean() > 0.3

    def test_default_scoring_routes_groups_through_pipeline_score(self, routing):
        X, y, groups = make_subject_data(n_subjects=4)
        pipe = make_pipeline(SubjectNeutralizer(), LogisticRegression())
        scores = cross_val_score(pipe, X, y, cv=GroupKFold(2), params={"groups": groups})
        assert scores.min() > 0.9

    def test_plain_string_scoring_in_cv_fails_loudly_not_silently(self, routing):
        X, y, groups = make_subject_data(n_subjects=4)
        pipe = make_pipeline(SubjectNeutralizer(), LogisticRegression())
        with pytest.raises(ValueError, match="GROUP_SCORING"):
            cross_val_score(
                pipe,
                X,
                y,
                cv=GroupKFold(2),
                scoring="accuracy",
                params={"groups": groups},
                error_score="raise",
            )

    def test_request_can_be_aliased(self, routing):
        X, y, groups = make_subject_data(n_subjects=3)
        sn = SubjectNeutralizer().set_fit_request(groups="subject")
        sn.set_transform_request(groups="subject")
        pipe = make_pipeline(sn, LogisticRegression()).fit(X, y, subject=groups)
        assert pipe[0].subjects_.tolist() == ["s0", "s1", "s2"]
        assert pipe.score(X, y, subject=groups) > 0.9


class RecordingNeutralizer(SubjectNeutralizer):
    """Records which subjects' labels each fit saw."""

    log: list = []

    def fit(self, X, y=None, groups=None):
        RecordingNeutralizer.log.append(set(np.asarray(groups).tolist()))
        return super().fit(X, y, groups=groups)


class TestLeakage:
    def test_no_test_subject_label_reaches_a_fit(self, routing):
        X, y, groups = make_subject_data()
        RecordingNeutralizer.log = []
        cv = GroupKFold(4)
        folds = list(cv.split(X, y, groups))
        pipe = make_pipeline(RecordingNeutralizer("neutral"), LogisticRegression(max_iter=500))
        search = GridSearchCV(
            pipe,
            {"logisticregression__C": [0.1, 1.0]},
            cv=folds,
            scoring=GROUP_SCORING,
            refit="war",
            error_score="raise",
        )
        search.fit(X, y, groups=groups)
        train_sets = [set(groups[train].tolist()) for train, _ in folds]
        # 2 candidates x 4 folds, then the refit on everything.
        assert len(RecordingNeutralizer.log) == 9
        for seen in RecordingNeutralizer.log[:-1]:
            assert seen in train_sets
        for seen, (_, test) in zip(RecordingNeutralizer.log[:-1], folds * 2):
            assert not seen & set(groups[test].tolist())

    def test_test_labels_do_not_change_predictions(self):
        X, y, groups = make_subject_data()
        pipe = make_pipeline(SubjectNeutralizer("neutral"), LogisticRegression(max_iter=500))
        cv = list(GroupKFold(3).split(X, y, groups))
        first = cross_val_war_uar(pipe, X, y, cv=cv, groups=groups)["y_pred"]
        # Relabel the first fold's test subjects completely (all "neutral"):
        # that fold's predictions must not move.
        test = cv[0][1]
        y_poisoned = y.copy()
        y_poisoned[test] = "neutral"
        second = cross_val_war_uar(pipe, X, y_poisoned, cv=cv, groups=groups)["y_pred"]
        assert (first[test] == second[test]).all()

    def test_neutral_baseline_of_unseen_subjects_is_the_population(self):
        X, y, groups = make_subject_data()
        train = groups != "s0"
        sn = SubjectNeutralizer("neutral").fit(X[train], y[train], groups=groups[train])
        out = sn.transform(X[~train], groups=groups[~train])
        np.testing.assert_allclose(out, X[~train] - sn.population_baseline_)


class TestPersistence:
    @pytest.mark.parametrize(
        "sn",
        [
            SubjectNeutralizer(),
            SubjectNeutralizer("neutral", method="standardize"),
            SubjectNeutralizer("median", unseen="error"),
        ],
    )
    def test_clone_pickle_joblib_identical(self, sn, tmp_path):
        X, y, groups = make_subject_data(n_subjects=4)
        sn.fit(X, y, groups=groups)
        expected = sn.transform(X, groups=groups)
        path = tmp_path / "sn.joblib"
        joblib.dump(sn, path)
        for copy in (joblib.load(path), pickle.loads(pickle.dumps(sn))):
            np.testing.assert_array_equal(copy.transform(X, groups=groups), expected)
        fresh = clone(sn)
        assert not hasattr(fresh, "baselines_")
        np.testing.assert_array_equal(fresh.fit_transform(X, y, groups=groups), expected)

    def test_pipeline_joblib_round_trip(self, routing, tmp_path):
        X, y, groups = make_subject_data()
        pipe = make_pipeline(StandardScaler(), SubjectNeutralizer(), LogisticRegression())
        pipe.fit(X, y, groups=groups)
        joblib.dump(pipe, tmp_path / "p.joblib")
        loaded = joblib.load(tmp_path / "p.joblib")
        np.testing.assert_array_equal(
            loaded.predict_proba(X, groups=groups), pipe.predict_proba(X, groups=groups)
        )

    def test_pandas_output_keeps_names(self):
        X = pd.DataFrame(X4, columns=["d_0_1", "d_0_2"])
        out = SubjectNeutralizer().set_output(transform="pandas").fit_transform(X, groups=IDS4)
        assert list(out.columns) == ["d_0_1", "d_0_2"]
        np.testing.assert_allclose(
            out.to_numpy(), SubjectNeutralizer().fit_transform(X4, groups=IDS4)
        )


def test_partial_fit_fills_columns_that_were_nan():
    sn = SubjectNeutralizer().fit([[1.0, np.nan], [5.0, 5.0]], groups=["a", "b"])
    sn.partial_fit([[3.0, 4.0]], groups=["a"])
    np.testing.assert_allclose(sn.baselines_[0], [2.0, 4.0])  # column 1 from the new sample


# The checks pass no subject ids: every sample is then "without an id" and gets the
# training population's baseline.
@parametrize_with_checks(
    [
        SubjectNeutralizer(missing_groups="population"),
        SubjectNeutralizer("median", method="standardize", missing_groups="population"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@SETTINGS
@given(numeric_inputs(3), st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6))
def test_subject_neutralizer_rows(X, subjects):
    groups = subjects[: len(X)]
    sn = SubjectNeutralizer(missing_groups="population")
    try:
        sn.fit(X, groups=groups)
    except ValueError as exc:
        assert clear_error(exc)
        return
    order = np.arange(len(X))[::-1]

    def transform(Z):
        ids = groups if Z is X else [groups[i] for i in order]
        return sn.transform(Z, groups=ids)

    assert_rows_or_clear_error(transform, X)


def test_subject_recentering_is_an_identity_without_ids_and_maps_a_person_online():
    X = np.array([[1.0, 2], [3, 4], [5, 6], [7, 8]])
    y = ["neutral", "happy", "neutral", "happy"]
    sn = SubjectNeutralizer("neutral", method="recenter", missing_groups="population").fit(X, y)
    np.testing.assert_array_equal(sn.transform(X), X)  # trained without ids: nothing changes
    sn.partial_fit([[11.0, 12]], ["neutral"], groups=["a"])
    # Person a's resting face becomes the population's resting face (3, 4).
    np.testing.assert_array_equal(sn.transform([[11.0, 12]], groups=["a"]), [[3.0, 4.0]])
