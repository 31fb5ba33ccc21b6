"""Loader for the FER2013 csv file (``emotion,pixels,Usage``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import FER2013_LABELS, check_subset, make_bunch

IMAGE_SIZE = 48
_N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
_USAGE_SPLITS = {"Training": "train", "PublicTest": "test", "PrivateTest": "test"}


def _read_table(path: Path) -> pd.DataFrame:
    """Read the csv as strings, with stripped column names."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("emotion", "pixels") if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {missing}; expected emotion,pixels,Usage "
            f"but found {list(table.columns)}"
        )
    if table.empty:
        raise ValueError(f"{path} has a header but no rows")
    return table


def _row_error(path: Path, row: int, problem: str) -> ValueError:
    """Error naming a data row (1-based; file line = row + 1)."""
    return ValueError(f"{path}: row {row + 1} (line {row + 2}): {problem}")


def _parse_pixels(path: Path, row: int, text: str) -> np.ndarray:
    """Parse 2304 space-separated ints in 0..255 into a 48x48 uint8 image."""
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")
    except ValueError:
        raise _row_error(path, row, "pixels contain a non-integer value") from None
    if values.size != _N_PIXELS:
        raise _row_error(path, row, f"expected {_N_PIXELS} pixels, got {values.size}")
    if values.min() < 0 or values.max() > 255:
        raise _row_error(path, row, "pixel values must be in 0..255")
    return values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def _parse_emotions(path: Path, column: pd.Series) -> list[str]:
    """Map the 0..6 emotion codes to canonical names."""
    names = []
    for row, code in enumerate(column.str.strip()):
        if not (code.isdecimal() and int(code) < len(FER2013_LABELS)):
            raise _row_error(path, row, f"emotion {code!r} is not in 0..6")
        names.append(FER2013_LABELS[int(code)])
    return names


def _parse_usage(path: Path, table: pd.DataFrame) -> np.ndarray:
    """The Usage column (stripped), or "unknown" when the file has none."""
    if "Usage" not in table.columns:
        return np.full(len(table), "unknown")
    usage = table["Usage"].str.strip().tolist()
    for row, value in enumerate(usage):
        if value not in _USAGE_SPLITS:
            raise _row_error(path, row, f"Usage {value!r} is not one of {list(_USAGE_SPLITS)}")
    return np.array(usage, dtype=str)


def load_fer2013_csv(path: str | os.PathLike[str], *, subset: str = "all") -> Bunch:
    """Load FER2013 from its csv file (``fer2013.csv`` from Kaggle).

    Columns ``emotion`` (0..6 = angry, disgust, fear, happy, sad, surprise,
    neutral), ``pixels`` (2304 space-separated ints) and ``Usage``
    (``Training``, ``PublicTest`` or ``PrivateTest``). Extra columns are
    ignored and a missing ``Usage`` column gives split ``"unknown"``. Rows
    keep the file order.

    Parameters
    ----------
    path : str or path-like
        The csv file.
    subset : {"all", "train", "test", "val"}, default="all"
        ``"train"`` = Training rows, ``"test"`` = PublicTest *and*
        PrivateTest rows, ``"val"`` = PublicTest rows only (the common
        validation split; combine ``usage == "PrivateTest"`` for the final
        test set).

    Returns
    -------
    Bunch
        ``data`` (list of 48x48 uint8 arrays), ``target`` (int64 index into
        ``target_names``), ``target_names`` (canonical names of the classes
        present in the whole file, in :data:`EMOTIONS` order), ``split``
        (``"train"`` or ``"test"``), ``usage`` (the raw Usage values),
        ``subject`` (``None``), ``filenames`` (``None``) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a row has a bad emotion, Usage or pixel count/value (the message
        names the row), or ``subset`` selects nothing.

    See Also
    --------
    fersk.datasets.load_dataset : Loads a ``.csv`` path with this function.
    fersk.datasets.load_image_folder : FER2013 as image folders (Kaggle's other copy).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "fer2013.csv"
    >>> pixels = " ".join(["128"] * 2304)
    >>> _ = path.write_text("emotion,pixels,Usage\\n"
    ...                     f"3,{pixels},Training\\n"
    ...                     f"0,{pixels},PublicTest\\n"
    ...                     f"6,{pixels},PrivateTest\\n")
    >>> faces = load_fer2013_csv(path)
    >>> faces.target_names
    ['anger', 'happiness', 'neutral']
    >>> faces.target.tolist(), faces.split.tolist()
    ([1, 0, 2], ['train', 'test', 'test'])
    >>> faces.data[0].shape, faces.data[0].dtype
    ((48, 48), dtype('uint8'))
    >>> len(load_fer2013_csv(path, subset="val").data)
    1
    """
    check_subset(subset)
    csv_path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if not csv_path.is_file():
        raise FileNotFoundError(f"FER2013 csv file not found: {csv_path}")
    table = _read_table(csv_path)
    labels = _parse_emotions(csv_path, table["emotion"])
    usage = _parse_usage(csv_path, table)
    split = np.array([_USAGE_SPLITS.get(u, u) for u in usage])
    images = [
        _parse_pixels(csv_path, row, text) for row, text in enumerate(table["pixels"].tolist())
    ]
    mask = usage == "PublicTest" if subset == "val" else None
    return make_bunch(
        data=images,
        labels=labels,
        split=split,
        subject=None,
        layout="FER2013 csv",
        root=csv_path,
        subset=subset,
        file_based=False,
        mask=mask,
        usage=usage,
    )
