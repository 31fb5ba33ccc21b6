"""fersk.datasets.synthetic.clips: make_sample_clips -- the sample faces' subjects easing from a
neutral onset into an expression while the head drifts."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from fersk._core.layout import interocular_distance
from fersk.datasets.synthetic import SAMPLE_EMOTIONS, make_sample_faces
from fersk.datasets.synthetic.clips import generate_clips
from tests.datasets.synthetic.test_faces import _distances, _mouth_open, _points

#: A small clip configuration: 2 subjects x 3 emotions x 6 frames at 64 px.
CLIPS_SMALL = dict(
    n_subjects=2,
    emotions=["surprise", "happiness", "neutral"],
    n_frames=6,
    onset_frames=2,
    image_size=64,
)


NEUTRAL = SAMPLE_EMOTIONS.index("neutral")


def _clip_points(rows: np.ndarray) -> np.ndarray:
    """Clip landmark rows ``(n, T * 136)`` as ``(n, T, 68, 2)``."""
    from fersk._core.layout import to_sequences

    return to_sequences(np.asarray(rows, dtype=np.float64), 68)


@pytest.fixture(scope="module")
def default_clips():
    from fersk.datasets.synthetic import make_sample_clips

    return make_sample_clips()


@pytest.mark.slow
def test_clips_default_shapes_dtypes_and_order(default_clips):
    clips = default_clips
    n = 8 * 7
    assert len(clips.data) == n
    assert all(c.shape == (16, 96, 96) and c.dtype == np.uint8 for c in clips.data)
    assert clips.target_names == list(SAMPLE_EMOTIONS)
    np.testing.assert_array_equal(clips.target, np.tile(np.arange(7), 8))
    np.testing.assert_array_equal(clips.subject, np.repeat([f"s{s:02d}" for s in range(8)], 7))
    assert clips.target.dtype == np.int64
    assert clips.intensity.shape == (n, 16) and clips.landmarks.shape == (n, 16 * 136)
    assert np.isfinite(clips.landmarks).all()
    assert isinstance(clips.DESCR, str) and "clip" in clips.DESCR and "astronaut" in clips.DESCR
    # The subject split of make_sample_faces.
    faces = make_sample_faces(
        emotions=["neutral"], n_intensities=1, blur_sigmas=(0.0,), image_size=48
    )
    split_of = dict(zip(faces.subject, faces.split))
    assert [split_of[s] for s in clips.subject] == clips.split.tolist()
    # Brows, eyes, nose and mouth stay inside every frame while the head moves.
    points = _clip_points(clips.landmarks)
    assert points[:, :, 17:].min() > 0 and points[:, :, 17:].max() < 95


@pytest.mark.slow
def test_clip_intensity_holds_then_eases_in_and_out(default_clips):
    clips = default_clips
    neutral = clips.target == NEUTRAL
    assert (clips.intensity[neutral] == 0).all()
    ramps = clips.intensity[~neutral]
    assert (ramps == ramps[0]).all()  # one ramp for every expression
    ramp = ramps[0]
    assert (ramp[:4] == 0).all() and ramp[4] > 0 and ramp[-1] == 1.0
    steps = np.diff(ramp[3:])  # from the last neutral frame on
    assert (steps > 0).all()
    # Ease in and out: slow at both ends, fastest in the middle.
    assert steps[0] < steps.max() / 3 and steps[-1] < steps.max() / 3
    assert np.argmax(steps) in (len(steps) // 2 - 1, len(steps) // 2)


@pytest.mark.slow
def test_clip_subjects_have_the_sample_faces_neutral_face(default_clips):
    faces = make_sample_faces(
        emotions=["neutral"], n_intensities=1, blur_sigmas=(0.0,), image_size=96
    )
    face_shape = _distances(_points(faces.landmarks))  # pose-free: / inter-ocular distance
    first_frames = _clip_points(default_clips.landmarks)[:, 0]  # intensity 0 in every clip
    clip_shape = _distances(first_frames).reshape(8, 7, -1)
    for subject in range(8):
        np.testing.assert_allclose(
            clip_shape[subject],
            np.broadcast_to(face_shape[subject], clip_shape[subject].shape),
            atol=1e-9,
        )
    assert np.abs(face_shape[0] - face_shape[1]).max() > 0.02  # subjects do differ


@pytest.mark.slow
def test_clip_head_drifts_smoothly_but_the_neutral_shape_does_not_change(default_clips):
    clips = default_clips
    points = _clip_points(clips.landmarks)
    for clip in points[clips.target == NEUTRAL]:
        shape = _distances(clip)
        np.testing.assert_allclose(shape, np.broadcast_to(shape[0], shape.shape), atol=1e-9)
    eyes = points[:, :, 36:48].mean(axis=2)  # (clips, frames, 2)
    travel = np.linalg.norm(eyes - eyes[:, :1], axis=2).max(axis=1)
    assert (travel > 1.0).all() and travel.max() < 0.15 * 96
    steps = np.linalg.norm(np.diff(eyes, axis=1), axis=2)
    assert steps.max() < 2.0  # smooth: no jumps between frames
    # Rotation and scale drift too.
    right, left = points[:, :, 36:42].mean(axis=2), points[:, :, 42:48].mean(axis=2)
    angle = np.degrees(np.arctan2(*(left - right).transpose(2, 0, 1)[::-1]))
    assert np.median(np.ptp(angle, axis=1)) > 1.0 and np.ptp(angle, axis=1).max() < 10
    iod = np.linalg.norm(left - right, axis=2)
    assert np.median(np.ptp(iod, axis=1) / iod.mean(axis=1)) > 0.01
    # Each clip moves its own way.
    assert not np.allclose(eyes[0] - eyes[0, 0], eyes[1] - eyes[1, 0], atol=0.5)


@pytest.mark.slow
def test_clip_expression_grows_with_the_intensity(default_clips):
    clips = default_clips
    points = _clip_points(clips.landmarks)
    for k in np.flatnonzero(clips.target != NEUTRAL):
        shape = _distances(points[k])
        change = np.linalg.norm(shape - shape[0], axis=1)
        assert change[:4].max() < 1e-9  # onset: the neutral face
        assert change[-1] > 1.0 and (np.diff(change[3:]) > 0).all()
        assert np.corrcoef(change, clips.intensity[k])[0, 1] > 0.99


def test_clip_frames_show_the_expression_to_dlib():
    """dlib finds the intended landmarks in the frames, and sees the mouth open over time."""
    from fersk.datasets.synthetic import make_sample_clips
    from fersk.landmarks import LandmarkExtractor
    from fersk.landmarks.clip_extractor import ClipLandmarkExtractor

    clips = make_sample_clips(**{**CLIPS_SMALL, "image_size": 96})
    extractor = ClipLandmarkExtractor(LandmarkExtractor(detector="none"), n_frames=6)
    detected = _clip_points(extractor.fit_transform(clips.data)).reshape(-1, 68, 2)
    truth = _clip_points(clips.landmarks).reshape(-1, 68, 2)
    error = np.linalg.norm(detected - truth, axis=2) / interocular_distance(truth)[:, None]
    assert np.median(error) < 0.06
    opening = _mouth_open(detected).reshape(6, 6) / interocular_distance(detected).reshape(6, 6)
    surprise = clips.target == 0
    assert (opening[surprise, -1] > opening[surprise, 0] + 0.1).all()
    neutral = clips.target == 2
    assert np.ptp(opening[neutral], axis=1).max() < 0.05


@pytest.mark.parametrize("color", [False, True])
def test_clips_out_dir_writes_frame_folders(tmp_path, color):
    from fersk.datasets.synthetic import make_sample_clips
    from fersk.io.clips import read_clip

    in_memory = make_sample_clips(color=color, **CLIPS_SMALL)
    clips = make_sample_clips(color=color, out_dir=tmp_path / "clips", **CLIPS_SMALL)
    assert len(clips.data) == 6
    np.testing.assert_array_equal(clips.landmarks, in_memory.landmarks)
    for k, folder in enumerate(clips.data):
        emotion = clips.target_names[clips.target[k]]
        assert folder == str(tmp_path / "clips" / emotion / f"{clips.subject[k]}_{emotion}")
        assert sorted(os.listdir(folder)) == [f"frame_{t:03d}.png" for t in range(6)]
        frames = [cv2.imread(path, cv2.IMREAD_UNCHANGED) for path in read_clip(folder)]
        if color:
            frames = [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in frames]
        np.testing.assert_array_equal(np.stack(frames), in_memory.data[k])


def test_clips_color_has_the_gray_geometry():
    from fersk.datasets.synthetic import make_sample_clips

    color = make_sample_clips(color=True, **CLIPS_SMALL)
    gray = make_sample_clips(**CLIPS_SMALL)
    assert color.data[0].shape == (6, 64, 64, 3)
    np.testing.assert_array_equal(color.landmarks, gray.landmarks)
    as_gray = cv2.cvtColor(color.data[0][-1], cv2.COLOR_RGB2GRAY).astype(float)
    assert np.corrcoef(as_gray.ravel(), gray.data[0][-1].astype(float).ravel())[0, 1] > 0.9


def test_clips_blur_and_determinism():
    from fersk.datasets.synthetic import make_sample_clips

    sharp = make_sample_clips(**CLIPS_SMALL)
    blurred = make_sample_clips(blur_sigma=2.0, **CLIPS_SMALL)
    np.testing.assert_array_equal(sharp.landmarks, blurred.landmarks)
    for a, b in zip(sharp.data, blurred.data):
        for x, y in zip(a, b):
            assert cv2.Laplacian(y, cv2.CV_64F).var() < 0.5 * cv2.Laplacian(x, cv2.CV_64F).var()
    generate_clips.cache_clear()
    again = make_sample_clips(**CLIPS_SMALL)
    assert all(np.array_equal(a, b) for a, b in zip(sharp.data, again.data))
    np.testing.assert_array_equal(sharp.landmarks, again.landmarks)
    other = make_sample_clips(random_state=1, **CLIPS_SMALL)
    assert not np.array_equal(sharp.landmarks, other.landmarks)
    # Copies: changing the result leaves the cache alone.
    again.data[0][:] = 0
    again.intensity[:] = -1
    third = make_sample_clips(**CLIPS_SMALL)
    np.testing.assert_array_equal(third.data[0], sharp.data[0])
    assert third.intensity.min() == 0


@pytest.mark.slow
def test_clip_subjects_do_not_depend_on_the_other_arguments(default_clips):
    from fersk.datasets.synthetic import make_sample_clips

    small = make_sample_clips(n_subjects=2, emotions=["anger"])
    k = 7 + SAMPLE_EMOTIONS.index("anger")  # subject s01, anger in the default set
    np.testing.assert_array_equal(small.data[1], default_clips.data[k])
    np.testing.assert_array_equal(small.landmarks[1], default_clips.landmarks[k])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(emotions=["joy"]), ValueError),
        (dict(emotions="anger"), TypeError),
        (dict(n_subjects=0), ValueError),
        (dict(n_frames=0), ValueError),
        (dict(n_frames=4, onset_frames=4), ValueError),
        (dict(onset_frames=-1), ValueError),
        (dict(image_size=16), ValueError),
        (dict(blur_sigma=-1.0), ValueError),
        (dict(blur_sigma=float("nan")), ValueError),
        (dict(random_state=-1), ValueError),
    ],
)
def test_clips_invalid_arguments(kwargs, error):
    from fersk.datasets.synthetic import make_sample_clips

    with pytest.raises(error):
        make_sample_clips(**kwargs)
