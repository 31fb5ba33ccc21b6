"""fersk.landmarks.dlib_backend: dlib's shape predictors, shipped or one of your own, loaded
once per file; a file that is no predictor is named."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fersk.landmarks import dlib_backend
from fersk.landmarks.dlib_backend import DlibLandmarker
from fersk.landmarks.models import dlib_model_path
from tests.conftest import ASTRONAUT_FACE_BOX


def test_a_predictor_of_your_own_places_the_points_it_was_trained_to(face_rgb, tmp_path):
    own = tmp_path / "my_predictor.dat"
    shutil.copy(dlib_model_path("5"), own)
    shipped = DlibLandmarker(5)(face_rgb)
    mine = DlibLandmarker(5, predictor_path=str(own))
    assert mine.model_path == str(own)
    np.testing.assert_array_equal(mine(face_rgb), shipped)
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    points = shipped.reshape(5, 2)
    assert (points[:, 0] > left).all() and (points[:, 0] < right).all()
    assert (points[:, 1] > top).all() and (points[:, 1] < bottom).all()


def test_each_file_is_loaded_once_and_a_gone_file_is_named(tmp_path):
    own = tmp_path / "once.dat"
    shutil.copy(dlib_model_path("5"), own)
    before = dlib_backend._shape_predictor.cache_info().misses
    for _ in range(3):
        DlibLandmarker(5, predictor_path=str(own)).load()
    assert dlib_backend._shape_predictor.cache_info().misses == before + 1
    own.unlink()  # checked at every load: the loaded model is cached, the file is not
    with pytest.raises(ValueError, match="once.dat' does not exist"):
        DlibLandmarker(5, predictor_path=str(own)).load()


def test_a_predictor_of_another_number_of_points_is_refused(face_rgb):
    wrong = DlibLandmarker(68, predictor_path=dlib_model_path("5"))
    with pytest.raises(ValueError, match="gives 5 points, not n_landmarks=68"):
        wrong(face_rgb)
