"""A run that resumes: its resumable CSV opened for it, and the inputs already in it.

``fersk extract`` and ``fersk predict --csv`` write through :func:`resumed_csv`
(:func:`fersk.landmarks.export.extract_to_resumable_csv`,
:func:`fersk.recipes.photos.write_predictions`): the CSV is locked for the run, a torn
last line is dropped (and said), a new CSV gets its settings and header at once,
and the inputs already done come back as absolute paths, so a rerun from
another folder skips them too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence

from ..io import ResumableCSV

__all__ = ["resumed_csv"]


@contextlib.contextmanager
def resumed_csv(
    path: str | os.PathLike,
    header: Sequence[str],
    settings: Mapping,
    *,
    key: str,
    what: str = "output",
    say: Callable[[str], object] | None = None,
) -> Iterator[tuple[ResumableCSV, set[str]]]:
    """The resumable CSV ``path``, locked for this run, and the inputs already in it.

    Parameters
    ----------
    path, header, settings, key, what
        As for :class:`fersk.io.ResumableCSV`.
    say : callable or None, default=None
        Told in one line when a torn last line was dropped (its input is done
        again).

    Yields
    ------
    table : ResumableCSV
        Append this run's rows with ``table.write_rows``; a new CSV already
        has its header.
    done : set of str
        The ``key`` values already in the CSV, as absolute paths.

    Raises
    ------
    fersk.io.CSVInUseError, ValueError
        As :class:`fersk.io.ResumableCSV` does on entering.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    >>> with resumed_csv(path, ["path", "n"], {"command": "count"}, key="path") as (table, done):
    ...     table.write_rows([["/a.png", 1]])
    >>> with resumed_csv(path, ["path", "n"], {"command": "count"}, key="path") as (table, done):
    ...     sorted(done)
    ['/a.png']
    """
    with ResumableCSV(path, header, settings, key=key, what=what) as table:
        if table.dropped_torn_line and say is not None:
            say(f"{path}: dropped a torn last line; its input is done again")
        table.write_rows([])  # a new CSV gets its settings and header now
        yield table, {os.path.abspath(p) for p in table.done}
