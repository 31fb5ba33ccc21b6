"""fersk.video.stream: VideoAnalyzer on generated videos -- every frame kept in order, faces
tracked and smoothed, the model fed what it was trained on; run() writes nothing for a video
without frames, keeps every frame of a damaged one, checks its outputs once."""

from __future__ import annotations

import csv
import os
import shutil

import cv2
import joblib
import numpy as np
import pytest
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk import LandmarkExtractor, PairwiseDistance, SubjectNeutralizer
from fersk._core.pipeline_tools import predict_proba_with
from fersk.datasets import make_sample_clips, make_sample_faces, make_sample_video
from fersk.io import VideoReadError, can_write_codec, read_clip
from fersk.models import load_model
from fersk.study import find_steps, make_clip_pipeline
from fersk.video import VideoAnalyzer, check_video_outputs, model_kind
from fersk.video.smoothing import count_flips
from fersk.video.source import open_source
from tests.conftest import STREAM_FPS as FPS
from tests.io.test_video import damage

COLUMNS = ["frame", "time_s", "frame_ok", "face_found", "track", "person", "calibration"]
COLUMNS += ["n_references", "detected", "x0", "y0", "x1"]


@pytest.fixture(scope="module")
def model():
    from fersk.models import load_model

    return load_model("landmarks-fer2013")


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    from fersk.datasets import make_sample_video

    path = tmp_path_factory.mktemp("stream") / "face.mp4"
    make_sample_video(path, size=(240, 180), fps=10, script=[("neutral", 4.0)])
    return str(path)


def _rows(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.bad_input("video-no-frame")
def test_a_video_without_frames_leaves_earlier_outputs_as_they_were(model, tmp_path):
    empty = str(tmp_path / "empty.avi")
    cv2.VideoWriter(empty, cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)).release()
    out = tmp_path / "out.csv"
    out.write_text("earlier,run\n1,2\n")
    annotated = tmp_path / "annotated.avi"
    with pytest.raises(VideoReadError, match="it has no decodable frame"):
        VideoAnalyzer(model).run(empty, csv_path=out, annotate=annotated)
    assert out.read_text() == "earlier,run\n1,2\n"  # before: emptied, and the run said 0 frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.avi", "out.csv"]


@pytest.mark.bad_input("video-damaged-stretch")
def test_every_frame_of_a_damaged_video_has_its_row(model, face_video, tmp_path):
    path = damage(face_video, tmp_path / "damaged.mp4", at=0.5, fraction=0.05)
    out = tmp_path / "out.csv"
    with pytest.warns(RuntimeWarning, match="a damaged stretch"):
        summary = VideoAnalyzer(model).run(path, csv_path=out)
    rows = _rows(out)
    assert summary["frames"] == 40 == len(rows)  # before: the run ended at the damage
    assert list(rows[0])[: len(COLUMNS)] == COLUMNS
    assert [int(r["frame"]) for r in rows] == list(range(40))
    bad = [int(r["frame"]) for r in rows if r["frame_ok"] == "False"]
    assert bad and all(rows[i]["face_found"] == "False" for i in bad)
    assert all(r["face_found"] == "True" for r in rows[bad[-1] + 1 :])  # the face, after it


