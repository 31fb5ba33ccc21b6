"""The synthetic sample video: :func:`make_sample_video`.

Renders a video in which one or more synthetic subjects of
:func:`~.faces.make_sample_faces` follow a script (see :mod:`.scripts`):
each face is a square crop of the face renderer blended through a soft
round mask into a smooth random background, drifting slowly, with mild
per-frame sensor noise. Every frame comes with its ground truth: whether
each face is present, its box, its 68 landmarks, the emotion shown and its
intensity. The video stream mode is tested and benchmarked on these videos.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Sequence

import cv2
import numpy as np
from scipy.stats import norm
from sklearn.utils import Bunch

from .checks import check_integers, is_number, resolve_seed
from .expressions import SAMPLE_EMOTIONS
from .render import render_face, warp_maps_fast
from .scripts import (
    VideoSegment,
    resolve_script,
    segment_boundaries,
    segment_intensity,
    smoothstep,
)

__all__ = ["make_sample_video"]

#: Separates the video's random streams from those of the faces and clips.
_VIDEO_STREAM = 2**21

#: Intensities are rendered at the nearest multiple of 1 / _LEVELS.
_LEVELS = 20

#: The face mask is 1 inside this fraction of the crop's half side, 0 beyond
#: _MASK_OUTER (smoothstep in between): no hard square edge.
_MASK_INNER, _MASK_OUTER = 0.80, 0.99

#: Range of each face's drift speed (px/s, per axis) and its largest
#: amplitude (fraction of face_size).
_DRIFT_SPEED = (2.0, 5.0)
_DRIFT_AMPLITUDE = 0.35

#: Pixels kept free between a face crop and the frame edge (or its neighbour's column).
_MARGIN = 2

_DESCR = """\
Synthetic sample video
----------------------

