"""fersk.video.annotate: each found face's box drawn on a copy of the frame, green when still,
orange in motion, with its track and label; rows without a face draw nothing."""

from __future__ import annotations

import numpy as np

from fersk.video.annotate import annotate_frame

GREEN, ORANGE = (60, 200, 60), (255, 150, 0)


def _row(**values) -> dict:
    row = {"face_found": True, "track": 0, "x0": 40, "y0": 60, "x1": 120, "y1": 150,
           "label": "happiness", "confidence": 0.9, "motion": False}  # fmt: skip
    return {**row, **values}


def test_the_box_is_drawn_on_a_copy_in_the_colour_of_the_motion_flag():
    frame = np.zeros((200, 300, 3), np.uint8)
    still = annotate_frame(frame, [_row()])
    moving = annotate_frame(frame, [_row(track=1, x0=180, x1=260, motion=True)])
    assert not frame.any()  # the input frame is left as it was
    assert tuple(still[100, 40]) == GREEN and tuple(still[150, 80]) == GREEN  # left, bottom edges
    assert tuple(moving[100, 180]) == ORANGE and not moving[100, 40].any()
    assert not still[100, 80].any()  # inside the box: the frame itself
    label = still[30:60, 40:120]  # the label's band above the box holds its text
    assert (label == GREEN).all(axis=2).mean() > 0.3 and (label == 255).all(axis=2).any()


def test_rows_without_a_face_draw_nothing():
    frame = np.full((100, 100, 3), 30, np.uint8)
    out = annotate_frame(frame, [_row(face_found=False), {"face_found": False}])
    np.testing.assert_array_equal(out, frame)
    assert out is not frame
