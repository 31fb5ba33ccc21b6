"""Synthetic, labelled facial-expression data, generated offline.

Every face is a piecewise-affine warp of scikit-image's public-domain
astronaut photograph (:mod:`.source`) from its dlib 68-point landmarks to
target landmarks (:mod:`.render`): a *subject* is a random, smooth change
of face shape, head pose, mirroring and lighting, an *expression* a
FACS-like displacement of the landmarks scaled by an intensity
(:mod:`.expressions`). :func:`make_sample_faces` (:mod:`.faces`) renders
still images at several intensities and blur levels,
:func:`make_sample_clips` (:mod:`.clips`) short expression clips with head
drift, and :func:`make_sample_video` (:mod:`.video`) videos of faces
following a script (:mod:`.scripts`), all with ground-truth landmarks.
Everything is deterministic for a fixed ``random_state`` and needs no
network access.
"""

from __future__ import annotations

from .clips import make_sample_clips
from .expressions import SAMPLE_EMOTIONS
from .faces import make_sample_faces
from .scripts import DEFAULT_RAMP, DEFAULT_VIDEO_SCRIPT, SEGMENT_KINDS, VideoSegment
from .video import make_sample_video

__all__ = [
    "DEFAULT_RAMP",
    "DEFAULT_VIDEO_SCRIPT",
    "SAMPLE_EMOTIONS",
    "SEGMENT_KINDS",
    "VideoSegment",
    "make_sample_clips",
    "make_sample_faces",
    "make_sample_video",
]
