"""Facial landmarks: the extractor, its backends, detectors and point layouts."""

from .clip_extractor import ClipFailure, ClipLandmarkExtractor
from .detection import DETECTORS, FACE_POLICIES, choose_face, detect_faces
from .dlib_backend import DlibLandmarker
from .extractor import LandmarkExtractor
from .fan_backend import FanLandmarker
from .layouts import EYE_CORNERS, FIVE_FROM_68, REGIONS_68, interocular_distance

__all__ = [
    "DETECTORS",
    "EYE_CORNERS",
    "FACE_POLICIES",
    "FIVE_FROM_68",
    "REGIONS_68",
    "ClipFailure",
    "ClipLandmarkExtractor",
    "DlibLandmarker",
    "FanLandmarker",
    "LandmarkExtractor",
    "choose_face",
    "detect_faces",
    "interocular_distance",
]
