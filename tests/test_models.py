"""Shipped models and the arrays + JSON format: reload exactly, predict real faces, refuse junk."""

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
from fersk.models import (
    list_models,
    load_model,
)

SHIPPED = [m["name"] for m in list_models()]


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


def test_subject_recentering_is_an_identity_without_ids_and_maps_a_person_online():
    X = np.array([[1.0, 2], [3, 4], [5, 6], [7, 8]])
    y = ["neutral", "happy", "neutral", "happy"]
    sn = SubjectNeutralizer("neutral", method="recenter", missing_groups="population").fit(X, y)
    np.testing.assert_array_equal(sn.transform(X), X)  # trained without ids: nothing changes
    sn.partial_fit([[11.0, 12]], ["neutral"], groups=["a"])
    # Person a's resting face becomes the population's resting face (3, 4).
    np.testing.assert_array_equal(sn.transform([[11.0, 12]], groups=["a"]), [[3.0, 4.0]])


# --------------------------------------------------------------------------
# The shipped models
# --------------------------------------------------------------------------


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
# fersk predict
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The astronaut as a JPEG, a photo of two faces, a face-less image, a broken file."""
    import cv2
    from skimage.data import astronaut

    from fersk.io import face_crop, write_image
    from fersk.landmarks import find_faces

    folder = tmp_path_factory.mktemp("photos")
    photo = astronaut()
    write_image(folder / "astronaut.jpg", photo)
    (box,), _ = find_faces(photo)
    small = cv2.resize(face_crop(photo, box), (180, 180))
    group = np.full((280, 560, 3), 70, np.uint8)
    group[50:230, 30:210], group[50:230, 350:530] = small, small[:, ::-1]
    write_image(folder / "two_people.png", group)
    write_image(folder / "wall.png", np.full((120, 160), 200, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff junk")
    return folder


def _cli(capsys, *argv):
    from fersk.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fersk_predict_says_happiness_on_the_astronaut_without_a_model(photos, capsys):
    code, out, err = _cli(capsys, "predict", photos / "astronaut.jpg")
    assert code == 0, err
    rows = [line.split(",") for line in out.strip().splitlines()[1:]]
    assert [(r[1], r[2]) for r in rows] == [("0", "happiness")]


def test_fersk_predict_rows_per_face_resumable_csv_and_annotations(photos, tmp_path, capsys):
    import csv

    out, marked = tmp_path / "faces.csv", tmp_path / "marked"
    args = ("predict", photos, "--csv", out, "--annotate", marked, "--model", "landmarks-fer2013")
    code, _, err = _cli(capsys, *args)
    assert code == 0 and "3 faces, 1 without a face, 1 unreadable" in err, err
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    by_file = {}
    for r in rows:
        by_file.setdefault(r["file"].rsplit("/", 1)[-1], []).append(r)
    assert [r["face"] for r in by_file["two_people.png"]] == ["0", "1"]
    assert by_file["wall.png"][0]["error"] == "no face found"
    assert by_file["broken.jpg"][0]["error"].startswith("unreadable")
    assert sorted(p.name for p in marked.iterdir()) == ["astronaut.jpg", "two_people.png.jpg"]
    # A rerun finds everything done; other settings are refused.
    code, _, err = _cli(capsys, *args)
    assert code == 0 and "4 already in" in err and len(out.read_text().splitlines()) == 6
    code, _, err = _cli(capsys, "predict", photos, "--csv", out, "--model", "cnn-fer2013")
    assert code == 2 and "other settings" in err


def test_fersk_video_uses_the_default_model(tmp_path, capsys):
    from fersk.datasets import make_sample_video
    from fersk.io.video import write_video

    video = make_sample_video(size=(240, 180), fps=10, script=[("neutral", 0.5)], face_size=110)
    path = write_video(tmp_path / "v.avi", video.frames, fps=10)
    code, _, err = _cli(capsys, "video", path, "--csv", tmp_path / "rows.csv")
    assert code == 0, err
    header = (tmp_path / "rows.csv").read_text().splitlines()[0]
    assert "p_happiness" in header and "p_neutral" in header


def test_the_stream_feeds_the_trackers_landmarks_to_a_fusion(small_models, monkeypatch):
    from fersk.datasets import make_sample_video
    from fersk.video.stream import VideoAnalyzer

    calls = []
    original = LandmarkExtractor.transform

    def counted(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(LandmarkExtractor, "transform", counted)
    video = make_sample_video(size=(240, 180), fps=10, script=[("neutral", 0.5)], face_size=110)
    rows = list(VideoAnalyzer(small_models["fusion"]).stream(video.frames, fps=10))
    assert any(r["face_found"] for r in rows) and calls == []  # never re-extracted on crops


def test_the_stream_crops_faces_as_the_shipped_models_were_trained():
    """A CNN in a video sees the face framed as ``fersk predict`` frames photos."""
    from skimage.data import astronaut

    from fersk.io import face_crop
    from fersk.video.stream import VideoAnalyzer

    model = load_model("cnn-fer2013")
    photo = astronaut()
    analyzer = VideoAnalyzer(model, tau_s=0.0, margin=0.0, min_dwell_s=0.0)
    (row,) = [r for r in analyzer.stream([photo], fps=10) if r["face_found"]]
    names = [f"p_{c}" for c in model.classes_]
    box = [row[k] for k in ("x0", "y0", "x1", "y1")]
    expected = model.predict_proba([face_crop(photo, box)])[0]
    assert row["raw_label"] == "happiness"
    np.testing.assert_allclose([row[c] for c in names], expected, atol=1e-5)
    legacy = VideoAnalyzer(model, crop_margin=0.25, tau_s=0.0, margin=0.0, min_dwell_s=0.0)
    (old,) = [r for r in legacy.stream([photo], fps=10) if r["face_found"]]
    assert not np.allclose([old[c] for c in names], expected, atol=1e-5)
