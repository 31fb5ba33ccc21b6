"""fersk.video.report: a run's report -- its numbers, then a timeline per face track, the longest
tracks first, with each track's label flips raw and smoothed."""

from __future__ import annotations

import csv

import pytest

from fersk.video.report import summary_line, write_video_report

pytest.importorskip("matplotlib")


def _write_rows(path, tracks: dict[int, tuple[str, str]], calibrated=False):
    """A stream CSV: each track's raw and smoothed labels, one letter per frame (h, n)."""
    header = ["frame", "time_s", "face_found", "track", "raw_label", "label", "motion",
              "p_happiness", "p_neutral"] + (["calibration"] if calibrated else [])  # fmt: skip
    name = {"h": "happiness", "n": "neutral"}
    rows = []
    for track, (raw, smoothed) in tracks.items():
        for i, (r, s) in enumerate(zip(raw, smoothed)):
            row = [len(rows), len(rows) / 10, True, track, name[r], name[s], False, 0.6, 0.4]
            rows.append(row + (["mean" if i >= 2 else "none"] if calibrated else []))
    rows.append([len(rows), 9.9, False, -1, "", "", False, "", ""] + ([""] if calibrated else []))
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_the_report_gives_the_runs_numbers_and_a_timeline_per_track(tmp_path):
    rows = tmp_path / "rows.csv"
    _write_rows(rows, {0: ("hnhh", "hhhh"), 1: ("nhnhhhhhh", "nnnhhhhhh")})
    summary = {"frames": 14, "faces": 13, "tracks": [0, 1], "fps": 24.96}
    folder = write_video_report(rows, summary, tmp_path / "report", "clip.mp4")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["report.html", "report.md", "timeline_track0.png", "timeline_track1.png"]
    markdown = (folder / "report.md").read_text()
    assert markdown.startswith("# clip.mp4")
    assert (
        "| frames | face rows | tracks | frames/s |" in markdown
        and "| 14 | 13 | 2 | 25.0 |" in markdown
    )
    # The longest track first, each with its flips: raw labels flip more than smoothed ones.
    assert markdown.index("## Track 1") < markdown.index("## Track 0")
    assert "9 frames with this face; label flips 3 raw, 1 smoothed; shown most: happiness." in (
        markdown
    )
    assert "4 frames with this face; label flips 2 raw, 0 smoothed; shown most: happiness." in (
        markdown
    )
    assert "![timeline_track1](timeline_track1.png)" in markdown
    assert "Calibrated" not in markdown


def test_only_the_longest_tracks_and_the_share_calibrated_to_the_person(tmp_path):
    rows = tmp_path / "rows.csv"
    _write_rows(rows, {0: ("n" * 8, "n" * 8), 5: ("nn", "nn")}, calibrated=True)
    summary = {"frames": 11, "faces": 10, "tracks": [0, 5], "fps": 10.0}
    folder = write_video_report(rows, summary, tmp_path / "report", "t", max_tracks=1)
    markdown = (folder / "report.md").read_text()
    assert "## Track 0" in markdown and "## Track 5" not in markdown
    assert "Calibrated to the person on 75% of them." in markdown  # 6 of 8 frames
    assert not (folder / "timeline_track5.png").exists()


def test_the_summary_line_names_the_outputs_written_and_the_frames_dropped():
    run = {"frames": 9, "faces": 8, "tracks": [0, 1], "fps": 12.345, "dropped": 0}
    assert summary_line({**run, "annotated": False}, "rows.csv", "faces.mp4") == (
        "9 frames, 8 face rows, tracks [0, 1], 12.3 frames/s -> rows.csv"
    )
    line = summary_line({**run, "annotated": True, "dropped": 4}, "rows.csv", "faces.mp4")
    assert line.endswith("12.3 frames/s, 4 camera frames dropped -> rows.csv, faces.mp4")
