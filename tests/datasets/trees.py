"""Tiny fake dataset trees in the real layouts, and the contract every loader's Bunch keeps:
helpers of the loaders' tests."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from fersk.datasets import EMOTIONS


def write_image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((8, 8), value, dtype=np.uint8))


def make_tree(root: Path, rels: list[str]) -> Path:
    for rel in rels:
        write_image(root / rel)
    return root


def names(bunch) -> list[str]:
    return [Path(p).name for p in bunch.data]


def labels(bunch) -> list[str]:
    return [bunch.target_names[i] for i in bunch.target]


def check_contract(bunch, *, file_based: bool = True) -> None:
    n = len(bunch.data)
    assert bunch.target.dtype == np.int64 and bunch.target.shape == (n,)
    assert bunch.split.shape == (n,)
    assert set(bunch.split) <= {"train", "test", "val", "unknown"}
    assert list(bunch.target_names) == [e for e in EMOTIONS if e in bunch.target_names]
    assert isinstance(bunch.DESCR, str) and f"{n} samples" in bunch.DESCR
    if file_based:
        assert bunch.filenames == bunch.data
        assert all(isinstance(p, str) and os.path.isabs(p) for p in bunch.data)
        assert all(os.path.isfile(p) for p in bunch.data)
    else:
        assert bunch.filenames is None
