"""Loader for one-folder-per-class image trees (FER2013 Kaggle, CK+48, ...)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..io import IMAGE_EXTENSIONS, list_image_files, natural_sorted
from ._base import (
    EMOTION_ALIASES,
    RAFDB_LABELS,
    canonical_emotion,
    check_subset,
    compile_pattern,
    make_bunch,
    resolve_dir,
    split_from_filename,
    split_from_folder,
    subjects_from_filenames,
)

ClassNames = Mapping[str, str] | Sequence[str]

_CLASS_LAYOUT = "root/<class>/<image>"
_SPLIT_LAYOUT = "root/<split>/<class>/<image>"


def _dataset_base(root: Path, files: list[str]) -> tuple[Path, list[str]]:
    """Step into a ``DATASET`` folder holding every image (Kaggle RAF-DB)."""
    tops = {f.split("/", 1)[0] for f in files}
    if len(tops) == 1 and all("/" in f for f in files):
        (top,) = tops
        if top.lower() == "dataset":
            return root / top, [f.split("/", 1)[1] for f in files]
    return root, files


def _has_split_level(base: Path, files: list[str]) -> bool:
    """Whether the first folder level names splits (``train``, ``test``...)."""
    loose = [f for f in files if "/" not in f]
    if loose:
        raise ValueError(
            f"image file {base / loose[0]} is directly in the dataset root; "
            f"expected {_CLASS_LAYOUT} or {_SPLIT_LAYOUT}"
        )
    tops = natural_sorted({f.split("/", 1)[0] for f in files})
    split_tops = [t for t in tops if split_from_folder(t) is not None]
    if split_tops and len(split_tops) != len(tops):
        others = [t for t in tops if split_from_folder(t) is None]
        raise ValueError(
            f"{base} mixes split folders {split_tops} with other folders "
            f"{others}; expected either {_CLASS_LAYOUT} or {_SPLIT_LAYOUT}"
        )
    return bool(split_tops)


def _check_depth(base: Path, files: list[str], depth: int, layout: str) -> None:
    for f in files:
        if f.count("/") + 1 != depth:
            raise ValueError(
                f"image file {base / f} is in an unexpected place; expected the layout {layout}"
            )


def _default_mapping(folders: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map folders by alias, or numeric ``1..7`` folders as RAF-DB labels."""
    numeric = bool(folders) and all(f.isdecimal() for f in folders)
    mapping, unknown = {}, []
    for folder in folders:
        if numeric and 1 <= int(folder) <= len(RAFDB_LABELS):
            mapping[folder] = RAFDB_LABELS[int(folder) - 1]
        elif not numeric and folder.strip().lower() in EMOTION_ALIASES:
            mapping[folder] = canonical_emotion(folder)
        else:
            unknown.append(folder)
    return mapping, unknown


def _class_mapping(
    base: Path, folders: list[str], class_names: ClassNames | None
) -> dict[str, str]:
    """Class folder name -> canonical emotion, or ValueError for unknowns."""
    if isinstance(class_names, str):
        raise TypeError("class_names must be a dict or a list of names, not a str")
    if class_names is not None and not isinstance(class_names, Mapping):
        names = list(class_names)
        if len(names) != len(folders):
            raise ValueError(
                f"class_names has {len(names)} names but {base} has "
                f"{len(folders)} class folders: {folders}"
            )
        return {f: canonical_emotion(n) for f, n in zip(folders, names)}
    given = dict(class_names or {})
    mapping = {f: canonical_emotion(given[f]) for f in folders if f in given}
    rest, unknown = _default_mapping([f for f in folders if f not in given])
    if unknown:
        raise ValueError(
            f"unknown class folder names under {base}: {unknown}. Known names: "
            f"{', '.join(sorted(EMOTION_ALIASES))}; numeric folders 1..7 are "
            "read as RAF-DB labels. Pass class_names (a dict folder -> emotion, "
            "or a list naming the class folders in natural-sort order) to map "
            "other names."
        )
    return {**mapping, **rest}


def _subjects_from_pattern(
    base: Path, rels: list[str], subject_pattern: str | re.Pattern[str]
) -> np.ndarray:
    """Subject id of every file from ``subject_pattern``, or a clear error."""
    regex = compile_pattern(subject_pattern, "subject_pattern")
    if "subject" in regex.groupindex:
        group: int | str = "subject"
    elif regex.groups:
        group = 1
    else:
        raise ValueError(
            f"subject_pattern {regex.pattern!r} has no group; mark the subject id with "
            "(?P<subject>...) or a first group (...)"
        )
    subjects = []
    for rel in rels:
        name = rel.rsplit("/", 1)[-1]
        match = regex.search(name)
        subject = None if match is None else match.group(group)
        if not subject:
            raise ValueError(
                f"file name {name!r} ({base / rel}) does not match subject_pattern "
                f"{regex.pattern!r}; every file name must give a subject id"
            )
        subjects.append(subject)
    return np.array(subjects, dtype=str)


