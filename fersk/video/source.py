"""Frames in: video files, cameras and iterators of arrays, with their times.

Every source yields :class:`Frame` records in stream order, one per frame
position, *including* frames that could not be decoded (``ok=False``,
``image=None``): a corrupt or dropped frame never shifts the indices of the
frames after it, and a damaged stretch in the middle of a file is read past
(its positions are such frames; :func:`fersk.io.capture_frames`), so a file
ends only where its stream ends. A file in which no frame decodes is refused
when it is opened. Times come from the container's timestamps for files (so a
variable frame rate is kept), from a monotonic clock for cameras, and from
``index / fps`` (or the caller's own times) for iterators.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from numbers import Real

import cv2
import numpy as np

from ..io import ImageReadError, convert_color, read_image
from ..io.video import VideoReadError, capture_frames, open_capture, require_decodable_frame

__all__ = [
    "Frame",
    "FrameSource",
    "VideoReadError",
    "check_frame_time",
    "open_source",
]

#: Consecutive failed reads after which a camera counts as ended (a file ends where its
#: stream ends: see :data:`fersk.io.video.MAX_DAMAGED_FRAMES`).
MAX_CONSECUTIVE_FAILURES = 50


@dataclass(frozen=True)
class Frame:
    """One position in a frame stream.

    Attributes
    ----------
    index : int
        0-based position in the stream (counts undecodable frames too).
    time : float
        Seconds since the start of the stream.
    image : ndarray or None
        RGB ``(H, W, 3)`` uint8 (gray sources are expanded), or None when the
        frame could not be read.
    ok : bool
        ``image is not None``.
    """

    index: int
    time: float
    image: np.ndarray | None

    @property
    def ok(self) -> bool:
        return self.image is not None


def check_frame_time(owner: str, track_id, t, last_t: float | None) -> float:
    """Validate a per-track frame time: finite, and after the track's previous one.

    Examples
    --------
    >>> check_frame_time("Smoother", 0, 0.5, 0.4)
    0.5
    """
    if isinstance(t, bool) or not isinstance(t, Real) or not np.isfinite(t):
        raise ValueError(
            f"{owner}: track {track_id!r}: frame time must be a finite number of seconds, got {t!r}"
        )
    t = float(t)
    if last_t is not None and not t > last_t:
        raise ValueError(
            f"{owner}: track {track_id!r}: frame time {t!r} s is not after the track's "
            f"previous frame time {last_t!r} s; times must increase within a track"
        )
    return t


def _as_rgb(image: object, channel_order: str) -> np.ndarray | None:
    """A frame (an array, or an image file's path) as RGB uint8, or None if it is no image."""
    try:
        if isinstance(image, (str, os.PathLike)):
            return read_image(image, color="rgb")
        if not isinstance(image, np.ndarray):
            raise TypeError(
                f"a frame must be an image array or an image file path, got {type(image).__name__}"
            )
        return convert_color(image, "rgb", channel_order)
    except ImageReadError:
        return None  # NaN pixels, booleans, odd shapes, undecodable files: a corrupt frame


class FrameSource:
    """An iterable of :class:`Frame` from a file, a camera or an iterable of arrays.

    Use :func:`open_source` to make one. It is a context manager (closing
    the capture) and can be iterated once.

    Attributes
    ----------
    name : str
        The source, for messages.
    fps : float
        Nominal frame rate (the container's, the camera's, or the given one).
    n_frames : int or None
        Expected frame count (files only; containers can be wrong, and the
        stream yields what it really holds).
    live : bool
        True for cameras.
    dropped : int
        Camera frames skipped because the consumer was behind (a live source
        always hands over its newest frame: it drops frames instead of lagging).
    """

    def __init__(self, name: str, fps: float, n_frames: int | None, live: bool, frames):
        self.name = name
        self.fps = fps
        self.n_frames = n_frames
        self.live = live
        self.dropped = 0
        self._frames = frames
        self._capture = None
        self._reader: _NewestFirst | None = None

    def __iter__(self) -> Iterator[Frame]:
        return self._frames

    def close(self) -> None:
        if self._reader is not None:  # the reading thread lets go of the capture first
            self._reader.stop()
            self._reader = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_capture(frames, source: FrameSource, fps: float, live: bool) -> Iterator[Frame]:
    """Frames of an OpenCV capture; a frame that fails to decode is ``image=None``.

    A file ends where its stream ends (with a warning if that is well short
    of the container's frame count); a damaged stretch before that is read
    past, its positions undecodable frames, with one warning per stretch. A
    camera ends after :data:`MAX_CONSECUTIVE_FAILURES` failed reads in a row.
    """
    failures, start, last = 0, time.monotonic(), -1.0
    damaged_from = None
    try:
        for captured in frames:
            index = captured.index
            if captured.ended:
                expected = source.n_frames
                if expected is not None and index < 0.9 * expected:
                    warnings.warn(
                        f"{source.name}: the stream ended at frame {index} of the "
                        f"{expected} the container announces",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                return
            if live:
                now = time.monotonic() - start
            else:
                # Some backends give no (or a repeated) timestamp: use index / fps.
                now = captured.position_s if captured.position_s > last else index / fps
                now = max(now, last + 1e-6) if index else now
                if not captured.grabbed and damaged_from is None:
                    damaged_from = index
                elif captured.grabbed and damaged_from is not None:
                    warnings.warn(
                        f"{source.name}: frames {damaged_from} to {index - 1} could not be read "
                        "(a damaged stretch); they are kept as unreadable frames and the "
                        "stream goes on",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    damaged_from = None
            failures = failures + 1 if captured.image is None else 0
            if live and failures > MAX_CONSECUTIVE_FAILURES:
                warnings.warn(
                    f"{source.name}: {failures} unreadable frames in a row at frame {index}; "
                    "stopping",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return
            last = now
            yield Frame(index, float(now), captured.image)
    finally:
        source.close()


class _NewestFirst:
    """A live capture read on its own thread, handing over only its newest frame.

    A consumer slower than the camera gets the latest frame each time it asks,
    never a backlog: the frames it did not take are counted in the source's
    ``dropped`` (their indices are missing from the stream).
    """

    def __init__(self, frames: Iterator, source: FrameSource) -> None:
        self._frames, self._source = frames, source
        self._cond = threading.Condition()
        self._newest = None
        self._done = self._stopped = False
        self._thread = threading.Thread(target=self._pump, name="fersk-camera", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for captured in self._frames:
                with self._cond:
                    if self._stopped:
                        return
                    if self._newest is not None:
                        self._source.dropped += 1
                    self._newest = captured
                    self._cond.notify()
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def __iter__(self):
        while True:
            with self._cond:
                while self._newest is None and not self._done:
                    self._cond.wait()
                if self._newest is None:
                    return
                captured, self._newest = self._newest, None
            yield captured

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
        self._thread.join(timeout=5)


def _read_iterable(items: Iterable, fps: float, channel_order: str) -> Iterator[Frame]:
    last = -np.inf
    for index, item in enumerate(items):
        if isinstance(item, tuple) and len(item) == 2 and np.isscalar(item[0]):
            stamp, item = float(item[0]), item[1]
            if not stamp > last:
                raise ValueError(
                    f"frame {index}: time {stamp} is not after the previous frame's ({last})"
                )
        else:
            stamp = index / fps
            if not stamp > last:
                raise ValueError(
                    f"frame {index}: time {stamp} (index / fps) is not after the previous "
                    f"frame's ({last}); give every frame a (time, frame) pair, or none"
                )
        last = stamp
        yield Frame(index, stamp, None if item is None else _as_rgb(item, channel_order))


def _camera_index(source: object) -> int | None:
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return int(source)  # open_capture refuses negative indices
    if isinstance(source, str) and source.isdigit() and not os.path.exists(source):
        return int(source)
    return None


def open_source(source, *, fps: float | None = None, channel_order: str = "rgb") -> FrameSource:
    """Open a video file, a camera, or an iterable of frames.

    Parameters
    ----------
    source : str, path, int or iterable
        A video file path; a camera index (``0`` or ``"0"``); or an iterable
        of frames: arrays (gray, RGB, RGBA, any dtype) or image file paths,
        ``None`` for a dropped frame, or ``(time_s, frame)`` pairs for your own
        timestamps. An array that is no image, or a file that cannot be
        decoded, is an unreadable frame in its place.
    fps : float, optional
        Frame rate of an iterable (default 25). For a file, it replaces the
        container's rate (used where the container gives no timestamps, and
        for an annotated copy); leave it None to keep the container's.
    channel_order : {"rgb", "bgr"}, default="rgb"
        Channel order of colour *array* frames (``"bgr"`` for OpenCV's).

    Returns
    -------
    FrameSource

    Raises
    ------
    VideoReadError
        A file that does not exist, cannot be opened as a video or has no
        decodable frame (read ahead up to its first decodable frame), or a
        camera that cannot be opened.

    See Also
    --------
    fersk.io.open_capture : The OpenCV capture of a file or camera.
    fersk.video.VideoAnalyzer : Predictions per face and frame of such a source.
    fersk.datasets.make_sample_video : A synthetic face video with ground truth.

    Examples
    --------
    >>> import numpy as np
    >>> frames = [np.zeros((4, 6), np.uint8), None, np.zeros((4, 6, 3), np.uint8)]
    >>> [(f.index, f.time, f.ok) for f in open_source(frames, fps=10)]
    [(0, 0.0, True), (1, 0.1, False), (2, 0.2, True)]
    """
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    if fps is not None and not (isinstance(fps, Real) and np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive, finite number of frames per second, got {fps!r}")
    camera = _camera_index(source)
    if camera is not None:
        capture = open_capture(camera)
        rate = fps or capture.get(cv2.CAP_PROP_FPS) or 30.0
        frame_source = FrameSource(f"camera {camera}", float(rate), None, True, None)
        frame_source._capture = capture
        reader = _NewestFirst(capture_frames(capture, live=True), frame_source)
        frame_source._reader = reader
        frame_source._frames = _read_capture(iter(reader), frame_source, float(rate), live=True)
        return frame_source
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        capture = open_capture(path)
        rate = capture.get(cv2.CAP_PROP_FPS)
        rate = float(fps or (rate if rate and np.isfinite(rate) and rate > 0 else 25.0))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None
        frame_source = FrameSource(repr(path), rate, count, False, None)
        frame_source._capture = capture
        try:  # a file in which no frame decodes is refused now, before any output is written
            frames = require_decodable_frame(capture_frames(capture), repr(path))
        except BaseException:
            frame_source.close()
            raise
        frame_source._frames = _read_capture(frames, frame_source, rate, live=False)
        return frame_source
    if isinstance(source, (bytes, bytearray)):
        raise TypeError("source is bytes; pass a video path, a camera index or frames")
    if isinstance(source, np.ndarray) and (
        source.ndim < 3 or (source.ndim == 3 and source.shape[-1] in (3, 4))
    ):
        raise TypeError(
            f"an array of shape {source.shape} looks like a single image, not a stream; pass "
            "a list of frames (or a (T, H, W[, C]) stack)"
        )
    if not isinstance(source, Iterable):
        raise TypeError(
            f"source must be a video path, a camera index or an iterable of frames, "
            f"got {type(source).__name__}"
        )
    rate = float(fps or 25.0)
    frames = _read_iterable(iter(source), rate, channel_order)
    n = len(source) if hasattr(source, "__len__") else None
    return FrameSource(f"{type(source).__name__} of frames", rate, n, False, frames)
