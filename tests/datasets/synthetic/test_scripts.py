"""fersk.datasets.synthetic.scripts: a video script resolved segment by segment, later faces'
scripts time-shifted, segment frames rounded as documented, smooth expression ramps."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.datasets.synthetic.scripts import (
    DEFAULT_RAMP,
    DEFAULT_VIDEO_SCRIPT,
    VideoSegment,
    resolve_script,
    segment_boundaries,
    segment_intensity,
    smoothstep,
)


def test_segments_are_resolved_and_a_resolved_script_resolves_to_itself():
    (script,) = resolve_script(
        [("neutral", 1), ("expression", 2, "fear"), ("expression", 1.5, "anger", 0.25, 0.6),
         ("absent", 0.5, "", 0, None), ("neutral", 1, "neutral")], n_faces=1,
    )  # fmt: skip
    assert script == [
        VideoSegment("neutral", 1.0, "neutral", 0.0, 0.0),
        VideoSegment("expression", 2.0, "fear", DEFAULT_RAMP, 1.0),
        VideoSegment("expression", 1.5, "anger", 0.25, 0.6),
        VideoSegment("absent", 0.5, "", 0.0, 0.0),
        VideoSegment("neutral", 1.0, "neutral", 0.0, 0.0),
    ]
    assert resolve_script(script, n_faces=1) == [script]
    assert resolve_script(None, n_faces=1) == [list(DEFAULT_VIDEO_SCRIPT)]


def test_a_second_face_plays_the_script_from_its_boundary_nearest_half_way():
    first, second = resolve_script(None, n_faces=2)
    assert first == list(DEFAULT_VIDEO_SCRIPT)
    # The default script's boundaries: 2, 4.5, 6, 7, 8, 10.5 s of 12; 6 s is half way. The two
    # neutral segments that meet at the join (1.5 s and 2 s) become one.
    assert [(s.kind, s.seconds, s.emotion) for s in second] == [
        ("absent", 1.0, ""), ("neutral", 1.0, "neutral"), ("expression", 2.5, "surprise"),
        ("neutral", 3.5, "neutral"), ("expression", 2.5, "happiness"),
        ("neutral", 1.5, "neutral"),
    ]  # fmt: skip
    assert sum(s.seconds for s in second) == sum(s.seconds for s in first) == 12.0


def test_segment_frames_start_at_the_rounded_times():
    segments = [VideoSegment("neutral", 0.35, "neutral", 0, 0),
                VideoSegment("absent", 0.45, "", 0, 0),
                VideoSegment("neutral", 0.25, "neutral", 0, 0)]  # fmt: skip
    # 0, 3.5, 8 and 10.5 frames at 10 fps; halves round up.
    assert segment_boundaries(segments, 10.0).tolist() == [0, 4, 8, 11]
    assert segment_boundaries(segments, 2.0).tolist() == [0, 1, 2, 2]


def test_smoothstep_ramps_from_zero_to_one_flat_at_both_ends():
    x = np.array([-1.0, 0.0, 0.01, 0.5, 0.99, 1.0, 2.0])
    y = smoothstep(x)
    np.testing.assert_allclose(y[[0, 1, 3, 5, 6]], [0.0, 0.0, 0.5, 1.0, 1.0])
    assert y[2] < 0.001 and y[4] > 0.999  # slow at both ends
    np.testing.assert_allclose(smoothstep(1 - x), 1 - y)  # symmetric


def test_an_expression_ramps_in_holds_its_peak_and_ramps_out():
    expression = VideoSegment("expression", 1.0, "fear", 0.3, 0.8)
    intensity = segment_intensity(expression, 10, fps=10.0)  # frame middles 0.05 ... 0.95 s
    np.testing.assert_allclose(intensity[3:7], 0.8)  # 0.35 to 0.65 s: between the ramps
    np.testing.assert_allclose(intensity[0], 0.8 * smoothstep(np.array(0.05 / 0.3)))
    np.testing.assert_allclose(intensity, intensity[::-1])  # ramps in as it ramps out
    assert (np.diff(intensity[:4]) > 0).all()
    abrupt = VideoSegment("expression", 1.0, "fear", 0.0, 0.6)
    np.testing.assert_array_equal(segment_intensity(abrupt, 4, 10.0), [0.6] * 4)
    rest = VideoSegment("neutral", 1.0, "neutral", 0.0, 0.0)
    np.testing.assert_array_equal(segment_intensity(rest, 3, 10.0), [0.0] * 3)


@pytest.mark.parametrize(
    "script, n_faces, error, message",
    [
        ([[("neutral", 1)]], 2, ValueError, "holds 1 per-face scripts but n_faces=2"),
        ("neutral", 1, TypeError, "must be a list of segments"),
        ([("neutral", 1), [("absent", 1)]], 1, ValueError, "segment 1 .* has 1 elements"),
        ([("expression", 1, "fear", 0.6)], 1, ValueError, "ramps need 2 x 0.6 s but it lasts"),
    ],
)
def test_a_bad_script_is_named_by_its_segment(script, n_faces, error, message):
    with pytest.raises(error, match=message):
        resolve_script(script, n_faces)
