"""fersk.datasets.synthetic.video: make_sample_video -- scripted expressions of drifting faces
in a scene, with their ground truth frame by frame."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from fersk._core.layout import interocular_distance
from fersk.datasets.synthetic import (
    DEFAULT_RAMP,
    DEFAULT_VIDEO_SCRIPT,
    SAMPLE_EMOTIONS,
    VideoSegment,
    make_sample_video,
)
from fersk.landmarks.detection import detect_faces
from fersk.landmarks.dlib_backend import DlibLandmarker

#: A small, fast configuration: one 96-px face in a 200 x 150 frame at 10 fps.
SMALL = dict(size=(200, 150), fps=10.0, face_size=96)

#: A short script with every kind of segment (3.6 s).
SHORT = [
    ("neutral", 0.4),
    ("expression", 1.2, "happiness", 0.3),
    ("absent", 0.4),
    ("expression", 1.2, "surprise", 0.3),
    ("neutral", 0.4),
]


@pytest.fixture(scope="module")
def default_video():
    """The default script at 25 fps, in a smaller frame (the default 640 x 360 is ~200 MB)."""
    return make_sample_video(size=(320, 180))


@pytest.fixture(scope="module")
def two_faces():
    return make_sample_video(n_faces=2, fps=10.0)


def _segment_frames(segments, fps: float) -> list[tuple[int, int]]:
    """(first, stop) frame of each segment: the documented rounding of the segment starts."""
    starts, total = [], 0.0
    for segment in segments:
        starts.append(total)
        total += segment[1]
    starts.append(total)
    bounds = [math.floor(s * fps + 0.5 + 1e-9) for s in starts]
    return list(zip(bounds[:-1], bounds[1:]))


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


# --------------------------------------------------------------------------
# Layout and timing
# --------------------------------------------------------------------------


def test_default_video_layout(default_video):
    video = default_video
    n = 300  # 12 s at 25 fps
    assert len(video.frames) == n and video.path is None
    assert all(f.shape == (180, 320, 3) and f.dtype == np.uint8 for f in video.frames)
    np.testing.assert_allclose(video.time, np.arange(n) / 25.0)
    assert video.face_present.shape == (n, 1) and video.face_present.dtype == bool
    assert video.box.shape == (n, 1, 4) and video.landmarks.shape == (n, 1, 136)
    assert video.emotion.shape == video.intensity.shape == video.target.shape == (n, 1)
    assert video.target_names == list(SAMPLE_EMOTIONS)
    assert video.script == [list(DEFAULT_VIDEO_SCRIPT)]
    assert sum(s.seconds for s in DEFAULT_VIDEO_SCRIPT) == 12.0
    assert video.subject.tolist() == ["s00"] and video.fps == 25.0
    assert "astronaut" in video.DESCR
    # The emotion names and the target indices agree.
    present = video.face_present
    names = np.array(video.target_names)[video.target[present]]
    np.testing.assert_array_equal(names, video.emotion[present])
    assert (video.target[~present] == -1).all()


@pytest.mark.parametrize("fps", [10.0, 25.0, 29.97, 7.0])
def test_frame_count_and_segment_frames_follow_the_rounding(fps):
    script = [("neutral", 0.35), ("absent", 0.45), ("expression", 0.8, "fear", 0.2)]
    video = make_sample_video(**{**SMALL, "fps": fps}, script=script, noise=0.0)
    n = math.floor(1.6 * fps + 0.5)
    assert len(video.frames) == len(video.time) == n
    kinds = np.array(["neutral", "absent", "fear"])
    expected = np.concatenate(
        [
            np.full(stop - start, kind)
            for (start, stop), kind in zip(_segment_frames(script, fps), kinds)
        ]
    )
    shown = np.where(video.face_present[:, 0], video.emotion[:, 0], "absent")
    np.testing.assert_array_equal(shown, expected)


def test_frames_are_rgb_or_gray():
    gray = make_sample_video(**SMALL, script=SHORT[:2], color=False)
    assert all(f.shape == (150, 200) and f.dtype == np.uint8 for f in gray.frames)
    color = make_sample_video(**SMALL, script=SHORT[:2])
    # The colour frames are not grey, and their face is the grey video's face.
    assert np.abs(color.frames[0].astype(int) - color.frames[0][..., ::-1]).max() > 20
    np.testing.assert_allclose(gray.box, color.box)


# --------------------------------------------------------------------------
# Ground truth follows the script
# --------------------------------------------------------------------------


def test_face_present_exactly_outside_absent_segments(default_video):
    video = default_video
    expected = np.ones(len(video.time), dtype=bool)
    for segment, (start, stop) in zip(
        DEFAULT_VIDEO_SCRIPT, _segment_frames(DEFAULT_VIDEO_SCRIPT, 25)
    ):
        if segment.kind == "absent":
            expected[start:stop] = False
    assert (~expected).sum() == 25  # the 1-s absent segment
    np.testing.assert_array_equal(video.face_present[:, 0], expected)
    absent = ~expected
    assert np.isnan(video.box[absent]).all() and np.isnan(video.landmarks[absent]).all()
    assert np.isnan(video.intensity[absent]).all() and (video.emotion[absent] == "").all()
    assert np.isfinite(video.box[expected]).all() and np.isfinite(video.landmarks[expected]).all()
    assert np.isfinite(video.intensity[expected]).all()


def test_emotion_and_intensity_follow_the_script(default_video):
    video = default_video
    fps = 25.0
    for segment, (start, stop) in zip(
        DEFAULT_VIDEO_SCRIPT, _segment_frames(DEFAULT_VIDEO_SCRIPT, fps)
    ):
        emotion, intensity = video.emotion[start:stop, 0], video.intensity[start:stop, 0]
        if segment.kind == "neutral":
            assert (emotion == "neutral").all() and (intensity == 0).all()
        elif segment.kind == "expression":
            assert (emotion == segment.emotion).all()
            ramp = int(segment.ramp * fps)  # 12 frames strictly inside each ramp
            onset, hold, offset = (
                intensity[:ramp],
                intensity[ramp + 1 : -ramp - 1],
                intensity[-ramp:],
            )
            assert 0 < onset[0] < 0.05 and 0 < offset[-1] < 0.05
            assert (np.diff(onset) > 0).all() and (np.diff(offset) < 0).all()
            np.testing.assert_allclose(hold, 1.0)
            np.testing.assert_allclose(onset, offset[::-1])  # symmetric ramps
            # Smoothstep: slow at both ends, fastest in the middle.
            steps = np.diff(onset)
            assert steps[len(steps) // 2] > 2 * max(steps[0], steps[-1])


def test_peak_and_abrupt_expression():
    script = [("neutral", 0.5), ("expression", 1.0, "anger", 0, 0.6), ("neutral", 0.5)]
    video = make_sample_video(**SMALL, script=script, noise=0.0)
    (_, _), (start, stop), (_, _) = _segment_frames(script, 10.0)
    np.testing.assert_allclose(video.intensity[start:stop, 0], 0.6)
    assert (video.intensity[:start, 0] == 0).all() and (video.intensity[stop:, 0] == 0).all()
    assert video.script[0][1] == VideoSegment("expression", 1.0, "anger", 0.0, 0.6)


def test_rendered_face_follows_the_intensity(default_video):
    """The landmarks shown (relative to the crop) move away from neutral with the intensity."""
    video = default_video
    present = video.face_present[:, 0]
    corner = np.tile(video.box[:, 0, :2], 68)
    relative = video.landmarks[:, 0] - corner
    neutral = present & (video.intensity[:, 0] == 0)
    # Every neutral frame shows the same face, wherever the crop is.
    np.testing.assert_allclose(relative[neutral], relative[neutral][[0] * neutral.sum()], atol=1e-6)
    for emotion in ("happiness", "surprise"):
        rows = np.flatnonzero(video.emotion[:, 0] == emotion)
        change = np.abs(relative[rows] - relative[neutral][0]).max(axis=1)
        order = np.argsort(video.intensity[rows, 0], kind="stable")
        assert (np.diff(change[order]) >= -1e-9).all()  # monotonic in the intensity
        assert change[order][-1] > 3  # px: a visible expression at the peak


def test_landmarks_lie_in_their_box(default_video):
    video = default_video
    present = video.face_present[:, 0]
    points = video.landmarks[present, 0].reshape(-1, 68, 2)
    box = video.box[present, 0]
    inner = points[:, 17:]  # brows, eyes, nose, mouth
    assert (inner[..., 0] > box[:, None, 0]).all() and (inner[..., 0] < box[:, None, 2]).all()
    assert (inner[..., 1] > box[:, None, 1]).all() and (inner[..., 1] < box[:, None, 3]).all()
    iod = interocular_distance(points)
    assert (0.25 * 128 < iod).all() and (iod < 0.5 * 128).all()


# --------------------------------------------------------------------------
# Motion and compositing
# --------------------------------------------------------------------------


def _check_path(box: np.ndarray, present: np.ndarray, fps: float, width: int, height: int):
    rows = np.flatnonzero(present)
    b = box[rows]
    assert (b[:, :2] >= 0).all() and (b[:, 2] <= width - 1).all() and (b[:, 3] <= height - 1).all()
    # Speed per axis at most 5 px/s, also across the absent gap.
    step = np.abs(np.diff(b[:, :2], axis=0)) / (np.diff(rows)[:, None] / fps)
    assert step.max() <= 5.0 + 1e-6
    # Smooth: the velocity barely changes from frame to frame.
    consecutive = np.diff(rows) == 1
    velocity = np.diff(b[:, :2], axis=0)[consecutive]
    assert np.abs(np.diff(velocity, axis=0)).max() < 0.05
    # And it does move: something for a tracker to follow.
    assert np.hypot(*(b[-1, :2] - b[0, :2])) > 5


def test_box_inside_the_frame_and_moving_smoothly(default_video):
    video = default_video
    present = video.face_present[:, 0]
    box = video.box[:, 0]
    np.testing.assert_allclose(box[present, 2:] - box[present, :2], 127.0)
    _check_path(box, present, 25.0, 320, 180)


def test_two_faces_side_by_side_with_time_shifted_scripts(two_faces):
    video = two_faces
    n = len(video.time)
    assert n == 120 and video.subject.tolist() == ["s00", "s01"]
    for j in range(2):
        _check_path(video.box[:, j], video.face_present[:, j], 10.0, 640, 360)
    left, right = video.box[:, 0], video.box[:, 1]
    assert np.nanmax(left[:, 2]) < 320 < np.nanmin(right[:, 0])
    # Face 1 plays face 0's script cyclically shifted by half its 12 s.
    assert sum(s.seconds for s in video.script[1]) == 12.0
    np.testing.assert_array_equal(video.emotion[:, 1], np.roll(video.emotion[:, 0], -60))
    np.testing.assert_allclose(video.intensity[:, 1], np.roll(video.intensity[:, 0], -60))
    # Two different subjects: their neutral faces differ.
    neutral = (video.intensity == 0).all(axis=1)
    t = np.flatnonzero(neutral)[0]
    shapes = video.landmarks[t].reshape(2, 68, 2) - video.box[t, :, None, :2]
    assert np.abs(shapes[0] - shapes[1]).max() > 2


@pytest.mark.parametrize("n_faces, size", [(1, (133, 133)), (2, (266, 140)), (2, (300, 133))])
def test_smallest_frames_hold_the_drifting_faces(n_faces, size):
    script = [("neutral", 30.0)]  # long enough to reach the ends of the drift
    for seed in range(3):
        video = make_sample_video(
            size=size, fps=2.0, n_faces=n_faces, script=script, random_state=seed
        )
        box = video.box
        assert (box[..., :2] >= 0).all()
        assert (box[..., 2] <= size[0] - 1).all() and (box[..., 3] <= size[1] - 1).all()
        if n_faces == 2:
            assert (box[:, 0, 2] < box[:, 1, 0]).all()


def test_face_is_blended_into_a_static_background():
    script = [("neutral", 0.5), ("absent", 0.5), ("neutral", 0.5)]
    video = make_sample_video(**SMALL, script=script, noise=0.0)
    frames = np.array(video.frames, dtype=float)
    present = video.face_present[:, 0]
    background = frames[~present][0]
    for t in np.flatnonzero(~present):
        np.testing.assert_array_equal(frames[t], background)  # static, no noise
    for t in np.flatnonzero(present):
        left, top, right, bottom = video.box[t, 0]
        # Outside the crop: the background; on the crop's outline: (nearly) the
        # background too, thanks to the soft mask; in its middle: the face.
        outside = np.ones(frames.shape[1:3], dtype=bool)
        outside[
            math.floor(top) : math.ceil(bottom) + 1, math.floor(left) : math.ceil(right) + 1
        ] = False
        np.testing.assert_array_equal(frames[t][outside], background[outside])
        rows = np.r_[math.ceil(top), math.floor(bottom)]
        columns = np.r_[math.ceil(left), math.floor(right)]
        span_x = np.arange(math.ceil(left), math.floor(right) + 1)
        span_y = np.arange(math.ceil(top), math.floor(bottom) + 1)
        change = np.abs(frames[t] - background).max(axis=2)
        outline = np.r_[change[rows][:, span_x].ravel(), change[span_y][:, columns].ravel()]
        assert outline.max() <= 5
        cx, cy = int((left + right) / 2), int((top + bottom) / 2)
        middle = np.abs(
            frames[t][cy - 20 : cy + 20, cx - 20 : cx + 20]
            - background[cy - 20 : cy + 20, cx - 20 : cx + 20]
        )
        assert middle.mean() > 15


@pytest.mark.parametrize("noise", [2.0, 6.0])
def test_noise_is_fresh_every_frame(noise):
    script = [("absent", 0.3)]
    video = make_sample_video(**SMALL, script=script, noise=noise, color=False)
    first, second = (f.astype(float) for f in video.frames[:2])
    difference = (first - second)[10:-10, 10:-10]
    assert abs(difference.std() / (noise * np.sqrt(2)) - 1) < 0.1
    assert abs(difference.mean()) < 0.2


# --------------------------------------------------------------------------
# Files and detection
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, color", [("clip.mp4", True), ("clip.avi", True), ("gray.avi", False)]
)
def test_written_video_reads_back(tmp_path, name, color):
    options = dict(SMALL, script=SHORT, color=color, random_state=3)
    path = tmp_path / name
    written = make_sample_video(path, **options)
    assert written.path == str(path) and written.frames is None
    in_memory = make_sample_video(**options)
    capture = cv2.VideoCapture(str(path))
    try:
        assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == len(written.time) == 36
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
        decoded = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            decoded.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    assert len(decoded) == 36
    assert all(frame.shape == (150, 200, 3) for frame in decoded)
    # The same frames, in order and in RGB order, up to compression.
    for frame, original in zip(decoded, in_memory.frames):
        original = original if color else np.repeat(original[..., None], 3, axis=2)
        error = np.abs(frame.astype(float) - original).mean(axis=(0, 1))
        assert error.max() < 6
    np.testing.assert_array_equal(written.emotion, in_memory.emotion)
    np.testing.assert_array_equal(written.box, in_memory.box)


def test_hog_detector_finds_the_face_where_present_and_only_there():
    video = make_sample_video(fps=10.0, script=SHORT)
    assert video.frames[0].shape == (360, 640, 3)  # the default size
    present = video.face_present[:, 0]
    found, misplaced = [], 0
    for t, frame in enumerate(video.frames):
        boxes, _ = detect_faces(_gray(frame), "hog")
        if not present[t]:
            assert len(boxes) == 0, f"frame {t}: a face detected where none is"
            continue
        found.append(len(boxes) == 1)
        if len(boxes) == 1:
            truth = video.box[t, 0]
            centre = (boxes[0, :2] + boxes[0, 2:]) / 2
            misplaced += np.abs(centre - (truth[:2] + truth[2:]) / 2).max() > 0.15 * 128
    assert present.sum() == 32 and np.mean(found) >= 0.9
    assert misplaced == 0


def test_detected_landmarks_match_the_ground_truth(two_faces):
    """dlib's 68 points, on each face's own half of the frame, agree with `landmarks`."""
    video = two_faces
    landmarker = DlibLandmarker(n_landmarks=68, detector="hog")
    rows = [t for t in (15, 35, 55, 90) if video.face_present[t].all()]
    assert len(rows) >= 3
    for t in rows:
        gray = _gray(video.frames[t])
        for j, (start, stop) in enumerate([(0, 320), (320, 640)]):
            half = np.ascontiguousarray(gray[:, start:stop])
            detected = landmarker(half).reshape(68, 2) + [start, 0]
            truth = video.landmarks[t, j].reshape(68, 2)
            error = np.linalg.norm(detected - truth, axis=1).mean()
            assert error < 0.1 * interocular_distance(truth[None])[0], (t, j, error)


# --------------------------------------------------------------------------
# Scripts, validation, determinism
# --------------------------------------------------------------------------


def test_per_face_scripts_and_padding():
    scripts = [[("neutral", 1.0), ("expression", 1.0, "sadness")], [("neutral", 1.5)]]
    video = make_sample_video(size=(240, 120), fps=10.0, face_size=96, n_faces=2, script=scripts)
    assert len(video.time) == 20
    assert video.script[1] == [
        VideoSegment("neutral", 1.5, "neutral", 0.0, 0.0),
        VideoSegment("absent", 0.5, "", 0.0, 0.0),
    ]
    assert video.face_present[:15, 1].all() and not video.face_present[15:, 1].any()
    assert (video.emotion[10:, 0] == "sadness").all()
    assert video.script[0][1] == VideoSegment("expression", 1.0, "sadness", DEFAULT_RAMP, 1.0)


def test_resolved_script_round_trips():
    first = make_sample_video(**SMALL, script=SHORT)
    again = make_sample_video(**SMALL, script=first.script)
    assert again.script == first.script
    np.testing.assert_array_equal(np.array(again.frames), np.array(first.frames))


def test_deterministic_for_a_fixed_random_state():
    options = dict(SMALL, script=SHORT[:3])
    first, second = make_sample_video(**options), make_sample_video(**options)
    np.testing.assert_array_equal(np.array(first.frames), np.array(second.frames))
    np.testing.assert_array_equal(first.box, second.box)
    np.testing.assert_array_equal(first.landmarks, second.landmarks)
    other = make_sample_video(**options, random_state=1)
    assert not np.array_equal(other.box, first.box)
    assert np.abs(np.array(other.frames, float) - np.array(first.frames, float)).mean() > 5


@pytest.mark.parametrize(
    "script, error, message",
    [
        ("neutral", TypeError, "list of segments"),
        ([], ValueError, "script is empty"),
        ([("neutral",)], ValueError, "segment 0 .* has 1 elements"),
        ([("neutral", 1), ("smile", 1)], ValueError, "segment 1 .*kind must be one of"),
        ([("neutral", 0)], ValueError, "segment 0 .*seconds must be a finite number > 0"),
        ([("neutral", float("nan"))], ValueError, "seconds must be a finite number > 0"),
        ([("neutral", "2")], ValueError, "seconds must be"),
        ([("expression", 2)], ValueError, "needs an emotion"),
        ([("expression", 2, "joy")], ValueError, "emotion must be one of"),
        ([("expression", 2, "neutral")], ValueError, "use \\('neutral', seconds\\)"),
        ([("expression", 0.6, "fear")], ValueError, "ramps need 2 x 0.5 s but it lasts 0.6 s"),
        ([("expression", 2, "fear", -1)], ValueError, "ramp must be"),
        ([("expression", 2, "fear", 0.5, 1.5)], ValueError, "peak must be in"),
        ([("neutral", 1, "happiness")], ValueError, "shows no emotion"),
        ([("absent", 1, "", 0.5)], ValueError, "ramp and peak apply to 'expression'"),
        ([("neutral", 1), "absent"], TypeError, "segment 1 is 'absent'"),
        ([("neutral", 1), ("absent", 0.04)], ValueError, "segment 1 .*shorter than one frame"),
    ],
)
def test_script_errors_name_the_segment_and_problem(script, error, message):
    with pytest.raises(error, match=message):
        make_sample_video(**SMALL, script=script)


def test_per_face_script_errors():
    with pytest.raises(ValueError, match="holds 1 per-face scripts but n_faces=2"):
        make_sample_video(size=(240, 120), face_size=96, n_faces=2, script=[[("neutral", 1)]])
    with pytest.raises(ValueError, match="script of face 1, segment 0"):
        make_sample_video(
            size=(240, 120), face_size=96, n_faces=2, script=[[("neutral", 1)], [("absent", -1)]]
        )


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(size=(640,)), "size must be a pair"),
        (dict(size=(640.0, 360)), "size must be a pair"),
        (dict(size=(100, 360)), "too small for n_faces=1 .* at least \\(133, 133\\)"),
        (dict(n_faces=4), "too small for n_faces=4"),
        (dict(fps=0), "fps must be"),
        (dict(fps=float("inf")), "fps must be"),
        (dict(noise=-1), "noise must be"),
        (dict(face_size=16), "face_size must be an integer >= 32"),
        (dict(n_faces=0), "n_faces must be an integer >= 1"),
        (dict(subject=-1), "subject must be an integer >= 0"),
        (dict(random_state=-3), "random_state must be a non-negative integer"),
    ],
)
def test_argument_errors(options, message):
    with pytest.raises(ValueError, match=message):
        make_sample_video(**{**dict(size=(400, 200)), **options})


def test_missing_output_folder(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        make_sample_video(tmp_path / "missing" / "video.mp4", **SMALL, script=SHORT[:1])
