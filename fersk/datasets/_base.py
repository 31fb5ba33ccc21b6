"""Shared helpers for the dataset loaders.

Everything that more than one loader needs lives here: the canonical emotion
names and their aliases, split parsing from folder names and file-name
prefixes, the set of image file extensions, natural sorting, file listing and
construction of the returned :class:`sklearn.utils.Bunch`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

EMOTIONS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
    "neutral",
    "contempt",
)
"""Canonical emotion names, in canonical order."""

EMOTION_ALIASES: dict[str, str] = {
    "angry": "anger",
    "anger": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "happy": "happiness",
    "happiness": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "sadness": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
    "contempt": "contempt",
}
"""Lower-case alias -> canonical emotion name."""

RAFDB_LABELS: tuple[str, ...] = (
    "surprise",
    "fear",
    "disgust",
    "happiness",
    "sadness",
    "anger",
    "neutral",
)
"""RAF-DB basic labels ``1..7`` (index ``label - 1``)."""

FER2013_LABELS: tuple[str, ...] = EMOTIONS[:7]
"""FER2013 labels ``0..6`` (angry, disgust, fear, happy, sad, surprise, neutral):
the canonical order is FER2013's."""


SPLITS: tuple[str, ...] = ("train", "test", "val")
SUBSETS: tuple[str, ...] = ("all", "train", "test", "val")
UNKNOWN_SPLIT = "unknown"

SPLIT_FOLDERS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "test": "test",
    "testing": "test",
    "publictest": "test",
    "privatetest": "test",
    "val": "val",
    "valid": "val",
    "validation": "val",
}
"""Lower-case split folder name -> split."""

_SPLIT_PREFIX = re.compile(r"^(training|publictest|privatetest|train|test|val)_", re.IGNORECASE)
_SPLIT_PREFIXES: dict[str, str] = {
    "training": "train",
    "publictest": "test",
    "privatetest": "test",
    "train": "train",
    "test": "test",
    "val": "val",
}
_SUBJECT = re.compile(r"^(S\d+)_\d+_\d+")


def canonical_emotion(name: str) -> str:
    """Map an emotion name or alias (case-insensitive) to its canonical name.

    Parameters
    ----------
    name : str
        Emotion name such as ``"Angry"``, ``"joy"`` or ``"calm"``.

    Returns
    -------
    str
        One of :data:`EMOTIONS`.

    Raises
    ------
    ValueError
        If ``name`` is not a known alias.

    Examples
    --------
    >>> canonical_emotion("Happy")
    'happiness'
    >>> canonical_emotion(" calm ")
    'neutral'
    """
    canonical = EMOTION_ALIASES.get(str(name).strip().lower())
    if canonical is None:
        raise ValueError(
            f"unknown emotion name {name!r}; known names: {', '.join(sorted(EMOTION_ALIASES))}"
        )
    return canonical


def split_from_filename(name: str) -> str:
    """Infer the split from a file-name prefix.

    ``Training_`` and ``train_`` give ``"train"``; ``PublicTest_``,
    ``PrivateTest_`` and ``test_`` give ``"test"``; ``val_`` gives ``"val"``
    (case-insensitive). Anything else gives ``"unknown"``.

    Examples
    --------
    >>> split_from_filename("PublicTest_123.jpg")
    'test'
    >>> split_from_filename("S005_001_00000011.png")
    'unknown'
    """
    match = _SPLIT_PREFIX.match(name)
    if match is None:
        return UNKNOWN_SPLIT
    return _SPLIT_PREFIXES[match.group(1).lower()]


def split_from_folder(name: str) -> str | None:
    """Map a split folder name (``train``, ``Testing``, ...) to a split.

    Returns ``None`` when ``name`` is not a split folder name.

    Examples
    --------
    >>> split_from_folder("validation")
    'val'
    >>> split_from_folder("happy") is None
    True
    """
    return SPLIT_FOLDERS.get(name.lower())


def subjects_from_filenames(names: Sequence[str]) -> np.ndarray | None:
    """Subject ids from CK+-style names such as ``S005_001_00000011.png``.

    Returns an array of ids (``"S005"``) when every name matches the pattern
    ``^(S\\d+)_\\d+_\\d+``, otherwise ``None``.

    Examples
    --------
    >>> subjects_from_filenames(["S005_001_00000011.png", "S010_004_00000019.png"])
    array(['S005', 'S010'], dtype='<U4')
    >>> subjects_from_filenames(["S005_001_00000011.png", "img.png"]) is None
    True
    """
    matches = [_SUBJECT.match(name) for name in names]
    if not matches or any(m is None for m in matches):
        return None
    return np.array([m.group(1) for m in matches if m is not None])


