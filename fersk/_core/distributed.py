"""Running fersk on a Dask cluster: extraction, clips and model selection beyond one machine.

fersk does not schedule anything itself. Its per-image work (landmarks,
clarity scores, CNN inputs, clip frames) goes through joblib, and joblib's
Dask backend sends it to a ``dask.distributed`` cluster; ``GridSearchCV`` and
``cross_validate`` do the same with their fits. So::

    from fersk._core.distributed import cluster

    with cluster("tcp://scheduler:8786"):          # or cluster(n_workers=8): a LocalCluster
        X = LandmarkExtractor(memory="/shared/cache").transform(paths)
        search.fit(paths, y, groups=subjects)        # GridSearchCV(n_jobs=-1)

which is ``joblib.parallel_config(backend="dask")`` with a client connected.
On the cluster:

* images go in chunks of up to 1,024 (at least 8 tasks per worker), so the
  scheduler's ~1 ms per task is amortised;
* the dlib and FAN models load once per worker process (they are cached in
  the process), not once per task;
* rows come back in input order, one per input, with failures recorded as
  in a local run;
* with a ``memory=`` cache on a path every worker sees (a shared filesystem,
  or an fsspec URL such as ``s3://bucket/cache``), each finished image is
  stored as soon as it is done: a search extracts each image once, and a run
  interrupted by a lost worker or a stopped job resumes from what finished.

A cluster that cannot do the work ends the run with one :class:`ClusterError`
(an :class:`OSError`) in bounded time, never a hang or a crash: an address
where no scheduler answers (nothing listening, an HTTP server, any other
service) within :data:`CONNECT_TIMEOUT_S`; a run left without any worker for
:data:`NO_WORKER_TIMEOUT_S` (a watchdog looks every :data:`WATCH_INTERVAL_S`);
a scheduler lost mid-run. Finished images stay in the cache: rerun to resume.

Dask and distributed are an optional extra: ``python -m pip install -e ".[dask]"`` in
fersk's checkout.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Iterator

__all__ = [
    "CONNECT_TIMEOUT_S",
    "NO_WORKER_TIMEOUT_S",
    "WATCH_INTERVAL_S",
    "ClusterError",
    "check_scheduler",
    "cluster",
    "dashboard_link",
    "optional_cluster",
]

#: Seconds a scheduler has to answer (connect and identify itself), and to come back
#: when its connection is lost mid-run, before the run fails.
CONNECT_TIMEOUT_S = 20.0
#: Seconds a run may go on without any worker (a worker restarting is back in seconds)
#: before it fails: with no worker, Dask waits for one forever.
NO_WORKER_TIMEOUT_S = 60.0
#: How often the watchdog counts the workers, in seconds.
WATCH_INTERVAL_S = 1.0

_GUARD_FIX = (
    'put the code that starts the cluster under `if __name__ == "__main__":` in your script. '
    "Dask starts each worker process with 'spawn', which imports your script again; "
    "unguarded, that import starts a cluster in turn and the worker fails"
)


class ClusterError(OSError):
    """The Dask cluster cannot be reached, started or used; the message says what to do.

    An :class:`OSError`, so ``fersk``'s commands report it in one line. The
    cause (Dask's own exception) is chained as ``__cause__``.

    Examples
    --------
    >>> issubclass(ClusterError, OSError)
    True
    """


def _require():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed: python -m pip install -e '.[dask]' "
            "in fersk's checkout (or pip install 'dask[distributed]')"
        ) from None


def dashboard_link(client) -> str:
    """The Dask dashboard's address for a client ('' when it has none)."""
    return getattr(client, "dashboard_link", "") or ""


def _run_bounded(coroutine_function, timeout: float):
    """Run ``coroutine_function()`` on its own event loop, in a thread, for at most ``timeout`` s.

    Its own thread and loop: it works where an event loop already runs (a
    notebook), and a peer that never answers cannot hold this thread.
    """
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(asyncio.wait_for(coroutine_function(), timeout))
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="fersk-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def check_scheduler(address: str, timeout: float | None = None) -> dict:
    """Ask ``address`` who it is; return its identity if it is a Dask scheduler.

    Connecting a ``distributed.Client`` to something else hangs (a server
    that waits for its own protocol, an HTTP server) or reads the peer's
    first bytes as a message length and tries to allocate exabytes. This
    check connects, exchanges Dask's handshake and asks for the identity,
    all within ``timeout`` seconds, and turns every failure into one
    :class:`ClusterError`.

    Parameters
    ----------
    address : str
        ``tcp://host:port`` (or another Dask address).
    timeout : float or None
        Seconds for the whole exchange; None is :data:`CONNECT_TIMEOUT_S`.

    Returns
    -------
    dict
        The scheduler's identity (``type``, ``id``, ``workers``...).

    Raises
    ------
    ClusterError
        Nothing answers, something other than a Dask scheduler answers, or
        it answers too slowly.
    """
    from distributed.comm import connect
    from distributed.security import Security

    timeout = CONNECT_TIMEOUT_S if timeout is None else float(timeout)
    connection_args = Security().get_connection_args("client")

    async def identify():
        comm = await connect(address, timeout=timeout, **connection_args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    fix = "check --scheduler: it takes the address the scheduler prints (tcp://host:8786)"
    try:
        identity = _run_bounded(identify, timeout)
    except (TimeoutError, asyncio.TimeoutError):
        raise ClusterError(
            f"no Dask scheduler answered at {address} within {timeout:g} s: nothing, or "
            f"another kind of server, listens there; {fix}"
        ) from None
    except (MemoryError, OverflowError, ValueError, TypeError, KeyError) as exc:
        # The peer's first bytes read as a Dask frame length: exabytes for "HTTP/1.1".
        raise ClusterError(
            f"{address} is not a Dask scheduler: it answered in another protocol "
            f"({type(exc).__name__}); {fix}"
        ) from exc
    except OSError as exc:
        raise ClusterError(
            f"cannot connect to a Dask scheduler at {address}: {exc}; {fix}"
        ) from exc
    except Exception as exc:  # any other failure of the exchange: still not a scheduler
        raise ClusterError(
            f"{address} did not answer as a Dask scheduler ({type(exc).__name__}: {exc}); {fix}"
        ) from exc
    kind = identity.get("type") if isinstance(identity, dict) else None
    if kind != "Scheduler":
        raise ClusterError(f"{address} answered as a Dask {kind or 'peer'}, not a scheduler; {fix}")
    return identity


class _Watchdog(threading.Thread):
    """Counts the workers every ``interval`` s; fails the run when none is left for too long.

    Dask waits forever for a worker to run the tasks it holds. When the
    cluster, once it had a worker, has had none for ``no_worker_s`` seconds,
    the watchdog records why and cancels the client's tasks, which ends every
    wait on them; :func:`cluster` then raises :class:`ClusterError` with the
    reason. (Before the first worker, joblib's own wait for one applies: a
    batch system's workers may queue for a while.)
    """

    def __init__(self, client, name: str, no_worker_s: float, interval: float) -> None:
        super().__init__(name="fersk-dask-watchdog", daemon=True)
        self.client = client
        self.cluster_name = name
        self.no_worker_s = no_worker_s
        self.interval = interval
        self.failure: str | None = None
        self._done = threading.Event()

    def run(self) -> None:
        alone_since, seen = None, False  # armed by a first worker: a batch job may queue first
        while not self._done.wait(self.interval):
            if self.client.status != "running":
                alone_since = None  # the connection itself: the client ends its waits
                continue
            try:
                workers = len(self.client.nthreads())
            except Exception:  # the scheduler went away between two looks
                continue
            now = time.monotonic()
            seen = seen or workers > 0
            if workers or not seen:
                alone_since = None
            elif alone_since is None:
                alone_since = now
            elif now - alone_since >= self.no_worker_s:
                self.failure = (
                    f"every Dask worker of {self.cluster_name} is gone: none for "
                    f"{self.no_worker_s:g} s, so the run cannot finish. Images already "
                    "done are in the cache (memory=/--cache): start workers and run again "
                    "to resume"
                )
                self._cancel()
                return

    def _cancel(self) -> None:
        """End every wait on the client's tasks, as the client does when it loses its scheduler."""
        client, message = self.client, self.failure

        def cancel_all() -> None:
            for state in list(client.futures.values()):
                state.cancel(reason="fersk-no-workers", msg=message)

        with contextlib.suppress(Exception):  # a client closing meanwhile ends the waits itself
            client.loop.add_callback(cancel_all)

    def stop(self) -> None:
        self._done.set()


def _lost_connection(client, name: str) -> str | None:
    """Why the run cannot go on, if the client has lost its scheduler (None: it has not)."""
    if client.status in ("running", "newly-created"):
        return None
    return (
        f"lost the connection to the Dask scheduler at {name} (it stopped, or the network "
        "failed). Images already done are in the cache (memory=/--cache): restart the "
        "scheduler and run again to resume"
    )


def _in_worker_bootstrap() -> bool:
    """Whether this process is a spawned child importing the main script again.

    A process started with 'spawn' (Dask's workers) runs the parent's main
    script as ``__mp_main__`` before it becomes the process's ``__main__``: a
    ``cluster()`` reached meanwhile is one the script did not guard.
    """
    script = sys.modules.get("__mp_main__")
    return script is not None and sys.modules.get("__main__") is not script


@contextlib.contextmanager
def cluster(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    verbose: bool = True,
) -> Iterator:
    """Connect to a Dask scheduler (or start a local cluster) and send fersk's work to it.

    Parameters
    ----------
    scheduler : str or None
        A scheduler address (``tcp://host:8786``), or a ``dask-jobqueue`` /
        ``dask-kubernetes`` cluster object. None starts a
        ``distributed.LocalCluster`` of ``n_workers`` processes: in a script,
        call it under ``if __name__ == "__main__":`` (the worker processes
        import the script again).
    n_workers : int or None
        Worker processes of the local cluster (None: one per core).
    threads_per_worker : int, default=1
        Threads per local worker (dlib and OpenCV are fastest with one
        process per core).
    verbose : bool, default=True
        Print the dashboard link to stderr.

    Yields
    ------
    distributed.Client
        Inside the block, ``joblib.parallel_config(backend="dask")`` is active:
        every fersk image step and every scikit-learn search sends its tasks
        to this cluster.

    Raises
    ------
    ClusterError
        In bounded time, with what to do: no Dask scheduler answers at
        ``scheduler`` within :data:`CONNECT_TIMEOUT_S` (nothing listens, or
        another kind of server does); the local workers cannot start (a
        script without the ``__main__`` guard); inside the block, no worker
        is left for :data:`NO_WORKER_TIMEOUT_S`, or the scheduler is lost.
        Finished images stay in the cache.

    See Also
    --------
    joblib.parallel_config : The backend setting active inside the block.
    distributed.LocalCluster : The local cluster started when ``scheduler`` is None.
    fersk._core.batch.map_images : The per-image work that goes to the cluster.

    Examples
    --------
    >>> from fersk import LandmarkExtractor
    >>> from fersk._core.distributed import cluster
    >>> if __name__ == "__main__":  # doctest: +SKIP
    ...     with cluster(n_workers=2) as client:
    ...         X = LandmarkExtractor(5, detector="none").transform(images)
    """
    _require()
    import joblib
    from distributed import Client, LocalCluster

    if _in_worker_bootstrap():
        raise ClusterError(f"cluster() was called while a worker process started: {_GUARD_FIX}")
    local = None
    if scheduler is None:
        try:
            local = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                dashboard_address=":0",
            )
        except RuntimeError as exc:
            if "failed to start" not in str(exc):
                raise
            raise ClusterError(
                f"the Dask worker processes failed to start ({exc}): {_GUARD_FIX}"
            ) from exc
        client = Client(local)
        name = "the local cluster"
    else:  # an address, or a cluster object (dask-jobqueue's SLURMCluster, a KubeCluster...)
        name = scheduler if isinstance(scheduler, str) else type(scheduler).__name__
        if isinstance(scheduler, str):
            check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            raise ClusterError(f"cannot connect to the Dask scheduler at {name}: {exc}") from exc
    watchdog = _Watchdog(client, name, NO_WORKER_TIMEOUT_S, WATCH_INTERVAL_S)
    try:
        if verbose:
            link = dashboard_link(client)
            workers = len(client.scheduler_info().get("workers", {}))
            print(
                f"Dask: {workers} workers at {client.scheduler.address}"
                + (f"; dashboard {link}" if link else ""),
                file=sys.stderr,
            )
        watchdog.start()
        config = {"backend": "dask", "n_jobs": -1, "wait_for_workers_timeout": NO_WORKER_TIMEOUT_S}
        with joblib.parallel_config(**config):
            yield client
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        reason = watchdog.failure or _lost_connection(client, name)
        if reason is None and "has no worker after" in str(exc):  # joblib's wait for a worker
            reason = (
                f"no Dask worker is connected to {name}: none came within "
                f"{NO_WORKER_TIMEOUT_S:g} s; start workers (dask worker ADDRESS) and run again"
            )
        if reason is None:
            raise
        raise ClusterError(reason) from exc
    finally:
        watchdog.stop()
        with contextlib.suppress(Exception):  # a lost scheduler: closing may fail, not hang
            client.close(timeout=CONNECT_TIMEOUT_S)
        if local is not None:
            local.close()


def optional_cluster(
    scheduler: str | None = None, *, n_workers: int | None = None
) -> contextlib.AbstractContextManager:
    """:func:`cluster` when a scheduler or a number of local workers is given, else nothing.

    What a command's ``--scheduler`` and ``--n-workers`` ask for: neither runs
    the work here, as usual.

    Parameters
    ----------
    scheduler : str or None, default=None
        As for :func:`cluster`.
    n_workers : int or None, default=None
        As for :func:`cluster`.

    Returns
    -------
    context manager
        :func:`cluster`'s, or one that does nothing (yielding None).

    Examples
    --------
    >>> with optional_cluster() as client:
    ...     print(client)
    None
    """
    if scheduler is None and n_workers is None:
        return contextlib.nullcontext()
    return cluster(scheduler, n_workers=n_workers)