@pytest.mark.bad_input("video-outputs-checked-once")
def test_run_checks_its_outputs_before_touching_anything(model, face_video, tmp_path):
    model_file = tmp_path / "model.joblib"
    model_file.write_bytes(b"a model")
    analyzer = VideoAnalyzer(model)
    cases = [
        ({"csv_path": model_file, "inputs": (model_file,)}, r"model\.joblib' is the input"),
        ({"csv_path": face_video}, r"face\.mp4' is the input"),
        ({"csv_path": tmp_path / "a.csv", "annotate": tmp_path / "a.csv"}, "video extension"),
        ({"csv_path": tmp_path / "a.avi", "annotate": tmp_path / "a.avi"}, "the same file"),
        ({"csv_path": tmp_path / "no" / "a.csv"}, "folder .* does not exist"),
        ({"annotate": tmp_path}, "is a folder; give a file name"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            analyzer.run(face_video, **kwargs)
    assert model_file.read_bytes() == b"a model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.joblib"]
    # The command line checks the same way before it loads its model, naming its options.
    with pytest.raises(ValueError, match="^--annotate .* must end in a video extension"):
        check_video_outputs(face_video, annotate=tmp_path / "a.csv", names=("--csv", "--annotate"))


@pytest.mark.bad_input("video-annotate-codec")
def test_an_annotated_mp4_reads_back_frame_for_frame(model, face_video, tmp_path):
    annotated = tmp_path / "annotated.mp4"
    summary = VideoAnalyzer(model).run(face_video, annotate=annotated)
    assert summary["annotated"] == os.fspath(annotated)
    capture = cv2.VideoCapture(str(annotated))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode().lower()
    capture.release()
    assert fourcc in (("avc1", "h264") if can_write_codec("avc1", ".mp4") else ("fmp4", "mp4v"))
    back, original = read_clip(str(annotated)), read_clip(face_video)
    assert len(back) == len(original) == 40 and back[0].shape == original[0].shape
    # The boxes and labels are drawn on the frames: they differ from the input, a little.
    difference = np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(back, original)])
    assert 0.5 < difference < 30


# --------------------------------------------------------------------------
# The stream end to end, on videos the project generates
# --------------------------------------------------------------------------


def _classifier():
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0)


@pytest.fixture(scope="module")
def faces(stream_faces):
    """The faces ``landmark_model`` was fitted on (4 subjects at 128 px)."""
    return stream_faces


def test_csv_keeps_every_frame_in_order_and_flags_absent_faces(landmark_model, video, tmp_path):
    out = tmp_path / "rows.csv"
    summary = VideoAnalyzer(landmark_model).run(video.path, csv_path=out)
    rows = _rows(out)
    n = len(video.time)
    assert summary["frames"] == n and not summary["interrupted"]
    assert [int(r["frame"]) for r in rows] == list(range(n))  # one face at most: one row
    found = np.array([r["face_found"] == "True" for r in rows])
    present = video.face_present[:, 0]
    assert found[present].mean() > 0.9
    assert not found[~present].any()
    np.testing.assert_allclose([float(r["time_s"]) for r in rows], video.time, atol=1e-3)
    # The labels name classes, and probabilities sum to one on face rows.
    names = landmark_model.target_names_
    face_rows = [r for r, f in zip(rows, found) if f]
    assert {r["label"] for r in face_rows} <= set(names) | {""}
    sums = [sum(float(r[f"p_{c}"]) for c in names) for r in face_rows]
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)


def test_track_id_survives_the_absent_stretch(landmark_model, video):
    rows = list(VideoAnalyzer(landmark_model).stream(video.path))
    tracks = {r["track"] for r in rows if r["face_found"]}
    assert tracks == {0}
    present = video.face_present[:, 0]
    after = np.flatnonzero(~present)[-1] + 1
    assert rows[after + 3]["face_found"] and rows[after + 3]["track"] == 0


def test_smoothing_reduces_flips_and_zero_smoothing_is_the_raw_output(landmark_model, video):
    raw = list(VideoAnalyzer(landmark_model, tau_s=0, margin=0, min_dwell_s=0).stream(video.path))
    assert all(r["label"] == r["raw_label"] for r in raw if r["face_found"])
    smooth = [
        r
        for r in VideoAnalyzer(landmark_model, tau_s=1.0, margin=0.2).stream(video.path)
        if r["face_found"]
    ]
    assert count_flips([r["label"] for r in smooth]) <= count_flips(
        [r["raw_label"] for r in smooth]
    )


def test_motion_is_flagged_while_the_expression_starts(landmark_model, video):
    rows = list(VideoAnalyzer(landmark_model).stream(video.path))
    motion = np.array([r["motion"] for r in rows])
    intensity = np.nan_to_num(video.intensity[:, 0])
    ramp = np.abs(np.gradient(intensity)) > 0.02
    still = (intensity == 0) & video.face_present[:, 0]
    assert motion[ramp].mean() > motion[still].mean() + 0.3


