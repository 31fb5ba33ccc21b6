"""fersk.landmarks.clip_extractor: ClipLandmarkExtractor on real faces (dlib) -- each clip one
row of frame blocks that follow the face's known motion; a bad clip or frame is NaN, named."""

from __future__ import annotations

import warnings

import cv2
import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fersk._core._sklearn_compat import InvalidParameterError
from fersk._core.base import MissingFeaturesWarning
from fersk._core.batch import Failure, SampleError
from fersk._core.layout import clip_feature_names, to_sequences
from fersk.io.clips import ClipReadError, read_clip, sample_frame_indices
from fersk.io.video import write_video
from fersk.landmarks import LandmarkExtractor
from fersk.landmarks import clip_extractor as clip_module
from fersk.landmarks.clip_extractor import ClipFailure, ClipLandmarkExtractor
from tests.conftest import WINDOW_SIDE as SIDE
from tests.conftest import face_window as _window


def _blocks(row: np.ndarray, n_landmarks: int = 68) -> np.ndarray:
    """One clip row as ``(T, L, 2)``."""
    return to_sequences(row[None], n_landmarks)[0]


def _mean_motion(row: np.ndarray, n_landmarks: int = 68) -> np.ndarray:
    """Mean landmark displacement of every frame from frame 0: ``(T, 2)``."""
    points = _blocks(row, n_landmarks)
    return (points - points[0]).mean(axis=1)


@pytest.fixture(scope="module")
def moving_video(tmp_path_factory, moving_frames) -> str:
    return write_video(tmp_path_factory.mktemp("video") / "moving.avi", moving_frames)


@pytest.fixture(scope="module")
def five() -> LandmarkExtractor:
    """A fast extractor: dlib's 5 points, HOG detector."""
    return LandmarkExtractor(n_landmarks=5)


def test_array_clip_landmarks_follow_the_known_motion(moving_frames, shifts):
    extractor = ClipLandmarkExtractor(n_frames=8)
    X = extractor.fit_transform([moving_frames])
    assert X.shape == (1, 8 * 136) and np.isfinite(X).all()
    assert extractor.n_failures_ == 0 and extractor.failures_ == []
    motion = _mean_motion(X[0])
    np.testing.assert_allclose(motion[:, 0], shifts, atol=2.0)
    np.testing.assert_allclose(motion[:, 1], 0, atol=2.0)
    # The layout is exactly LandmarkExtractor's rows, frame after frame.
    direct = LandmarkExtractor().transform(list(moving_frames))
    np.testing.assert_array_equal(X[0], direct.ravel())


def test_video_clip_landmarks_follow_the_known_motion(moving_video, moving_frames, shifts):
    X = ClipLandmarkExtractor(n_frames=8).fit_transform([moving_video])
    motion = _mean_motion(X[0])
    np.testing.assert_allclose(motion[:, 0], shifts, atol=2.0)
    np.testing.assert_allclose(motion[:, 1], 0, atol=2.0)
    # Compression moves the landmarks by at most a few pixels.
    exact = ClipLandmarkExtractor(n_frames=8).fit_transform([moving_frames])
    assert np.abs(X - exact).max() < 4.0
    # Sampling 4 of 8 frames takes frames 0, 2, 5, 7.
    sampled = ClipLandmarkExtractor(n_frames=4).fit_transform([moving_video])
    np.testing.assert_allclose(
        _mean_motion(sampled[0])[:, 0], shifts[sample_frame_indices(8, 4)], atol=2.0
    )


def test_frame_folder_and_path_list_clips(tmp_path, moving_frames, shifts):
    folder = tmp_path / "clip"
    folder.mkdir()
    # f3, f6, ..., f24: names that plain string sorting would put out of order.
    paths = [str(folder / f"f{3 * (t + 1)}.png") for t in range(8)]
    for path, frame in zip(paths, moving_frames):
        cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert sorted(paths) != paths
    extractor = ClipLandmarkExtractor(n_frames=8)
    X = extractor.fit_transform([folder, paths, paths[::-1]])
    np.testing.assert_allclose(_mean_motion(X[0])[:, 0], shifts, atol=2.0)
    np.testing.assert_array_equal(X[0], X[1])  # the folder reads as its frames, in order
    np.testing.assert_array_equal(_blocks(X[2]), _blocks(X[1])[::-1])  # reversed clip
    # PNG is lossless: the same landmarks as the arrays.
    np.testing.assert_array_equal(
        X[0], ClipLandmarkExtractor(n_frames=8).transform([moving_frames])[0]
    )


