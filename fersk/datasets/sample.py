"""A small synthetic, labelled set of real-looking faces, generated offline.

:func:`make_sample_faces` builds facial-expression images from the
public-domain astronaut photograph that ships with scikit-image
(:func:`skimage.data.astronaut`). dlib's 68-point shape predictor locates the
face once; every image is then a piecewise-affine warp of that photograph
from its landmarks to target landmarks:

* a *subject* is a random, smooth change of face shape (face width and
  height, jaw, eye spacing and size, brows, nose, mouth, lips), head pose,
  mirroring and lighting;
* an *expression* is a FACS-like displacement of the landmarks (brows,
  eyelids, lips, jaw), in units of the inter-ocular distance, scaled by an
  intensity;
* a *clarity level* is a Gaussian blur.

The target landmarks are returned too, as ground truth. Everything is
deterministic for a fixed ``random_state`` and needs no network access.

:func:`make_sample_clips` renders short expression *clips* of the same
subjects (subject ``k``'s neutral face is the one of
:func:`make_sample_faces`): each starts on the neutral face for a few onset
frames, then eases in and out to the full expression at the last frame,
while the head drifts smoothly and slightly (translation, rotation and
scale, drawn per subject and clip; the neutral clip drifts too), so motion
features must normalise head motion. Per-frame intensities and ground-truth
landmarks (in the clip layout of :mod:`fersk.clips`) come with them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial import Delaunay
from sklearn.utils import Bunch, check_random_state

from ._base import EMOTIONS

__all__ = ["SAMPLE_EMOTIONS", "make_sample_clips", "make_sample_faces"]

SAMPLE_EMOTIONS: tuple[str, ...] = EMOTIONS[:7]
"""The emotions :func:`make_sample_faces` and :func:`make_sample_clips` render, in order."""

#: Index of the mirror-image partner of each of the 68 iBUG 300-W points.
_FLIP_68 = np.array(
    [*range(16, -1, -1)]  # jaw
    + [*range(26, 16, -1)]  # brows
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]  # nose
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lips
)

#: Points on the person's left side (the image's right).
_PERSON_LEFT = np.r_[9:17, 22:27, 34:36, 42:48, 52:57, 63:66]

_UPPER_INNER_LIP = (60, 61, 62, 63, 64)
_LOWER_INNER_LIP = (60, 67, 66, 65, 64)

#: Corrections (face-frame units, y down) of dlib's lip points on the
#: astronaut photograph: it puts the upper inner lip in the middle of the
#: upper teeth, and the outer upper lip a little low.
_PHOTO_FIXES: dict[int, tuple[float, float]] = {
    49: (0.0, -0.02),
    50: (0.0, -0.03),
    51: (0.0, -0.03),
    52: (0.0, -0.03),
    53: (0.0, -0.02),
    61: (0.0, -0.07),
    62: (0.0, -0.07),
    63: (0.0, -0.07),
    65: (0.0, -0.02),
    66: (0.0, -0.02),
    67: (0.0, -0.02),
}

#: Face width (jaw point 0 to 16) as a fraction of the output side: dlib's
#: detector box then spans ~75% of it, and the shape predictor run on the
#: whole image (``detector="none"``) finds the face reliably.
_FACE_FILL = 0.8

#: Where the output's centre lies on the face, relative to the centre of
#: the landmarks' bounding box (face-frame y, inter-ocular distances; <0 is
#: up): near the centre of dlib's detector box, which sits higher.
_CENTRE_SHIFT = -0.12

#: Opening (upper to lower inner lip, in inter-ocular distances) of the mouth
#: at which the photograph's teeth end and the dark mouth cavity begins.
_TEETH_HEIGHT = 0.15

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


# --------------------------------------------------------------------------
# The anchor photograph
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _astronaut() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The astronaut photograph, a closed-mouth version of it, and its landmarks.

    The landmarks ``(68, 2)`` are dlib's (HOG detector, 68-point predictor),
    with the lips corrected by :data:`_PHOTO_FIXES`. The closed-mouth image
    has the teeth (inside the inner lips) inpainted with lip colour. All
    arrays are read-only.
    """
    from skimage.data import astronaut

    from ..landmarks.dlib_backend import DlibLandmarker

    image = astronaut()
    points = DlibLandmarker(n_landmarks=68, detector="hog")(image).reshape(68, 2)
    _, iod, rotation = _frame(points)
    fixes = np.zeros((68, 2))
    fixes[list(_PHOTO_FIXES)] = list(_PHOTO_FIXES.values())
    points = points + fixes @ rotation.T * iod
    mouth = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillPoly(mouth, [np.round(points[60:68]).astype(np.int32)], 255)
    mouth = cv2.dilate(mouth, np.ones((3, 3), np.uint8))
    closed = cv2.inpaint(image, mouth, 3, cv2.INPAINT_TELEA)
    for array in (image, closed, points):
        array.setflags(write=False)
    return image, closed, points