def load_image_folder(
    root: str | os.PathLike[str],
    *,
    subset: str = "all",
    class_names: ClassNames | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
) -> Bunch:
    """Load an image tree with one folder per emotion class.

    The layout is detected automatically:

    1. ``root/<class>/<image>`` (e.g. CK+48). The split comes from file-name
       prefixes: ``Training_``/``train_`` -> train, ``PublicTest_``/
       ``PrivateTest_``/``test_`` -> test, ``val_`` -> val, otherwise
       ``"unknown"``.
    2. ``root/<split>/<class>/<image>`` with split folders ``train``,
       ``training``, ``test``, ``testing``, ``val``, ``valid``,
       ``validation`` (case-insensitive; e.g. FER2013 from Kaggle). The split
       comes from the folder.
    3. Kaggle RAF-DB: ``root/DATASET/{train,test}/{1..7}/<image>`` (the
       ``DATASET`` level is optional).

    Class folders are mapped through the alias table of :data:`EMOTIONS`
    (``angry``, ``happy``, ``sad``, ...); numeric folders ``1..7`` are RAF-DB
    labels (surprise, fear, disgust, happiness, sadness, anger, neutral).
    Hidden files and folders, ``__MACOSX`` and non-image files are ignored.

    Parameters
    ----------
    root : str or path-like
        Dataset folder.
    subset : {"all", "train", "test", "val"}, default="all"
        Which split to return.
    class_names : dict or list of str, optional
        Overrides the folder-name mapping. A dict maps folder names to
        emotion names (aliases allowed; unlisted folders use the default
        mapping). A list names *every* class folder in natural-sort order,
        e.g. ``["angry", "disgust", "fear", "happy", "sad", "surprise",
        "neutral"]`` for numeric folders ``0..6``.
    subject_pattern : str or compiled pattern, optional
        Regular expression searched in each file name (not the folders; use
        ``^`` to anchor it at the start) whose named group ``subject``, or
        else its first group, is the file's subject id, e.g.
        ``r"^(?P<subject>\\d+)_"`` for ``042_happy_3.png``. Every file must
        match. If None, CK+ ids are detected: ``subject`` is filled only when
        every name matches ``S<digits>_<n>_<n>``.

    Returns
    -------
    Bunch
        ``data`` and ``filenames`` (absolute paths, natural-sorted by path
        relative to ``root``), ``target`` (int64 index into
        ``target_names``), ``target_names`` (canonical names of the classes
        present in the whole tree, in :data:`EMOTIONS` order, so subsets
        share one encoding), ``split``, ``subject`` (from
        ``subject_pattern``; without it, CK+ ids such as ``"S005"`` when every
        file name matches ``S<digits>_<n>_<n>``, else ``None``) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    ValueError
        If there are no images, an image is in an unexpected place, a class
        folder name is unknown, a file name does not match
        ``subject_pattern`` (or it has no group), or ``subset`` selects
        nothing.
    TypeError
        If ``subject_pattern`` is neither a str nor a compiled pattern.

    See Also
    --------
    fersk.datasets.load_dataset : Detect a dataset's layout and load it.
    fersk.datasets.load_ck_plus : CK+48 with sequences, frames and clips.
    fersk.datasets.make_sample_faces : Writes such a tree with ``out_dir``.
    fersk.io.list_image_files : The listing of the image files.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for rel in ["train/angry/Training_10.jpg", "train/angry/Training_9.jpg",
    ...             "test/happy/PublicTest_1.jpg", "train/happy/Training_3.jpg"]:
    ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = cv2.imwrite(str(root / rel), np.zeros((8, 8), np.uint8))
    >>> faces = load_image_folder(root)
    >>> faces.target_names
    ['anger', 'happiness']
    >>> [pathlib.Path(p).name for p in faces.data]
    ['PublicTest_1.jpg', 'Training_9.jpg', 'Training_10.jpg', 'Training_3.jpg']
    >>> faces.target.tolist(), faces.split.tolist()
    ([1, 0, 0, 1], ['test', 'train', 'train', 'train'])
    >>> load_image_folder(root, subset="test").target.tolist()
    [1]
    >>> load_image_folder(root, subject_pattern=r"_(\\d)").subject.tolist()
    ['1', '9', '1', '3']
    """
    check_subset(subset)
    if subject_pattern is not None:
        compile_pattern(subject_pattern, "subject_pattern")
    root_path = resolve_dir(root)
    files = list_image_files(root_path)
    if not files:
        raise ValueError(
            f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) found under {root_path}"
        )
    base, files = _dataset_base(root_path, files)
    has_split = _has_split_level(base, files)
    layout = _SPLIT_LAYOUT if has_split else _CLASS_LAYOUT
    _check_depth(base, files, 3 if has_split else 2, layout)

    parts = [f.split("/") for f in files]
    folders = natural_sorted({p[-2] for p in parts})
    mapping = _class_mapping(base, folders, class_names)
    if has_split:
        split = [split_from_folder(p[0]) for p in parts]
    else:
        split = [split_from_filename(p[-1]) for p in parts]
    return make_bunch(
        data=[str(base.joinpath(*p)) for p in parts],
        labels=[mapping[p[-2]] for p in parts],
        split=np.array(split),
        subject=(
            subjects_from_filenames([p[-1] for p in parts])
            if subject_pattern is None
            else _subjects_from_pattern(base, files, subject_pattern)
        ),
        layout=f"image folder ({layout})",
        root=root_path,
        subset=subset,
        file_based=True,
    )
