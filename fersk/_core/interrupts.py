"""Stopping a run: SIGTERM (``kill``, ``timeout``, a service manager) taken as Ctrl-C.

A long run (``fersk extract``, ``fersk predict --csv``, ``fersk video``) keeps
the work it finished when Ctrl-C stops it. Inside :func:`sigterm_as_interrupt`,
SIGTERM raises :class:`KeyboardInterrupt` too, so a run stopped either way
ends the same way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["sigterm_as_interrupt"]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`KeyboardInterrupt`, as Ctrl-C does.

    Only the main thread handles signals: elsewhere the block runs as it is.
    The handler there before is put back on leaving.

    Examples
    --------
    >>> import signal
    >>> before = signal.getsignal(signal.SIGTERM)
    >>> with sigterm_as_interrupt():
    ...     try:
    ...         signal.raise_signal(signal.SIGTERM)
    ...     except KeyboardInterrupt:
    ...         print("stopped like Ctrl-C")
    stopped like Ctrl-C
    >>> signal.getsignal(signal.SIGTERM) is before
    True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
