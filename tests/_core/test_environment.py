"""fersk._core.environment: the record of what a result was measured on."""

from __future__ import annotations

import os
import platform

import numpy as np
import sklearn

from fersk._core.environment import environment_info
from fersk._core.version import __version__


def test_the_record_names_the_machine_python_and_the_versions_that_ran():
    info = environment_info()
    assert info["python"] == platform.python_version() and info["cpu_count"] == os.cpu_count()
    assert info["cpu"] and info["machine"] == platform.platform()
    packages = info["packages"]
    assert packages["fersk"] == __version__  # the code that ran, not the installed metadata
    assert packages["numpy"] == np.__version__ and packages["scikit-learn"] == sklearn.__version__
    assert set(packages) >= {"torch", "opencv-python", "scikit-image", "joblib"}