A video of synthetic subjects (those of make_sample_faces, rendered from
scikit-image's public-domain astronaut photograph) following a script of
neutral, expression and absent segments. Each face is a square crop (the
face about 80% of its width) blended through a soft round mask into a
smooth random colour gradient; it drifts slowly (a few px/s, a sinusoid per
axis) and every frame gets mild Gaussian-like noise. Expressions ramp in
and out with a smoothstep; faces are rendered at the nearest 1/20 of
intensity.

Fields (per frame t and face j): time (s, t / fps), face_present (bool),
box (left, top, right, bottom of the pasted crop, inclusive pixel
coordinates; NaN when absent), landmarks (the 68 points shown, x0, y0, ...;
NaN when absent), emotion (segment emotion, "neutral" at rest, "" when
absent), target (index into target_names, -1 when absent), intensity (0 at
rest, NaN when absent), plus target_names, subject, script, fps, frames or
path.

The faces carry one identity's texture: use the video for tests and
benchmarks of face tracking and streaming, not to estimate accuracy.
"""

# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


_STILL = (0.0, np.zeros(2), 0.0)


@functools.lru_cache(maxsize=128)
def _face(
    seed: int, subject: int, emotion: str, level: int, face_size: int, color: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A face crop premultiplied by the mask ``(S, S, C)`` and its landmarks ``(68, 2)``.

    ``level`` is the intensity in units of ``1 / _LEVELS``; the head pose is
    the subject's own, without per-image jitter, so every frame shares it.
    """
    image, points = render_face(
        seed,
        subject,
        emotion,
        0,
        level / _LEVELS,
        face_size,
        color,
        pose=_STILL,
        warp_maps=warp_maps_fast,
    )
    image = image * _mask(face_size)[..., None]
    for array in (image, points):
        array.setflags(write=False)
    return image, points


@functools.lru_cache(maxsize=4)
def _mask(face_size: int) -> np.ndarray:
    """Soft round mask ``(S, S)`` float32: 1 in the middle, 0 at the crop's edges."""
    offsets = (np.arange(face_size) - (face_size - 1) / 2) / (face_size / 2)
    radius = np.hypot(offsets[None, :], offsets[:, None])
    mask = smoothstep((_MASK_OUTER - radius) / (_MASK_OUTER - _MASK_INNER)).astype(np.float32)
    mask.setflags(write=False)
    return mask


def _background(rng: np.random.Generator, width: int, height: int, channels: int) -> np.ndarray:
    """A static smooth random gradient ``(H, W, C)`` float32, grey levels about 50 to 200.

    A 3 x 4 grid of random grey levels (plus a mild random tint per colour
    channel) upscaled bicubically to the frame.
    """
    grid = rng.uniform(50.0, 200.0, size=(3, 4, 1)) + rng.uniform(-30.0, 30.0, size=(3, 4, 3))
    if channels == 1:
        grid = grid.mean(axis=2, keepdims=True)
    smooth = cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(smooth.reshape(height, width, channels), 0, 255)


def _drift(
    rng: np.random.Generator, times: np.ndarray, centre: np.ndarray, room: np.ndarray, size: int
) -> np.ndarray:
    """Crop centres ``(n_frames, 2)``: a slow sinusoid per axis around ``centre``.

    The amplitude is at most ``room`` (so the crop stays in its place) and
    :data:`_DRIFT_AMPLITUDE` of the face size; the peak speed per axis is
    drawn from :data:`_DRIFT_SPEED`.
    """
    path = np.empty((len(times), 2))
    for axis in range(2):
        amplitude = min(float(room[axis]), _DRIFT_AMPLITUDE * size) * rng.uniform(0.6, 1.0)
        speed = rng.uniform(*_DRIFT_SPEED)
        phase = rng.uniform(0, 2 * np.pi)
        if amplitude <= 0:
            path[:, axis] = centre[axis]
            continue
        omega = speed / amplitude
        path[:, axis] = centre[axis] + amplitude * np.sin(omega * times + phase)
    return path


@functools.lru_cache(maxsize=1)
def _noise_table() -> np.ndarray:
    """256 Gaussian quantiles with unit variance: random bytes -> Gaussian-like noise."""
    table = norm.ppf((np.arange(256) + 0.5) / 256)
    table = (table / table.std()).astype(np.float32)
    table.setflags(write=False)
    return table


def _paste(canvas: np.ndarray, face: np.ndarray, mask: np.ndarray, left: float, top: float) -> None:
    """Blend a premultiplied crop into ``canvas`` with its pixel (0, 0) at ``(left, top)``."""
    size = mask.shape[0]
    column, row = math.floor(left), math.floor(top)
    shift = np.float32([[1, 0, left - column], [0, 1, top - row]])
    out = (size + 1, size + 1)
    flags = dict(flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    colour = cv2.warpAffine(face, shift, out, **flags).reshape(size + 1, size + 1, -1)
    alpha = cv2.warpAffine(mask, shift, out, **flags)
    region = canvas[row : row + size + 1, column : column + size + 1]
    region *= 1 - alpha[..., None]
    region += colour


def _frames(
    seed: int,
    subjects: list[int],
    levels: np.ndarray,
    emotion: np.ndarray,
    box: np.ndarray,
    background: np.ndarray,
    face_size: int,
    color: bool,
    noise: float,
) -> Iterator[np.ndarray]:
    """Yield the uint8 frames ``(H, W, 3)`` or ``(H, W)``."""
    mask = _mask(face_size)
    rng = np.random.default_rng([seed, _VIDEO_STREAM, 2])
    table = _noise_table() * np.float32(noise)
    shape = background.shape
    for t in range(len(levels)):
        canvas = background.copy()
        for j, subject in enumerate(subjects):
            if emotion[t, j] == "":
                continue
            name = emotion[t, j] if levels[t, j] > 0 else "neutral"
            face, _ = _face(seed, subject, str(name), int(levels[t, j]), face_size, color)
            _paste(canvas, face, mask, box[t, j, 0], box[t, j, 1])
        if noise > 0:
            bytes_ = np.frombuffer(rng.bytes(canvas.size), dtype=np.uint8).reshape(shape)
            frame = cv2.add(canvas, table[bytes_], dtype=cv2.CV_8U)
        else:
            frame = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        frame = frame.reshape(shape)
        yield frame if color else frame[..., 0]


# --------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------


def _check_arguments(
    size: object, fps: object, face_size: object, n_faces: object, subject: object, noise: object
) -> tuple[int, int]:
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in size)
    ):
        raise ValueError(f"size must be a pair of integers (width, height), got {size!r}")
    if not is_number(fps) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a finite number > 0, got {fps!r}")
    if not is_number(noise) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    check_integers(("face_size", face_size, 32), ("n_faces", n_faces, 1), ("subject", subject, 0))
    width, height = int(size[0]), int(size[1])
    need_width = n_faces * (face_size + 1 + 2 * _MARGIN)
    need_height = face_size + 1 + 2 * _MARGIN
    if width < need_width or height < need_height:
        raise ValueError(
            f"size={tuple(size)} is too small for n_faces={n_faces} face(s) of "
            f"face_size={face_size} side by side: it needs at least ({need_width}, "
            f"{need_height}) (width, height)"
        )
    return width, height


