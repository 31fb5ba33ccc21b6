"""The synthetic sample clips: :func:`make_sample_clips`.

Generates (and caches per argument set) short expression clips of the
subjects of :func:`~.faces.make_sample_faces`: a neutral onset, then a
smooth ease-in-out ramp to the full expression, while the head drifts
slightly, with per-frame intensities and ground-truth
landmarks, and writes them as folders of PNG frames on request.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from sklearn.utils import Bunch

from ...io import write_image
from .checks import check_emotions, check_integers, resolve_seed
from .expressions import SAMPLE_EMOTIONS
from .faces import read_only, subject_split
from .render import render_face, warp_maps_fast

__all__ = ["generate_clips", "make_sample_clips"]

_DESCR = """\
Synthetic sample clips
----------------------

Short facial-expression clips generated from scikit-image's public-domain
astronaut photograph, like make_sample_faces (same subjects: subject k's
neutral face, lighting and mirroring are those of make_sample_faces).

Each clip holds the subject's neutral face for `onset_frames` frames, then
a smooth ease-in-out ramp (smoothstep) of the expression's intensity from 0
to 1, reached at the last frame; the "neutral" clip stays at intensity 0.
Throughout every clip (neutral included) the head drifts smoothly and
slightly: a rotation of up to about 3 degrees, a translation of up to about
3% of the image side per axis and a scale change of up to about 3%, each a
random slow sinusoid drawn per subject and clip. Motion features must
therefore normalise head motion. With the default arguments: 8 subjects x
7 emotions = 56 clips of 16 frames of 96 x 96 pixels.

Fields: data (uint8 arrays (T, H, W[, 3]) or frame folders), target,
target_names, subject, split (the last ~25% of subjects are "test", as in
make_sample_faces), intensity (n, T) per frame, landmarks (n, T * 136): the
intended 68 points of every frame, frame-major (t0_x0, t0_y0, ..., in
output pixel coordinates; see fersk._core.layout.to_sequences).

