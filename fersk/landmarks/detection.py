"""Face boxes: dlib's HOG or MMOD detector, or the whole image for face crops.

Boxes are ``(left, top, right, bottom)`` floats in the pixel coordinates of
the image given. When several faces are found, one is chosen by a policy.
"""

from __future__ import annotations

import functools
from typing import Literal

import cv2
import numpy as np

from .._core.batch import FaceNotFoundError, SampleError
from .models import dlib_model_path

__all__ = [
    "DETECTORS",
    "FACE_POLICIES",
    "MIN_RELATIVE_SCORE",
    "SURE_FACE_SCORE",
    "choose_face",
    "detect_faces",
    "find_faces",
    "keep_faces",
    "upscale_small",
]

Detector = Literal["hog", "mmod", "none"]
FacePolicy = Literal["largest", "confident", "center", "raise"]

#: ``"hog"``: dlib's frontal HOG + linear SVM detector (fast on CPU);
#: ``"mmod"``: dlib's CNN detector (more robust to pose, slow on CPU);
#: ``"none"``: no detection, the whole image is the face box (for crops that
#: are already aligned faces: RAF-DB aligned, FER2013, CK+48, AffectNet crops).
DETECTORS: tuple[str, ...] = ("hog", "mmod", "none")

#: ``"largest"``: the face with the largest box; ``"confident"``: the face
#: with the highest detector score; ``"center"``: the face whose box centre is
#: nearest the image centre; ``"raise"``: several faces are an error for that
#: sample. Before any policy looks at sizes or positions, boxes scoring below
#: :data:`MIN_RELATIVE_SCORE` of the best box are dropped: HOG's false
#: positives score near 0 while real frontal faces score above 0.5, so a
#: barely-positive box never beats a clear face by being larger.
FACE_POLICIES: tuple[str, ...] = ("largest", "confident", "center", "raise")

#: A box is a face candidate only if its detector score is at least this
#: fraction of the best box's score (when the best score is positive)...
MIN_RELATIVE_SCORE = 0.25

#: ...or if it scores at least this much: a sure face whatever the best score (the
#: faces of a group photo differ in confidence).
SURE_FACE_SCORE = 0.3


class MultipleFacesError(SampleError):
    """Several faces were found and the policy asks for exactly one."""

    reason = "multiple_faces"


@functools.cache
def _hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=4)
def _mmod_detector(path: str):
    import dlib

    return dlib.cnn_face_detection_model_v1(path)


