"""Output files: checked before any work starts, written atomically.

A fersk command or stream never destroys a file: :func:`check_output_path`
refuses an output that is a folder, in a missing folder, or one of the inputs
before any work starts, and :class:`AtomicOutput` writes under a temporary
name that is moved into place only when the writing is done (or interrupted
with Ctrl-C, keeping what was written).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["AtomicOutput", "check_output_path"]


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

    An existing file at ``path`` is replaced only when the writing finishes
    (or is interrupted with Ctrl-C, keeping what was written, as fersk's
    resumable outputs promise); any other failure removes the temporary file
    and leaves ``path`` untouched. The temporary file sits in the same folder
    and keeps the extension (video writers choose their container by it).

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist. Entering the context
        creates an empty temporary file in that folder and returns its path;
        :meth:`commit` and :meth:`discard` end it by hand.

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

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
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
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.commit()
        else:
            self.discard()
