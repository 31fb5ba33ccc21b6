"""fersk.recipes.photos: ``fersk predict``'s inputs (unique photos, persons files), the
model it may use, and its rows on screen or in a resumable CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from fersk.models import load_model
from fersk.predict import photo_columns
from fersk.recipes.photos import (
    describe_skipped,
    load_image_model,
    photo_inputs,
    read_persons_file,
    row_values,
    screen_columns,
    write_predictions,
)


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


def test_load_image_model_names_the_option_and_refuses_models_of_features(tmp_path):
    import joblib
    from sklearn.dummy import DummyClassifier

    from fersk.models import DEFAULT_MODEL

    model, name = load_image_model()
    assert name == DEFAULT_MODEL and hasattr(model, "predict_proba")
    with pytest.raises(ValueError, match="^--model 'nope': no fersk model 'nope'"):
        load_image_model("nope", what="--model")
    features = tmp_path / "features.joblib"
    joblib.dump(DummyClassifier().fit([[0], [1]], ["a", "b"]), features)
    with pytest.raises(ValueError, match="holds a DummyClassifier that does not read images"):
        load_image_model(str(features), note=lambda text: None)


def test_a_pickle_gets_one_note_in_place_of_the_warning(tmp_path):
    import warnings

    import joblib

    from fersk.models import PickleWarning

    path = tmp_path / "cnn.joblib"
    joblib.dump(load_model("cnn-fer2013"), path)
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", PickleWarning)  # a warning would fail the call
        model, name = load_image_model(str(path), what="--model", note=notes.append)
    assert name == str(path) and model.predict_proba is not None
    assert notes == [
        f"--model {str(path)!r} is a pickle: loading it runs the code it names, so load only "
        "files you trust"
    ]
    with pytest.warns(PickleWarning):
        load_image_model(str(path))


def test_describe_skipped_names_a_few_and_counts_the_rest():
    skipped = [(f"/p/IMG_{k}.heic", "a HEIC photo") for k in range(4)] + [("/p/sub/", "unreadable")]
    assert describe_skipped(skipped) == (
        "5 skipped: IMG_0.heic: a HEIC photo; IMG_1.heic: a HEIC photo; IMG_2.heic: a HEIC photo "
        "(and 2 more)"
    )
    assert describe_skipped(skipped[-1:]) == "1 skipped: sub: unreadable"
    assert describe_skipped([]) == ""


def test_photo_inputs_say_what_they_passed_over_once_the_photos_are_found(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "IMG_1.heic").write_bytes(b"")
    said = []
    assert list(photo_inputs([tmp_path], say=said.append)) == [str(tmp_path.resolve() / "a.png")]
    assert len(said) == 1 and said[0].startswith("1 skipped: IMG_1.heic: a HEIC photo")
    (tmp_path / "a.png").unlink()
    said.clear()
    with pytest.raises(ValueError, match="no image files"):
        photo_inputs([tmp_path], say=said.append)
    assert said == []


def test_the_screen_shows_labels_and_confidences_the_csv_every_column():
    assert screen_columns() == ["file", "face", "label", "confidence", "error"]
    assert screen_columns(True)[2:4] == ["person", "calibration"]
    row = {"file": "a.jpg", "face": 0, "label": "happiness", "confidence": 0.98765, "error": ""}
    assert row_values(row, screen_columns()) == ["a.jpg", 0, "happiness", 0.98765, ""]
    assert row_values(row, screen_columns(), screen=True)[3] == "0.988"
    empty = {**row, "face": -1, "label": "", "confidence": float("nan"), "error": "no face found"}
    assert row_values(empty, ["confidence", "person"], screen=True) == ["", ""]


def test_write_predictions_resumes_its_csv_and_shows_a_short_table(person_photos, tmp_path):
    import io

    model, name = load_image_model("cnn-fer2013")
    photos = photo_inputs([person_photos / "ann_0.jpg", person_photos / "wall.png"])
    first = dict(list(photos.items())[:1])
    out, said = tmp_path / "rows.csv", []
    counts = write_predictions(first, model, out, model_name=name, what="--csv", say=said.append)
    assert counts["faces"] == 1 and said[0] == f"1 images; 0 already in {out}; 1 to do"
    assert said[1].startswith("1 images: 1 faces, 0 without a face, 0 unreadable (skipped); ")
    assert said[1].endswith(f"; rows in {out}")
    said.clear()
    counts = write_predictions(photos, model, out, model_name=name, say=said.append)
    assert said[0] == f"2 images; 1 already in {out}; 1 to do" and counts["no face"] == 1
    rows = pd.read_csv(out)
    assert list(rows.columns) == photo_columns(model)
    assert rows["file"].tolist() == list(photos) and rows["face"].tolist() == [0, -1]
    with pytest.raises(ValueError, match="--csv .* other settings"):
        write_predictions(photos, model, out, model_name=name, upsample=0, what="--csv")
    table = io.StringIO()
    write_predictions(photos, model, stream=table)
    lines = table.getvalue().splitlines()
    assert lines[0] == "file,face,label,confidence,error" and len(lines) == 3
    assert lines[2].endswith(",-1,,,no face found")


def test_write_predictions_reads_a_persons_file(person_photos, calibrated_model, tmp_path):
    import io

    table = tmp_path / "persons.csv"
    table.write_text("file,person,neutral\nann_0.jpg,ann,1\nann_1.jpg,ann,0\n")
    files = [person_photos / "ann_0.jpg", person_photos / "ann_1.jpg"]
    screen = io.StringIO()
    write_predictions(files, calibrated_model, persons_file=table, stream=screen)
    lines = [line.split(",") for line in screen.getvalue().splitlines()]
    assert lines[0] == screen_columns(calibrated=True)
    assert [(line[2], line[3]) for line in lines[1:]] == [("ann", "neutral")] * 2


@pytest.mark.bad_input("person-pattern-before-output")
@pytest.mark.parametrize("pattern, needle", [("(", "not a regular expression"),
                                             ("^zzz", "matches none")])  # fmt: skip
def test_a_bad_person_pattern_is_refused_before_any_csv_is_made(
    person_photos, calibrated_model, tmp_path, pattern, needle
):
    out = tmp_path / "rows.csv"
    with pytest.raises(ValueError, match=needle):
        write_predictions(
            [person_photos / "ann_0.jpg"], calibrated_model, person=pattern, csv_path=out
        )
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.bad_input("persons-file-encoding")
def test_a_persons_file_with_a_bom_reads_and_bad_bytes_or_extra_fields_are_named(tmp_path):
    files = [str(tmp_path / "ann_0.jpg"), str(tmp_path / "bob_0.jpg")]
    table = tmp_path / "persons.csv"
    table.write_bytes(b"\xef\xbb\xbffile,person,neutral\r\nann_0.jpg,ann,1\r\nbob_0.jpg,bob,0\r\n")
    assert read_persons_file(table, files) == (["ann", "bob"], [True, False])
    table.write_bytes(b"file,person\n\xff\xfe,ann\n")
    with pytest.raises(ValueError, match=r"persons.csv: not a UTF-8 text file"):
        read_persons_file(table, files)
    table.write_text("file,person,neutral\nann_0.jpg,ann,0,1,2\n")
    with pytest.raises(ValueError, match="line 2: more fields than the header's"):
        read_persons_file(table, files)
