"""Compatibility module: the sample video now lives in :mod:`fersk.datasets.synthetic`.

Re-exports :func:`~fersk.datasets.synthetic.video.make_sample_video` and the
script names of :mod:`fersk.datasets.synthetic.scripts`
(:class:`~fersk.datasets.synthetic.scripts.VideoSegment`,
:data:`~fersk.datasets.synthetic.scripts.DEFAULT_VIDEO_SCRIPT`,
:data:`~fersk.datasets.synthetic.scripts.DEFAULT_RAMP`,
:data:`~fersk.datasets.synthetic.scripts.SEGMENT_KINDS`) under their old
import path, and :data:`~fersk.datasets.synthetic.expressions.SAMPLE_EMOTIONS`
as before; import them from :mod:`fersk.datasets` (or
:mod:`fersk.datasets.synthetic`) in new code.
"""

from __future__ import annotations

from .synthetic import (
    DEFAULT_RAMP,
    DEFAULT_VIDEO_SCRIPT,
    SEGMENT_KINDS,
    VideoSegment,
    make_sample_video,
)
from .synthetic import SAMPLE_EMOTIONS as SAMPLE_EMOTIONS

__all__ = [
    "DEFAULT_RAMP",
    "DEFAULT_VIDEO_SCRIPT",
    "SEGMENT_KINDS",
    "VideoSegment",
    "make_sample_video",
]
