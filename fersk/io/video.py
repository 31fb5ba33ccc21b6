"""Video files and cameras: the one OpenCV capture loop of the package, and the one writer.

:func:`open_capture` opens a file or a camera with an error that names it;
:func:`capture_frames` walks a capture frame position by frame position,
decoding only the positions asked for, converting each decoded frame to RGB
``uint8`` and yielding an undecodable one as ``None`` *in its place*. Clip
reading (:mod:`fersk.io.clips`: count, then decode the sampled frames) and the
video stream (:mod:`fersk.video.source`: every frame, with its time) are both
built on it. :class:`VideoFileWriter` writes frames one at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from numbers import Real
from typing import NamedTuple

import cv2
import numpy as np

from .images import ImageReadError, convert_color

__all__ = [
    "VIDEO_EXTENSIONS",
    "CapturedFrame",
    "VideoFileWriter",
    "VideoReadError",
    "capture_frames",
    "count_frames",
    "is_video_file",
    "open_capture",
    "write_video",
]

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v"}
)
"""Lower-case file extensions fersk treats as video files (DFEW clips, ``fersk video``)."""


class VideoReadError(ImageReadError):
    """A video source cannot be opened or read; the message names it.

    An :class:`~fersk.io.ImageReadError` (hence a :class:`ValueError`); also
    exported as ``fersk.video.VideoReadError``.

    See Also
    --------
    fersk.io.open_capture : Raises it for a file or camera it cannot open.
    fersk.video.open_source : Raises it for a video stream it cannot open.
    fersk.io.ClipReadError : The error of a clip (a video read as a clip).

    Examples
    --------
    >>> import tempfile
    >>> from fersk.io import ImageReadError, VideoReadError, open_capture
    >>> try:
    ...     open_capture(tempfile.mkdtemp())
    ... except VideoReadError as err:
    ...     print(str(err).endswith("it is a folder, not a video file"))
    True
    >>> issubclass(VideoReadError, ImageReadError)
    True
    """


def is_video_file(name: str | os.PathLike) -> bool:
    """Whether ``name`` has a video extension (see :data:`VIDEO_EXTENSIONS`).

    Examples
    --------
    >>> is_video_file("clip.MP4"), is_video_file("face.png")
    (True, False)
    """
    return os.path.splitext(os.fspath(name))[1].lower() in VIDEO_EXTENSIONS


def open_capture(source: str | os.PathLike | int, *, name: str | None = None):
    """Open a video file (or a camera index) with OpenCV; raise if it cannot be opened.

    Parameters
    ----------
    source : str, path-like or int
        A video file, or a camera index (0 or more).
    name : str, optional
        How to name the source in messages (default: its path or index).

    Returns
    -------
    cv2.VideoCapture
        Opened; the caller releases it.

    Raises
    ------
    VideoReadError
        A missing file, a folder, a file OpenCV cannot decode as a video, or
        a camera that cannot be opened.
    ValueError
        A negative camera index (OpenCV crashes on some).

    See Also
    --------
    fersk.io.capture_frames : Walk the opened capture frame by frame.
    fersk.video.open_source : A video file, camera or frame list as timed frames.
    fersk.io.read_clip : A video file's frames, sampled uniformly.

    Examples
    --------
    >>> open_capture("/no/such/clip.mp4")
    Traceback (most recent call last):
    ...
    fersk.io.video.VideoReadError: cannot read video '/no/such/clip.mp4': no such file
    """
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        if source < 0:
            raise ValueError(f"a camera index must be 0 or more, got {int(source)}")
        capture = cv2.VideoCapture(int(source))
        if not capture.isOpened():
            capture.release()
            raise VideoReadError(f"cannot open camera {int(source)}")
        return capture
    path = os.fspath(source)
    name = name or repr(path)
    if os.path.isdir(path):
        raise VideoReadError(f"cannot read video {name}: it is a folder, not a video file")
    if not os.path.exists(path):
        raise VideoReadError(f"cannot read video {name}: no such file")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        capture.release()
        raise VideoReadError(
            f"cannot read video {name}: OpenCV cannot open it as a video "
            "(not a video file, or a codec it lacks)"
        )
    return capture


class CapturedFrame(NamedTuple):
    """One frame position of a capture, as :func:`capture_frames` yields it."""

    index: int
    """0-based position in the stream."""
    grabbed: bool
    """Whether the capture had a frame at this position (False: the stream ended or failed)."""
    image: np.ndarray | None
    """RGB ``uint8`` frame, or None (not decoded on purpose, or undecodable)."""
    position_s: float
    """The container's timestamp of the frame in seconds (0 when it has none)."""


