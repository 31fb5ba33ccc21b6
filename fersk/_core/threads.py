"""How many threads fersk's native libraries use: one policy, so nothing oversubscribes.

torch, OpenCV and the BLAS/OpenMP libraries each start a thread per core by
default. Several of them at once, or one of them on a machine other processes
keep busy, spend their time waiting for each other: a video that runs at 48
frames/s on one idle core drops to 3 frames/s with two busy neighbours when
torch's threads spin. fersk's policy:

* **inference** (``fersk predict``, ``fersk video``, :func:`fersk.predict.iter_photos`,
  :class:`fersk.video.VideoAnalyzer`): one thread per process
  (:data:`INFERENCE_THREADS`); more throughput comes from worker processes
  (``--n-jobs``), each single-threaded;
* **training** (``fersk train``, ``fersk demo``, the recipes): every core, unless
  told otherwise;
* every command takes ``--threads N``; in Python, wrap any call in
  :func:`limited_threads`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["INFERENCE_THREADS", "cpu_count", "limited_threads"]

#: Threads per process for inference (per-face work is too small to split).
INFERENCE_THREADS = 1

#: Environment variables read by OpenMP and BLAS libraries when they start.
_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_count() -> int:
    """Cores this process may run on (its CPU affinity, e.g. under ``taskset``), at least 1.

    Examples
    --------
    >>> cpu_count() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def limited_threads(n: int | None) -> Iterator[int]:
    """Run the enclosed code with at most ``n`` threads in torch, OpenCV and BLAS/OpenMP.

    The previous settings come back on exit. ``None`` (or 0) leaves every
    library as it is; ``-1`` means every core (:func:`cpu_count`). torch is
    set now if it is already imported; if it gets imported inside, the
    ``OMP_NUM_THREADS`` set for the duration limits it (fersk never imports it
    just to set its threads).

    Parameters
    ----------
    n : int or None
        Threads per library.

    Yields
    ------
    int
        The number of threads in effect (``cpu_count()`` for None).

    Examples
    --------
    >>> import cv2
    >>> with limited_threads(1):
    ...     cv2.getNumThreads()
    1
    """
    if not n:
        yield cpu_count()
        return
    n = cpu_count() if n < 0 else int(n)
    import cv2
    from threadpoolctl import threadpool_limits

    previous_cv2 = cv2.getNumThreads()
    previous_env = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(dict.fromkeys(_ENV, str(n)))
    torch = sys.modules.get("torch")
    previous_torch = torch.get_num_threads() if torch is not None else None
    cv2.setNumThreads(n)
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield n
    finally:
        cv2.setNumThreads(previous_cv2)
        for key, value in previous_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(previous_torch or cpu_count())
