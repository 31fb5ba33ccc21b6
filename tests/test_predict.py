"""Photos: every face once, in order, batched; persons and neutral references calibrate rows."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.models import load_model
from fersk.predict import iter_photos, photo_columns, predict_faces
from tests.conftest import _proba


def test_one_row_per_face_in_photo_order_whatever_the_batch(person_photos):
    files = [str(person_photos / n) for n in ("group.png", "broken.jpg", "wall.png", "ann_0.jpg")]
    rows = predict_faces(files, "cnn-fer2013", progress=False, batch_size=2)
    assert rows["file"].tolist() == [files[0], files[0], files[1], files[2], files[3]]
    assert rows["face"].tolist() == [0, 1, -1, -1, 0]
    assert rows["error"][2].startswith("unreadable") and rows["error"][3] == "no face found"
    assert list(rows.columns) == photo_columns(load_model("cnn-fer2013"))
    assert set(rows["calibration"]) == {"none"}
    one_by_one = predict_faces(files, "cnn-fer2013", progress=False, batch_size=1)
    np.testing.assert_allclose(
        rows.filter(like="p_").to_numpy(dtype=float),
        one_by_one.filter(like="p_").to_numpy(dtype=float),
    )


def test_the_decoded_image_is_kept_only_when_asked(person_photos):
    files = [str(person_photos / "ann_0.jpg")]
    (kept,) = iter_photos(files, "cnn-fer2013", keep_images=True, progress=False)
    (plain,) = iter_photos(files, "cnn-fer2013", progress=False)
    assert kept.image.shape[2] == 3 and plain.image is None


def test_persons_by_pattern_calibrate_each_persons_rows(person_photos, calibrated_model):
    files = sorted(str(p) for p in person_photos.glob("[ab]*_*.jpg"))
    raw = predict_faces(files, calibrated_model, progress=False)
    rows = predict_faces(files, calibrated_model, persons=r"^(ann|bob)_", progress=False)
    assert rows["person"].tolist() == ["ann"] * 4 + ["bob"] * 4
    assert set(rows["calibration"]) == {"mean"} and set(rows["n_references"]) == {0}
    assert not np.allclose(
        rows.filter(like="p_").to_numpy(float), raw.filter(like="p_").to_numpy(float)
    )


def test_neutral_references_per_person_and_flags(person_photos, calibrated_model):
    files = sorted(str(p) for p in person_photos.glob("[ab]*_*.jpg"))
    persons = ["ann"] * 4 + ["bob"] * 4
    flags = np.array([True, False, False, False, False, False, False, False])
    rows = predict_faces(files, calibrated_model, persons=persons, neutral=flags, progress=False)
    assert rows["calibration"].tolist() == ["neutral"] * 4 + ["mean"] * 4
    assert rows["n_references"].tolist() == [1] * 4 + [0] * 4
    by_map = predict_faces(files, calibrated_model, persons=persons, neutral={"bob": files[4]},
                           progress=False)  # fmt: skip
    assert by_map["calibration"].tolist() == ["mean"] * 4 + ["neutral"] * 4


def test_one_persons_neutral_photo_makes_every_photo_theirs(person_photos, calibrated_model):
    files = [str(person_photos / f"ann_{k}.jpg") for k in range(1, 4)]
    rows = predict_faces(
        files, calibrated_model, neutral=str(person_photos / "ann_0.jpg"), progress=False
    )
    assert set(rows["calibration"]) == {"neutral"} and set(rows["person"]) == {"person"}


def test_only_the_largest_face_is_the_photos_person(person_photos, calibrated_model):
    files = [str(person_photos / "group.png"), str(person_photos / "ann_0.jpg")]
    rows = predict_faces(files, calibrated_model, persons=["ann", "ann"], progress=False)
    assert rows["person"].tolist() == ["ann", "", "ann"]
    assert rows["calibration"].tolist() == ["mean", "none", "mean"]


def test_faces_grouped_by_who_they_are_calibrate_as_their_ids_would(two_people, calibrated_model):
    files = sorted(str(p) for p in two_people.glob("*_*.jpg"))  # eileen_0..2, grace_0..2
    grouped = predict_faces(files, calibrated_model, group_faces=True, progress=False)
    assert grouped["person"].tolist() == ["face-0"] * 3 + ["face-1"] * 3
    assert set(grouped["calibration"]) == {"mean"}
    named = predict_faces(files, calibrated_model, persons=r"^([a-z]+)_", progress=False)
    np.testing.assert_allclose(_proba(grouped), _proba(named))
    raw = predict_faces(files, calibrated_model, progress=False)
    assert not np.allclose(_proba(grouped), _proba(raw))


def test_grouping_takes_every_face_of_a_photo_and_flagged_references(two_people, calibrated_model):
    files = [str(two_people / n) for n in ("both.png", "eileen_0.jpg", "grace_0.jpg",
                                           "grace_1.jpg")]  # fmt: skip
    rows = predict_faces(files, calibrated_model, group_faces=True, progress=False)
    assert rows["file"].tolist() == [files[0], *files]
    assert rows["person"].tolist() == ["face-0", "face-1", "face-0", "face-1", "face-1"]
    flags = np.array([False, True, False, False])  # eileen_0: the astronaut's neutral photo
    rows = predict_faces(files, calibrated_model, group_faces=True, neutral=flags,
                         progress=False)  # fmt: skip
    assert rows["calibration"].tolist() == ["neutral", "mean", "neutral", "mean", "mean"]
    assert rows["n_references"].tolist() == [1, 0, 1, 0, 0]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"persons": ["a", "b"]}, "give it or persons, not both"),
        ({"neutral": "eileen_0.jpg"}, "one True/False per photo"),
        ({"neutral": {"face-0": "eileen_0.jpg"}}, "one True/False per photo"),
        ({"neutral": [True]}, "one True/False per photo"),
    ],
)
def test_grouping_refuses_ids_and_references_it_cannot_place(
    two_people, calibrated_model, options, message
):
    files = [str(two_people / "eileen_1.jpg"), str(two_people / "grace_1.jpg")]
    with pytest.raises(ValueError, match=message):
        predict_faces(files, calibrated_model, group_faces=True, progress=False, **options)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"neutral": "wall.png"}, "has no face that can be found"),
        ({"neutral": "broken.jpg"}, "cannot be read"),
        ({"persons": r"^zzz"}, "matches none of the"),
        ({"persons": ["ann"]}, "one id per photo"),
        ({"neutral": {"carl": "ann_0.jpg"}, "persons": ["ann", "bob"]}, "no photo belongs to"),
    ],
)
def test_bad_persons_or_references_are_one_clear_error_before_any_work(
    person_photos, calibrated_model, options, message
):
    files = [str(person_photos / "ann_1.jpg"), str(person_photos / "bob_1.jpg")]
    options = {
        k: str(person_photos / v) if k == "neutral" and isinstance(v, str) else v
        for k, v in options.items()
    }
    if isinstance(options.get("neutral"), dict):
        options["neutral"] = {p: str(person_photos / f) for p, f in options["neutral"].items()}
    with pytest.raises(ValueError, match=message):
        predict_faces(files, calibrated_model, progress=False, **options)


def test_a_model_that_cannot_calibrate_says_so(person_photos):
    with pytest.raises(ValueError, match="calibrates to the person"):
        predict_faces([str(person_photos / "ann_1.jpg")], "cnn-fer2013", persons=["ann"])


def test_predict_faces_one_row_per_face_and_per_bad_image(tmp_path):
    import cv2
    from skimage.data import astronaut

    from fersk.io import face_crop, write_image
    from fersk.landmarks import find_faces
    from fersk.predict import predict_faces

    photo = astronaut()
    (box,), _ = find_faces(photo)
    face = face_crop(photo, box)
    group = np.full((300, 600, 3), 90, np.uint8)  # two people, one left, one right
    small = cv2.resize(face, (200, 200))
    group[50:250, 40:240] = small
    group[50:250, 360:560] = small[:, ::-1]
    write_image(tmp_path / "group.png", group)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    write_image(tmp_path / "wall.png", np.full((200, 200), 128, np.uint8))
    files = [str(tmp_path / n) for n in ("group.png", "broken.jpg", "wall.png")]
    rows = predict_faces(files, "landmarks-fer2013")
    assert rows["file"].tolist() == [files[0], files[0], files[1], files[2]]
    assert rows["face"].tolist() == [0, 1, -1, -1]
    assert rows["error"].tolist()[2].startswith("unreadable") and rows["error"].tolist()[3] == (
        "no face found"
    )
    probabilities = rows.filter(like="p_").to_numpy()[:2]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


# --------------------------------------------------------------------------
# What ``fersk predict`` runs: the model, the listing, the rows written
# --------------------------------------------------------------------------
