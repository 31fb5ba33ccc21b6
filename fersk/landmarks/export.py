"""Landmarks of many images to a resumable CSV, block by block (``fersk extract``).

:func:`extract_to_csv` writes the rows of a list of images a block at a time;
:func:`extract_to_resumable_csv` is the whole ``fersk extract`` run: it does
only the images not yet in the CSV, so a rerun after an interrupt resumes.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from .._core.layout import landmark_feature_names

__all__ = ["EXTRACT_BLOCK", "extract_to_csv", "extract_to_resumable_csv", "landmark_csv_header"]

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


def extract_to_resumable_csv(
    paths: Sequence[str],
    extractor,
    out: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    what: str = "output",
    say: Callable[[str], object] | None = None,
) -> dict:
    """``fersk extract``: the landmarks of the ``paths`` not yet in the CSV ``out``, appended to it.

    The CSV is a :class:`fersk.io.ResumableCSV` keyed on the image path, with
    the settings of ``fersk extract`` (the extractor's ``n_landmarks``,
    ``detector`` and ``backend``): a rerun with the same settings, from the
    command line or from Python, does only the images not done yet; other
    settings are refused.

    Parameters
    ----------
    paths : sequence of str
        Absolute image paths (:func:`fersk.recipes.photos.photo_inputs`), in order.
    extractor : fitted LandmarkExtractor
    out : str or path-like
        The CSV (checked beforehand, e.g. with :func:`fersk.io.check_output_path`).
    root : path or None, default=None
        Where ``paths`` were found, named in the first message.
    scheduler, n_workers
        Extract on a Dask cluster
        (:func:`fersk._core.distributed.optional_cluster`): an address, or a
        local cluster's workers; neither extracts here.
    what : str, default="output"
        How messages name the CSV (``"--out"`` for a command line).
    say : callable or None, default=None
        Called with a line before the work (how many images, how many done
        already) and one after (the counts).

    Returns
    -------
    dict
        As :func:`extract_to_csv` (this run's rows only).

    Examples
    --------
    >>> import os, tempfile
    >>> from fersk import LandmarkExtractor
    >>> from fersk.datasets import make_sample_faces
    >>> folder = tempfile.mkdtemp()
    >>> faces = make_sample_faces(n_subjects=1, n_intensities=1, blur_sigmas=(0.0,),
    ...                           out_dir=folder)
    >>> extractor = LandmarkExtractor(5, detector="none", progress=False).fit()
    >>> out = os.path.join(folder, "landmarks.csv")
    >>> extract_to_resumable_csv(faces.data[:2], extractor, out, say=print)  # doctest: +ELLIPSIS
    2 images; 0 already in ...landmarks.csv; extracting 2
    wrote 2 rows to ...landmarks.csv (0 without a face, 0 unreadable)
    {'written': 2, 'no_face': 0, 'unreadable': 0}
    >>> extract_to_resumable_csv(faces.data[:3], extractor, out)["written"]
    1
    """
    from .._core.distributed import optional_cluster
    from ..io import resumed_csv

    say = say or (lambda text: None)
    out = Path(out)
    settings = {"command": "fersk extract", "n_landmarks": extractor.n_landmarks}
    settings.update(detector=extractor.detector, backend=extractor.backend)
    header = landmark_csv_header(extractor.n_landmarks)
    resumed = resumed_csv(out, header, settings, key="path", what=what, say=say)
    with optional_cluster(scheduler, n_workers=n_workers), resumed as (table, done):
        todo = [p for p in paths if p not in done]
        where = "" if root is None else f" under {root}"
        say(f"{len(paths)} images{where}; {len(done)} already in {out}; extracting {len(todo)}")
        counts = extract_to_csv(todo, extractor, table.write_rows)
    say(f"wrote {counts['written']} rows to {out} ({counts['no_face']} without a face, "
        f"{counts['unreadable']} unreadable)")  # fmt: skip
    return counts
