"""fersk._core.layout: clip rows are frame-major blocks of landmarks; ClipLayout names, views
and selects them, and finds itself from column names or a width."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fersk._core.layout import (
    ClipLayout,
    clip_feature_names,
    from_sequences,
    select_frames,
    to_sequences,
)


def test_clip_feature_names_are_frame_major():
    names = clip_feature_names(16, 68)
    assert len(names) == 16 * 136 and len(set(names)) == len(names)
    assert names[0] == "t0_x0" and names[1] == "t0_y0" and names[135] == "t0_y67"
    assert names[136] == "t1_x0" and names[-1] == "t15_y67"


def test_to_sequences_views_rows_and_from_sequences_inverts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 4 * 2 * 5))
    seq = to_sequences(X, n_landmarks=5)
    assert seq.shape == (3, 4, 5, 2) and np.shares_memory(seq, X)
    # Column t*2L + 2i (+1) is frame t's x (y) of landmark i.
    assert seq[1, 2, 3, 0] == X[1, 2 * 10 + 2 * 3] and seq[1, 2, 3, 1] == X[1, 2 * 10 + 7]
    names = clip_feature_names(4, 5).reshape(4, 5, 2)
    assert names[2, 3, 1] == "t2_y3"
    np.testing.assert_array_equal(from_sequences(seq), X)
    seq[0, 0, 0, 0] = 42.0  # a view: writes through
    assert X[0, 0] == 42.0
    assert to_sequences(X, n_landmarks=5, n_dims=1).shape == (3, 8, 5, 1)


def test_to_sequences_errors():
    with pytest.raises(ValueError, match="not a multiple of"):
        to_sequences(np.zeros((2, 30)), n_landmarks=4)
    with pytest.raises(ValueError, match="2-D"):
        to_sequences(np.zeros(136), n_landmarks=68)
    with pytest.raises(ValueError, match="n_landmarks"):
        to_sequences(np.zeros((2, 10)), n_landmarks=0)
    with pytest.raises(ValueError, match="shape"):
        from_sequences(np.zeros((2, 10)))


def test_a_layouts_feature_names_give_the_layout_back():
    for layout in [
        ClipLayout(3, 68),
        ClipLayout(16, 5),
        ClipLayout(2, 4, n_dims=3),
        ClipLayout(1, 1, 1),
    ]:
        names = layout.feature_names()
        assert len(names) == layout.width == layout.n_frames * layout.n_landmarks * layout.n_dims
        assert ClipLayout.from_feature_names(names) == layout
        assert ClipLayout.infer(feature_names=names) == layout
    assert ClipLayout(2, 3, n_dims=3).feature_names()[:4].tolist() == [
        "t0_x0",
        "t0_y0",
        "t0_z0",
        "t0_x1",
    ]
    # Not clip names, or clip names out of order: no layout.
    assert ClipLayout.from_feature_names(["x0", "y0"]) is None
    assert ClipLayout.from_feature_names([]) is None
    shuffled = ClipLayout(2, 2).feature_names()[[1, 0, 2, 3, 4, 5, 6, 7]]
    assert ClipLayout.from_feature_names(shuffled) is None
    assert ClipLayout.from_feature_names(ClipLayout(2, 2).feature_names()[:-1]) is None


def test_frames_and_sequences_are_views_of_the_rows():
    layout = ClipLayout(n_frames=3, n_landmarks=2)
    X = np.arange(2 * 12, dtype=float).reshape(2, 12)
    frames = layout.frames(X)
    assert frames.shape == (2, 3, 4) and np.shares_memory(frames, X)
    np.testing.assert_array_equal(frames[1, 2], X[1, 8:12])  # clip 1, frame 2
    sequences = layout.to_sequences(X)
    assert sequences.shape == (2, 3, 2, 2)
    assert sequences[0, 1, 1].tolist() == [6.0, 7.0]  # frame 1, landmark 1: x, y
    np.testing.assert_array_equal(from_sequences(sequences), X)


def test_select_frames_keeps_the_asked_frames_in_the_asked_order_as_a_copy():
    layout = ClipLayout(n_frames=4, n_landmarks=1)
    X = np.arange(8.0).reshape(1, 8)  # frame t holds (2t, 2t + 1)
    picked = layout.select_frames(X, [3, 0, -3])
    assert picked.tolist() == [[6.0, 7.0, 0.0, 1.0, 2.0, 3.0]]
    picked[0, 0] = -1.0
    assert X[0, 6] == 6.0  # a copy
    assert select_frames(X, [-1], n_landmarks=1).tolist() == [[6.0, 7.0]]
    for frames in ([4], [-5], np.array([], dtype=int)):
        with pytest.raises(ValueError, match="out of range for clips of 4 frames"):
            layout.select_frames(X, frames)
    with pytest.raises(ValueError, match="integer positions"):
        layout.select_frames(X, [0.5])


def test_to_and_from_sequences_round_trip_in_three_dimensions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 5 * 7 * 3))
    seq = to_sequences(X, n_landmarks=7, n_dims=3)
    assert seq.shape == (4, 5, 7, 3)
    assert seq[2, 4, 6, 2] == X[2, -1] and seq[1, 0, 0, 1] == X[1, 1]
    np.testing.assert_array_equal(from_sequences(seq), X)
    assert ClipLayout(5, 7, 3).to_sequences(X).shape == seq.shape


def test_infer_reads_the_names_then_the_given_sizes_then_the_width():
    names = ClipLayout(4, 3).feature_names()
    frame = pd.DataFrame(np.zeros((1, 24)), columns=names)
    assert ClipLayout.infer(frame) == ClipLayout(4, 3)  # 3 landmarks: only the names tell
    assert ClipLayout.infer(np.zeros((1, 24)), n_landmarks=3) == ClipLayout(4, 3)
    assert ClipLayout.infer(np.zeros((1, 24)), n_frames=2) == ClipLayout(2, 6)
    assert ClipLayout.infer(n_features=68 * 2 * 5) == ClipLayout(5, 68)  # 68 points first
    assert ClipLayout.infer(n_features=5 * 2 * 3) == ClipLayout(3, 5)
    with pytest.raises(ValueError, match="not clips of 68 or 5 landmarks"):
        ClipLayout.infer(n_features=24)
    with pytest.raises(ValueError, match="not a multiple of 10"):
        ClipLayout.infer(n_features=24, n_landmarks=5)
    with pytest.raises(ValueError, match="needs X, n_features or feature_names"):
        ClipLayout.infer()


@pytest.mark.parametrize(
    "sizes, message",
    [
        ((0, 5), "n_frames must be an integer >= 1"),
        ((2, 0), "n_landmarks must be"),
        ((2, 5, 4), "n_dims must be 1, 2 or 3"),
        ((2.0, 5), "n_frames must be an integer"),
        ((True, 5), "n_frames must be an integer"),
    ],
)
def test_a_layout_of_impossible_sizes_is_refused(sizes, message):
    with pytest.raises(ValueError, match=message):
        ClipLayout(*sizes)


def test_rows_of_another_width_are_refused_naming_both_widths():
    layout = ClipLayout(2, 5)
    with pytest.raises(ValueError, match="X has 19 columns; a clip of 2 frames of 5 landmarks"):
        layout.frames(np.zeros((1, 19)))
    with pytest.raises(ValueError, match="2-D clip landmark matrix"):
        layout.to_sequences(np.zeros(20))