def _frame(points: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Face frame of 68 landmarks: eye midpoint, inter-ocular distance, rotation.

    The rotation's columns are the frame's x axis (right eye to left eye) and
    y axis (down the face); face-frame coordinates are in inter-ocular
    distances.
    """
    right = points[[36, 39]].mean(axis=0)
    left = points[[42, 45]].mean(axis=0)
    axis = left - right
    iod = float(np.hypot(*axis))
    cos, sin = axis / iod
    rotation = np.array([[cos, -sin], [sin, cos]])
    return (right + left) / 2, iod, rotation


@functools.lru_cache(maxsize=4)
def _source(
    image_size: int, color: bool, mirror: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photograph (open and closed mouth) at output scale, and its landmarks.

    The float32 images ``(H, W, C)`` (C is 1 or 3) are scaled so the face
    width will be :data:`_FACE_FILL` of ``image_size``; the landmarks
    ``(68, 2)`` are in their pixels. ``mirror`` flips them left-right.
    """
    image, closed, points = _astronaut()
    scale = _FACE_FILL * image_size / np.ptp(points[:17, 0])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    images = []
    for photo in (image, closed):
        scaled = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=interpolation)
        if not color:
            scaled = cv2.cvtColor(scaled, cv2.COLOR_RGB2GRAY)[..., None]
        if mirror:
            scaled = scaled[:, ::-1]
        images.append(np.ascontiguousarray(scaled, dtype=np.float32))
    points = (points + 0.5) * scale - 0.5
    if mirror:
        points = points[_FLIP_68] * [-1, 1] + [images[0].shape[1] - 1, 0]
    for array in (*images, points):
        array.setflags(write=False)
    return images[0], images[1], points


# --------------------------------------------------------------------------
# Landmark displacements (face-frame units: inter-ocular distances, y down)
# --------------------------------------------------------------------------


def _move(field: np.ndarray, indices: Sequence[int], out: float = 0.0, up: float = 0.0) -> None:
    """Move person's-right points ``indices`` out/up, and their mirror partners alike.

    ``out`` is away from the facial midline (negative: towards it), ``up`` is
    up the face. Midline points (their own partner) only move up.
    """
    for index in indices:
        partner = _FLIP_68[index]
        if partner == index:
            field[index] += (0.0, -up)
        else:
            field[index] += (-out, -up)
            field[partner] += (out, -up)


def _jaw_drop(field: np.ndarray, amount: float, chin: float = 1.0) -> None:
    """Open the jaw by ``amount``: lower lip and (``chin`` times) chin down."""
    for index, weight in ((8, 1.0), (7, 0.9), (6, 0.7), (5, 0.45), (4, 0.2), (3, 0.05)):
        _move(field, [index], up=-amount * weight * chin)
    _move(field, [57, 66], up=-amount)
    _move(field, [56, 65], up=-amount * 0.95)
    _move(field, [55], up=-amount * 0.6)


def _neutralize(source: np.ndarray) -> np.ndarray:
    """Displacement that turns the photograph's open smile into a neutral face."""
    field = np.zeros((68, 2))
    # Relax the smile: upper lip, mouth corners and cheeks down, corners in.
    _move(field, [49, 50, 51, 61, 62], up=-0.04)
    _move(field, [48, 60], out=-0.05, up=-0.05)
    _move(field, [49, 59], out=-0.02, up=-0.02)
    _move(field, [40, 41], up=-0.015)
    # Close the lips over the teeth: the lower lip and chin come up.
    _jaw_drop(field, -(_lip_opening(source + field) - 0.015), chin=0.4)
    return field


