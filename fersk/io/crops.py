"""Face crops: the square crop around a face box, framed as FER2013 frames its faces.

:func:`face_crop_window` says where the crop is cut (:data:`CROP_SCALE` box
sides, :data:`CROP_SHIFT` above the box centre), :func:`face_crop` cuts it
(padding with the edge pixels outside the image) and :func:`resize_square`
brings a crop to a model's side.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The crop's side in face-box widths: a HOG box covers ~0.78 of a FER2013 or CK+48 image.
CROP_SCALE = 1 / 0.78
#: The crop's centre above the box centre, in crop sides (the box sits at 0.54 of the height).
CROP_SHIFT = 0.04

__all__ = [
    "CROP_SCALE",
    "CROP_SHIFT",
    "face_crop",
    "face_crop_window",
    "resize_square",
]


def face_crop_window(box, *, scale: float = CROP_SCALE, shift: float = CROP_SHIFT):
    """Where :func:`face_crop` cuts: ``(left, top, size)`` in the image's pixels.

    The window may reach outside the image (``face_crop`` pads it there).

    Parameters
    ----------
    box : sequence of 4 floats
        ``left, top, right, bottom``, inclusive pixel coordinates (dlib's).
    scale, shift : float
        The crop's side in box sides, and its centre above the box centre in
        crop sides (FER2013's framing by default).

    Returns
    -------
    (int, int, int)
        The crop's top-left corner and side.

    See Also
    --------
    face_crop : The crop itself.

    Examples
    --------
    >>> face_crop_window([40, 40, 60, 60])
    (37, 36, 27)
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    # Boxes are inclusive pixel coordinates (dlib's): a box of 0..9 is 10 pixels wide.
    side = scale * (max(x1 - x0, y1 - y0) + 1)
    size = max(1, int(round(side)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - shift * side
    return int(round(cx - (size - 1) / 2)), int(round(cy - (size - 1) / 2)), size


def face_crop(image: np.ndarray, box) -> np.ndarray:
    """The square crop around a face box framed as FER2013 frames its faces.

    Parts of the crop outside the image are filled with the nearest edge pixels.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
    box : sequence of 4 floats
        ``left, top, right, bottom``.

    Returns
    -------
    ndarray
        A square crop of side ``CROP_SCALE`` box sides.

    See Also
    --------
    face_crop_window : Where the crop is cut.
    fersk.landmarks.find_faces : The face boxes of a photo.
    fersk.predict.predict_faces : Finds, crops and classifies every face of photos.

    Examples
    --------
    >>> import numpy as np
    >>> face_crop(np.zeros((100, 100), np.uint8), [40, 40, 60, 60]).shape
    (27, 27)
    """
    left, top, size = face_crop_window(box)
    pad = max(0, -left, -top, left + size - image.shape[1], top + size - image.shape[0])
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        left, top = left + pad, top + pad
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an image to ``size x size``: area interpolation when shrinking, linear when enlarging.

    Examples
    --------
    >>> import numpy as np
    >>> resize_square(np.zeros((40, 60), dtype=np.uint8), 16).shape
    (16, 16)
    """
    if image.shape[:2] == (size, size):
        return image
    shrink = min(image.shape[:2]) >= size
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)
