"""Clips: reading, uniform temporal sampling, and the clip landmark layout.

A *clip* is a short face video given as one of:

* a folder holding the clip's frame images (natural sort order of the file
  names is time order: ``frame_2.png`` comes before ``frame_10.png``);
* a video file that OpenCV decodes (``.mp4``, ``.avi``, ...);
* a numeric array ``(T, H, W)`` or ``(T, H, W, C)``;
* a list or tuple of frames, each an image path or an image array.

:func:`read_clip` turns any of them into a list of frames, optionally sampled
to a fixed length with :func:`sample_frame_indices` (DFEW practice: 16
frames spread uniformly over the clip).

Per-frame landmarks of a clip are stored as *one row* of a 2-D matrix,
frame-major: frame 0's ``x0, y0, x1, y1, ...``, then frame 1's, and so on
(columns ``t0_x0, t0_y0, ..., t15_y67``; see :func:`clip_feature_names`).
Every clip step is therefore an ordinary numeric scikit-learn transformer;
:func:`to_sequences` gives the ``(n, T, L, 2)`` view of such a matrix and
:func:`from_sequences` goes back.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from numbers import Integral

import cv2
import numpy as np

from .datasets._base import IMAGE_EXTENSIONS, is_image_file, natural_sorted
from .io import ImageReadError, ImageSource, describe_source, to_uint8
from .landmarks.layouts import landmark_feature_names

__all__ = [
    "ClipReadError",
    "ClipSource",
    "clip_feature_names",
    "from_sequences",
    "select_frames",
    "read_clip",
    "sample_frame_indices",
    "to_sequences",
    "VideoFileWriter",
    "write_video",
]

ClipSource = str | os.PathLike | np.ndarray | Sequence[ImageSource]
"""A frame folder, a video file, an array ``(T, H, W[, C])`` or a list of frames."""


class ClipReadError(ImageReadError):
    """A clip could not be read; the message names the clip and the problem.

    Examples
    --------
    >>> from fersk.clips import ClipReadError, read_clip
    >>> try:
    ...     read_clip("/no/such/clip.mp4")
    ... except ClipReadError as err:
    ...     print(err)
    cannot read clip '/no/such/clip.mp4': no such file or folder
    """


def _check_count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def sample_frame_indices(n_available: int, n_frames: int) -> np.ndarray:
    """Indices of ``n_frames`` frames spread uniformly over a clip of ``n_available``.

    The first and the last frame are included (when ``n_frames >= 2``) and the
    indices are non-decreasing. A longer clip gives the frames nearest to
    ``n_frames`` evenly spaced times; a clip shorter than ``n_frames`` repeats
    each of its frames ``n_frames / n_available`` times (rounded, so the counts
    differ by at most one). This is the uniform sampling of DFEW-style
    benchmarks (16 frames per clip).

    Parameters
    ----------
    n_available : int
        Number of frames in the clip (at least 1).
    n_frames : int
        Number of frames wanted (at least 1; ``1`` gives the first frame).

    Returns
    -------
    ndarray of int, shape (n_frames,)

    Raises
    ------
    ValueError
        If a count is not an integer or is smaller than 1.

    Examples
    --------
    >>> sample_frame_indices(100, 5).tolist()
    [0, 25, 50, 74, 99]
    >>> sample_frame_indices(3, 7).tolist()
    [0, 0, 1, 1, 1, 2, 2]
    """
    n_available = _check_count("n_available", n_available, 1)
    n_frames = _check_count("n_frames", n_frames, 1)
    if n_available >= n_frames:
        positions = np.floor(np.linspace(0.0, n_available - 1, n_frames) + 0.5)
    else:  # each frame covers an equal share of the n_frames slots
        positions = np.floor((np.arange(n_frames) + 0.5) * n_available / n_frames)
    return np.clip(positions, 0, n_available - 1).astype(np.intp)


def _clip_name(source: object) -> str:
    if isinstance(source, (list, tuple)):
        return f"list of {len(source)} frames"
    return describe_source(source)


def _list_frames(folder: str) -> list[str]:
    names = [
        name
        for name in os.listdir(folder)
        if not name.startswith(".")
        and is_image_file(name)
        and os.path.isfile(os.path.join(folder, name))
    ]
    return [os.path.join(folder, name) for name in natural_sorted(names)]


def _count_video_frames(path: str, name: str) -> int:
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise ClipReadError(
                f"cannot read clip {name}: OpenCV cannot open it as a video "
                "(not a video file, or a codec it lacks)"
            )
        count = 0
        while capture.grab():
            count += 1
    finally:
        capture.release()
    if count == 0:
        raise ClipReadError(f"cannot read clip {name}: the video has no decodable frames")
    return count


def _decode_video_frames(path: str, name: str, indices: np.ndarray) -> list[np.ndarray]:
    """Decode the frames at ``indices`` (sorted) in one pass; RGB ``uint8`` arrays."""
    wanted = Counter(int(i) for i in indices)
    last = int(indices[-1])
    frames: list[np.ndarray] = []
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise ClipReadError(f"cannot read clip {name}: OpenCV cannot open it as a video")
        for position in range(last + 1):
            if not capture.grab():
                raise ClipReadError(
                    f"cannot read clip {name}: frame {position} could not be decoded "
                    f"(the video has fewer frames than the {last + 1} counted)"
                )
            if position not in wanted:
                continue
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                raise ClipReadError(f"cannot read clip {name}: frame {position} is corrupt")
            if frame.ndim == 3 and frame.shape[2] == 3:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            elif frame.ndim == 3 and frame.shape[2] == 4:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
            frames.extend([frame] * wanted[position])
    finally:
        capture.release()
    return frames


def _read_indexed(source: ClipSource, n_frames: int | None) -> tuple[list[ImageSource], np.ndarray]:
    """``read_clip``'s frames and the index in the clip of each of them."""
    name = _clip_name(source)
    if n_frames is not None:
        n_frames = _check_count("n_frames", n_frames, 1)

    def pick(n_available: int) -> np.ndarray:
        if n_frames is None:
            return np.arange(n_available, dtype=np.intp)
        return sample_frame_indices(n_available, n_frames)

    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if os.path.isdir(path):
            paths = _list_frames(path)
            if not paths:
                extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
                raise ClipReadError(
                    f"cannot read clip {name}: the folder holds no frame images ({extensions})"
                )
            indices = pick(len(paths))
            return [paths[i] for i in indices], indices
        if not os.path.exists(path):
            raise ClipReadError(f"cannot read clip {name}: no such file or folder")
        if is_image_file(path):
            raise ClipReadError(
                f"cannot read clip {name}: it is a single image; a clip is a folder of "
                "frames, a video file, an array (T, H, W[, C]) or a list of frames"
            )
        indices = pick(_count_video_frames(path, name))
        return _decode_video_frames(path, name, indices), indices
    if isinstance(source, np.ndarray) and source.dtype != object and source.dtype.kind not in "US":
        if source.ndim not in (3, 4) or (source.ndim == 4 and source.shape[3] not in (1, 3, 4)):
            hint = (
                " (a single image? a clip of one frame is image[None])" if source.ndim == 2 else ""
            )
            raise ClipReadError(
                f"cannot read clip {name}: a clip array must have shape (T, H, W) or "
                f"(T, H, W, C) with C in 1, 3, 4{hint}"
            )
        if source.shape[0] == 0:
            raise ClipReadError(f"cannot read clip {name}: it has no frames")
        indices = pick(source.shape[0])
        return [source[i] for i in indices], indices
    if isinstance(source, np.ndarray):  # an object or string array of frames
        if source.ndim != 1:
            raise ClipReadError(
                f"cannot read clip {name}: an array of frame paths must be 1-D, "
                f"got shape {source.shape}"
            )
        source = list(source)
    if not isinstance(source, (list, tuple)):
        raise TypeError(
            "a clip must be a frame folder, a video file path, an array (T, H, W[, C]) or "
            f"a list of frames, got {type(source).__name__}"
        )
    if not source:
        raise ClipReadError(f"cannot read clip {name}: it has no frames")
    for t, frame in enumerate(source):
        if isinstance(frame, np.ndarray):
            if frame.dtype == object or frame.ndim not in (2, 3):
                raise ClipReadError(
                    f"cannot read clip {name}: frame {t} is an array of shape {frame.shape} "
                    f"and dtype {frame.dtype}, not an image (H, W) or (H, W, C)"
                )
        elif isinstance(frame, str):
            pass
        elif isinstance(frame, os.PathLike):
            source = list(source)
            source[t] = os.fspath(frame)
        else:
            raise TypeError(
                f"frame {t} of clip {name} is a {type(frame).__name__}; each frame must be "
                "an image path or an image array"
            )
    indices = pick(len(source))
    return [source[i] for i in indices], indices