def _expression(emotion: str) -> np.ndarray:
    """Landmark displacement ``(68, 2)`` of ``emotion`` at full intensity."""
    field = np.zeros((68, 2))
    brows_inner, brows_mid, brows_outer = [20, 21], [19], [17, 18]
    upper_lids, lower_lids = [37, 38], [40, 41]
    if emotion == "happiness":
        _move(field, [48, 60], out=0.10, up=0.10)
        _move(field, [49, 59], out=0.05, up=0.06)
        _move(field, [50, 61], out=0.02, up=0.03)
        _move(field, [51, 62], up=0.03)
        _jaw_drop(field, 0.10)
        _move(field, [65], up=-0.02)
        _move(field, lower_lids, up=0.04)
        _move(field, [2, 3, 4], out=0.02, up=0.02)
    elif emotion == "surprise":
        _move(field, brows_inner + brows_mid, up=0.16)
        _move(field, brows_outer, up=0.12)
        _move(field, upper_lids, up=0.05)
        _move(field, lower_lids, up=-0.015)
        _jaw_drop(field, 0.32)
        _move(field, [48, 60], out=-0.06, up=-0.10)
        _move(field, [49, 59], out=-0.04, up=-0.03)
        _move(field, [55], up=-0.10)
        _move(field, [50, 51, 61, 62], up=0.02)
    elif emotion == "sadness":
        _move(field, [21], out=-0.03, up=0.14)
        _move(field, [20], out=-0.01, up=0.09)
        _move(field, [19], up=0.02)
        _move(field, [17], up=-0.06)
        _move(field, [18], up=-0.03)
        _move(field, upper_lids, up=-0.03)
        _move(field, [48, 60], out=-0.01, up=-0.15)
        _move(field, [49], up=-0.06)
        _move(field, [59], up=-0.10)
        _move(field, [58, 67], up=-0.02)
        _move(field, [57], up=0.02)
        _move(field, [61, 62, 65, 66], up=0.02)
        _move(field, [7, 8], up=0.03)
    elif emotion == "anger":
        _move(field, brows_outer + brows_mid, up=-0.08)
        _move(field, [20], out=-0.03, up=-0.12)
        _move(field, [21], out=-0.06, up=-0.15)
        _move(field, upper_lids, up=-0.04)
        _move(field, lower_lids, up=0.025)
        _move(field, [50, 51], up=-0.035)
        _move(field, [56, 57], up=0.035)
        _move(field, [48, 60], out=-0.05)
        _move(field, [49, 59], out=-0.025)
        _move(field, [31, 32], out=0.02)
    elif emotion == "disgust":
        _move(field, [49, 50, 51], up=0.10)
        _move(field, [61, 62], up=0.09)
        _move(field, [31, 32, 33], up=0.06)
        _move(field, [31], out=0.02)
        _move(field, [30, 29], up=0.03)
        _move(field, brows_outer + brows_mid, up=-0.05)
        _move(field, brows_inner, out=-0.02, up=-0.08)
        _move(field, [48, 60], up=-0.04)
        _move(field, [65, 66, 56, 57], up=0.03)
        _move(field, lower_lids, up=0.04)
    elif emotion == "fear":
        _move(field, [21], out=-0.04, up=0.13)
        _move(field, [20], out=-0.02, up=0.12)
        _move(field, brows_mid, up=0.09)
        _move(field, brows_outer, up=0.05)
        _move(field, upper_lids, up=0.05)
        _move(field, lower_lids, up=-0.02)
        _jaw_drop(field, 0.16)
        _move(field, [48, 60], out=0.11, up=-0.04)
        _move(field, [49, 59], out=0.06, up=-0.01)
        _move(field, [50, 61, 58, 67], out=0.02)
    elif emotion != "neutral":
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {SAMPLE_EMOTIONS}")
    return field


