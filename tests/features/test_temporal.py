"""fersk.features.temporal: MotionDelta on synthetic landmark sequences whose motion is known by
construction."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from fersk._core.layout import FIVE_FROM_68
from fersk.features.temporal import MotionDelta
from tests.strategies import SETTINGS, assert_rows_or_clear_error, clear_error, numeric_inputs

# A 5-point face (dlib's layout): left eye outer/inner corner, right eye outer/inner
# corner, nose. Eye centres (11, 0) and (1, 0): inter-ocular distance 10 px, eye
# line horizontal, eye midpoint (6, 0). So with normalize="similarity" a landmark
# moved by (dx, dy) px moves by (dx / 10, dy / 10) in normalised units.
FACE5 = np.array([[12.0, 0.0], [10.0, 0.0], [0.0, 0.0], [2.0, 0.0], [6.0, 6.0]])
NOSE = 4


def _face68(seed: int = 0) -> np.ndarray:
    """A 68-point face: random points around the eyes, eyes on a horizontal line."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-60, 60, size=(68, 2)) + [100.0, 120.0]
    pts[[36, 39, 42, 45]] = [[60.0, 100.0], [85.0, 100.0], [115.0, 100.0], [140.0, 100.0]]
    return pts


def _clip(frames: list[np.ndarray]) -> np.ndarray:
    """Stack per-frame ``(L, 2)`` landmarks into one frame-major clip row."""
    return np.concatenate([f.ravel() for f in frames])


def _nose_clip(steps, face=FACE5) -> np.ndarray:
    """One clip: the nose moves by ``k * (3, 4)`` px in frame t (5 k px, 0.5 k IOD)."""
    frames = []
    for k in steps:
        f = face.copy()
        f[NOSE] += k * np.array([3.0, 4.0])
        frames.append(f)
    return _clip(frames)[None]


def _rigid(points: np.ndarray, angle: float, scale: float, shift) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return scale * points @ np.array([[c, s], [-s, c]]) + np.asarray(shift)


def _feature(md: MotionDelta, out: np.ndarray, name: str) -> np.ndarray:
    return out[:, md.get_feature_names_out().tolist().index(name)]


# --------------------------------------------------------------------- invariances
@pytest.mark.parametrize("reference", ["onset", "least_moving", "median"])
def test_rigid_head_motion_is_not_facial_motion(reference):
    face = _face68()
    frames = [
        _rigid(face, angle=0.05 * t - 0.2, scale=1 + 0.1 * t, shift=[7.0 * t, -3.0 * t**2])
        for t in range(8)
    ]
    X = _clip(frames)[None]
    md = MotionDelta(reference=reference, windows=3).fit(X)
    out = md.transform(X)
    assert out.shape == (1, len(md.get_feature_names_out()))
    np.testing.assert_allclose(out, 0.0, atol=1e-12)
    # The same clip without normalisation is full of motion (the test can fail).
    raw = MotionDelta(normalize=None, reference=reference).fit_transform(X)
    assert np.nanmax(raw) > 5


def test_translation_mode_removes_head_translation_but_not_rotation():
    face = _face68(1)
    shifted = _clip([face + [5.0 * t, 2.0 * t] for t in range(6)])[None]
    out = MotionDelta(normalize="translation").fit_transform(shifted)
    np.testing.assert_allclose(out, 0.0, atol=1e-12)
    rotated = _clip([_rigid(face, 0.1 * t, 1.0, [0.0, 0.0]) for t in range(6)])[None]
    assert MotionDelta(normalize="translation").fit_transform(rotated).max() > 0.1
    assert MotionDelta(normalize="similarity").fit_transform(rotated).max() < 1e-12


