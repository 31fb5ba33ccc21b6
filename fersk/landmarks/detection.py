"""Face boxes: YuNet (a 230 KB CNN run by OpenCV), dlib's HOG or MMOD detector, or the whole image.

Boxes are ``(left, top, right, bottom)`` floats in the pixel coordinates of
the image given, framed as dlib's HOG detector frames a face: YuNet's own
boxes are mapped to the box HOG draws around the same face (a transform of
YuNet's five facial points fitted on faces both detectors find, see
:data:`YUNET_TO_HOG`), so dlib's landmark predictor (trained on HOG-like
boxes) and :func:`fersk.io.face_crop` see the same framing whichever
detector found the face. When several faces are found, one is chosen by a
policy; which boxes count as faces depends on the detector's score scale
(:data:`FACE_THRESHOLDS`).

YuNet's weights ship in the package (``fersk/landmarks/weights``, MIT
licence, see the model card there); they are loaded from that folder only,
checked against :data:`YUNET_SHA256`, once per process. OpenCV runs them
with ``cv2.getNumThreads()`` threads: set ``cv2.setNumThreads`` yourself
(fersk never changes it).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from .._core.batch import FaceNotFoundError, SampleError
from .models import dlib_model_path

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "FACE_POLICIES",
    "FACE_THRESHOLDS",
    "MIN_RELATIVE_SCORE",
    "SURE_FACE_SCORE",
    "YUNET_SHA256",
    "YUNET_TO_HOG",
    "FaceThresholds",
    "choose_face",
    "find_in_photo",
    "detect_faces",
    "find_faces",
    "keep_faces",
    "upscale_small",
    "yunet_model_path",
]

Detector = Literal["yunet", "hog", "mmod", "none"]
FacePolicy = Literal["largest", "confident", "center", "raise"]

#: ``"hog"``: dlib's frontal HOG + linear SVM detector (frontal faces from
#: 80 px, ~18 ms at 640x480 on one core); ``"mmod"``: dlib's CNN detector
#: (more robust to pose, over a second per photo on CPU); ``"yunet"``: the
#: YuNet CNN (libfacedetection, 2023) run by OpenCV's DNN module: more faces
#: than HOG (turned, tilted, dark, small), several times faster (see
#: ``benchmarks/results/face_detection.md``); ``"none"``: no detection, the
#: whole image is the face box (for crops that are already aligned faces:
#: RAF-DB aligned, FER2013, CK+48, AffectNet crops).
DETECTORS: tuple[str, ...] = ("hog", "mmod", "yunet", "none")

#: The detector of :func:`find_faces`, ``fersk predict`` and the video
#: tracker: the one that finds more faces, faster (measured by
#: ``benchmarks/face_detection.py``).
DEFAULT_DETECTOR: str = "yunet"

#: ``"largest"``: the face with the largest box; ``"confident"``: the face
#: with the highest detector score; ``"center"``: the face whose box centre is
#: nearest the image centre; ``"raise"``: several faces are an error for that
#: sample. Before any policy looks at sizes or positions, boxes scoring far
#: below the best box are dropped (:func:`keep_faces`), so a barely-positive
#: box never beats a clear face by being larger.
FACE_POLICIES: tuple[str, ...] = ("largest", "confident", "center", "raise")


@dataclass(frozen=True)
class FaceThresholds:
    """How one detector's scores are read: which boxes are faces.

    Parameters
    ----------
    score : float
        The detector's own minimum score: :func:`detect_faces` returns boxes
        scoring at least ``score + detection_threshold``.
    min_relative : float
        :func:`keep_faces` keeps a box scoring at least this fraction of the
        best box's score (when the best score is positive)...
    sure_face : float
        ...or at least this much: a sure face whatever the best score (the
        faces of a group photo differ in confidence).

    Examples
    --------
    >>> FACE_THRESHOLDS["hog"]
    FaceThresholds(score=0.0, min_relative=0.25, sure_face=0.3)
    """

    score: float
    min_relative: float
    sure_face: float


#: Per detector, the score thresholds (the scores are on different scales:
#: HOG's SVM margin, about -0.5 to 3, with false boxes near 0 and frontal
#: faces above 0.5; MMOD's margin; YuNet's probability, 0 to 1, real faces
#: mostly above 0.85). YuNet's were chosen on data
#: (``benchmarks/results/face_detection.md``): its minimum score 0.6 keeps
#: the hardest real faces measured (a three-quarter view, a darkened face:
#: 0.60-0.64), which 0.7 would lose, for one face-like box (a round headlight,
#: 0.62) on 20 photos without a face; the 5 faces of a group photo score
#: within 2% of each other, a second real face in the corner of a 48 px crop
#: 0.83 of the first.
FACE_THRESHOLDS: dict[str, FaceThresholds] = {
    "hog": FaceThresholds(score=0.0, min_relative=0.25, sure_face=0.3),
    "mmod": FaceThresholds(score=0.0, min_relative=0.25, sure_face=0.3),
    "yunet": FaceThresholds(score=0.6, min_relative=0.75, sure_face=0.8),
    "none": FaceThresholds(score=0.0, min_relative=0.25, sure_face=0.3),
}

#: HOG's relative threshold (:data:`FACE_THRESHOLDS` has every detector's).
MIN_RELATIVE_SCORE = FACE_THRESHOLDS["hog"].min_relative

#: HOG's sure-face score (:data:`FACE_THRESHOLDS` has every detector's).
SURE_FACE_SCORE = FACE_THRESHOLDS["hog"].sure_face

#: The YuNet weights file shipped in ``fersk/landmarks/weights`` (OpenCV zoo's
#: ``face_detection_yunet_2023mar.onnx``; see the model card beside it).
YUNET_FILE = "face_detection_yunet_2023mar.onnx"

#: Its SHA-256: the file is refused when it differs.
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"

#: YuNet runs on the image resized so that its longer side is between these
#: two (the upper one doubled per ``upsample`` step). YuNet finds faces from
#: about 12 to 300 pixels of the image it sees: smaller images are enlarged
#: (a 48 px face crop is found at 256 px, not at 48), larger ones shrunk.
YUNET_MIN_SIDE = 256
YUNET_MAX_SIDE = 320

#: Boxes overlapping more than this (IoU) are one face (YuNet's non-maximum suppression).
YUNET_NMS_THRESHOLD = 0.3

#: ``(k, c, d)`` of the map from YuNet's five points to the box dlib's HOG
#: detector draws around the same face: with ``eyes`` and ``mouth`` the
#: midpoints of the eyes and of the mouth corners, the box is the square of
#: side ``k * (|right eye - left eye| + |eyes - mouth|)`` centred on
#: ``(eyes + mouth) / 2 + side * (c, d)``. Least-squares fit on the faces both
#: detectors find in JAFFE, CK+, FER+ and video frames
#: (``benchmarks/face_detection.py``, which also reports how the landmarks
#: placed from the mapped boxes compare with those placed from HOG's: as
#: close as from HOG's own box moved by 5% of its side).
YUNET_TO_HOG: tuple[float, float, float] = (1.101, -0.007, -0.035)


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


def yunet_model_path() -> Path:
    """The YuNet weights file inside the installed package.

    Returns
    -------
    Path
        ``fersk/landmarks/weights/face_detection_yunet_2023mar.onnx``.

    Examples
    --------
    >>> yunet_model_path().name
    'face_detection_yunet_2023mar.onnx'
    """
    return Path(__file__).parent / "weights" / YUNET_FILE


@functools.lru_cache(maxsize=2)
def _yunet_weights(path: str) -> np.ndarray:
    """The bytes of YuNet's weights at ``path``, checked against :data:`YUNET_SHA256`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"YuNet's weights are missing: cannot read {path!r} ({exc.strerror or exc}). "
            "They ship inside fersk: reinstall it (pip install --force-reinstall fersk), "
            "or use detector='hog'"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != YUNET_SHA256:
        raise ValueError(
            f"YuNet's weights {path!r} have SHA-256 {digest}, not {YUNET_SHA256}: the file "
            "is damaged or was replaced. Reinstall fersk (pip install --force-reinstall "
            "fersk), or use detector='hog'"
        )
    return np.frombuffer(data, dtype=np.uint8)


