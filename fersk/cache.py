"""A content-addressed on-disk cache for per-image features.

Landmark extraction is the slow step of every fersk pipeline. Caching its
result per image (keyed on the image's *content*, not its path, and on the
extractor's settings) lets ``GridSearchCV`` refit downstream steps many times
while extracting each image once, across folds, processes and sessions.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["FeatureCache", "resolve_cache"]


class FeatureCache:
    """Store one float vector per ``(namespace, digest)`` under a directory.

    Each entry is a small ``.npy`` file written atomically, so concurrent
    workers and an interrupted run never leave a half-written entry behind.

    Parameters
    ----------
    location : str or path-like
        Directory of the cache; created on first write.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> cache.get("landmarks-v1", "ab12") is None
    True
    >>> cache.put("landmarks-v1", "ab12", np.array([1.0, np.nan]))
    >>> cache.get("landmarks-v1", "ab12")
    array([ 1., nan])
    """

    def __init__(self, location: str | os.PathLike) -> None:
        self.location = Path(location)

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.location)!r})"

    def _path(self, namespace: str, digest: str) -> Path:
        return self.location / namespace / digest[:2] / f"{digest}.npy"

    def get(self, namespace: str, digest: str) -> np.ndarray | None:
        """Return the stored vector, or ``None`` when absent or unreadable."""
        try:
            return np.load(self._path(namespace, digest), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, namespace: str, digest: str, value: np.ndarray) -> None:
        """Store ``value`` (atomically replacing any previous entry)."""
        path = self._path(namespace, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.asarray(value, dtype=np.float64), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
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