def test_dropped_and_corrupt_frames_keep_their_place(landmark_model):
    clip = make_sample_video(size=(320, 240), fps=FPS, script=[("neutral", 1.0)], face_size=128)
    frames: list = list(clip.frames)
    frames[3] = None
    frames[5] = np.zeros((0, 0), np.uint8)
    frames[7] = np.zeros((10, 10, 7), np.uint8)
    frames[9] = frames[9][:100]  # a frame of another size
    rows = list(VideoAnalyzer(landmark_model).stream(frames, fps=FPS))
    assert [r["frame"] for r in rows] == list(range(len(frames)))
    ok = [r["frame_ok"] for r in rows]
    assert not ok[3] and not ok[5] and not ok[7] and ok[9]
    assert rows[-1]["face_found"]


def test_ctrl_c_keeps_the_finished_frames(landmark_model, tmp_path):
    clip = make_sample_video(size=(320, 240), fps=FPS, script=[("neutral", 1.0)], face_size=128)

    def frames():
        for i, frame in enumerate(clip.frames):
            if i == 6:
                raise KeyboardInterrupt
            yield frame

    out = tmp_path / "rows.csv"
    summary = VideoAnalyzer(landmark_model).run(frames(), csv_path=out, fps=FPS)
    assert summary["interrupted"] and summary["frames"] == 6
    assert [int(r["frame"]) for r in _rows(out)] == list(range(6))


def test_annotated_video_has_every_frame(landmark_model, video, tmp_path):
    out = tmp_path / "annotated.avi"
    summary = VideoAnalyzer(landmark_model).run(video.path, annotate=out)
    capture = cv2.VideoCapture(str(out))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    assert count == summary["frames"] == len(video.time)


@pytest.mark.parametrize("baseline", ["mean", "neutral"])
def test_online_baseline_learns_each_track_without_touching_the_model(faces, video, baseline):
    neutral = faces.target_names.index("neutral")
    model = make_pipeline(
        LandmarkExtractor(68, detector="none"),
        PairwiseDistance(),
        SubjectNeutralizer(baseline, shrinkage=5, neutral_label=neutral),
        SimpleImputer(),
        StandardScaler(),
        _classifier(),
    )
    with sklearn.config_context(enable_metadata_routing=True):
        model.fit(faces.data, faces.target, groups=faces.subject)
    analyzer = VideoAnalyzer(model, target_names=np.array(faces.target_names))
    rows = list(analyzer.stream(video.path))
    (online,) = find_steps(analyzer.model_, SubjectNeutralizer)
    (original,) = find_steps(model, SubjectNeutralizer)
    assert "track-0" in set(online.subjects_) and "track-0" not in set(original.subjects_)
    learned = online.counts_[list(online.subjects_).index("track-0")]
    faces_seen = [r for r in rows if r["face_found"]]
    # A neutral baseline learns the resting face (still frames); a mean baseline,
    # fitted on all of a subject's samples, learns from every frame.
    if baseline == "neutral":
        assert learned == sum(not r["motion"] for r in faces_seen) < len(faces_seen)
    else:
        assert learned == len(faces_seen)


@pytest.mark.slow
def test_clip_and_image_models_run_on_the_stream(video):
    clips = make_sample_clips(n_subjects=3, n_frames=8, onset_frames=2, image_size=96)
    clip_model = make_clip_pipeline(68, 8, detector="none", classifier=_classifier())
    clip_model.fit(clips.data, clips.target)
    rows = list(VideoAnalyzer(clip_model, target_names=clips.target_names).stream(video.path))
    assert len({r["frame"] for r in rows}) == len(video.time)
    assert any(r["label"] for r in rows if r["face_found"])

    faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    image_model = Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        (
                            "geometry",
                            make_pipeline(
                                LandmarkExtractor(68, detector="none"), PairwiseDistance()
                            ),
                        )
                    ]
                ),
            ),
            ("clf", _classifier()),
        ]
    ).fit(faces.data, faces.target)
    # The extractor inside a feature union gets the tracker's landmarks too (issue 10).
    assert model_kind(image_model) == "landmarks"
    rows = list(VideoAnalyzer(image_model).stream(video.path, max_frames=10))
    assert [r["frame"] for r in rows] == list(range(10))
    assert all(r["label"] for r in rows[1:] if r["face_found"])


