"""A video run's report: a line on the run, and a timeline per face track (Markdown, HTML)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["summary_line", "write_video_report"]


def summary_line(
    summary: Mapping, csv_path: str | os.PathLike, annotate: str | os.PathLike | None = None
) -> str:
    """One line on a finished run: frames, face rows, tracks, speed, and where the rows went.

    Parameters
    ----------
    summary : mapping
        :meth:`fersk.video.VideoAnalyzer.run`'s summary (``frames``, ``faces``,
        ``tracks``, ``fps``, ``dropped``, ``annotated``).
    csv_path : path
        The run's CSV.
    annotate : path or None, default=None
        The annotated video, named when the run wrote it.

    Returns
    -------
    str

    Examples
    --------
    >>> run = {"frames": 90, "faces": 88, "tracks": [0], "fps": 29.97, "dropped": 0,
    ...        "annotated": True}
    >>> summary_line(run, "rows.csv", "faces.mp4")
    '90 frames, 88 face rows, tracks [0], 30.0 frames/s -> rows.csv, faces.mp4'
    >>> summary_line({**run, "dropped": 3, "annotated": False}, "rows.csv").split(", ")[-1]
    '3 camera frames dropped -> rows.csv'
    """
    written = f"{csv_path}, {annotate}" if summary["annotated"] else f"{csv_path}"
    dropped = f", {summary['dropped']} camera frames dropped" if summary["dropped"] else ""
    return (
        f"{summary['frames']} frames, {summary['faces']} face rows, tracks {summary['tracks']}, "
        f"{summary['fps']:.1f} frames/s{dropped} -> {written}"
    )


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
