"""Clip pipelines on real frames: landmarks per frame, motion, subject conditioning."""

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold

from fersk import ClipLandmarkExtractor, LandmarkExtractor, MotionDelta, SubjectNeutralizer
from fersk.datasets import make_sample_clips
from fersk.evaluation.crossval import cross_val_war_uar
from fersk.evaluation.metrics import GROUP_SCORING
from fersk.study import find_steps, make_clip_pipeline

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