def test_translation_mode_divides_by_the_clip_median_eye_distance():
    # Eye distance 10, 10, 20 px across frames: median 10. The nose moves 5 px in
    # the last frame, relative to the eye midpoint, which itself does not move.
    frames = [FACE5.copy(), FACE5.copy(), FACE5.copy()]
    frames[2][[0, 1]] += [10.0, 0.0]  # left eye 10 px further right: midpoint moves 5 px
    frames[2][NOSE] += [5.0 + 3.0, 4.0]  # follow the midpoint, then move (3, 4)
    X = _clip(frames)[None]
    md = MotionDelta(n_landmarks=5, normalize="translation", features=("displacement",))
    out = md.fit_transform(X)
    assert _feature(md, out, "disp_max_4")[0] == pytest.approx(5 / 10)
    assert _feature(md, out, "disp_mean_4")[0] == pytest.approx(0.5 / 3)


def test_five_and_68_points_agree_on_the_eye_normalisation():
    face = _face68(2)
    frames68 = []
    for t, k in enumerate([0, 1, 3, 2]):
        f = face.copy()
        f[33] += k * np.array([2.0, 5.0])  # the nose base moves; the head moves rigidly
        frames68.append(_rigid(f, 0.1 * t, 1 + 0.2 * t, [4.0 * t, 1.0]))
    X68 = _clip(frames68)[None]
    X5 = _clip([f[list(FIVE_FROM_68)] for f in frames68])[None]
    md68 = MotionDelta(68).fit(X68)
    md5 = MotionDelta(5).fit(X5)
    out68, out5 = md68.transform(X68), md5.transform(X5)
    assert out5.max() > 0.1  # there is motion to compare
    for j, i in enumerate(FIVE_FROM_68):
        for stat in ("disp_mean", "disp_max", "apex_dx", "apex_dy", "speed_mean", "speed_max"):
            assert _feature(md5, out5, f"{stat}_{j}") == pytest.approx(
                _feature(md68, out68, f"{stat}_{i}"), abs=1e-12
            )


# ------------------------------------------------------------------ known motion
def test_known_motion_gives_hand_computed_features():
    # Nose offsets k = 0, 1, 3, 2, 0, 0 -> |D| = 0.5 k IOD = 0, .5, 1.5, 1, 0, 0.
    X = _nose_clip([0, 1, 3, 2, 0, 0])
    md = MotionDelta(n_landmarks=5, windows=2).fit(X)
    out = md.transform(X)
    f = lambda name: _feature(md, out, name)[0]  # noqa: E731
    assert f("disp_mean_4") == pytest.approx(3.0 / 6)
    assert f("disp_max_4") == pytest.approx(1.5)
    # Apex: frame 2, offset 3 * (3, 4) px = (0.9, 1.2) IOD.
    assert f("apex_dx_4") == pytest.approx(0.9)
    assert f("apex_dy_4") == pytest.approx(1.2)
    # Speeds between frames: .5, 1, .5, 1, 0 -> mean .6, max 1, std sqrt(.7 / 5).
    assert f("speed_mean_4") == pytest.approx(0.6)
    assert f("speed_max_4") == pytest.approx(1.0)
    assert f("speed_std_4") == pytest.approx(np.sqrt(0.14))
    # Windows: frames 0-2 (k = 0, 1, 3) and 3-5 (k = 2, 0, 0); mean k * (.3, .4).
    assert f("w0_dx_4") == pytest.approx(4 / 3 * 0.3)
    assert f("w0_dy_4") == pytest.approx(4 / 3 * 0.4)
    assert f("w1_dx_4") == pytest.approx(2 / 3 * 0.3)
    assert f("w1_dy_4") == pytest.approx(2 / 3 * 0.4)
    # Landmarks that do not move have no motion at all.
    still = [n for n in md.get_feature_names_out() if not n.endswith("_4")]
    np.testing.assert_allclose([f(n) for n in still], 0.0, atol=1e-12)


