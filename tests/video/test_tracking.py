"""fersk.video.tracking: FaceTracker on real pixels -- the astronaut's face pasted into 640x360
frames, real dlib."""

from __future__ import annotations

import math
import pickle

import cv2
import numpy as np
import pytest
from sklearn.base import clone

from fersk._core._sklearn_compat import InvalidParameterError
from fersk.landmarks.detection import detect_faces
from fersk.landmarks.dlib_backend import DlibLandmarker
from fersk.video.boxes import box_iou
from fersk.video.tracking import FaceTracker, Track
from tests.conftest import ASTRONAUT_FACE_BOX

HEIGHT, WIDTH = 360, 640


@pytest.fixture(scope="module")
def crop(face_rgb) -> np.ndarray:
    """A 147x147 grayscale crop around the face: large enough for HOG on its own."""
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    pad = 30
    return cv2.cvtColor(
        face_rgb[top - pad : bottom + pad, left - pad : right + pad], cv2.COLOR_RGB2GRAY
    )


@pytest.fixture(scope="module")
def crop_face(crop) -> tuple[np.ndarray, np.ndarray]:
    """The detector's box and dlib's 68 landmarks found on the crop alone."""
    boxes, _ = detect_faces(crop, "hog")
    assert len(boxes) == 1
    return boxes[0], DlibLandmarker(68, detector="none").predict(crop, boxes[0])


