"""fersk.video.motion: MotionDetector on a real 68-point face shape moved in ways known by
construction."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from fersk._core.layout import FIVE_FROM_68
from fersk.datasets.synthetic import make_sample_faces
from fersk.video.motion import MotionDetector, MotionState

#: Lower lip, outer (55-59) and inner (65-67) contour: what moves when the mouth opens.
LOWER_LIP = [55, 56, 57, 58, 59, 65, 66, 67]
JAW = list(range(17))
N_KEPT = 68 - len(JAW)  # landmarks measured with the default exclude=("jaw",)


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """The sample generator's neutral face, (68, 2) pixels."""
    data = make_sample_faces(
        n_subjects=1, emotions=["neutral"], n_intensities=1, blur_sigmas=(0.0,)
    )
    return np.asarray(data.landmarks, dtype=float).reshape(68, 2)


def _iod(points: np.ndarray) -> float:
    """Inter-ocular distance by hand: eye centres are the means of the eye corners."""
    right = points[[36, 39]].mean(axis=0) if len(points) == 68 else points[[2, 3]].mean(axis=0)
    left = points[[42, 45]].mean(axis=0) if len(points) == 68 else points[[0, 1]].mean(axis=0)
    return float(np.hypot(*(left - right)))


def _similarity(points: np.ndarray, angle: float, scale: float, shift) -> np.ndarray:
    """Rotate by ``angle`` and scale about the shape's centre, then shift (pixels)."""
    centre = points.mean(axis=0)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return (points - centre) @ rot.T * scale + centre + np.asarray(shift)


def _mouth(face: np.ndarray, t: float, start: float, duration: float, drop_px: float):
    """The face with its lower lip lowered linearly from ``start`` for ``duration`` s."""
    out = face.copy()
    out[LOWER_LIP, 1] += drop_px * min(max((t - start) / duration, 0.0), 1.0)
    return out


def _run(detector: MotionDetector, frames, track: int = 0) -> list[MotionState]:
    return [detector.update(track, t, pts) for t, pts in frames]


def _same_state(a: MotionState, b: MotionState) -> bool:
    energy_same = (np.isnan(a.energy) and np.isnan(b.energy)) or a.energy == b.energy
    return energy_same and a.threshold == b.threshold and a.moving == b.moving


# --- energy -------------------------------------------------------------------------------


@pytest.mark.parametrize("align", [True, False])
def test_rigid_head_motion_gives_no_energy(face, align):
    fps = 30
    times = np.arange(0, 4, 1 / fps)
    frames = [
        (
            t,
            _similarity(
                face,
                angle=0.3 * math.sin(2 * math.pi * 0.5 * t),
                scale=1 + 0.3 * math.sin(2 * math.pi * 0.3 * t),
                shift=(80 * t, 30 * math.sin(3 * t)),
            ),
        )
        for t in times
    ]
    # The head does move a lot in pixels: ~1 inter-ocular distance per second or more.
    raw_speed = [
        np.linalg.norm(b - a, axis=1).mean() * fps / _iod(face)
        for (_, a), (_, b) in zip(frames[:-1], frames[1:])
    ]
    assert np.median(raw_speed) > 0.5
    states = _run(MotionDetector(align=align), frames)
    energies = np.array([s.energy for s in states])
    assert np.isnan(energies[0])  # no previous frame
    assert np.abs(energies[1:]).max() < 1e-9
    assert not any(s.moving for s in states)


def test_energy_closed_form_without_alignment(face):
    """8 lower-lip points moving at v px/s: energy = 8 / 51 * v / IOD (jaw excluded)."""
    speed = 50.0
    frames = [(t, _mouth(face, t, 0.0, 10.0, 10.0 * speed)) for t in np.arange(0, 0.5, 1 / 30)]
    states = _run(MotionDetector(align=False), frames)
    expected = len(LOWER_LIP) / N_KEPT * speed / _iod(face)
    np.testing.assert_allclose([s.energy for s in states[1:]], expected, rtol=1e-9)


