"""A content-addressed on-disk cache for per-image features.

Landmark extraction is the slow step of every fersk pipeline. Caching its
result per image (keyed on the image's *content*, not its path, and on the
extractor's settings) lets ``GridSearchCV`` refit downstream steps many times
while extracting each image once, across folds, processes and sessions.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

__all__ = ["CacheWarning", "FeatureCache", "resolve_cache"]


class CacheWarning(UserWarning):
    """A cache entry could not be written; the result is computed, just not stored."""


class FeatureCache:
    """Store one float vector per ``(namespace, digest)`` under a directory.

    Each entry is a small ``.npy`` file written atomically, so concurrent
    workers and an interrupted run never leave a half-written entry behind.
    Reading trusts nothing: an entry that is not a plain ``.npy`` file of
    floats of the expected length, all finite or all NaN (fersk's "no face"
    marker), is a miss (empty or truncated files, ``.npz`` archives, strings,
    integers, complex, ``inf`` or partly NaN values, a folder in its place),
    and the next :meth:`put` replaces it.

    Many processes may share one cache, also on many machines: on a shared
    filesystem path (NFS, Lustre...) each entry is written to a temporary file
    in its own folder and renamed into place; with an fsspec URL
    (``s3://bucket/cache``, ``gcs://...``, ``memory://...``; needs ``fsspec``
    and the protocol's package) each entry is one whole-object write, which
    object stores make atomic. Either way a reader never sees half an entry,
    and an interrupted run, local or distributed, loses nothing finished.

    Parameters
    ----------
    location : str or path-like
        Directory (or fsspec URL) of the cache; created on first write.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> cache.get("landmarks-v1", "ab12") is None
    True
    >>> cache.put("landmarks-v1", "ab12", np.array([1.0, 2.0]))
    >>> cache.get("landmarks-v1", "ab12")
    array([1., 2.])
    >>> cache.put("landmarks-v1", "cd34", np.array([1.0, np.nan]))  # partly NaN: not trusted
    >>> cache.get("landmarks-v1", "cd34") is None
    True
    """

    def __init__(self, location: str | os.PathLike) -> None:
        text = os.fspath(location)
        self.url = text if "://" in text and not text.startswith("file://") else None
        if text.startswith("file://"):
            text = text[len("file://") :]
        self.location = Path(text) if self.url is None else text.rstrip("/")

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.url or self.location)!r})"

    def __getstate__(self) -> dict:
        return {"location": self.url or str(self.location)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["location"])

    @property
    def _fs(self):
        """The fsspec filesystem of a URL cache (opened lazily, once per process)."""
        fs = self.__dict__.get("_filesystem")
        if fs is None:
            try:
                import fsspec
            except ImportError:
                raise ImportError(
                    f"the feature cache {self.url!r} is a URL: pip install fsspec (and the "
                    "package of its protocol, e.g. s3fs)"
                ) from None
            fs, _ = fsspec.core.url_to_fs(self.url)
            self.__dict__["_filesystem"] = fs
        return fs

    def _key(self, namespace: str, digest: str) -> str:
        return f"{namespace}/{digest[:2]}/{digest}.npy"

    def _path(self, namespace: str, digest: str) -> Path:
        return self.location / self._key(namespace, digest)

    def _read(self, namespace: str, digest: str) -> bytes:
        if self.url is not None:
            return self._fs.cat_file(f"{self.location}/{self._key(namespace, digest)}")
        with open(self._path(namespace, digest), "rb") as fh:
            return fh.read()

    def get(self, namespace: str, digest: str, size: int | None = None) -> np.ndarray | None:
        """Return the stored vector, or ``None`` for a miss.

        Parameters
        ----------
        namespace, digest : str
            The entry's key.
        size : int or None
            The expected length; an entry of another shape is a miss.

        Returns
        -------
        ndarray of float64 or None
            ``None`` when the entry is absent or not a valid entry (see the
            class description).
        """
        try:
            value = np.load(io.BytesIO(self._read(namespace, digest)), allow_pickle=False)
        except Exception:  # absent, a folder, empty, torn, not .npy, pickled objects
            return None
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or value.ndim != 1:
            return None
        if size is not None and value.shape != (size,):
            return None
        finite = np.isfinite(value)
        if not (finite.all() or np.isnan(value).all()):
            return None
        return value.astype(np.float64, copy=False)

    def put(self, namespace: str, digest: str, value: np.ndarray) -> None:
        """Store ``value`` (atomically replacing any previous entry).

        A cache that cannot be written (read-only, a file where a folder
        should be) gives a :class:`CacheWarning`, not an error: the caller
        has its result, it is only not stored.
        """
        if self.url is not None:
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(value, dtype=np.float64), allow_pickle=False)
            try:  # one whole-object write: atomic on object stores
                self._fs.pipe_file(
                    f"{self.location}/{self._key(namespace, digest)}", buffer.getvalue()
                )
            except OSError as exc:
                warnings.warn(
                    f"cannot write to the feature cache {self.url!r} ({exc}); results are "
                    "computed but not cached",
                    CacheWarning,
                    stacklevel=2,
                )
            return
        path = self._path(namespace, digest)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.asarray(value, dtype=np.float64), allow_pickle=False)
            if path.is_dir() and not path.is_symlink():  # a folder squatting on the entry
                shutil.rmtree(path, ignore_errors=True)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            warnings.warn(
                f"cannot write to the feature cache {str(self.location)!r} ({exc}); "
                "results are computed but not cached",
                CacheWarning,
                stacklevel=2,
            )
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def __len__(self) -> int:
        if self.url is not None:
            return len(self._fs.glob(f"{self.location}/*/*/*.npy"))
        return sum(1 for _ in self.location.glob("*/*/*.npy"))


def resolve_cache(memory: object) -> FeatureCache | None:
    """Turn a ``memory`` parameter into a :class:`FeatureCache` (or ``None``).

    Accepts ``None`` (no caching), a directory path, a :class:`joblib.Memory`
    (its ``location`` is used) or a :class:`FeatureCache`, like the ``memory``
    parameter of :class:`sklearn.pipeline.Pipeline`.

    Examples
    --------
    >>> import joblib, tempfile
    >>> resolve_cache(None) is None
    True
    >>> d = tempfile.mkdtemp()
    >>> resolve_cache(joblib.Memory(d, verbose=0)).location.name == "fersk"
    True
    """
    if memory is None:
        return None
    if isinstance(memory, FeatureCache):
        return memory
    if isinstance(memory, (str, os.PathLike)):
        if not os.fspath(memory):
            raise ValueError(
                "memory='' names no folder; pass None (no cache) or a cache folder path"
            )
        if os.path.isfile(memory):
            raise ValueError(
                f"memory={os.fspath(memory)!r} is a file; the cache needs a folder (or None)"
            )
        return FeatureCache(memory)
    location = getattr(memory, "location", None)
    if location is not None:
        # Keep fersk's entries apart from joblib's own function caches.
        return FeatureCache(Path(location) / "fersk")
    if hasattr(memory, "location"):  # joblib.Memory(None): caching disabled
        return None
    raise TypeError(
        "memory must be None, a directory path, a joblib.Memory or a FeatureCache, "
        f"got {type(memory).__name__}"
    )
