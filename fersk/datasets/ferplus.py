"""Loader for FER+ (FERPlus): FER2013's faces relabelled by 10 annotators each.

The layout is the one Microsoft's ``generate_training_data.py`` writes::

    <root>/data/FER2013Train/label.csv, fer0000000.png, ...
    <root>/data/FER2013Valid/...
    <root>/data/FER2013Test/...

Each ``label.csv`` (no header) holds per image: the file name, the face box,
then 10 vote counts in the order neutral, happiness, surprise, sadness, anger,
disgust, fear, contempt, unknown, not-a-face.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import check_subset, make_bunch, present_classes, resolve_dir

FERPLUS_VOTES: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "not_a_face",
)
"""The 10 vote columns of FER+'s ``label.csv``, in file order (8 emotions, then 2 others)."""

FERPLUS_SPLITS: dict[str, str] = {
    "FER2013Train": "train",
    "FER2013Valid": "val",
    "FER2013Test": "test",
}
"""FER+ folder -> split (the test folder holds FER2013's PrivateTest images)."""

RULES: tuple[str, ...] = ("majority", "plurality")
_N_EMOTIONS = 8


def _data_dir(root: Path) -> Path:
    for candidate in (root / "data", root):
        if (candidate / "FER2013Train" / "label.csv").is_file() or any(
            (candidate / folder / "label.csv").is_file() for folder in FERPLUS_SPLITS
        ):
            return candidate
    raise FileNotFoundError(
        f"{root} is not a FER+ tree: expected data/FER2013Train/label.csv (and FER2013Valid, "
        "FER2013Test), as FERPlus's generate_training_data.py writes them"
    )


def _read_labels(folder: Path) -> tuple[list[str], np.ndarray]:
    path = folder / "label.csv"
    names, votes = [], []
    with open(path, newline="") as fh:
        for line, row in enumerate(csv.reader(fh), start=1):
            if not row:
                continue
            if len(row) != 12:
                raise ValueError(
                    f"{path}: line {line} has {len(row)} fields; expected 12 (file name, face "
                    "box, 10 vote counts)"
                )
            try:
                counts = [int(v) for v in row[2:]]
            except ValueError:
                raise ValueError(f"{path}: line {line}: vote counts must be integers") from None
            if min(counts) < 0:
                raise ValueError(f"{path}: line {line}: vote counts must be non-negative")
            names.append(row[0].strip())
            votes.append(counts)
    return names, np.asarray(votes, dtype=np.int64).reshape(-1, len(FERPLUS_VOTES))


