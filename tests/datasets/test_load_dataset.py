"""fersk.datasets.load_dataset (the package's entry point): a dataset's layout is detected from
what is on disk."""

from __future__ import annotations

import pytest

from fersk.datasets import load_dataset
from tests.datasets.test_fer2013 import FER_ROWS, write_fer_csv
from tests.datasets.test_rafdb import make_rafdb
from tests.datasets.trees import make_tree


def test_load_dataset_detects_layouts(tmp_path):
    raf = load_dataset(make_rafdb(tmp_path / "raf"))
    assert raf.DESCR.startswith("RAF-DB basic (aligned images)")
    assert len(raf.data) == 5
    csv = load_dataset(write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS), subset="val")
    assert csv.filenames is None and len(csv.data) == 2
    folder = load_dataset(make_tree(tmp_path / "ck", ["sad/a.png", "fear/b.png"]))
    assert folder.DESCR.startswith("image folder")
    assert folder.target_names == ["fear", "sadness"]


def test_load_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match=r"x\.txt is a file but not a \.csv"):
        load_dataset(tmp_path / "x.txt")