def test_raw_coordinates_without_normalisation():
    X = _nose_clip([0, 1, 3, 2, 0, 0])  # |D| = 5 k px
    md = MotionDelta(n_landmarks=5, normalize=None).fit(X)
    out = md.transform(X)
    assert _feature(md, out, "disp_max_4")[0] == pytest.approx(15.0)
    assert _feature(md, out, "apex_dy_4")[0] == pytest.approx(12.0)
    assert _feature(md, out, "speed_mean_4")[0] == pytest.approx(6.0)


def test_reference_least_moving_and_median():
    # k = 2, 0, 1, 3, 3, 2. Steps |dk| = 2, 1, 2, 0, 1; each frame's speed is the mean of
    # its steps to its neighbours: 2, 1.5, 1.5, 1, 0.5, 1 -> frame 4 (k = 3) moves least.
    X = _nose_clip([2, 0, 1, 3, 3, 2])
    least = MotionDelta(n_landmarks=5, reference="least_moving").fit(X)
    out = least.transform(X)
    # D = (k - 3) * (.3, .4): |D| = .5, 1.5, 1, 0, 0, .5; apex frame 1 (k = 0).
    assert _feature(least, out, "disp_max_4")[0] == pytest.approx(1.5)
    assert _feature(least, out, "disp_mean_4")[0] == pytest.approx(3.5 / 6)
    assert _feature(least, out, "apex_dy_4")[0] == pytest.approx(-3 * 0.4)
    # Median of k = 2: |D| = 0, 1, .5, .5, .5, 0; apex frame 1 again, k - 2 = -2.
    med = MotionDelta(n_landmarks=5, reference="median").fit(X)
    out = med.transform(X)
    assert _feature(med, out, "disp_max_4")[0] == pytest.approx(1.0)
    assert _feature(med, out, "disp_mean_4")[0] == pytest.approx(2.5 / 6)
    assert _feature(med, out, "apex_dx_4")[0] == pytest.approx(-2 * 0.3)
    # Onset averaged over two frames: k_ref = 1, |D| = .5, .5, 0, 1, 1, .5.
    onset2 = MotionDelta(n_landmarks=5, onset_frames=2, features=("displacement",)).fit(X)
    out = onset2.transform(X)
    assert _feature(onset2, out, "disp_mean_4")[0] == pytest.approx(3.5 / 6)
    # Speeds do not depend on the reference.
    for md in (least, med):
        assert _feature(md, md.transform(X), "speed_max_4")[0] == pytest.approx(1.0)


def test_apex_is_the_frame_of_largest_mean_displacement():
    # Raw coordinates, 5 landmarks. Frame 1: landmark 0 alone moves 10 px (mean 2 px).
    # Frame 2: every landmark moves (3, 0) px (mean 3 px, but no single one moves 10).
    rest = np.zeros((5, 2))
    one = rest.copy()
    one[0] = [0.0, 10.0]
    frames = [rest, one, rest + [3.0, 0.0], rest]
    X = _clip(frames)[None]
    md = MotionDelta(5, normalize=None, features=("apex", "displacement")).fit(X)
    out = md.transform(X)
    np.testing.assert_allclose([_feature(md, out, f"apex_dx_{i}")[0] for i in range(5)], 3.0)
    np.testing.assert_allclose([_feature(md, out, f"apex_dy_{i}")[0] for i in range(5)], 0.0)
    assert _feature(md, out, "disp_max_0")[0] == pytest.approx(10.0)


def test_windows_are_contiguous_and_the_first_ones_are_longer():
    # 7 frames, 3 windows: frames 0-2, 3-4, 5-6. The nose offset is k = t.
    X = _nose_clip(range(7))
    md = MotionDelta(5, features=(), windows=3).fit(X)
    out = md.transform(X)
    for k, mean_t in enumerate([1.0, 3.5, 5.5]):
        assert _feature(md, out, f"w{k}_dx_4")[0] == pytest.approx(mean_t * 0.3)
        assert _feature(md, out, f"w{k}_dy_4")[0] == pytest.approx(mean_t * 0.4)
    assert out.shape == (1, 3 * 5 * 2)


