"""fersk.cli: the ``fersk`` command end to end -- extract, train, evaluate, predict and video on
sample data; every mistake one line on stderr and exit code 2, before any work; no output ever
destroys an input or an earlier result."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import joblib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fersk import ClarityBinner
from fersk._core.pipeline_tools import iter_estimators
from fersk.cli import main
from fersk.datasets import load_dataset, make_sample_video, split_dataset
from fersk.datasets.synthetic import make_sample_faces
from fersk.io import ResumableCSV
from fersk.models import DEFAULT_MODEL, load_model
from fersk.predict import predict_faces
from fersk.video.source import VideoReadError, open_source
from tests.conftest import STREAM_FPS as FPS


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """The sample faces in the FER2013 folder layout: root/{train,test}/<class>/*.png."""
    flat = tmp_path_factory.mktemp("flat")
    data = make_sample_faces(n_subjects=4, n_intensities=2, blur_sigmas=(0.0, 2.0), out_dir=flat)
    root = tmp_path_factory.mktemp("root")
    names = data.target_names
    for path, label, split in zip(data.data, data.target, data.split):
        dest = root / split / names[label]
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    return root


@pytest.fixture(scope="module")
def photo(tmp_path_factory, face_rgb):
    """The astronaut photograph (one face) as a PNG file."""
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(face_rgb, cv2.COLOR_RGB2BGR))
    return path


def test_extract_writes_one_row_per_image_and_resumes(dataset_root, tmp_path, capsys):
    out = tmp_path / "landmarks.csv"
    images = sorted((dataset_root / "test").rglob("*.png"))
    (dataset_root / "test" / "neutral" / "zz_noise.png").write_bytes(b"not an image")
    try:
        assert (
            main(
                [
                    "extract",
                    str(dataset_root / "test"),
                    "--out",
                    str(out),
                    "--detector",
                    "none",
                    "--n-landmarks",
                    "5",
                ]
            )
            == 0
        )
        with out.open() as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == len(images) + 1
        bad = [r for r in rows if r["face_found"] == "0"]
        assert [r["failure"] for r in bad] == ["unreadable"] and bad[0]["x0"] == "nan"
        # Simulate an interrupted run: keep the header and 5 rows, run again.
        lines = out.read_text().splitlines(keepends=True)
        out.write_text("".join(lines[:6]))
        assert (
            main(
                [
                    "extract",
                    str(dataset_root / "test"),
                    "--out",
                    str(out),
                    "--detector",
                    "none",
                    "--n-landmarks",
                    "5",
                ]
            )
            == 0
        )
        with out.open() as fh:
            resumed = list(csv.DictReader(fh))
        assert [r["path"] for r in resumed] == [r["path"] for r in rows]
        assert resumed == rows
    finally:
        (dataset_root / "test" / "neutral" / "zz_noise.png").unlink()


@pytest.mark.slow
def test_train_then_evaluate(dataset_root, photo, tmp_path, capsys):
    model = tmp_path / "fer-model"
    assert (
        main(
            [
                "train",
                str(dataset_root),
                "--model",
                str(model),
                "--detector",
                "none",
                "--cache",
                str(tmp_path / "cache"),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    # The classifier's epochs are a bar on stderr, not a flood of lines; the saved
    # model does not print when refitted.
    assert "Iteration" not in out + err and "classifier:" in err and "epoch" in err
    # A model folder (data only, no pickle) that load_model reads back.
    assert sorted(p.name for p in model.iterdir()) == ["model.json", "model.npz"]
    saved = load_model(model)
    assert not [e for e in iter_estimators(saved, templates=True) if getattr(e, "verbose", 0)]
    assert (
        main(
            [
                "evaluate",
                str(dataset_root),
                "--model",
                str(model),
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads((tmp_path / "r.json").read_text())
    assert report["overall"]["n"] == 7 * 2 * 2  # one test subject: 7 classes x 2 x 2
    assert set(report["levels"]) <= {"0", "1", "2"} and report["faces_not_found"] == 0
    assert report["overall"]["war"] > 1 / 7
    # `fersk predict --model DIR` reads the folder fersk train wrote.
    assert (
        main(["predict", str(photo), "--model", str(model), "--csv", str(tmp_path / "p.csv")]) == 0
    )
    rows = pd.read_csv(tmp_path / "p.csv")
    expected = predict_faces([str(photo)], saved, progress=False)
    assert rows["label"].tolist() == expected["label"].tolist() and len(rows) == 1
    assert [c[2:] for c in rows.columns if c.startswith("p_")] == saved.classes_.tolist()
    settings = json.loads((tmp_path / "p.csv.settings.json").read_text())
    assert settings["model"] == str(model.resolve())  # a folder is recorded by its path


@pytest.mark.slow
def test_train_tune_shows_its_fits_on_a_bar(dataset_root, tmp_path, capsys):
    model = tmp_path / "tuned"
    argv = ["train", str(dataset_root), "--model", str(model), "--detector", "none", "--tune"]
    assert main([*argv, "--single", "--cache", str(tmp_path / "cache")]) == 0
    out, err = capsys.readouterr()
    assert "[CV] END" not in out + err  # counted on the bar, not printed
    assert "GridSearchCV:" in err and "/12" in err  # 4 candidates x 3 folds
    assert load_model(model).predict([str(next(dataset_root.rglob("*.png")))]).shape == (1,)


# --------------------------------------------------------------------------
# fersk predict: annotated copies, duplicate inputs, one writer per CSV
# --------------------------------------------------------------------------


def test_annotated_copies_never_collide_and_inputs_count_once(photo, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    images = ["a/x.png", "a/x.jpg", "a/p/q.png", "a/p__q.png", "b/x.png", "b/x.jpg"]
    for rel in images:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, tmp_path / rel)  # a .jpg holding PNG bytes still decodes
    ann, out = tmp_path / "ann", tmp_path / "faces.csv"
    # The same folder three times (spelled differently), and one of its files again.
    argv = [str(a), str(b), f"{a}/", str(a / "x.png"), "--annotate", str(ann), "--csv", str(out)]
    assert main(["predict", *argv]) == 0
    rows = pd.read_csv(out)
    assert sorted(rows["file"]) == sorted(str(tmp_path / rel) for rel in images)  # each once
    names = sorted(p.name for p in ann.iterdir())
    assert names == [
        "p__q.png-2.jpg",  # a/p__q.png, after a/p/q.png
        "p__q.png.jpg",
        "x-2.jpg",  # b/x.jpg, after a/x.jpg
        "x.jpg",
        "x.png-2.jpg",  # b/x.png, after a/x.png
        "x.png.jpg",
    ]
    original = cv2.imread(str(photo))
    for path in ann.iterdir():  # each one a copy of the photo, with a box drawn on it
        copy = cv2.imread(str(path))
        assert copy.shape == original.shape and np.abs(copy.astype(int) - original).mean() > 0.5
    assert "happiness" in set(rows["label"])


def test_a_second_predict_on_the_same_csv_is_refused_while_the_first_runs(photo, tmp_path, capsys):
    out = tmp_path / "faces.csv"
    argv = ["predict", str(photo), "--csv", str(out)]
    assert main(argv) == 0
    first = out.read_text()
    settings = json.loads((tmp_path / "faces.csv.settings.json").read_text())
    assert settings["model"] == DEFAULT_MODEL  # a shipped model is recorded by its name
    header = first.splitlines()[0].split(",")
    with ResumableCSV(out, header, settings, key="file", what="--csv"):  # another run, writing
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("fersk predict: error: --csv ") and str(out) in err[-1]
        assert f"is being written by another run (process {os.getpid()})" in err[-1]
    assert out.read_text() == first
    assert main(argv) == 0  # started after the other finished: it resumes, with nothing to do
    assert "1 images; 1 already in" in capsys.readouterr().err
    assert out.read_text() == first


@pytest.mark.slow
def test_two_predict_runs_at_once_never_write_twice(photo, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(4):
        shutil.copy(photo, folder / f"{k}.png")
    out = tmp_path / "faces.csv"
    code = "import sys; from fersk.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "predict", str(folder), "--csv", str(out)]
    runs = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.communicate(timeout=300)[1], run.returncode) for run in runs]
    for err, code in results:  # each one finished, or was refused at once, naming the file
        assert code == 0 or (code == 2 and "is being written by another run" in err), err
    text = out.read_text()
    assert text.count("file,face,face_found") == 1
    rows = pd.read_csv(out)
    assert sorted(rows["file"]) == sorted(str(folder / f"{k}.png") for k in range(4))


def test_a_pickle_model_gets_one_note(photo, tmp_path, capsys):
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(load_model("landmarks-fer2013"), path)
    assert main(["predict", str(photo), "--model", str(path)]) == 0
    out, err = capsys.readouterr()
    notes = [line for line in err.splitlines() if "pickle" in line]
    note = f"fersk: note: --model {str(path)!r} is a pickle: loading it runs the code it names"
    assert notes == [note + ", so load only files you trust"]
    assert "happiness" in out
    assert main(["predict", str(photo), "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "fersk predict: error: --model 'no-such-model': no fersk model 'no-such-model'" in err


# --------------------------------------------------------------------------
# fersk evaluate: a model and data with different classes
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ck_like(tmp_path_factory):
    """CK+48's classes: no neutral (which the shipped models know), contempt (which they lack)."""
    flat = tmp_path_factory.mktemp("ckflat")
    data = make_sample_faces(n_subjects=4, n_intensities=1, blur_sigmas=(0.0,), out_dir=flat)
    root = tmp_path_factory.mktemp("ck")
    for k, (path, label, subject) in enumerate(zip(data.data, data.target, data.subject)):
        name = data.target_names[label].replace("neutral", "contempt")
        (root / name).mkdir(exist_ok=True)
        shutil.copy(path, root / name / f"S{10 + int(subject[1:]):03d}_{k:03d}_00000001.png")
    return root


#: A shipped model without contempt (FER2013's 7 classes), for data with classes it lacks.
SEVEN_CLASSES = "cnn-fer2013"


def test_evaluate_on_data_without_some_of_the_models_classes(ck_like, tmp_path, capsys):
    argv = ["evaluate", str(ck_like), "--model", SEVEN_CLASSES, "--test-size", "0.5"]
    assert main([*argv, "--report", str(tmp_path / "report")]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["model_classes_not_in_data"] == ["neutral"]
    assert report["data_classes_not_in_model"] == ["contempt"]
    assert "note: the model's classes neutral are not in the data (answering one is an" in err
    assert "note: the data's classes contempt are not the model's (their images are all" in err
    assert report["per_class_recall"]["contempt"] == 0.0
    # The numbers are the model's own answers on the same held-out subjects.
    data = load_dataset(ck_like)
    X, y, groups, names, _ = split_dataset(data, "test", test_size=0.5)
    truth = np.asarray(names)[y]
    predicted = load_model(SEVEN_CLASSES).predict(X)
    assert report["overall"]["n"] == len(truth) == 14 and len(set(groups)) == 2
    assert report["overall"]["war"] == pytest.approx(np.mean(predicted == truth))
    assert "Data classes not in model: contempt." in (tmp_path / "report" / "report.md").read_text()


def test_evaluate_refuses_a_model_sharing_no_class_with_the_data(ck_like, tmp_path, capsys):
    root = tmp_path / "contempt_only"
    shutil.copytree(ck_like / "contempt", root / "contempt")
    shutil.copytree(ck_like / "contempt", root / "contempt2" / "contempt")
    assert main(["evaluate", str(root / "contempt2"), "--model", SEVEN_CLASSES]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("fersk evaluate: error: the model's classes (anger, disgust")
    assert "and the data's (contempt) share none" in err


# --------------------------------------------------------------------------
# fersk predict, calibrated to the person
# --------------------------------------------------------------------------


def _cli(capsys, *argv):
    """``fersk ARGV``: the exit code, stdout and stderr."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def calibrated_folder(calibrated_model, tmp_path_factory):
    from fersk.models import save_model

    return save_model(calibrated_model, tmp_path_factory.mktemp("models") / "calibrated")


def test_predict_with_persons_by_pattern_and_a_persons_file(
    person_photos, calibrated_folder, tmp_path, capsys
):
    import csv

    people = tmp_path / "people"
    people.mkdir()
    for name in [f"{p}_{k}.jpg" for p in ("ann", "bob") for k in range(4)]:
        (people / name).write_bytes((person_photos / name).read_bytes())
    out = tmp_path / "rows.csv"
    code, _, err = _cli(capsys, "predict", people, "--model", calibrated_folder, "--csv", out,
                        "--person", r"^(ann|bob)_")  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(out.open()))
    assert {(r["person"], r["calibration"]) for r in rows} == {("ann", "mean"), ("bob", "mean")}
    table = tmp_path / "persons.csv"
    listed = "".join(f"ann_{k}.jpg,ann,{int(k == 0)}\n" for k in range(4))
    table.write_text("file,person,neutral\n" + listed + "bob_0.jpg,bob,0\nbob_1.jpg,bob,0\n")
    code, printed, err = _cli(capsys, "predict", people, "--model", calibrated_folder,
                              "--persons", table)  # fmt: skip
    assert code == 0, err
    lines = [line.split(",") for line in printed.strip().splitlines()]
    assert lines[0][:4] == ["file", "face", "person", "calibration"]
    calibration = {row[0].rsplit("/", 1)[-1]: (row[2], row[3]) for row in lines[1:]}
    assert calibration["ann_2.jpg"] == ("ann", "neutral")
    assert calibration["bob_1.jpg"] == ("bob", "mean")
    assert calibration["bob_2.jpg"] == ("", "none")  # not in the persons file
    table.write_text("file,person,neutral\nmissing.jpg,ann,1\n")
    code, _, err = _cli(capsys, "predict", people, "--model", calibrated_folder, "--persons", table)
    assert code == 2 and "missing.jpg' is not among the photos" in err


def test_predict_with_one_neutral_photo_and_a_bad_one(person_photos, calibrated_folder, capsys):
    photos = [person_photos / f"ann_{k}.jpg" for k in (1, 2)]
    code, out, err = _cli(capsys, "predict", *photos, "--model", calibrated_folder,
                          "--neutral", person_photos / "ann_0.jpg")  # fmt: skip
    assert code == 0, err
    assert {line.split(",")[3] for line in out.strip().splitlines()[1:]} == {"neutral"}
    code, _, err = _cli(capsys, "predict", *photos, "--model", calibrated_folder,
                        "--neutral", person_photos / "wall.png")  # fmt: skip
    assert code == 2 and "has no face that can be found" in err
    code, _, err = _cli(capsys, "predict", *photos, "--neutral", person_photos / "ann_0.jpg",
                        "--model", "cnn-fer2013")  # fmt: skip
    assert code == 2 and "calibrates to the person" in err


def test_predict_with_faces_grouped_and_a_neutral_photo_among_them(
    two_people, calibrated_folder, tmp_path, capsys
):
    import csv

    out = tmp_path / "rows.csv"
    code, _, err = _cli(capsys, "predict", two_people, "--model", calibrated_folder,
                        "--group-faces", "--neutral", two_people / "grace_0.jpg",
                        "--csv", out)  # fmt: skip
    assert code == 0 and "7 images: 8 faces of 2 people, 0 without a face" in err, err
    rows = {(Path(r["file"]).name, r["face"]): r for r in csv.DictReader(out.open())}
    assert len(rows) == 8  # both.png has two faces
    eileen, grace = rows[("eileen_1.jpg", "0")]["person"], rows[("grace_1.jpg", "0")]["person"]
    assert eileen != grace and rows[("both.png", "1")]["person"] == grace
    assert {r["calibration"] for r in rows.values() if r["person"] == grace} == {"neutral"}
    assert {r["calibration"] for r in rows.values() if r["person"] == eileen} == {"mean"}
    code, _, err = _cli(capsys, "predict", two_people / "eileen_1.jpg", "--group-faces",
                        "--model", calibrated_folder, "--neutral",
                        two_people / "grace_0.jpg")  # fmt: skip
    assert code == 2 and "grace_0.jpg is not among the photos" in err
    code, err = run_cli(capsys, "predict", two_people, "--group-faces", "--person", "^(.)")
    assert code == 2 and "not allowed with argument --group-faces" in err


def test_predict_refuses_a_faceless_reference_or_a_model_that_cannot_calibrate_before_any_csv(
    two_people, person_photos, tmp_path, capsys
):
    from fersk.io.resumable import settings_path

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("eileen_0.jpg", "grace_0.jpg"):
        (folder / name).write_bytes((two_people / name).read_bytes())
    (folder / "wall.png").write_bytes((person_photos / "wall.png").read_bytes())
    out = tmp_path / "rows.csv"
    for extra in (["--group-faces", "--neutral", folder / "wall.png"],
                  ["--neutral", folder / "wall.png"],
                  ["--group-faces", "--model", "cnn-fer2013"]):  # fmt: skip
        code, err = run_cli(capsys, "predict", folder, "--csv", out, *extra)
        assert code == 2 and ("wall.png has no face that can be found" in err
                              or "calibrates to the person" in err), err  # fmt: skip
        assert not out.exists() and not settings_path(out).exists()
    code, err = run_cli(capsys, "predict", folder, "--csv", out, "--group-faces")
    assert code == 0 and "2 faces of 2 people, 1 without a face" in err, err


# --------------------------------------------------------------------------
# fersk predict and fersk video with the shipped models
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The astronaut as a JPEG, a photo of two faces, a face-less image, a broken file."""
    import cv2
    from skimage.data import astronaut

    from fersk.io import face_crop, write_image
    from fersk.landmarks import find_faces

    folder = tmp_path_factory.mktemp("photos")
    photo = astronaut()
    write_image(folder / "astronaut.jpg", photo)
    (box,), _ = find_faces(photo)
    small = cv2.resize(face_crop(photo, box), (180, 180))
    group = np.full((280, 560, 3), 70, np.uint8)
    group[50:230, 30:210], group[50:230, 350:530] = small, small[:, ::-1]
    write_image(folder / "two_people.png", group)
    write_image(folder / "wall.png", np.full((120, 160), 200, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff junk")
    return folder


def test_fersk_predict_says_happiness_on_the_astronaut_without_a_model(photos, capsys):
    code, out, err = _cli(capsys, "predict", photos / "astronaut.jpg")
    assert code == 0, err
    rows = [line.split(",") for line in out.strip().splitlines()[1:]]
    assert [(r[1], r[2]) for r in rows] == [("0", "happiness")]


def test_fersk_predict_rows_per_face_resumable_csv_and_annotations(photos, tmp_path, capsys):
    import csv

    out, marked = tmp_path / "faces.csv", tmp_path / "marked"
    args = ("predict", photos, "--csv", out, "--annotate", marked, "--model", "landmarks-fer2013")
    code, _, err = _cli(capsys, *args)
    assert code == 0 and "3 faces, 1 without a face, 1 unreadable" in err, err
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    by_file = {}
    for r in rows:
        by_file.setdefault(r["file"].rsplit("/", 1)[-1], []).append(r)
    assert [r["face"] for r in by_file["two_people.png"]] == ["0", "1"]
    assert by_file["wall.png"][0]["error"] == "no face found"
    assert by_file["broken.jpg"][0]["error"].startswith("unreadable")
    assert sorted(p.name for p in marked.iterdir()) == ["astronaut.jpg", "two_people.png.jpg"]
    # A rerun finds everything done; other settings are refused.
    code, _, err = _cli(capsys, *args)
    assert code == 0 and "4 already in" in err and len(out.read_text().splitlines()) == 6
    code, _, err = _cli(capsys, "predict", photos, "--csv", out, "--model", "cnn-fer2013")
    assert code == 2 and "other settings" in err


def test_fersk_video_uses_the_default_model(tmp_path, capsys):
    from fersk.datasets import make_sample_video
    from fersk.io.video import write_video

    video = make_sample_video(size=(240, 180), fps=10, script=[("neutral", 0.5)], face_size=110)
    path = write_video(tmp_path / "v.avi", video.frames, fps=10)
    code, _, err = _cli(capsys, "video", path, "--csv", tmp_path / "rows.csv")
    assert code == 0, err
    header = (tmp_path / "rows.csv").read_text().splitlines()[0]
    assert "p_happiness" in header and "p_neutral" in header


# --------------------------------------------------------------------------
# fersk video with a model of your own, from a camera or a file
# --------------------------------------------------------------------------


class FakeCapture:
    """Stands in for cv2.VideoCapture(camera index): BGR frames at 30 frames/s, round and
    round, as a camera never ends."""

    def __init__(self, frames):
        self.frames = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]
        self.position = 0

    def isOpened(self):
        return True

    def grab(self):
        time.sleep(1 / 30)
        self.position += 1
        return True

    def retrieve(self):
        return True, self.frames[(self.position - 1) % len(self.frames)]

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
    rows = _rows(out)
    frames = [int(r["frame"]) for r in rows]
    # n frames taken; a camera drops the frames it is behind on (their indices are missing)
    assert len(frames) == n and frames == sorted(set(frames))
    assert all(r["face_found"] == "True" for r in rows)


def test_cli_on_a_file_and_unreadable_sources(landmark_model, video, tmp_path, capsys):
    model_path = tmp_path / "m.joblib"
    joblib.dump(landmark_model, model_path)
    out = tmp_path / "file.csv"
    assert main(["video", str(video.path), "--model", str(model_path), "--csv", str(out)]) == 0
    assert len({r["frame"] for r in _rows(out)}) == len(video.time)
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


# --------------------------------------------------------------------------
# Bad input: the hardening checklist, item by item (docs/bad_input.md)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fer_root(tmp_path_factory):
    """The sample faces in the FER2013 layout root/{train,test}/<class>/*.png."""
    flat = tmp_path_factory.mktemp("flat")
    data = make_sample_faces(n_subjects=4, n_intensities=1, blur_sigmas=(0.0,), out_dir=flat)
    root = tmp_path_factory.mktemp("fer")
    for path, label, split in zip(data.data, data.target, data.split):
        dest = root / split / data.target_names[label]
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    return root


def run_cli(capsys, *argv) -> tuple[int, str]:
    """Run ``fersk argv``; return the exit code and stderr."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2; the error is the last line of stderr, one line, no traceback."""
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and lines[-1] == errors[0], err  # progress lines may come first
    for needle in needles:
        assert needle in errors[0], err


def _extract(capsys, folder, out, *extra):
    return run_cli(
        capsys, "extract", folder, "--out", out, "--detector", "none", "--n-landmarks", 5, *extra
    )


def _rows(out: Path) -> list[dict]:
    with out.open(newline="") as fh:
        return list(csv.DictReader(fh))


# 2. `fersk extract` resumes without corrupting its CSV


@pytest.mark.bad_input("2")
def test_extract_resumes_after_an_interruption_before_the_first_block(faces_dir, tmp_path, capsys):
    folder, paths = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    full = out.read_text()
    header = full.splitlines(keepends=True)[0]
    out.write_text(header)  # the header was written, then Ctrl-C
    assert _extract(capsys, folder, out)[0] == 0
    assert out.read_text() == full
    assert full.count("path,face_found") == 1


@pytest.mark.bad_input("2")
def test_extract_resume_keys_on_resolved_paths(faces_dir, tmp_path, capsys, monkeypatch):
    folder, paths = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    before = out.read_text()
    # The same folder, spelled three other ways.
    monkeypatch.chdir(folder.parent)
    for spelling in [f"{folder}/", f"{folder}/../{folder.name}", folder.name]:
        code, err = _extract(capsys, spelling, out)
        assert code == 0 and f"{len(paths)} already in" in err
    assert out.read_text() == before
    assert len(_rows(out)) == len(paths)


@pytest.mark.bad_input("2")
@pytest.mark.parametrize(
    "other", [("--n-landmarks", "68"), ("--detector", "hog")], ids=["landmarks", "detector"]
)
def test_extract_resume_with_other_settings_is_refused(faces_dir, tmp_path, capsys, other):
    folder, _ = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    before = out.read_text()
    code, err = run_cli(capsys, "extract", folder, "--out", out, "--detector", "none", *other)
    if other[0] == "--detector":
        code, err = run_cli(
            capsys, "extract", folder, "--out", out, "--n-landmarks", "5", "--detector", "hog"
        )
    assert_one_line_error(code, err, "other settings")
    assert out.read_text() == before


@pytest.mark.bad_input("2")
def test_extract_repairs_a_torn_last_line(faces_dir, tmp_path, capsys):
    folder, paths = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    complete = _rows(out)
    text = out.read_text()
    out.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # killed mid-row
    code, err = _extract(capsys, folder, out)
    assert code == 0 and "torn" in err
    assert _rows(out) == complete


@pytest.mark.bad_input("2")
def test_extract_refuses_and_keeps_an_unrelated_csv(faces_dir, tmp_path, capsys):
    folder, _ = faces_dir
    out = tmp_path / "mine.csv"
    out.write_text("name,score\nalice,3\n")
    code, err = _extract(capsys, folder, out)
    assert_one_line_error(code, err, "not a `fersk extract` CSV")
    assert out.read_text() == "name,score\nalice,3\n"


@pytest.mark.bad_input("2")
def test_extract_counts_unreadable_files_apart(faces_dir, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    shutil.copy(faces_dir[1][0], folder / "a.png")
    (folder / "b.png").write_bytes(b"\xff\xd8 not a jpeg")
    code, err = _extract(capsys, folder, tmp_path / "lm.csv")
    assert code == 0 and "0 without a face, 1 unreadable" in err


# 3. `fersk video` never destroys a file


@pytest.mark.bad_input("3")
@pytest.mark.parametrize(
    "case", ["missing_input", "unreadable_video", "bad_tau", "negative_max_frames"]
)
def test_a_failed_video_run_keeps_the_existing_csv(
    case, small_video, landmark_model_path, tmp_path, capsys
):
    out = tmp_path / "out.csv"
    out.write_text("precious results\n")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    args = {
        "missing_input": [tmp_path / "nope.mp4"],
        "unreadable_video": [junk],
        "bad_tau": [small_video, "--tau", "-1"],
        "negative_max_frames": [small_video, "--max-frames", "-3"],
    }[case]
    code, err = run_cli(capsys, "video", *args, "--model", landmark_model_path, "--csv", out)
    assert_one_line_error(code, err)
    assert out.read_text() == "precious results\n"
    assert sorted(os.listdir(tmp_path)) == ["junk.mp4", "out.csv"]  # no temporary left


@pytest.mark.bad_input("3")
@pytest.mark.parametrize("option", ["--csv", "--annotate"])
def test_a_video_output_that_is_the_input_is_refused(
    option, small_video, landmark_model_path, tmp_path, capsys
):
    video = tmp_path / "in.avi"
    shutil.copy(small_video, video)
    before = video.read_bytes()
    other = ["--csv", tmp_path / "out.csv"] if option == "--annotate" else []
    code, err = run_cli(
        capsys, "video", video, "--model", landmark_model_path, option, video, *other
    )
    assert_one_line_error(code, err, "is the input")
    assert video.read_bytes() == before


@pytest.mark.bad_input("3")
def test_a_finished_video_run_replaces_the_outputs(
    small_video, landmark_model_path, tmp_path, capsys
):
    out = tmp_path / "out.csv"
    out.write_text("old rows\n")
    code, err = run_cli(capsys, "video", small_video, "--model", landmark_model_path, "--csv", out)
    assert code == 0, err
    rows = _rows(out)
    assert [int(r["frame"]) for r in rows] == list(range(len(rows))) and len(rows) == 6
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not the temp file's mode


# 7. Negative camera indices


@pytest.mark.bad_input("7")
def test_a_negative_camera_index_is_refused(landmark_model_path, tmp_path, capsys):
    code, err = run_cli(
        capsys, "video", "--camera", "-1", "--model", landmark_model_path, "--csv", tmp_path / "a"
    )
    assert_one_line_error(code, err, "--camera", "0 or more")
    with pytest.raises(ValueError, match="camera index must be 0 or more"):
        open_source(-1)


# 8. One corrupt image never aborts a batch


@pytest.mark.bad_input("8")
def test_a_corrupt_jpeg_in_a_dataset_aborts_nothing(fer_root, tmp_path, capsys):
    root = tmp_path / "fer"
    shutil.copytree(fer_root, root)
    (root / "train" / "happiness" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "test" / "happiness" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    model = tmp_path / "m"
    code, err = run_cli(capsys, "train", root, "--model", model, "--detector", "none")
    assert code == 0, err
    code, err = run_cli(capsys, "evaluate", root, "--model", model)
    assert code == 0, err
    fitted = load_model(model)
    paths = [str(p) for p in sorted((root / "test").rglob("*.*"))]
    assert len(fitted.predict(paths)) == len(paths)
    assert ClarityBinner().on_failure == "nan"
    levels = ClarityBinner().fit(paths).transform(paths)
    corrupt = paths.index(str(root / "test" / "happiness" / "corrupt.jpg"))
    assert np.isnan(levels[corrupt, 0]) and np.isfinite(np.delete(levels, corrupt)).all()


# 9. Every CLI mistake: one line on stderr, exit code 2, before any work


@pytest.fixture
def not_models(tmp_path):
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(os.urandom(256))
    text = tmp_path / "notes.joblib"
    text.write_text("hello")
    a_dict = tmp_path / "dict.joblib"
    joblib.dump({"a": 1}, a_dict)
    return [junk, text, a_dict, tmp_path]


@pytest.mark.bad_input("9")
def test_every_cli_mistake_is_one_line_and_exit_code_2(
    fer_root, faces_dir, landmark_model_path, not_models, tmp_path, capsys
):
    folder, _ = faces_dir
    missing = tmp_path / "no" / "such"
    cache_file = tmp_path / "cache.txt"
    cache_file.write_text("x")
    unrelated = tmp_path / "unrelated.csv"
    unrelated.write_text("a,b\n1,2\n")
    cases = [
        (["extract", missing, "--out", tmp_path / "a.csv"], "does not exist"),
        (["extract", folder, "--out", missing / "a.csv"], "does not exist"),
        (["extract", folder, "--out", tmp_path], "is a folder"),
        (["extract", folder, "--out", tmp_path / "a.csv", "--n-jobs", "0"], "--n-jobs"),
        (["predict", folder, "--threads", "-5"], "or -1 (all cores), got -5"),
        (["predict", folder, "--threads", "0"], "--threads"),
        (["predict", folder, "--threads", "2147483648"], "from 1 to 4096"),
        (["extract", folder, "--out", tmp_path / "b.csv", "--cache", cache_file], "--cache"),
        (["extract", folder, "--out", unrelated, "--detector", "none"], "not a `fersk extract`"),
        (["train", missing, "--model", tmp_path / "m"], "does not exist"),
        (["train", fer_root, "--model", missing / "m"], "does not exist"),
        (["train", fer_root, "--model", tmp_path], "is a folder of other files"),
        (["train", fer_root, "--model", unrelated], "is a file"),
        (["train", fer_root, "--model", tmp_path / "m.joblib"], "read as a pickle"),
        (["train", fer_root, "--model", fer_root / "train" / "m"], "is inside the input"),
        (["train", fer_root, "--model", tmp_path / "m", "--max-train", "0"], "--max-train"),
        (["evaluate", fer_root, "--model", missing], "does not exist"),
        (["video", "x.mp4", "--model", landmark_model_path, "--csv", "o", "--max-frames", "0"], ""),
        (["video", "--camera", "0", "--model", landmark_model_path, "--csv", missing / "o"], ""),
    ]
    for model in not_models:
        cases.append((["evaluate", fer_root, "--model", model], "--model"))
        cases.append((["video", "--camera", "0", "--model", model, "--csv", tmp_path / "o"], ""))
    for argv, needle in cases:
        code, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, needle)
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.joblib").exists()
    assert not (tmp_path / "o").exists() and not (fer_root / "train" / "m").exists()


# 10. Datasets without a predefined split


@pytest.fixture(scope="module")
def ck_root(tmp_path_factory):
    """Sample faces in the CK+48 layout: <class>/S<subject>_<seq>_<frame>.png, no split."""
    flat = tmp_path_factory.mktemp("ckflat")
    data = make_sample_faces(n_subjects=8, n_intensities=2, blur_sigmas=(0.0,), out_dir=flat)
    root = tmp_path_factory.mktemp("ck")
    for k, (path, label, subject) in enumerate(zip(data.data, data.target, data.subject)):
        dest = root / data.target_names[label]
        dest.mkdir(exist_ok=True)
        number = int("".join(ch for ch in str(subject) if ch.isdigit()) or 0) + 10
        shutil.copy(path, dest / f"S{number:03d}_{k:03d}_00000001.png")
    return root


@pytest.mark.bad_input("10")
def test_train_and_evaluate_on_a_dataset_without_a_split(ck_root, tmp_path, capsys):
    model = tmp_path / "ck-model"
    code, err = run_cli(capsys, "train", ck_root, "--model", model, "--detector", "none")
    assert code == 0, err
    assert "subject-independent 80%/20% split" in err
    code, err = run_cli(capsys, "evaluate", ck_root, "--model", model)
    assert code == 0, err
    assert "test:" in err and "subjects" in err
    # The commands split as split_dataset does, and no subject is on both sides.
    data = load_dataset(ck_root)
    _, _, train_groups, _, _ = split_dataset(data, "train")
    X_test, _, test_groups, _, _ = split_dataset(data, "test")
    assert f"test: {len(X_test)} images of {len(set(test_groups))} subjects" in err
    assert not set(train_groups) & set(test_groups)
    assert len(train_groups) + len(test_groups) == len(data.target)


@pytest.mark.bad_input("10")
def test_test_size_overrides_a_predefined_split(fer_root, capsys):
    from fersk.cli import _load_split, _parser

    args = _parser().parse_args(["evaluate", str(fer_root), "--model", "m", "--test-size", "0.5"])
    _, y_test, _, _ = _load_split(args, "test")
    assert "50%/50%" in capsys.readouterr().err
    assert len(y_test) == len(load_dataset(fer_root).target) // 2


# 12. One list of image extensions: .gif everywhere


@pytest.mark.bad_input("12")
def test_gif_files_are_images_for_the_loaders_and_extract(face_crop, tmp_path, capsys):
    root = tmp_path / "gifs"
    for label in ["happy", "sad"]:
        (root / label).mkdir(parents=True)
        Image.fromarray(face_crop).save(root / label / f"{label}.gif")
    data = load_dataset(root)
    assert sorted(Path(p).suffix for p in data.data) == [".gif", ".gif"]
    out = tmp_path / "lm.csv"
    assert _extract(capsys, root, out)[0] == 0
    rows = _rows(out)
    assert len(rows) == 2 and all(r["face_found"] == "1" for r in rows)


# Found by a hostile review after the numbered fixes


@pytest.mark.bad_input("json-outputs-atomic")
def test_json_outputs_are_atomic_too(fer_root, landmark_model_path, tmp_path, capsys):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"old": True}))
    code, err = run_cli(
        capsys, "evaluate", tmp_path / "missing", "--model", landmark_model_path, "--json", report
    )
    assert code == 2
    assert json.loads(report.read_text()) == {"old": True}


@pytest.mark.bad_input("outputs-never-overwrite-inputs")
def test_outputs_never_overwrite_the_dataset_or_the_model(
    fer_root, small_video, landmark_model_path, tmp_path, capsys
):
    model = tmp_path / "m.joblib"
    shutil.copy(landmark_model_path, model)
    before = model.read_bytes()
    csv_data = tmp_path / "fer.csv"
    csv_data.write_text("emotion,pixels,Usage\n0," + " ".join(["0"] * 2304) + ",Training\n")
    cases = [
        (["train", csv_data, "--model", csv_data], "is the input"),
        (["evaluate", fer_root, "--model", model, "--json", model], "is the input"),
        (["video", small_video, "--model", model, "--csv", model], "is the input"),
        (
            [
                "video",
                small_video,
                "--model",
                model,
                "--csv",
                tmp_path / "o.csv",
                "--annotate",
                tmp_path / "a.png",
            ],
            "video extension",
        ),
    ]
    for argv, needle in cases:
        assert_one_line_error(*run_cli(capsys, *argv), needle)
    assert model.read_bytes() == before and csv_data.read_text().startswith("emotion")


@pytest.mark.bad_input("sigterm-keeps-rows")
def test_sigterm_keeps_the_finished_video_rows(small_video, landmark_model_path, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from fersk.io.clips import read_clip
    from fersk.io.video import write_video

    long_video = tmp_path / "long.avi"
    frames = read_clip(small_video)
    write_video(long_video, frames * 40, fps=10)  # 240 frames
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    code = (
        "import sys; from fersk.cli import main; "
        f"sys.exit(main(['video', {str(long_video)!r}, '--model', "
        f"{str(landmark_model_path)!r}, '--csv', {str(out)!r}]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some rows are written
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial.csv")]
        if partial and partial[0].stat().st_size > 2000:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    rows = _rows(out)
    assert rows and [int(r["frame"]) for r in rows] == list(range(len(rows)))
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


@pytest.mark.bad_input("symlinks-and-odd-names")
def test_symlinks_and_odd_file_names_in_extract_and_loaders(faces_dir, tmp_path, capsys):
    _, paths = faces_dir
    root = tmp_path / "sym"
    (root / "anger").mkdir(parents=True)
    shutil.copy(paths[0], root / "anger" / "a.png")
    os.symlink(paths[1], root / "anger" / "link.png")
    elsewhere = tmp_path / "elsewhere" / "happy"
    elsewhere.mkdir(parents=True)
    shutil.copy(paths[2], elsewhere / "h.png")
    os.symlink(elsewhere, root / "happiness")  # a symlinked class folder
    os.symlink(root, root / "anger" / "loop")  # a symlink loop is listed once
    odd = os.fsencode(root / "anger") + b"/bad\xff.png"
    shutil.copy(paths[3], odd)
    data = load_dataset(root)
    assert sorted(data.target_names) == ["anger", "happiness"] and len(data.target) == 4
    out = tmp_path / "lm.csv"
    for _ in range(2):  # the rerun adds nothing
        assert _extract(capsys, root, out)[0] == 0
    with out.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and len({r["path"] for r in rows}) == 4
    assert all(r["face_found"] == "1" for r in rows)


@pytest.mark.bad_input("split-reports-unused")
def test_split_reports_unused_images_and_refuses_clips(fer_root, tmp_path, capsys):
    root = tmp_path / "fer"
    shutil.copytree(fer_root, root)
    shutil.copytree(root / "test", root / "val")
    model = tmp_path / "m"
    code, err = run_cli(capsys, "train", root, "--model", model, "--detector", "none", "--single")
    assert code == 0 and "images of other splits (val, unknown) not used" in err
    code, err = run_cli(capsys, "train", root, "--model", model, "--max-train", "3")
    assert_one_line_error(code, err, "--max-train 3 is fewer than the 7 classes")


@pytest.mark.bad_input("model-finds-nothing")
def test_a_model_that_finds_nothing_is_not_saved(non_face, tmp_path, capsys):
    root = tmp_path / "noise"
    for split in ["train", "test"]:
        for label in ["happy", "sad"]:
            (root / split / label).mkdir(parents=True)
            for k in range(8):
                cv2.imwrite(str(root / split / label / f"{k}.png"), np.roll(non_face, 7 * k))
    model = tmp_path / "m"
    code, err = run_cli(capsys, "train", root, "--model", model, "--single")
    assert_one_line_error(code, err, "found nothing usable", "--detector none")
    assert not model.exists()


@pytest.mark.bad_input("model-reads-no-images")
def test_a_model_that_reads_no_images_is_refused(fer_root, tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    assert_one_line_error(
        *run_cli(capsys, "evaluate", fer_root, "--model", path), "does not read images"
    )


@pytest.mark.bad_input("tilde-paths")
def test_tilde_paths_are_expanded(faces_dir, tmp_path, capsys, monkeypatch):
    folder, paths = faces_dir
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(
        capsys,
        "extract",
        folder,
        "--out",
        "~/lm.csv",
        "--cache",
        "~/cache",
        "--detector",
        "none",
        "--n-landmarks",
        "5",
    )
    assert code == 0, err
    assert (tmp_path / "lm.csv").is_file() and (tmp_path / "cache").is_dir()
    assert not (tmp_path / "~").exists()
