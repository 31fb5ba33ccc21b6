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
from .fer2013 import load_fer2013_csv
from .folder import load_image_folder
from .rafdb import LABEL_FILE, load_rafdb
from .sample import SAMPLE_EMOTIONS, make_sample_faces

__all__ = [
    "EMOTIONS",
    "SAMPLE_EMOTIONS",
    "make_sample_faces",
    "load_dataset",
    "load_fer2013_csv",
    "load_image_folder",
    "load_rafdb",
]


def load_dataset(root: str | os.PathLike[str], *, subset: str = "all") -> Bunch:
    """Load a dataset, detecting its layout.

    - a ``.csv`` file -> :func:`load_fer2013_csv`;
    - a folder with ``EmoLabel/list_patition_label.txt`` -> :func:`load_rafdb`
      (aligned images);
    - any other folder -> :func:`load_image_folder`.

    Parameters
    ----------
    root : str or path-like
        Dataset folder or csv file.
    subset : {"all", "train", "test", "val"}, default="all"
        Which split to return (see the individual loaders).

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
        return load_fer2013_csv(path, subset=subset)
    if (path / LABEL_FILE).is_file():
        return load_rafdb(path, subset=subset)
    return load_image_folder(path, subset=subset)