def make_sample_video(
    path: str | os.PathLike[str] | None = None,
    *,
    size: tuple[int, int] = (640, 360),
    fps: float = 25.0,
    script: Sequence | None = None,
    face_size: int = 128,
    n_faces: int = 1,
    subject: int = 0,
    color: bool = True,
    noise: float = 2.0,
    random_state: int | np.random.RandomState | None = 0,
) -> Bunch:
    """Generate a facial-expression video with per-frame ground truth, offline.

    Each face is a subject of :func:`~fersk.datasets.make_sample_faces`
    (face ``j`` is subject ``subject + j``, rendered with that function's
    face model at each frame's intensity) in a square crop of ``face_size``
    pixels, blended through a soft round mask into a static smooth random
    gradient. Face ``j`` lives in the ``j``-th of ``n_faces`` equal columns
    of the frame (the left and right halves for two faces) and drifts slowly
    and smoothly about its middle (a sinusoid per axis, at most 5 px/s and
    35% of ``face_size``). Every frame gets fresh noise. The faces follow a
    script of neutral, expression and absent segments (see
    :mod:`fersk.datasets.synthetic.scripts` for the format).

    Parameters
    ----------
    path : str or path-like, optional
        If given, stream the frames to this video file (its folder must
        exist; ``.avi`` is written as Motion-JPEG, other extensions as MPEG-4,
        as :func:`fersk.io.video.write_video` does) and keep none in memory.
    size : (int, int), default=(640, 360)
        Frame ``(width, height)`` in pixels; it must hold ``n_faces`` crops
        side by side.
    fps : float, default=25.0
        Frame rate. The video has ``n_frames = floor(total_seconds * fps +
        0.5)`` frames at times ``t / fps``; segment ``k`` covers frames
        ``floor(start_k * fps + 0.5)`` up to the next segment's first frame,
        ``start_k`` being the sum of the durations before it. Every segment
        must cover at least one frame.
    script : list of segments, or list of such lists, optional
        Segments ``(kind, seconds[, emotion[, ramp[, peak]]])`` for the first
        face (default :data:`~.scripts.DEFAULT_VIDEO_SCRIPT`, 12 s); face ``j > 0``
        then plays it cyclically time-shifted, starting at the segment
        boundary nearest ``j / n_faces`` of its duration (adjacent neutral or
        absent segments merged). Or one list per face; shorter scripts are
        padded with an absent segment to the longest.
    face_size : int, default=128
        Side of each face crop in pixels (at least 32); the face is about
        80% of it. dlib's HOG detector needs at least about 100.
    n_faces : int, default=1
        Number of faces (subjects ``subject``, ``subject + 1``, ...).
    subject : int, default=0
        The first face's subject index in :func:`~fersk.datasets.make_sample_faces`.
    color : bool, default=True
        RGB frames ``(H, W, 3)`` if True, otherwise grayscale ``(H, W)``.
    noise : float, default=2.0
        Standard deviation of the per-frame noise in grey levels (0: none).
    random_state : int, RandomState instance or None, default=0
        Seed of the subjects (as in :func:`~fersk.datasets.make_sample_faces`), the
        background, the drift and the noise: a fixed (non-negative) int
        gives identical videos on every call.

    Returns
    -------
    Bunch
        ``frames``: list of uint8 frames (``None`` when ``path`` is given);
        ``path``: the file written (``None`` if not); ``time``: float array
        ``(n_frames,)``, seconds; ``face_present``: bool ``(n_frames,
        n_faces)``; ``box``: float ``(n_frames, n_faces, 4)``, ``left, top,
        right, bottom`` of the pasted crop in the inclusive pixel
        coordinates of :func:`fersk.landmarks.detection.detect_faces`
        (``right = left + face_size - 1``), NaN when absent; ``landmarks``:
        float ``(n_frames, n_faces, 136)``, the 68 points shown (``x0, y0,
        ...``), NaN when absent; ``emotion``: str ``(n_frames, n_faces)``,
        the segment's emotion (also on its ramps), ``"neutral"`` at rest,
        ``""`` when absent; ``target``: int64 index of ``emotion`` in
        ``target_names``, -1 when absent; ``intensity``: float ``(n_frames,
        n_faces)``, the script's expression intensity at the middle of the
        frame (0 at rest, NaN when absent; the face is rendered at its
        nearest 1/20); ``target_names``: list of
        :data:`~fersk.datasets.SAMPLE_EMOTIONS`; ``subject``: ids
        ``"s00"``... per face; ``script``: the resolved script, one list of
        :class:`~.scripts.VideoSegment` per face; ``fps``; ``DESCR``.

    Raises
    ------
    ValueError
        If the script is malformed (the message names the face, the segment
        and the problem), or an argument is out of range.
    TypeError
        If the script or a segment is not a list or tuple.
    OSError
        If ``path``'s folder does not exist or no codec can write it.

    Notes
    -----
    Face crops are rendered once per (emotion, intensity level) and cached,
    so the cost is mostly compositing: the default 12-s video takes a few
    seconds, and the first call of a process about 2 s more (locating the
    photograph's landmarks).

    See Also
    --------
    fersk.datasets.make_sample_faces : The faces' subjects, as still images.
    fersk.video.VideoAnalyzer : Per-face, per-frame predictions on such a video.
    fersk.io.write_video : Write frames to a video file.

    Examples
    --------
    >>> video = make_sample_video(size=(160, 140), fps=5, face_size=96, script=[
    ...     ("neutral", 1), ("expression", 2, "happiness"), ("absent", 0.6)])
    >>> len(video.frames), video.frames[0].shape, video.frames[0].dtype
    (18, (140, 160, 3), dtype('uint8'))
    >>> video.face_present[:, 0].astype(int).tolist()
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    >>> video.emotion[5:9, 0].tolist(), video.intensity[5:9, 0].round(2).tolist()
    (['happiness', 'happiness', 'happiness', 'happiness'], [0.1, 0.65, 1.0, 1.0])
    """
    width, height = _check_arguments(size, fps, face_size, n_faces, subject, noise)
    fps, noise, n_faces = float(fps), float(noise), int(n_faces)
    face_size, color = int(face_size), bool(color)
    scripts = resolve_script(script, n_faces)
    written = None if path is None else os.fspath(path)
    if written is not None:
        from ...io import VideoFileWriter

        writer = VideoFileWriter(written, fps=fps)  # checks the folder first
    for j, segments in enumerate(scripts):
        bounds = segment_boundaries(segments, fps)
        for k, segment in enumerate(segments):
            if bounds[k + 1] <= bounds[k]:
                raise ValueError(
                    f"script of face {j}, segment {k} {tuple(segment)[:3]} is shorter than one "
                    f"frame at fps={fps}; make it last at least {1 / fps:.3g} s"
                )
    seed = resolve_seed(random_state)
    longest = max(sum(s.seconds for s in segments) for segments in scripts)
    n_frames = int(np.floor(longest * fps + 0.5 + 1e-9))
    for j, segments in enumerate(scripts):
        pad = longest - sum(s.seconds for s in segments)
        if pad > 0 and segment_boundaries(segments, fps)[-1] < n_frames:
            scripts[j] = [*segments, VideoSegment("absent", pad, "", 0.0, 0.0)]

    emotion = np.full((n_frames, n_faces), "", dtype=f"<U{max(map(len, SAMPLE_EMOTIONS))}")
    intensity = np.full((n_frames, n_faces), np.nan)
    for j, segments in enumerate(scripts):
        bounds = segment_boundaries(segments, fps)
        for k, segment in enumerate(segments):
            start, stop = bounds[k], min(bounds[k + 1], n_frames)
            if segment.kind == "absent" or stop <= start:
                continue
            emotion[start:stop, j] = segment.emotion
            intensity[start:stop, j] = segment_intensity(segment, stop - start, fps)
    present = emotion != ""
    levels = np.where(present, np.rint(np.nan_to_num(intensity) * _LEVELS), 0).astype(int)

    # Where the faces are: column j's middle, drifting.
    times = np.arange(n_frames) / fps
    column = width / n_faces
    room = np.array(
        [(column - face_size - 1) / 2 - _MARGIN, (height - face_size - 1) / 2 - _MARGIN]
    )
    box = np.full((n_frames, n_faces, 4), np.nan)
    landmarks = np.full((n_frames, n_faces, 136), np.nan)
    subjects = [int(subject) + j for j in range(n_faces)]
    for j in range(n_faces):
        middle = np.array([(j + 0.5) * column, height / 2])
        rng = np.random.default_rng([seed, _VIDEO_STREAM, 1, j])
        centres = _drift(rng, times, middle, room, face_size)
        corner = centres - face_size / 2  # the crop's pixel (0, 0), as (left, top)
        for t in np.flatnonzero(present[:, j]):
            box[t, j] = [*corner[t], *(corner[t] + face_size - 1)]
            name = emotion[t, j] if levels[t, j] > 0 else "neutral"
            _, points = _face(seed, subjects[j], str(name), int(levels[t, j]), face_size, color)
            landmarks[t, j] = (points + corner[t]).ravel()

    channels = 3 if color else 1
    background = _background(
        np.random.default_rng([seed, _VIDEO_STREAM, 0]), width, height, channels
    )
    frames = _frames(seed, subjects, levels, emotion, box, background, face_size, color, noise)
    if written is None:
        kept: list[np.ndarray] | None = list(frames)
    else:
        kept = None
        with writer:
            for frame in frames:
                writer.write(frame)
    target = np.array(
        [[SAMPLE_EMOTIONS.index(e) if e else -1 for e in row] for row in emotion], dtype=np.int64
    ).reshape(n_frames, n_faces)
    return Bunch(
        frames=kept,
        path=written,
        time=times,
        face_present=present,
        box=box,
        landmarks=landmarks,
        emotion=emotion,
        target=target,
        intensity=intensity,
        target_names=list(SAMPLE_EMOTIONS),
        subject=np.array([f"s{s:02d}" for s in subjects]),
        script=scripts,
        fps=fps,
        DESCR=_DESCR,
    )
