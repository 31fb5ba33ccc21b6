"""The synthetic sample faces: :func:`make_sample_faces`.

Generates (and caches per argument set) the labelled still images of the
synthetic subjects, each emotion at several intensities and blur levels,
with their ground-truth landmarks and a subject-independent train/test
split (:func:`n_test_subjects`, shared with the clips), and writes them as
PNG files on request.
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
from .render import render_face

__all__ = [
    "generate_faces",
    "make_sample_faces",
    "n_test_subjects",
    "read_only",
    "subject_split",
]

_DESCR = """\
Synthetic sample faces
----------------------

Facial-expression images generated from scikit-image's public-domain
astronaut photograph (skimage.data.astronaut). Each image is a
piecewise-affine warp of the photograph from its dlib 68-point landmarks to
target landmarks = a subject's neutral face (a random face-shape morph with
its own head pose, mirroring and lighting) plus an expression displacement
(FACS-like movements of brows, eyelids, lips and jaw, in inter-ocular
distances, scaled by an intensity), followed by a Gaussian blur.

The face spans about 80% of the image width (a face detector's box about
75%), like an aligned FER crop. With the default arguments: 8 subjects x 7
emotions x 3 intensities (0.6, 0.8, 1.0) x 3 blur levels = 504 images.

Fields: data, target, target_names, subject, intensity (0 for neutral),
blur (Gaussian sigma in output pixels), split (the last ~25% of subjects
are "test": subject-independent), landmarks (the intended 68 target
points, x0, y0, x1, y1, ... in output pixel coordinates).

The images carry one identity's texture: use them for demos and tests of
the pipeline, not to estimate real-world accuracy.
"""


def _intensities(n_intensities: int) -> np.ndarray:
    """Expression strengths: ``n_intensities`` evenly from 0.6 to 1 (just 1 if one)."""
    if n_intensities == 1:
        return np.ones(1)
    return np.linspace(0.6, 1.0, n_intensities)


def n_test_subjects(n_subjects: int) -> int:
    """About a quarter of the subjects, at least one, leaving one for training."""
    if n_subjects == 1:
        return 0
    return min(n_subjects - 1, max(1, int(np.floor(0.25 * n_subjects + 0.5))))


def subject_split(subjects: list[str], n_subjects: int) -> np.ndarray:
    """``"train"``/``"test"`` per sample: the last :func:`n_test_subjects` subjects test.

    Examples
    --------
    >>> subject_split(["s00", "s01", "s02", "s03"], 4).tolist()
    ['train', 'train', 'train', 'test']
    """
    n_test = n_test_subjects(n_subjects)
    test_subjects = {f"s{s:02d}" for s in range(n_subjects - n_test, n_subjects)}
    return np.array(["test" if s in test_subjects else "train" for s in subjects])


def read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays, made read-only (the generators' results are cached and shared)."""
    for array in arrays:
        array.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=8)
def generate_faces(
    n_subjects: int,
    emotions: tuple[str, ...],
    n_intensities: int,
    blur_sigmas: tuple[float, ...],
    image_size: int,
    color: bool,
    seed: int,
) -> tuple[np.ndarray, ...]:
    """All images ``(n, H, W[, 3])`` and per-image fields (read-only arrays).

    The cached core of :func:`make_sample_faces`, on checked arguments.
    """
    levels = _intensities(n_intensities)
    images, landmarks, subjects, targets, intensity, blur = [], [], [], [], [], []
    for subject in range(n_subjects):
        for label, emotion in enumerate(emotions):
            for level, strength in enumerate(levels):
                if emotion == "neutral":
                    strength = 0.0
                sharp, points = render_face(
                    seed, subject, emotion, level, float(strength), image_size, color
                )
                for sigma in blur_sigmas:
                    image = cv2.GaussianBlur(sharp, (0, 0), sigma) if sigma > 0 else sharp
                    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
                    images.append(image.reshape(sharp.shape if color else sharp.shape[:2]))
                    landmarks.append(points.ravel())
                    subjects.append(f"s{subject:02d}")
                    targets.append(label)
                    intensity.append(strength)
                    blur.append(sigma)
    return read_only(
        np.stack(images),
        np.array(targets, dtype=np.int64),
        np.array(subjects),
        np.array(blur, dtype=np.float64),
        np.array(intensity, dtype=np.float64),
        subject_split(subjects, n_subjects),
        np.array(landmarks, dtype=np.float64),
    )


