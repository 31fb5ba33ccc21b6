"""fersk.demo: ``fersk demo --quick`` end to end -- photos, clips and a video of the sample
data, the models saved and reloaded identically, and the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fersk.demo import CLIP_MODELS, run_demo


@pytest.mark.slow
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
