"""Small fitted models of every kind the shipped models are made of (built once per module)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk import CNNPreprocessor, LandmarkExtractor, PairwiseDistance, SubjectNeutralizer
from fersk._core.pipeline_tools import combine_fitted
from fersk.cnn import CNNClassifier, CompactCNN, TrainAugmentation
from fersk.datasets import make_sample_faces


@pytest.fixture(scope="module")
def faces():
    data = make_sample_faces(n_subjects=3, n_intensities=1, blur_sigmas=(0.0,), image_size=64)
    data.y = np.asarray(data.target_names)[data.target]
    return data


@pytest.fixture(scope="module")
def small_models(faces, one_thread):
    geometry = Pipeline(
        [
            ("landmarks", LandmarkExtractor(68, detector="none")),
            ("distances", PairwiseDistance()),
            ("subject", SubjectNeutralizer("neutral", method="recenter", shrinkage=5.0,
                                           missing_groups="population")),
            ("impute", SimpleImputer()),
            ("scale", StandardScaler()),
            ("clf", MLPClassifier((16,), max_iter=200, random_state=0)),
        ]
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geometry.fit(faces.data, faces.y)
    net = CNNClassifier(
        CompactCNN,
        max_epochs=1,
        optimizer=torch.optim.AdamW,
        schedule="onecycle",
        criterion__label_smoothing=0.1,
        iterator_train__collate_fn=TrainAugmentation(max_rotation=15, max_scale=0.1),
        train_split=None,
        tta=True,
    )
    cnn = make_pipeline(CNNPreprocessor(48, dtype="uint8"), net).fit(faces.data, faces.y)
    fusion = combine_fitted([("cnn", cnn), ("landmarks", geometry)], weights=[0.7, 0.3])
    return {"geometry": geometry, "cnn": cnn, "fusion": fusion}
