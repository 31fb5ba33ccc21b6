"""fersk.evaluation.crossval: cross_val_war_uar -- subject-independent folds, subject ids routed to
the steps that take them, WAR/UAR per fold, per subject and per sample."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline

from fersk import SubjectNeutralizer
from fersk.evaluation.crossval import cross_val_war_uar
from tests.features.test_subject import make_subject_data


def test_cross_val_war_uar_matches_a_manual_loop():
    X, y, groups = make_subject_data()
    pipe = make_pipeline(SubjectNeutralizer(), LogisticRegression(max_iter=500))
    result = cross_val_war_uar(pipe, X, y, cv=4, groups=groups)
    manual = []
    for train, test in GroupKFold(4).split(X, y, groups):
        sn = SubjectNeutralizer().fit(X[train], groups=groups[train])
        clf = LogisticRegression(max_iter=500).fit(
            sn.transform(X[train], groups=groups[train]), y[train]
        )
        pred = clf.predict(sn.transform(X[test], groups=groups[test]))
        manual.append((pred == y[test]).mean())
    np.testing.assert_allclose([f["war"] for f in result["folds"]], manual)
    assert result["war_mean"] == pytest.approx(np.mean(manual))
    assert set(result["per_subject"]["subjects"]) == set(groups.tolist())
    assert (result["y_pred"] != None).all()  # noqa: E711


def test_cross_val_scores_a_baseline_without_a_neutralizer_with_the_same_call():
    X, y, groups = make_subject_data()
    sklearn.set_config(enable_metadata_routing=True)  # as a user comparing the two
    try:
        base = cross_val_war_uar(LogisticRegression(max_iter=500), X, y, cv=4, groups=groups)
        folds = GroupKFold(4).split(X, y, groups)
        manual = [
            LogisticRegression(max_iter=500).fit(X[tr], y[tr]).score(X[te], y[te])
            for tr, te in folds
        ]
        np.testing.assert_allclose([f["war"] for f in base["folds"]], manual)
        conditioned = cross_val_war_uar(
            make_pipeline(SubjectNeutralizer(), LogisticRegression(max_iter=500)),
            X,
            y,
            cv=4,
            groups=groups,
        )
        assert conditioned["war_mean"] > base["war_mean"]  # the ids did reach it
    finally:
        sklearn.set_config(enable_metadata_routing=False)


def test_cross_val_gives_groups_to_an_estimator_whose_own_fit_takes_them():
    X, y, groups = make_subject_data()
    seen = {}

    class Own(LogisticRegression):  # no routing request: its own argument
        def fit(self, X, y, groups=None):
            seen["fit"] = groups
            return super().fit(X, y)

        def predict(self, X, groups=None):
            seen["predict"] = groups
            return super().predict(X)

    cross_val_war_uar(Own(max_iter=500), X, y, cv=4, groups=groups)
    assert seen["fit"] is not None and seen["predict"] is not None
    assert set(seen["fit"]) | set(seen["predict"]) == set(groups)  # the fold's own ids


def test_cross_val_refuses_shared_subjects():
    X, y, groups = make_subject_data(n_subjects=3)
    folds = [(np.arange(0, 30), np.arange(30, 54))]  # subject s1 on both sides
    with pytest.raises(ValueError, match=r"subjects \['s1'\] are in both"):
        cross_val_war_uar(LogisticRegression(), X, y, cv=folds, groups=groups, route_groups=False)
    r = cross_val_war_uar(
        LogisticRegression(),
        X,
        y,
        cv=folds,
        groups=groups,
        route_groups=False,
        allow_shared_subjects=True,
    )
    assert r["n_folds"] == 1 and (r["y_pred"][:30] == None).all()  # noqa: E711