_local = threading.local()


def _yunet_detector(path: str):
    """This thread's ``cv2.FaceDetectorYN`` (it keeps its input size: one per thread)."""
    detectors = _local.__dict__.setdefault("yunet", {})
    if path in detectors:
        return detectors[path]
    weights = _yunet_weights(path)
    if not hasattr(cv2, "FaceDetectorYN"):
        raise ImportError(
            f"detector='yunet' needs cv2.FaceDetectorYN, missing from OpenCV {cv2.__version__}: "
            "pip install 'opencv-python>=4.8', or use detector='hog'"
        )
    # OpenCV 5 warns once per network that its new engine ignores the target:
    # silence that, and only that, while the network is built.
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    level = log.getLogLevel() if log is not None else None
    try:
        if log is not None:
            log.setLogLevel(log.LOG_LEVEL_ERROR)
        args = ((320, 320), FACE_THRESHOLDS["yunet"].score, YUNET_NMS_THRESHOLD, 5000)
        try:
            detector = cv2.FaceDetectorYN.create("onnx", weights, np.empty(0, np.uint8), *args)
        except (cv2.error, TypeError):  # an OpenCV without the in-memory overload
            detector = cv2.FaceDetectorYN.create(path, "", *args)
    finally:
        if log is not None:
            log.setLogLevel(level)
    detectors[path] = detector
    return detector


