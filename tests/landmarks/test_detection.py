"""The face detectors on real pixels: YuNet (bundled weights) beside dlib's HOG.

Only data the project has: scikit-image's astronaut (one face), photos made
from it (turned, shrunk, darkened, two people side by side), scikit-image's
tiny LFW faces and non-faces, blank and noise images.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import skimage.data

from fersk import LandmarkExtractor
from fersk.io import face_crop_window
from fersk.landmarks import DETECTORS, find_faces
from fersk.landmarks.detection import (
    DEFAULT_DETECTOR,
    FACE_THRESHOLDS,
    MIN_RELATIVE_SCORE,
    SURE_FACE_SCORE,
    YUNET_SHA256,
    FaceThresholds,
    _yunet_scale,
    _yunet_weights,
    choose_face,
    detect_faces,
    keep_faces,
    yunet_model_path,
)
from fersk.video.tracking import FaceTracker

from ..conftest import ASTRONAUT_FACE_BOX


def iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def holds(box, point) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


FACE_CENTRE = np.array(
    [
        (ASTRONAUT_FACE_BOX[0] + ASTRONAUT_FACE_BOX[2]) / 2,
        (ASTRONAUT_FACE_BOX[1] + ASTRONAUT_FACE_BOX[3]) / 2,
    ]
)


@pytest.fixture(scope="module")
def two_people(face_rgb) -> np.ndarray:
    """Two astronauts side by side (one mirrored), faces of ~90 and ~60 px, on gray."""
    head = face_rgb[30:230, 120:330]
    photo = np.full((300, 640, 3), 90, np.uint8)
    photo[40:240, 30:240] = head
    small = cv2.resize(head[:, ::-1], None, fx=2 / 3, fy=2 / 3, interpolation=cv2.INTER_AREA)
    photo[80 : 80 + small.shape[0], 400 : 400 + small.shape[1]] = small
    return photo


# ---------------------------------------------------------------- the weights


def test_the_weights_ship_in_the_package_with_their_licence_and_card():
    path = yunet_model_path()
    assert path.is_file() and path.stat().st_size < 2_000_000
    assert hashlib.sha256(path.read_bytes()).hexdigest() == YUNET_SHA256
    assert "MIT License" in (path.parent / "LICENSE-yunet").read_text()
    card = (path.parent / "card.md").read_text()
    assert YUNET_SHA256 in card and "MIT" in card


def test_weights_that_fail_their_sha256_are_refused(tmp_path):
    bad = tmp_path / "face_detection_yunet_2023mar.onnx"
    bad.write_bytes(yunet_model_path().read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="SHA-256 .* damaged or was replaced.*reinstall"):
        _yunet_weights(str(bad))


def test_missing_weights_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing.*nothing\.onnx.*reinstall.*'hog'"):
        _yunet_weights(str(tmp_path / "nothing.onnx"))


# -------------------------------------------------------------- finding faces


def test_yunet_is_the_default_of_find_faces_and_the_tracker():
    assert DEFAULT_DETECTOR == "yunet" and "yunet" in DETECTORS
    assert FaceTracker().detector == "yunet"


def test_yunet_finds_the_astronaut_where_hog_does(face_rgb):
    hog, _ = detect_faces(cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY), "hog")
    for image in (face_rgb, cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY)):  # colour or gray
        boxes, scores = detect_faces(image, "yunet")
        assert boxes.shape == (1, 4) and 0.85 < scores[0] <= 1
        # Mapped to HOG's framing: the two boxes are nearly the same.
        assert iou(boxes[0], hog[0]) > 0.7
    boxes, scores = find_faces(face_rgb)
    assert boxes.shape == (1, 4) and iou(boxes[0], ASTRONAUT_FACE_BOX) > 0.7


@pytest.mark.parametrize("degrees", [20, -20])
def test_yunet_finds_a_tilted_face(face_rgb, degrees):
    matrix = cv2.getRotationMatrix2D((256, 256), degrees, 1.0)
    turned = cv2.warpAffine(face_rgb, matrix, (512, 512), borderMode=cv2.BORDER_REPLICATE)
    boxes, _ = find_faces(turned)
    assert len(boxes) == 1 and holds(boxes[0], matrix @ np.r_[FACE_CENTRE, 1])


@pytest.mark.parametrize("factor", [0.5, 0.25])
def test_yunet_finds_small_faces_that_hog_misses(face_rgb, factor):
    small = cv2.resize(face_rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    boxes, _ = find_faces(small)
    assert len(boxes) == 1 and holds(boxes[0], FACE_CENTRE * factor)
    if factor == 0.25:  # a 22 px face: below HOG's 40 px even with upsample=1
        assert len(find_faces(small, detector="hog")[0]) == 0


def test_yunet_finds_a_dark_face(face_rgb):
    dark = ((face_rgb / 255.0) ** 2.5 * 255).round().astype(np.uint8)
    boxes, _ = find_faces(dark)
    assert len(boxes) == 1 and holds(boxes[0], FACE_CENTRE)


def test_two_people_two_faces_largest_first(two_people):
    boxes, scores = find_faces(two_people)
    assert len(boxes) == 2 and (scores > FACE_THRESHOLDS["yunet"].score).all()
    sides = boxes[:, 2] - boxes[:, 0]
    assert sides[0] > sides[1] and boxes[0, 0] < 320 < boxes[1, 0]
    hog, _ = find_faces(two_people, detector="hog")
    assert len(hog) == 2
    for box in boxes:
        assert max(iou(box, other) for other in hog) > 0.5


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((240, 320), np.uint8),
        np.full((480, 640, 3), 200, np.uint8),
        np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8),
    ],
    ids=["black", "blank", "noise"],
)
def test_no_face_on_images_without_one(image, non_face):
    assert len(find_faces(image)[0]) == 0
    assert len(find_faces(non_face)[0]) == 0


def test_the_score_threshold_keeps_tiny_faces_and_drops_non_faces():
    """scikit-image's LFW subset: 100 faces and 100 non-faces of 25 px."""
    lfw = (skimage.data.lfw_subset() * 255).round().astype(np.uint8)
    found = [len(find_faces(x)[0]) > 0 for x in lfw]
    assert sum(found[:100]) >= 95  # HOG finds none of these
    assert sum(found[100:]) <= 2


