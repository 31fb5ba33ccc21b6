"""The study recipe: train (optionally tuned), save as a model folder, evaluate across classes."""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from fersk.datasets import load_dataset, make_sample_faces, split_dataset
from fersk.features.routing import ClarityRoutedClassifier
from fersk.models import load_model, save_model
from fersk.recipes.study import (
    TUNE_FOLDS,
    NothingUsableError,
    class_notes,
    evaluate_model,
    load_split,
    train_and_save,
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


def test_class_notes_name_the_classes_only_one_side_has():
    report = {"model_classes_not_in_data": ["neutral"], "data_classes_not_in_model": ["a", "b"]}
    assert class_notes(report) == [
        "the model's classes neutral are not in the data (answering one is an error)",
        "the data's classes a, b are not the model's (their images are all errors)",
    ]
    assert class_notes({"overall": {}}) == []


def test_load_split_is_split_dataset_of_the_folder_naming_it_in_errors(tmp_path, monkeypatch):
    from sklearn.utils import Bunch

    root = tmp_path / "faces"
    make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,), out_dir=root)
    X, y, groups, names, how = load_split(root, "test", test_size=0.5, seed=1)
    expected = split_dataset(load_dataset(root), "test", test_size=0.5, seed=1)
    assert list(X) == list(expected[0]) and list(y) == list(expected[1]) and how == expected[-1]
    with pytest.raises(ValueError, match="^dataset '.*nope' does not exist$"):
        load_split(str(tmp_path / "nope"), "train")
    names = {"test_size": "--test-size", "seed": "--split-seed", "max_samples": "--max-train"}
    with pytest.raises(ValueError, match=f"^{re.escape(str(root))}: --max-train 3 is fewer"):
        load_split(root, "train", test_size=0.5, max_samples=3, names=names)
    clip = tmp_path / "clips" / "c1"
    clip.mkdir(parents=True)
    monkeypatch.setattr(
        "fersk.datasets.load_dataset", lambda r: Bunch(data=[str(clip)], target=[0])
    )
    with pytest.raises(ValueError, match="holds video clips .* fit and score image models"):
        load_split(clip.parent, "train")


def test_train_and_save_says_each_phase_timed_and_saves_the_folder(faces, tmp_path, monkeypatch):
    X, y, groups, names, _ = split_dataset(faces, "train")
    said, folder = [], str(tmp_path / "fer-model")
    options = {"n_landmarks": 5, "routed": False, "detector": "none", "source": "faces"}
    model = train_and_save(X, y, groups, names, folder, say=said.append, **options)
    assert re.fullmatch(rf"\[ +0\.\d s\] training on {len(y)} images \(anger, .*\)", said[0])
    assert said[-1].endswith(f" s] saved {folder}") and len(said) == 3
    document = json.loads((tmp_path / "fer-model" / "model.json").read_text())
    assert document["description"] == f"fersk train on faces: {len(y)} images, 5 landmarks, one MLP"
    np.testing.assert_allclose(load_model(folder).predict_proba(X), model.predict_proba(X))

    def unsaveable(*args, **kwargs):
        raise TypeError("no format for this step")

    monkeypatch.setattr("fersk.models.save_model", unsaveable)
    with pytest.raises(ValueError, match=r"^--model '.*': the fitted pipeline cannot be saved \("):
        train_and_save(X, y, groups, names, folder, what="--model", say=said.append, **options)