The clips carry one identity's texture: use them for demos and tests of
the pipeline, not to estimate real-world accuracy.
"""

#: Separates the clips' random streams from the images' ``[seed, subject, emotion, level]``.
_CLIP_STREAM = 2**20

#: Largest head drift over a clip: degrees, image sides (per axis), relative scale.
_DRIFT = (3.0, 0.03, 0.03)


def _ease_in_out(n_frames: int, onset_frames: int) -> np.ndarray:
    """Intensity per frame: 0 for ``onset_frames`` frames, then smoothstep up to 1."""
    progress = (np.arange(n_frames) - onset_frames + 1) / (n_frames - onset_frames)
    progress = np.clip(progress, 0.0, 1.0)
    return progress * progress * (3 - 2 * progress)


def _head_drift(rng: np.random.Generator, n_frames: int) -> list[tuple[float, np.ndarray, float]]:
    """Smooth pose offsets per frame: ``(degrees, shift (2,), relative scale)``.

    Each of the four components (rotation, x and y translation, scale) is a
    slow sinusoid of random amplitude (40-100% of :data:`_DRIFT`), frequency
    (a quarter to three quarters of a cycle over the clip) and phase.
    """
    time = np.linspace(0.0, 1.0, n_frames)
    limits = (_DRIFT[0], _DRIFT[1], _DRIFT[1], _DRIFT[2])
    curves = [
        limit
        * rng.uniform(0.4, 1.0)
        * np.sin(rng.uniform(0.5, 1.5) * np.pi * time + rng.uniform(0, 2 * np.pi))
        for limit in limits
    ]
    angle, shift_x, shift_y, scale = curves
    return [
        (float(angle[t]), np.array([shift_x[t], shift_y[t]]), float(scale[t]))
        for t in range(n_frames)
    ]


@functools.lru_cache(maxsize=4)
def generate_clips(
    n_subjects: int,
    emotions: tuple[str, ...],
    n_frames: int,
    onset_frames: int,
    image_size: int,
    blur_sigma: float,
    color: bool,
    seed: int,
) -> tuple[np.ndarray, ...]:
    """All clips ``(n, T, H, W[, 3])`` and per-clip fields (read-only arrays).

    The cached core of :func:`make_sample_clips`, on checked arguments.
    """
    ramp = _ease_in_out(n_frames, onset_frames)
    clips, landmarks, subjects, targets, intensity = [], [], [], [], []
    for subject in range(n_subjects):
        for label, emotion in enumerate(emotions):
            index = SAMPLE_EMOTIONS.index(emotion)
            strengths = np.zeros(n_frames) if emotion == "neutral" else ramp
            drift = _head_drift(
                np.random.default_rng([seed, subject, index, _CLIP_STREAM]), n_frames
            )
            frames, points = [], []
            for strength, pose in zip(strengths, drift):
                sharp, target = render_face(
                    seed,
                    subject,
                    emotion,
                    0,
                    float(strength),
                    image_size,
                    color,
                    pose=pose,
                    warp_maps=warp_maps_fast,
                )
                if blur_sigma > 0:
                    sharp = cv2.GaussianBlur(sharp, (0, 0), blur_sigma).reshape(sharp.shape)
                frame = np.clip(np.rint(sharp), 0, 255).astype(np.uint8)
                frames.append(frame if color else frame[..., 0])
                points.append(target.ravel())
            clips.append(np.stack(frames))
            landmarks.append(np.concatenate(points))
            subjects.append(f"s{subject:02d}")
            targets.append(label)
            intensity.append(strengths)
    return read_only(
        np.stack(clips),
        np.array(targets, dtype=np.int64),
        np.array(subjects),
        np.array(intensity, dtype=np.float64),
        subject_split(subjects, n_subjects),
        np.array(landmarks, dtype=np.float64),
    )


def make_sample_clips(
    n_subjects: int = 8,
    emotions: Sequence[str] = SAMPLE_EMOTIONS,
    n_frames: int = 16,
    onset_frames: int = 4,
    image_size: int = 96,
    blur_sigma: float = 0.0,
    color: bool = False,
    random_state: int | np.random.RandomState | None = 0,
    out_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Generate small labelled facial-expression clips with head motion, offline.

    The subjects are those of :func:`~.faces.make_sample_faces` (subject ``k``'s
    neutral face, lighting and mirroring are the same for the same
    ``random_state``). Each clip shows the subject's neutral face for
    ``onset_frames`` frames, then the expression growing along a smooth
    ease-in-out ramp to its full intensity at the last frame (the
    ``"neutral"`` clip stays at intensity 0). The head drifts smoothly and
    slightly over every clip, neutral included: rotation up to ~3 degrees,
    translation up to ~3% of the image side per axis, scale up to ~3%, drawn
    per subject and clip. So a motion feature must normalise head motion to
    see the expression.

    Parameters
    ----------
    n_subjects : int, default=8
        Number of synthetic identities.
    emotions : sequence of str, default=SAMPLE_EMOTIONS
        Emotions to render, from :data:`SAMPLE_EMOTIONS`; their order is the
        order of ``target_names``.
    n_frames : int, default=16
        Frames per clip ``T`` (at least 1).
    onset_frames : int, default=4
        Leading neutral frames, ``0 <= onset_frames < n_frames``.
    image_size : int, default=96
        Side of the square frames in pixels (at least 32).
    blur_sigma : float, default=0.0
        Gaussian blur sigma of every frame, in output pixels (0: none).
    color : bool, default=False
        RGB frames ``(H, W, 3)`` if True, otherwise grayscale ``(H, W)``.
    random_state : int, RandomState instance or None, default=0
        Seed of the subjects, expressions and head motion, as in
        :func:`~.faces.make_sample_faces`. A fixed (non-negative) int gives identical
        clips on every call.
    out_dir : str or path-like, optional
        If given, write every clip as a folder of PNG frames
        ``out_dir/<emotion>/<subject>_<emotion>/frame_000.png, ...`` and
        return the folders' absolute paths in ``data``: clips that
        :func:`fersk.io.clips.read_clip` and
        :class:`~fersk.landmarks.clip_extractor.ClipLandmarkExtractor` read.

    Returns
    -------
    Bunch
        ``data``: list of uint8 arrays ``(T, H, W)`` or ``(T, H, W, 3)`` (or
        folder paths if ``out_dir``); ``target``: int64 indices into
        ``target_names``; ``target_names``: list of the emotions;
        ``subject``: ids ``"s00"``, ``"s01"``...; ``split``:
        ``"train"``/``"test"`` by subject as in :func:`~.faces.make_sample_faces`;
        ``intensity``: float array ``(n, T)``, the expression strength of
        each frame; ``landmarks``: float array ``(n, T * 136)``, the intended
        68 points of each frame, frame-major (``t0_x0, t0_y0, ..., t0_y67,
        t1_x0, ...``; see :func:`fersk._core.layout.to_sequences`); ``DESCR``.
        Clips are ordered by subject, then emotion.

    Raises
    ------
    ValueError
        If an emotion is unknown or repeated, or a count, size, sigma or
        seed is out of range.
    TypeError
        If ``emotions`` is a single string.

    Notes
    -----
    Generating the default 56 clips of 16 frames at 96 px takes a few
    seconds. Results are cached per argument set; the arrays returned are
    copies.

    See Also
    --------
    fersk.datasets.make_sample_faces : Still images of the same subjects.
    fersk.ClipLandmarkExtractor : Clip landmark rows from the clips (arrays or folders).
    fersk.io.read_clip : Read a clip (array or ``out_dir`` folder), sampled.

    Examples
    --------
    >>> clips = make_sample_clips(n_subjects=1, emotions=["surprise"], n_frames=6,
    ...                           onset_frames=2, image_size=64)
    >>> clips.data[0].shape, clips.landmarks.shape
    ((6, 64, 64), (1, 816))
    >>> clips.intensity[0].round(2).tolist()
    [0.0, 0.0, 0.16, 0.5, 0.84, 1.0]
    """
    emotions = check_emotions(emotions)
    check_integers(
        ("n_subjects", n_subjects, 1), ("n_frames", n_frames, 1), ("image_size", image_size, 32)
    )
    check_integers(("onset_frames", onset_frames, 0))
    if onset_frames >= n_frames:
        raise ValueError(
            f"onset_frames must be smaller than n_frames={n_frames}, got {onset_frames}: "
            "at least the last frame shows the expression"
        )
    if isinstance(blur_sigma, bool) or not isinstance(blur_sigma, (int, float, np.number)):
        raise ValueError(f"blur_sigma must be a finite number >= 0, got {blur_sigma!r}")
    if not np.isfinite(blur_sigma) or blur_sigma < 0:
        raise ValueError(f"blur_sigma must be a finite number >= 0, got {blur_sigma!r}")
    seed = resolve_seed(random_state)
    clips, target, subject, intensity, split, landmarks = generate_clips(
        int(n_subjects),
        emotions,
        int(n_frames),
        int(onset_frames),
        int(image_size),
        float(blur_sigma),
        bool(color),
        seed,
    )
    data: list = [clip.copy() for clip in clips]
    if out_dir is not None:
        data = _write_clip_folders(data, out_dir, emotions, target, subject)
    return Bunch(
        data=data,
        target=target.copy(),
        target_names=list(emotions),
        subject=subject.copy(),
        split=split.copy(),
        intensity=intensity.copy(),
        landmarks=landmarks.copy(),
        DESCR=_DESCR,
    )


def _write_clip_folders(
    clips: list[np.ndarray],
    out_dir: str | os.PathLike[str],
    emotions: tuple[str, ...],
    target: np.ndarray,
    subject: np.ndarray,
) -> list[str]:
    """Write ``out_dir/<emotion>/<subject>_<emotion>/frame_000.png...``; return the folders."""
    root = Path(os.path.abspath(os.path.expanduser(os.fspath(out_dir))))
    folders = []
    for position, clip in enumerate(clips):
        emotion = emotions[target[position]]
        folder = root / emotion / f"{subject[position]}_{emotion}"
        folder.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(clip):
            write_image(folder / f"frame_{t:03d}.png", frame)
        folders.append(str(folder))
    return folders