def test_detection_threshold_adds_to_the_detectors_own(face_rgb):
    _, (score,) = detect_faces(face_rgb, "yunet")
    assert len(detect_faces(face_rgb, "yunet", detection_threshold=score - 0.6 + 0.01)[0]) == 0
    assert len(detect_faces(face_rgb, "yunet", detection_threshold=score - 0.6 - 0.01)[0]) == 1


def test_upsample_sets_the_size_yunet_sees():
    assert _yunet_scale((48, 48), 0) == pytest.approx(256 / 48)  # crops are enlarged
    assert _yunet_scale((48, 48), 2) == pytest.approx(256 / 48)  # ... not past a face size
    assert _yunet_scale((720, 1280), 0) == pytest.approx(0.25)
    assert _yunet_scale((720, 1280), 1) == pytest.approx(0.5)
    assert _yunet_scale((300, 300), 0) == 1.0
    with pytest.raises(ValueError, match="upsample must be a whole number >= 0"):
        detect_faces(np.zeros((50, 50), np.uint8), "yunet", -1)


def test_a_48_px_face_crop_is_found(face_rgb):
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    crop = cv2.resize(face_rgb[top - 10 : bottom + 10, left - 10 : right + 10], (48, 48))
    boxes, _ = find_faces(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))
    assert len(boxes) == 1


def test_an_image_of_another_shape_is_an_error_that_says_how_to_read_it():
    with pytest.raises(ValueError, match=r"\(H, W\) gray or \(H, W, 3\) RGB.*read_image"):
        detect_faces(np.zeros((50, 50, 4), np.uint8), "yunet")


def test_threads_each_get_their_detector(face_rgb, two_people):
    images = [face_rgb, two_people, cv2.resize(face_rgb, (256, 256))] * 4
    serial = [detect_faces(x, "yunet")[0] for x in images]
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(lambda x: detect_faces(x, "yunet")[0], images))
    for a, b in zip(serial, threaded):
        np.testing.assert_allclose(a, b)


# ------------------------------------------------------ one policy, per scale


