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

import contextlib
import functools
import itertools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from numbers import Real
from typing import NamedTuple

import cv2
import numpy as np

from .files import _not_regular
from .images import ImageReadError, convert_color

__all__ = [
    "MAX_DAMAGED_FRAMES",
    "VIDEO_EXTENSIONS",
    "CapturedFrame",
    "VideoFileWriter",
    "VideoReadError",
    "can_write_codec",
    "capture_frames",
    "count_frames",
    "is_video_file",
    "open_capture",
    "require_decodable_frame",
    "video_codecs",
    "write_video",
]

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v"}
)
"""Lower-case file extensions fersk treats as video files (DFEW clips, ``fersk video``)."""

#: Consecutive frame positions of a file that may fail to read (a damaged stretch) before
#: the file counts as ended: 10 s at 25 fps. Failed reads at the end of a file cost
#: microseconds each, so the bound costs nothing where a file ends normally.
MAX_DAMAGED_FRAMES = 250


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
    why = _not_regular(os.stat(path).st_mode, "video")  # OpenCV would block on a FIFO
    if why is not None:
        raise VideoReadError(f"cannot read video {name}: {why}")
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
    """Whether the capture had a frame at this position (False: damaged, or the stream ended)."""
    image: np.ndarray | None
    """RGB ``uint8`` frame, or None (not decoded on purpose, or undecodable)."""
    position_s: float
    """The container's timestamp of the frame in seconds (0 when it has none)."""
    ended: bool = False
    """True for the last position of a file: the stream has no more frames."""


def _grab_past_damage(capture, index: int, limit: int) -> int | None:
    """After a failed grab at position ``index`` of a file: the next grabbed position, or None.

    FFmpeg passes over one damaged packet per failed grab, so grabbing again
    walks past a damaged stretch, one position per failed grab. None: ``limit``
    grabs in a row failed, the stream really ended. (Seeking is not tried: a
    demuxer that resynchronised silently would give frames it already gave.)
    """
    for skipped in range(1, limit + 1):
        if capture.grab():
            return index + skipped
    return None


def capture_frames(
    capture,
    *,
    decode: Callable[[int], bool] | None = None,
    live: bool = False,
    max_damaged: int = MAX_DAMAGED_FRAMES,
) -> Iterator[CapturedFrame]:
    """Walk an OpenCV capture frame position by frame position.

    Yields a :class:`CapturedFrame` per position. For a file, the last one
    has ``ended=True`` (and ``grabbed=False``): the capture has no more
    frames. A damaged stretch of a file does not end it: the walk reads on
    past up to ``max_damaged`` positions that fail in a row, yielding each
    failed position with ``grabbed=False`` and no image *in its place*, then
    the frames after it. (Frames that a demuxer drops without a failure, as
    AVI's does when it resynchronises, are not seen: AVI has no timestamps.)
    For a camera (``live=True``), a failed read is a ``grabbed=False``
    position and the walk goes on (the caller decides when to give up).
    Frames are decoded only where ``decode(index)`` is true (default: every
    frame): grabbing without decoding is how a long video is counted or
    sampled cheaply. A frame that fails to decode is ``image=None`` in its
    place: indices never shift.

    Parameters
    ----------
    capture : cv2.VideoCapture
        An opened capture (see :func:`open_capture`).
    decode : callable or None
        ``decode(index) -> bool``: which positions to decode.
    live : bool, default=False
        A camera: go on after a failed read.
    max_damaged : int, default=MAX_DAMAGED_FRAMES
        A file: failed positions in a row after which the stream counts as ended.

    Yields
    ------
    CapturedFrame
        ``index``, ``grabbed``, ``image`` (RGB ``uint8`` or None),
        ``position_s`` (the container's timestamp in seconds) and ``ended``.

    See Also
    --------
    fersk.io.open_capture : Open the capture.
    fersk.io.require_decodable_frame : Refuse a video in which no frame decodes.
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
    >>> walk = capture_frames(capture, decode=lambda index: index == 1)
    >>> [(f.index, f.image is not None, f.position_s, f.ended) for f in walk]
    [(0, False, 0.0, False), (1, True, 0.1, False), (2, False, 0.2, False), (3, False, 0.0, True)]
    >>> capture.release()
    """
    index = 0
    while True:
        grabbed = bool(capture.grab())
        if not grabbed and not live:
            resumed = _grab_past_damage(capture, index, max_damaged)
            if resumed is None:
                yield CapturedFrame(index, False, None, 0.0, ended=True)
                return
            for damaged in range(index, resumed):
                yield CapturedFrame(damaged, False, None, 0.0)
            index, grabbed = resumed, True
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
        index += 1


