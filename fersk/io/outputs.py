"""Output files: checked before any work starts, written atomically.

A fersk command or stream never destroys a file: :func:`check_output_path`
refuses an output that is a folder, in a missing folder, or one of the inputs
before any work starts; :class:`AtomicOutput` writes a file under a temporary
name that is moved into place only when the writing is done (resumable
outputs opt in to keeping what an interrupted run wrote); :class:`AtomicFolder`
writes a whole folder (a model, a report) beside the old one and swaps the two
in one step, so a kill at any moment leaves the old folder or the new one,
never a mix.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["AtomicFolder", "AtomicOutput", "check_output_path", "swap_folder"]


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output_path(path: str | os.PathLike, *, inputs: tuple = (), what: str = "output") -> str:
    """Check that ``path`` can be written as an output file; return it as a string.

    Refuses (``ValueError``, naming ``what`` and the path): a folder, a path
    in a folder that does not exist, and a path that is one of ``inputs`` (an
    output must never overwrite what is being read). Call it before any work
    starts, so a mistake costs nothing.

    Parameters
    ----------
    path : str or path-like
        The output file to be written.
    inputs : tuple, default=()
        The inputs of the work; those that are paths must not be ``path``
        (the same file, or the same resolved path). Other entries (arrays,
        camera indices) are ignored.
    what : str, default="output"
        How messages name the output (e.g. the option ``"--csv"``).

    Returns
    -------
    str
        ``path`` as a string.

    Raises
    ------
    ValueError
        For an empty path, a folder, a path whose folder is missing or not
        writable, or a path that is one of ``inputs``.

    See Also
    --------
    fersk.io.AtomicOutput : Write the checked output under a temporary name.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_output_path(os.path.join(d, "out.csv")).endswith("out.csv")
    True
    >>> check_output_path(d, what="--csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --csv ... is a folder; give a file name
    """
    text = os.fspath(path)
    if not text:
        raise ValueError(f"{what}: empty path")
    if os.path.isdir(text):
        raise ValueError(f"{what} {text!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {text!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{what} {text!r}: folder {folder!r} is not writable")
    for source in inputs:
        if isinstance(source, (str, os.PathLike)) and _same_file(text, os.fspath(source)):
            raise ValueError(
                f"{what} {text!r} is the input {os.fspath(source)!r}; writing it would destroy "
                "the input. Choose another output file"
            )
    return text


class AtomicOutput:
    """Write a file under a temporary name; move it into place when done.

    An existing file at ``path`` is replaced only when the writing finishes;
    a failure or an interruption (Ctrl-C, SIGTERM) removes the temporary file
    and leaves ``path`` untouched, unless ``keep_partial`` asks to keep what an
    interrupted run wrote (fersk's resumable outputs: a CSV of the frames or
    images done). The temporary file sits in the same folder and keeps the
    extension (video writers choose their container by it).

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist. Entering the context
        creates an empty temporary file in that folder and returns its path;
        :meth:`commit` and :meth:`discard` end it by hand.
    keep_partial : bool, default=False
        Commit on ``KeyboardInterrupt`` too (for outputs whose every part is
        whole on its own, like CSV rows).

    See Also
    --------
    fersk.io.check_output_path : Check an output path before any work starts.
    fersk.io.write_video : Writes its video through this class.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with AtomicOutput(path) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open(path).read()
    'done'
    >>> try:
    ...     with AtomicOutput(path) as tmp:
    ...         _ = open(tmp, "w").write("half")
    ...         raise RuntimeError("failed")
    ... except RuntimeError:
    ...     pass
    >>> open(path).read()  # the earlier result survives a failed run
    'done'
    """

    def __init__(self, path: str | os.PathLike, *, keep_partial: bool = False) -> None:
        self.path = os.fspath(path)
        self.keep_partial = keep_partial
        self.tmp: str | None = None

    def __enter__(self) -> str:
        folder, name = os.path.split(os.path.abspath(self.path))
        stem, ext = os.path.splitext(name)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".partial{ext}", dir=folder)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp's 0600 would outlive the rename
        return self.tmp

    def commit(self) -> None:
        """Move the temporary file into place now."""
        if self.tmp is not None and os.path.exists(self.tmp):
            os.replace(self.tmp, self.path)
        self.tmp = None

    def discard(self) -> None:
        """Remove the temporary file; leave ``path`` as it was."""
        if self.tmp is not None:
            Path(self.tmp).unlink(missing_ok=True)
        self.tmp = None

    def __exit__(self, exc_type, exc, tb) -> None:
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        if exc_type is None or (interrupted and self.keep_partial):
            self.commit()
        else:
            self.discard()


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system cannot
        return False
    raise OSError(errno, os.strerror(errno), b)


def swap_folder(new: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put the folder ``new`` at ``target``, replacing a folder there in one step.

    With no folder at ``target``, one rename. Otherwise the two are exchanged
    atomically where the system allows (Linux), then the old one is removed;
    elsewhere the old folder is first renamed to ``.<name>.previous`` beside
    it, so an interruption between the two renames leaves it there, whole.

    Examples
    --------
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> old, new = os.path.join(root, "model"), os.path.join(root, "new")
    >>> for folder, text in [(old, "old"), (new, "new")]:
    ...     os.mkdir(folder)
    ...     _ = open(os.path.join(folder, "f"), "w").write(text)
    >>> swap_folder(new, old)
    >>> open(os.path.join(old, "f")).read(), os.path.exists(new)
    ('new', False)
    """
    new, target = os.fspath(new), os.fspath(target)
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if not os.path.isdir(target) or os.path.islink(target):
        raise ValueError(f"{target!r} exists and is not a folder; it is not replaced")
    if _exchange(new, target):
        shutil.rmtree(new)
        return
    folder, name = os.path.split(os.path.abspath(target))
    previous = os.path.join(folder, f".{name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    os.rename(target, previous)
    os.rename(new, target)
    shutil.rmtree(previous, ignore_errors=True)


class AtomicFolder:
    """Write a folder's files into a temporary sibling folder; swap it into place when done.

    Entering the context creates the empty sibling ``.<name>.partial-*`` and
    returns its path; leaving it without an error swaps it with ``path``
    (:func:`swap_folder`); an error or an interruption removes it and leaves
    ``path`` as it was.

    Parameters
    ----------
    path : str or path-like
        The folder to write; its parent must exist.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "report")
    >>> with AtomicFolder(target) as tmp:
    ...     _ = open(os.path.join(tmp, "report.md"), "w").write("# done")
    >>> os.listdir(target)
    ['report.md']
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.tmp: str | None = None

    def __enter__(self) -> str:
        parent, name = os.path.split(os.path.abspath(self.path))
        self.tmp = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o777 & ~umask)  # mkdtemp's 0700 would outlive the swap
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        tmp, self.tmp = self.tmp, None
        if tmp is None:
            return
        if exc_type is None:
            try:
                swap_folder(tmp, self.path)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        else:
            shutil.rmtree(tmp, ignore_errors=True)
