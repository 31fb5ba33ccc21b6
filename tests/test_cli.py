import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fersk._core.pipeline_tools import iter_estimators
from fersk.cli import main
from fersk.datasets import load_dataset, split_dataset
from fersk.datasets.synthetic import make_sample_faces
from fersk.demo import CLIP_MODELS, run_demo
from fersk.io import ResumableCSV
from fersk.models import DEFAULT_MODEL, load_model
from fersk.predict import predict_faces


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


def test_quick_demo_end_to_end(tmp_path):
    record = run_demo(tmp_path / "demo", quick=True, verbose=False)
    assert [(r["landmarks"], r["model"]) for r in record["results"]] == [
        (5, "single"),
        (5, "routed"),
        (68, "single"),
        (68, "routed"),
    ]
    assert record["reload_identical"]
    assert (tmp_path / "demo" / "model" / "model.json").exists()
    report = (tmp_path / "demo" / "report.md").read_text()
    assert "| 68 | routed |" in report
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert (
        saved["results"][2]["test"]["overall"]["uar"]
        == record["results"][2]["test"]["overall"]["uar"]
    )
    # 68-point geometry reads the sample's expressions well above chance (1/7).
    assert max(r["test"]["overall"]["war"] for r in record["results"][2:]) > 0.25
    assert np.isfinite([r["cv_uar"] for r in record["results"]]).all()
    # The clip part: three models on held-out subjects, the best saved and reloadable.
    clips = record["clips"]
    assert [r["model"] for r in clips["results"]] == [name for name, _ in CLIP_MODELS]
    assert clips["reload_identical"] and Path(clips["model_path"]).exists()
    assert (
        len(list((tmp_path / "demo" / "clips").glob("*/*/frame_*.png")))
        == clips["n_clips"] * clips["n_frames"]
    )
    assert max(r["war"] for r in clips["results"]) > 1 / 7
    assert "| apex frame + motion + subject |" in report
    # The video part: the held-out subject's sample video through the stream mode.
    video = record["video"]
    assert video["frames"] > 0 and video["face_rows"] > 0.8 * video["frames"]
    assert video["smoothed_flips"] <= video["raw_flips"]
    assert Path(video["csv"]).exists() and (tmp_path / "demo" / "video_annotated.avi").exists()
    # The photo part: the shipped default model reads the real astronaut as happy.
    photo = record["photo"]
    assert photo["faces"] == 1 and photo["labels"] == ["happiness"]
    rows = pd.read_csv(photo["csv"])
    assert rows["face_found"].tolist() == [True] and rows["label"].tolist() == ["happiness"]
    assert "A shipped model on a real face" in report


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


def test_evaluate_on_data_without_some_of_the_models_classes(ck_like, tmp_path, capsys):
    argv = ["evaluate", str(ck_like), "--model", DEFAULT_MODEL, "--test-size", "0.5"]
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
    predicted = load_model(DEFAULT_MODEL).predict(X)
    assert report["overall"]["n"] == len(truth) == 14 and len(set(groups)) == 2
    assert report["overall"]["war"] == pytest.approx(np.mean(predicted == truth))
    assert "Data classes not in model: contempt." in (tmp_path / "report" / "report.md").read_text()


def test_evaluate_refuses_a_model_sharing_no_class_with_the_data(ck_like, tmp_path, capsys):
    root = tmp_path / "contempt_only"
    shutil.copytree(ck_like / "contempt", root / "contempt")
    shutil.copytree(ck_like / "contempt", root / "contempt2" / "contempt")
    assert main(["evaluate", str(root / "contempt2"), "--model", DEFAULT_MODEL]) == 2
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