# --------------------------------------------------------------- missing frames
def test_nan_frame_in_the_middle_is_skipped():
    X = _nose_clip([0, 1, 3, 2, 0, 0])
    X[0, 3 * 10 : 4 * 10] = np.nan  # frame 3 lost
    md = MotionDelta(n_landmarks=5, windows=2).fit(X)
    out = md.transform(X)
    assert np.isfinite(out).all()
    # |D| over frames 0, 1, 2, 4, 5 = 0, .5, 1.5, 0, 0.
    assert _feature(md, out, "disp_mean_4")[0] == pytest.approx(2.0 / 5)
    # Pairs (0,1) .5, (1,2) 1, (2,4) 1.5 over 2 frames = .75, (4,5) 0.
    assert _feature(md, out, "speed_mean_4")[0] == pytest.approx(2.25 / 4)
    assert _feature(md, out, "speed_max_4")[0] == pytest.approx(1.0)
    # Window 1 holds frames 3-5; only 4 and 5 are valid, both at k = 0.
    assert _feature(md, out, "w1_dy_4")[0] == pytest.approx(0.0)


def test_partly_nan_frame_counts_as_missing():
    X = _nose_clip([0, 1, 3, 2, 0, 0])
    X[0, 3 * 10 + 9] = np.nan  # only frame 3's nose y is lost
    Y = _nose_clip([0, 1, 3, 2, 0, 0])
    Y[0, 3 * 10 : 4 * 10] = np.nan
    md = MotionDelta(n_landmarks=5).fit(X)
    np.testing.assert_allclose(md.transform(X), md.transform(Y))


def test_nan_onset_uses_the_first_valid_frame():
    X = _nose_clip([0, 1, 3, 2, 0, 0])
    X[0, :10] = np.nan  # frame 0 lost: the reference is frame 1 (k = 1)
    md = MotionDelta(n_landmarks=5).fit(X)
    out = md.transform(X)
    # k - 1 = 0, 2, 1, -1, -1 -> |D| = 0, 1, .5, .5, .5.
    assert _feature(md, out, "disp_mean_4")[0] == pytest.approx(2.5 / 5)
    assert _feature(md, out, "disp_max_4")[0] == pytest.approx(1.0)
    assert _feature(md, out, "apex_dy_4")[0] == pytest.approx(2 * 0.4)


def test_all_nan_clip_is_a_nan_row_and_spoils_nothing_else():
    good = _nose_clip([0, 1, 3, 2, 0, 0])
    other = _nose_clip([0, 2, 2, 1, 1, 0])
    X = np.vstack([good, np.full_like(good, np.nan), other])
    md = MotionDelta(n_landmarks=5, windows=3).fit(X)
    out = md.transform(X)
    assert np.isnan(out[1]).all()
    np.testing.assert_allclose(out[0], md.transform(good)[0])
    np.testing.assert_allclose(out[2], md.transform(other)[0])
    # Order of the clips is kept.
    np.testing.assert_allclose(md.transform(X[::-1]), out[::-1])


@pytest.mark.parametrize("reference", ["onset", "least_moving", "median"])
def test_one_valid_frame_has_no_displacement_and_no_velocity(reference):
    X = _nose_clip([0, 1, 3])
    X[0, :10] = X[0, 20:] = np.nan  # only frame 1 left
    md = MotionDelta(n_landmarks=5, reference=reference, windows=3).fit(X)
    out = md.transform(X)
    names = md.get_feature_names_out()
    speed = np.array([n.startswith("speed") for n in names])
    assert np.isnan(out[0, speed]).all()
    w_empty = np.array([n.startswith(("w0_", "w2_")) for n in names])
    assert np.isnan(out[0, w_empty]).all()
    np.testing.assert_array_equal(out[0, ~speed & ~w_empty], 0.0)
    # A one-frame layout is the same thing.
    single = MotionDelta(n_landmarks=5, reference=reference).fit(X[:, 10:20])
    assert single.n_frames_ == 1
    out1 = single.transform(X[:, 10:20])
    np.testing.assert_array_equal(out1[0, ~speed[: out1.shape[1]]], 0.0)
    assert np.isnan(out1[0, speed[: out1.shape[1]]]).all()


