"""fersk.datasets.fer2013: load_fer2013_csv -- pixels as 48x48 images, Usage as the split, every
bad row named by its line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fersk.datasets import load_fer2013_csv
from tests.datasets.trees import check_contract, labels


def pixels(value: int, n: int = 2304) -> str:
    return " ".join([str(value)] * n)


def write_fer_csv(path: Path, rows: list[tuple[str, str, str]], header="emotion,pixels,Usage"):
    path.write_text(header + "\n" + "".join(f"{e},{p},{u}\n" for e, p, u in rows))
    return path


FER_ROWS = [
    ("3", pixels(10), "Training"),
    ("0", pixels(20), "Training"),
    ("6", pixels(30), "PublicTest"),
    ("3", pixels(40), "PrivateTest"),
    ("5", pixels(50), "PublicTest"),
]


def test_fer2013_csv(tmp_path):
    path = write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS)
    bunch = load_fer2013_csv(path)
    check_contract(bunch, file_based=False)
    assert len(bunch.data) == 5
    assert all(img.shape == (48, 48) and img.dtype == np.uint8 for img in bunch.data)
    assert [int(img[0, 0]) for img in bunch.data] == [10, 20, 30, 40, 50]
    assert bunch.target_names == ["anger", "happiness", "surprise", "neutral"]
    assert labels(bunch) == ["happiness", "anger", "neutral", "happiness", "surprise"]
    assert bunch.split.tolist() == ["train", "train", "test", "test", "test"]
    assert bunch.usage.tolist() == [u for _, _, u in FER_ROWS]
    assert bunch.subject is None
    assert "FER2013 csv" in bunch.DESCR


def test_fer2013_subsets(tmp_path):
    path = write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS)
    train = load_fer2013_csv(path, subset="train")
    test = load_fer2013_csv(path, subset="test")
    val = load_fer2013_csv(path, subset="val")
    assert [int(img[0, 0]) for img in train.data] == [10, 20]
    assert [int(img[0, 0]) for img in test.data] == [30, 40, 50]
    assert [int(img[0, 0]) for img in val.data] == [30, 50]
    assert val.usage.tolist() == ["PublicTest", "PublicTest"]
    assert train.target_names == test.target_names == val.target_names


def test_fer2013_pixel_layout(tmp_path):
    ramp = " ".join(str(i % 256) for i in range(2304))
    path = write_fer_csv(tmp_path / "f.csv", [("2", ramp, "Training")])
    img = load_fer2013_csv(path).data[0]
    assert img[0, :3].tolist() == [0, 1, 2] and int(img[1, 0]) == 48


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (("1", pixels(1, 2303), "Training"), "row 3 \\(line 4\\): expected 2304 pixels, got 2303"),
        (("1", pixels(256), "Training"), "row 3 .*0..255"),
        (("1", pixels(1, 2303) + " x", "Training"), "row 3 .*non-integer"),
        (("7", pixels(1), "Training"), "row 3 .*emotion '7'"),
        (("1", pixels(1), "Validation"), "row 3 .*Usage 'Validation'"),
    ],
)
def test_fer2013_bad_row(tmp_path, row, match):
    path = write_fer_csv(tmp_path / "f.csv", [FER_ROWS[0], FER_ROWS[1], row])
    with pytest.raises(ValueError, match=match):
        load_fer2013_csv(path)


def test_fer2013_without_usage_and_errors(tmp_path):
    path = tmp_path / "test.csv"
    path.write_text(f"emotion,pixels\n4,{pixels(1)}\n")
    bunch = load_fer2013_csv(path)
    assert bunch.split.tolist() == ["unknown"] and bunch.target_names == ["sadness"]
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_fer2013_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("label,pixels\n1,2\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['emotion'\]"):
        load_fer2013_csv(tmp_path / "bad.csv")