def test_energy_closed_form_with_alignment(face):
    """The residual after a least-squares similarity fit, solved here as a real 4-parameter
    linear least-squares problem on the normalised, jaw-less points."""
    dt, speed = 0.04, 50.0
    before, after = face.copy(), face.copy()
    after[LOWER_LIP, 1] += speed * dt
    keep = np.arange(17, 68)

    # Normalise by hand: eye midpoint to the origin, eye line along +x, / IOD.
    def normalise(points):
        right, left = points[[36, 39]].mean(axis=0), points[[42, 45]].mean(axis=0)
        e = left - right
        c, s = e / np.dot(e, e)
        p = points - (right + left) / 2
        return np.stack([c * p[:, 0] + s * p[:, 1], c * p[:, 1] - s * p[:, 0]], axis=1)[keep]

    z, w = normalise(before), normalise(after)
    # w ~ [[a, -b], [b, a]] z + (tx, ty): unknowns (a, b, tx, ty).
    design = np.zeros((2 * len(z), 4))
    design[0::2] = np.column_stack([z[:, 0], -z[:, 1], np.ones(len(z)), np.zeros(len(z))])
    design[1::2] = np.column_stack([z[:, 1], z[:, 0], np.zeros(len(z)), np.ones(len(z))])
    coef, *_ = np.linalg.lstsq(design, w.ravel(), rcond=None)
    residual = (w.ravel() - design @ coef).reshape(-1, 2)
    expected = np.linalg.norm(residual, axis=1).mean() / dt

    detector = MotionDetector()
    detector.update(0, 1.0, before)
    state = detector.update(0, 1.0 + dt, after)
    assert state.energy == pytest.approx(expected, rel=1e-9)
    # The fit spreads the lip's motion over all points: more energy than the plain difference.
    plain = len(LOWER_LIP) / N_KEPT * speed / _iod(face)
    assert 1.3 * plain < state.energy < 2.0 * plain


def test_exclusion_and_flat_input(face):
    speed = 40.0
    frames = [
        (t, face + np.where(np.isin(np.arange(68), JAW)[:, None], [speed * t, 0], 0))
        for t in (0.0, 0.1, 0.2)
    ]
    default = _run(MotionDetector(align=False), frames)
    assert [s.energy for s in default[1:]] == [0.0, 0.0]  # only the jaw moved
    everything = _run(MotionDetector(align=False, exclude=()), frames)
    expected = len(JAW) / 68 * speed / _iod(face)
    np.testing.assert_allclose([s.energy for s in everything[1:]], expected, rtol=1e-9)
    flat = _run(MotionDetector(align=False, exclude=()), [(t, p.ravel()) for t, p in frames])
    assert all(_same_state(a, b) for a, b in zip(everything, flat))
    brows = _run(MotionDetector(align=False, exclude="left_brow"), frames)
    np.testing.assert_allclose([s.energy for s in brows[1:]], 17 / 63 * speed / _iod(face))


def test_five_point_layout_uses_all_points(face):
    five = face[list(FIVE_FROM_68)]
    speed = 20.0  # the nose tip drops 20 px/s
    frames = [
        (t, five + np.array([[0, 0]] * 4 + [[0, speed * t]])) for t in np.arange(0, 0.3, 0.05)
    ]
    states = _run(MotionDetector(align=False, exclude=("jaw", "nose")), frames)
    np.testing.assert_allclose([s.energy for s in states[1:]], speed / _iod(five) / 5, rtol=1e-9)
    aligned = _run(MotionDetector(), frames)
    assert all(0 < s.energy < speed / _iod(five) for s in aligned[1:])


