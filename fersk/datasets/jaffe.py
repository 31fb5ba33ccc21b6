"""Loader for JAFFE: 213 posed photos of 10 Japanese women, a neutral photo for every person.

File names carry the person and the expression: ``KA.AN1.39.tiff`` is person
``KA``, anger (``AN``), first pose, running number 39. The codes: AN anger, DI
disgust, FE fear, HA happiness, NE neutral, SA sadness, SU surprise.
"""

from __future__ import annotations

import os
import re

import numpy as np
from sklearn.utils import Bunch

from ..io import list_image_files
from ._base import check_subset, make_bunch, resolve_dir

__all__ = ["JAFFE_CODES", "is_jaffe_folder", "load_jaffe"]

#: Expression code -> canonical emotion name.
JAFFE_CODES: dict[str, str] = {
    "AN": "anger",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happiness",
    "NE": "neutral",
    "SA": "sadness",
    "SU": "surprise",
}

_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})\d*\.\d+\.tiff?$", re.IGNORECASE)


def is_jaffe_folder(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` directly holds photos named like JAFFE's (``KA.AN1.39.tiff``)."""
    try:
        return any(_NAME.match(entry.name) for entry in os.scandir(root) if entry.is_file())
    except OSError:
        return False


def load_jaffe(root: str | os.PathLike[str], *, subset: str = "all") -> Bunch:
    """Load JAFFE from a folder of ``<person>.<code><pose>.<number>.tiff`` files.

    Parameters
    ----------
    root : str or path-like
        The folder holding the photos (``jaffe_db``), or a folder above it.
    subset : {"all"}, default="all"
        JAFFE has no split: evaluate it person by person
        (leave-one-person-out, with ``subject`` as the groups).

    Returns
    -------
    Bunch
        ``data`` (absolute paths), ``target``, ``target_names``, ``split``
        (``"unknown"``), ``subject`` (the person), ``neutral`` (True for the
        neutral photos: each person's references), ``DESCR``, ``filenames``.

    Raises
    ------
    FileNotFoundError
        If ``root`` holds no JAFFE photo.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["KA.NE1.26.tiff", "KA.HA2.30.tiff", "YM.SU1.58.tiff"]:
    ...     _ = cv2.imwrite(str(root / name), np.zeros((8, 8), np.uint8))
    >>> data = load_jaffe(root)
    >>> data.subject.tolist(), [data.target_names[t] for t in data.target]
    (['KA', 'KA', 'YM'], ['happiness', 'neutral', 'surprise'])
    """
    check_subset(subset)
    if subset != "all":
        raise ValueError("JAFFE has no train/test split: use subset='all' and split by person")
    base = resolve_dir(root)
    paths, labels, persons = [], [], []
    for rel in list_image_files(base):
        match = _NAME.match(os.path.basename(rel))
        if match is None or match.group(2).upper() not in JAFFE_CODES:
            continue
        paths.append(str(base / rel))
        labels.append(JAFFE_CODES[match.group(2).upper()])
        persons.append(match.group(1).upper())
    if not paths:
        raise FileNotFoundError(
            f"{base} holds no JAFFE photo (names like KA.AN1.39.tiff: person, expression, number)"
        )
    labels_array = np.asarray(labels)
    return make_bunch(
        data=paths,
        labels=labels,
        split=np.full(len(paths), "unknown"),
        subject=np.asarray(persons),
        layout="JAFFE",
        root=base,
        subset=subset,
        file_based=True,
        neutral=labels_array == "neutral",
    )