def test_blank_frame_gives_nan_for_that_frame_only(moving_frames, five):
    clip = moving_frames[:5].copy()
    clip[3] = 0
    extractor = ClipLandmarkExtractor(five, n_frames=5)
    with pytest.warns(MissingFeaturesWarning, match="frame 3"):
        X = extractor.fit_transform([moving_frames[:5], clip])
    blocks = _blocks(X[1], 5)
    assert np.isnan(blocks[3]).all()
    assert np.isfinite(np.delete(blocks, 3, axis=0)).all() and np.isfinite(X[0]).all()
    np.testing.assert_array_equal(np.delete(blocks, 3, axis=0), np.delete(_blocks(X[0], 5), 3, 0))
    assert extractor.n_failures_ == 1
    failure = extractor.failures_[0]
    assert isinstance(failure, ClipFailure) and isinstance(failure, Failure)
    assert (failure.index, failure.frame, failure.reason) == (1, 3, "no_face")
    assert "frame 3" in failure.source


def test_rows_keep_input_order_across_chunks(moving_frames, five, monkeypatch):
    clips = [moving_frames[k : k + 3] for k in range(6)]  # each clip starts later
    clips[2] = clips[2].copy()
    clips[2][1] = 0  # a blank frame in the middle clip
    reference = np.vstack(
        [ClipLandmarkExtractor(five, n_frames=3).fit_transform([c]) for c in clips[:2]]
    )
    calls = []
    original = LandmarkExtractor.transform

    def spy(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(LandmarkExtractor, "transform", spy)
    monkeypatch.setattr(clip_module, "CHUNK_FRAMES", 7)  # chunks of 3 clips (9 frames)
    extractor = ClipLandmarkExtractor(five, n_frames=3)
    with pytest.warns(MissingFeaturesWarning):
        X = extractor.fit_transform(clips)
    assert calls == [9, 9]
    np.testing.assert_array_equal(X[:2], reference)
    # Clip k's frame t is frame k + t of the moving face: consecutive clips overlap.
    np.testing.assert_array_equal(_blocks(X[3], 5)[1:], _blocks(X[4], 5)[:2])
    np.testing.assert_array_equal(_blocks(X[0], 5)[1:], _blocks(X[1], 5)[:2])
    assert [(f.index, f.frame) for f in extractor.failures_] == [(2, 1)]
    # One chunk at a time: the same rows.
    monkeypatch.setattr(clip_module, "CHUNK_FRAMES", 10_000)
    with pytest.warns(MissingFeaturesWarning):
        np.testing.assert_array_equal(ClipLandmarkExtractor(five, n_frames=3).transform(clips), X)


def test_video_clips_are_decoded_a_chunk_at_a_time(moving_video, five, monkeypatch):
    calls = []
    original = LandmarkExtractor.transform
    monkeypatch.setattr(
        LandmarkExtractor, "transform", lambda self, X: calls.append(len(X)) or original(self, X)
    )
    monkeypatch.setattr(clip_module, "CHUNK_BYTES", 3 * SIDE * SIDE * 3)  # under 1 clip
    X = ClipLandmarkExtractor(five, n_frames=4).fit_transform([moving_video] * 3)
    assert calls == [4, 4, 4]
    np.testing.assert_array_equal(X[0], X[2])


def test_stacked_clip_array_and_repeated_frames(moving_frames, five):
    stack = np.stack([moving_frames[:4], moving_frames[4:]])  # (2, 4, H, W, 3)
    X = ClipLandmarkExtractor(five, n_frames=6).fit_transform(stack)
    assert X.shape == (2, 6 * 10)
    blocks = _blocks(X[0], 5)
    indices = sample_frame_indices(4, 6)  # each of the 4 frames once or twice
    assert sorted(set(indices.tolist())) == [0, 1, 2, 3]
    direct = LandmarkExtractor(n_landmarks=5).transform(list(moving_frames[:4]))
    np.testing.assert_array_equal(blocks, direct.reshape(4, 5, 2)[indices])


def test_unreadable_clip_gives_a_nan_row_or_an_error(tmp_path, moving_frames, five):
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    clips = [moving_frames[:3], junk, tmp_path / "missing", moving_frames[:3]]
    extractor = ClipLandmarkExtractor(five, n_frames=3)
    with pytest.warns(MissingFeaturesWarning, match="junk.mp4"):
        X = extractor.fit_transform(clips)
    assert np.isnan(X[1]).all() and np.isnan(X[2]).all()
    assert np.isfinite(X[0]).all() and np.array_equal(X[0], X[3])
    assert [(f.index, f.frame, f.reason) for f in extractor.failures_] == [
        (1, None, "unreadable"),
        (2, None, "unreadable"),
    ]
    assert "missing" in extractor.failures_[1].message
    raising = ClipLandmarkExtractor(clone(five).set_params(on_failure="raise"), n_frames=3)
    with pytest.raises(ClipReadError, match=r"clip 1: .*junk\.mp4"):
        raising.transform(clips)


def test_on_failure_raise_names_the_clip_and_frame(moving_frames, five):
    clip = moving_frames[:4].copy()
    clip[2] = 0
    extractor = ClipLandmarkExtractor(clone(five).set_params(on_failure="raise"), n_frames=4)
    with pytest.raises(SampleError, match=r"clip 1 frame 2 .*no face"):
        extractor.transform([moving_frames[:4], clip])


def test_extractor_settings_are_used_and_it_is_not_modified(tmp_path, moving_frames):
    cache_dir = tmp_path / "cache"
    inner = LandmarkExtractor(n_landmarks=5, memory=str(cache_dir), progress=False)
    before = inner.get_params()
    extractor = ClipLandmarkExtractor(inner, n_frames=3)
    X = extractor.fit_transform([moving_frames[:3]])
    assert X.shape == (1, 30)
    assert inner.get_params() == before and not hasattr(inner, "failures_")
    cached = list(cache_dir.rglob("*.npy"))
    assert len(cached) == 3  # one entry per frame
    for path in cached:  # poison the cache: the next run must read it
        np.save(path, np.full(10, 7.0))
    np.testing.assert_array_equal(extractor.transform([moving_frames[:3]]), np.full((1, 30), 7.0))


def test_parallel_workers_give_the_same_rows(moving_frames, five):
    clips = [moving_frames[:4], moving_frames[4:]]
    serial = ClipLandmarkExtractor(five, n_frames=4).fit_transform(clips)
    parallel = ClipLandmarkExtractor(clone(five).set_params(n_jobs=2), n_frames=4)
    np.testing.assert_array_equal(parallel.fit_transform(clips), serial)


def test_bgr_extractor_gets_bgr_video_frames(moving_video, five, monkeypatch):
    seen = []
    original = LandmarkExtractor.transform

    def spy(self, X):
        seen.append((self.channel_order, X[0]))
        return original(self, X)

    monkeypatch.setattr(LandmarkExtractor, "transform", spy)
    rgb = read_clip(moving_video, n_frames=2)[0]
    for order in ("rgb", "bgr"):
        inner = clone(five).set_params(channel_order=order)
        ClipLandmarkExtractor(inner, n_frames=2).transform([moving_video])
    assert [order for order, _ in seen] == ["rgb", "bgr"]
    np.testing.assert_array_equal(seen[0][1], rgb)
    np.testing.assert_array_equal(seen[1][1], rgb[..., ::-1])


def test_progress_bar_counts_clips(moving_frames, five, capsys):
    inner = clone(five).set_params(progress=True)
    ClipLandmarkExtractor(inner, n_frames=2).transform([moving_frames[:2]] * 3)
    err = capsys.readouterr().err
    assert "clip landmarks" in err and "clip/s" in err
    ClipLandmarkExtractor(five, n_frames=2).transform([moving_frames[:2]] * 3)  # "auto": quiet
    assert "clip landmarks" not in capsys.readouterr().err


def test_feature_names_and_pandas_output(moving_frames, five):
    extractor = ClipLandmarkExtractor(five, n_frames=3)
    names = extractor.get_feature_names_out()
    np.testing.assert_array_equal(names, clip_feature_names(3, 5))
    assert ClipLandmarkExtractor(n_frames=2).get_feature_names_out()[-1] == "t1_y67"
    frame = extractor.set_output(transform="pandas").fit_transform([moving_frames[:3]])
    assert list(frame.columns) == list(names) and frame.shape == (1, 30)
    # An extractor configured for pandas output is used the same way.
    inner = clone(five).set_output(transform="pandas")
    same = ClipLandmarkExtractor(inner, n_frames=3).fit_transform([moving_frames[:3]])
    np.testing.assert_array_equal(same, frame.to_numpy())


def test_pipeline_and_joblib_round_trip(tmp_path, face_rgb, five):
    # Class 0: the face moves right; class 1: it moves down.
    clips, y = [], []
    for label, step in (
        (0, (4, 0)),
        (1, (0, 4)),
        (0, (6, 0)),
        (1, (0, 6)),
        (0, (3, 0)),
        (1, (0, 3)),
    ):
        clips.append(np.stack([_window(face_rgb, step[0] * t, step[1] * t) for t in range(3)]))
        y.append(label)
    pipe = Pipeline(
        [
            ("clips", ClipLandmarkExtractor(five, n_frames=3)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression()),
        ]
    )
    pipe.fit(clips, y)
    assert pipe.score(clips, y) == 1.0
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(clips), pipe.predict(clips))
    np.testing.assert_array_equal(loaded[0].transform(clips), pipe[0].transform(clips))