def test_variable_frame_rate_gives_the_same_energy(face):
    """The same motion per second, sampled at 30 fps or at irregular times."""
    speed = 15.0  # px/s of the lower lip, for 1 s
    rng = np.random.default_rng(0)
    regular = np.arange(0, 1, 1 / 30)
    irregular = np.concatenate([[0.0], np.cumsum(rng.uniform(1 / 90, 1 / 10, size=60))])
    irregular = irregular[irregular < 1]
    expected_plain = len(LOWER_LIP) / N_KEPT * speed / _iod(face)
    results = {}
    for align in (False, True):
        for name, times in (("regular", regular), ("irregular", irregular)):
            frames = [(t, _mouth(face, t, 0.0, 10.0, 10.0 * speed)) for t in times]
            results[align, name] = np.array(
                [s.energy for s in _run(MotionDetector(align=align), frames)[1:]]
            )
    np.testing.assert_allclose(results[False, "regular"], expected_plain, rtol=1e-9)
    np.testing.assert_allclose(results[False, "irregular"], expected_plain, rtol=1e-9)
    # Aligned: the same value at both rates, up to the slow change of the face's shape.
    level = np.median(results[True, "regular"])
    np.testing.assert_allclose(results[True, "irregular"], level, rtol=0.01)
    np.testing.assert_allclose(results[True, "regular"], level, rtol=0.01)


# --- threshold and hysteresis -------------------------------------------------------------


def test_noise_free_mouth_opening_segment_timing(face):
    """32 fps (exact binary times): the segment covers the opening and ends exactly
    ``min_still_s`` after the first still frame."""
    fps, start, duration = 32, 2.0, 0.3
    times = np.arange(0, 4, 1 / fps)
    frames = [(t, _mouth(face, t, start, duration, 15.0)) for t in times]
    detector = MotionDetector(min_still_s=0.3)
    states = _run(detector, frames)
    moving = np.array([s.moving for s in states])
    first_moving = int(start * fps) + 1  # first frame whose interval holds lip motion
    last_motion = math.ceil((start + duration) * fps)  # last interval with lip motion
    release = last_motion + 1 + math.ceil(0.3 * fps)  # first still frame + 0.3 s
    assert not moving[:first_moving].any()
    assert moving[first_moving:release].all()
    assert not moving[release:].any()
    # A still, jitter-free face: the threshold is the floor once the warm-up is over.
    assert states[first_moving - 1].threshold == 0.002
    assert states[0].threshold == np.inf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mouth_opening_with_jitter(face, seed):
    """0.1 px landmark jitter; the lower lip drops 15 px (0.3 IOD) in 0.3 s from t = 3 s."""
    rng = np.random.default_rng(seed)
    fps, start, duration = 30, 3.0, 0.3
    times = np.arange(0, 6, 1 / fps)
    detector = MotionDetector()
    states = [
        detector.update(0, t, _mouth(face, t, start, duration, 15.0) + rng.normal(0, 0.1, (68, 2)))
        for t in times
    ]
    moving = np.array([s.moving for s in states])
    during = (times > start + 1e-9) & (times <= start + duration + 1e-9)
    assert moving[during].all()
    after = times > start + duration + 0.3 + 0.3  # min_still_s plus slack for the jitter
    assert not moving[after].any()
    before = (times > 1.2) & (times < start)
    assert moving[before].mean() < 0.05


def test_threshold_follows_jitter_and_noise_is_rarely_flagged(face):
    """A still face with white jitter of 0.1 and of 0.4 px for a minute at 30 fps: both the
    median and the MAD of the energies grow with the jitter, so does the threshold (4x, as
    the energy is close to linear in small noise); the false-positive rate stays low."""
    fps, seconds = 30, 60
    times = np.arange(0, seconds, 1 / fps)
    thresholds, fp_rates = {}, {}
    for sigma, seed in ((0.1, 10), (0.4, 11)):
        rng = np.random.default_rng(seed)
        detector = MotionDetector()
        states = [detector.update(0, t, face + rng.normal(0, sigma, (68, 2))) for t in times]
        settled = times > 2.0
        thresholds[sigma] = np.median([s.threshold for s, ok in zip(states, settled) if ok])
        fp_rates[sigma] = np.mean([s.moving for s, ok in zip(states, settled) if ok])
    assert thresholds[0.4] / thresholds[0.1] == pytest.approx(4.0, rel=0.1)
    assert thresholds[0.1] > 0.002  # adapted, not the floor
    assert max(fp_rates.values()) < 0.03  # fraction of the still frames flagged moving


