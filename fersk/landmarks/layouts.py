"""Landmark layouts: which index is which facial point, for 68 and 5 points.

fersk uses the iBUG 300-W 68-point layout (dlib's and FAN's) and dlib's
5-point layout. Indices are 0-based. "Right"/"left" are the *person's*; in an
unmirrored image the person's right eye is on the image's left.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EYE_CORNERS",
    "FIVE_FROM_68",
    "REGIONS_68",
    "eye_centres",
    "interocular_distance",
    "landmark_feature_names",
]

#: Named index ranges of the 68-point layout.
REGIONS_68: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "right_brow": tuple(range(17, 22)),
    "left_brow": tuple(range(22, 27)),
    "nose": tuple(range(27, 36)),
    "right_eye": tuple(range(36, 42)),
    "left_eye": tuple(range(42, 48)),
    "outer_lips": tuple(range(48, 60)),
    "inner_lips": tuple(range(60, 68)),
}

#: For each layout, the indices of (right eye corners, left eye corners).
#: The eye centre is the mean of its two corners in both layouts, so a
#: 5-point and a 68-point extractor give the same inter-ocular distance.
EYE_CORNERS: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {
    68: ((36, 39), (42, 45)),
    5: ((2, 3), (1, 0)),
}

#: dlib's 5-point layout expressed as 68-point indices: left eye outer and
#: inner corner, right eye outer and inner corner, base of the nose.
FIVE_FROM_68: tuple[int, ...] = (45, 42, 36, 39, 33)


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the right and left eye centres of landmarks ``(n, L, 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.zeros((1, 5, 2)); pts[0, :4, 0] = [10, 8, 0, 2]  # x of the eye corners
    >>> [float(c[0, 0]) for c in eye_centres(pts)]
    [1.0, 9.0]
    """
    n_landmarks = points.shape[1]
    if n_landmarks not in EYE_CORNERS:
        raise ValueError(
            f"eye positions are defined for 68- and 5-point layouts, got {n_landmarks} points"
        )
    right, left = EYE_CORNERS[n_landmarks]
    return points[:, list(right)].mean(axis=1), points[:, list(left)].mean(axis=1)


def interocular_distance(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres of landmarks ``(n, L, 2)``; shape ``(n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.zeros((1, 5, 2)); pts[0, :4, 0] = [10, 8, 0, 2]
    >>> interocular_distance(pts)
    array([8.])
    """
    right, left = eye_centres(points)
    return np.linalg.norm(left - right, axis=1)


def landmark_feature_names(n_landmarks: int) -> np.ndarray:
    """Column names ``x0, y0, x1, y1, ...`` of a landmark matrix.

    Examples
    --------
    >>> landmark_feature_names(2).tolist()
    ['x0', 'y0', 'x1', 'y1']
    """
    return np.array([f"{axis}{i}" for i in range(n_landmarks) for axis in "xy"], dtype=object)
