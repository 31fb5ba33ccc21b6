"""fersk.video.smoothing: ProbabilitySmoother and the flip / lag measures, against closed forms
worked out by hand."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from fersk.video.smoothing import (
    ProbabilitySmoother,
    SmoothedPrediction,
    count_flips,
    flips_per_minute,
    label_lag,
    step_lag,
)


def _closed_form_lag(before, after, tau_s, margin):
    """tau * ln((D_b - D_a) / (D_b - margin)), D = lead of the new top class over the old."""
    c, c_new = int(np.argmax(before)), int(np.argmax(after))
    d_a = before[c_new] - before[c]
    d_b = after[c_new] - after[c]
    return tau_s * math.log((d_b - d_a) / (d_b - margin))


def _run(smoother, times, probabilities, track=0) -> list[SmoothedPrediction]:
    return [smoother.update(track, t, p) for t, p in zip(times, probabilities)]


# --- averaging ----------------------------------------------------------------------------


def test_no_smoothing_reproduces_the_raw_argmax_exactly():
    rng = np.random.default_rng(0)
    n = 600
    probs = rng.dirichlet(np.ones(5), size=n)
    probs[::3] = np.round(probs[::3] * 4) / 4  # many exact ties for the top class
    times = np.cumsum(rng.uniform(0.01, 0.1, size=n))
    out = _run(ProbabilitySmoother(tau_s=0, margin=0, min_dwell_s=0), times, probs)
    raw = probs.argmax(axis=1)
    assert [p.label for p in out] == raw.tolist()
    assert all(np.array_equal(p.probabilities, q) for p, q in zip(out, probs))
    expected_changed = [True] + (raw[1:] != raw[:-1]).tolist()
    assert [p.changed for p in out] == expected_changed
    assert count_flips([p.label for p in out]) == int((raw[1:] != raw[:-1]).sum())


def test_held_input_follows_the_exponential_at_any_frame_rate():
    """Input a until t=0, then b held: s(t) = b + (a - b) exp(-t / tau) at every frame."""
    a, b, tau = np.array([0.8, 0.15, 0.05]), np.array([0.1, 0.3, 0.6]), 0.4
    rng = np.random.default_rng(1)
    irregular = np.cumsum(rng.uniform(0.005, 0.2, size=40))
    regular = np.arange(1, 41) / 30
    for times in (irregular, regular):
        smoother = ProbabilitySmoother(tau_s=tau, margin=0, min_dwell_s=0)
        smoother.update(0, 0.0, a)
        for t in times:
            out = smoother.update(0, t, b)
            np.testing.assert_allclose(out.probabilities, b + (a - b) * math.exp(-t / tau))


def test_none_changes_nothing_and_the_next_step_spans_the_gap():
    tau = 0.5
    smoother = ProbabilitySmoother(tau_s=tau, margin=0.0, min_dwell_s=0.0)
    first = smoother.update(0, 0.0, None)
    assert first.label is None and first.probabilities.shape == (0,) and not first.changed
    start = smoother.update(0, 0.1, [0.7, 0.3])
    assert start.label == 0 and start.changed
    np.testing.assert_array_equal(start.probabilities, [0.7, 0.3])
    for t in (0.2, 0.3):
        held = smoother.update(0, t, None)
        assert held.label == 0 and not held.changed
        np.testing.assert_array_equal(held.probabilities, [0.7, 0.3])
    held = smoother.update(0, 0.35, [np.nan, np.nan])  # all-NaN: no prediction either
    np.testing.assert_array_equal(held.probabilities, [0.7, 0.3])
    after = smoother.update(0, 0.6, [0.0, 1.0])  # dt = 0.5 s since the last probabilities
    alpha = 1 - math.exp(-0.5 / tau)
    np.testing.assert_allclose(after.probabilities, [0.7 * (1 - alpha), 0.3 + 0.7 * alpha])
    assert after.label == 1 and after.changed  # 0.742 vs 0.258
    # The returned arrays are copies: changing them does not touch the state.
    after.probabilities[:] = 0
    np.testing.assert_allclose(smoother.update(0, 0.7, None).probabilities[0], 0.7 * (1 - alpha))


# --- the stability / latency trade-off ----------------------------------------------------


@pytest.mark.parametrize("tau_s", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("margin", [0.0, 0.1, 0.3])
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([0.9, 0.1], [0.1, 0.9]),
        ([1.0, 0.0], [0.0, 1.0]),
        ([0.6, 0.3, 0.1], [0.1, 0.2, 0.7]),
    ],
)
@pytest.mark.parametrize("frames", ["30fps", "12.5fps", "irregular"])
def test_step_lag_matches_the_closed_form_within_one_frame(tau_s, margin, before, after, frames):
    before, after = np.array(before), np.array(after)
    rng = np.random.default_rng(3)
    if frames == "irregular":
        steps = rng.uniform(0.01, 0.08, size=400)
    else:
        steps = np.full(400, 1 / (30 if frames == "30fps" else 12.5))
    times = np.concatenate([[0.0], np.cumsum(steps)])
    step_at = 50  # first frame with the new probabilities; frame 49 is the last before
    probs = [before if i < step_at else after for i in range(len(times))]
    out = _run(ProbabilitySmoother(tau_s=tau_s, margin=margin, min_dwell_s=0), times, probs)
    labels = [p.label for p in out]
    assert labels[:step_at] == [0] * step_at
    switch = next(i for i, label in enumerate(labels) if label != 0)
    assert labels[switch] == int(np.argmax(after))
    lag = times[switch] - times[step_at]  # behind the raw label, which switched at step_at
    expected = _closed_form_lag(before, after, tau_s, margin)
    frame = steps[step_at - 1 :].max()  # the longest frame interval from the step on
    if frames == "irregular":  # t_switch - t_b in [L, L + dt_switch), t_step - t_b = dt_step
        assert abs(lag - expected) < frame
    else:  # constant dt: lag in [L - dt, L)
        assert expected - frame - 1e-9 <= lag <= expected + 1e-9
    # The documented bound on the switch time itself: first frame at or after t_b + L.
    t_b = times[step_at - 1]
    assert times[switch] >= t_b + expected - 1e-9 and times[switch - 1] < t_b + expected
    assert step_lag(before, after, tau_s=tau_s, margin=margin) == pytest.approx(expected)


def test_step_lag_edge_cases():
    assert step_lag([0.2, 0.8], [0.3, 0.7], tau_s=1.0, margin=0.1) == 0.0  # same top class
    assert step_lag([0.9, 0.1], [0.45, 0.55], tau_s=1.0, margin=0.2) == math.inf
    assert step_lag([0.9, 0.1], [0.1, 0.9], tau_s=0.0, margin=0.5) == 0.0
    smoother = ProbabilitySmoother(tau_s=1.0, margin=0.2, min_dwell_s=0)
    out = _run(smoother, np.arange(0, 20, 0.1), [[0.9, 0.1]] + [[0.45, 0.55]] * 199)
    assert {p.label for p in out} == {0}  # the lead 0.1 never reaches the margin


def test_dwell_holds_each_label_at_least_min_dwell_s():
    """No averaging, no margin, raw label alternating every frame at 8 fps (exact times):
    label 0 at frame 0; a switch needs 0.5 s = 4 frames of dwell and a raw label different
    from the shown one, so switches come at frames 5, 10, 15, ..."""
    times = np.arange(60) / 8
    probs = [[1.0, 0.0] if i % 2 == 0 else [0.0, 1.0] for i in range(60)]
    out = _run(ProbabilitySmoother(tau_s=0, margin=0, min_dwell_s=0.5), times, probs)
    switches = [i for i, p in enumerate(out) if p.changed and i > 0]
    assert switches == list(range(5, 60, 5))


def test_smoothing_cuts_flips_on_a_noisy_step_and_keeps_the_lag_bound():
    """Two classes, the true one switching once at 10 s; raw class-1 probability = 0.3 or
    0.7 plus N(0, 0.15) noise, 30 fps. Defaults: tau_s=0.5, margin=0.1, min_dwell_s=0.5."""
    fps, seconds, switch_at = 30, 20, 10.0
    times = np.arange(0, seconds, 1 / fps)
    truth = (times >= switch_at).astype(int)
    # The clean step (class-1 mean 0.3 -> 0.7): lag bound tau * ln(0.8 / 0.3) = 0.49 s.
    bound = 0.5 * math.log(0.8 / 0.3)
    raw_flips, smooth_flips, lags = [], [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        p1 = np.clip(np.where(truth == 1, 0.7, 0.3) + rng.normal(0, 0.15, len(times)), 0, 1)
        probs = np.column_stack([1 - p1, p1])
        out = _run(ProbabilitySmoother(), times, probs)
        shown = [p.label for p in out]
        raw_flips.append(count_flips(probs.argmax(axis=1)))
        # After the first second: the very first raw frame decides the first label shown.
        smooth_flips.append(count_flips(shown[fps:]))
        lags.append(label_lag(truth, shown, times))
    assert min(raw_flips) > 50
    assert max(smooth_flips) == 1  # the one real switch, nothing else
    assert np.sum(raw_flips) / np.sum(smooth_flips) > 50
    # The noise moves each crossing: the smoothed lead's noise, 2 * 0.15 * sqrt(a / (2 - a))
    # with a = 1 - exp(-dt / tau), over its slope at the crossing, (D_b - margin) / tau.
    alpha = 1 - math.exp(-1 / fps / 0.5)
    spread = 2 * 0.15 * math.sqrt(alpha / (2 - alpha)) / ((0.4 - 0.1) / 0.5)  # ~0.09 s
    assert max(lags) < bound + 3 * spread + 1 / fps
    assert np.mean(lags) == pytest.approx(bound, abs=spread)


# --- tracks, errors, pickling -------------------------------------------------------------


def _streams():
    rng = np.random.default_rng(7)
    return {
        0: (np.arange(0, 5, 1 / 30), rng.dirichlet(np.ones(3), size=150)),
        1: (np.cumsum(rng.uniform(0.02, 0.1, size=80)), rng.dirichlet(np.ones(7), size=80)),
        5: (np.arange(0.5, 6, 0.1), [None if i % 7 == 3 else [0.5, 0.5] for i in range(55)]),
    }


def _same(a: SmoothedPrediction, b: SmoothedPrediction) -> bool:
    return (
        a.label == b.label
        and a.changed == b.changed
        and np.array_equal(a.probabilities, b.probabilities)
    )


def test_tracks_are_independent():
    streams = _streams()
    alone = {k: _run(ProbabilitySmoother(), *stream, track=k) for k, stream in streams.items()}
    events = sorted((t, k, i) for k, (times, _) in streams.items() for i, t in enumerate(times))
    shared = ProbabilitySmoother()
    together: dict[int, list] = {k: [] for k in streams}
    for t, k, i in events:
        together[k].append(shared.update(k, t, streams[k][1][i]))
    for k in streams:
        assert all(_same(a, b) for a, b in zip(alone[k], together[k]))


def test_pickle_round_trip_mid_stream():
    streams = _streams()
    smoother = ProbabilitySmoother(tau_s=0.3, margin=0.05, min_dwell_s=0.2)
    for k, (times, probs) in streams.items():
        _run(smoother, times[:40], probs[:40], track=k)
    copy = pickle.loads(pickle.dumps(smoother))
    assert repr(copy) == repr(smoother)
    for k, (times, probs) in streams.items():
        for t, p in zip(times[40:], probs[40:]):
            assert _same(smoother.update(k, t, p), copy.update(k, t, p))


def test_forget():
    smoother = ProbabilitySmoother()
    smoother.update(2, 1.0, [0.1, 0.9])
    smoother.forget(2)
    smoother.forget(12345)
    fresh = smoother.update(2, 0.0, [0.6, 0.2, 0.2])  # a new track: any time, any class count
    assert fresh.label == 0 and fresh.changed


def test_update_errors_name_the_track_and_the_problem():
    smoother = ProbabilitySmoother()
    smoother.update(4, 2.0, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"track 4: frame time 2\.0 s is not after .* 2\.0 s"):
        smoother.update(4, 2.0, [0.5, 0.5])
    smoother.update(4, 2.5, None)
    with pytest.raises(ValueError, match=r"track 4: frame time 2\.2 s is not after .* 2\.5 s"):
        smoother.update(4, 2.2, None)
    with pytest.raises(ValueError, match="finite number of seconds"):
        smoother.update(4, math.inf, None)
    with pytest.raises(ValueError, match=r"track 4 at t=3\.0 s: got 3 class probabilities, .* 2"):
        smoother.update(4, 3.0, [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"track 4 at t=3\.0 s: .*finite and >= 0"):
        smoother.update(4, 3.0, [np.nan, 1.0])
    with pytest.raises(ValueError, match="finite and >= 0"):
        smoother.update(4, 3.0, [-0.1, 1.1])
    with pytest.raises(ValueError, match=r"1-D vector .* got shape \(1, 2\)"):
        smoother.update(4, 3.0, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="not numeric"):
        smoother.update(4, 3.0, ["a", "b"])
    assert smoother.update(4, 3.0, [0.4, 0.6]).probabilities.shape == (2,)  # state intact


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tau_s": -0.1}, "'tau_s' parameter of ProbabilitySmoother"),
        ({"margin": 1.0}, "'margin' parameter"),
        ({"min_dwell_s": math.nan}, "'min_dwell_s' parameter"),
    ],
)
def test_parameter_errors(params, message):
    smoother = ProbabilitySmoother(**params)  # stored as given; checked at first use
    with pytest.raises(ValueError, match=message):
        smoother.update(0, 0.0, [0.5, 0.5])


# --- flip and lag measures ----------------------------------------------------------------


def test_count_flips_skips_missing_labels():
    assert count_flips([]) == 0
    assert count_flips([None, None]) == 0
    assert count_flips(["happy", None, "happy", "sad", None, None, "happy"]) == 2
    assert count_flips(np.array([0.0, np.nan, 1.0, 1.0, np.nan, 0.0])) == 2
    assert count_flips(np.array([3, 3, 2, 3])) == 2


def test_flips_per_minute():
    labels = [0, 1, 0, 1, 1, 1]  # 3 flips over 90 s
    assert flips_per_minute(labels, [0, 10, 20, 30, 60, 90]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        flips_per_minute([1], [0.0])
    with pytest.raises(ValueError, match=r"sample 2 \(1\.0 s\) is not after sample 1"):
        flips_per_minute([0, 1, 0], [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"as long as the labels \(3\)"):
        flips_per_minute([0, 1, 0], [0.0, 1.0])


def test_label_lag_matching_rules():
    times = np.arange(10.0)
    # Two real switches followed 2 s and 1 s later.
    raw = [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    smooth = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert label_lag(raw, smooth, times) == pytest.approx(1.5)
    # A spurious smoothed excursion (1 -> 0 -> 1 with the raw label staying 1) is unmatched:
    # the raw switch into 1 at 2 s lies before the smoothed switch to 0 at 5 s.
    raw = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    smooth = [0, 0, 0, 1, 1, 0, 0, 1, 1, 1]
    assert label_lag(raw, smooth, times) == pytest.approx(1.0)
    # Flickering raw labels: the latest raw switch into the label before the smoothed one.
    raw = [0, 1, 0, 1, 0, 1, 1, 1, 1, 1]
    smooth = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert label_lag(raw, smooth, times) == pytest.approx(3.0)
    # Missing labels are skipped; nothing matched gives NaN.
    assert label_lag([0, None, 1, 1], [None, 0, None, 1], [0, 1, 2, 3]) == pytest.approx(1.0)
    assert math.isnan(label_lag([0, 0, 0], [0, 1, 1], [0, 1, 2]))
    with pytest.raises(ValueError, match="equally long"):
        label_lag([0, 1], [0, 1, 1], [0, 1, 2])
