"""fersk.landmarks.identity: real faces described by dlib's network, grouped into people."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.data import astronaut

from fersk.landmarks import find_faces
from fersk.landmarks.identity import SAME_PERSON, face_descriptors, group_faces


@pytest.fixture(scope="module")
def hopper():
    """Grace Hopper (US Navy photo, public domain), shipped with matplotlib."""
    from matplotlib import cbook

    from fersk.io import read_image

    return read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), color="rgb")


def _describe(image):
    boxes, _ = find_faces(image)
    assert len(boxes) == 1
    return face_descriptors(image, boxes)[0]


def test_one_persons_faces_lie_close_and_two_peoples_apart(hopper):
    eileen = [astronaut(), astronaut()[:, ::-1], astronaut()[::2, ::2]]
    grace = [hopper, hopper[:, ::-1], hopper[::3, ::3]]
    D = np.array([_describe(image) for image in eileen + grace])
    distance = np.linalg.norm(D[:, None] - D[None], axis=2)
    same = np.kron(np.eye(2), np.ones((3, 3))).astype(bool)
    assert distance[same].max() < SAME_PERSON < distance[~same].min()
    assert group_faces(D).tolist() == [0, 0, 0, 1, 1, 1]
    assert group_faces(D[::-1]).tolist() == [0, 0, 0, 1, 1, 1]  # numbered by first face


def test_every_box_is_described_in_order_and_gray_photos_work(hopper):
    boxes, _ = find_faces(hopper)
    gray = hopper.mean(axis=2)  # float gray: converted, not refused
    both = face_descriptors(gray, np.vstack([boxes, boxes]))
    assert both.shape == (2, 128) and np.allclose(both[0], both[1])
    assert np.linalg.norm(both[0] - face_descriptors(hopper, boxes)[0]) < SAME_PERSON / 2
    assert face_descriptors(hopper, np.empty((0, 4))).shape == (0, 128)


def test_any_image_type_fersk_reads_gives_the_same_person(hopper):
    boxes, _ = find_faces(hopper)
    plain = face_descriptors(hopper, boxes)[0]
    for image in (hopper / 255.0, hopper.astype(np.uint16) * 257, hopper[:, :, :1]):
        assert np.linalg.norm(face_descriptors(image, boxes)[0] - plain) < SAME_PERSON / 2


@pytest.mark.parametrize(
    "box, message",
    [
        ([np.nan, 10, 50, 60], "is not a box"),
        ([50, 10, 40, 60], "is not a box"),
        ([-90, -90, -10, -10], "lies outside the 512x600 image"),
        ([600, 100, 700, 200], "lies outside"),
    ],
)
def test_a_box_that_is_no_face_of_the_image_is_named(hopper, box, message):
    with pytest.raises(ValueError, match=rf"face box 0 .*{message}"):
        face_descriptors(hopper, [box])


def test_grouping_keeps_rows_without_a_descriptor_out():
    rng = np.random.default_rng(0)
    D = np.vstack([rng.normal(size=128), np.full(128, np.nan), rng.normal(size=128)])
    assert group_faces(D).tolist() == [0, -1, 1]  # random points: ~16 apart
    assert group_faces(np.empty((0, 128))).tolist() == []
    assert group_faces(D[:, :] * 0.001).tolist() == [0, -1, 0]
    for threshold in (0, -1, np.inf, np.nan, "0.6", None):
        with pytest.raises(ValueError, match="positive, finite distance"):
            group_faces(D, threshold=threshold)
    with pytest.raises(ValueError, match=r"\(n_faces, 128\), got an array of shape \(4, 64\)"):
        group_faces(np.zeros((4, 64)))
