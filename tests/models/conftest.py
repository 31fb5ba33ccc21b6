"""The models' tests use the small fitted models of ``tests/conftest.py`` (``small_models``)
and the faces they were fitted on."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def faces(model_faces):
    """The faces ``small_models`` were fitted on."""
    return model_faces