def _yunet_scale(shape: tuple[int, ...], upsample: int) -> float:
    """The factor YuNet's input is resized by (see :data:`YUNET_MIN_SIDE`)."""
    longer = max(shape[:2])
    target = min(max(longer, YUNET_MIN_SIDE), YUNET_MAX_SIDE * 2**upsample)
    return target / longer


def _yunet_raw(
    image: np.ndarray, upsample: int = 0, min_score: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YuNet's own boxes ``(x0, y0, x1, y1)``, scores and five points, in ``image``'s pixels.

    The five points of each face are its right eye, left eye, nose tip, right
    and left mouth corners (the person's right: the left of the image).
    """
    if image.ndim == 2:
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 3:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    else:
        raise ValueError(
            f"detector='yunet' takes a (H, W) gray or (H, W, 3) RGB image, got shape "
            f"{image.shape}; read it with fersk.io.read_image(..., color='rgb')"
        )
    height, width = image.shape[:2]
    empty = np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    if height == 0 or width == 0:
        return empty
    scale = _yunet_scale(image.shape, upsample)
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        bgr = cv2.resize(bgr, size, interpolation=shrink)
    detector = _yunet_detector(str(yunet_model_path()))
    threshold = FACE_THRESHOLDS["yunet"].score if min_score is None else min_score
    detector.setScoreThreshold(float(threshold))
    detector.setInputSize((bgr.shape[1], bgr.shape[0]))
    _, faces = detector.detect(bgr)
    if faces is None or len(faces) == 0:
        return empty
    faces = np.asarray(faces, dtype=np.float64)
    factor = np.array([width / bgr.shape[1], height / bgr.shape[0]])
    corner = faces[:, 0:2] * factor
    boxes = np.hstack([corner, corner + faces[:, 2:4] * factor])
    points = faces[:, 4:14].reshape(-1, 5, 2) * factor
    return boxes, faces[:, 14].copy(), points


def _hog_like_boxes(points: np.ndarray) -> np.ndarray:
    """The HOG-framed boxes ``(n, 4)`` of faces with YuNet points ``(n, 5, 2)``.

    See :data:`YUNET_TO_HOG`.
    """
    k, c, d = YUNET_TO_HOG
    eyes = points[:, :2].mean(axis=1)
    mouth = points[:, 3:].mean(axis=1)
    between_eyes = np.linalg.norm(points[:, 0] - points[:, 1], axis=1)
    side = k * (between_eyes + np.linalg.norm(eyes - mouth, axis=1))
    centre = (eyes + mouth) / 2 + side[:, None] * np.array([c, d])
    return np.hstack([centre - side[:, None] / 2, centre + side[:, None] / 2])


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
    gray : ndarray of uint8, shape (H, W) or (H, W, 3)
        Grayscale image, or RGB (YuNet uses the colour; dlib's detectors take
        the image as given).
    detector : {"hog", "mmod", "yunet", "none"}
        See :data:`DETECTORS`.
    upsample : int
        Finds smaller faces, at about 4 times the cost per step. HOG and
        MMOD: times dlib doubles the image before detecting (HOG finds faces
        from about 80 px, 40 px with one step). YuNet: the image is resized so
        that its longer side is between :data:`YUNET_MIN_SIDE` (256) and
        :data:`YUNET_MAX_SIDE` x 2**upsample (320, 640, ...) pixels; YuNet finds
        faces from about 12 px there (from about 5% of the longer side with
        ``upsample=0``, 2.5% with 1).
    detection_threshold : float
        Added to the detector's own minimum score
        (:attr:`FaceThresholds.score`: 0 for dlib's detectors, as dlib's
        ``adjust_threshold``; 0.6 for YuNet, whose scores run from 0 to 1), so
        0 is each detector's default. The same name as
        :class:`~fersk.LandmarkExtractor`'s parameter.

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4)
        dlib HOG's framing whatever the detector (YuNet's boxes are mapped
        by :data:`YUNET_TO_HOG`).
    scores : ndarray of shape (n_faces,)
        Detector confidence, on the detector's scale (``inf`` for ``"none"``).

    Raises
    ------
    ValueError
        If ``detector`` is not one of :data:`DETECTORS`, ``upsample`` is
        negative, or YuNet's weights fail their SHA-256 check.

    See Also
    --------
    fersk.landmarks.choose_face : Pick one of the boxes.
    fersk.landmarks.DlibLandmarker : Detect a face, then place its landmarks.
    fersk.landmarks.find_faces : Every face of a photo, kept by :func:`keep_faces`.
    fersk.video.FaceTracker : Detect and follow the faces of a video.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> boxes, scores = detect_faces(np.zeros((40, 60), dtype=np.uint8), "none")
    >>> boxes.tolist()
    [[0.0, 0.0, 59.0, 39.0]]
    >>> detect_faces(np.zeros((100, 100), dtype=np.uint8), "hog")[0].shape
    (0, 4)
    >>> boxes, scores = detect_faces(astronaut(), "yunet")
    >>> hog_boxes, hog_scores = detect_faces(astronaut(), "hog")
    >>> boxes.shape, bool(scores[0] > 0.9), bool(hog_scores[0] > 1)  # scores on own scales
    ((1, 4), True, True)
    >>> bool(np.abs(boxes - hog_boxes).max() < 12)  # HOG's framing within a few pixels
    True
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    if int(upsample) != upsample or upsample < 0:
        raise ValueError(f"upsample must be a whole number >= 0, got {upsample!r}")
    upsample = int(upsample)
    if detector == "none":
        height, width = gray.shape[:2]
        return np.array([[0.0, 0.0, width - 1.0, height - 1.0]]), np.array([np.inf])
    if detector == "yunet":
        threshold = FACE_THRESHOLDS["yunet"].score + float(detection_threshold)
        _, scores, points = _yunet_raw(gray, upsample, threshold)
        return _hog_like_boxes(points), scores
    if detector == "hog":
        rects, scores, _ = _hog_detector().run(gray, upsample, detection_threshold)
    else:
        found = _mmod_detector(dlib_model_path("mmod"))(gray, upsample)
        found = [d for d in found if d.confidence >= detection_threshold]
        rects, scores = [d.rect for d in found], [d.confidence for d in found]
    boxes = np.array(
        [[r.left(), r.top(), r.right(), r.bottom()] for r in rects], dtype=np.float64
    ).reshape(-1, 4)
    return boxes, np.asarray(scores, dtype=np.float64).reshape(-1)


def choose_face(
    boxes: np.ndarray,
    shape: tuple[int, ...],
    multiple_faces: FacePolicy = "largest",
    scores: np.ndarray | None = None,
    *,
    detector: str = "hog",
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
    detector : str, default="hog"
        The detector that gave ``scores``: its thresholds
        (:data:`FACE_THRESHOLDS`) decide which boxes are faces.

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
        boxes, scores = keep_faces(boxes, scores, detector=detector)
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
    boxes: np.ndarray,
    scores: np.ndarray,
    max_faces: int | None = None,
    *,
    detector: str = "hog",
) -> tuple[np.ndarray, np.ndarray]:
    """The faces worth keeping of a detector's boxes, largest first: fersk's one policy.

    Photos (:func:`find_faces`), landmark extraction (:func:`choose_face`) and
    video (:class:`fersk.video.FaceTracker`) all keep faces this way: boxes
    that are not finite or are empty are dropped, then boxes scoring under
    the detector's ``min_relative`` fraction of the best score, unless they
    score at least its ``sure_face`` (:data:`FACE_THRESHOLDS`: for HOG, a
    quarter of the best score or 0.3; for YuNet, 3/4 of it or 0.8); the rest
    are sorted by area, largest first (ties keep the detector's order), and
    cut to ``max_faces``.

    Parameters
    ----------
    boxes : ndarray of shape (n, 4)
        ``left, top, right, bottom``.
    scores : ndarray of shape (n,)
        The detector's scores.
    max_faces : int or None, default=None
        Keep at most this many (the largest).
    detector : str, default="hog"
        The detector that gave ``scores`` (one of :data:`DETECTORS`): the
        thresholds are on its scale.

    Returns
    -------
    boxes : ndarray of shape (k, 4)
    scores : ndarray of shape (k,)

    Raises
    ------
    ValueError
        If ``detector`` has no thresholds in :data:`FACE_THRESHOLDS`.

    Examples
    --------
    >>> import numpy as np
    >>> boxes = np.array([[0, 0, 10, 10], [20, 20, 80, 80], [0, 0, 90, 90]], dtype=float)
    >>> kept, scores = keep_faces(boxes, np.array([1.0, 0.5, 0.05]))
    >>> kept.tolist(), scores.tolist()  # the weak large box goes; the largest first
    ([[20.0, 20.0, 80.0, 80.0], [0.0, 0.0, 10.0, 10.0]], [0.5, 1.0])

    YuNet's scores run from 0 to 1: a box at 0.65 beside a face at 0.93 is not a face.

    >>> keep_faces(boxes, np.array([0.93, 0.65, 0.85]), detector="yunet")[1].tolist()
    [0.85, 0.93]
    """
    if detector not in FACE_THRESHOLDS:
        raise ValueError(
            f"no face thresholds for detector {detector!r}; expected one of "
            f"{sorted(FACE_THRESHOLDS)}"
        )
    thresholds = FACE_THRESHOLDS[detector]
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    valid = (
        np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    )
    boxes, scores = boxes[valid], scores[valid]
    if len(boxes):
        best = float(np.max(scores))
        if np.isfinite(best) and best > 0:
            keep = scores >= thresholds.min_relative * best
            keep |= scores >= thresholds.sure_face
            boxes, scores = boxes[keep], scores[keep]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-areas, kind="stable")[:max_faces]
    return boxes[order], scores[order]


def find_faces(
    image,
    *,
    detector: Detector = DEFAULT_DETECTOR,
    upsample: int = 1,
    max_faces: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every face in an image: boxes ``(n, 4)`` and detector scores, largest first.

    :func:`detect_faces` on the image (read in colour for YuNet, gray for
    dlib's detectors), then :func:`keep_faces`.

    Parameters
    ----------
    image : path or ndarray
        A photo, gray or colour.
    detector : {"yunet", "hog", "mmod", "none"}, default="yunet"
        The face detector (see :data:`DETECTORS`).
    upsample : int, default=1
        Finds smaller faces, about 4 times slower each step (see
        :func:`detect_faces`): HOG doubles the image (faces from about
        40 px); YuNet sees the image at up to 640 px (faces from about 2.5%
        of its longer side).
    max_faces : int or None, default=None
        Keep at most this many faces (the largest).

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4)
        ``left, top, right, bottom`` in the image's pixels, the largest box
        first, framed as dlib's HOG detector frames faces.
    scores : ndarray of shape (n_faces,)
        The detector's score of each box (on its scale: YuNet's run from 0 to 1).

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
    >>> find_faces(astronaut(), detector="hog")[0].shape
    (1, 4)
    """
    from ..io import read_image

    pixels = read_image(image, color="rgb" if detector == "yunet" else "gray")
    boxes, scores = detect_faces(pixels, detector, upsample, 0.0)
    return keep_faces(boxes, scores, max_faces, detector=detector)


def find_in_photo(
    source, detector: Detector = DEFAULT_DETECTOR, upsample: int = 1
) -> tuple[str, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None, str]:
    """Read one photo in colour and find its faces, never raising for a bad photo.

    Parameters
    ----------
    source : path or ndarray
        The photo.
    detector : {"yunet", "hog", "mmod", "none"}, default="yunet"
        The face detector (see :func:`find_faces`).
    upsample : int, default=1
        As in :func:`find_faces`.

    Returns
    -------
    name : str
        The photo's path, or a description of an array.
    image : ndarray of shape (height, width, 3) or None
        The photo in RGB; None where it could not be read.
    found : (boxes, scores) or None
        :func:`find_faces`'s answer on the image; None where it could not be read.
    error : str
        Why the photo could not be read (``"unreadable: ..."``), or ``""``.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> name, image, (boxes, scores), error = find_in_photo(astronaut())
    >>> image.shape, boxes.shape, error
    ((512, 512, 3), (1, 4), '')
    >>> find_in_photo("no-such-photo.png")[3].startswith("unreadable")
    True
    """
    from ..io import ImageReadError, read_image, source_name

    name = source_name(source)
    try:
        image = read_image(source, color="rgb")
    except ImageReadError as exc:
        return name, None, None, f"unreadable: {exc}"
    return name, image, find_faces(image, detector=detector, upsample=upsample), ""
