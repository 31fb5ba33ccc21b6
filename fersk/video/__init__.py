"""Continuous emotion recognition on video: frames, tracking, motion, smoothing.

``VideoAnalyzer(model).run("clip.mp4", csv_path="out.csv")`` -- or
``fersk video clip.mp4 --csv out.csv`` -- gives one row
per face per frame: time, track id, box, label, probabilities, motion flag,
face-found flag. See :mod:`fersk.video.stream`.
"""

from .model_input import landmark_step, model_kind
from .motion import MotionDetector, MotionState, default_motion_detector
from .outputs import check_video_outputs
from .smoothing import (
    ProbabilitySmoother,
    SmoothedPrediction,
    count_flips,
    flips_per_minute,
    label_lag,
    step_lag,
)
from .source import Frame, FrameSource, VideoReadError, open_source
from .stream import VideoAnalyzer
from .tracking import FaceTracker, Track

__all__ = [
    "FaceTracker",
    "Frame",
    "FrameSource",
    "MotionDetector",
    "MotionState",
    "ProbabilitySmoother",
    "SmoothedPrediction",
    "Track",
    "VideoAnalyzer",
    "VideoReadError",
    "check_video_outputs",
    "count_flips",
    "default_motion_detector",
    "flips_per_minute",
    "label_lag",
    "landmark_step",
    "model_kind",
    "open_source",
    "step_lag",
]
