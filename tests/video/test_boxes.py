"""fersk.video.boxes: the face-box geometry the tracker uses -- overlap, size, centre, the part
in view, gray patches and how alike two are, and the box landmarks span."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.video.boxes import (
    PATCH_SIZE,
    box_centre,
    box_iou,
    box_size,
    inside_fraction,
    landmark_frame,
    patch,
    similarity,
)


def test_box_iou():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 100, size=(6, 2))
    boxes = np.hstack([corners, corners + rng.uniform(5, 50, size=(6, 2))])
    iou = box_iou(boxes, boxes)
    np.testing.assert_allclose(np.diag(iou), 1.0)
    np.testing.assert_allclose(iou, iou.T)
    assert ((iou >= 0) & (iou <= 1)).all()
    # Half of a 10x10 box overlapping another: 50 / 150.
    half = box_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 15, 10]]))
    assert half[0, 0] == pytest.approx(1 / 3)


def test_size_centre_and_the_part_in_view():
    box = np.array([10.0, 20.0, 50.0, 100.0])
    assert box_size(box) == (40.0, 80.0)
    np.testing.assert_array_equal(box_centre(box), [30.0, 60.0])
    assert inside_fraction(box, (200, 200)) == 1.0
    # Half of it past the right edge of a 31-px-wide image (last pixel centre at x = 30).
    assert inside_fraction(box, (200, 31)) == pytest.approx(0.5)
    assert inside_fraction(np.array([-60.0, 0, -20, 10]), (100, 100)) == 0.0  # out of view
    assert inside_fraction(np.array([5.0, 5, 5, 30]), (100, 100)) == 0.0  # no width


def test_a_patch_is_the_boxs_pixels_normalised_and_alike_only_to_itself(face_crop):
    box = np.array([10.0, 10.0, 90.0, 90.0])
    first = patch(face_crop, box)
    assert first.shape == (PATCH_SIZE, PATCH_SIZE)
    assert abs(float(first.mean())) < 1e-5 and np.linalg.norm(first) == pytest.approx(1.0)
    assert similarity(first, first) == pytest.approx(1.0)
    brighter = np.clip(face_crop.astype(int) * 2 // 3 + 40, 0, 255).astype(np.uint8)
    assert similarity(first, patch(brighter, box)) > 0.99  # the same face, other light
    assert similarity(first, patch(face_crop[::-1], box)) < 0.5  # upside down: another picture
    assert similarity(first, patch(255 - face_crop, box)) == pytest.approx(-1.0, abs=1e-4)
    assert patch(np.full((100, 100), 7, np.uint8), box) is None  # flat: no pattern to compare
    assert patch(face_crop, np.array([98.0, 98.0, 120.0, 120.0])) is None  # 2 px in view
    assert similarity(first, None) == -1.0 and similarity(None, None) == -1.0


def test_landmark_frame_is_the_centroid_and_the_rms_spread():
    points = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]])
    centre, spread = landmark_frame(points)
    np.testing.assert_array_equal(centre, [2.0, 1.5])
    assert spread == pytest.approx(2.5)  # every corner 2.5 from the centre
    moved = landmark_frame(3 * points + [10.0, -5.0])
    np.testing.assert_allclose(moved[0], [16.0, -0.5])
    assert moved[1] == pytest.approx(7.5)
    stray = np.vstack([points, [[40.0, 1.5]]])  # one point far off to the right
    assert landmark_frame(stray)[1] < (stray[:, 0].max() - stray[:, 0].min()) / 2
