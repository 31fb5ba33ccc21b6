"""Clips: reading, uniform temporal sampling, the clip landmark layout, writing videos.

A convenience namespace for working with clips; the code lives where its
concept does:

* reading and sampling (:func:`read_clip`, :func:`sample_frame_indices`) in
  :mod:`fersk.io.clips`;
* the frame-major landmark layout (:class:`~fersk.layout.ClipLayout`,
  :func:`clip_feature_names`, :func:`to_sequences`, :func:`from_sequences`,
  :func:`select_frames`) in :mod:`fersk.layout`;
* writing (:func:`write_video`, :class:`VideoFileWriter`) in :mod:`fersk.io.video`.

Examples
--------
>>> import numpy as np
>>> from fersk.clips import read_clip, to_sequences
>>> clip = np.arange(10)[:, None, None] * np.ones((10, 4, 4), dtype=np.uint8)
>>> [int(frame[0, 0]) for frame in read_clip(clip, n_frames=4)]
[0, 3, 6, 9]
>>> to_sequences(np.zeros((2, 160)), n_landmarks=5).shape  # 2 clips of 16 frames
(2, 16, 5, 2)
"""

from .io.clips import ClipReadError, ClipSource, read_clip, sample_frame_indices
from .io.video import VideoFileWriter, write_video
from .layout import ClipLayout, clip_feature_names, from_sequences, select_frames, to_sequences

__all__ = [
    "ClipLayout",
    "ClipReadError",
    "ClipSource",
    "VideoFileWriter",
    "clip_feature_names",
    "from_sequences",
    "read_clip",
    "sample_frame_indices",
    "select_frames",
    "to_sequences",
    "write_video",
]