def test_params_clone_and_tags(five):
    extractor = ClipLandmarkExtractor(five, n_frames=4)
    params = extractor.get_params(deep=True)
    assert params["n_frames"] == 4 and params["extractor__n_landmarks"] == 5
    copy = clone(extractor)
    assert copy.extractor is not five and copy.extractor.get_params() == five.get_params()
    assert extractor.set_params(extractor__detector="none").extractor.detector == "none"
    assert extractor.__sklearn_tags__().requires_fit is False
    assert ClipLandmarkExtractor().get_params()["extractor"] is None


@pytest.mark.parametrize(
    "params, error",
    [
        (dict(extractor="dlib"), InvalidParameterError),
        (dict(n_frames=0), InvalidParameterError),
        (dict(n_frames=2.5), InvalidParameterError),
        (dict(extractor=LandmarkExtractor(n_landmarks=7)), ValueError),
    ],
)
def test_invalid_parameters(params, error):
    with pytest.raises(error):
        ClipLandmarkExtractor(**params).fit()


def test_invalid_inputs_are_named():
    extractor = ClipLandmarkExtractor(n_frames=2)
    with pytest.raises(TypeError, match="wrap it in a list"):
        extractor.transform("clip.mp4")
    with pytest.raises(TypeError, match=r"X\[1\]"):
        extractor.transform([np.zeros((2, 8, 8)), 5])
    with pytest.raises(ValueError, match="single clip must be wrapped"):
        extractor.transform(np.zeros((2, 8, 8)))
    with pytest.raises(TypeError, match=r"clip 1: frame 0 .* is a dict"):
        extractor.transform([np.zeros((2, 8, 8)), [{}]])


def test_empty_batch_gives_an_empty_matrix(five):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = ClipLandmarkExtractor(five, n_frames=3).transform([])
    assert X.shape == (0, 30)


@pytest.mark.bad_input("4")
def test_a_bare_colour_clip_is_not_a_batch(face_rgb):
    clip = np.stack([face_rgb[:120, :120]] * 3)  # (T, H, W, 3)
    with pytest.raises(ValueError, match="single clip .* wrapped in a list"):
        ClipLandmarkExtractor(LandmarkExtractor(5), n_frames=2).transform(clip)