@pytest.mark.slow
def test_two_faces_get_two_stable_tracks(landmark_model):
    script = [("neutral", 1.0), ("expression", 1.2, "surprise"), ("neutral", 0.6)]
    video = make_sample_video(size=(480, 240), fps=FPS, script=script, n_faces=2, face_size=112)
    frames = list(VideoAnalyzer(landmark_model).frames(video.frames, fps=FPS))
    assert [frame.index for frame, _ in frames] == list(range(len(video.time)))
    tracks = [sorted(r["track"] for r in rows if r["face_found"]) for _, rows in frames]
    assert tracks[-1] == [0, 1] and all(len(t) <= 2 for t in tracks)
    # Each id stays on its side of the frame: ids never swap.
    for _, rows in frames:
        for r in rows:
            if r["face_found"]:
                centre = (r["x0"] + r["x1"]) / 2
                side = int(centre > 240)
                first = next(x for x in frames[-1][1] if x["track"] == r["track"])
                assert side == int((first["x0"] + first["x1"]) / 2 > 240)


def _face_by_face(self, image, tracks, states, moves):
    """The stream's per-face path, for every frame (what one batch per frame must equal)."""
    return [
        self._run_model(image, [track], [state], self._learners(track.id, not move.moving))[0]
        for track, state, move in zip(tracks, states, moves)
    ]


@pytest.mark.parametrize("which", ["landmark_model", "calibrated_model"])
def test_the_faces_of_a_frame_go_through_the_model_in_one_batch_with_the_same_answers(
    which, request, monkeypatch
):
    model = request.getfixturevalue(which)
    script = [("neutral", 0.5), ("expression", 1.2, "happiness")]
    video = make_sample_video(size=(480, 240), fps=FPS, script=script, n_faces=2, face_size=112)
    batches = []
    real = predict_proba_with

    def counted(model, X, **kwargs):
        batches.append(len(X))
        return real(model, X, **kwargs)

    monkeypatch.setattr("fersk.video.stream.predict_proba_with", counted)
    rows = list(VideoAnalyzer(model).stream(video.frames, fps=FPS))
    assert max(batches) == 2  # both faces in one call
    monkeypatch.setattr(VideoAnalyzer, "_predict_frame", _face_by_face)
    batches.clear()
    alone = list(VideoAnalyzer(model).stream(video.frames, fps=FPS))
    assert set(batches) == {1}
    assert [(r["frame"], r["track"]) for r in rows] == [(r["frame"], r["track"]) for r in alone]
    p = [[v for k, v in r.items() if k.startswith("p_")] for r in rows]
    q = [[v for k, v in r.items() if k.startswith("p_")] for r in alone]
    np.testing.assert_allclose(p, q, atol=1e-5)
    assert [r["label"] for r in rows] == [r["label"] for r in alone]


@pytest.mark.slow
def test_string_classes_name_themselves_and_odd_frames_do_not_crash(faces, tmp_path):
    names = np.array(faces.target_names)
    model = make_pipeline(
        LandmarkExtractor(68, detector="none"), PairwiseDistance(), _classifier()
    ).fit(faces.data, names[faces.target])
    model.target_names_ = list(reversed(faces.target_names))  # must not rename string classes
    clip = make_sample_video(size=(320, 240), fps=FPS, script=[("neutral", 0.8)], face_size=128)
    frames: list = [None, None, *clip.frames]
    frames[4] = np.full((240, 320), np.nan)  # a float frame of NaNs
    frames[5] = np.ones((240, 320), bool)
    out = tmp_path / "a.avi"
    analyzer = VideoAnalyzer(model)
    summary = analyzer.run(frames, annotate=out, fps=FPS)
    assert analyzer.class_names_ == [str(c) for c in model.classes_]
    capture = cv2.VideoCapture(str(out))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    assert count == summary["frames"] == len(frames)  # leading blanks written too
    with pytest.raises(TypeError, match="single image"):
        open_source(clip.frames[0])
    with pytest.raises(TypeError, match="bytes"):
        open_source(b"video")