def capture_frames(
    capture, *, decode: Callable[[int], bool] | None = None, live: bool = False
) -> Iterator[CapturedFrame]:
    """Walk an OpenCV capture frame position by frame position.

    Yields a :class:`CapturedFrame` per position. For a file, the last one
    has ``grabbed=False``: the capture has no more frames. For a camera
    (``live=True``), a failed read is a ``grabbed=False`` position and the
    walk goes on (the caller decides when to give up). Frames are
    decoded only where ``decode(index)`` is true (default: every frame):
    grabbing without decoding is how a long video is counted or sampled
    cheaply. A frame that fails to decode is ``image=None`` in its place:
    indices never shift.

    Parameters
    ----------
    capture : cv2.VideoCapture
        An opened capture (see :func:`open_capture`).
    decode : callable or None
        ``decode(index) -> bool``: which positions to decode.
    live : bool, default=False
        A camera: go on after a failed read.

    Yields
    ------
    CapturedFrame
        ``index``, ``grabbed``, ``image`` (RGB ``uint8`` or None) and
        ``position_s`` (the container's timestamp in seconds).

    See Also
    --------
    fersk.io.open_capture : Open the capture.
    fersk.io.read_clip : Decode only a clip's sampled frames.
    fersk.video.open_source : Every frame of a video or camera, with its time.

    Examples
    --------
    Decode only frame 1 of a 3-frame video; the last position ends the file:

    >>> import os, tempfile, numpy as np
    >>> from fersk.io import write_video
    >>> path = write_video(os.path.join(tempfile.mkdtemp(), "clip.avi"),
    ...                    np.zeros((3, 16, 16), np.uint8), fps=10)
    >>> capture = open_capture(path)
    >>> [(f.index, f.grabbed, f.image is not None, f.position_s)
    ...  for f in capture_frames(capture, decode=lambda index: index == 1)]
    [(0, True, False, 0.0), (1, True, True, 0.1), (2, True, False, 0.2), (3, False, False, 0.0)]
    >>> capture.release()
    """
    index = 0
    while True:
        grabbed = bool(capture.grab())
        image = None
        if grabbed and (decode is None or decode(index)):
            ok, frame = capture.retrieve()
            if ok and frame is not None:
                try:
                    image = convert_color(frame, "rgb", channel_order="bgr")
                except ImageReadError:
                    image = None
        stamp = capture.get(cv2.CAP_PROP_POS_MSEC) if grabbed else 0.0
        yield CapturedFrame(index, grabbed, image, float(stamp) / 1000.0 if stamp else 0.0)
        if not grabbed and not live:
            return
        index += 1


def count_frames(path: str | os.PathLike, *, name: str | None = None) -> int:
    """Count a video file's frames by grabbing them (containers' counts are unreliable).

    Raises
    ------
    VideoReadError
        As :func:`open_capture`, or when the video has no frame.
    """
    name = name or repr(os.fspath(path))
    capture = open_capture(path, name=name)
    try:
        count = sum(1 for frame in capture_frames(capture, decode=lambda i: False) if frame.grabbed)
    finally:
        capture.release()
    if count == 0:
        raise VideoReadError(f"cannot read video {name}: the video has no decodable frames")
    return count


def write_video(path: str | os.PathLike, frames, *, fps: float = 25.0) -> str:
    """Write frames to a video file with OpenCV; return the path as a string.

    The codec is MPEG-4 (``mp4v``), falling back to Motion-JPEG (``MJPG``);
    a ``.avi`` path tries Motion-JPEG first (near-lossless at high quality).
    The file is written under a temporary name and moved into place at the
    end, so a failure (a frame of another size) leaves an earlier file intact.
    Codecs store even sizes: an odd width or height loses its last column or
    row.

    Parameters
    ----------
    path : str or path-like
        Output file (its folder must exist); the extension picks the container.
    frames : sequence of ndarray or ndarray
        Frames ``(H, W)`` (gray) or ``(H, W, 3)`` (RGB), all of one size, or a
        stacked array ``(T, H, W[, 3])``. Any dtype :func:`~fersk.io.to_uint8` takes.
    fps : float, default=25.0
        Frame rate stored in the file.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If there are no frames, or frames differ in size or are not images.
    OSError
        If the folder is missing or no codec can write the file.

    See Also
    --------
    fersk.io.VideoFileWriter : Write frames one at a time (a stream).
    fersk.io.read_clip : Read the video's frames back.
    fersk.datasets.make_sample_video : A synthetic face video, written the same way.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from fersk.io import read_clip, write_video
    >>> frames = np.zeros((5, 32, 48, 3), dtype=np.uint8)
    >>> path = write_video(os.path.join(tempfile.mkdtemp(), "clip.mp4"), frames)
    >>> len(read_clip(path)), read_clip(path)[0].shape
    (5, (32, 48, 3))
    """
    from .outputs import AtomicOutput

    frames = list(frames)
    if not frames:
        raise ValueError(f"write_video({os.fspath(path)!r}): no frames to write")
    VideoFileWriter(path, fps=fps)  # checks the name, folder and fps first
    # Written under a temporary name: a frame that fails midway leaves an earlier
    # file of the same name as it was.
    with AtomicOutput(path) as tmp, VideoFileWriter(tmp, fps=fps) as writer:
        for frame in frames:
            writer.write(frame)
    return os.fspath(path)


