"""The classifier's labels: checked, encoded as class indices, or given as soft targets."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets
from skorch.utils import to_numpy

__all__ = ["as_labels", "check_classes", "check_soft_targets", "encode_labels", "hard_codes"]


def as_labels(y) -> np.ndarray:
    """``y`` as a 1-D array (a column vector is flattened); anything else is an error."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per image), got shape {y.shape}")
    return y


def hard_codes(y) -> np.ndarray:
    """Encoded targets as class indices: soft targets ``(n, n_classes)`` by their argmax."""
    y = to_numpy(y)
    return y.argmax(axis=1) if y.ndim == 2 else y


def check_classes(y, classes=None, owner: str = "the classifier") -> np.ndarray:
    """The classes of labels ``y`` (sorted), or ``classes`` if given, after checking ``y``.

    Raises
    ------
    ValueError
        For missing (None, NaN) or mixed string/number labels, repeated
        classes, or fewer than 2 classes, naming ``owner``.

    Examples
    --------
    >>> check_classes(["sad", "happy", "sad"]).tolist()
    ['happy', 'sad']
    """
    if y is None:
        raise ValueError(f"{owner} needs labels y to fit")
    if not isinstance(y, (np.ndarray, torch.Tensor)) or y.dtype == object:
        values = np.asarray(y, dtype=object).ravel().tolist()
        if any(v is None for v in values):
            raise ValueError(f"{owner}: y holds None labels; every image needs one")
        if len({isinstance(v, str) for v in values}) > 1:  # numpy would make 1 into "1"
            raise ValueError(f"{owner}: y mixes string and number labels; use one type")
    y = as_labels(y)
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(f"{owner}: y holds NaN labels; every image needs one")
    check_classification_targets(y)  # refuses mixed label types, continuous values
    labels = np.unique(y) if classes is None else np.asarray(classes)
    if len(np.unique(labels)) != len(labels):
        raise ValueError(f"{owner}: classes has repeated labels: {labels}")
    if len(labels) < 2:
        raise ValueError(f"{owner} needs at least 2 classes, got {labels}")
    return labels


def encode_labels(y, classes: np.ndarray) -> np.ndarray:
    """Each label's index in ``classes``; a label outside them is an error naming it.

    Examples
    --------
    >>> encode_labels(["sad", "happy"], np.array(["happy", "sad"])).tolist()
    [1, 0]
    """
    index = {label: i for i, label in enumerate(classes.tolist())}
    try:
        return np.fromiter((index[v] for v in as_labels(y).tolist()), dtype=np.int64, count=len(y))
    except KeyError as exc:
        raise ValueError(
            f"y contains the label {exc.args[0]!r}, which is not among the classes "
            f"{classes.tolist()}"
        ) from None


def check_soft_targets(soft_targets, n_samples: int, classes: np.ndarray) -> np.ndarray:
    """Soft targets as float32 rows summing to 1, after checking their shape and values.

    Raises
    ------
    ValueError
        For a shape other than ``(n_samples, len(classes))``, or a row that
        is not finite, has a negative value or sums to 0 (naming it).

    Examples
    --------
    >>> check_soft_targets([[3, 1], [0, 2]], 2, np.array(["a", "b"])).tolist()
    [[0.75, 0.25], [0.0, 1.0]]
    """
    soft = np.asarray(soft_targets, dtype=np.float64)
    shape = (n_samples, len(classes))
    if soft.shape != shape:
        raise ValueError(
            f"soft_targets must have shape (n_samples, n_classes) = {shape}, one column per "
            f"class in the order {classes.tolist()}; got {soft.shape}"
        )
    bad = ~np.isfinite(soft).all(axis=1) | (soft < 0).any(axis=1) | ~(soft.sum(axis=1) > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"soft_targets row {i} is {soft[i].tolist()}: every row must be finite and "
            f"non-negative with a positive sum ({int(bad.sum())} rows are not)"
        )
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)