def compile_pattern(pattern: str | re.Pattern[str], argument: str) -> re.Pattern[str]:
    """Compile a user-given regular expression, or raise a clear error.

    Parameters
    ----------
    pattern : str or compiled pattern
        The expression.
    argument : str
        Name of the loader argument, for error messages.

    Returns
    -------
    re.Pattern
        The compiled expression.

    Raises
    ------
    TypeError
        If ``pattern`` is neither a str nor a compiled pattern.
    ValueError
        If ``pattern`` is not a valid regular expression.

    Examples
    --------
    >>> compile_pattern("^(S[0-9]+)_", "subject_pattern").match("S005_001.png").group(1)
    'S005'
    """
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise TypeError(
            f"{argument} must be a str or a compiled re.Pattern, got {type(pattern).__name__}"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"{argument} {pattern!r} is not a valid regular expression: {exc}"
        ) from exc


def first_examples(names: Sequence[str], limit: int = 5) -> str:
    """Comma-separated first ``limit`` names, with ``", ..."`` when there are more.

    Examples
    --------
    >>> first_examples(["a", "b", "c"], limit=2)
    'a, b, ...'
    """
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def check_subset(subset: str) -> str:
    """Validate the ``subset`` argument of the loaders."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    return subset


def resolve_dir(root: str | os.PathLike[str]) -> Path:
    """Absolute path of an existing directory, or a clear error naming it."""
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
    if not path.exists():
        raise FileNotFoundError(f"dataset root does not exist: {path}")
    if not path.is_dir():
        raise NotADirectoryError(f"dataset root is not a directory: {path}")
    return path


def present_classes(labels: Iterable[str]) -> list[str]:
    """Canonical names occurring in ``labels``, in canonical order."""
    present = set(labels)
    return [name for name in EMOTIONS if name in present]


def subset_mask(split: np.ndarray, subset: str) -> np.ndarray:
    """Boolean mask of the rows of ``split`` selected by ``subset``."""
    if subset == "all":
        return np.ones(len(split), dtype=bool)
    return np.asarray(split) == subset


def describe(layout: str, root: Path, split: np.ndarray, labels: Sequence[str]) -> str:
    """Short description: layout, root, sample count, split and class counts."""
    split_counts = Counter(split.tolist())
    class_counts = Counter(labels)
    splits = ", ".join(f"{k}={split_counts[k]}" for k in sorted(split_counts))
    classes = ", ".join(f"{name}={class_counts[name]}" for name in present_classes(labels))
    return (
        f"{layout} loaded from {root}\n"
        f"{len(labels)} samples; splits: {splits or 'none'}\n"
        f"{len(class_counts)} classes: {classes or 'none'}"
    )


def make_bunch(
    *,
    data: Sequence[Any],
    labels: Sequence[str],
    split: np.ndarray,
    subject: np.ndarray | None,
    layout: str,
    root: Path,
    subset: str,
    file_based: bool,
    mask: np.ndarray | None = None,
    **extra: np.ndarray,
) -> Bunch:
    """Build the loader result, keeping only the rows selected by ``subset``.

    ``target_names`` is computed over *all* rows before subsetting, so that
    the train and test subsets of one dataset share the same encoding.

    Parameters
    ----------
    data : sequence
        One item per sample (absolute path strings or image arrays).
    labels : sequence of str
        Canonical emotion name of each sample.
    split : ndarray of str
        ``"train"``, ``"test"``, ``"val"`` or ``"unknown"`` per sample.
    subject : ndarray of str or None
        Subject id per sample, if known.
    layout : str
        Human-readable layout name for ``DESCR``.
    root : Path
        Dataset root (or file) for ``DESCR`` and error messages.
    subset : str
        The ``subset`` argument, used for the mask and for error messages.
    file_based : bool
        If true, ``filenames`` is the same list as ``data``; else ``None``.
    mask : ndarray of bool, optional
        Rows to keep; defaults to :func:`subset_mask` of ``split``.
    **extra : ndarray
        Further per-sample arrays stored in the Bunch (subsetted too).

    Returns
    -------
    Bunch
        With ``data``, ``target``, ``target_names``, ``split``, ``subject``,
        ``DESCR`` and ``filenames`` (plus ``extra``).

    Raises
    ------
    ValueError
        If ``subset`` selects no sample.
    """
    split = np.asarray(split, dtype=str)
    target_names = present_classes(labels)
    index = {name: i for i, name in enumerate(target_names)}
    target = np.array([index[label] for label in labels], dtype=np.int64)
    if mask is None:
        mask = subset_mask(split, subset)
    if not mask.any():
        found = ", ".join(f"{k}={v}" for k, v in sorted(Counter(split.tolist()).items()))
        raise ValueError(
            f"subset={subset!r} selects no samples of {root}; splits found: {found or 'none'}"
        )
    keep = np.flatnonzero(mask)
    kept_data = [data[i] for i in keep]
    kept_split = split[keep]
    kept_labels = [labels[i] for i in keep]
    return Bunch(
        data=kept_data,
        target=target[keep],
        target_names=target_names,
        split=kept_split,
        subject=None if subject is None else np.asarray(subject, dtype=str)[keep],
        DESCR=describe(layout, root, kept_split, kept_labels),
        filenames=list(kept_data) if file_based else None,
        **{key: np.asarray(value)[keep] for key, value in extra.items()},
    )
