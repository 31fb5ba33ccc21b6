"""A video run's report: a timeline per face track, in Markdown with pictures and one HTML file."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_video_report"]


def write_video_report(csv_path, summary: dict, folder, title: str, max_tracks: int = 4) -> Path:
    """Write ``report.md`` and ``report.html`` for the rows of a ``fersk video`` CSV.

    Parameters
    ----------
    csv_path : path
        The stream's CSV (one row per face per frame).
    summary : dict
        :meth:`fersk.video.VideoAnalyzer.run`'s summary (``frames``, ``faces``,
        ``tracks``, ``fps``).
    folder : path
        The report folder (replaced whole when written).
    title : str
    max_tracks : int, default=4
        Timelines of the longest tracks only.

    Returns
    -------
    Path
        The folder.
    """
    import pandas as pd

    from ..evaluation.plot import plot_timeline
    from ..evaluation.report import Report
    from .smoothing import count_flips

    rows = pd.read_csv(os.fspath(csv_path))
    faces = rows[rows["face_found"].astype(bool)]
    report = Report(title)
    report.table(
        ["frames", "face rows", "tracks", "frames/s"],
        [[summary["frames"], summary["faces"], len(summary["tracks"]), f"{summary['fps']:.1f}"]],
    )
    for track in faces["track"].value_counts().index[:max_tracks]:
        one = faces[faces["track"] == track]
        report.heading(f"Track {track}")
        calibrated = ""
        if "calibration" in one and (one["calibration"] != "none").any():
            calibrated = f" Calibrated to the person on {(one['calibration'] != 'none').mean():.0%}"
            calibrated += " of them."
        report.text(
            f"{len(one)} frames with this face; label flips {count_flips(one['raw_label'])} raw, "
            f"{count_flips(one['label'])} smoothed; shown most: "
            f"{one['label'].value_counts().index[0] if len(one) else '-'}.{calibrated}"
        )
        report.figure(f"timeline_track{track}", plot_timeline(rows, track=int(track)))
    return report.write(folder)