def test_every_detector_has_thresholds_and_hogs_are_unchanged():
    assert set(FACE_THRESHOLDS) == set(DETECTORS)
    assert all(isinstance(t, FaceThresholds) for t in FACE_THRESHOLDS.values())
    assert (MIN_RELATIVE_SCORE, SURE_FACE_SCORE) == (0.25, 0.3)
    assert FACE_THRESHOLDS["hog"] == FaceThresholds(score=0.0, min_relative=0.25, sure_face=0.3)
    assert 0 < FACE_THRESHOLDS["yunet"].score < FACE_THRESHOLDS["yunet"].sure_face < 1


def test_keep_faces_reads_scores_on_the_detectors_scale():
    boxes = np.array([[0, 0, 50, 50], [100, 0, 200, 100]], dtype=float)
    scores = np.array([0.93, 0.65])  # a clear YuNet face, and a weak larger box
    assert len(keep_faces(boxes, scores, detector="yunet")[0]) == 1
    assert len(keep_faces(boxes, scores, detector="hog")[0]) == 2  # both sure HOG faces
    kept = choose_face(boxes, (200, 200), "largest", scores, detector="yunet")
    np.testing.assert_array_equal(kept, boxes[0])
    # Two real faces of a group photo score alike: both stay.
    assert len(keep_faces(boxes, np.array([0.93, 0.88]), detector="yunet")[0]) == 2
    with pytest.raises(ValueError, match="no face thresholds for detector 'dnn'"):
        keep_faces(boxes, scores, detector="dnn")


# ------------------------------------------------------- the framing of a box


def test_landmarks_and_crops_from_yunet_boxes_match_hogs(face_rgb):
    hog = LandmarkExtractor(68, detector="hog").fit_transform([face_rgb]).reshape(68, 2)
    yunet = LandmarkExtractor(68, detector="yunet").fit_transform([face_rgb]).reshape(68, 2)
    eyes = np.linalg.norm(hog[36] - hog[45])
    assert np.linalg.norm(yunet - hog, axis=1).mean() < 0.05 * eyes
    # fersk predict's crop (find_faces, then face_crop) frames the face as with HOG.
    (box,), _ = find_faces(face_rgb)
    (hog_box,), _ = find_faces(face_rgb, detector="hog")
    crops = []
    for found in (box, hog_box):
        left, top, side = face_crop_window(found)
        crops.append((left, top, left + side, top + side))
    assert iou(*crops) > 0.8


def test_the_tracker_follows_a_face_with_yunet(face_rgb):
    face = face_rgb[40:220, 140:310]
    tracker = FaceTracker(detect_every=5)
    for i in range(8):
        frame = np.zeros((360, 640, 3), dtype=np.uint8)
        frame[100:280, 100 + 4 * i : 270 + 4 * i] = face
        tracks = tracker.update(frame)
        assert [t.id for t in tracks] == [0]
    assert tracker.n_detections_ == 2
    (track,) = tracks
    centre = FACE_CENTRE - (140, 40) + (100 + 4 * 7, 100)  # the face's centre in frame 7
    assert holds(track.box, centre)


@pytest.mark.bad_input("13")
def test_largest_ignores_boxes_far_below_the_best_score(face_rgb, monkeypatch):
    boxes = np.array([[179.0, 83, 266, 170], [0, 0, 400, 400]])
    chosen = choose_face(boxes, (512, 512), "largest", scores=np.array([1.57, 0.01]))
    np.testing.assert_array_equal(chosen, boxes[0])
    # Two real faces of similar confidence: still the largest.
    chosen = choose_face(boxes, (512, 512), "largest", scores=np.array([1.57, 1.0]))
    np.testing.assert_array_equal(chosen, boxes[1])
    # End to end: a detector that also returns a huge, barely-positive false box.
    import fersk.landmarks.base as base

    real = base.detect_faces

    def with_false_box(gray, *args):
        found, scores = real(gray, *args)
        return np.vstack([found, [[0, 0, 500, 500]]]), np.r_[scores, 0.01]

    monkeypatch.setattr(base, "detect_faces", with_false_box)
    points = LandmarkExtractor(5).fit_transform([face_rgb]).reshape(5, 2)
    assert (points[:, 0] > 179).all() and (points[:, 0] < 266).all()