def test_degenerate_eyes_make_the_frame_missing():
    X = _nose_clip([0, 1, 3, 2])
    X[0, 20:28] = 5.0  # frame 2: all four eye corners at one spot
    md = MotionDelta(n_landmarks=5, features=("displacement",)).fit(X)
    out = md.transform(X)
    # frames 0, 1, 3: |D| = 0, .5, 1
    assert _feature(md, out, "disp_mean_4")[0] == pytest.approx(1.5 / 3)


# ------------------------------------------------------------- names and layout
@pytest.mark.parametrize(
    ("n_dims", "features", "windows"),
    [
        (2, ("displacement", "apex", "velocity"), None),
        (1, ("velocity", "apex"), 2),
        (3, ("apex",), 4),
        (2, (), 1),
    ],
)
def test_feature_names_match_the_output(n_dims, features, windows):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 4 * n_dims * 7))
    md = MotionDelta(7, n_dims=n_dims, normalize=None, features=features, windows=windows)
    out = md.fit(X).transform(X)
    names = md.get_feature_names_out()
    assert md.n_frames_ == 4
    assert out.shape == (3, len(names)) and len(set(names)) == len(names)
    per_kind = {"displacement": 2 * 7, "apex": n_dims * 7, "velocity": 3 * 7}
    assert len(names) == sum(per_kind[k] for k in features) + (windows or 0) * n_dims * 7
    if features:
        assert names[0].startswith(
            {"displacement": "disp_mean_0", "apex": "apex_dx_0", "velocity": "speed_mean_0"}[
                features[0]
            ]
        )
    if n_dims == 3:
        assert names[:3].tolist() == ["apex_dx_0", "apex_dy_0", "apex_dz_0"]
    if windows:
        assert names[-1] == f"w{windows - 1}_d{'xyz'[n_dims - 1]}_6"


def test_order_of_features_is_the_order_given():
    X = _nose_clip([0, 1, 3, 2])
    a = MotionDelta(5, features=("displacement", "velocity")).fit(X)
    b = MotionDelta(5, features=("velocity", "displacement")).fit(X)
    out_a, out_b = a.transform(X), b.transform(X)
    assert b.get_feature_names_out()[0] == "speed_mean_0"
    reorder = [b.get_feature_names_out().tolist().index(n) for n in a.get_feature_names_out()]
    np.testing.assert_allclose(out_b[:, reorder], out_a)


def test_three_d_landmarks_raw():
    # One landmark in 3-D moving along z by 2 per frame, raw coordinates.
    X = np.array([[0, 0, 0, 0, 0, 2, 0, 0, 4]], dtype=float)
    md = MotionDelta(1, n_dims=3, normalize=None).fit(X)
    out = md.transform(X)
    assert _feature(md, out, "apex_dz_0")[0] == pytest.approx(4.0)
    assert _feature(md, out, "speed_mean_0")[0] == pytest.approx(2.0)
    assert _feature(md, out, "speed_std_0")[0] == pytest.approx(0.0)


# ----------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("params", "width", "match"),
    [
        ({"n_landmarks": 5}, 25, "not a multiple of 10"),
        ({"n_landmarks": 10}, 40, "68- or 5-point"),
        ({"n_landmarks": 5, "n_dims": 3}, 30, "n_dims=2"),
        ({"n_landmarks": 5, "features": ("speed",)}, 20, "unknown features"),
        ({"n_landmarks": 5, "features": ("apex", "apex")}, 20, "repeated"),
        ({"n_landmarks": 5, "features": ()}, 20, "nothing to do"),
        ({"n_landmarks": 5, "windows": 3}, 20, "windows=3 needs at least 3 frames"),
    ],
)
def test_bad_settings_are_clear_errors(params, width, match):
    with pytest.raises(ValueError, match=match):
        MotionDelta(**params).fit(np.ones((2, width)))