def require_decodable_frame(frames: Iterator[CapturedFrame], name: str) -> Iterator[CapturedFrame]:
    """``frames`` again, once one of them is known to decode; raise if none does.

    Reads ahead up to the first decoded frame (the positions before it hold
    no image, so little is kept), so a video in which no frame decodes (a
    file with no frames, or only damaged ones) is refused before anything is
    written from it.

    Parameters
    ----------
    frames : iterator of CapturedFrame
        From :func:`capture_frames` with every frame decoded (``decode=None``).
    name : str
        How the message names the video.

    Returns
    -------
    iterator of CapturedFrame
        Every position of ``frames``, the ones read ahead included.

    Raises
    ------
    VideoReadError
        The stream ended without a decodable frame.

    Examples
    --------
    >>> import numpy as np
    >>> empty = iter([CapturedFrame(0, False, None, 0.0, ended=True)])
    >>> require_decodable_frame(empty, "'clip.avi'")
    Traceback (most recent call last):
    ...
    fersk.io.video.VideoReadError: cannot read video 'clip.avi': it has no decodable frame
    >>> one = [CapturedFrame(0, True, np.zeros((2, 2, 3), np.uint8), 0.0)]
    >>> len(list(require_decodable_frame(iter(one), "'clip.avi'")))
    1
    """
    ahead: list[CapturedFrame] = []
    for frame in frames:
        ahead.append(frame)
        if frame.image is not None:
            return itertools.chain(ahead, frames)
        if frame.ended:
            break
    raise VideoReadError(f"cannot read video {name}: it has no decodable frame")


def count_frames(path: str | os.PathLike, *, name: str | None = None) -> int:
    """Count a video file's frame positions by grabbing them (containers' counts are unreliable).

    Positions of a damaged stretch in the middle count (they are undecodable
    frames in their place); the count ends where the stream ends.

    Raises
    ------
    VideoReadError
        As :func:`open_capture`, or when the video has no frame.
    """
    name = name or repr(os.fspath(path))
    capture = open_capture(path, name=name)
    try:
        frames = capture_frames(capture, decode=lambda index: False)
        count = sum(1 for frame in frames if not frame.ended)
    finally:
        capture.release()
    if count == 0:
        raise VideoReadError(f"cannot read video {name}: the video has no decodable frames")
    return count


