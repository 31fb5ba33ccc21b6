"""Face-box geometry for tracking: overlap, size, centre, how much is in view, and patches."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "PATCH_SIZE",
    "box_centre",
    "box_iou",
    "box_size",
    "inside_fraction",
    "landmark_frame",
    "patch",
    "similarity",
]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``.

    Parameters
    ----------
    a : ndarray of shape (n, 4)
    b : ndarray of shape (m, 4)
        Boxes as ``left, top, right, bottom``.

    Returns
    -------
    ndarray of shape (n, m)

    Examples
    --------
    >>> import numpy as np
    >>> box_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 15, 10], [20, 20, 30, 30]]))
    array([[0.33333333, 0.        ]])
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def box_size(box: np.ndarray) -> tuple[float, float]:
    return float(box[2] - box[0]), float(box[3] - box[1])


def box_centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def inside_fraction(box: np.ndarray, shape: tuple[int, int]) -> float:
    height, width = shape
    w, h = box_size(box)
    if not (w > 0 and h > 0):
        return 0.0
    inside_w = min(box[2], width - 1.0) - max(box[0], 0.0)
    inside_h = min(box[3], height - 1.0) - max(box[1], 0.0)
    return max(inside_w, 0.0) * max(inside_h, 0.0) / (w * h)


#: Side of the gray patch a followed face is compared with its last detection by.
PATCH_SIZE = 24


def patch(gray: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The box's gray pixels at ``PATCH_SIZE``, zero-mean and unit-norm (None: no pixels)."""
    height, width = gray.shape
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    patch = cv2.resize(gray[y0:y1, x0:x1], (PATCH_SIZE, PATCH_SIZE), interpolation=cv2.INTER_AREA)
    patch = patch.astype(np.float32) - patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-6 else None


def similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Normalised correlation of two patches (-1 to 1; -1 when one is missing)."""
    return -1.0 if a is None or b is None else float((a * b).sum())


def landmark_frame(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The landmarks' centre and extent: centroid and RMS distance from it.

    The RMS spread is the landmarks' extent measured robustly: one stray
    point moves it by a fraction of what it moves the min/max extent.
    """
    centre = points.mean(axis=0)
    spread = float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean()))
    return centre, spread
