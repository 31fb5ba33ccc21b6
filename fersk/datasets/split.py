"""The train or test part of a loaded dataset: its own split, or one made by subject.

``fersk train`` and ``fersk evaluate`` both call :func:`split_dataset`, so the
test images they score are exactly the ones training never saw, and Python
users get the same split.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.model_selection import (
    GroupShuffleSplit,
    StratifiedShuffleSplit,
    train_test_split,
)
from sklearn.utils import Bunch

__all__ = ["DEFAULT_TEST_SIZE", "split_dataset"]

#: The test share of a split made here, for datasets without their own (CK+48).
DEFAULT_TEST_SIZE = 0.2


def split_dataset(
    data: Bunch,
    subset: str,
    *,
    test_size: float | None = None,
    seed: int = 0,
    max_samples: int | None = None,
    names: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str], str]:
    """The ``subset`` ("train" or "test") of a loaded dataset, and how it was chosen.

    A dataset with its own train/test split (FER2013, RAF-DB) uses it, unless
    ``test_size`` is given; one without (CK+48, a plain folder per class) is
    split here: subject-independent (``GroupShuffleSplit``, no subject on
    both sides) when the loader knows the subjects, stratified by class
    (``StratifiedShuffleSplit``) otherwise. The same ``test_size`` and
    ``seed`` give the same split for both subsets.

    Parameters
    ----------
    data : Bunch
        As returned by :func:`fersk.datasets.load_dataset`: ``data``,
        ``target`` (integer codes), ``target_names``, ``split`` and
        ``subject`` (None when unknown).
    subset : {"train", "test"}
        The part to return.
    test_size : float or None, default=None
        Split here with this test share (between 0 and 1) instead of using the
        dataset's own split; None: the dataset's own split, or
        :data:`DEFAULT_TEST_SIZE` for a dataset without one.
    seed : int, default=0
        Seed of a split made here.
    max_samples : int or None, default=None
        Keep at most this many samples of the subset, a stratified subsample
        (seeded, in the dataset's order); at least one per class.
    names : mapping or None, default=None
        How messages name the parameters (``{"test_size": "--test-size",
        "seed": "--split-seed", "max_samples": "--max-train"}`` for a command
        line); default: the parameter names.

    Returns
    -------
    X : ndarray
        The images: an ``object`` array of paths, or the stacked image arrays
        (FER2013's csv).
    y : ndarray of int
        Their class codes (indices into ``target_names``).
    groups : ndarray or None
        Their subject ids, or None when the dataset has none.
    target_names : list of str
        The class names of the whole dataset.
    description : str
        One line: how many images (and subjects), and which split they come
        from, with the values that reproduce it.

    Raises
    ------
    ValueError
        For a subset other than "train" or "test", a ``test_size`` outside
        (0, 1), an empty dataset or subset, or ``max_samples`` below the
        number of the subset's classes.

    See Also
    --------
    fersk.datasets.load_dataset : Load the dataset first.
    sklearn.model_selection.GroupShuffleSplit : The subject-independent split.

    Examples
    --------
    >>> from fersk.datasets import make_sample_faces
    >>> faces = make_sample_faces(n_subjects=5, n_intensities=1, blur_sigmas=(0.0,))
    >>> faces.split = None  # no split of its own, like CK+48: split here, by subject
    >>> X, y, groups, names, how = split_dataset(faces, "train")
    >>> how
    '28 images of 4 subjects, from a subject-independent 80%/20% split (test_size=0.2, seed=0; \
the test split needs the same values)'
    >>> _, _, test_groups, _, _ = split_dataset(faces, "test")
    >>> set(groups.tolist()) & set(test_groups.tolist())  # no subject on both sides
    set()
    >>> X, y, *_ = split_dataset(faces, "train", max_samples=7)
    >>> sorted(names[k] for k in y) == sorted(names)  # one image of each class
    True
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")

    def named(parameter: str, value) -> str:
        if names and parameter in names:
            return f"{names[parameter]} {value}"
        return f"{parameter}={value}"

    labels = np.asarray(data.target)
    if labels.size == 0:
        raise ValueError(f"the {subset} split is empty: the dataset holds no images")
    index, how = _subset_index(data, labels, subset, test_size, seed, named)
    if index.size == 0:
        raise ValueError(f"the {subset} split is empty ({how})")
    index = _subsample(labels, index, subset, max_samples, named)
    X = [data.data[i] for i in index]
    X = np.stack(X) if isinstance(X[0], np.ndarray) else np.array(X, dtype=object)
    subject = data.get("subject")
    groups = None if subject is None else np.asarray(subject)[index]
    of = "" if groups is None else f" of {len(set(groups.tolist()))} subjects"
    return X, labels[index], groups, list(data.target_names), f"{index.size} images{of}, from {how}"


def _subset_index(data, labels, subset, test_size, seed, named) -> tuple[np.ndarray, str]:
    """The subset's sample indices, and a description of the split they come from."""
    n = len(labels)
    split = data.get("split")
    split = None if split is None else np.asarray(split)
    if test_size is None and split is not None and {"train", "test"} <= set(split.tolist()):
        how = "the dataset's own train/test split"
        unused = int(np.isin(split, ["train", "test"], invert=True).sum())
        if unused:
            how += f"; {unused} images of other splits (val, unknown) not used"
        return np.flatnonzero(split == subset), how
    test_size = DEFAULT_TEST_SIZE if test_size is None else test_size
    if not 0 < test_size < 1:
        raise ValueError(f"{named('test_size', test_size)} must be between 0 and 1 (exclusive)")
    shares = f"{1 - test_size:.0%}/{test_size:.0%}"
    subject = data.get("subject")
    if subject is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(np.zeros(n), labels, groups=subject))
        how = f"a subject-independent {shares} split"
    else:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(np.zeros(n), labels))
        how = f"a stratified {shares} split (no subject ids)"
    how += f" ({named('test_size', test_size)}, {named('seed', seed)}"
    how += "; the test split needs the same values)" if subset == "train" else ")"
    return np.sort(train if subset == "train" else test), how


def _subsample(labels, index, subset, max_samples, named) -> np.ndarray:
    """At most ``max_samples`` of ``index``, stratified by class where every class has two."""
    n_classes = len(np.unique(labels[index]))
    if max_samples is not None and max_samples < n_classes:
        raise ValueError(
            f"{named('max_samples', max_samples)} is fewer than the {n_classes} classes of the "
            f"{subset} split"
        )
    if max_samples is None or max_samples >= index.size:
        return index
    counts = np.bincount(np.unique(labels[index], return_inverse=True)[1])
    stratify = labels[index] if counts.min() >= 2 else None
    kept, _ = train_test_split(index, train_size=max_samples, stratify=stratify, random_state=0)
    return np.sort(kept)
