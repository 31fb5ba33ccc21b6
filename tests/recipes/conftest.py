"""Shared fixtures of the recipes' tests: the shipped FER+ CNN, and posed sets to learn from."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils import Bunch


@pytest.fixture(scope="module")
def cnn():
    from fersk.models import load_model

    return load_model("cnn-ferplus")


@pytest.fixture(scope="module")
def posed_sets(cnn):
    """'FER+' rows (every class, 5 each; ``X`` as the net takes them, (40, 1, 48, 48)) and two
    posed sets of synthetic people with ids."""
    from fersk.datasets.synthetic import make_sample_faces

    rng = np.random.default_rng(0)
    X_train = rng.integers(0, 256, size=(40, 1, 48, 48), dtype=np.uint8)
    y_train = np.repeat(np.asarray(cnn.classes_), 5)
    sets = []
    for seed in (0, 1):
        data = make_sample_faces(n_subjects=4, n_intensities=1, blur_sigmas=(0.0,),
                                 image_size=48, random_state=seed)  # fmt: skip
        sets.append(Bunch(crops=list(data.data), y=np.asarray(data.target_names)[data.target],
                          groups=np.asarray(data.subject)))  # fmt: skip
    return Bunch(X=X_train, y=y_train, sets=sets)
