"""Facial landmarks: the extractor, its backends, detectors and point layouts."""

from .clip_extractor import ClipFailure, ClipLandmarkExtractor
from .detection import (
    DEFAULT_DETECTOR,
    DETECTORS,
    FACE_POLICIES,
    FACE_THRESHOLDS,
    FaceThresholds,
    choose_face,
    detect_faces,
    find_faces,
    keep_faces,
)
from .dlib_backend import DlibLandmarker
from .extractor import LandmarkExtractor
from .fan_backend import FanLandmarker

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "FACE_POLICIES",
    "FACE_THRESHOLDS",
    "ClipFailure",
    "ClipLandmarkExtractor",
    "DlibLandmarker",
    "FaceThresholds",
    "FanLandmarker",
    "LandmarkExtractor",
    "choose_face",
    "detect_faces",
    "find_faces",
    "keep_faces",
]
