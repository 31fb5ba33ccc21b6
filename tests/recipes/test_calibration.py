"""fersk.recipes.calibration: faces by person as ``fersk predict`` sees them, calibration
learned on people, leave-one-person-out measured without the person scored."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.utils import Bunch

from fersk.features.calibration import PersonCalibratedClassifier
from fersk.recipes.calibration import (
    across_sets,
    fit_calibration,
    leave_one_person_out,
    person_faces,
    photo_faces,
)

LABELS = ["neutral", "happiness", "sadness", "surprise"]


@pytest.fixture(scope="module")
def people(person_photos):
    """Four 'people' of four photos each, one of them neutral, as a loader's Bunch would be."""
    files, target, subject = [], [], []
    for person in ("ann", "bob"):
        for k in range(4):
            files.append(str(person_photos / f"{person}_{k}.jpg"))
            target.append(k)
            subject.append(person)
    files.append(str(person_photos / "wall.png"))  # no face: kept out, said so
    target.append(0)
    subject.append("ann")
    return Bunch(data=files, target=np.array(target), target_names=LABELS, subject=subject)


@pytest.fixture(scope="module")
def model():
    from fersk.models import load_model

    return load_model("cnn-fer2013")


def test_photo_faces_crops_the_largest_face_and_flags_photos_without_one(person_photos):
    crops, found = photo_faces([person_photos / "ann_0.jpg", person_photos / "wall.png"])
    assert found.tolist() == [True, False]
    assert crops[1] is None and crops[0].ndim == 3 and min(crops[0].shape[:2]) > 100


def test_person_faces_keeps_order_and_ids_and_leaves_out_faceless_photos(people):
    faces = person_faces(people)
    assert faces.found.tolist() == [True] * 8 + [False]
    assert faces.groups.tolist() == ["ann"] * 4 + ["bob"] * 4
    assert faces.y.tolist() == LABELS * 2
    assert faces.neutral.tolist() == [True, False, False, False] * 2
    assert faces.files == people.data[:8]


def test_person_faces_needs_person_ids(people):
    with pytest.raises(ValueError, match="person ids"):
        person_faces(Bunch(**{**people, "subject": None}))


def test_fit_calibration_keeps_the_people_of_each_set_apart(people, model):
    faces = person_faces(people)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calibrated = fit_calibration(model, [faces, faces], head="offset")
    assert isinstance(calibrated, PersonCalibratedClassifier)
    assert calibrated.estimator.estimator is model
    proba = calibrated.predict_proba(faces.crops, groups=faces.groups)
    assert proba.shape == (8, len(model.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_leave_one_person_out_scores_every_photo_once_per_mode(people, model):
    faces = person_faces(people)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = leave_one_person_out(model, faces, photos=(1, 2), repeats=2, head="offset")
    truth, raw = runs["raw"]
    assert sorted(truth.tolist()) == sorted(faces.y.tolist())
    np.testing.assert_array_equal(raw, np.concatenate([
        model.predict([faces.crops[i] for i in np.flatnonzero(faces.groups == p)])
        for p in ("ann", "bob")
    ]))  # fmt: skip
    assert len(runs["mean"][0]) == 8
    assert len(runs["neutral"][0]) == 6  # each person's reference photo is not scored
    assert len(runs["mean@1"][0]) == 2 * 2 and len(runs["neutral@2"][0]) == 2 * 2 * 2
    assert set(runs["neutral"][1]) <= set(model.classes_)


def test_leave_one_person_out_never_learns_from_the_person_scored(people, model, monkeypatch):
    import fersk.recipes.calibration as recipe

    faces = person_faces(people)
    seen = []
    original = recipe.fit_calibration

    def spy(m, sets, **params):
        seen.append({g for s in sets for g in s.groups})
        return original(m, sets, **params)

    monkeypatch.setattr(recipe, "fit_calibration", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        leave_one_person_out(model, faces, head="offset")
    assert seen == [{"bob"}, {"ann"}]


def test_without_ids_the_faces_grouped_by_who_they_are_score_as_the_ids_do(two_people, model):
    files = sorted(str(p) for p in two_people.glob("*_*.jpg"))  # eileen_0..2, grace_0..2
    data = Bunch(data=files, target=np.array([0, 1, 2] * 2), target_names=LABELS,
                 subject=["eileen"] * 3 + ["grace"] * 3)  # fmt: skip
    faces = person_faces(data)
    assert faces.descriptors.shape == (6, 128) and np.isfinite(faces.descriptors).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = leave_one_person_out(model, faces, head="offset")
        across = across_sets(model, [faces], faces, head="offset")
    for modes in (runs, across):
        np.testing.assert_array_equal(modes["mean, faces grouped"][1], modes["mean"][1])
        assert modes["mean, the set as one person"][0].tolist() == modes["mean"][0].tolist()