def _check_arguments(
    n_subjects: int,
    emotions: Sequence[str],
    n_intensities: int,
    blur_sigmas: Sequence[float],
    image_size: int,
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    emotions = check_emotions(emotions)
    check_integers(
        ("n_subjects", n_subjects, 1),
        ("n_intensities", n_intensities, 1),
        ("image_size", image_size, 32),
    )
    sigmas = tuple(float(s) for s in blur_sigmas)
    if not sigmas or any(not np.isfinite(s) or s < 0 for s in sigmas):
        raise ValueError(f"blur_sigmas must be non-empty, finite and >= 0, got {blur_sigmas!r}")
    return emotions, sigmas


def make_sample_faces(
    n_subjects: int = 8,
    emotions: Sequence[str] = SAMPLE_EMOTIONS,
    n_intensities: int = 3,
    blur_sigmas: Sequence[float] = (0.0, 1.2, 2.4),
    image_size: int = 128,
    color: bool = False,
    random_state: int | np.random.RandomState | None = 0,
    out_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Generate a small labelled set of facial-expression images, offline.

    Every image is scikit-image's public-domain astronaut photograph, warped
    piecewise-affinely from its dlib 68-point landmarks to a *subject*'s face
    shape (random face-shape morph, head pose, mirroring, lighting) making an
    *expression* (FACS-like landmark displacements scaled by an intensity),
    cropped to a square around the face (the face is about 80% of the
    width and a face detector's box about 75%, like an aligned FER crop, so
    ``detector="none"`` works) and blurred to several clarity levels. The
    expressions are visible to dlib's shape predictor: a classifier on
    landmark distances learns them across subjects.

    Parameters
    ----------
    n_subjects : int, default=8
        Number of synthetic identities.
    emotions : sequence of str, default=SAMPLE_EMOTIONS
        Emotions to render, from :data:`SAMPLE_EMOTIONS`; their order is the
        order of ``target_names``.
    n_intensities : int, default=3
        Expression strengths per subject and emotion, evenly from 0.6 to 1.0
        of the full expression (1.0 alone if 1).
    blur_sigmas : sequence of float, default=(0.0, 1.2, 2.4)
        Clarity levels: Gaussian blur sigma in output pixels (0: none).
    image_size : int, default=128
        Side of the square output images in pixels (at least 32).
    color : bool, default=False
        RGB ``(H, W, 3)`` images if True, otherwise grayscale ``(H, W)``.
    random_state : int, RandomState instance or None, default=0
        Seed of the subjects and jitter. A fixed (non-negative) int gives
        identical images on every call; subject ``k`` is the same face
        whatever ``n_subjects``, ``emotions`` or ``blur_sigmas``.
    out_dir : str or path-like, optional
        If given, write the images as PNG files
        ``out_dir/<emotion>/<subject>_<emotion>_<i>_<b>.png`` (``i``: the
        intensity level, ``b``: the blur level) and return their paths in
        ``data``. The folder can be read back with
        :func:`~fersk.datasets.load_image_folder`.

    Returns
    -------
    Bunch
        ``data``: list of uint8 arrays (or absolute paths if ``out_dir``);
        ``target``: int64 indices into ``target_names``; ``target_names``:
        list of the emotions; ``subject``: ids ``"s00"``, ``"s01"``...;
        ``intensity``: expression strength (0 for neutral); ``blur``: blur
        sigma; ``split``: ``"train"``/``"test"``, the last ~25% of subjects
        (at least one when there are two or more) being ``"test"``;
        ``landmarks``: float array ``(n, 136)``, the intended 68 target
        points ``x0, y0, x1, y1, ...`` in output pixel coordinates;
        ``DESCR``. Images are ordered by subject, then emotion, then
        intensity, then blur: ``n = n_subjects * len(emotions) *
        n_intensities * len(blur_sigmas)``.

    Raises
    ------
    ValueError
        If an emotion is unknown or repeated, or a count, size, sigma or
        seed is out of range.
    TypeError
        If ``emotions`` is a single string.

    Notes
    -----
    All images share one person's skin texture; they are meant for demos
    and tests of the pipeline, not for estimating real-world accuracy.
    Results are cached per argument set; the arrays returned are copies.

    See Also
    --------
    fersk.datasets.make_sample_clips : Clips of the same subjects.
    fersk.datasets.make_sample_video : A video of the same subjects.
    fersk.datasets.load_image_folder : Load the ``out_dir`` tree back.

    Examples
    --------
    >>> faces = make_sample_faces(n_subjects=1, emotions=["surprise"], n_intensities=1,
    ...                           blur_sigmas=(0.0,), image_size=64)
    >>> len(faces.data), faces.data[0].shape, faces.data[0].dtype
    (1, (64, 64), dtype('uint8'))
    >>> faces.target_names, faces.landmarks.shape
    (['surprise'], (1, 136))
    """
    emotions, sigmas = _check_arguments(
        n_subjects, emotions, n_intensities, blur_sigmas, image_size
    )
    seed = resolve_seed(random_state)
    images, target, subject, blur, intensity, split, landmarks = generate_faces(
        int(n_subjects), emotions, int(n_intensities), sigmas, int(image_size), bool(color), seed
    )
    data: list = [image.copy() for image in images]
    if out_dir is not None:
        data = _write_pngs(data, out_dir, emotions, target, subject, n_intensities, len(sigmas))
    return Bunch(
        data=data,
        target=target.copy(),
        target_names=list(emotions),
        subject=subject.copy(),
        blur=blur.copy(),
        intensity=intensity.copy(),
        split=split.copy(),
        landmarks=landmarks.copy(),
        DESCR=_DESCR,
    )


def _write_pngs(
    images: list[np.ndarray],
    out_dir: str | os.PathLike[str],
    emotions: tuple[str, ...],
    target: np.ndarray,
    subject: np.ndarray,
    n_intensities: int,
    n_blurs: int,
) -> list[str]:
    """Write ``out_dir/<emotion>/<subject>_<emotion>_<i>_<b>.png``; return the paths."""
    root = Path(os.path.abspath(os.path.expanduser(os.fspath(out_dir))))
    paths = []
    for position, image in enumerate(images):
        emotion = emotions[target[position]]
        level, blur_level = divmod(position % (n_intensities * n_blurs), n_blurs)
        folder = root / emotion
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{subject[position]}_{emotion}_{level}_{blur_level}.png"
        paths.append(write_image(path, image))
    return paths