def test_bad_input_names_the_sample():
    X = np.vstack([_nose_clip([0, 1, 2]), _nose_clip([0, 1, 2])])
    md = MotionDelta(5).fit(X)
    X[1, 14] = np.inf
    with pytest.raises(ValueError, match="sample 1 has an infinite coordinate in frame 1"):
        md.transform(X)
    with pytest.raises(ValueError, match="X has 20 features, but MotionDelta is expecting 30"):
        md.transform(X[:, :20])
    with pytest.raises(ValueError, match="must be"):
        MotionDelta(5, reference="apex").fit(X)


# ---------------------------------------------------------- sklearn integration
@parametrize_with_checks([MotionDelta(n_landmarks=1, n_dims=1, normalize=None)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clone_pickle_and_joblib_round_trip(tmp_path):
    X = np.vstack([_nose_clip([0, 1, 3, 2]), _nose_clip([1, 1, 0, 2])])
    md = MotionDelta(5, reference="median", windows=2).fit(X)
    expected = md.transform(X)
    fresh = clone(md)
    assert fresh.get_params() == md.get_params() and not hasattr(fresh, "n_frames_")
    np.testing.assert_allclose(fresh.fit_transform(X), expected)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(md)).transform(X), expected)
    joblib.dump(md, tmp_path / "md.joblib")
    loaded = joblib.load(tmp_path / "md.joblib")
    np.testing.assert_allclose(loaded.transform(X), expected)
    assert loaded.get_feature_names_out().tolist() == md.get_feature_names_out().tolist()


def test_pandas_output():
    X = np.vstack([_nose_clip([0, 1, 3, 2]), _nose_clip([1, 1, 0, 2])])
    df_in = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])], index=[10, 20])
    md = MotionDelta(5, windows=2).set_output(transform="pandas").fit(df_in)
    df = md.transform(df_in)
    assert isinstance(df, pd.DataFrame)
    assert df.columns.tolist() == md.get_feature_names_out().tolist()
    assert df.index.tolist() == [10, 20]
    np.testing.assert_allclose(df.to_numpy(), MotionDelta(5, windows=2).fit(X).transform(X))


def test_clip_steps_read_the_layout_from_the_extractor_output(face_rgb):
    """ClipLandmarkExtractor(LandmarkExtractor(5)) then MotionDelta(): no sizes repeated."""
    from sklearn.pipeline import make_pipeline

    from fersk import ClipLandmarkExtractor, LandmarkExtractor
    from fersk.features.temporal import SelectFrames

    face = face_rgb[40:250, 120:330]
    clips = [np.stack([np.roll(face, k, axis=1) for k in range(0, 12, 2)]) for _ in range(2)]
    extractor = ClipLandmarkExtractor(LandmarkExtractor(5), n_frames=6)
    pipe = make_pipeline(extractor, MotionDelta()).fit(clips)
    motion = pipe[-1]
    assert (motion.layout_.n_frames, motion.layout_.n_landmarks) == (6, 5)
    assert pipe.transform(clips).shape == (2, len(motion.get_feature_names_out()))
    last = make_pipeline(extractor, SelectFrames([-1])).fit(clips)
    assert last.transform(clips).shape == (2, 10)
    # With DataFrame output the layout comes from the column names.
    md = MotionDelta().fit(extractor.set_output(transform="pandas").transform(clips))
    assert md.layout_ == extractor.layout()


@SETTINGS
@given(numeric_inputs(30))
def test_motion_delta_rows(X):
    md = MotionDelta(5)
    try:
        md.fit(X)
    except ValueError as exc:
        assert clear_error(exc)
        return
    assert_rows_or_clear_error(md.transform, X)