def ferplus_labels(votes: np.ndarray, rule: str = "majority") -> np.ndarray:
    """The label index (into :data:`FERPLUS_VOTES`) of each image, or -1 where the rule gives none.

    Following the FER+ paper (Barsoum et al., 2016), votes of 1 are dropped as
    outliers first. ``"majority"``: the category holding more than half of the
    remaining votes; ``"plurality"``: the category with the most votes, if no
    other ties with it. An image whose label would be ``unknown`` or
    ``not_a_face``, or that has none, gets -1.

    Parameters
    ----------
    votes : array-like of shape (n_images, 10)
        Vote counts in the order of :data:`FERPLUS_VOTES`.
    rule : {"majority", "plurality"}, default="majority"

    Returns
    -------
    ndarray of int, shape (n_images,)
        0..7 (an emotion of :data:`FERPLUS_VOTES`) or -1.

    Examples
    --------
    >>> ferplus_labels([[6, 2, 1, 0, 0, 0, 0, 0, 1, 0], [3, 3, 0, 2, 0, 0, 0, 0, 2, 0]])
    array([ 0, -1])
    >>> ferplus_labels([[4, 0, 0, 3, 0, 0, 0, 0, 3, 0]], "plurality")
    array([0])
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    kept = np.asarray(votes, dtype=np.float64).copy()
    if kept.ndim != 2 or kept.shape[1] != len(FERPLUS_VOTES):
        raise ValueError(f"votes must have shape (n_images, 10), got {kept.shape}")
    kept[kept <= 1] = 0
    top = kept.max(axis=1)
    label = kept.argmax(axis=1)
    if rule == "majority":
        ok = top > 0.5 * kept.sum(axis=1)
    else:
        ok = (top > 0) & ((kept == top[:, None]).sum(axis=1) == 1)
    return np.where(ok & (label < _N_EMOTIONS), label, -1)


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """Share of each of the 8 emotions among an image's votes (single votes dropped).

    Parameters
    ----------
    votes : array-like of shape (n_images, 10)
        Vote counts in the order of :data:`FERPLUS_VOTES`.

    Returns
    -------
    ndarray of shape (n_images, 8)
        Rows summing to 1 in the order of the first 8 :data:`FERPLUS_VOTES`
        (all zeros for an image no emotion got two votes for).

    Examples
    --------
    >>> vote_distribution([[6, 3, 1, 0, 0, 0, 0, 0, 0, 0]]).round(2).tolist()
    [[0.67, 0.33, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    """
    emotions = np.asarray(votes, dtype=np.float64)[:, :_N_EMOTIONS].copy()
    emotions[emotions <= 1] = 0
    total = emotions.sum(axis=1, keepdims=True)
    return np.divide(emotions, total, out=np.zeros_like(emotions), where=total > 0)


def load_ferplus(
    root: str | os.PathLike[str], *, subset: str = "all", rule: str = "majority"
) -> Bunch:
    """Load FER+: FER2013's 48x48 faces with 10 annotators' votes each, 8 emotions.

    Images whose label under ``rule`` is unknown, not a face, or undecided are
    left out (as in the FER+ paper); every kept image carries its votes and its
    vote distribution, for training on the distribution
    (``CNNClassifier.fit(X, y, soft_targets=data.distribution)``).

    Parameters
    ----------
    root : str or path-like
        The FER+ folder (holding ``data/FER2013Train/label.csv`` ...) or its
        ``data`` folder.
    subset : {"all", "train", "val", "test"}, default="all"
        ``FER2013Train``, ``FER2013Valid`` or ``FER2013Test`` (FER2013's
        PrivateTest images: choose nothing on them).
    rule : {"majority", "plurality"}, default="majority"
        How the hard label ``target`` is read from the votes
        (:func:`ferplus_labels`).

    Returns
    -------
    Bunch
        ``data`` (absolute PNG paths), ``target``, ``target_names`` (canonical
        names, in canonical order: anger, disgust, fear, happiness, sadness,
        surprise, neutral, contempt), ``split``, ``subject`` (None: FER+ has no
        subject ids), ``votes`` (n, 10) in :data:`FERPLUS_VOTES` order,
        ``distribution`` (n, len(target_names)) in ``target_names`` order,
        ``DESCR`` and ``filenames``.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a FER+ tree, or a listed image is missing (named).

    See Also
    --------
    fersk.datasets.ferplus_labels : The label rules.
    fersk.datasets.load_dataset : Detects this layout.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> folder = root / "data" / "FER2013Train"
    >>> folder.mkdir(parents=True)
    >>> for i in range(2):
    ...     _ = cv2.imwrite(str(folder / f"fer{i}.png"), np.zeros((48, 48), np.uint8))
    >>> _ = (folder / "label.csv").write_text(
    ...     'fer0.png,"(0, 0, 48, 48)",0,9,1,0,0,0,0,0,0,0\\n'
    ...     'fer1.png,"(0, 0, 48, 48)",2,0,0,0,0,0,0,4,4,0\\n')
    >>> data = load_ferplus(root)
    >>> [data.target_names[t] for t in data.target], data.distribution.shape
    (['happiness'], (1, 1))
    """
    check_subset(subset)
    base = _data_dir(resolve_dir(root))
    paths, labels, split, votes = [], [], [], []
    for folder_name, split_name in FERPLUS_SPLITS.items():
        folder = base / folder_name
        if not (folder / "label.csv").is_file():
            continue
        names, counts = _read_labels(folder)
        codes = ferplus_labels(counts, rule)
        for name, code, row in zip(names, codes, counts):
            if code < 0:
                continue
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(f"{folder / 'label.csv'} lists {name}, which is missing")
            paths.append(str(path))
            labels.append(FERPLUS_VOTES[code])
            split.append(split_name)
            votes.append(row)
    if not paths:
        raise ValueError(f"{base}: no image has a {rule} label")
    votes_array = np.asarray(votes, dtype=np.int64)
    names = present_classes(labels)
    shares = vote_distribution(votes_array)
    distribution = shares[:, [FERPLUS_VOTES.index(name) for name in names]]
    distribution /= distribution.sum(axis=1, keepdims=True)  # each kept image has its label's
    return make_bunch(
        data=paths,
        labels=labels,
        split=np.asarray(split),
        subject=None,
        layout=f"FER+ ({rule} labels)",
        root=base,
        subset=subset,
        file_based=True,
        votes=votes_array,
        distribution=distribution,
    )