def _morph(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random plausible identity: face-shape changes of face-frame landmarks."""
    p = points.copy()

    def uniform(width: float) -> float:
        return float(rng.uniform(-width, width))

    # Whole face width and height (about the eye midpoint).
    p *= [1 + uniform(0.08), 1 + uniform(0.08)]
    # Jaw width, more at the chin level than at the ears.
    jaw = np.arange(17)
    lower = np.clip(p[jaw, 1], 0, None) / max(p[jaw, 1].max(), 1e-6)
    p[jaw, 0] *= 1 + uniform(0.08) * lower
    # Eye spacing, eye size, brow height.
    spacing = uniform(0.03)
    for eye in (range(36, 42), range(42, 48)):
        eye = list(eye)
        sign = np.sign(p[eye, 0].mean())
        centre = p[eye].mean(axis=0)
        p[eye] = centre + (p[eye] - centre) * [1 + uniform(0.08), 1 + uniform(0.12)]
        p[eye, 0] += sign * spacing
    brows = list(range(17, 27))
    p[brows, 0] += np.sign(p[brows, 0]) * spacing
    p[brows, 1] -= uniform(0.06)
    # Nose length and width.
    nose_tip = list(range(30, 36))
    p[nose_tip, 1] += uniform(0.04)
    wings = list(range(31, 36))
    p[wings, 0] = p[33, 0] + (p[wings, 0] - p[33, 0]) * (1 + uniform(0.12))
    # Mouth width and height, lip thickness.
    mouth = list(range(48, 68))
    centre = p[mouth].mean(axis=0)
    p[mouth, 0] = centre[0] + (p[mouth, 0] - centre[0]) * (1 + uniform(0.08))
    p[mouth, 1] += uniform(0.04)
    p[[49, 50, 51, 52, 53], 1] -= rng.uniform(0, 0.03)
    p[[55, 56, 57, 58, 59], 1] += uniform(0.03)
    return p


_REGIONS = (range(0, 17), range(17, 27), range(27, 36), range(36, 48), range(48, 68))


def _idiosyncrasy(draws: np.ndarray) -> np.ndarray:
    """Per-point gains ``(68,)`` of a subject's way of making an expression.

    ``draws`` are 6 numbers in [-1, 1]: one gain (0.8 to 1.2) per region
    (jaw, brows, nose, eyes, mouth) and a left/right asymmetry (+-10%).
    Region-wide gains keep neighbouring points moving together (no folds).
    """
    gains = np.empty(68)
    for region, draw in zip(_REGIONS, draws[:5]):
        gains[list(region)] = 1 + 0.2 * draw
    gains[_PERSON_LEFT] *= 1 + 0.1 * draws[5]
    return gains


#: Outer-lip points whose surroundings (mouth corners, cheeks by the corners,
#: chin below the lower lip) follow the lips' movements.
_PERIORAL = [48, 54, 57]


def _virtual_points(
    photo: np.ndarray, neutral: np.ndarray, expressive: np.ndarray, forehead: float
) -> tuple[np.ndarray, np.ndarray]:
    """Extra warp anchors (face frame) in the photograph and in the target.

    * forehead points ``0.45 * forehead`` above the ``neutral`` brows
      (``forehead=1``: at the photograph's hairline); they do not follow the
      expression, so raised brows compress the forehead;
    * a ring around the jaw that follows the ``expressive`` jaw (the neck
      moves with a dropped chin);
    * points around the mouth that follow 85% of the lips' movement, so the
      skin folds at the mouth corners move with them.

    ``photo`` are the photograph's landmarks; returns the anchors' source and
    target positions.
    """
    rows = [17, 19, 21, 22, 24, 26]
    jaw = [0, 2, 4, 6, 8, 10, 12, 14, 16]
    centre = np.array([0.0, 0.35])
    lips = photo[_PERIORAL] + (photo[_PERIORAL] - photo[48:60].mean(axis=0)) * 0.3
    source = np.vstack([photo[rows] + [0.0, -0.45], centre + (photo[jaw] - centre) * 1.22, lips])
    target = np.vstack(
        [
            neutral[rows] + [0.0, -0.45 * forehead],
            centre + (expressive[jaw] - centre) * 1.22,
            lips + 0.85 * (expressive[_PERIORAL] - photo[_PERIORAL]),
        ]
    )
    return source, target


# --------------------------------------------------------------------------
# Warping
# --------------------------------------------------------------------------


def _similarity(scale: float, angle: float, offset: np.ndarray) -> np.ndarray:
    """A 2x3 matrix ``x -> scale * R(angle) x + offset``."""
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[cos, -sin, offset[0]], [sin, cos, offset[1]]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(matrix)


def _border(size: int, per_side: int = 7) -> np.ndarray:
    """Anchor points on a square a quarter of ``size`` outside the output image.

    Far enough out that the face's changes fade out mostly beyond the image.
    """
    ticks = np.linspace(-0.25 * size, 1.25 * size, per_side)
    lo, hi = ticks[0], ticks[-1]
    points = [(t, lo) for t in ticks] + [(t, hi) for t in ticks]
    points += [(lo, t) for t in ticks[1:-1]] + [(hi, t) for t in ticks[1:-1]]
    return np.array(points)


def _warp_maps(target: np.ndarray, source: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps of the piecewise-affine warp sending ``source`` to ``target``.

    The target points are triangulated (Delaunay) and must cover the whole
    ``size`` x ``size`` output; each output pixel samples the source through
    the affine map of the triangle it lies in.
    """
    triangles = Delaunay(target).simplices
    maps = np.zeros((size, size, 2), dtype=np.float32)
    for corners, images in zip(target[triangles], source[triangles]):
        lo = np.maximum(np.ceil(corners.min(axis=0) - 1e-6), 0).astype(int)
        hi = np.minimum(np.floor(corners.max(axis=0) + 1e-6), size - 1).astype(int)
        if np.any(hi < lo):
            continue
        edges = corners[1:] - corners[0]
        det = edges[0, 0] * edges[1, 1] - edges[0, 1] * edges[1, 0]
        if abs(det) < 1e-12:
            continue
        xs, ys = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1))
        dx, dy = xs - corners[0, 0], ys - corners[0, 1]
        u = (dx * edges[1, 1] - dy * edges[1, 0]) / det
        v = (dy * edges[0, 0] - dx * edges[0, 1]) / det
        inside = (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9)
        if not inside.any():
            continue
        u, v = u[inside], v[inside]
        mapped = images[0] + np.outer(u, images[1] - images[0]) + np.outer(v, images[2] - images[0])
        maps[ys[inside], xs[inside]] = mapped
    return maps[..., 0], maps[..., 1]


