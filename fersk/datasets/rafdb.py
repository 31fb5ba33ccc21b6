"""Loader for the official RAF-DB basic distribution."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..io import list_image_files, natural_sort_key
from ._base import RAFDB_LABELS, check_subset, make_bunch, resolve_dir, split_from_filename

LABEL_FILE = Path("EmoLabel") / "list_patition_label.txt"
"""Label list of RAF-DB basic, relative to the root (the typo is official)."""

_MAX_NAMED = 5


def _parse_label_file(label_file: Path) -> dict[str, int]:
    """Read ``name label`` lines into ``{image name: label 1..7}``."""
    entries: dict[str, int] = {}
    lines = label_file.read_text(encoding="utf-8-sig").splitlines()
    for lineno, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{label_file}, line {lineno}"
        if len(fields) != 2 or not fields[1].isdecimal():
            raise ValueError(f"{where}: expected '<image name> <label>', got {line!r}")
        name, label = fields[0], int(fields[1])
        if not 1 <= label <= len(RAFDB_LABELS):
            raise ValueError(f"{where}: label {label} of {name} is not in 1..7")
        if split_from_filename(name) not in ("train", "test"):
            raise ValueError(f"{where}: {name} has neither a train_ nor a test_ prefix")
        if name in entries:
            raise ValueError(f"{where}: {name} is listed twice")
        entries[name] = label
    if not entries:
        raise ValueError(f"{label_file} lists no images")
    return entries


def _image_name(listed: str, aligned: bool) -> str:
    """File name on disk: ``train_00001.jpg`` -> ``train_00001_aligned.jpg``."""
    if not aligned:
        return listed
    stem, ext = os.path.splitext(listed)
    return f"{stem}_aligned{ext}"


def _examples(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMED])
    return shown + (", ..." if len(names) > _MAX_NAMED else "")


def _check_files(image_dir: Path, expected: set[str], on_disk: list[str]) -> None:
    """Raise if a listed image is missing or an unlisted image is present."""
    missing = sorted(expected.difference(on_disk), key=natural_sort_key)
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(expected)} images listed in {LABEL_FILE} are "
            f"missing from {image_dir}: {_examples(missing)}"
        )
    unlisted = [name for name in on_disk if name not in expected]
    if unlisted:
        raise ValueError(
            f"{len(unlisted)} image files under {image_dir} are not listed in "
            f"{LABEL_FILE} (unexpected place or unknown label): {_examples(unlisted)}"
        )


def load_rafdb(root: str | os.PathLike[str], *, subset: str = "all", aligned: bool = True) -> Bunch:
    """Load RAF-DB basic in its official distribution layout.

    Expected layout::

        root/EmoLabel/list_patition_label.txt   # "train_00001.jpg 5" lines
        root/Image/aligned/train_00001_aligned.jpg
        root/Image/original/train_00001.jpg

    Labels ``1..7`` mean surprise, fear, disgust, happiness, sadness, anger
    and neutral. The split comes from the ``train_``/``test_`` prefix.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``EmoLabel`` and ``Image``.
    subset : {"all", "train", "test"}, default="all"
        Which split to return.
    aligned : bool, default=True
        Use ``Image/aligned`` (100x100 aligned faces) if true, otherwise
        ``Image/original``.

    Returns
    -------
    Bunch
        ``data`` and ``filenames`` (absolute paths, natural-sorted),
        ``target`` (int64 index into ``target_names``), ``target_names``
        (canonical names of the classes present in the whole dataset, in
        :data:`EMOTIONS` order), ``split``, ``subject`` (``None``) and
        ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If ``root``, the label file or the image folder is missing, or if a
        listed image is missing on disk (the message gives the count).
    ValueError
        If the label file is malformed, an image under the image folder is
        not listed, or ``subset`` selects nothing.

    See Also
    --------
    fersk.datasets.load_dataset : Detect a dataset's layout and load it.
    fersk.datasets.load_image_folder : Kaggle's RAF-DB tree (``DATASET/train/1/...``).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "EmoLabel").mkdir()
    >>> _ = (root / "EmoLabel" / "list_patition_label.txt").write_text(
    ...     "train_00001.jpg 4\\ntrain_00002.jpg 7\\ntest_0001.jpg 1\\n")
    >>> (root / "Image" / "aligned").mkdir(parents=True)
    >>> for name in ["train_00001", "train_00002", "test_0001"]:
    ...     _ = cv2.imwrite(str(root / "Image" / "aligned" / f"{name}_aligned.jpg"),
    ...                     np.zeros((8, 8, 3), np.uint8))
    >>> faces = load_rafdb(root)
    >>> faces.target_names
    ['happiness', 'surprise', 'neutral']
    >>> [pathlib.Path(p).name for p in faces.data]
    ['test_0001_aligned.jpg', 'train_00001_aligned.jpg', 'train_00002_aligned.jpg']
    >>> faces.target.tolist(), faces.split.tolist()
    ([1, 0, 2], ['test', 'train', 'train'])
    >>> len(load_rafdb(root, subset="train").data)
    2
    """
    check_subset(subset)
    root_path = resolve_dir(root)
    label_file = root_path / LABEL_FILE
    if not label_file.is_file():
        raise FileNotFoundError(
            f"RAF-DB label file not found: {label_file} "
            f"(expected the official layout root/{LABEL_FILE.as_posix()})"
        )
    image_dir = root_path / "Image" / ("aligned" if aligned else "original")
    if not image_dir.is_dir():
        raise FileNotFoundError(f"RAF-DB image folder not found: {image_dir}")
    listed = _parse_label_file(label_file)
    by_file = {_image_name(name, aligned): name for name in listed}
    on_disk = list_image_files(image_dir)
    _check_files(image_dir, set(by_file), on_disk)

    labels = [RAFDB_LABELS[listed[by_file[name]] - 1] for name in on_disk]
    split = np.array([split_from_filename(name) for name in on_disk])
    paths = [str(image_dir / name) for name in on_disk]
    kind = "aligned" if aligned else "original"
    return make_bunch(
        data=paths,
        labels=labels,
        split=split,
        subject=None,
        layout=f"RAF-DB basic ({kind} images)",
        root=root_path,
        subset=subset,
        file_based=True,
    )
