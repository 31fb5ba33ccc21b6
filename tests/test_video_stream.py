"""The video stream mode end to end, on videos the project generates."""

from __future__ import annotations

import csv

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
from fersk.cli import main
from fersk.datasets import make_sample_clips, make_sample_faces, make_sample_video
from fersk.study import find_steps, make_clip_pipeline
from fersk.video.smoothing import count_flips
from fersk.video.source import VideoReadError, open_source
from fersk.video.stream import VideoAnalyzer, model_kind

FPS = 15.0
SCRIPT = [
    ("neutral", 2.0),
    ("expression", 2.0, "happiness"),
    ("absent", 0.6),
    ("neutral", 1.0),
]


def _classifier():
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0)


@pytest.fixture(scope="module")
def faces():
    return make_sample_faces(n_subjects=4, n_intensities=2, blur_sigmas=(0.0,), image_size=128)


@pytest.fixture(scope="module")
def landmark_model(faces):
    model = make_pipeline(
        LandmarkExtractor(68, detector="none"),
        PairwiseDistance(),
        SimpleImputer(),
        StandardScaler(),
        _classifier(),
    )
    model.fit(faces.data, faces.target)
    model.target_names_ = list(faces.target_names)
    return model


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "sample.avi"
    return make_sample_video(path, size=(320, 240), fps=FPS, script=SCRIPT, face_size=128)


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_model_kinds(landmark_model):
    assert model_kind(landmark_model) == "landmarks"
    assert model_kind(make_clip_pipeline(68, 8)) == "clip"
    assert model_kind(make_pipeline(StandardScaler(), _classifier())) == "image"


def test_csv_keeps_every_frame_in_order_and_flags_absent_faces(landmark_model, video, tmp_path):
    out = tmp_path / "rows.csv"
    summary = VideoAnalyzer(landmark_model).run(video.path, csv_path=out)
    rows = read_rows(out)
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
    assert [int(r["frame"]) for r in read_rows(out)] == list(range(6))


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


class FakeCapture:
    """Stands in for cv2.VideoCapture(camera index): BGR frames, then read failures."""

    def __init__(self, frames):
        self.frames = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]
        self.position = 0

    def isOpened(self):
        return True

    def grab(self):
        self.position += 1
        return self.position <= len(self.frames)

    def retrieve(self):
        if self.position > len(self.frames):
            return False, None
        return True, self.frames[self.position - 1]

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        pass


def test_cli_on_a_mocked_camera(landmark_model, monkeypatch, tmp_path):
    clip = make_sample_video(size=(320, 240), fps=FPS, script=[("neutral", 0.6)], face_size=128)
    opened = []

    def fake(index, *args):
        opened.append(index)
        return FakeCapture(clip.frames)

    monkeypatch.setattr(cv2, "VideoCapture", fake)
    model_path = tmp_path / "m.joblib"
    joblib.dump(landmark_model, model_path)
    out = tmp_path / "camera.csv"
    n = len(clip.frames)
    code = main(
        [
            "video",
            "--camera",
            "0",
            "--model",
            str(model_path),
            "--csv",
            str(out),
            "--max-frames",
            str(n),
        ]
    )
    assert code == 0 and opened == [0]
    rows = read_rows(out)
    assert [int(r["frame"]) for r in rows] == list(range(n))
    assert all(r["face_found"] == "True" for r in rows)


def test_cli_on_a_file_and_unreadable_sources(landmark_model, video, tmp_path, capsys):
    model_path = tmp_path / "m.joblib"
    joblib.dump(landmark_model, model_path)
    out = tmp_path / "file.csv"
    assert main(["video", str(video.path), "--model", str(model_path), "--csv", str(out)]) == 0
    assert len({r["frame"] for r in read_rows(out)}) == len(video.time)
    capsys.readouterr()
    assert (
        main(["video", str(tmp_path / "nope.mp4"), "--model", str(model_path), "--csv", str(out)])
        == 2
    )
    assert "nope.mp4' does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(VideoReadError, match="cannot open"):
        open_source(junk)
    assert main(["video", "--model", str(model_path), "--csv", str(out)]) == 2
    assert "either an INPUT" in capsys.readouterr().err


def test_iterables_with_timestamps_keep_a_variable_frame_rate():
    frames = [(0.0, np.zeros((8, 8), np.uint8)), (0.05, None), (0.2, np.zeros((8, 8), np.uint8))]
    assert [(f.index, f.time, f.ok) for f in open_source(frames)] == [
        (0, 0.0, True),
        (1, 0.05, False),
        (2, 0.2, True),
    ]
    with pytest.raises(ValueError, match="not after the previous"):
        list(open_source([(0.1, None), (0.1, None)]))


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