def read_clip(source: ClipSource, *, n_frames: int | None = None) -> list[ImageSource]:
    """Read a clip's frames, optionally sampled uniformly to ``n_frames``.

    Frames are returned as cheaply as possible: frame files as their paths
    (read later, by whoever needs the pixels), array frames as views of the
    input, video frames decoded to RGB ``uint8`` arrays. A video is read in
    two passes (count the frames with ``grab``, since the container's frame
    count is unreliable; then decode only the sampled frames), so a long
    video is never held whole in memory.

    Parameters
    ----------
    source : str, path-like, ndarray, list or tuple
        A folder of frame images (natural sort order = time order; hidden and
        non-image files are skipped), a video file, an array ``(T, H, W)`` or
        ``(T, H, W, C)``, or a list/tuple of frame paths or arrays.
    n_frames : int or None, default=None
        Number of frames to return, spread by :func:`sample_frame_indices`
        (frames repeat when the clip is shorter). ``None`` returns them all.

    Returns
    -------
    list of str or ndarray
        One entry per frame, in time order.

    Raises
    ------
    ClipReadError
        (an :class:`~fersk.io.ImageReadError`) naming the clip: a missing
        path, a folder without frames, a file OpenCV cannot open as a video,
        a video without frames, an array of the wrong shape, an empty list.
    TypeError
        If ``source`` (or a frame of a list) is of an unsupported type.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.arange(10)[:, None, None] * np.ones((10, 4, 4), dtype=np.uint8)
    >>> [int(frame[0, 0]) for frame in read_clip(clip, n_frames=4)]
    [0, 3, 6, 9]
    >>> read_clip(["f0.png", "f1.png", "f2.png"], n_frames=5)
    ['f0.png', 'f0.png', 'f1.png', 'f2.png', 'f2.png']
    """
    return _read_indexed(source, n_frames)[0]


