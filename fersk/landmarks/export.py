"""Landmarks of many images to a resumable CSV, block by block (``fersk extract``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

from .._core.layout import landmark_feature_names

__all__ = ["EXTRACT_BLOCK", "extract_to_csv", "landmark_csv_header"]

#: Images extracted (and written) at a time: an interruption loses at most one block.
EXTRACT_BLOCK = 256


def landmark_csv_header(n_landmarks: int) -> list[str]:
    """``path, face_found, failure, x0, y0, ...``: the columns of a landmark CSV.

    Examples
    --------
    >>> landmark_csv_header(5)[:5]
    ['path', 'face_found', 'failure', 'x0', 'y0']
    """
    return ["path", "face_found", "failure", *landmark_feature_names(n_landmarks)]


def extract_to_csv(
    paths: Sequence[str | os.PathLike],
    extractor,
    write_rows,
    *,
    block: int = EXTRACT_BLOCK,
    progress: bool = True,
) -> dict:
    """Extract the landmarks of ``paths`` a block at a time; each block's rows to ``write_rows``.

    Parameters
    ----------
    paths : sequence of path
        Images, in the order their rows are written.
    extractor : fitted LandmarkExtractor
    write_rows : callable
        Called with each block's rows (``path, face_found, failure, x0, y0, ...``;
        coordinates with 2 decimals), e.g. :meth:`fersk.io.ResumableCSV.write_rows`.
    block : int, default=EXTRACT_BLOCK
    progress : bool, default=True
        A progress bar over the images.

    Returns
    -------
    dict
        ``written``, ``no_face`` and ``unreadable`` counts (so far, when
        interrupted: the counts are updated after every block).
    """
    from tqdm.auto import tqdm

    counts = {"written": 0, "no_face": 0, "unreadable": 0}
    with tqdm(total=len(paths), unit="img", disable=not progress) as bar:
        for start in range(0, len(paths), block):
            chunk = [str(p) for p in paths[start : start + block]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X = extractor.transform(chunk)
            why = {f.index: f.reason for f in extractor.failures_}
            write_rows(
                [p, int(i not in why), why.get(i, ""), *(f"{v:.2f}" for v in x)]
                for i, (p, x) in enumerate(zip(chunk, X))
            )
            counts["written"] += len(chunk)
            counts["unreadable"] += sum(r == "unreadable" for r in why.values())
            counts["no_face"] += sum(r != "unreadable" for r in why.values())
            bar.update(len(chunk))
    return counts