def upscale_small(image: np.ndarray, min_size: int) -> tuple[np.ndarray, float]:
    """Upscale ``image`` so its shorter side is at least ``min_size``; return it and the factor.

    Small crops (48 px FER2013 faces) carry too few pixels for dlib's predictor
    and detectors; bicubic upscaling restores the scale they were trained on.

    Examples
    --------
    >>> import numpy as np
    >>> big, factor = upscale_small(np.zeros((48, 48), dtype=np.uint8), 160)
    >>> big.shape, round(factor, 3)
    ((160, 160), 3.333)
    """
    short = min(image.shape[:2])
    if short >= min_size or short == 0:
        return image, 1.0
    factor = min_size / short
    height, width = image.shape[:2]
    size = (round(width * factor), round(height * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), factor


def detect_faces(
    gray: np.ndarray,
    detector: Detector = "hog",
    upsample: int = 0,
    detection_threshold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return face boxes ``(n_faces, 4)`` as ``left, top, right, bottom``, and their scores.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
        Grayscale image.
    detector : {"hog", "mmod", "none"}
        See :data:`DETECTORS`.
    upsample : int
        Times dlib doubles the image before detecting (finds smaller faces,
        costs about 4x per step).
    detection_threshold : float
        Minimum detector score (dlib's ``adjust_threshold``; 0 is dlib's
        default). The same name as :class:`~fersk.LandmarkExtractor`'s
        parameter.

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4)
    scores : ndarray of shape (n_faces,)
        Detector confidence (``inf`` for ``"none"``).

    Raises
    ------
    ValueError
        If ``detector`` is not one of :data:`DETECTORS`.

    See Also
    --------
    fersk.landmarks.choose_face : Pick one of the boxes.
    fersk.landmarks.DlibLandmarker : Detect a face, then place its landmarks.
    fersk.landmarks.find_faces : Every face of a photo, kept by :func:`keep_faces`.
    fersk.video.FaceTracker : Detect and follow the faces of a video.

    Examples
    --------
    >>> import numpy as np
    >>> boxes, scores = detect_faces(np.zeros((40, 60), dtype=np.uint8), "none")
    >>> boxes.tolist()
    [[0.0, 0.0, 59.0, 39.0]]
    >>> detect_faces(np.zeros((100, 100), dtype=np.uint8), "hog")[0].shape
    (0, 4)
    """
    if detector == "none":
        height, width = gray.shape[:2]
        return np.array([[0.0, 0.0, width - 1.0, height - 1.0]]), np.array([np.inf])
    if detector == "hog":
        rects, scores, _ = _hog_detector().run(gray, upsample, detection_threshold)
    elif detector == "mmod":
        found = _mmod_detector(dlib_model_path("mmod"))(gray, upsample)
        found = [d for d in found if d.confidence >= detection_threshold]
        rects, scores = [d.rect for d in found], [d.confidence for d in found]
    else:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    boxes = np.array(
        [[r.left(), r.top(), r.right(), r.bottom()] for r in rects], dtype=np.float64
    ).reshape(-1, 4)
    return boxes, np.asarray(scores, dtype=np.float64).reshape(-1)


def choose_face(
    boxes: np.ndarray,
    shape: tuple[int, ...],
    multiple_faces: FacePolicy = "largest",
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """Pick one box from ``boxes`` by ``multiple_faces`` (see :data:`FACE_POLICIES`); raise if none.

    The candidates are the faces :func:`keep_faces` keeps (the one policy for
    photos, clips and video); ``multiple_faces`` then picks one of them.

    Parameters
    ----------
    boxes : ndarray of shape (n_faces, 4)
        Face boxes ``left, top, right, bottom``, as :func:`detect_faces` gives.
    shape : tuple of int
        Shape of the image the boxes are in, ``(H, W)`` or ``(H, W, C)``
        (``"center"`` measures from its centre).
    multiple_faces : {"largest", "confident", "center", "raise"}, default="largest"
        Which box to pick when several remain.
    scores : ndarray of shape (n_faces,) or None, default=None
        Detector scores of ``boxes``, for :func:`keep_faces`. ``"confident"``
        needs them.

    Returns
    -------
    ndarray of shape (4,)
        The chosen box (the only one, when one remains whatever the policy).

    Raises
    ------
    fersk._core.batch.FaceNotFoundError
        If ``boxes`` is empty.
    MultipleFacesError
        With ``multiple_faces="raise"``, when several boxes remain.
    ValueError
        For an unknown policy, or ``"confident"`` without ``scores``, when
        several boxes remain.

    See Also
    --------
    fersk.landmarks.detect_faces : The boxes and their scores.
    fersk.landmarks.FACE_POLICIES : The policies.
    fersk.LandmarkExtractor : Its ``multiple_faces`` parameter picks the policy.

    Examples
    --------
    >>> import numpy as np
    >>> boxes = np.array([[0, 0, 10, 10], [40, 40, 90, 90]], dtype=float)
    >>> choose_face(boxes, (100, 100), "largest").tolist()
    [40.0, 40.0, 90.0, 90.0]
    >>> choose_face(boxes, (100, 100), "confident", scores=np.array([1.2, 0.1])).tolist()
    [0.0, 0.0, 10.0, 10.0]
    >>> choose_face(boxes[:1], (100, 100), "raise").tolist()
    [0.0, 0.0, 10.0, 10.0]

    A large box that barely passed the detector does not beat a clear face:

    >>> choose_face(boxes, (100, 100), "largest", scores=np.array([1.57, 0.01])).tolist()
    [0.0, 0.0, 10.0, 10.0]
    """
    policy = multiple_faces
    if scores is not None:
        boxes, scores = keep_faces(boxes, scores)
    if len(boxes) == 0:
        raise FaceNotFoundError("no face found")
    if len(boxes) == 1:
        return boxes[0]
    if policy == "largest":
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return boxes[int(np.argmax(areas))]
    if policy == "confident":
        if scores is None:
            raise ValueError("multiple_faces='confident' needs detector scores")
        return boxes[int(np.argmax(scores))]
    if policy == "center":
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        target = np.array([shape[1] / 2, shape[0] / 2])
        return boxes[int(np.argmin(np.linalg.norm(centres - target, axis=1)))]
    if policy == "raise":
        raise MultipleFacesError(f"{len(boxes)} faces found; multiple_faces='raise'")
    raise ValueError(f"multiple_faces must be one of {FACE_POLICIES}, got {policy!r}")


def keep_faces(
    boxes: np.ndarray, scores: np.ndarray, max_faces: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The faces worth keeping of a detector's boxes, largest first: fersk's one policy.

    Photos (:func:`find_faces`), landmark extraction (:func:`choose_face`) and
    video (:class:`fersk.video.FaceTracker`) all keep faces this way: boxes
    that are not finite or are empty are dropped, then boxes scoring under
    :data:`MIN_RELATIVE_SCORE` of the best score, unless they score at least
    :data:`SURE_FACE_SCORE`; the rest are sorted by area, largest first (ties
    keep the detector's order), and cut to ``max_faces``.

    Parameters
    ----------
    boxes : ndarray of shape (n, 4)
        ``left, top, right, bottom``.
    scores : ndarray of shape (n,)
        The detector's scores.
    max_faces : int or None, default=None
        Keep at most this many (the largest).

    Returns
    -------
    boxes : ndarray of shape (k, 4)
    scores : ndarray of shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> boxes = np.array([[0, 0, 10, 10], [20, 20, 80, 80], [0, 0, 90, 90]], dtype=float)
    >>> kept, scores = keep_faces(boxes, np.array([1.0, 0.5, 0.05]))
    >>> kept.tolist(), scores.tolist()  # the weak large box goes; the largest first
    ([[20.0, 20.0, 80.0, 80.0], [0.0, 0.0, 10.0, 10.0]], [0.5, 1.0])
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    valid = (
        np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    )
    boxes, scores = boxes[valid], scores[valid]
    if len(boxes):
        best = float(np.max(scores))
        if np.isfinite(best) and best > 0:
            keep = (scores >= MIN_RELATIVE_SCORE * best) | (scores >= SURE_FACE_SCORE)
            boxes, scores = boxes[keep], scores[keep]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-areas, kind="stable")[:max_faces]
    return boxes[order], scores[order]


def find_faces(
    image, *, detector: Detector = "hog", upsample: int = 1, max_faces: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every face in an image: boxes ``(n, 4)`` and detector scores, largest first.

    :func:`detect_faces` on the image read as gray, then :func:`keep_faces`.

    Parameters
    ----------
    image : path or ndarray
        A photo, gray or colour.
    detector : {"hog", "mmod", "none"}, default="hog"
        The face detector (see :data:`DETECTORS`).
    upsample : int, default=1
        Times the image is doubled before detection (finds smaller faces,
        about 4 times slower each).
    max_faces : int or None, default=None
        Keep at most this many faces (the largest).

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4)
        ``left, top, right, bottom`` in the image's pixels, the largest box first.
    scores : ndarray of shape (n_faces,)
        The detector's score of each box.

    See Also
    --------
    fersk.io.face_crop : The crop of a box that the models take.
    fersk.predict.predict_faces : Finds, crops and classifies every face of photos.

    Examples
    --------
    >>> import numpy as np
    >>> find_faces(np.zeros((80, 80), np.uint8))[0].shape
    (0, 4)
    >>> from skimage.data import astronaut
    >>> find_faces(astronaut())[0].shape
    (1, 4)
    """
    from ..io import read_image

    gray = read_image(image, color="gray")
    boxes, scores = detect_faces(gray, detector, upsample, 0.0)
    return keep_faces(boxes, scores, max_faces)
