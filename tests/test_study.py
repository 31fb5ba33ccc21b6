"""The study's pipeline on real images (the built-in sample faces), end to end."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk import ClarityBinner, ClarityRoutedClassifier, LandmarkExtractor, PairwiseDistance
from fersk.datasets.synthetic import make_sample_faces
from fersk.evaluation.metrics import SCORING
from fersk.landmarks.dlib_backend import DlibLandmarker
from fersk.study import evaluate, find_steps, make_study_pipeline, param_grid


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    data = make_sample_faces(
        n_subjects=4, n_intensities=2, blur_sigmas=(0.0, 1.5, 3.0), out_dir=out
    )
    data.X = np.array(data.data, dtype=object)
    data.train = data.split == "train"
    return data


def test_the_study_pipeline_as_written_in_the_issue(sample, tmp_path):
    pipe = Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        (
                            "geometry",
                            make_pipeline(
                                LandmarkExtractor(detector="none"),
                                PairwiseDistance(),
                                StandardScaler(),
                            ),
                        ),
                        ("clarity", ClarityBinner()),
                    ]
                ),
            ),
            (
                "clf",
                ClarityRoutedClassifier(
                    MLPClassifier(max_iter=500, random_state=0), min_samples_per_level=5
                ),
            ),
        ]
    )
    X, y, train = sample.X, sample.target, sample.train
    pipe.fit(X[train], y[train])
    clf = pipe.named_steps["clf"]
    assert sorted(clf.estimators_) == [0.0, 1.0, 2.0]
    proba = pipe.predict_proba(X[~train])
    assert proba.shape == (int((~train).sum()), 7)
    # Held-out subjects: well above the 1/7 chance level.
    assert pipe.score(X[~train], y[~train]) > 0.25  # 2x chance (1/7), unseen subject
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    restored = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X[~train]), proba)


def test_grid_search_extracts_each_image_once(sample, tmp_path, monkeypatch):
    calls = []
    real = DlibLandmarker.predict
    monkeypatch.setattr(
        DlibLandmarker,
        "predict",
        lambda self, image, box: calls.append(1) or real(self, image, box),
    )
    X, y, train, groups = sample.X, sample.target, sample.train, sample.subject
    pipe = make_study_pipeline(
        68,
        routed=True,
        detector="none",
        memory=tmp_path / "cache",
        classifier=MLPClassifier(max_iter=200, random_state=0),
    )
    search = GridSearchCV(
        pipe,
        param_grid(pipe, {"learning_rate_init": [1e-3, 1e-2]}),
        cv=GroupKFold(2),
        scoring=SCORING,
        refit="uar",
    )
    search.fit(X[train], y[train], groups=groups[train])
    # 2 folds x 2 params x (fit + score) + refit: all from one extraction per image.
    assert len(calls) == train.sum()
    assert set(search.cv_results_) >= {"mean_test_war", "mean_test_uar"}
    lr = search.best_params_["clf__estimator__learning_rate_init"]
    assert search.best_estimator_.named_steps["clf"].fallback_estimator_.learning_rate_init == lr


def test_evaluate_reports_levels_and_missing_faces(sample):
    X, y, train = sample.X, sample.target, sample.train
    pipe = make_study_pipeline(5, routed=False, detector="none").fit(X[train], y[train])
    levels = ClarityBinner().fit(X[train]).transform(X[~train]).ravel()
    noise = np.random.default_rng(0).integers(0, 255, (128, 128), dtype=np.uint8)
    pipe_hog = make_study_pipeline(5, routed=False, detector="hog").fit(X[train], y[train])
    report = evaluate(
        pipe, X[~train], y[~train], clarity_levels=levels, target_names=sample.target_names
    )
    assert report["overall"]["n"] == (~train).sum()
    assert sum(v["n"] for v in report["levels"].values()) == (~train).sum()
    assert set(report["per_class_recall"]) == set(sample.target_names)
    with pytest.warns(UserWarning, match="no_face"):
        missing = evaluate(pipe_hog, [noise, noise], [0, 1])
    assert missing["faces_not_found"] == 2 and missing["overall"]["n"] == 2
    assert [type(s).__name__ for s in find_steps(pipe, PairwiseDistance)] == ["PairwiseDistance"]
