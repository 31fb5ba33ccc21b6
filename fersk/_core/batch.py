"""Apply a per-image function to a batch: in order, in parallel, cached, with progress.

This is the one loop behind :class:`~fersk.LandmarkExtractor` and
:class:`~fersk.ClarityBinner`. Its guarantees:

* one output row per input, in input order: a failed sample is a NaN row
  (or an error naming the sample), never a dropped or shifted one;
* with a cache, every finished sample is stored as soon as its chunk is done,
  so an interrupted run (Ctrl-C) loses nothing and the next run resumes;
* ``n_jobs`` workers via joblib, and a tqdm bar for long batches.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ..io import (
    ChannelOrder,
    Color,
    ImageReadError,
    ImageSource,
    decode_image_bytes,
    describe_source,
    read_file_bytes,
    read_image,
    source_digest,
)
from .cache import FeatureCache

__all__ = [
    "Failure",
    "FaceNotFoundError",
    "ImageFunction",
    "SampleError",
    "as_image_list",
    "as_sample_list",
    "map_images",
    "progress_bar",
]

OnFailure = Literal["nan", "raise"]

#: Batches at least this long may show a progress bar when ``progress="auto"``...
PROGRESS_MIN_SAMPLES = 200
#: ...once they have run this many seconds (cached batches finish before it).
PROGRESS_DELAY_S = 2.0


class SampleError(ValueError):
    """A sample could not be processed; ``reason`` is a short machine-readable code."""

    reason = "error"


class FaceNotFoundError(SampleError):
    """No face was found in an image."""

    reason = "no_face"


@dataclass(frozen=True)
class Failure:
    """One sample that produced a NaN row.

    Attributes
    ----------
    index : int
        Position of the sample in the batch.
    source : str
        Short description of the sample (its path, or an array's shape).
    reason : str
        ``"no_face"`` or ``"unreadable"``.
    message : str
        The full explanation.
    """

    index: int
    source: str
    reason: str
    message: str


class ImageFunction(Protocol):
    """A picklable per-image computation that :func:`map_images` can run.

    It reads images in ``color`` layout, returns ``n_outputs`` floats per
    image, raises :class:`SampleError` for a sample it cannot handle, and
    names its settings in ``cache_namespace`` (different settings must give
    different namespaces).
    """

    color: Color
    n_outputs: int
    cache_namespace: str

    def __call__(self, image: np.ndarray) -> np.ndarray: ...


_KINDS: dict[str, dict] = {
    # item: what one sample is; ndim: dimensions of one gray array sample;
    # types: what a list element may be.
    "image": {
        "item": "image",
        "plural": "images (paths or arrays)",
        "stack": "(n, H, W) or (n, H, W, C)",
        "ndim": 2,
        "types": (str, os.PathLike, np.ndarray),
        "each": "an image path or an image array",
    },
    "clip": {
        "item": "clip",
        "plural": "clips",
        "stack": "(n, T, H, W) or (n, T, H, W, C)",
        "ndim": 3,
        "types": (str, os.PathLike, np.ndarray, list, tuple),
        "each": "a frame folder, a video path, an array (T, H, W[, C]) or a list of frames",
    },
}


def as_sample_list(X: object, *, kind: str = "image", name: str = "X") -> list:
    """Validate a batch of images (or clips) and return it as a list, in order.

    The one normaliser of fersk's batch inputs. Accepted: a list, tuple,
    iterator, 1-D object or string array or pandas Series of samples, a
    one-column DataFrame of them, or a stacked numeric array (``(n, H, W)`` /
    ``(n, H, W, C)`` of equal-size images; ``(n, T, H, W[, C])`` of clips).
    Refused with a message that says what to do: a single sample passed bare
    (a path, an image ``(H, W)`` or ``(H, W, C)``, a clip ``(T, H, W, C)``),
    unordered containers (``set``, ``dict``), and elements of other types.

    Parameters
    ----------
    X : object
        The batch.
    kind : {"image", "clip"}
        What one sample is.
    name : str
        The argument's name, for messages.

    Returns
    -------
    list

    Examples
    --------
    >>> import numpy as np
    >>> len(as_sample_list(np.zeros((3, 8, 8), dtype=np.uint8)))
    3
    >>> as_sample_list(["a.png", "b.png"])
    ['a.png', 'b.png']
    >>> as_sample_list(np.zeros((8, 8, 3), dtype=np.uint8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X is a single image of shape (8, 8, 3), not a batch: a single image must be ...
    """
    spec = _KINDS[kind]
    item, base = spec["item"], spec["ndim"]
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"{name} is a DataFrame with {X.shape[1]} columns; expected one column of "
                f"{spec['plural']}"
            )
        X = X.iloc[:, 0]
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # Series
        X = list(X.to_numpy())
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{name} must be a sequence of {spec['plural']}, got a single "
            f"{type(X).__name__}; wrap it in a list"
        )
    if isinstance(X, (set, frozenset, Mapping)):
        raise TypeError(
            f"{name} is a {type(X).__name__}, which has no order: results could not be matched "
            f"to samples. Pass a list of {spec['plural']}"
        )
    if isinstance(X, np.ndarray):
        if X.dtype == object or X.dtype.kind in "US":
            if not (X.ndim == 1 or (X.ndim == 2 and X.shape[1] == 1)):
                raise ValueError(
                    f"{name}: an array of {spec['plural']} must be 1-D, got shape {X.shape}"
                )
            if X.dtype.kind == "S":  # byte strings: file names as the OS gives them
                return [os.fsdecode(x) for x in X.ravel()]
            return [str(x) if X.dtype.kind == "U" else x for x in X.ravel()]
        single = X.ndim == base or (X.ndim == base + 1 and X.shape[-1] in (1, 3, 4))
        if single and X.ndim >= 2:
            raise ValueError(
                f"{name} is a single {item} of shape {X.shape}, not a batch: a single "
                f"{item} must be wrapped in a list ([{item}])"
            )
        if X.ndim in (base + 1, base + 2):
            return list(X)
        raise ValueError(
            f"{name} is a numeric array of shape {X.shape}: expected a stack of {item}s "
            f"{spec['stack']}, or a list of {spec['plural']}. A single {item} must be "
            "wrapped in a list."
        )
    if not isinstance(X, Sequence):
        try:
            X = list(X)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(
                f"{name} must be a sequence of {spec['plural']}, got {type(X).__name__}"
            ) from None
    items = list(X)
    for i, sample in enumerate(items):
        if not isinstance(sample, spec["types"]):
            raise TypeError(
                f"{name}[{i}] is a {type(sample).__name__}; each sample must be {spec['each']}"
            )
    return items


def as_image_list(X: object, *, name: str = "X") -> list[ImageSource]:
    """Validate a batch of images and return it as a list of sources.

    :func:`as_sample_list` with ``kind="image"``.

    Examples
    --------
    >>> import numpy as np
    >>> len(as_image_list(np.zeros((3, 8, 8), dtype=np.uint8)))
    3
    """
    return as_sample_list(X, kind="image", name=name)


def _process_one(
    func: ImageFunction,
    source: ImageSource,
    channel_order: ChannelOrder,
    cache: FeatureCache | None,
    namespace: str,
) -> tuple[np.ndarray, str | None, str | None]:
    """Return ``(row, reason, message)``; reason is None on success."""
    nan_row = np.full(func.n_outputs, np.nan)
    try:
        if isinstance(source, np.ndarray):
            digest = source_digest(source, channel_order) if cache is not None else None
            load = lambda: read_image(source, color=func.color, channel_order=channel_order)  # noqa: E731
        else:
            data = read_file_bytes(source)
            digest = source_digest(source, data=data) if cache is not None else None
            load = lambda: decode_image_bytes(data, color=func.color, name=repr(str(source)))  # noqa: E731
        if cache is not None:
            hit = cache.get(namespace, digest, func.n_outputs)
            if hit is not None:
                if np.isnan(hit).all():
                    return nan_row, FaceNotFoundError.reason, "no face found (cached result)"
                return hit, None, None
        image = load()
    except ImageReadError as exc:
        return nan_row, "unreadable", str(exc)
    try:
        row = np.asarray(func(image), dtype=np.float64)
    except SampleError as exc:
        # A NaN entry in the cache means "no face" (and is reported so when hit);
        # other sample failures depend on settings the user may change: not cached.
        if cache is not None and exc.reason == FaceNotFoundError.reason:
            cache.put(namespace, digest, nan_row)
        return nan_row, exc.reason, str(exc)
    if cache is not None:
        cache.put(namespace, digest, row)
    return row, None, None


#: On a cluster a task carries at most this many images (progress and balance)...
MAX_CLUSTER_CHUNK = 1024
#: ...and each worker gets at least this many tasks (balance across workers).
TASKS_PER_WORKER = 8


def _plan(n_jobs: int | None, n: int, chunk_size: int) -> tuple[int | None, int]:
    """``(jobs, chunk_size)``: None jobs means this process; bigger chunks on a cluster.

    The active joblib backend decides (``joblib.parallel_config``): inside
    ``parallel_config(backend="dask")`` the work goes to the Dask cluster (all
    of its workers unless ``n_jobs`` says otherwise), in chunks big enough to
    amortise the scheduler's ~1 ms per task.
    """
    from joblib.parallel import get_active_backend

    backend, config_jobs = get_active_backend()
    jobs = n_jobs if n_jobs is not None else config_jobs
    if "dask" in type(backend).__name__.lower():
        jobs = -1 if jobs is None else jobs
        workers = max(1, backend.effective_n_jobs(jobs))
        per_task = math.ceil(n / (TASKS_PER_WORKER * workers))
        return jobs, max(chunk_size, min(MAX_CLUSTER_CHUNK, per_task))
    return (None if jobs in (None, 1) else jobs), chunk_size


def _worker_chunk(func, sources, channel_order, cache):
    """:func:`_process_chunk` on a worker: there, OpenCV runs on one thread.

    The workers are the parallelism; OpenCV's own thread pool in each worker
    process oversubscribes the cores (measured on a 2-worker Dask cluster:
    2.5x slower than with one thread each). joblib's process pool limits
    OpenMP/BLAS threads but not OpenCV's; Dask limits neither. The main
    process (the threading backend) is left alone.
    """
    import multiprocessing

    if multiprocessing.parent_process() is not None:  # microseconds, once per chunk
        import cv2

        cv2.setNumThreads(1)
    return _process_chunk(func, sources, channel_order, cache)


def _process_chunk(func, sources, channel_order, cache):
    # The namespace hashes the settings (and may stat a weights file): once per chunk.
    namespace = func.cache_namespace if cache is not None else ""
    return [_process_one(func, s, channel_order, cache, namespace) for s in sources]


def progress_bar(
    total: int,
    progress: bool | str,
    *,
    desc: str,
    unit: str = "img",
    n_items: int | None = None,
):
    """A tqdm bar following fersk's ``progress`` convention.

    ``progress=True`` always shows it, ``False`` never; ``"auto"`` shows it
    for batches of at least :data:`PROGRESS_MIN_SAMPLES` items (``n_items``,
    default ``total``) once they have run :data:`PROGRESS_DELAY_S` seconds,
    so cached re-runs stay quiet.

    Examples
    --------
    >>> with progress_bar(3, "auto", desc="demo") as bar:
    ...     bar.update(3)
    >>> bar.disable  # 3 items: too few for a bar
    True
    """
    n = total if n_items is None else n_items
    show = n >= PROGRESS_MIN_SAMPLES if progress == "auto" else bool(progress)
    delay = PROGRESS_DELAY_S if progress == "auto" else 0.0
    return tqdm(total=total, desc=desc, unit=unit, disable=not show, leave=False, delay=delay)


def map_images(
    func: ImageFunction,
    images: Sequence[ImageSource],
    *,
    channel_order: ChannelOrder = "rgb",
    n_jobs: int | None = None,
    cache: FeatureCache | None = None,
    on_failure: OnFailure = "nan",
    progress: bool | Literal["auto"] = "auto",
    desc: str = "images",
    chunk_size: int = 32,
) -> tuple[np.ndarray, list[Failure]]:
    """Compute ``func`` on every image; return ``(rows, failures)``.

    Parameters
    ----------
    func : ImageFunction
        The per-image computation.
    images : sequence of image sources
        Paths or arrays (see :func:`as_image_list`).
    channel_order : {"rgb", "bgr"}
        Channel order of colour *array* sources.
    n_jobs : int or None
        Worker processes (joblib semantics: ``None`` is 1, ``-1`` all cores).
        Inside ``joblib.parallel_config(backend="dask")`` the chunks go to the
        Dask cluster's workers instead (see :func:`fersk._core.distributed.cluster`).
    cache : FeatureCache or None
        Where finished rows are stored as soon as each chunk completes.
    on_failure : {"nan", "raise"}
        A sample that cannot be read or has no face gives a NaN row and a
        :class:`Failure` record, or raises :class:`SampleError` naming it.
    progress : bool or "auto"
        Show a tqdm bar; ``"auto"`` shows it for batches of at least
        ``PROGRESS_MIN_SAMPLES`` images that take longer than
        ``PROGRESS_DELAY_S`` seconds (so cached re-runs stay quiet).
    desc : str
        Label of the progress bar.
    chunk_size : int
        Samples per task sent to a worker.

    Returns
    -------
    rows : ndarray of shape (n_samples, func.n_outputs)
    failures : list of Failure, in sample order

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.features.clarity import LaplacianVariance
    >>> rows, failures = map_images(LaplacianVariance(), [np.eye(32) * 255, np.zeros((32, 32))])
    >>> rows.shape, float(rows[1, 0]), failures
    ((2, 1), 0.0, [])
    """
    n = len(images)
    rows = np.full((n, func.n_outputs), np.nan)
    failures: list[Failure] = []
    if n == 0:
        return rows, failures
    jobs, chunk_size = _plan(n_jobs, n, chunk_size)
    n_chunks = max(1, math.ceil(n / chunk_size))
    bounds = [(i * n // n_chunks, (i + 1) * n // n_chunks) for i in range(n_chunks)]
    if jobs is None:  # in this process: no joblib machinery (it polls with sleeps)
        results_per_chunk = (
            _process_chunk(func, images[a:b], channel_order, cache) for a, b in bounds
        )
    else:
        tasks = (delayed(_worker_chunk)(func, images[a:b], channel_order, cache) for a, b in bounds)
        # In input order whatever the order in which workers finish.
        results_per_chunk = Parallel(n_jobs=jobs, return_as="generator")(tasks)
    with progress_bar(n, progress, desc=desc) as bar:
        for (a, _), results in zip(bounds, results_per_chunk):
            for offset, (row, reason, message) in enumerate(results):
                i = a + offset
                rows[i] = row
                if reason is not None:
                    failure = Failure(i, describe_source(images[i]), reason, message)
                    if on_failure == "raise":
                        raise SampleError(f"sample {i} ({failure.source}): {message}")
                    failures.append(failure)
            bar.update(len(results))
    return rows, failures
