import csv
import json
import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from fersk._core.pipeline_tools import iter_estimators
from fersk.cli import main
from fersk.datasets.synthetic import make_sample_faces
from fersk.demo import CLIP_MODELS, run_demo


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


def test_train_then_evaluate(dataset_root, tmp_path, capsys):
    model = tmp_path / "model.joblib"
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
    saved = joblib.load(model)
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


def test_quick_demo_end_to_end(tmp_path):
    record = run_demo(tmp_path / "demo", quick=True, verbose=False)
    assert [(r["landmarks"], r["model"]) for r in record["results"]] == [
        (5, "single"),
        (5, "routed"),
        (68, "single"),
        (68, "routed"),
    ]
    assert record["reload_identical"]
    assert (tmp_path / "demo" / "model.joblib").exists()
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
    model = tmp_path / "tuned.joblib"
    argv = ["train", str(dataset_root), "--model", str(model), "--detector", "none", "--tune"]
    assert main([*argv, "--single", "--cache", str(tmp_path / "cache")]) == 0
    out, err = capsys.readouterr()
    assert "[CV] END" not in out + err  # counted on the bar, not printed
    assert "GridSearchCV:" in err and "/12" in err  # 4 candidates x 3 folds
    assert joblib.load(model).predict([str(next(dataset_root.rglob("*.png")))]).shape == (1,)
