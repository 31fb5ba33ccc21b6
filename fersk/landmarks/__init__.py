"""Facial landmarks: the extractor, its backends, detectors and point layouts."""

from .clip_extractor import ClipFailure, ClipLandmarkExtractor
from .detection import DETECTORS, FACE_POLICIES, choose_face, detect_faces, find_faces, keep_faces
from .dlib_backend import DlibLandmarker
from .extractor import LandmarkExtractor
from .fan_backend import FanLandmarker

__all__ = [
    "DETECTORS",
    "FACE_POLICIES",
    "ClipFailure",
    "ClipLandmarkExtractor",
    "DlibLandmarker",
    "FanLandmarker",
    "LandmarkExtractor",
    "choose_face",
    "detect_faces",
    "find_faces",
    "keep_faces",
]
