"""Photos: every face once, in order, batched; persons and neutral references calibrate rows."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from skimage.data import astronaut
from sklearn.frozen import FrozenEstimator

from fersk.features.calibration import PersonCalibratedClassifier
from fersk.io import face_crop, write_image
from fersk.landmarks import find_faces
from fersk.models import load_model
from fersk.predict import (
    iter_photos,
    photo_columns,
    photo_inputs,
    predict_faces,
    read_persons_file,
)


def _variant(face: np.ndarray, k: int) -> np.ndarray:
    """The astronaut's face, changed a little (light, mirror, size): another photo of 'her'."""
    image = np.clip(face.astype(float) * (0.7 + 0.1 * k) + 10 * k, 0, 255).astype(np.uint8)
    image = image[:, ::-1] if k % 2 else image
    side = 200 + 20 * k
    canvas = np.full((side + 100, side + 100, 3), 60, np.uint8)
    canvas[50 : 50 + side, 50 : 50 + side] = cv2.resize(image, (side, side))
    return canvas


def _proba(rows) -> np.ndarray:
    return rows.filter(like="p_").to_numpy(dtype=float)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    photo = astronaut()
    (box,), _ = find_faces(photo)
    face = face_crop(photo, box)
    for person in ("ann", "bob"):
        for k in range(4):
            write_image(folder / f"{person}_{k}.jpg", _variant(face[:, ::-1] if person == "bob"
                                                               else face, k))  # fmt: skip
    group = np.full((280, 560, 3), 70, np.uint8)  # two faces, the left one larger
    group[50:230, 30:210] = cv2.resize(face, (180, 180))
    group[60:200, 370:510] = cv2.resize(face, (140, 140))[:, ::-1]
    write_image(folder / "group.png", group)
    write_image(folder / "wall.png", np.full((120, 160), 200, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff junk")
    return folder


@pytest.fixture(scope="module")
def calibrated(photos, one_thread):
    """A calibration of the shipped CNN, its head learned on 'people' made of face variants."""
    base = load_model("cnn-fer2013")
    crops, y, groups = [], [], []
    labels = ["neutral", "happiness", "sadness", "surprise"]
    photo = astronaut()
    (box,), _ = find_faces(photo)
    face = face_crop(photo, box)
    for p in range(6):
        for k in range(4):
            crops.append(cv2.flip(_variant(face, k), 1) if p % 2 else _variant(face, k))
            y.append(labels[(k + p) % 4])
            groups.append(f"p{p}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PersonCalibratedClassifier(FrozenEstimator(base)).fit(crops, y, groups=groups)


def test_one_row_per_face_in_photo_order_whatever_the_batch(photos):
    files = [str(photos / n) for n in ("group.png", "broken.jpg", "wall.png", "ann_0.jpg")]
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


def test_the_decoded_image_is_kept_only_when_asked(photos):
    files = [str(photos / "ann_0.jpg")]
    (kept,) = iter_photos(files, "cnn-fer2013", keep_images=True, progress=False)
    (plain,) = iter_photos(files, "cnn-fer2013", progress=False)
    assert kept.image.shape[2] == 3 and plain.image is None


def test_persons_by_pattern_calibrate_each_persons_rows(photos, calibrated):
    files = sorted(str(p) for p in photos.glob("[ab]*_*.jpg"))
    raw = predict_faces(files, calibrated, progress=False)
    rows = predict_faces(files, calibrated, persons=r"^(ann|bob)_", progress=False)
    assert rows["person"].tolist() == ["ann"] * 4 + ["bob"] * 4
    assert set(rows["calibration"]) == {"mean"} and set(rows["n_references"]) == {0}
    assert not np.allclose(
        rows.filter(like="p_").to_numpy(float), raw.filter(like="p_").to_numpy(float)
    )


def test_neutral_references_per_person_and_flags(photos, calibrated):
    files = sorted(str(p) for p in photos.glob("[ab]*_*.jpg"))
    persons = ["ann"] * 4 + ["bob"] * 4
    flags = np.array([True, False, False, False, False, False, False, False])
    rows = predict_faces(files, calibrated, persons=persons, neutral=flags, progress=False)
    assert rows["calibration"].tolist() == ["neutral"] * 4 + ["mean"] * 4
    assert rows["n_references"].tolist() == [1] * 4 + [0] * 4
    by_map = predict_faces(files, calibrated, persons=persons, neutral={"bob": files[4]},
                           progress=False)  # fmt: skip
    assert by_map["calibration"].tolist() == ["mean"] * 4 + ["neutral"] * 4


def test_one_persons_neutral_photo_makes_every_photo_theirs(photos, calibrated):
    files = [str(photos / f"ann_{k}.jpg") for k in range(1, 4)]
    rows = predict_faces(files, calibrated, neutral=str(photos / "ann_0.jpg"), progress=False)
    assert set(rows["calibration"]) == {"neutral"} and set(rows["person"]) == {"person"}


def test_only_the_largest_face_is_the_photos_person(photos, calibrated):
    files = [str(photos / "group.png"), str(photos / "ann_0.jpg")]
    rows = predict_faces(files, calibrated, persons=["ann", "ann"], progress=False)
    assert rows["person"].tolist() == ["ann", "", "ann"]
    assert rows["calibration"].tolist() == ["mean", "none", "mean"]


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
    photos, calibrated, options, message
):
    files = [str(photos / "ann_1.jpg"), str(photos / "bob_1.jpg")]
    options = {
        k: str(photos / v) if k == "neutral" and isinstance(v, str) else v
        for k, v in options.items()
    }
    if isinstance(options.get("neutral"), dict):
        options["neutral"] = {p: str(photos / f) for p, f in options["neutral"].items()}
    with pytest.raises(ValueError, match=message):
        predict_faces(files, calibrated, progress=False, **options)


def test_a_model_that_cannot_calibrate_says_so(photos):
    with pytest.raises(ValueError, match="calibrates to the person"):
        predict_faces([str(photos / "ann_1.jpg")], "cnn-fer2013", persons=["ann"])


def test_photo_inputs_are_unique_by_path_with_unique_annotated_names(tmp_path):
    for name in ["x.png", "x.jpg", "p/q.png", "p__q.png", "P__Q.png"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    names = photo_inputs([tmp_path, tmp_path / "x.png", tmp_path])
    assert len(names) == 5 and len({n.casefold() for n in names.values()}) == 5
    with pytest.raises(ValueError, match="does not exist"):
        photo_inputs([tmp_path / "nope"])


def test_a_persons_file_names_its_bad_lines(tmp_path):
    files = [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    table = tmp_path / "persons.csv"
    table.write_text("file,person,neutral\na.jpg,ann,1\nb.jpg,ann,0\n")
    assert read_persons_file(table, files) == (["ann", "ann"], [True, False])
    table.write_text("file,person,neutral\nc.jpg,ann,1\n")
    with pytest.raises(ValueError, match="line 2: the file 'c.jpg' is not among the photos"):
        read_persons_file(table, files)
    table.write_text("file,person,neutral\na.jpg,ann,yes\n")
    with pytest.raises(ValueError, match="neutral must be 0 or 1"):
        read_persons_file(table, files)
    table.write_text("name,who\n")
    with pytest.raises(ValueError, match="needs the columns"):
        read_persons_file(table, files)