# --------------------------------------------------------------------------
# The 2-D clip landmark layout
# --------------------------------------------------------------------------


def clip_feature_names(n_frames: int, n_landmarks: int) -> np.ndarray:
    """Column names of a clip landmark matrix: ``t0_x0, t0_y0, ..., t{T-1}_y{L-1}``.

    Parameters
    ----------
    n_frames : int
        Frames per clip ``T``.
    n_landmarks : int
        Landmarks per frame ``L``.

    Returns
    -------
    ndarray of str (object dtype), shape (n_frames * 2 * n_landmarks,)

    Examples
    --------
    >>> clip_feature_names(2, 2).tolist()
    ['t0_x0', 't0_y0', 't0_x1', 't0_y1', 't1_x0', 't1_y0', 't1_x1', 't1_y1']
    """
    n_frames = _check_count("n_frames", n_frames, 1)
    n_landmarks = _check_count("n_landmarks", n_landmarks, 1)
    frame = landmark_feature_names(n_landmarks)
    return np.array([f"t{t}_{name}" for t in range(n_frames) for name in frame], dtype=object)


def to_sequences(X, n_landmarks: int, n_dims: int = 2) -> np.ndarray:
    """View a clip landmark matrix ``(n, T * n_dims * L)`` as ``(n, T, L, n_dims)``.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_frames * n_dims * n_landmarks)
        Clip rows in the frame-major layout (see :func:`clip_feature_names`).
    n_landmarks : int
        Landmarks per frame ``L``.
    n_dims : int, default=2
        Coordinates per landmark.

    Returns
    -------
    ndarray of shape (n_clips, n_frames, n_landmarks, n_dims)
        A view of ``X`` when ``X`` is a C-contiguous array (writing to it
        writes to ``X``), a copy otherwise.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D or its width is not a multiple of ``n_dims * n_landmarks``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(1, 12)  # 1 clip, 3 frames of 2 points
    >>> seq = to_sequences(X, n_landmarks=2)
    >>> seq.shape, seq[0, 1].tolist()
    ((1, 3, 2, 2), [[4.0, 5.0], [6.0, 7.0]])
    >>> np.shares_memory(seq, X)
    True
    """
    n_landmarks = _check_count("n_landmarks", n_landmarks, 1)
    n_dims = _check_count("n_dims", n_dims, 1)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"expected a 2-D clip landmark matrix (n_clips, n_frames * {n_dims} * n_landmarks), "
            f"got an array of shape {X.shape}"
        )
    per_frame = n_dims * n_landmarks
    if X.shape[1] == 0 or X.shape[1] % per_frame:
        raise ValueError(
            f"X has {X.shape[1]} columns, not a positive multiple of n_dims * n_landmarks = "
            f"{n_dims} * {n_landmarks} = {per_frame}: not a clip of {n_landmarks} landmarks "
            f"in {n_dims}-D per frame"
        )
    return X.reshape(X.shape[0], X.shape[1] // per_frame, n_landmarks, n_dims)


def select_frames(X, frames, n_landmarks: int, n_dims: int = 2) -> np.ndarray:
    """Keep the columns of some frames of clip landmark rows.

    For a single-frame model inside a clip pipeline, e.g.
    ``FunctionTransformer(partial(select_frames, frames=[-1], n_landmarks=68))``
    followed by :class:`~fersk.PairwiseDistance`.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_frames * n_dims * n_landmarks)
    frames : sequence of int
        Frame positions (negative counts from the end).
    n_landmarks : int
    n_dims : int, default=2

    Returns
    -------
    ndarray of shape (n_clips, len(frames) * n_dims * n_landmarks)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(1, 12)  # 3 frames of 2 points
    >>> select_frames(X, [-1], n_landmarks=2).tolist()
    [[8.0, 9.0, 10.0, 11.0]]
    """
    sequences = to_sequences(X, n_landmarks, n_dims)
    n_frames = sequences.shape[1]
    index = np.asarray(frames, dtype=int).ravel()
    if index.size == 0 or np.any((index < -n_frames) | (index >= n_frames)):
        raise ValueError(f"frames {index.tolist()} out of range for clips of {n_frames} frames")
    return from_sequences(sequences[:, index]).copy()


def from_sequences(sequences) -> np.ndarray:
    """Flatten landmark sequences ``(n, T, L, n_dims)`` to clip rows ``(n, T * L * n_dims)``.

    The inverse of :func:`to_sequences` (a view when the input is C-contiguous).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(24.0).reshape(2, 12)
    >>> np.array_equal(from_sequences(to_sequences(X, n_landmarks=3)), X)
    True
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 4:
        raise ValueError(
            "expected landmark sequences of shape (n_clips, n_frames, n_landmarks, n_dims), "
            f"got an array of shape {sequences.shape}"
        )
    return sequences.reshape(sequences.shape[0], -1)


# --------------------------------------------------------------------------
# Writing videos
# --------------------------------------------------------------------------


def write_video(path: str | os.PathLike, frames, *, fps: float = 25.0) -> str:
    """Write frames to a video file with OpenCV; return the path as a string.

    The codec is MPEG-4 (``mp4v``), falling back to Motion-JPEG (``MJPG``);
    a ``.avi`` path tries Motion-JPEG first (near-lossless at high quality).

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

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from fersk.clips import read_clip, write_video
    >>> frames = np.zeros((5, 32, 48, 3), dtype=np.uint8)
    >>> path = write_video(os.path.join(tempfile.mkdtemp(), "clip.mp4"), frames)
    >>> len(read_clip(path)), read_clip(path)[0].shape
    (5, (32, 48, 3))
    """
    frames = list(frames)
    if not frames:
        raise ValueError(f"write_video({os.fspath(path)!r}): no frames to write")
    with VideoFileWriter(path, fps=fps) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


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
        Output file (its folder must exist).
    fps : float, default=25.0

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
        frame = to_uint8(frame)
        code = cv2.COLOR_GRAY2BGR if frame.ndim == 2 else cv2.COLOR_RGB2BGR
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), code))
        self.n_frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoFileWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
