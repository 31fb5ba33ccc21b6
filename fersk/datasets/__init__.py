"""Loaders for facial emotion recognition datasets.

Every loader returns a :class:`sklearn.utils.Bunch` with ``data`` (absolute
image paths, or 48x48 arrays for the FER2013 csv), ``target``,
``target_names`` (canonical names from :data:`EMOTIONS`), ``split``,
``subject``, ``DESCR`` and ``filenames``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sklearn.utils import Bunch

from ._base import EMOTIONS
from .ckplus import CKPLUS_LABELS, load_ck_plus
from .dfew import DFEW_LABELS, dfew_cv, dfew_folds, load_dfew
from .fer2013 import load_fer2013_csv
from .ferplus import FERPLUS_VOTES, ferplus_labels, load_ferplus, vote_distribution
from .folder import load_image_folder
from .jaffe import JAFFE_CODES, is_jaffe_folder, load_jaffe
from .rafdb import LABEL_FILE, load_rafdb
from .split import DEFAULT_TEST_SIZE, split_dataset
from .synthetic import (
    DEFAULT_VIDEO_SCRIPT,
    SAMPLE_EMOTIONS,
    VideoSegment,
    make_sample_clips,
    make_sample_faces,
    make_sample_video,
)

__all__ = [
    "CKPLUS_LABELS",
    "DEFAULT_TEST_SIZE",
    "DFEW_LABELS",
    "EMOTIONS",
    "FERPLUS_VOTES",
    "JAFFE_CODES",
    "SAMPLE_EMOTIONS",
    "make_sample_clips",
    "make_sample_faces",
    "make_sample_video",
    "DEFAULT_VIDEO_SCRIPT",
    "VideoSegment",
    "dfew_cv",
    "dfew_folds",
    "ferplus_labels",
    "load_ck_plus",
    "load_dataset",
    "load_dfew",
    "load_fer2013_csv",
    "load_ferplus",
    "load_image_folder",
    "load_jaffe",
    "load_rafdb",
    "split_dataset",
    "vote_distribution",
]


def load_dataset(root: str | os.PathLike[str], *, subset: str = "all", **options) -> Bunch:
    """Load a dataset, detecting its layout.

    - a ``.csv`` file -> :func:`load_fer2013_csv`;
    - a folder with ``EmoLabel/list_patition_label.txt`` -> :func:`load_rafdb`
      (aligned images);
    - a folder with ``data/FER2013Train/label.csv`` (or ``FER2013Train/label.csv``)
      -> :func:`load_ferplus` (majority labels; pass ``rule="plurality"``);
    - a folder of JAFFE photos (``KA.AN1.39.tiff``, or such a ``jaffe_db`` inside)
      -> :func:`load_jaffe`;
    - a folder with ``EmoLabel_DataSplit/`` -> :func:`load_dfew` (clips; pass
      ``fold=1..5`` for a train/test split);
    - a folder with ``cohn-kanade-images/`` (or
      ``extended-cohn-kanade-images/cohn-kanade-images/``) -> :func:`load_ck_plus`;
    - any other folder -> :func:`load_image_folder` (CK+48 included: its
      subject ids come from the file names).

    Parameters
    ----------
    root : str or path-like
        Dataset folder or csv file.
    subset : {"all", "train", "test", "val"}, default="all"
        Which split to return (see the individual loaders).
    **options
        Passed on to the chosen loader (e.g. ``fold=1`` for DFEW,
        ``as_clips=True`` for CK+, ``subject_pattern=...`` for a folder).

    Returns
    -------
    Bunch
        As returned by the chosen loader.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    ValueError
        If ``root`` is a file other than a ``.csv``, or as raised by the
        chosen loader.

    See Also
    --------
    fersk.datasets.load_image_folder : One folder per class (CK+48, Kaggle trees).
    fersk.datasets.load_fer2013_csv : FER2013's csv file.
    fersk.datasets.load_rafdb : RAF-DB's official layout.
    fersk.datasets.load_dfew : DFEW's clips and folds.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for rel in ["happy/a.png", "sad/b.png"]:
    ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = cv2.imwrite(str(root / rel), np.zeros((8, 8), np.uint8))
    >>> load_dataset(root).target_names
    ['happiness', 'sadness']
    """
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
    if not path.exists():
        raise FileNotFoundError(f"dataset path does not exist: {path}")
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise ValueError(
                f"{path} is a file but not a .csv; pass a FER2013 csv file or a dataset folder"
            )
        return load_fer2013_csv(path, subset=subset, **options)
    if (path / LABEL_FILE).is_file():
        return load_rafdb(path, subset=subset, **options)
    if any((path / sub / "label.csv").is_file() for sub in ("data/FER2013Train", "FER2013Train")):
        return load_ferplus(path, subset=subset, **options)
    if is_jaffe_folder(path) or is_jaffe_folder(path / "jaffe_db"):
        return load_jaffe(path, subset=subset, **options)
    if (path / "EmoLabel_DataSplit").is_dir():
        return load_dfew(path, subset=subset, **options)
    if (path / "cohn-kanade-images").is_dir() or (
        path / "extended-cohn-kanade-images" / "cohn-kanade-images"
    ).is_dir():
        return load_ck_plus(path, subset=subset, **options)
    return load_image_folder(path, subset=subset, **options)
