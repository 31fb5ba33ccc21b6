"""fersk.video.stream.VideoAnalyzer.run: nothing written for a video without frames, every frame of
a damaged one kept, outputs checked once, annotated copies that read back."""

from __future__ import annotations

import csv
import os

import cv2
import numpy as np
import pytest

from fersk.io import VideoReadError, can_write_codec, read_clip
from fersk.video.stream import VideoAnalyzer, check_video_outputs
from tests.io.test_video import damage

COLUMNS = ["frame", "time_s", "frame_ok", "face_found", "track", "detected", "x0", "y0", "x1"]


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
