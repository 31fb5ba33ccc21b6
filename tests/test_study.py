"""fersk.study: the study's image and clip pipelines on real images (the built-in sample
faces and clips), end to end."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk import (
    ClarityBinner,
    ClarityRoutedClassifier,
    ClipLandmarkExtractor,
    LandmarkExtractor,
    MotionDelta,
    PairwiseDistance,
    SubjectNeutralizer,
)
from fersk.datasets import make_sample_clips
from fersk.datasets.synthetic import make_sample_faces
from fersk.evaluation.crossval import cross_val_war_uar
from fersk.evaluation.metrics import GROUP_SCORING, SCORING
from fersk.landmarks.dlib_backend import DlibLandmarker
from fersk.study import evaluate, find_steps, make_clip_pipeline, make_study_pipeline, param_grid


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


@pytest.mark.slow
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


# --------------------------------------------------------------------------
# Clip pipelines: landmarks per frame, motion, subject conditioning
# --------------------------------------------------------------------------


N_FRAMES = 8


@pytest.fixture(scope="module")
def clips():
    data = make_sample_clips(n_subjects=4, n_frames=N_FRAMES, onset_frames=2, image_size=96)
    data.X = np.empty(len(data.data), dtype=object)
    data.X[:] = data.data
    return data


@pytest.fixture(scope="module")
def landmarks(clips, tmp_path_factory):
    extractor = ClipLandmarkExtractor(
        LandmarkExtractor(68, detector="none", memory=tmp_path_factory.mktemp("cache")),
        n_frames=N_FRAMES,
    )
    return extractor.fit_transform(clips.X)


def test_extracted_landmarks_follow_the_ground_truth(clips, landmarks):
    # dlib on the rendered frames vs the landmarks the frames were rendered from.
    error = np.abs(landmarks - clips.landmarks)
    assert np.isfinite(landmarks).all()
    assert np.median(error) < 3.0  # pixels, on 96 px frames


def test_motion_separates_expressive_from_neutral_clips(clips, landmarks):
    motion = MotionDelta(68, features=("displacement",)).fit_transform(landmarks)
    mouth = [c for c in range(motion.shape[1]) if c % 68 in range(48, 68)]  # disp_mean, mouth
    neutral = clips.target == clips.target_names.index("neutral")
    happy = clips.target == clips.target_names.index("happiness")
    # Head drift alone (neutral clips) moves the normalised mouth much less than a smile.
    assert motion[happy][:, mouth].mean() > 2 * motion[neutral][:, mouth].mean()


def test_grid_search_over_a_subject_conditioned_clip_pipeline(clips, tmp_path):
    pipe = make_clip_pipeline(68, N_FRAMES, subject=True, detector="none", memory=tmp_path)
    search = GridSearchCV(
        pipe,
        {"features__frame__subject__baseline": ["mean", "median"]},
        cv=GroupKFold(2),
        scoring=GROUP_SCORING,
        refit="uar",
        error_score="raise",
    )
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(clips.X, clips.target, groups=clips.subject)
        best = search.best_estimator_
        expected = best.predict_proba(clips.X, groups=clips.subject)
        joblib.dump(best, tmp_path / "clip.joblib")
        loaded = joblib.load(tmp_path / "clip.joblib")
        np.testing.assert_array_equal(loaded.predict_proba(clips.X, groups=clips.subject), expected)
        with pytest.raises(ValueError, match="needs subject ids"):
            best.predict(clips.X)
    assert search.best_score_ > 2 / 7  # 7 classes, 2 unseen subjects per fold
    (neutralizer,) = find_steps(best, SubjectNeutralizer)
    assert set(neutralizer.subjects_) == set(clips.subject)


def test_motion_and_subject_beat_a_single_frame_across_subjects(clips, landmarks):
    cv = list(GroupKFold(4).split(landmarks, clips.target, clips.subject))
    scores = {}
    for name, options in {
        "frame": dict(frame="last", motion=False),
        "all": dict(frame="last", motion=True, subject=True),
    }.items():
        model = make_clip_pipeline(68, N_FRAMES, extract=False, **options)
        result = cross_val_war_uar(
            model,
            landmarks,
            clips.target,
            cv=cv,
            groups=clips.subject,
            route_groups=options["subject"] if "subject" in options else False,
        )
        scores[name] = result["war_mean"]
    assert scores["all"] > scores["frame"]


def test_clip_pipeline_arguments_are_checked():
    with pytest.raises(ValueError, match="frame must be one of"):
        make_clip_pipeline(frame="apex")
    with pytest.raises(ValueError, match="needs frame distances, motion features, or both"):
        make_clip_pipeline(frame=None, motion=False)
    with pytest.raises(ValueError, match="give a frame"):
        make_clip_pipeline(frame=None, subject=True)
