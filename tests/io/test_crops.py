"""fersk.io.crops: the square face crop framed as FER2013 frames its faces, padded with the edge
pixels where it reaches outside the image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fersk.io.crops import CROP_SCALE, CROP_SHIFT, face_crop, face_crop_window, resize_square


def test_the_window_is_crop_scale_box_sides_centred_a_little_above_the_box():
    box = [10, 20, 87, 97]  # inclusive pixel coordinates: 78 pixels wide and high
    left, top, side = face_crop_window(box)
    assert side == round(CROP_SCALE * 78) == 100
    assert left + (side - 1) / 2 == pytest.approx((10 + 87) / 2, abs=0.5)
    assert (20 + 97) / 2 - (top + (side - 1) / 2) == pytest.approx(CROP_SHIFT * side, abs=0.5)
    assert face_crop_window(box, scale=1.0, shift=0.0) == (10, 20, 78)


def test_a_crop_inside_the_image_is_its_slice():
    image = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    box = [40, 50, 120, 130]
    left, top, side = face_crop_window(box)
    assert left >= 0 and top >= 0 and left + side <= 200 and top + side <= 200
    crop = face_crop(image, box)
    np.testing.assert_array_equal(crop, image[top : top + side, left : left + side])
    assert crop.flags.c_contiguous


def test_a_crop_reaching_outside_the_image_repeats_the_edge_pixels():
    image = np.arange(50 * 60, dtype=np.uint16).reshape(50, 60)
    box = [0, 0, 29, 29]
    left, top, side = face_crop_window(box)
    assert left < 0 and top < 0
    crop = face_crop(image, box)
    assert crop.shape == (side, side)
    rows = np.clip(np.arange(top, top + side), 0, 49)
    cols = np.clip(np.arange(left, left + side), 0, 59)
    np.testing.assert_array_equal(crop, image[np.ix_(rows, cols)])


def test_resize_square_shrinks_by_area_and_enlarges_linearly():
    image = np.random.default_rng(0).integers(0, 255, (40, 60), dtype=np.uint8)
    area = cv2.resize(image, (16, 16), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(resize_square(image, 16), area)
    linear = cv2.resize(image, (48, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(resize_square(image, 48), linear)
    square = image[:16, :16]
    assert resize_square(square, 16) is square
