"""fersk.landmarks.models: the offline dlib model files, found without importing their package."""

from __future__ import annotations

import os

import pytest

from fersk.landmarks.models import MODEL_FILES, dlib_model_path


@pytest.mark.parametrize("name", sorted(MODEL_FILES))
def test_each_shipped_model_file_is_found(name):
    path = dlib_model_path(name)
    assert os.path.isfile(path) and os.path.basename(path) == MODEL_FILES[name]
    assert os.path.getsize(path) > 50_000  # a model, not a placeholder


def test_an_unknown_model_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown dlib model '49'; expected one of \['5', '68'"):
        dlib_model_path("49")
