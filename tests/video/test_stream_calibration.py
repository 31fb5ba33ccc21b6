"""Video calibrated to the person: a running mean per track, or the neutral photos given."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.datasets import make_sample_video
from fersk.video import VideoAnalyzer

FPS = 10


@pytest.fixture(scope="module")
def video():
    return make_sample_video(size=(240, 180), fps=FPS, script=[("neutral", 2.0)], face_size=110)


def _rows(model, video, **options):
    analyzer = VideoAnalyzer(model, tau_s=0, margin=0, min_dwell_s=0, **options)
    return [r for r in analyzer.stream(video.frames, fps=FPS) if r["face_found"]]


def test_a_track_is_calibrated_against_its_running_mean_once_it_is_old_enough(
    video, calibrated_model
):
    rows = _rows(calibrated_model, video, calibrate_after_s=1.0)
    times = np.array([r["time_s"] for r in rows])
    calibration = np.array([r["calibration"] for r in rows])
    assert set(calibration[times < 1.0]) == {"none"} and set(calibration[times >= 1.0]) == {"mean"}
    assert {r["person"] for r in rows} == {"track-0"}
    raw = _rows(calibrated_model, video, online_baseline=False)
    assert {r["calibration"] for r in raw} == {"none"}
    late = times >= 1.0
    proba = np.array([[r[k] for k in r if k.startswith("p_")] for r in rows])
    proba_raw = np.array([[r[k] for k in r if k.startswith("p_")] for r in raw])
    assert not np.allclose(proba[late], proba_raw[late])
    np.testing.assert_allclose(proba[~late], proba_raw[~late])


def test_neutral_photos_calibrate_every_frame(video, calibrated_model, person_photos):
    rows = _rows(calibrated_model, video, neutral=[str(person_photos / "ann_0.jpg")])
    assert {(r["calibration"], r["n_references"]) for r in rows} == {("neutral", 1)}


def test_a_bad_neutral_photo_or_a_model_that_cannot_calibrate_is_an_error(
    video, calibrated_model, person_photos
):
    with pytest.raises(ValueError, match=r"^the neutral photo \S*wall.png has no face that can"):
        _rows(calibrated_model, video, neutral=str(person_photos / "wall.png"))
    with pytest.raises(ValueError, match="calibrates to the person"):
        _rows(
            calibrated_model.estimator_.estimator, video, neutral=str(person_photos / "ann_0.jpg")
        )


def test_a_tracks_smoothing_starts_over_when_its_calibration_starts(video, calibrated_model):
    raw = _rows(calibrated_model, video, calibrate_after_s=1.0)  # no smoothing
    analyzer = VideoAnalyzer(calibrated_model, tau_s=0.5, margin=0.1, min_dwell_s=0.5,
                             calibrate_after_s=1.0)  # fmt: skip
    smooth = [r for r in analyzer.stream(video.frames, fps=FPS) if r["face_found"]]
    assert [r["calibration"] for r in smooth] == [r["calibration"] for r in raw]
    first = [r["calibration"] for r in smooth].index("mean")

    def proba(r):
        return np.array([r[k] for k in r if k.startswith("p_")])

    # the first calibrated frame shows its own answer, not an average with the uncalibrated ones
    np.testing.assert_allclose(proba(smooth[first]), proba(raw[first]), atol=1e-12)
    assert smooth[first]["label"] == raw[first]["raw_label"]
    # and the frames around it are smoothed
    assert not np.allclose(proba(smooth[first - 1]), proba(raw[first - 1]))
    assert not np.allclose(proba(smooth[first + 1]), proba(raw[first + 1]))