def _warp_maps_fast(
    target: np.ndarray, source: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same piecewise-affine warp as :func:`_warp_maps`, vectorised (~5x faster).

    Each output pixel finds its triangle with ``Delaunay.find_simplex`` and
    maps through its barycentric coordinates. Pixels on a shared edge may
    take the other triangle than in :func:`_warp_maps` (the warp is continuous,
    so the maps agree to rounding): :func:`make_sample_faces` keeps the loop
    so its images never change; :func:`make_sample_clips` uses this one.
    """
    triangulation = Delaunay(target)
    ys, xs = np.mgrid[0:size, 0:size]
    pixels = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float64)
    simplex = triangulation.find_simplex(pixels)
    # The far border covers the output, so every pixel lies in a triangle.
    simplex = np.maximum(simplex, 0)
    affine = triangulation.transform[simplex]  # (n, 3, 2): inverse matrix, then origin
    partial = np.einsum("nij,nj->ni", affine[:, :2], pixels - affine[:, 2])
    weights = np.column_stack([partial, 1 - partial.sum(axis=1)])
    mapped = np.einsum("ni,nij->nj", weights, source[triangulation.simplices[simplex]])
    mapped = mapped.astype(np.float32)
    return mapped[:, 0].reshape(size, size), mapped[:, 1].reshape(size, size)


def _lip_opening(points: np.ndarray) -> float:
    """Mean gap between the middle inner-lip points, in the units of ``points``."""
    return float(np.mean(points[[67, 66, 65], 1] - points[[61, 62, 63], 1]))


def _mouth(teeth: np.ndarray, closed: np.ndarray, target: np.ndarray, iod: float) -> np.ndarray:
    """Blend the open- and closed-mouth warps and shade the mouth for its opening.

    A nearly closed mouth takes the closed-mouth texture and a dark line
    between the lips; an open one shows the photograph's upper teeth, and
    below them (beyond :data:`_TEETH_HEIGHT`) a dark cavity.
    """
    opening = _lip_opening(target) / iod
    weight = float(np.clip((opening - 0.035) / 0.04, 0, 1))
    image = closed + (teeth - closed) * weight
    upper, lower = target[list(_UPPER_INNER_LIP)], target[list(_LOWER_INNER_LIP)]
    height, width = image.shape[:2]
    shade = np.array([70.0, 30.0, 35.0] if image.shape[2] == 3 else [40.0], np.float32)
    dark = np.zeros((height, width), np.float32)
    if weight < 1:  # the line between closed lips: a smooth curve through them
        middle = (upper + lower) / 2
        xs = np.linspace(middle[0, 0], middle[-1, 0], 24)
        ys = np.polyval(np.polyfit(middle[:, 0], middle[:, 1], 2), xs)
        curve = np.round(np.column_stack([xs, ys]) * 16).astype(np.int32)
        thickness = max(1, round(iod / 45))
        cv2.polylines(dark, [curve], False, 0.6 * (1 - weight), thickness, cv2.LINE_AA, shift=4)
        dark = cv2.GaussianBlur(dark, (0, 0), 0.01 * iod)
    if opening > _TEETH_HEIGHT:  # the cavity below the teeth
        left, right = int(np.ceil(upper[:, 0].min())), int(np.floor(upper[:, 0].max()))
        left, right = max(left, 0), min(right, width - 1)
        xs = np.arange(left, right + 1, dtype=np.float64)
        y_up = np.interp(xs, upper[:, 0], upper[:, 1])
        y_low = np.interp(xs, lower[:, 0], lower[:, 1])
        ys = np.arange(height, dtype=np.float64)[:, None]
        inside = np.clip(ys - y_up + 0.5, 0, 1) * np.clip(y_low - ys + 0.5, 0, 1)
        depth = (ys - y_up) / np.maximum(y_low - y_up, 1e-6)  # 0 upper .. 1 lower lip
        # The teeth show less towards the corners of the mouth.
        across = (xs - (upper[0, 0] + upper[-1, 0]) / 2) / max(np.ptp(upper[:, 0]) / 2, 1e-6)
        teeth = _TEETH_HEIGHT * iod * (1 - 0.6 * np.clip(across, -1, 1) ** 2)
        below_teeth = np.clip((ys - y_up - teeth) / (0.06 * iod), 0, 1)
        strength = np.clip((opening - _TEETH_HEIGHT) / 0.06, 0, 1)
        cavity = inside * below_teeth * np.clip((1 - depth) / 0.15 + 0.3, 0, 1)
        dark[:, left : right + 1] = np.maximum(dark[:, left : right + 1], 0.85 * strength * cavity)
    return image + (shade - image) * dark[..., None]


def _lighting(image: np.ndarray, rng: np.random.Generator, color: bool) -> np.ndarray:
    """Random brightness, contrast, gamma, side lighting and (colour) skin tone."""
    size = image.shape[0]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-0.5, 0.5, size)
    gradient = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
    image = image * (1 + rng.uniform(0, 0.35) * gradient)[..., None].astype(np.float32)
    if color:
        image = image * (1 + rng.normal(0, 0.04, size=3)).astype(np.float32)
    image = 255.0 * (np.clip(image, 0, 255) / 255.0) ** rng.uniform(0.8, 1.25)
    mean = image.mean()
    image = (image - mean) * rng.uniform(0.8, 1.2) + mean + rng.uniform(-20, 20)
    return np.clip(image, 0, 255).astype(np.float32)


def _render(
    seed: int,
    subject: int,
    emotion: str,
    level: int,
    intensity: float,
    image_size: int,
    color: bool,
    pose: tuple[float, np.ndarray, float] | None = None,
    warp_maps=_warp_maps,
) -> tuple[np.ndarray, np.ndarray]:
    """One sharp float image ``(H, W, C)`` and its target landmarks ``(68, 2)``.

    ``pose`` replaces the random per-image jitter of the subject's head pose
    (drawn from ``level``) by explicit offsets ``(degrees, shift (2,) in
    image sides, relative scale)``: :func:`make_sample_clips` moves the head
    smoothly with it. ``warp_maps`` computes the warp (see :func:`_warp_maps`).
    """
    subject_rng = np.random.default_rng([seed, subject])
    mirror = bool(subject_rng.random() < 0.5)
    photo, closed, photo_points = _source(image_size, color, mirror)
    centre, iod, rotation = _frame(photo_points)
    to_source = np.column_stack([rotation * iod, centre])  # face frame -> photo pixels
    photo_frame = _apply(_invert(to_source), photo_points)
    neutral = _morph(photo_frame + _neutralize(photo_frame), subject_rng)

    # The subject's head pose, expressiveness and lighting ...
    angle = subject_rng.uniform(-6, 6)
    shift = np.array([subject_rng.uniform(-0.04, 0.04), 0.0])
    scale = 1 + subject_rng.uniform(-0.03, 0.03)
    forehead = subject_rng.uniform(1.25, 1.5)  # a higher hairline than the photograph's
    light_seed = int(subject_rng.integers(2**32))
    index = SAMPLE_EMOTIONS.index(emotion)
    gain = subject_rng.uniform(0.85, 1.15, size=len(SAMPLE_EMOTIONS))[index]
    quirk = _idiosyncrasy(subject_rng.uniform(-1, 1, size=(len(SAMPLE_EMOTIONS), 6))[index])
    # ... with a small per-image jitter (or the given pose offsets).
    if pose is None:
        image_rng = np.random.default_rng([seed, subject, index, level])
        pose = (
            image_rng.uniform(-1.5, 1.5),
            image_rng.uniform(-0.01, 0.01, size=2),
            image_rng.uniform(-0.015, 0.015),
        )
    angle = np.deg2rad(angle + pose[0])
    shift += pose[1]
    scale *= 1 + pose[2]

    field = _expression(emotion) * quirk[:, None]
    expressive = neutral + intensity * gain * field

    # Face frame -> output pixels. Crop as a face detector would: the
    # subject's neutral face width fixes the scale (up to the jitter), its
    # landmark box the centre.
    box_centre = (neutral.min(axis=0) + neutral.max(axis=0)) / 2 + [0, _CENTRE_SHIFT]
    out_iod = scale * _FACE_FILL * image_size / np.ptp(neutral[:17, 0])
    to_output = _similarity(out_iod, angle, np.zeros(2))
    centre_out = (image_size - 1) / 2 + shift * image_size
    to_output[:, 2] = centre_out - _apply(to_output, box_centre[None])[0]

    # Anchors: the landmarks, virtual points near the image, a far border.
    source_virtual, target_virtual = _virtual_points(photo_frame, neutral, expressive, forehead)
    target = _apply(to_output, np.vstack([expressive, target_virtual]))
    source = _apply(to_source, np.vstack([photo_frame, source_virtual]))
    margin = 0.12 * image_size
    keep = np.all((target > -margin) & (target < image_size - 1 + margin), axis=1)
    keep[:68] = True
    border = _border(image_size)
    border_source = _apply(to_source, _apply(_invert(to_output), border))
    map_x, map_y = warp_maps(
        np.vstack([target[keep], border]), np.vstack([source[keep], border_source]), image_size
    )
    target = target[:68]
    teeth, lips = (
        cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        for texture in (photo, closed)
    )
    shape = (image_size, image_size, photo.shape[2])
    image = _mouth(teeth.reshape(shape), lips.reshape(shape), target, out_iod)
    image = _lighting(image, np.random.default_rng(light_seed), color)
    return image, target


def _intensities(n_intensities: int) -> np.ndarray:
    """Expression strengths: ``n_intensities`` evenly from 0.6 to 1 (just 1 if one)."""
    if n_intensities == 1:
        return np.ones(1)
    return np.linspace(0.6, 1.0, n_intensities)


def _n_test_subjects(n_subjects: int) -> int:
    """About a quarter of the subjects, at least one, leaving one for training."""
    if n_subjects == 1:
        return 0
    return min(n_subjects - 1, max(1, int(np.floor(0.25 * n_subjects + 0.5))))


@functools.lru_cache(maxsize=8)
def _generate(
    n_subjects: int,
    emotions: tuple[str, ...],
    n_intensities: int,
    blur_sigmas: tuple[float, ...],
    image_size: int,
    color: bool,
    seed: int,
) -> tuple[np.ndarray, ...]:
    """All images ``(n, H, W[, 3])`` and per-image fields (read-only arrays)."""
    levels = _intensities(n_intensities)
    images, landmarks, subjects, targets, intensity, blur = [], [], [], [], [], []
    for subject in range(n_subjects):
        for label, emotion in enumerate(emotions):
            for level, strength in enumerate(levels):
                if emotion == "neutral":
                    strength = 0.0
                sharp, points = _render(
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
    n_test = _n_test_subjects(n_subjects)
    test_subjects = {f"s{s:02d}" for s in range(n_subjects - n_test, n_subjects)}
    split = np.array(["test" if s in test_subjects else "train" for s in subjects])
    fields = (
        np.stack(images),
        np.array(targets, dtype=np.int64),
        np.array(subjects),
        np.array(blur, dtype=np.float64),
        np.array(intensity, dtype=np.float64),
        split,
        np.array(landmarks, dtype=np.float64),
    )
    for field in fields:
        field.setflags(write=False)
    return fields


def _check_emotions(emotions: Sequence[str]) -> tuple[str, ...]:
    if isinstance(emotions, str):
        raise TypeError(f"emotions must be a sequence of names, not the string {emotions!r}")
    emotions = tuple(emotions)
    unknown = [e for e in emotions if e not in SAMPLE_EMOTIONS]
    if unknown:
        raise ValueError(f"unknown emotions {unknown}; expected names from {SAMPLE_EMOTIONS}")
    if not emotions or len(set(emotions)) != len(emotions):
        raise ValueError(f"emotions must be non-empty and without repeats, got {emotions}")
    return emotions


def _check_integers(*checks: tuple[str, object, int]) -> None:
    for name, value, low in checks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _resolve_seed(random_state: int | np.random.RandomState | None) -> int:
    """A non-negative int seed: the int itself, or one drawn from ``random_state``."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        seed = int(random_state)
        if seed < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {seed}")
        return seed
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _check_arguments(
    n_subjects: int,
    emotions: Sequence[str],
    n_intensities: int,
    blur_sigmas: Sequence[float],
    image_size: int,
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    emotions = _check_emotions(emotions)
    _check_integers(
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
    seed = _resolve_seed(random_state)
    images, target, subject, blur, intensity, split, landmarks = _generate(
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
        pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
        if not cv2.imwrite(str(path), pixels):
            raise OSError(f"could not write {path}")
        paths.append(str(path))
    return paths


# --------------------------------------------------------------------------
# Clips
# --------------------------------------------------------------------------

_CLIPS_DESCR = """\
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
output pixel coordinates; see fersk.clips.to_sequences).

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
def _generate_clips(
    n_subjects: int,
    emotions: tuple[str, ...],
    n_frames: int,
    onset_frames: int,
    image_size: int,
    blur_sigma: float,
    color: bool,
    seed: int,
) -> tuple[np.ndarray, ...]:
    """All clips ``(n, T, H, W[, 3])`` and per-clip fields (read-only arrays)."""
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
                sharp, target = _render(
                    seed,
                    subject,
                    emotion,
                    0,
                    float(strength),
                    image_size,
                    color,
                    pose=pose,
                    warp_maps=_warp_maps_fast,
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
    n_test = _n_test_subjects(n_subjects)
    test_subjects = {f"s{s:02d}" for s in range(n_subjects - n_test, n_subjects)}
    split = np.array(["test" if s in test_subjects else "train" for s in subjects])
    fields = (
        np.stack(clips),
        np.array(targets, dtype=np.int64),
        np.array(subjects),
        np.array(intensity, dtype=np.float64),
        split,
        np.array(landmarks, dtype=np.float64),
    )
    for field in fields:
        field.setflags(write=False)
    return fields


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

    The subjects are those of :func:`make_sample_faces` (subject ``k``'s
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
        :func:`make_sample_faces`. A fixed (non-negative) int gives identical
        clips on every call.
    out_dir : str or path-like, optional
        If given, write every clip as a folder of PNG frames
        ``out_dir/<emotion>/<subject>_<emotion>/frame_000.png, ...`` and
        return the folders' absolute paths in ``data``: clips that
        :func:`fersk.clips.read_clip` and
        :class:`~fersk.landmarks.clip_extractor.ClipLandmarkExtractor` read.

    Returns
    -------
    Bunch
        ``data``: list of uint8 arrays ``(T, H, W)`` or ``(T, H, W, 3)`` (or
        folder paths if ``out_dir``); ``target``: int64 indices into
        ``target_names``; ``target_names``: list of the emotions;
        ``subject``: ids ``"s00"``, ``"s01"``...; ``split``:
        ``"train"``/``"test"`` by subject as in :func:`make_sample_faces`;
        ``intensity``: float array ``(n, T)``, the expression strength of
        each frame; ``landmarks``: float array ``(n, T * 136)``, the intended
        68 points of each frame, frame-major (``t0_x0, t0_y0, ..., t0_y67,
        t1_x0, ...``; see :func:`fersk.clips.to_sequences`); ``DESCR``.
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

    Examples
    --------
    >>> clips = make_sample_clips(n_subjects=1, emotions=["surprise"], n_frames=6,
    ...                           onset_frames=2, image_size=64)
    >>> clips.data[0].shape, clips.landmarks.shape
    ((6, 64, 64), (1, 816))
    >>> clips.intensity[0].round(2).tolist()
    [0.0, 0.0, 0.16, 0.5, 0.84, 1.0]
    """
    emotions = _check_emotions(emotions)
    _check_integers(
        ("n_subjects", n_subjects, 1), ("n_frames", n_frames, 1), ("image_size", image_size, 32)
    )
    _check_integers(("onset_frames", onset_frames, 0))
    if onset_frames >= n_frames:
        raise ValueError(
            f"onset_frames must be smaller than n_frames={n_frames}, got {onset_frames}: "
            "at least the last frame shows the expression"
        )
    if isinstance(blur_sigma, bool) or not isinstance(blur_sigma, (int, float, np.number)):
        raise ValueError(f"blur_sigma must be a finite number >= 0, got {blur_sigma!r}")
    if not np.isfinite(blur_sigma) or blur_sigma < 0:
        raise ValueError(f"blur_sigma must be a finite number >= 0, got {blur_sigma!r}")
    seed = _resolve_seed(random_state)
    clips, target, subject, intensity, split, landmarks = _generate_clips(
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
        DESCR=_CLIPS_DESCR,
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
            path = folder / f"frame_{t:03d}.png"
            pixels = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if frame.ndim == 3 else frame
            if not cv2.imwrite(str(path), pixels):
                raise OSError(f"could not write {path}")
        folders.append(str(folder))
    return folders