class VideoFileWriter:
    """Write frames to a video file one at a time (OpenCV's VideoWriter).

    The file is opened at the first frame, whose size every later frame must
    have. The codec is MPEG-4 (``mp4v``), falling back to Motion-JPEG
    (``MJPG``); a ``.avi`` path tries Motion-JPEG first. Use it as a context
    manager, or call :meth:`close`: frames written before an interruption
    stay in a playable file.

    Parameters
    ----------
    path : str or path-like
        Output file (its folder must exist); the extension picks the container.
    fps : float, default=25.0
        Frame rate stored in the file, in ``(0, 10000)``.

    Raises
    ------
    ValueError
        If ``fps`` is out of range or ``path`` has no video extension (see
        :data:`VIDEO_EXTENSIONS`); at :meth:`write`, a frame that is not an
        image or differs in size from the first.
    OSError
        If the folder is missing or no codec can write the file.

    See Also
    --------
    fersk.io.write_video : Write all the frames at once, atomically.
    fersk.io.AtomicOutput : Write under a temporary name, moved into place at the end.
    fersk.video.VideoAnalyzer : Writes an annotated copy of a stream with it.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "a.avi")
    >>> with VideoFileWriter(path, fps=10) as w:
    ...     for _ in range(3):
    ...         w.write(np.zeros((16, 24), np.uint8))
    >>> w.n_frames, os.path.getsize(path) > 0
    (3, True)
    """

    def __init__(self, path: str | os.PathLike, *, fps: float = 25.0) -> None:
        self.path = os.fspath(path)
        if isinstance(fps, bool) or not isinstance(fps, Real) or not (0 < fps < 1e4):
            raise ValueError(
                f"cannot write video {self.path!r}: fps must be in (0, 10000), got {fps!r}"
            )
        if not is_video_file(self.path):
            raise ValueError(
                f"cannot write video {self.path!r}: the file name must end in a video extension "
                f"({', '.join(sorted(VIDEO_EXTENSIONS))}); OpenCV picks the container by it"
            )
        self.fps = float(fps)
        self.n_frames = 0
        self._writer = None
        self._size: tuple[int, int] | None = None
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise OSError(f"cannot write video {self.path!r}: folder {folder!r} does not exist")

    def _open(self, width: int, height: int) -> None:
        avi = self.path.lower().endswith(".avi")
        codecs = ("MJPG", "mp4v") if avi else ("mp4v", "MJPG")
        for codec in codecs:
            writer = cv2.VideoWriter(
                self.path, cv2.VideoWriter_fourcc(*codec), self.fps, (width, height)
            )
            if writer.isOpened():
                self._writer = writer
                return
            writer.release()
        raise OSError(f"cannot write video {self.path!r}: OpenCV has no working codec {codecs}")

    def write(self, frame) -> None:
        """Append one frame: ``(H, W)`` gray or ``(H, W, 3)`` RGB, any dtype ``to_uint8`` takes."""
        t = self.n_frames
        frame = np.asarray(frame)
        if frame.ndim == 3 and frame.shape[2] == 1:
            frame = frame[:, :, 0]
        if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
            raise ValueError(f"frame {t} has shape {frame.shape}; expected (H, W) or (H, W, 3)")
        if self._size is None:
            self._size = frame.shape[:2]
            self._open(frame.shape[1], frame.shape[0])
        elif frame.shape[:2] != self._size:
            raise ValueError(
                f"frame {t} is {frame.shape[:2]} but frame 0 is {self._size}: "
                "all frames of a video must have one size"
            )
        self._writer.write(convert_color(frame, "bgr"))
        self.n_frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoFileWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
