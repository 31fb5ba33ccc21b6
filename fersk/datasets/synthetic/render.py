"""Rendering one synthetic face: warping, mouth, lighting.

:func:`render_face` draws one face of a subject making an expression: it
morphs the photograph's landmarks into the subject's neutral face plus the
expression's displacement, places them in the output square with the
subject's head pose, warps the photograph piecewise-affinely onto them
(:func:`warp_maps_fast` is the vectorised warp the clips and videos use),
blends the open- and closed-mouth textures for the mouth's opening, and
applies the subject's lighting.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

from .expressions import (
    SAMPLE_EMOTIONS,
    expression_field,
    idiosyncrasy,
    lip_opening,
    morph,
    neutralize,
)
from .source import FACE_FILL, face_frame, scaled_source

__all__ = ["render_face", "warp_maps_fast"]

_UPPER_INNER_LIP = (60, 61, 62, 63, 64)
_LOWER_INNER_LIP = (60, 67, 66, 65, 64)

#: Where the output's centre lies on the face, relative to the centre of
#: the landmarks' bounding box (face-frame y, inter-ocular distances; <0 is
#: up): near the centre of dlib's detector box, which sits higher.
_CENTRE_SHIFT = -0.12

#: Opening (upper to lower inner lip, in inter-ocular distances) of the mouth
#: at which the photograph's teeth end and the dark mouth cavity begins.
_TEETH_HEIGHT = 0.15

#: Outer-lip points whose surroundings (mouth corners, cheeks by the corners,
#: chin below the lower lip) follow the lips' movements.
_PERIORAL = [48, 54, 57]


# --------------------------------------------------------------------------
# Warp anchors
# --------------------------------------------------------------------------


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


def warp_maps_fast(
    target: np.ndarray, source: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same piecewise-affine warp as :func:`_warp_maps`, vectorised (~5x faster).

    Each output pixel finds its triangle with ``Delaunay.find_simplex`` and
    maps through its barycentric coordinates. Pixels on a shared edge may
    take the other triangle than in :func:`_warp_maps` (the warp is continuous,
    so the maps agree to rounding): :func:`~.faces.make_sample_faces` keeps the loop
    so its images never change; :func:`~.clips.make_sample_clips` and
    :func:`~.video.make_sample_video` use this one.
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


def _mouth(teeth: np.ndarray, closed: np.ndarray, target: np.ndarray, iod: float) -> np.ndarray:
    """Blend the open- and closed-mouth warps and shade the mouth for its opening.

    A nearly closed mouth takes the closed-mouth texture and a dark line
    between the lips; an open one shows the photograph's upper teeth, and
    below them (beyond :data:`_TEETH_HEIGHT`) a dark cavity.
    """
    opening = lip_opening(target) / iod
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


def render_face(
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
    image sides, relative scale)``: :func:`~.clips.make_sample_clips` moves the head
    smoothly with it. ``warp_maps`` computes the warp (see :func:`_warp_maps`).
    """
    subject_rng = np.random.default_rng([seed, subject])
    mirror = bool(subject_rng.random() < 0.5)
    photo, closed, photo_points = scaled_source(image_size, color, mirror)
    centre, iod, rotation = face_frame(photo_points)
    to_source = np.column_stack([rotation * iod, centre])  # face frame -> photo pixels
    photo_frame = _apply(_invert(to_source), photo_points)
    neutral = morph(photo_frame + neutralize(photo_frame), subject_rng)

    # The subject's head pose, expressiveness and lighting ...
    angle = subject_rng.uniform(-6, 6)
    shift = np.array([subject_rng.uniform(-0.04, 0.04), 0.0])
    scale = 1 + subject_rng.uniform(-0.03, 0.03)
    forehead = subject_rng.uniform(1.25, 1.5)  # a higher hairline than the photograph's
    light_seed = int(subject_rng.integers(2**32))
    index = SAMPLE_EMOTIONS.index(emotion)
    gain = subject_rng.uniform(0.85, 1.15, size=len(SAMPLE_EMOTIONS))[index]
    quirk = idiosyncrasy(subject_rng.uniform(-1, 1, size=(len(SAMPLE_EMOTIONS), 6))[index])
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

    field = expression_field(emotion) * quirk[:, None]
    expressive = neutral + intensity * gain * field

    # Face frame -> output pixels. Crop as a face detector would: the
    # subject's neutral face width fixes the scale (up to the jitter), its
    # landmark box the centre.
    box_centre = (neutral.min(axis=0) + neutral.max(axis=0)) / 2 + [0, _CENTRE_SHIFT]
    out_iod = scale * FACE_FILL * image_size / np.ptp(neutral[:17, 0])
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
