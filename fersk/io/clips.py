"""Clips: reading a short face video's frames, and uniform temporal sampling.

A *clip* is a short face video given as one of:

* a folder holding the clip's frame images (natural sort order of the file
  names is time order: ``frame_2.png`` comes before ``frame_10.png``);
* a video file that OpenCV decodes (``.mp4``, ``.avi``, ...);
* a numeric array ``(T, H, W)`` or ``(T, H, W, C)``;
* a list or tuple of frames, each an image path or an image array.

:func:`read_clip` turns any of them into a list of frames, optionally sampled
to a fixed length with :func:`sample_frame_indices` (DFEW practice: 16
frames spread uniformly over the clip). :func:`read_indexed_frames` also
returns where each sampled frame sits in the clip (for messages).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from numbers import Integral

import numpy as np

from .files import IMAGE_EXTENSIONS, is_image_file, list_image_files
from .images import ImageReadError, ImageSource, describe_source
from .video import VideoReadError, capture_frames, count_frames, open_capture

__all__ = [
    "ClipReadError",
    "ClipSource",
    "clip_name",
    "read_clip",
    "read_indexed_frames",
    "sample_frame_indices",
]

ClipSource = str | os.PathLike | np.ndarray | Sequence[ImageSource]
"""A frame folder, a video file, an array ``(T, H, W[, C])`` or a list of frames."""


class ClipReadError(ImageReadError):
    """A clip could not be read; the message names the clip and the problem.

    An :class:`~fersk.io.ImageReadError` (hence a :class:`ValueError`).

    See Also
    --------
    fersk.io.read_clip : Raises it for a clip it cannot read.
    fersk.io.ImageReadError : Its base class, for single images.
    fersk.io.VideoReadError : The error of a video file or camera.

    Examples
    --------
    >>> from fersk.io import ClipReadError, read_clip
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

    See Also
    --------
    fersk.io.read_clip : Read a clip's frames sampled with these indices.
    fersk.ClipLandmarkExtractor : Landmarks of each clip's ``n_frames`` sampled frames.

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


def clip_name(source: object) -> str:
    """A short name of a clip for messages (its path, its shape, or its frame count)."""
    if isinstance(source, (list, tuple)):
        return f"list of {len(source)} frames"
    return describe_source(source)


def _decode_video_frames(path: str, name: str, indices: np.ndarray) -> list[np.ndarray]:
    """Decode the frames at ``indices`` (sorted) in one pass; RGB ``uint8`` arrays."""
    wanted = Counter(int(i) for i in indices)
    last = int(indices[-1])
    frames: list[np.ndarray] = []
    capture = open_capture(path, name=name)
    try:
        for frame in capture_frames(capture, decode=lambda index: index in wanted):
            if frame.ended:
                raise ClipReadError(
                    f"cannot read clip {name}: frame {frame.index} could not be decoded "
                    f"(the video has fewer frames than the {last + 1} counted)"
                )
            if frame.index in wanted:
                if frame.image is None:
                    raise ClipReadError(f"cannot read clip {name}: frame {frame.index} is corrupt")
                frames.extend([frame.image] * wanted[frame.index])
            if frame.index >= last:
                break
    finally:
        capture.release()
    return frames


def read_indexed_frames(
    source: ClipSource, n_frames: int | None = None
) -> tuple[list[ImageSource], np.ndarray]:
    """:func:`read_clip`'s frames, and the index in the clip of each of them.

    Examples
    --------
    >>> frames, where = read_indexed_frames(["a.png", "b.png", "c.png"], n_frames=2)
    >>> frames, where.tolist()
    (['a.png', 'c.png'], [0, 2])
    """
    name = clip_name(source)
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
            paths = [os.path.join(path, f) for f in list_image_files(path, recursive=False)]
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
        try:
            indices = pick(count_frames(path, name=name))
        except VideoReadError as exc:
            raise ClipReadError(str(exc).replace("cannot read video", "cannot read clip")) from None
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

    See Also
    --------
    fersk.io.sample_frame_indices : Which frames ``n_frames`` picks.
    fersk.io.write_video : Write frames to a video file.
    fersk.ClipLandmarkExtractor : Landmarks of the frames of many clips.
    fersk.datasets.make_sample_clips : Synthetic labelled clips.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.arange(10)[:, None, None] * np.ones((10, 4, 4), dtype=np.uint8)
    >>> [int(frame[0, 0]) for frame in read_clip(clip, n_frames=4)]
    [0, 3, 6, 9]
    >>> read_clip(["f0.png", "f1.png", "f2.png"], n_frames=5)
    ['f0.png', 'f0.png', 'f1.png', 'f2.png', 'f2.png']
    """
    return read_indexed_frames(source, n_frames)[0]