@pytest.fixture(scope="module")
def background() -> np.ndarray:
    """Smooth gray noise: texture with no face in it."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, size=(90, 160), dtype=np.uint8)
    return cv2.resize(cv2.GaussianBlur(noise, (0, 0), 1.5), (WIDTH, HEIGHT))


def paste(background: np.ndarray, *faces: tuple[np.ndarray, int, int]) -> np.ndarray:
    """A copy of ``background`` with each ``(crop, x, y)`` pasted at column x, row y."""
    frame = background.copy()
    for face, x, y in faces:
        frame[y : y + face.shape[0], x : x + face.shape[1]] = face
    return frame


def path(n_frames: int) -> list[tuple[int, int]]:
    """Smooth motion across the frame: up to ~8 px per frame horizontally, ~3 vertically."""
    return [
        (round(230 + 150 * math.sin(i / 18)), round(100 + 60 * math.sin(i / 20)))
        for i in range(n_frames)
    ]


def centre(box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


@pytest.mark.parametrize(
    "follow, refine", [("landmarks", True), ("correlation", True), ("correlation", False)]
)
def test_tracked_box_follows_the_face(crop, crop_face, background, follow, refine):
    ref_box, _ = crop_face
    width = ref_box[2] - ref_box[0]
    tracker = FaceTracker(detect_every=5, follow=follow, refine_with_landmarks=refine)
    n_tracked = 0
    for i, (x, y) in enumerate(path(40)):
        tracks = tracker.update(paste(background, (crop, x, y)))
        assert len(tracks) == 1
        track = tracks[0]
        assert isinstance(track, Track)
        assert track.id == 0 and track.age == i
        assert track.detected == (i % 5 == 0)
        if track.detected:
            assert track.score > 0  # HOG's score for a real frontal face
            continue
        n_tracked += 1
        floor = tracker.min_similarity if follow == "landmarks" else tracker.min_quality
        assert track.score >= floor
        expected = ref_box + [x, y, x, y]
        # HOG's own boxes jitter by up to ~9 px on this face (its 8 px cell grid).
        assert np.linalg.norm(centre(track.box) - centre(expected)) < 0.12 * width
    assert n_tracked == 32
    assert tracker.n_detections_ == 8


def test_landmark_refinement_keeps_the_typical_box_size(crop, crop_face, background):
    ref_box, _ = crop_face
    width = ref_box[2] - ref_box[0]
    size_errors = {}
    for refine in (True, False):
        tracker = FaceTracker(
            detect_every=5, follow="correlation", refine_with_landmarks=refine, detector="hog"
        )
        errors = []
        for x, y in path(60):
            (track,) = tracker.update(paste(background, (crop, x, y)))
            if not track.detected:
                errors.append(abs((track.box[2] - track.box[0]) / width - 1))
        size_errors[refine] = max(errors)
    # HOG's box size steps with its pyramid level (a few of these detections are 21%
    # larger); the refined box keeps the typical (median) size relative to the landmarks.
    assert size_errors[True] < 0.05
    assert size_errors[True] < size_errors[False] / 2


def test_a_face_is_followed_without_detections_while_visible(crop, crop_face, background):
    ref_box, _ = crop_face
    width = ref_box[2] - ref_box[0]
    tracker = FaceTracker(detect_every=1000)
    for x, y in path(60):
        (track,) = tracker.update(paste(background, (crop, x, y)))
        expected = ref_box + [x, y, x, y]
        assert box_iou(track.box[None], expected[None])[0, 0] > 0.75
        assert np.linalg.norm(centre(track.box) - centre(expected)) < 0.1 * width
    assert tracker.n_detections_ == 1 and track.id == 0 and not track.detected


@pytest.mark.parametrize("detect_every", [1, 3, 10])
def test_detector_runs_only_every_n_frames_while_the_face_stays(crop, background, detect_every):
    tracker = FaceTracker(detect_every=detect_every)
    counts = []
    for x, y in path(20):
        assert len(tracker.update(paste(background, (crop, x, y)))) == 1
        counts.append(tracker.n_detections_)
    assert tracker.n_detections_ == math.ceil(20 / detect_every)
    # The count steps up exactly on frames 0, N, 2N, ...
    steps = [i for i in range(20) if counts[i] != (counts[i - 1] if i else 0)]
    assert steps == list(range(0, 20, detect_every))


def test_losing_a_face_triggers_a_detection(crop, background):
    tracker = FaceTracker(detect_every=1000)
    for i in range(6):
        assert [t.id for t in tracker.update(paste(background, (crop, 200 + 3 * i, 100)))] == [0]
    assert tracker.n_detections_ == 1
    assert tracker.update(background) == []  # hidden: the tracker's quality collapses
    assert tracker.n_detections_ == 2  # ...so the detector ran on that frame


@pytest.mark.parametrize("refine", [True, False])
def test_a_face_leaving_the_image_is_lost(crop, background, refine):
    tracker = FaceTracker(detect_every=1000, refine_with_landmarks=refine)
    returned = []
    for x in range(380, 640, 12):
        frame = paste(background, (crop[:, : WIDTH - x], x, 100))
        for track in tracker.update(frame):
            inside = (min(track.box[2], WIDTH - 1) - max(track.box[0], 0)) / (
                track.box[2] - track.box[0]
            )
            assert inside >= 0.5
            returned.append(x)
    # Followed without a gap while it is (nearly) whole, dropped once half its box is out.
    assert returned == list(range(380, returned[-1] + 1, 12)) and 500 <= returned[-1] <= 560
    assert tracker.n_detections_ >= 2  # the loss made the detector look again


def test_a_face_the_detector_does_not_confirm_is_lost_until_it_does(crop, background):
    tracker = FaceTracker(detect_every=5)
    frames = [paste(background, (crop, 150 + 3 * i, 100)) for i in range(15)]
    ids = [[t.id for t in tracker.update(frame)] for frame in frames[:5]]
    # The correlation tracker could follow it, but the detection on frame 5 finds nothing
    # (HOG scores this face ~1.2): the track is lost and not returned.
    tracker.set_params(detection_threshold=5.0)
    ids += [[t.id for t in tracker.update(frame)] for frame in frames[5:10]]
    tracker.set_params(detection_threshold=0.0)
    ids += [[t.id for t in tracker.update(frame)] for frame in frames[10:]]
    assert ids == [[0]] * 5 + [[]] * 5 + [[0]] * 5


@pytest.mark.parametrize(
    ("gap", "max_missed", "detect_every", "same_id"),
    [(10, 25, 5, True), (40, 25, 5, False), (3, 3, 1, True), (4, 3, 1, False)],
)
def test_a_short_gap_keeps_the_id_a_long_one_does_not(
    crop, background, gap, max_missed, detect_every, same_id
):
    tracker = FaceTracker(detect_every=detect_every, max_missed=max_missed)
    for i in range(10):
        assert [t.id for t in tracker.update(paste(background, (crop, 150 + 2 * i, 100)))] == [0]
    for _ in range(gap):
        assert tracker.update(background) == []
    ids = set()
    for i in range(10):  # reappears a few pixels from where it was hidden
        ids.update(t.id for t in tracker.update(paste(background, (crop, 175 + 2 * i, 104))))
    assert ids == ({0} if same_id else {1})  # ids are never reused


@pytest.mark.parametrize(("dx", "dy", "same_id"), [(28, 28, True), (300, 0, False)])
def test_reassociation_needs_the_face_near_its_last_box(crop, background, dx, dy, same_id):
    tracker = FaceTracker(detect_every=1)
    for _ in range(3):
        tracker.update(paste(background, (crop, 150, 100)))
    tracker.update(background)
    tracks = tracker.update(paste(background, (crop, 150 + dx, 100 + dy)))
    # (28, 28) gives boxes with IoU < 0.3: the centre distance (< half a width) decides.
    assert [t.id for t in tracks] == [0 if same_id else 1]


def test_two_faces_keep_distinct_ids_that_do_not_swap(crop, crop_face, background):
    ref_box, _ = crop_face
    mirrored = np.ascontiguousarray(crop[:, ::-1])
    tracker = FaceTracker(detect_every=5)
    owner: dict[int, str] = {}
    for i in range(40):
        a, b = (30 + 11 * i, 10), (460 - 11 * i, 205)  # their columns cross mid-way
        tracks = tracker.update(paste(background, (crop, *a), (mirrored, *b)))
        assert len(tracks) == 2
        for track in tracks:
            # Which face is this box on? The rows are far apart.
            name, (x, y) = ("a", a) if track.box[1] < HEIGHT / 3 else ("b", b)
            assert owner.setdefault(track.id, name) == name
            face_x = x + ref_box[0] if name == "a" else x + crop.shape[1] - 1 - ref_box[2]
            assert abs(track.box[0] - face_x) < 15
    assert sorted(owner) == [0, 1] and sorted(owner.values()) == ["a", "b"]


def test_max_faces_keeps_the_largest(crop, background):
    big = cv2.resize(crop, None, fx=1.35, fy=1.35, interpolation=cv2.INTER_LINEAR)
    frames = [paste(background, (crop, 20 + 3 * i, 205), (big, 380, 5)) for i in range(8)]
    assert len(FaceTracker().update(frames[0])) == 2
    tracker = FaceTracker(max_faces=1, detect_every=3)
    for frame in frames:
        tracks = tracker.update(frame)
        assert len(tracks) == 1 and tracks[0].id == 0
        assert tracks[0].box[0] > 360  # the big face, on the right

    # A larger face entering the view takes the place of the one being followed.
    tracker = FaceTracker(max_faces=1, detect_every=3)
    alone = [paste(background, (crop, 20 + 3 * i, 205)) for i in range(3)]
    ids = [[t.id for t in tracker.update(frame)] for frame in alone + frames[3:]]
    assert ids == [[0]] * 3 + [[1]] * 5
    assert tracker.update(frames[0])[0].box[0] > 360


def test_the_face_in_front_keeps_its_id_when_it_covers_another(crop, background):
    tracker = FaceTracker(detect_every=1000)
    for i in range(30):
        front_x = min(400, 60 + 15 * i)  # slides over the face standing at x=400
        tracks = tracker.update(paste(background, (crop, 400, 100), (crop, front_x, 100)))
        if i == 0:
            front_id = next(t.id for t in tracks if t.box[0] < 300)
        if front_x < 300:
            assert sorted(t.id for t in tracks) == [0, 1]
    # Once covered, the hidden face is not returned; the one in front keeps its id.
    assert [t.id for t in tracks] == [front_id]


def test_degenerate_landmarks_count_as_a_loss(crop, background, monkeypatch):
    tracker = FaceTracker(detect_every=1000)
    frames = [paste(background, (crop, 150 + 2 * i, 100)) for i in range(8)]
    for frame in frames[:4]:
        (track,) = tracker.update(frame)
    assert tracker.n_detections_ == 1 and not track.detected
    predict = tracker._landmarks

    def collapsed(gray, box):  # a predictor gone wrong: every point in one spot
        points = predict(gray, box)
        return np.repeat(points.mean(0, keepdims=True), len(points), axis=0)

    monkeypatch.setattr(tracker, "_landmarks", collapsed)
    (track,) = tracker.update(frames[4])
    assert tracker.n_detections_ == 2  # the loss sent the detector looking
    assert track.id == 0 and track.detected
    monkeypatch.undo()
    for frame in frames[5:]:
        (track,) = tracker.update(frame)
    assert tracker.n_detections_ == 2 and track.id == 0 and not track.detected


def test_landmarks_match_dlib_on_the_crop(crop, crop_face, background):
    _, ref_points = crop_face
    iod = np.linalg.norm(ref_points[36:42].mean(0) - ref_points[42:48].mean(0))
    tracker = FaceTracker(n_landmarks=68, detect_every=6)
    errors = []
    for x, y in path(30):
        (track,) = tracker.update(paste(background, (crop, x, y)))
        assert track.landmarks.shape == (68, 2)
        errors.append(np.linalg.norm(track.landmarks - (ref_points + [x, y]), axis=1))
    errors = np.array(errors)
    assert np.median(errors) < 0.05 * iod
    assert errors.max() < 0.25 * iod
    five = FaceTracker(n_landmarks=5).update(paste(background, (crop, 100, 100)))
    assert five[0].landmarks.shape == (5, 2)


def test_odd_frames_do_not_crash(crop, background):
    tracker = FaceTracker(detect_every=100)
    face = paste(background, (crop, 200, 100))
    rgb = cv2.cvtColor(face, cv2.COLOR_GRAY2RGB)
    rgba = np.dstack([rgb, np.full(face.shape, 255, np.uint8)])
    assert [t.id for t in tracker.update(face)] == [0]
    n_detections = tracker.n_detections_

    # Usable conversions of the same frame keep following the same face.
    for frame in [
        face / 255.0,
        face.astype(np.float32),
        face.astype(np.uint16) * 257,
        rgb,
        rgba,
        face[:, :, None],
    ]:
        assert [t.id for t in tracker.update(frame)] == [0], (frame.dtype, frame.shape)
    assert tracker.n_detections_ == n_detections  # tracked, not re-detected

    unusable = [
        None,
        np.zeros((0, 0), np.uint8),
        np.zeros((HEIGHT, WIDTH, 2), np.uint8),
        np.zeros(10, np.uint8),
        np.full((HEIGHT, WIDTH), np.nan),
        face > 100,
    ]
    for k, frame in enumerate(unusable, start=1):
        assert tracker.update(frame) == []
        assert tracker.n_skipped_frames_ == k
    assert "NaN" in tracker.last_skip_reason_ or "boolean" in tracker.last_skip_reason_

    # The face is looked for again on the next usable frame and keeps its id.
    (track,) = tracker.update(face)
    assert track.id == 0 and track.detected and track.age == 7 + len(unusable)
    assert tracker.update(np.zeros_like(face)) == []  # all black

    # A frame of another size restarts tracking: a new id for the same face.
    small = paste(background[:240, :320], (crop, 60, 40))
    assert [t.id for t in tracker.update(small)] == [1]
    assert tracker.frame_shape_ == (240, 320)
    assert tracker.n_frames_ == 1 + 6 + len(unusable) + 3

    with pytest.raises(TypeError, match="numpy array"):
        tracker.update([[0, 1], [2, 3]])


def test_tracks_are_read_only_and_the_tracker_is_an_estimator(crop, background):
    tracker = FaceTracker(detect_every=2, max_faces=3)
    (track,) = tracker.update(paste(background, (crop, 100, 100)))
    with pytest.raises(AttributeError):
        track.id = 5
    with pytest.raises(ValueError, match="read-only"):
        track.box[0] = 0.0
    assert clone(tracker).get_params() == tracker.get_params()
    assert not hasattr(clone(tracker), "n_detections_")

    # A pickled tracker starts a new stream (dlib's trackers cannot be pickled).
    copy = pickle.loads(pickle.dumps(tracker))
    assert copy.get_params() == tracker.get_params()
    assert [t.id for t in copy.update(paste(background, (crop, 100, 100)))] == [0]
    assert copy.n_frames_ == 1

    tracker.reset()
    assert (tracker.n_frames_, tracker.n_detections_) == (0, 0)
    assert [t.id for t in tracker.update(paste(background, (crop, 100, 100)))] == [0]


@pytest.mark.parametrize(
    "params",
    [{"detect_every": 0}, {"iou_threshold": 1.5}, {"detector": "haar"}, {"max_faces": 0}],
)
def test_bad_parameters_raise(params):
    with pytest.raises(InvalidParameterError):
        FaceTracker(**params).update(np.zeros((50, 50), np.uint8))
