"""What a result was measured on: machine, Python and library versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata

__all__ = ["environment_info"]

_PACKAGES = (
    "fersk",
    "numpy",
    "scipy",
    "scikit-learn",
    "opencv-python",
    "dlib-bin",
    "face-alignment",
    "torch",
    "skorch",
    "joblib",
    "scikit-image",
)


def environment_info() -> dict:
    """Machine and versions, for benchmark and demo records.

    Examples
    --------
    >>> info = environment_info()
    >>> sorted(info)[:3]
    ['cpu', 'cpu_count', 'machine']
    >>> "numpy" in info["packages"]
    True
    """
    from .version import __version__

    packages = {}
    for name in _PACKAGES:
        if name == "fersk":  # the code that ran, even from a stale editable install
            packages[name] = __version__
            continue
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "machine": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "packages": packages,
    }
