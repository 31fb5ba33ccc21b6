"""fersk.landmarks.base: what every landmarker shares -- detection on a gray copy, small images
upscaled first and the points mapped back, a cache namespace per setting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from fersk._core.batch import FaceNotFoundError
from fersk.landmarks.base import FaceLandmarker


@dataclass(frozen=True)
class BrightestPixel(FaceLandmarker):
    """One 'landmark': the brightest pixel of the image it is given; records that image."""

    n_landmarks: int = 1
    detector: str = "none"
    seen: ClassVar[list] = []

    def predict(self, image, box):
        BrightestPixel.seen.append(image)
        brightness = image if image.ndim == 2 else image.astype(int).sum(axis=2)
        y, x = np.unravel_index(np.argmax(brightness), brightness.shape)
        return np.array([[x, y]], dtype=float)


@dataclass(frozen=True)
class ColourBrightestPixel(BrightestPixel):
    color: ClassVar[str] = "rgb"


def _dot(x: int, y: int, shape=(40, 80)) -> np.ndarray:
    image = np.zeros(shape, np.uint8)
    image[y, x] = 255
    return image


def test_points_found_on_the_upscaled_image_come_back_in_the_inputs_pixels():
    BrightestPixel.seen.clear()
    points = BrightestPixel(min_size=160)(_dot(30, 10))
    assert BrightestPixel.seen[-1].shape == (160, 320)  # upscaled 4x before the model ran
    np.testing.assert_allclose(points, [30, 10], atol=0.25)
    np.testing.assert_array_equal(BrightestPixel(min_size=10)(_dot(30, 10)), [30.0, 10.0])
    assert BrightestPixel.seen[-1].shape == (40, 80)  # large enough: not upscaled


def test_a_gray_landmarker_gets_gray_pixels_and_an_rgb_one_gets_colour():
    colour = np.zeros((40, 80, 3), np.uint8)
    colour[10, 30] = (255, 255, 255)
    BrightestPixel.seen.clear()
    np.testing.assert_array_equal(BrightestPixel(min_size=10)(colour), [30.0, 10.0])
    np.testing.assert_array_equal(ColourBrightestPixel(min_size=10)(colour), [30.0, 10.0])
    assert [image.ndim for image in BrightestPixel.seen] == [2, 3]


def test_each_setting_has_its_own_cache_namespace():
    names = {
        BrightestPixel().cache_namespace,
        BrightestPixel().cache_namespace,
        BrightestPixel(min_size=10).cache_namespace,
        BrightestPixel(detector="hog").cache_namespace,
        BrightestPixel(multiple_faces="center").cache_namespace,
    }
    assert len(names) == 4 and all(n.startswith("landmarks-base-v") for n in names)
    assert BrightestPixel().n_outputs == 2 and BrightestPixel().load() == BrightestPixel()


def test_an_image_without_a_face_raises_face_not_found():
    with pytest.raises(FaceNotFoundError, match="no face found"):
        BrightestPixel(detector="hog")(np.full((200, 200), 128, np.uint8))
