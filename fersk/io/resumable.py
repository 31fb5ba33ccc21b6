"""Resumable CSV outputs: appended block by block, completed by a rerun, one writer at a time.

A long command (``fersk extract``, ``fersk predict --csv``) writes its rows to
a CSV as it goes, so Ctrl-C, a kill or a crash loses at most the block being
written; running the same command again reads the rows already there and does
only the rest. :class:`ResumableCSV` is that protocol:

* the settings a CSV is written with are recorded beside it
  (``<csv>.settings.json``); a rerun with other settings, or on a CSV of
  another command, is refused, never mixed in;
* a torn last line (a run killed mid-write) is dropped, and its key done again;
* each block of rows is one write, so a resumed run never counts a key as done
  while some of its rows are missing (a kill tears at most the last line);
* an exclusive lock (``<csv>.lock``, held for the whole run) refuses a second
  run on the same CSV at once, so two runs never write two headers or the same
  rows twice.

:func:`resumed_csv` opens one for a run (``fersk extract``, ``fersk predict
--csv``): locked, a torn line said, a new CSV's header written at once, and the
inputs already done as absolute paths, so a rerun from another folder skips
them too.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from .outputs import AtomicOutput

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None

__all__ = ["CSVInUseError", "ResumableCSV", "lock_path", "resumed_csv", "settings_path"]

#: How the CSV's text is encoded: a file name that is not UTF-8 is kept byte for byte.
_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}
#: Bytes read at a time when looking for the last line break from the end.
_CHUNK = 1 << 16


class CSVInUseError(OSError):
    """Another run is writing the same resumable CSV (it holds the CSV's lock)."""


def settings_path(path: str | os.PathLike) -> Path:
    """Where the settings of the resumable CSV ``path`` are recorded.

    Examples
    --------
    >>> settings_path("/data/faces.csv").name
    'faces.csv.settings.json'
    """
    path = Path(path)
    return path.with_name(path.name + ".settings.json")


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file a run holds while it writes the resumable CSV ``path``.

    Examples
    --------
    >>> lock_path("/data/faces.csv").name
    'faces.csv.lock'
    """
    path = Path(path)
    return path.with_name(path.name + ".lock")


class ResumableCSV:
    """A CSV that one run at a time appends to, and that a rerun with the same settings resumes.

    Use it as a context manager: entering takes the lock (or fails at once),
    checks an existing file, repairs a torn last line and reads the keys
    already done (:attr:`done`); :meth:`write_rows` appends (the first call
    records the settings and writes the header of a new file); leaving
    releases the lock.

    Parameters
    ----------
    path : str or path-like
        The CSV; its folder must exist.
    header : sequence of str
        The columns this run writes. An existing file must start with exactly
        this header.
    settings : mapping
        Everything that changes the rows (the command, a model, a detector),
        as JSON values, with a ``"command"`` entry naming what writes the CSV.
        An existing file must have been written with equal settings.
    key : str
        The column that identifies a row's input (a file path): :attr:`done`
        holds its values.
    what : str, default="output"
        How messages name the CSV (e.g. the option ``"--csv"``).

    Attributes
    ----------
    done : set of str
        The keys already in the file (empty for a new file).
    has_header : bool
        Whether the file already has its header (it is being resumed).
    dropped_torn_line : bool
        Whether a torn last line was removed on entering.

    Raises
    ------
    CSVInUseError
        On entering, when another run holds the lock.
    ValueError
        On entering, for a file that is not a CSV of this command (another
        header) or was written with other settings, naming the file and the
        difference; the file is left as it was.

    See Also
    --------
    fersk.io.check_output_path : Check the CSV's path before any work starts.
    fersk.io.AtomicOutput : For outputs written whole rather than resumed.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    >>> settings = {"command": "count", "step": 1}
    >>> with ResumableCSV(path, ["name", "n"], settings, key="name") as table:
    ...     table.write_rows([["a", 1], ["b", 2]])
    >>> with ResumableCSV(path, ["name", "n"], settings, key="name") as table:
    ...     sorted(table.done), table.has_header
    ...     table.write_rows([["c", 3]])
    (['a', 'b'], True)
    >>> open(path).read().splitlines()
    ['name,n', 'a,1', 'b,2', 'c,3']

    While one run writes the CSV, a second one is refused at once:

    >>> with ResumableCSV(path, ["name", "n"], settings, key="name"):  # doctest: +ELLIPSIS
    ...     ResumableCSV(path, ["name", "n"], settings, key="name").__enter__()
    Traceback (most recent call last):
    ...
    fersk.io.resumable.CSVInUseError: output '...rows.csv' is being written by another run ...

    Other settings are refused, and the file kept:

    >>> other = {"command": "count", "step": 2}
    >>> ResumableCSV(path, ["name", "n"], other, key="name").__enter__()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output '...rows.csv' was written with other settings (step=1 there, 2 now); ...
    """

    def __init__(
        self,
        path: str | os.PathLike,
        header: Sequence[str],
        settings: Mapping,
        *,
        key: str,
        what: str = "output",
    ) -> None:
        self.path = Path(path)
        self.header = list(header)
        self.settings = dict(settings)
        self.key = key
        self.what = what
        self.done: set[str] = set()
        self.has_header = False
        self.dropped_torn_line = False
        self._lock_fd: int | None = None
        self._file = None

    # -- the run ---------------------------------------------------------------

    def __enter__(self) -> ResumableCSV:
        self._lock()
        try:
            self._check_existing()
            if self.has_header:
                self.dropped_torn_line = _drop_torn_line(self.path)
                self.has_header = self.path.stat().st_size > 0
            self.done = self._read_keys() if self.has_header else set()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def write_rows(self, rows: Iterable[Sequence]) -> None:
        """Append ``rows`` (one list of values per row, in the header's order) in one write.

        The first call on a new file records the settings
        (:func:`settings_path`) and writes the header first. The rows are
        flushed to the operating system before it returns.
        """
        if self._file is None:
            self._open_for_append()
        block = io.StringIO(newline="")
        csv.writer(block).writerows(rows)
        data = block.getvalue().encode(**_ENCODING)
        while data:  # a regular file takes it in one write; a short write just goes on
            data = data[self._file.write(data) :]

    def close(self) -> None:
        """Close the file and release the lock (leaving the context does this)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._lock_fd is not None:
            # Removed while still held: a run that opened it in the meantime sees
            # that its lock is on a removed file and takes a fresh one.
            lock_path(self.path).unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- checks ------------------------------------------------------------------

    def _check_existing(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb") as fh:
            first = fh.readline().decode(**_ENCODING).rstrip("\r\n")
        got = next(csv.reader([first]), [])
        if got != self.header:
            what = (
                "was written with other settings"
                if got[:3] == self.header[:3]
                else f"is not a `{self.settings.get('command', 'this command')}` CSV"
            )
            raise ValueError(
                f"{self.what} {str(self.path)!r} {what} (its columns: {', '.join(got[:4])}, ... "
                f"{len(got)} in all; this run writes {len(self.header)}); give another "
                f"{self.what} file"
            )
        recorded = self._recorded_settings()
        if recorded != self.settings:
            differ = (
                ", ".join(
                    f"{k}={recorded.get(k)!r} there, {self.settings.get(k)!r} now"
                    for k in dict.fromkeys([*self.settings, *recorded])
                    if recorded.get(k) != self.settings.get(k)
                )
                if isinstance(recorded, dict)
                else f"its settings file {str(settings_path(self.path))!r} is missing or unreadable"
            )
            raise ValueError(
                f"{self.what} {str(self.path)!r} was written with other settings ({differ}); "
                f"resume with the same settings, or give another {self.what} file"
            )
        self.has_header = True

    def _recorded_settings(self):
        try:
            return json.loads(settings_path(self.path).read_text())
        except (OSError, ValueError):
            return None

    def _read_keys(self) -> set[str]:
        with self.path.open(newline="", **_ENCODING) as fh:
            return {row[self.key] for row in csv.DictReader(fh) if row.get(self.key)}

    def _open_for_append(self) -> None:
        if not self.has_header:
            with AtomicOutput(settings_path(self.path)) as tmp:
                Path(tmp).write_text(json.dumps(self.settings, indent=2))
        self._file = self.path.open("ab", buffering=0)
        if not self.has_header:
            self.write_rows([self.header])
            self.has_header = True

    # -- the lock ------------------------------------------------------------------

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        path = lock_path(self.path)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                by = f" (process {holder})" if holder.isdigit() else ""
                raise CSVInUseError(
                    f"{self.what} {str(self.path)!r} is being written by another run{by}; wait "
                    f"for it to finish (then run again to resume), or give another {self.what} file"
                ) from None
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP):
                    raise
                warnings.warn(
                    f"{self.path}: this file system cannot lock files; make sure no other run "
                    "writes the same CSV",
                    stacklevel=3,
                )
                return
            if _same_file(fd, path):
                break
            os.close(fd)  # the holder removed it between our open and our lock: again
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd


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
        As for :class:`ResumableCSV`.
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
        As :class:`ResumableCSV` does on entering.

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


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _drop_torn_line(path: Path) -> bool:
    """Cut a last line that has no line break (a write cut short); True if one was cut."""
    with path.open("r+b") as fh:
        end = fh.seek(0, os.SEEK_END)
        fh.seek(end - 1)
        if fh.read(1) == b"\n":
            return False
        position = end
        while position > 0:
            start = max(0, position - _CHUNK)
            fh.seek(start)
            found = fh.read(position - start).rfind(b"\n")
            if found >= 0:
                fh.truncate(start + found + 1)
                return True
            position = start
        fh.truncate(0)
        return True
