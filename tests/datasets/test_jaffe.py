"""JAFFE: person and expression from each file name; every person's neutral photos flagged."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fersk.datasets import load_dataset, load_jaffe


def test_persons_expressions_and_neutral_photos(tmp_path):
    folder = tmp_path / "jaffe_db"
    folder.mkdir()
    for name in ["KA.NE1.26.tiff", "KA.HA2.30.tiff", "YM.SU1.58.tiff", "YM.NE2.50.tiff", "x.png"]:
        cv2.imwrite(str(folder / name), np.zeros((8, 8), np.uint8))
    data = load_dataset(tmp_path)  # a folder holding jaffe_db
    assert data.subject.tolist() == ["KA", "KA", "YM", "YM"]
    assert [data.target_names[t] for t in data.target] == [
        "happiness", "neutral", "neutral", "surprise"
    ]  # fmt: skip
    assert data.neutral.tolist() == [False, True, True, False]


def test_a_folder_without_jaffe_photos_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no JAFFE photo"):
        load_jaffe(tmp_path)
    with pytest.raises(ValueError, match="no train/test split"):
        load_jaffe(tmp_path, subset="train")
