"""fersk.landmarks.export: landmarks of many images written block by block as CSV rows, each
image's row in input order, failures counted apart."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fersk import LandmarkExtractor
from fersk.landmarks.export import (
    extract_to_csv,
    extract_to_resumable_csv,
    landmark_csv_header,
)


def test_the_header_names_the_path_the_outcome_and_every_coordinate():
    header = landmark_csv_header(68)
    assert header[:3] == ["path", "face_found", "failure"] and len(header) == 3 + 136
    assert header[3:7] == ["x0", "y0", "x1", "y1"] and header[-1] == "y67"


def test_rows_come_in_blocks_in_input_order_with_the_extractors_landmarks(faces_dir, tmp_path):
    _, paths = faces_dir
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200), 128, np.uint8))
    images = [paths[0], str(broken), paths[1], str(blank), paths[2]]
    extractor = LandmarkExtractor(5, detector="hog", upsample=1).fit()
    blocks = []
    counts = extract_to_csv(images, extractor, lambda rows: blocks.append(list(rows)), block=2,
                            progress=False)  # fmt: skip
    assert [len(b) for b in blocks] == [2, 2, 1]
    rows = [row for block in blocks for row in block]
    assert [row[0] for row in rows] == [str(p) for p in images]
    assert [(row[1], row[2]) for row in rows] == [
        (1, ""), (0, "unreadable"), (1, ""), (0, "no_face"), (1, ""),
    ]  # fmt: skip
    assert counts == {"written": 5, "no_face": 1, "unreadable": 1}
    expected = LandmarkExtractor(5, detector="hog", upsample=1).transform([paths[0]])[0]
    assert rows[0][3:] == [f"{v:.2f}" for v in expected]  # coordinates with 2 decimals
    assert rows[1][3:] == ["nan"] * 10 and len(rows[4]) == len(landmark_csv_header(5))


def test_an_interruption_keeps_the_blocks_already_written(faces_dir):
    _, paths = faces_dir
    extractor = LandmarkExtractor(5, detector="none").fit()
    written = []

    def write_rows(rows):
        if written:
            raise KeyboardInterrupt  # Ctrl-C while the second block is written
        written.append(list(rows))

    with pytest.raises(KeyboardInterrupt):
        extract_to_csv(paths[:4], extractor, write_rows, block=2, progress=False)
    assert [row[0] for row in written[0]] == [str(p) for p in paths[:2]]


def test_a_resumable_extraction_does_only_the_images_not_yet_in_the_csv(faces_dir, tmp_path):
    folder, paths = faces_dir
    out, said = tmp_path / "lm.csv", []
    extractor = LandmarkExtractor(5, detector="none", progress=False).fit()
    counts = extract_to_resumable_csv(paths[:2], extractor, out, root=folder, say=said.append)
    assert counts == {"written": 2, "no_face": 0, "unreadable": 0}
    assert said == [
        f"2 images under {folder}; 0 already in {out}; extracting 2",
        f"wrote 2 rows to {out} (0 without a face, 0 unreadable)",
    ]
    assert extract_to_resumable_csv(paths[:3], extractor, out)["written"] == 1
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == landmark_csv_header(5) and len(lines) == 4
    other = LandmarkExtractor(68, detector="none", progress=False).fit()
    with pytest.raises(ValueError, match="--out .* other settings"):
        extract_to_resumable_csv(paths, other, out, what="--out")
