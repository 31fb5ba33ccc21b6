"""The study recipe: train (optionally tuned), save as a model folder, evaluate across classes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fersk.datasets import make_sample_faces, split_dataset
from fersk.features.routing import ClarityRoutedClassifier
from fersk.models import load_model, save_model
from fersk.recipes.study import (
    TUNE_FOLDS,
    NothingUsableError,
    evaluate_model,
    train_study_model,
    write_evaluation_report,
)


@pytest.fixture(scope="module")
def faces():
    """56 sample faces: 4 subjects x 7 emotions x 2 blurs; 3 subjects train, 1 tests."""
    return make_sample_faces(n_subjects=4, n_intensities=1, blur_sigmas=(0.0, 2.0))


@pytest.fixture(scope="module")
def routed(faces):
    """The routed study model, trained on the train subjects (names as labels)."""
    X, y, groups, names, _ = split_dataset(faces, "train")
    said = []
    model = train_study_model(
        X, np.asarray(names)[y], groups, n_landmarks=5, detector="none", say=said.append
    )
    return model, said


def test_the_routed_model_is_fitted_and_stored_as_data(routed, faces, tmp_path):
    model, said = routed
    assert said == ["fitting: landmarks of every image (a bar for long runs), then the classifier"]
    assert isinstance(model[-1], ClarityRoutedClassifier)
    assert model.classes_.tolist() == sorted(faces.target_names)
    X, *_ = split_dataset(faces, "test")
    folder = save_model(model, tmp_path / "study")
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.npz"]
    np.testing.assert_allclose(load_model(folder).predict_proba(X), model.predict_proba(X))


def test_tuning_searches_the_grid_and_says_what_it_found(faces, capsys):
    X, y, groups, names, _ = split_dataset(faces, "train")
    said = []
    model = train_study_model(
        X,
        np.asarray(names)[y],
        groups,
        n_landmarks=5,
        routed=False,
        detector="none",
        tune=True,
        say=said.append,
    )
    assert said[0].startswith(
        f"tuning: a GridSearchCV over the MLP's solver and learning rate ({4 * TUNE_FOLDS} fits"
    )
    assert said[1].startswith("best: {'clf__learning_rate_init': ")
    assert "GridSearchCV:" in capsys.readouterr().err  # the fits counted on a bar
    assert model.predict(X[:3]).shape == (3,)


def test_nothing_usable_is_refused(non_face, tmp_path):
    paths = []
    for k in range(6):
        paths.append(str(tmp_path / f"{k}.png"))
        cv2.imwrite(paths[-1], np.roll(non_face, 7 * k))
    with pytest.raises(
        NothingUsableError,
        match="LandmarkExtractor found nothing usable in any of the 6 training images",
    ):
        train_study_model(
            paths, ["happiness", "sadness"] * 3, n_landmarks=5, routed=False, say=lambda text: None
        )


def test_evaluate_on_data_with_other_classes(routed, faces, tmp_path):
    model, _ = routed
    X, y, _, names, _ = split_dataset(faces, "test")
    # The data calls neutral faces "contempt" (which the model lacks) and has no neutral.
    renamed = [n.replace("neutral", "contempt") for n in names]
    report, truth, predicted = evaluate_model(model, X, y, renamed)
    assert report["model_classes_not_in_data"] == ["neutral"]
    assert report["data_classes_not_in_model"] == ["contempt"]
    assert truth.tolist() == [renamed[k] for k in y]
    np.testing.assert_array_equal(predicted, model.predict(X))
    assert report["overall"]["war"] == pytest.approx(np.mean(predicted == truth))
    assert report["per_class_recall"]["contempt"] == 0.0
    assert set(report["levels"]) <= {"0", "1", "2"}  # routed: a breakdown per clarity level
    # Scored with the data's own names, the only difference is the neutral faces.
    same, *_ = evaluate_model(model, X, y, names)
    assert "model_classes_not_in_data" not in same and "data_classes_not_in_model" not in same
    n_neutral = int(np.sum(np.asarray(names)[y] == "neutral"))
    right_neutral = same["per_class_recall"]["neutral"] * n_neutral
    assert (same["overall"]["war"] - report["overall"]["war"]) * len(y) == pytest.approx(
        right_neutral
    )
    folder = write_evaluation_report(tmp_path / "report", "t", report, truth, predicted, "m")
    assert "Data classes not in model: contempt." in (folder / "report.md").read_text()


def test_evaluate_refuses_data_sharing_no_class(routed, faces):
    model, _ = routed
    X, y, *_ = split_dataset(faces, "test")
    with pytest.raises(
        ValueError,
        match=r"the model's classes \(anger, .*\) and the data's "
        r"\(a, b, c, d, e, f, g\) share none",
    ):
        evaluate_model(model, X, y, list("abcdefg"))