def write_video(path: str | os.PathLike, frames, *, fps: float = 25.0) -> str:
    """Write frames to a video file with OpenCV; return the path as a string.

    The codec follows the container, as :class:`VideoFileWriter` picks it
    (``.mp4``: H.264 where this OpenCV build writes it, else MPEG-4 Part 2;
    ``.avi``: Motion-JPEG; ``.webm``: VP8). The file is written under a
    temporary name and moved into place at the end, so a failure (a frame of
    another size) leaves an earlier file intact. Codecs store even sizes: an
    odd width or height loses its last column or row.

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
    name = repr(os.fspath(path))
    with AtomicOutput(path) as tmp, VideoFileWriter(tmp, fps=fps, name=name) as writer:
        for frame in frames:
            writer.write(frame)
    return os.fspath(path)


#: Codecs by container (the file's extension), in the order tried.
_CODECS: dict[str, tuple[str, ...]] = {
    ".avi": ("MJPG", "mp4v"),  # Motion-JPEG first: near-lossless at high quality
    ".webm": ("VP80", "VP90"),  # the only codecs WebM holds; browsers play both
    **dict.fromkeys((".mp4", ".m4v", ".mov"), ("avc1", "mp4v", "MJPG")),
}
_OTHER_CODECS = ("mp4v", "MJPG")
#: Codecs used only once a probe showed this OpenCV build writes them: trying a missing
#: encoder prints FFmpeg's errors, so it is tried once per process, quietly.
_PROBED_CODECS = frozenset({"avc1"})


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to the null device for the block (FFmpeg reports there)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to quieten
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.cache
def can_write_codec(fourcc: str, extension: str = ".mp4") -> bool:
    """Whether this OpenCV build writes ``fourcc`` in a ``extension`` file (probed once, cached).

    Two small frames are written to a temporary file and read back, with
    FFmpeg's messages about a missing encoder kept off the terminal.

    Examples
    --------
    >>> can_write_codec("MJPG", ".avi")
    True
    """
    with tempfile.TemporaryDirectory() as folder, _quiet_stderr():
        path = os.path.join(folder, "probe" + extension)
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 10.0, (64, 48))
        try:
            if not writer.isOpened():
                return False
            for level in (0, 128):
                writer.write(np.full((48, 64, 3), level, np.uint8))
        finally:
            writer.release()
        capture = cv2.VideoCapture(path)
        try:
            return bool(capture.isOpened() and capture.grab())
        finally:
            capture.release()


def video_codecs(path: str | os.PathLike) -> tuple[str, ...]:
    """The codecs :class:`VideoFileWriter` tries for ``path``, in order (see its notes).

    Examples
    --------
    >>> video_codecs("clip.avi")
    ('MJPG', 'mp4v')
    >>> video_codecs("clip.webm")
    ('VP80', 'VP90')
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    codecs = _CODECS.get(extension, _OTHER_CODECS)
    return tuple(c for c in codecs if c not in _PROBED_CODECS or can_write_codec(c, extension))


class VideoFileWriter:
    """Write frames to a video file one at a time (OpenCV's VideoWriter).

    The file is opened at the first frame, whose size every later frame must
    have. Use it as a context manager, or call :meth:`close`: frames written
    before an interruption stay in a playable file.

    The codec follows the container (:func:`video_codecs`), the first one
    OpenCV can write winning:

    * ``.mp4``, ``.m4v``, ``.mov``: H.264 (``avc1``), which every browser
      plays, where this OpenCV build can write it (probed once per process,
      :func:`can_write_codec`); else MPEG-4 Part 2 (``mp4v``), which desktop
      players play but browsers do not (the ``opencv-python`` wheels have no
      H.264 encoder: write ``.webm`` for a browser then); else Motion-JPEG;
    * ``.avi``: Motion-JPEG (near-lossless at high quality), else ``mp4v``;
    * ``.webm``: VP8, else VP9 (browsers play both);
    * other containers: ``mp4v``, else Motion-JPEG.

    Parameters
    ----------
    path : str or path-like
        Output file (its folder must exist); the extension picks the container.
    fps : float, default=25.0
        Frame rate stored in the file, in ``(0, 10000)``.
    name : str or None, default=None
        How messages name the file (default: ``path`` quoted); for a file
        written under a temporary name, the name it will have.

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

    def __init__(
        self, path: str | os.PathLike, *, fps: float = 25.0, name: str | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.name = name or repr(self.path)
        if isinstance(fps, bool) or not isinstance(fps, Real) or not (0 < fps < 1e4):
            raise ValueError(
                f"cannot write video {self.name}: fps must be in (0, 10000), got {fps!r}"
            )
        if not is_video_file(self.path):
            raise ValueError(
                f"cannot write video {self.name}: the file name must end in a video extension "
                f"({', '.join(sorted(VIDEO_EXTENSIONS))}); OpenCV picks the container by it"
            )
        self.fps = float(fps)
        self.n_frames = 0
        self._writer = None
        self._size: tuple[int, int] | None = None
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise OSError(f"cannot write video {self.name}: folder {folder!r} does not exist")

    def _open(self, width: int, height: int) -> None:
        codecs = video_codecs(self.path)
        for codec in codecs:
            writer = cv2.VideoWriter(
                self.path, cv2.VideoWriter_fourcc(*codec), self.fps, (width, height)
            )
            if writer.isOpened():
                self._writer = writer
                return
            writer.release()
        raise OSError(f"cannot write video {self.name}: OpenCV has no working codec {codecs}")

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