def test_the_stream_feeds_the_trackers_landmarks_to_a_fusion(small_models, monkeypatch):
    from fersk.datasets import make_sample_video
    from fersk.video.stream import VideoAnalyzer

    calls = []
    original = LandmarkExtractor.transform

    def counted(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(LandmarkExtractor, "transform", counted)
    video = make_sample_video(size=(240, 180), fps=10, script=[("neutral", 0.5)], face_size=110)
    rows = list(VideoAnalyzer(small_models["fusion"]).stream(video.frames, fps=10))
    assert any(r["face_found"] for r in rows) and calls == []  # never re-extracted on crops


def test_the_stream_crops_faces_as_the_shipped_models_were_trained():
    """A CNN in a video sees the face framed as ``fersk predict`` frames photos."""
    from skimage.data import astronaut

    from fersk.io import face_crop
    from fersk.video.stream import VideoAnalyzer

    model = load_model("cnn-fer2013")
    photo = astronaut()
    analyzer = VideoAnalyzer(model, tau_s=0.0, margin=0.0, min_dwell_s=0.0)
    (row,) = [r for r in analyzer.stream([photo], fps=10) if r["face_found"]]
    names = [f"p_{c}" for c in model.classes_]
    box = [row[k] for k in ("x0", "y0", "x1", "y1")]
    expected = model.predict_proba([face_crop(photo, box)])[0]
    assert row["raw_label"] == "happiness"
    np.testing.assert_allclose([row[c] for c in names], expected, atol=1e-5)
    legacy = VideoAnalyzer(model, crop_margin=0.25, tau_s=0.0, margin=0.0, min_dwell_s=0.0)
    (old,) = [r for r in legacy.stream([photo], fps=10) if r["face_found"]]
    assert not np.allclose([old[c] for c in names], expected, atol=1e-5)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.bad_input("3")
def test_a_run_that_fails_midway_leaves_the_old_outputs(small_video, tmp_path):
    from fersk.video.stream import VideoAnalyzer

    class Exploding:
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            raise RuntimeError("the model broke")

        predict = predict_proba

    out, ann = tmp_path / "out.csv", tmp_path / "out.avi"
    out.write_text("old rows\n")
    ann.write_bytes(b"old video")
    with pytest.raises(RuntimeError, match="the model broke"):
        VideoAnalyzer(Exploding()).run(small_video, csv_path=out, annotate=ann)
    assert out.read_text() == "old rows\n" and ann.read_bytes() == b"old video"
    assert sorted(os.listdir(tmp_path)) == ["out.avi", "out.csv"]


@pytest.mark.bad_input("stream-extractor-settings")
def test_the_tracker_uses_the_models_extractor_settings(tmp_path):
    from fersk.landmarks.models import dlib_model_path
    from fersk.video.stream import VideoAnalyzer

    own = tmp_path / "my_predictor.dat"
    shutil.copy(dlib_model_path("5"), own)
    faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    extractor = LandmarkExtractor(
        5, detector="hog", upsample=1, detection_threshold=0.1, predictor_path=str(own)
    )
    model = make_pipeline(extractor, PairwiseDistance(), KNeighborsClassifier(1))
    model.fit(faces.data, faces.target)
    analyzer = VideoAnalyzer(model)
    analyzer._setup()
    tracker = analyzer.tracker_
    assert (tracker.n_landmarks, tracker.upsample, tracker.detection_threshold) == (5, 1, 0.1)
    assert tracker._landmarker.model_path == str(own)
    # A model whose landmark file is gone fails at once, naming it.
    own.unlink()
    with pytest.raises(ValueError, match="my_predictor.dat"):
        VideoAnalyzer(model)._setup()


@pytest.mark.bad_input("stream-frames-as-paths")
def test_frames_given_as_paths_are_read_and_a_missing_one_kept(faces_dir, landmark_model_path):
    from fersk.video.stream import VideoAnalyzer

    _, paths = faces_dir
    model = joblib.load(landmark_model_path)
    rows = list(VideoAnalyzer(model, detect_every=1).stream(paths[:3] + ["/no/such.png"]))
    assert [r["frame_ok"] for r in rows] == [True, True, True, False]
