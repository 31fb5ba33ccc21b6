"""Loader for DFEW (Dynamic Facial Expression in-the-Wild) in its distributed layout.

DFEW ships its clips under ``Clip/`` and its official five-fold split of the
11,697 single-labelled clips under ``EmoLabel_DataSplit/``::

    DFEW/
      EmoLabel_DataSplit/
        train(single-labeled)/set_1.csv ... set_5.csv   # "video_name,label" rows
        test(single-labeled)/set_1.csv ... set_5.csv
      Clip/
        clip_224x224/00001/00001_00001.jpg ...   # aligned frames, one folder per clip
        clip_224x224_16f/00001/1.jpg ... 16.jpg  # the same, time-interpolated to 16 frames
        clip_224x224_avi/00001.avi               # (if present) the aligned clips as videos
        original/00001.mp4                       # the original clips

``video_name`` is the clip number (``1`` or ``00001``) and ``label`` is
``1..7``: happy, sad, neutral, angry, surprise, disgust, fear.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..io import is_hidden, is_video_file, list_folders
from ._base import (
    UNKNOWN_SPLIT,
    check_subset,
    first_examples,
    make_bunch,
    resolve_dir,
)

DFEW_LABELS: tuple[str, ...] = (
    "happiness",
    "sadness",
    "neutral",
    "anger",
    "surprise",
    "disgust",
    "fear",
)
"""DFEW labels ``1..7`` (index ``label - 1``) as canonical emotion names."""

DFEW_FOLDS: tuple[int, ...] = (1, 2, 3, 4, 5)
"""The official cross-validation folds (``set_1.csv`` ... ``set_5.csv``)."""

SPLIT_DIR = "EmoLabel_DataSplit"
"""Folder of the split csv files, relative to the DFEW root."""

CLIP_DIR = "Clip"
"""Folder of the clip sets (``clip_224x224``, ``clip_224x224_16f``...), relative to the root."""

# "train(single-labeled)", "train(single_labeled)", "train_single-labeled" all normalise alike.
_SPLIT_FOLDER_KEYS = {"trainsinglelabeled": "train", "testsinglelabeled": "test"}
_NOT_LISTED = "none"


def _expected_layout(root: Path) -> str:
    return (
        f"expected the DFEW layout:\n"
        f"  {root}/{SPLIT_DIR}/train(single-labeled)/set_1.csv ... set_5.csv\n"
        f"  {root}/{SPLIT_DIR}/test(single-labeled)/set_1.csv ... set_5.csv\n"
        f"  {root}/{CLIP_DIR}/<frames>/<clip id>/  (a frame folder per clip, e.g. "
        f"{CLIP_DIR}/clip_224x224/00001/)\n"
        f"  or {root}/{CLIP_DIR}/<frames>/<clip id>.mp4|.avi  (a video file per clip)"
    )


def _dfew_root(root: Path) -> Path:
    """The folder holding ``EmoLabel_DataSplit``: ``root`` or its only child holding one."""
    if (root / SPLIT_DIR).is_dir():
        return root
    inner = [d for d in list_folders(root) if (d / SPLIT_DIR).is_dir()]
    if len(inner) == 1:
        return inner[0]
    raise FileNotFoundError(f"no {SPLIT_DIR} folder in {root}; {_expected_layout(root)}")


def _split_folders(root: Path) -> dict[str, Path]:
    """``{"train": .../train(single-labeled), "test": ...}`` under ``EmoLabel_DataSplit``."""
    split_root = root / SPLIT_DIR
    found: dict[str, list[Path]] = {"train": [], "test": []}
    for folder in list_folders(split_root):
        key = re.sub(r"[^a-z]", "", folder.name.lower())
        if key in _SPLIT_FOLDER_KEYS:
            found[_SPLIT_FOLDER_KEYS[key]].append(folder)
    folders = {}
    for split, candidates in found.items():
        if not candidates:
            present = [d.name for d in list_folders(split_root)]
            raise FileNotFoundError(
                f"no {split}(single-labeled) folder in {split_root} (found: "
                f"{', '.join(present) or 'nothing'}); {_expected_layout(root)}"
            )
        if len(candidates) > 1:
            raise ValueError(
                f"several {split} split folders in {split_root}: "
                f"{', '.join(c.name for c in candidates)}; keep one"
            )
        folders[split] = candidates[0]
    return folders


def _parse_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdecimal() else None


def _read_split_csv(path: Path) -> dict[int, int]:
    """Read a ``set_<k>.csv`` into ``{clip number: label 1..7}``, in file order."""
    if not path.is_file():
        raise FileNotFoundError(f"DFEW split file not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            (n, row) for n, row in enumerate(csv.reader(fh), start=1) if any(c.strip() for c in row)
        ]
    if not rows:
        raise ValueError(f"{path} lists no clips")
    id_col, label_col = 0, 1
    first = [c.strip().lower() for c in rows[0][1]]
    if "video_name" in first and "label" in first:
        id_col, label_col = first.index("video_name"), first.index("label")
        rows = rows[1:]
    elif _parse_int(rows[0][1][0]) is None:
        raise ValueError(
            f"{path}, line {rows[0][0]}: expected a 'video_name,label' header or "
            f"'<clip number>,<label>' rows, got {','.join(rows[0][1])!r}"
        )
    entries: dict[int, int] = {}
    for lineno, row in rows:
        where = f"{path}, line {lineno}"
        if len(row) <= max(id_col, label_col):
            raise ValueError(f"{where}: expected video_name and label columns, got {row!r}")
        clip, label = _parse_int(row[id_col]), _parse_int(row[label_col])
        if clip is None:
            raise ValueError(f"{where}: video_name {row[id_col]!r} is not a clip number")
        if label is None or not 1 <= label <= len(DFEW_LABELS):
            raise ValueError(
                f"{where}: label {row[label_col]!r} of clip {clip:05d} is not in 1..7 "
                "(happy, sad, neutral, angry, surprise, disgust, fear)"
            )
        if clip in entries:
            raise ValueError(f"{where}: clip {clip:05d} is listed twice")
        entries[clip] = label
    if not entries:
        raise ValueError(f"{path} lists no clips")
    return entries


def _clip_entries(folder: Path) -> Iterator[tuple[int, Path] | Path]:
    """Clips directly in ``folder``: ``(number, path)``; other sub-folders are yielded bare."""
    with os.scandir(folder) as it:
        for entry in it:
            if is_hidden(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_dir():
                if entry.name.isdecimal():
                    yield int(entry.name), path
                else:
                    yield path
            elif is_video_file(path) and path.stem.isdecimal():
                yield int(path.stem), path


def _index_clips(frames_dir: Path) -> dict[int, Path]:
    """``{clip number: clip folder or video}`` under ``frames_dir``.

    Clips sit directly in ``frames_dir`` or one level down (the
    ``clip_224x224_part_<k>`` folders that unpacking the part archives gives).
    """
    index: dict[int, Path] = {}

    def add(number: int, path: Path) -> None:
        if number in index:
            raise ValueError(
                f"clip {number:05d} is present twice under {frames_dir}: {index[number]} and {path}"
            )
        index[number] = path

    for item in _clip_entries(frames_dir):
        if isinstance(item, tuple):
            add(*item)
            continue
        for inner in _clip_entries(item):
            if isinstance(inner, tuple):
                add(*inner)
    return index


@dataclass
class _Tree:
    """A located DFEW tree; the clip index is built on first use."""

    root: Path
    frames: str
    split_folders: dict[str, Path]
    frames_dir: Path
    _index: dict[int, Path] | None = field(default=None, repr=False)

    @classmethod
    def locate(cls, root: str | os.PathLike[str], frames: str) -> _Tree:
        if not isinstance(frames, str) or frames in ("", ".", "..") or frames != Path(frames).name:
            raise ValueError(
                f"frames must name one folder under {CLIP_DIR}/ (e.g. 'clip_224x224'), "
                f"got {frames!r}"
            )
        base = _dfew_root(resolve_dir(root))
        folders = _split_folders(base)
        clip_root = base / CLIP_DIR
        if not clip_root.is_dir():
            raise FileNotFoundError(f"no {CLIP_DIR} folder in {base}; {_expected_layout(base)}")
        frames_dir = clip_root / frames
        if not frames_dir.is_dir():
            present = [d.name for d in list_folders(clip_root)]
            raise FileNotFoundError(
                f"clip set {frames!r} not found: {frames_dir} does not exist (clip sets in "
                f"{clip_root}: {', '.join(present) or 'none'}); pass frames=<one of them>"
            )
        return cls(base, frames, folders, frames_dir)

    def csv(self, split: str, fold: int) -> dict[int, int]:
        return _read_split_csv(self.split_folders[split] / f"set_{fold}.csv")

    def paths(self, clips: list[int]) -> list[str]:
        """Absolute clip paths, or FileNotFoundError naming the missing clips."""
        if self._index is None:
            self._index = _index_clips(self.frames_dir)
        missing = [f"{c:05d}" for c in clips if c not in self._index]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of {len(clips)} clips listed in {self.root / SPLIT_DIR} are "
                f"missing from {self.frames_dir}: {first_examples(missing)} (expected a frame "
                "folder <clip id>/ or a video <clip id>.mp4|.avi per clip)"
            )
        return [str(self._index[c]) for c in clips]

    def bunch(
        self,
        clips: list[int],
        labels: dict[int, int],
        split: list[str],
        subset: str,
        layout: str,
        **extra: np.ndarray,
    ) -> Bunch:
        return make_bunch(
            data=self.paths(clips),
            labels=[DFEW_LABELS[labels[c] - 1] for c in clips],
            split=np.array(split, dtype=str),
            subject=None,
            layout=layout,
            root=self.root,
            subset=subset,
            file_based=True,
            clip_id=np.array([f"{c:05d}" for c in clips], dtype=str),
            **extra,
        )


def _check_fold(fold: object) -> None:
    if fold is not None and (
        isinstance(fold, bool) or not isinstance(fold, int | np.integer) or fold not in DFEW_FOLDS
    ):
        raise ValueError(f"fold must be None or one of {DFEW_FOLDS}, got {fold!r}")


def _fold_samples(tree: _Tree, fold: int) -> tuple[list[int], dict[int, int], list[str]]:
    """Clip numbers (sorted), labels and train/test split of one fold."""
    train, test = tree.csv("train", fold), tree.csv("test", fold)
    both = sorted(set(train) & set(test))
    if both:
        raise ValueError(
            f"{len(both)} clips are in both the train and the test list of fold {fold} "
            f"({tree.split_folders['train'] / f'set_{fold}.csv'}, "
            f"{tree.split_folders['test'] / f'set_{fold}.csv'}): "
            f"{first_examples([f'{c:05d}' for c in both])}"
        )
    labels = {**train, **test}
    clips = sorted(labels)
    return clips, labels, ["train" if c in train else "test" for c in clips]


def _union_samples(tree: _Tree) -> tuple[list[int], dict[int, int], np.ndarray]:
    """All clips of the five folds, their labels and their ``(n, 5)`` fold membership."""
    labels: dict[int, int] = {}
    seen_in: dict[int, str] = {}
    membership: dict[int, list[str]] = {}
    for k, fold in enumerate(DFEW_FOLDS):
        for split in ("train", "test"):
            path = tree.split_folders[split] / f"set_{fold}.csv"
            for clip, label in tree.csv(split, fold).items():
                if clip in labels and labels[clip] != label:
                    raise ValueError(
                        f"clip {clip:05d} has label {labels[clip]} in {seen_in[clip]} but "
                        f"label {label} in {path}"
                    )
                labels[clip], seen_in[clip] = label, seen_in.get(clip, str(path))
                row = membership.setdefault(clip, [_NOT_LISTED] * len(DFEW_FOLDS))
                if row[k] != _NOT_LISTED:
                    raise ValueError(
                        f"clip {clip:05d} is in both the train and the test list of fold {fold}"
                    )
                row[k] = split
    clips = sorted(labels)
    return clips, labels, np.array([membership[c] for c in clips], dtype="<U5")


def load_dfew(
    root: str | os.PathLike[str],
    *,
    fold: int | None = None,
    subset: str = "all",
    frames: str = "clip_224x224",
) -> Bunch:
    """Load DFEW's single-labelled clips from its distributed layout.

    Expected layout (``root`` is the folder holding ``EmoLabel_DataSplit``
    and ``Clip``, or a folder whose only such child is it)::

        root/EmoLabel_DataSplit/train(single-labeled)/set_1.csv ... set_5.csv
        root/EmoLabel_DataSplit/test(single-labeled)/set_1.csv ... set_5.csv
        root/Clip/<frames>/<clip id>/        # frame images, e.g. 00001/00001_00001.jpg
        root/Clip/<frames>/<clip id>.<ext>   # or a video per clip (.avi, .mp4, ...)

    The split folders may also be spelled ``train(single_labeled)`` or
    ``train_single-labeled``. A csv has a ``video_name,label`` header (other
    columns are ignored; a header-less ``<clip>,<label>`` file is accepted
    too); ``video_name`` is the clip number, padded or not, and ``label`` is
    ``1..7`` (see :data:`DFEW_LABELS`). Clips sit directly in
    ``Clip/<frames>`` or one folder down (``clip_224x224_part_1/00001``, as
    unpacking the part archives leaves them). Only the split files and the
    chosen clip set are read: ``Annotation/`` and other clip sets are
    optional. Clips that no split file lists (the multi-labelled ones) are
    ignored; the frames inside a clip folder are not listed (natural sort of
    their names gives time order: ``1.jpg ... 16.jpg`` in
    ``clip_224x224_16f``).

    Parameters
    ----------
    root : str or path-like
        The DFEW folder.
    fold : {1, 2, 3, 4, 5} or None, default=None
        Load fold ``k`` (``split`` is ``"train"``/``"test"`` from
        ``set_k.csv``), or, if None, the union of the clips of all five folds
        with ``split`` ``"unknown"`` and a ``fold_split`` array for
        :func:`dfew_cv`.
    subset : {"all", "train", "test"}, default="all"
        Which split of the fold to return (only ``"all"`` when ``fold`` is None).
    frames : str, default="clip_224x224"
        The clip set: a folder under ``Clip/``, e.g. ``"clip_224x224"``,
        ``"clip_224x224_16f"`` (frame folders) or ``"original"`` (videos).

    Returns
    -------
    Bunch
        ``data`` and ``filenames`` (absolute clip folder or video paths,
        ordered by clip number), ``target`` (int64 index into
        ``target_names``), ``target_names`` (canonical names of the classes
        present in the fold or the union, in :data:`~fersk.datasets.EMOTIONS`
        order), ``split``, ``subject`` (``None``: DFEW has no subject ids),
        ``clip_id`` (five-digit clip numbers, ``"00001"``), ``DESCR``, and
        with ``fold=None`` also ``fold_split``, an ``(n_samples, 5)`` array of
        ``"train"``/``"test"``/``"none"`` giving each clip's role in folds 1..5.

    Raises
    ------
    FileNotFoundError
        If ``root``, ``EmoLabel_DataSplit``, a split folder or file, ``Clip``
        or the clip set is missing (the message lists the expected layout),
        or if clips listed in the split files are missing (the message gives
        the count and the first ids).
    ValueError
        If a split file is malformed (bad label, clip listed twice), a clip
        is in the train and the test list of one fold, a clip has different
        labels in different files, ``fold``/``frames``/``subset`` is invalid,
        or ``subset`` selects nothing.

    See Also
    --------
    fersk.datasets.dfew_folds : the five (train, test) pairs.
    fersk.datasets.dfew_cv : cross-validation indices over the union.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for split in ("train", "test"):
    ...     folder = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)"
    ...     folder.mkdir(parents=True)
    ...     for k in range(1, 6):
    ...         rows = {"train": "1,1\\n2,4\\n", "test": "3,3\\n"}[split]
    ...         _ = (folder / f"set_{k}.csv").write_text("video_name,label\\n" + rows)
    >>> for clip in ("00001", "00002", "00003"):
    ...     (root / "Clip" / "clip_224x224" / clip).mkdir(parents=True)
    >>> clips = load_dfew(root, fold=1)
    >>> clips.clip_id.tolist(), clips.split.tolist()
    (['00001', '00002', '00003'], ['train', 'train', 'test'])
    >>> [clips.target_names[t] for t in clips.target]
    ['happiness', 'anger', 'neutral']
    >>> pathlib.Path(load_dfew(root, fold=1, subset="test").data[0]).name
    '00003'
    """
    check_subset(subset)
    _check_fold(fold)
    tree = _Tree.locate(root, frames)
    if fold is None:
        if subset != "all":
            raise ValueError(
                f"subset={subset!r} needs a fold: fold=None loads the union of the five "
                f"folds, whose split is {UNKNOWN_SPLIT!r}; pass fold=1..5"
            )
        clips, labels, fold_split = _union_samples(tree)
        return tree.bunch(
            clips,
            labels,
            [UNKNOWN_SPLIT] * len(clips),
            subset,
            f"DFEW ({frames}, union of folds 1-5)",
            fold_split=fold_split,
        )
    clips, labels, split = _fold_samples(tree, int(fold))
    return tree.bunch(clips, labels, split, subset, f"DFEW ({frames}, fold {fold})")


def dfew_folds(
    root: str | os.PathLike[str], *, frames: str = "clip_224x224"
) -> Iterator[tuple[int, Bunch, Bunch]]:
    """Yield ``(fold, train, test)`` for DFEW's official folds 1..5.

    The tree is located and the clip set indexed once; each fold's train and
    test Bunch share one ``target_names``.

    Parameters
    ----------
    root : str or path-like
        The DFEW folder (see :func:`load_dfew`).
    frames : str, default="clip_224x224"
        The clip set under ``Clip/``.

    Yields
    ------
    fold : int
        ``1`` to ``5``.
    train, test : Bunch
        As :func:`load_dfew` with ``fold=fold`` and ``subset="train"`` /
        ``"test"``.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_dfew`, when the fold is reached.

    See Also
    --------
    fersk.datasets.load_dfew : One fold, or the union of the five.
    fersk.datasets.dfew_cv : The folds as cross-validation indices over the union.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for split in ("train", "test"):
    ...     folder = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)"
    ...     folder.mkdir(parents=True)
    ...     for k in range(1, 6):
    ...         test = 1 + k % 2
    ...         rows = [f"{c},{c}" for c in (1, 2) if (c == test) == (split == "test")]
    ...         _ = (folder / f"set_{k}.csv").write_text("\\n".join(["video_name,label", *rows]))
    >>> for clip in ("00001", "00002"):
    ...     (root / "Clip" / "clip_224x224" / clip).mkdir(parents=True)
    >>> [(k, train.clip_id.tolist(), test.clip_id.tolist()) for k, train, test in
    ...  dfew_folds(root)][:2]
    [(1, ['00001'], ['00002']), (2, ['00002'], ['00001'])]
    """
    tree = _Tree.locate(root, frames)
    for fold in DFEW_FOLDS:
        clips, labels, split = _fold_samples(tree, fold)
        layout = f"DFEW ({frames}, fold {fold})"
        yield (
            fold,
            tree.bunch(clips, labels, split, "train", layout),
            tree.bunch(clips, labels, split, "test", layout),
        )


def dfew_cv(bunch: Bunch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation indices of DFEW's official folds over the union of the clips.

    Fold ``k``'s test indices are the clips of ``test(single-labeled)/set_k.csv``
    and its train indices all the other clips. This reproduces the official
    train lists only if every clip is in exactly one test list and in the
    train or test list of every fold; that is checked, and a clear error
    names the clips that break it.

    Parameters
    ----------
    bunch : Bunch
        The result of ``load_dfew(root, fold=None)`` (it has ``fold_split``).

    Returns
    -------
    list of (ndarray, ndarray)
        Five ``(train_indices, test_indices)`` pairs, usable as ``cv=`` in
        :func:`sklearn.model_selection.cross_val_score` and friends.

    Raises
    ------
    ValueError
        If ``bunch`` has no ``fold_split`` (not loaded with ``fold=None``), or
        if the folds do not partition the clips.

    See Also
    --------
    fersk.datasets.load_dfew : ``fold=None`` loads the union this function needs.
    fersk.datasets.dfew_folds : The folds as (train, test) Bunches.
    fersk.evaluation.crossval.cross_val_war_uar : WAR and UAR over these folds (``cv=``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> union = Bunch(clip_id=np.array(["00001", "00002", "00003", "00004", "00005"]),
    ...               fold_split=np.where(np.eye(5, dtype=bool), "test", "train"))
    >>> [(train.tolist(), test.tolist()) for train, test in dfew_cv(union)][:2]
    [([1, 2, 3, 4], [0]), ([0, 2, 3, 4], [1])]
    >>> union.fold_split[4, 0] = "test"   # clip 00005 now in the test lists of folds 1 and 5
    >>> dfew_cv(union)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: DFEW's folds do not partition the clips: 1 clips are in several test lists: ...
    """
    fold_split = bunch.get("fold_split") if isinstance(bunch, dict) else None
    if fold_split is None:
        raise ValueError(
            "dfew_cv needs the union of the folds, with its fold_split array: "
            "pass load_dfew(root, fold=None)"
        )
    fold_split = np.asarray(fold_split)
    n_folds = len(DFEW_FOLDS)
    if fold_split.ndim != 2 or fold_split.shape[1] != n_folds:
        raise ValueError(
            f"fold_split must have shape (n_samples, {n_folds}), got {fold_split.shape}"
        )
    ids = np.asarray(bunch.get("clip_id", np.arange(len(fold_split)).astype(str)))
    n_test = (fold_split == "test").sum(axis=1)
    problems = [
        (n_test == 0, "are in no test list"),
        (n_test > 1, "are in several test lists"),
        (
            (fold_split == _NOT_LISTED).any(axis=1),
            "are missing from some fold's train and test lists",
        ),
    ]
    for rows, what in problems:
        if rows.any():
            bad = ids[rows].tolist()
            raise ValueError(
                f"DFEW's folds do not partition the clips: {len(bad)} clips {what}: "
                f"{first_examples(bad)}; each clip must be in exactly one test list and "
                "in the train list of every other fold"
            )
    empty = [fold for k, fold in enumerate(DFEW_FOLDS) if not (fold_split[:, k] == "test").any()]
    if empty:
        raise ValueError(f"no clip is in the test list of fold(s) {empty}")
    return [
        (np.flatnonzero(fold_split[:, k] == "train"), np.flatnonzero(fold_split[:, k] == "test"))
        for k in range(n_folds)
    ]
