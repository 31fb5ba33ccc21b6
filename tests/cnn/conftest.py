"""The CNN tests' data: the 21 sample faces of ``cnn_sample`` (``tests/conftest.py``)."""

from __future__ import annotations

import pytest

#: Side of the CNN tests' images (the sample faces are written at 48 px).
SIZE = 48


@pytest.fixture(scope="module")
def sample(cnn_sample):
    """21 sample faces (3 subjects x 7 emotions) as 48 px PNG files; 2 subjects train."""
    return cnn_sample
