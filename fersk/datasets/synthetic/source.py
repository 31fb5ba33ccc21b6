"""The anchor photograph of the synthetic faces and its 68 landmarks.

Every synthetic face is a warp of scikit-image's public-domain astronaut
photograph (:func:`skimage.data.astronaut`): this module locates its face
once with dlib's 68-point shape predictor (lips corrected by hand), makes a
closed-mouth version of it, scales it to an output size (optionally
mirrored), and defines the face frame (eye midpoint, inter-ocular distance,
rotation) and the left-right point pairing (:data:`FLIP_68`) the other
modules of :mod:`fersk.datasets.synthetic` work in.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

__all__ = ["FACE_FILL", "FLIP_68", "face_frame", "scaled_source"]

#: Index of the mirror-image partner of each of the 68 iBUG 300-W points.
FLIP_68 = np.array(
    [*range(16, -1, -1)]  # jaw
    + [*range(26, 16, -1)]  # brows
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]  # nose
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lips
)


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
FACE_FILL = 0.8

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

    from ...landmarks.dlib_backend import DlibLandmarker

    image = astronaut()
    points = DlibLandmarker(n_landmarks=68, detector="hog")(image).reshape(68, 2)
    _, iod, rotation = face_frame(points)
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


def face_frame(points: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
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
def scaled_source(
    image_size: int, color: bool, mirror: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photograph (open and closed mouth) at output scale, and its landmarks.

    The float32 images ``(H, W, C)`` (C is 1 or 3) are scaled so the face
    width will be :data:`FACE_FILL` of ``image_size``; the landmarks
    ``(68, 2)`` are in their pixels. ``mirror`` flips them left-right.
    """
    image, closed, points = _astronaut()
    scale = FACE_FILL * image_size / np.ptp(points[:17, 0])
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
        points = points[FLIP_68] * [-1, 1] + [images[0].shape[1] - 1, 0]
    for array in (*images, points):
        array.setflags(write=False)
    return images[0], images[1], points
