"""Photos: every face once, in order, batched; persons and neutral references calibrate rows."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.models import load_model
from fersk.predict import (
    iter_photos,
    photo_columns,
    photo_inputs,
    predict_faces,
    read_persons_file,
)


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