def test_warm_up_flags_nothing(face):
    """A mouth opening in the first second (the warm-up) is not flagged; the same one later
    is."""
    for start, flagged in ((0.2, False), (1.5, True)):
        frames = [(t, _mouth(face, t, start, 0.3, 15.0)) for t in np.arange(0, 2.5, 1 / 30)]
        states = _run(MotionDetector(), frames)
        assert max(s.energy for s in states[1:]) > 0.2
        assert any(s.moving for s in states) is flagged
    early = _run(MotionDetector(), [(t, face) for t in np.arange(0, 1, 1 / 30)])
    assert all(s.threshold == np.inf for s in early)


# --- missing frames -----------------------------------------------------------------------


def test_missing_frames_leave_the_state_and_bridge_short_gaps(face):
    speed, fps = 30.0, 30
    times = np.arange(0, 3, 1 / fps)
    missing = set(range(40, 46))
    frames = []
    for i, t in enumerate(times):
        pts = _mouth(face, t, 0.0, 100.0, 100.0 * speed)
        if i in missing:
            pts = None if i % 2 else np.full((68, 2), np.nan)
        frames.append((t, pts))
    frames[50] = (times[50], np.where(np.arange(68)[:, None] == 3, np.nan, frames[50][1]))
    states = _run(MotionDetector(align=False), frames)
    expected = len(LOWER_LIP) / N_KEPT * speed / _iod(face)
    for i in sorted(missing | {50}):
        before = states[min(missing) - 1] if i in missing else states[49]
        assert np.isnan(states[i].energy)
        assert states[i].threshold == before.threshold
        assert states[i].moving == before.moving
    # The frames after the gaps: velocity over the whole gap, same constant speed.
    assert states[46].energy == pytest.approx(expected, rel=1e-9)
    assert states[51].energy == pytest.approx(expected, rel=1e-9)


def test_long_gap_makes_no_velocity(face):
    detector = MotionDetector(window_s=1.0)
    for t in np.arange(0, 2, 0.05):
        detector.update(0, t, face)
    moved = _similarity(face, 0.0, 1.0, (0.0, 0.0))
    moved[LOWER_LIP, 1] += 30.0  # a big change while the face was away
    assert detector.update(0, 2.5, None).moving is False
    state = detector.update(0, 3.2, moved)  # 1.25 s after the last landmarks > window_s
    assert np.isnan(state.energy) and not state.moving
    after = detector.update(0, 3.25, moved)
    assert after.energy == pytest.approx(0.0, abs=1e-12)
    # A gap within window_s is bridged: the same jump 0.5 s after the last landmarks.
    short = MotionDetector(window_s=1.0, align=False)
    for t in np.arange(0, 2, 0.05):
        short.update(0, t, face)
    jump = short.update(0, 2.45, moved)
    assert jump.energy == pytest.approx(len(LOWER_LIP) / N_KEPT * 30.0 / _iod(face) / 0.5, rel=1e-9)
    assert jump.moving


def test_missing_frames_do_not_break_a_still_run(face):
    """32 fps, jitter-free: the segment ends at the same frame with or without a gap inside
    the still run."""
    fps = 32
    times = np.arange(0, 4, 1 / fps)
    full = [(t, _mouth(face, t, 2.0, 0.3, 15.0)) for t in times]
    release = math.ceil(2.3 * fps) + 1 + math.ceil(0.3 * fps)
    gappy = [(t, None if release - 6 <= i < release - 2 else p) for i, (t, p) in enumerate(full)]
    for frames in (full, gappy):
        moving = np.array([s.moving for s in _run(MotionDetector(), frames)])
        assert moving[release - 1] and not moving[release:].any()


# --- tracks, errors, pickling -------------------------------------------------------------


def _three_tracks(face):
    rng = np.random.default_rng(5)
    five = face[list(FIVE_FROM_68)]
    streams = {
        0: [(t, face + rng.normal(0, 0.2, (68, 2))) for t in np.arange(0, 5, 1 / 30)],
        1: [(t, _mouth(face, t, 3.0, 0.3, 15.0)) for t in np.arange(0.5, 5, 1 / 25)],
        2: [(t, five + rng.normal(0, 0.2, (5, 2))) for t in np.arange(0, 4, 0.1)],
    }
    return streams


