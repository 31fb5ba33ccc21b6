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

Dask and distributed are an optional extra: ``pip install fersk[dask]``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["cluster", "dashboard_link"]


def _require():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed: pip install 'fersk[dask]'"
        ) from None


def dashboard_link(client) -> str:
    """The Dask dashboard's address for a client ('' when it has none)."""
    return getattr(client, "dashboard_link", "") or ""


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
        ``distributed.LocalCluster`` of ``n_workers`` processes.
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

    See Also
    --------
    joblib.parallel_config : The backend setting active inside the block.
    distributed.LocalCluster : The local cluster started when ``scheduler`` is None.
    fersk._core.batch.map_images : The per-image work that goes to the cluster.

    Examples
    --------
    >>> from fersk import LandmarkExtractor
    >>> from fersk._core.distributed import cluster
    >>> with cluster(n_workers=2) as client:  # doctest: +SKIP
    ...     X = LandmarkExtractor(5, detector="none").transform(images)
    """
    _require()
    import joblib
    from distributed import Client, LocalCluster

    local = None
    if scheduler is None:
        local = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=":0",
        )
        client = Client(local)
    else:  # an address, or a cluster object (dask-jobqueue's SLURMCluster, a KubeCluster...)
        client = Client(scheduler)
    try:
        if verbose:
            link = dashboard_link(client)
            workers = len(client.scheduler_info().get("workers", {}))
            print(
                f"Dask: {workers} workers at {client.scheduler.address}"
                + (f"; dashboard {link}" if link else ""),
                file=sys.stderr,
            )
        with joblib.parallel_config(backend="dask", n_jobs=-1):
            yield client
    finally:
        client.close()
        if local is not None:
            local.close()