def test_tracks_are_independent(face):
    streams = _three_tracks(face)
    alone = {k: _run(MotionDetector(), frames, track=k) for k, frames in streams.items()}
    events = sorted((t, k, i) for k, frames in streams.items() for i, (t, _) in enumerate(frames))
    shared = MotionDetector()
    together: dict[int, list[MotionState]] = {k: [] for k in streams}
    for _, k, i in events:
        t, pts = streams[k][i]
        together[k].append(shared.update(k, t, pts))
    for k in streams:
        assert all(_same_state(a, b) for a, b in zip(alone[k], together[k]))
    assert any(s.moving for s in together[1])


def test_pickle_round_trip_mid_stream(face):
    streams = _three_tracks(face)
    detector = MotionDetector()
    for k, frames in streams.items():
        for t, pts in frames[: len(frames) // 2]:
            detector.update(k, t, pts)
    copy = pickle.loads(pickle.dumps(detector))
    assert repr(copy) == repr(detector)
    for k, frames in streams.items():
        for t, pts in frames[len(frames) // 2 :]:
            assert _same_state(detector.update(k, t, pts), copy.update(k, t, pts))


def test_forget_starts_the_track_afresh(face):
    detector = MotionDetector()
    for t in np.arange(0, 2, 0.1):
        detector.update(4, t, face)
    detector.forget(4)
    detector.forget(99)  # unknown: ignored
    state = detector.update(4, 0.0, face)  # earlier time is fine for a new track
    assert np.isnan(state.energy) and state.threshold == np.inf


def test_time_errors_name_the_track_and_times(face):
    detector = MotionDetector()
    detector.update(3, 1.0, face)
    with pytest.raises(ValueError, match=r"track 3: frame time 1\.0 s is not after .* 1\.0 s"):
        detector.update(3, 1.0, face)
    detector.update(3, 1.5, None)  # a missing frame still advances the track's time
    with pytest.raises(ValueError, match=r"track 3: frame time 1\.2 s is not after .* 1\.5 s"):
        detector.update(3, 1.2, face)
    with pytest.raises(ValueError, match="track 3: frame time must be a finite number"):
        detector.update(3, float("nan"), face)
    detector.update(8, 0.5, face)  # another track has its own clock


def test_landmark_errors(face):
    detector = MotionDetector()
    with pytest.raises(ValueError, match=r"track 1 at t=0\.0 s: .*got shape \(67, 2\)"):
        detector.update(1, 0.0, face[:67])
    with pytest.raises(ValueError, match="not numeric"):
        detector.update(1, 0.0, [["a", "b"]] * 68)
    detector.update(1, 0.0, face)
    with pytest.raises(ValueError, match="got 5 landmarks, but the track's earlier frames had 68"):
        detector.update(1, 0.1, face[list(FIVE_FROM_68)])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window_s": 0}, "'window_s' parameter of MotionDetector"),
        ({"k": -1.0}, "'k' parameter"),
        ({"release_ratio": 0.0}, "'release_ratio' parameter"),
        ({"min_still_s": float("nan")}, "'min_still_s' parameter"),
        ({"min_threshold": "0.1"}, "'min_threshold' parameter"),
        ({"exclude": ("cheeks",)}, r"unknown region\(s\) \['cheeks'\]"),
        (
            {
                "exclude": (
                    "jaw",
                    "right_brow",
                    "left_brow",
                    "nose",
                    "right_eye",
                    "left_eye",
                    "outer_lips",
                    "inner_lips",
                )
            },
            "leaves no 68-point landmark",
        ),
        ({"align": "yes"}, "'align' parameter"),
    ],
)
def test_parameter_errors(params, message, face):
    detector = MotionDetector(**params)  # stored as given; checked at first use
    with pytest.raises(ValueError, match=message):
        detector.update(0, 0.0, face)
