"""Hostile but realistic input: nothing lost, nothing silently wrong, one clear error.

Each test names the numbered item of the hardening issue it guards; every one
failed before its fix. The policies are listed in docs/bad_input.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from pathlib import Path

import cv2
import joblib
import numpy as np
import pytest
from PIL import Image

from fersk import ClarityBinner, ClipLandmarkExtractor, LandmarkExtractor, PairwiseDistance
from fersk._core._sklearn_compat import InvalidParameterError
from fersk._core.cache import FeatureCache
from fersk.cli import main
from fersk.datasets import load_dataset, make_sample_faces, split_dataset
from fersk.features.clarity import LaplacianVariance
from fersk.features.subject import SubjectNeutralizer
from fersk.io import AtomicOutput, read_image, to_uint8
from fersk.landmarks.detection import choose_face
from fersk.models import load_model
from fersk.video.source import open_source

# --------------------------------------------------------------------------
# Shared data
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    """A few sample faces as PNG files in one folder (48 px crops)."""
    out = tmp_path_factory.mktemp("faces")
    data = make_sample_faces(
        n_subjects=2, n_intensities=1, blur_sigmas=(0.0,), image_size=64, out_dir=out
    )
    return out, list(data.data)


@pytest.fixture(scope="module")
def fer_root(tmp_path_factory):
    """The sample faces in the FER2013 layout root/{train,test}/<class>/*.png."""
    flat = tmp_path_factory.mktemp("flat")
    data = make_sample_faces(n_subjects=4, n_intensities=1, blur_sigmas=(0.0,), out_dir=flat)
    root = tmp_path_factory.mktemp("fer")
    for path, label, split in zip(data.data, data.target, data.split):
        dest = root / split / data.target_names[label]
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    return root


def run_cli(capsys, *argv) -> tuple[int, str]:
    """Run ``fersk argv``; return the exit code and stderr."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2; the error is the last line of stderr, one line, no traceback."""
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and lines[-1] == errors[0], err  # progress lines may come first
    for needle in needles:
        assert needle in errors[0], err


# --------------------------------------------------------------------------
# 1. The feature cache trusts nothing it reads
# --------------------------------------------------------------------------


def _corrupt(path: Path, kind: str, size: int) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "torn":
        buffer = io.BytesIO()
        np.save(buffer, np.ones(size))
        path.write_bytes(buffer.getvalue()[:-7])
    elif kind == "npz":
        with open(path, "wb") as fh:
            np.savez(fh, a=np.ones(size))
    elif kind == "strings":
        with open(path, "wb") as fh:
            np.save(fh, np.array(["x"] * size))
    elif kind == "folder":
        path.mkdir()
        (path / "inside").write_text("x")
    elif kind in ("inf", "complex", "integer", "partly_nan", "wrong_shape", "2d"):
        value = {
            "inf": np.full(size, np.inf),
            "complex": np.ones(size, dtype=complex),
            "integer": np.ones(size, dtype=np.int64),
            "partly_nan": np.r_[np.nan, np.ones(size - 1)],
            "wrong_shape": np.ones(size + 1),
            "2d": np.ones((1, size)),
        }[kind]
        with open(path, "wb") as fh:
            np.save(fh, value)
    else:  # pragma: no cover
        raise ValueError(kind)


CORRUPTIONS = [
    "empty",
    "torn",
    "npz",
    "strings",
    "folder",
    "inf",
    "complex",
    "integer",
    "partly_nan",
    "wrong_shape",
    "2d",
]


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_1_a_bad_cache_entry_is_a_miss_recomputed_and_replaced(kind, faces_dir, tmp_path):
    _, paths = faces_dir
    paths = paths[:3]
    for estimator, width in [
        (LandmarkExtractor(5, detector="none", memory=str(tmp_path / "lm")), 10),
        (ClarityBinner(n_levels=2, memory=str(tmp_path / "clarity")), 1),
    ]:
        cache_dir = Path(estimator.memory)
        expected = estimator.fit_transform(paths)
        entries = [p for p in cache_dir.rglob("*.npy") if p.is_file()]
        assert len(entries) == 3
        if kind == "partly_nan" and width == 1:
            continue  # one NaN of one is the all-NaN "no face" marker, which is trusted
        for entry in entries:
            _corrupt(entry, kind, width)
        again = estimator.fit_transform(paths)
        np.testing.assert_array_equal(again, expected)
        # Every entry was rewritten as a valid one.
        cache = FeatureCache(cache_dir)
        for entry in entries:
            assert entry.is_file()
            assert cache.get(entry.parent.parent.name, entry.stem) is not None


def test_1_bad_cache_entries_with_two_workers(faces_dir, tmp_path):
    _, paths = faces_dir
    paths = paths[:6]
    cache_dir = tmp_path / "cache"
    extractor = LandmarkExtractor(5, detector="none", memory=str(cache_dir), n_jobs=2)
    expected = extractor.transform(paths)
    entries = sorted(p for p in cache_dir.rglob("*.npy"))
    for entry, kind in zip(entries, ["empty", "npz", "folder", "strings", "partly_nan", "inf"]):
        _corrupt(entry, kind, 10)
    np.testing.assert_array_equal(extractor.transform(paths), expected)
    assert extractor.n_failures_ == 0


def test_1_the_no_face_marker_is_still_trusted(non_face, tmp_path):
    extractor = LandmarkExtractor(5, memory=str(tmp_path))
    extractor.transform([non_face])
    assert [f.message for f in extractor.failures_] == ["no face found"]
    extractor.transform([non_face])
    assert [f.message for f in extractor.failures_] == ["no face found (cached result)"]


def test_1_an_unwritable_cache_warns_and_computes(faces_dir, tmp_path):
    _, paths = faces_dir
    blocker = tmp_path / "cache"
    blocker.mkdir()
    namespace = LaplacianVariance().cache_namespace
    (blocker / namespace).write_text("a file where the namespace folder goes")
    with pytest.warns(UserWarning, match="cannot write to the feature cache"):
        out = ClarityBinner(memory=str(blocker)).fit_transform(paths[:3])
    assert out.shape == (3, 1) and np.isfinite(out).all()


# --------------------------------------------------------------------------
# 2. `fersk extract` resumes without corrupting its CSV
# --------------------------------------------------------------------------


def _extract(capsys, folder, out, *extra):
    return run_cli(
        capsys, "extract", folder, "--out", out, "--detector", "none", "--n-landmarks", 5, *extra
    )


def _rows(out: Path) -> list[dict]:
    with out.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_2_resume_after_an_interruption_before_the_first_block(faces_dir, tmp_path, capsys):
    folder, paths = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    full = out.read_text()
    header = full.splitlines(keepends=True)[0]
    out.write_text(header)  # the header was written, then Ctrl-C
    assert _extract(capsys, folder, out)[0] == 0
    assert out.read_text() == full
    assert full.count("path,face_found") == 1


def test_2_resume_keys_on_resolved_paths(faces_dir, tmp_path, capsys, monkeypatch):
    folder, paths = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    before = out.read_text()
    # The same folder, spelled three other ways.
    monkeypatch.chdir(folder.parent)
    for spelling in [f"{folder}/", f"{folder}/../{folder.name}", folder.name]:
        code, err = _extract(capsys, spelling, out)
        assert code == 0 and f"{len(paths)} already in" in err
    assert out.read_text() == before
    assert len(_rows(out)) == len(paths)


@pytest.mark.parametrize(
    "other", [("--n-landmarks", "68"), ("--detector", "hog")], ids=["landmarks", "detector"]
)
def test_2_resume_with_other_settings_is_refused(faces_dir, tmp_path, capsys, other):
    folder, _ = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    before = out.read_text()
    code, err = run_cli(capsys, "extract", folder, "--out", out, "--detector", "none", *other)
    if other[0] == "--detector":
        code, err = run_cli(
            capsys, "extract", folder, "--out", out, "--n-landmarks", "5", "--detector", "hog"
        )
    assert_one_line_error(code, err, "other settings")
    assert out.read_text() == before


def test_2_a_torn_last_line_is_repaired(faces_dir, tmp_path, capsys):
    folder, paths = faces_dir
    out = tmp_path / "lm.csv"
    assert _extract(capsys, folder, out)[0] == 0
    complete = _rows(out)
    text = out.read_text()
    out.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # killed mid-row
    code, err = _extract(capsys, folder, out)
    assert code == 0 and "torn" in err
    assert _rows(out) == complete


def test_2_an_unrelated_csv_is_refused_and_kept(faces_dir, tmp_path, capsys):
    folder, _ = faces_dir
    out = tmp_path / "mine.csv"
    out.write_text("name,score\nalice,3\n")
    code, err = _extract(capsys, folder, out)
    assert_one_line_error(code, err, "not a `fersk extract` CSV")
    assert out.read_text() == "name,score\nalice,3\n"


def test_2_unreadable_files_are_counted_as_unreadable(faces_dir, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    shutil.copy(faces_dir[1][0], folder / "a.png")
    (folder / "b.png").write_bytes(b"\xff\xd8 not a jpeg")
    code, err = _extract(capsys, folder, tmp_path / "lm.csv")
    assert code == 0 and "0 without a face, 1 unreadable" in err


# --------------------------------------------------------------------------
# 3. `fersk video` never destroys a file
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    from fersk.datasets import make_sample_video
    from fersk.io.video import write_video

    video = make_sample_video(size=(240, 160), fps=10, script=[("neutral", 0.6)], face_size=96)
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    write_video(path, video.frames, fps=10)
    return path


@pytest.fixture(scope="module")
def landmark_model_path(tmp_path_factory):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    model = make_pipeline(
        LandmarkExtractor(5, detector="none"), PairwiseDistance(), KNeighborsClassifier(1)
    ).fit(faces.data, faces.target)
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(model, path)
    return path


@pytest.mark.parametrize(
    "case", ["missing_input", "unreadable_video", "bad_tau", "negative_max_frames"]
)
def test_3_a_failed_video_run_keeps_the_existing_csv(
    case, small_video, landmark_model_path, tmp_path, capsys
):
    out = tmp_path / "out.csv"
    out.write_text("precious results\n")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    args = {
        "missing_input": [tmp_path / "nope.mp4"],
        "unreadable_video": [junk],
        "bad_tau": [small_video, "--tau", "-1"],
        "negative_max_frames": [small_video, "--max-frames", "-3"],
    }[case]
    code, err = run_cli(capsys, "video", *args, "--model", landmark_model_path, "--csv", out)
    assert_one_line_error(code, err)
    assert out.read_text() == "precious results\n"
    assert sorted(os.listdir(tmp_path)) == ["junk.mp4", "out.csv"]  # no temporary left


@pytest.mark.parametrize("option", ["--csv", "--annotate"])
def test_3_an_output_that_is_the_input_is_refused(
    option, small_video, landmark_model_path, tmp_path, capsys
):
    video = tmp_path / "in.avi"
    shutil.copy(small_video, video)
    before = video.read_bytes()
    other = ["--csv", tmp_path / "out.csv"] if option == "--annotate" else []
    code, err = run_cli(
        capsys, "video", video, "--model", landmark_model_path, option, video, *other
    )
    assert_one_line_error(code, err, "is the input")
    assert video.read_bytes() == before


def test_3_a_run_that_fails_midway_leaves_the_old_outputs(small_video, tmp_path):
    from fersk.video.stream import VideoAnalyzer

    class Exploding:
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            raise RuntimeError("the model broke")

        predict = predict_proba

    out, ann = tmp_path / "out.csv", tmp_path / "out.avi"
    out.write_text("old rows\n")
    ann.write_bytes(b"old video")
    with pytest.raises(RuntimeError, match="the model broke"):
        VideoAnalyzer(Exploding()).run(small_video, csv_path=out, annotate=ann)
    assert out.read_text() == "old rows\n" and ann.read_bytes() == b"old video"
    assert sorted(os.listdir(tmp_path)) == ["out.avi", "out.csv"]


def test_3_a_finished_run_replaces_the_outputs(small_video, landmark_model_path, tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("old rows\n")
    code, err = run_cli(capsys, "video", small_video, "--model", landmark_model_path, "--csv", out)
    assert code == 0, err
    rows = _rows(out)
    assert [int(r["frame"]) for r in rows] == list(range(len(rows))) and len(rows) == 6
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not the temp file's mode


def test_atomic_output_keeps_the_old_file_on_ctrl_c_unless_asked(tmp_path):
    """A model or report interrupted mid-write never replaces the old one; resumable rows do."""
    path = tmp_path / "rows.csv"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with AtomicOutput(path) as tmp:
            Path(tmp).write_text("partial")
            raise KeyboardInterrupt
    assert path.read_text() == "old" and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(KeyboardInterrupt):
        with AtomicOutput(path, keep_partial=True) as tmp:
            Path(tmp).write_text("partial but kept")
            raise KeyboardInterrupt
    assert path.read_text() == "partial but kept"


# --------------------------------------------------------------------------
# 4. A single image (or clip) passed bare is refused, not read as a batch
# --------------------------------------------------------------------------


def test_4_a_bare_colour_image_is_not_a_batch(face_rgb):
    with pytest.raises(ValueError, match="single image .* wrapped in a list"):
        LandmarkExtractor(detector="none").transform(face_rgb)
    with pytest.raises(ValueError, match="single image"):
        ClarityBinner().fit(face_rgb[:100])
    with pytest.raises(ValueError, match="single image"):
        LandmarkExtractor().transform(face_rgb[:, :, :1])
    # Wrapped, it is a batch of one.
    assert LandmarkExtractor(5).transform([face_rgb]).shape == (1, 10)


def test_4_a_bare_image_through_a_fitted_model(landmark_model_path, face_rgb):
    model = joblib.load(landmark_model_path)
    with pytest.raises(ValueError, match="single image"):
        model.predict(face_rgb[:100])


def test_4_a_bare_colour_clip_is_not_a_batch(face_rgb):
    clip = np.stack([face_rgb[:120, :120]] * 3)  # (T, H, W, 3)
    with pytest.raises(ValueError, match="single clip .* wrapped in a list"):
        ClipLandmarkExtractor(LandmarkExtractor(5), n_frames=2).transform(clip)


# --------------------------------------------------------------------------
# 5. EXIF orientation is applied; 6. big-endian 16-bit arrays are scaled
# --------------------------------------------------------------------------


@pytest.mark.parametrize("orientation, rotate", [(6, Image.Transpose.ROTATE_90), (8, 270)])
def test_5_exif_orientation_of_phone_photos(orientation, rotate, face_rgb, tmp_path):
    upright = Image.fromarray(face_rgb)
    stored = upright.transpose(rotate) if orientation == 6 else upright.rotate(-90, expand=True)
    exif = stored.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone_{orientation}.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    image = read_image(path, color="rgb")
    assert image.shape == face_rgb.shape
    assert np.abs(image.astype(int) - face_rgb).mean() < 4
    points = LandmarkExtractor(5).fit_transform([str(path)])
    assert np.isfinite(points).all()


def test_6_big_endian_uint16_is_scaled_not_clipped():
    little = np.array([[0, 257, 32768, 65535]], dtype="<u2")
    big = little.astype(">u2")
    assert to_uint8(big).tolist() == to_uint8(little).tolist() == [[0, 1, 128, 255]]
    gray = read_image(np.dstack([big] * 3), color="gray")
    assert gray.tolist() == [[0, 1, 128, 255]]


# --------------------------------------------------------------------------
# 7. Negative camera indices
# --------------------------------------------------------------------------


def test_7_negative_camera_index_is_refused(landmark_model_path, tmp_path, capsys):
    code, err = run_cli(
        capsys, "video", "--camera", "-1", "--model", landmark_model_path, "--csv", tmp_path / "a"
    )
    assert_one_line_error(code, err, "--camera", "0 or more")
    with pytest.raises(ValueError, match="camera index must be 0 or more"):
        open_source(-1)


# --------------------------------------------------------------------------
# 8. One corrupt image never aborts a batch
# --------------------------------------------------------------------------


def test_8_a_corrupt_jpeg_in_a_dataset(fer_root, tmp_path, capsys):
    root = tmp_path / "fer"
    shutil.copytree(fer_root, root)
    (root / "train" / "happiness" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "test" / "happiness" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    model = tmp_path / "m"
    code, err = run_cli(capsys, "train", root, "--model", model, "--detector", "none")
    assert code == 0, err
    code, err = run_cli(capsys, "evaluate", root, "--model", model)
    assert code == 0, err
    fitted = load_model(model)
    paths = [str(p) for p in sorted((root / "test").rglob("*.*"))]
    assert len(fitted.predict(paths)) == len(paths)
    assert ClarityBinner().on_failure == "nan"
    levels = ClarityBinner().fit(paths).transform(paths)
    corrupt = paths.index(str(root / "test" / "happiness" / "corrupt.jpg"))
    assert np.isnan(levels[corrupt, 0]) and np.isfinite(np.delete(levels, corrupt)).all()


# --------------------------------------------------------------------------
# 9. Every CLI mistake: one line on stderr, exit code 2, before any work
# --------------------------------------------------------------------------


@pytest.fixture
def not_models(tmp_path):
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(os.urandom(256))
    text = tmp_path / "notes.joblib"
    text.write_text("hello")
    a_dict = tmp_path / "dict.joblib"
    joblib.dump({"a": 1}, a_dict)
    return [junk, text, a_dict, tmp_path]


def test_9_cli_mistakes(fer_root, faces_dir, landmark_model_path, not_models, tmp_path, capsys):
    folder, _ = faces_dir
    missing = tmp_path / "no" / "such"
    cache_file = tmp_path / "cache.txt"
    cache_file.write_text("x")
    unrelated = tmp_path / "unrelated.csv"
    unrelated.write_text("a,b\n1,2\n")
    cases = [
        (["extract", missing, "--out", tmp_path / "a.csv"], "does not exist"),
        (["extract", folder, "--out", missing / "a.csv"], "does not exist"),
        (["extract", folder, "--out", tmp_path], "is a folder"),
        (["extract", folder, "--out", tmp_path / "a.csv", "--n-jobs", "0"], "--n-jobs"),
        (["extract", folder, "--out", tmp_path / "b.csv", "--cache", cache_file], "--cache"),
        (["extract", folder, "--out", unrelated, "--detector", "none"], "not a `fersk extract`"),
        (["train", missing, "--model", tmp_path / "m"], "does not exist"),
        (["train", fer_root, "--model", missing / "m"], "does not exist"),
        (["train", fer_root, "--model", tmp_path], "is a folder of other files"),
        (["train", fer_root, "--model", unrelated], "is a file"),
        (["train", fer_root, "--model", tmp_path / "m.joblib"], "read as a pickle"),
        (["train", fer_root, "--model", fer_root / "train" / "m"], "is inside the input"),
        (["train", fer_root, "--model", tmp_path / "m", "--max-train", "0"], "--max-train"),
        (["evaluate", fer_root, "--model", missing], "does not exist"),
        (["video", "x.mp4", "--model", landmark_model_path, "--csv", "o", "--max-frames", "0"], ""),
        (["video", "--camera", "0", "--model", landmark_model_path, "--csv", missing / "o"], ""),
    ]
    for model in not_models:
        cases.append((["evaluate", fer_root, "--model", model], "--model"))
        cases.append((["video", "--camera", "0", "--model", model, "--csv", tmp_path / "o"], ""))
    for argv, needle in cases:
        code, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, needle)
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.joblib").exists()
    assert not (tmp_path / "o").exists() and not (fer_root / "train" / "m").exists()


def test_9_a_model_file_that_is_not_a_model_is_named(tmp_path):
    junk = tmp_path / "predictor.dat"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="predictor.dat' is not a dlib shape predictor"):
        LandmarkExtractor(predictor_path=str(junk)).fit()
    with pytest.raises(ValueError, match="does not exist"):
        LandmarkExtractor(predictor_path=str(tmp_path / "gone.dat")).fit()
    weights = tmp_path / "fan.pth.tar"
    weights.write_bytes(b"not torch")
    with pytest.raises(ValueError, match="fan.pth.tar' cannot be loaded"):
        LandmarkExtractor(backend="face_alignment", weights=str(weights), device="cpu").fit()


# --------------------------------------------------------------------------
# 10. Datasets without a predefined split
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ck_root(tmp_path_factory):
    """Sample faces in the CK+48 layout: <class>/S<subject>_<seq>_<frame>.png, no split."""
    flat = tmp_path_factory.mktemp("ckflat")
    data = make_sample_faces(n_subjects=8, n_intensities=2, blur_sigmas=(0.0,), out_dir=flat)
    root = tmp_path_factory.mktemp("ck")
    for k, (path, label, subject) in enumerate(zip(data.data, data.target, data.subject)):
        dest = root / data.target_names[label]
        dest.mkdir(exist_ok=True)
        number = int("".join(ch for ch in str(subject) if ch.isdigit()) or 0) + 10
        shutil.copy(path, dest / f"S{number:03d}_{k:03d}_00000001.png")
    return root


def test_10_train_and_evaluate_on_a_dataset_without_a_split(ck_root, tmp_path, capsys):
    model = tmp_path / "ck-model"
    code, err = run_cli(capsys, "train", ck_root, "--model", model, "--detector", "none")
    assert code == 0, err
    assert "subject-independent 80%/20% split" in err
    code, err = run_cli(capsys, "evaluate", ck_root, "--model", model)
    assert code == 0, err
    assert "test:" in err and "subjects" in err
    # The commands split as split_dataset does, and no subject is on both sides.
    data = load_dataset(ck_root)
    _, _, train_groups, _, _ = split_dataset(data, "train")
    X_test, _, test_groups, _, _ = split_dataset(data, "test")
    assert f"test: {len(X_test)} images of {len(set(test_groups))} subjects" in err
    assert not set(train_groups) & set(test_groups)
    assert len(train_groups) + len(test_groups) == len(data.target)


def test_10_test_size_overrides_a_predefined_split(fer_root, capsys):
    from fersk.cli import _load_split, _parser

    args = _parser().parse_args(["evaluate", str(fer_root), "--model", "m", "--test-size", "0.5"])
    _, y_test, _, _ = _load_split(args, "test")
    assert "50%/50%" in capsys.readouterr().err
    assert len(y_test) == len(load_dataset(fer_root).target) // 2


# --------------------------------------------------------------------------
# 11. Meaningless values are refused, not accepted silently
# --------------------------------------------------------------------------


def test_11_meaningless_parameters_and_inputs(face_crop):
    with pytest.raises(InvalidParameterError, match="detection_threshold"):
        LandmarkExtractor(detection_threshold=math.nan).fit()
    with pytest.raises(InvalidParameterError, match="memory"):
        LandmarkExtractor(memory=3.5).fit()
    with pytest.raises(ValueError, match="memory='' names no folder"):
        LandmarkExtractor(5, detector="none", memory="").transform([face_crop])
    for unordered in [{"a.png", "b.png"}, {"a.png": 0}, frozenset(["a.png"])]:
        with pytest.raises(TypeError, match="has no order"):
            LandmarkExtractor().transform(unordered)
    X = np.random.default_rng(0).normal(size=(3, 10))
    with pytest.raises(ValueError, match="integer indices"):
        PairwiseDistance(landmarks=[0, 1.5, 3]).fit(X)
    with pytest.raises(ValueError, match="integer indices"):
        PairwiseDistance(landmarks=[True, False]).fit(X)
    assert PairwiseDistance(landmarks=[0.0, 2.0, 4.0]).fit(X).transform(X).shape == (3, 3)
    sn = SubjectNeutralizer().fit(X, groups=["a", "b", "a"])
    with pytest.raises(ValueError, match="y has shape"):
        sn.partial_fit(X, y=[0], groups=["a", "b", "a"])
    with pytest.raises(ValueError, match="y has shape"):
        SubjectNeutralizer("neutral").fit(X, y=["neutral"], groups=["a", "b", "a"])


# --------------------------------------------------------------------------
# 12. One list of image extensions: .gif everywhere
# --------------------------------------------------------------------------


def test_12_gif_files_are_images_for_the_loaders_and_extract(face_crop, tmp_path, capsys):
    root = tmp_path / "gifs"
    for label in ["happy", "sad"]:
        (root / label).mkdir(parents=True)
        Image.fromarray(face_crop).save(root / label / f"{label}.gif")
    data = load_dataset(root)
    assert sorted(Path(p).suffix for p in data.data) == [".gif", ".gif"]
    out = tmp_path / "lm.csv"
    assert _extract(capsys, root, out)[0] == 0
    rows = _rows(out)
    assert len(rows) == 2 and all(r["face_found"] == "1" for r in rows)


# --------------------------------------------------------------------------
# 13. A barely-positive false box never beats a clear face
# --------------------------------------------------------------------------


def test_13_largest_ignores_boxes_far_below_the_best_score(face_rgb, monkeypatch):
    boxes = np.array([[179.0, 83, 266, 170], [0, 0, 400, 400]])
    chosen = choose_face(boxes, (512, 512), "largest", scores=np.array([1.57, 0.01]))
    np.testing.assert_array_equal(chosen, boxes[0])
    # Two real faces of similar confidence: still the largest.
    chosen = choose_face(boxes, (512, 512), "largest", scores=np.array([1.57, 1.0]))
    np.testing.assert_array_equal(chosen, boxes[1])
    # End to end: a detector that also returns a huge, barely-positive false box.
    import fersk.landmarks.base as base

    real = base.detect_faces

    def with_false_box(gray, *args):
        found, scores = real(gray, *args)
        return np.vstack([found, [[0, 0, 500, 500]]]), np.r_[scores, 0.01]

    monkeypatch.setattr(base, "detect_faces", with_false_box)
    points = LandmarkExtractor(5).fit_transform([face_rgb]).reshape(5, 2)
    assert (points[:, 0] > 179).all() and (points[:, 0] < 266).all()


# --------------------------------------------------------------------------
# The video stream serves the landmarks the model was trained on
# --------------------------------------------------------------------------


def test_stream_uses_the_models_extractor_settings(tmp_path):
    from fersk.landmarks.models import dlib_model_path
    from fersk.video.stream import VideoAnalyzer

    own = tmp_path / "my_predictor.dat"
    shutil.copy(dlib_model_path("5"), own)
    faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    extractor = LandmarkExtractor(
        5, detector="hog", upsample=1, detection_threshold=0.1, predictor_path=str(own)
    )
    model = make_pipeline(extractor, PairwiseDistance(), KNeighborsClassifier(1))
    model.fit(faces.data, faces.target)
    analyzer = VideoAnalyzer(model)
    analyzer._setup()
    tracker = analyzer.tracker_
    assert (tracker.n_landmarks, tracker.upsample, tracker.detection_threshold) == (5, 1, 0.1)
    assert tracker._landmarker.model_path == str(own)
    # A model whose landmark file is gone fails at once, naming it.
    own.unlink()
    with pytest.raises(ValueError, match="my_predictor.dat"):
        VideoAnalyzer(model)._setup()


def test_json_outputs_are_atomic_too(fer_root, landmark_model_path, tmp_path, capsys):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"old": True}))
    code, err = run_cli(
        capsys, "evaluate", tmp_path / "missing", "--model", landmark_model_path, "--json", report
    )
    assert code == 2
    assert json.loads(report.read_text()) == {"old": True}


def test_cv2_decodes_what_is_called_an_image(tmp_path, face_crop):
    from fersk.io import IMAGE_EXTENSIONS

    colour = cv2.cvtColor(face_crop, cv2.COLOR_GRAY2BGR)
    for ext in sorted(IMAGE_EXTENSIONS):
        path = tmp_path / f"x{ext}"
        if ext in {".gif", ".webp"}:
            Image.fromarray(face_crop).save(path)
        else:
            assert cv2.imwrite(str(path), face_crop if ext in {".pgm", ".pbm"} else colour), ext
        assert read_image(path).shape == face_crop.shape, ext


# --------------------------------------------------------------------------
# The same classes of bug, found by a hostile review after the fixes above
# --------------------------------------------------------------------------


def test_outputs_never_overwrite_the_dataset_or_the_model(
    fer_root, small_video, landmark_model_path, tmp_path, capsys
):
    model = tmp_path / "m.joblib"
    shutil.copy(landmark_model_path, model)
    before = model.read_bytes()
    csv_data = tmp_path / "fer.csv"
    csv_data.write_text("emotion,pixels,Usage\n0," + " ".join(["0"] * 2304) + ",Training\n")
    cases = [
        (["train", csv_data, "--model", csv_data], "is the input"),
        (["evaluate", fer_root, "--model", model, "--json", model], "is the input"),
        (["video", small_video, "--model", model, "--csv", model], "is the input"),
        (
            [
                "video",
                small_video,
                "--model",
                model,
                "--csv",
                tmp_path / "o.csv",
                "--annotate",
                tmp_path / "a.png",
            ],
            "video extension",
        ),
    ]
    for argv, needle in cases:
        assert_one_line_error(*run_cli(capsys, *argv), needle)
    assert model.read_bytes() == before and csv_data.read_text().startswith("emotion")


def test_write_video_is_atomic_and_checks_its_settings(tmp_path):
    from fersk.io.clips import read_clip
    from fersk.io.video import write_video

    path = tmp_path / "v.avi"
    write_video(path, np.zeros((5, 32, 48, 3), np.uint8))
    with pytest.raises(ValueError, match="one size"):
        write_video(path, [np.zeros((32, 48, 3), np.uint8)] * 3 + [np.zeros((16, 16, 3), np.uint8)])
    assert len(read_clip(path)) == 5 and sorted(os.listdir(tmp_path)) == ["v.avi"]
    for fps in [0, -5, math.nan, math.inf]:
        with pytest.raises(ValueError, match="fps"):
            write_video(tmp_path / "w.avi", np.zeros((2, 8, 8), np.uint8), fps=fps)
    with pytest.raises(ValueError, match="video extension"):
        write_video(tmp_path / "w.png", np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        list(open_source([np.zeros((8, 8))], fps=math.inf))


def test_sigterm_keeps_the_finished_video_rows(small_video, landmark_model_path, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from fersk.io.clips import read_clip
    from fersk.io.video import write_video

    long_video = tmp_path / "long.avi"
    frames = read_clip(small_video)
    write_video(long_video, frames * 40, fps=10)  # 240 frames
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    code = (
        "import sys; from fersk.cli import main; "
        f"sys.exit(main(['video', {str(long_video)!r}, '--model', "
        f"{str(landmark_model_path)!r}, '--csv', {str(out)!r}]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some rows are written
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial.csv")]
        if partial and partial[0].stat().st_size > 2000:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    rows = _rows(out)
    assert rows and [int(r["frame"]) for r in rows] == list(range(len(rows)))
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_symlinks_and_odd_file_names_in_extract_and_loaders(faces_dir, tmp_path, capsys):
    _, paths = faces_dir
    root = tmp_path / "sym"
    (root / "anger").mkdir(parents=True)
    shutil.copy(paths[0], root / "anger" / "a.png")
    os.symlink(paths[1], root / "anger" / "link.png")
    elsewhere = tmp_path / "elsewhere" / "happy"
    elsewhere.mkdir(parents=True)
    shutil.copy(paths[2], elsewhere / "h.png")
    os.symlink(elsewhere, root / "happiness")  # a symlinked class folder
    os.symlink(root, root / "anger" / "loop")  # a symlink loop is listed once
    odd = os.fsencode(root / "anger") + b"/bad\xff.png"
    shutil.copy(paths[3], odd)
    data = load_dataset(root)
    assert sorted(data.target_names) == ["anger", "happiness"] and len(data.target) == 4
    out = tmp_path / "lm.csv"
    for _ in range(2):  # the rerun adds nothing
        assert _extract(capsys, root, out)[0] == 0
    with out.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and len({r["path"] for r in rows}) == 4
    assert all(r["face_found"] == "1" for r in rows)


def test_split_reports_unused_images_and_refuses_clips(fer_root, tmp_path, capsys):
    root = tmp_path / "fer"
    shutil.copytree(fer_root, root)
    shutil.copytree(root / "test", root / "val")
    model = tmp_path / "m"
    code, err = run_cli(capsys, "train", root, "--model", model, "--detector", "none", "--single")
    assert code == 0 and "images of other splits (val, unknown) not used" in err
    code, err = run_cli(capsys, "train", root, "--model", model, "--max-train", "3")
    assert_one_line_error(code, err, "--max-train 3 is fewer than the 7 classes")


def test_a_model_that_finds_nothing_is_not_saved(non_face, tmp_path, capsys):
    root = tmp_path / "noise"
    for split in ["train", "test"]:
        for label in ["happy", "sad"]:
            (root / split / label).mkdir(parents=True)
            for k in range(8):
                cv2.imwrite(str(root / split / label / f"{k}.png"), np.roll(non_face, 7 * k))
    model = tmp_path / "m"
    code, err = run_cli(capsys, "train", root, "--model", model, "--single")
    assert_one_line_error(code, err, "found nothing usable", "--detector none")
    assert not model.exists()


def test_a_model_that_reads_no_images_is_refused(fer_root, tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    assert_one_line_error(
        *run_cli(capsys, "evaluate", fer_root, "--model", path), "does not read images"
    )


def test_stream_frames_given_as_paths(faces_dir, landmark_model_path):
    from fersk.video.stream import VideoAnalyzer

    _, paths = faces_dir
    model = joblib.load(landmark_model_path)
    rows = list(VideoAnalyzer(model, detect_every=1).stream(paths[:3] + ["/no/such.png"]))
    assert [r["frame_ok"] for r in rows] == [True, True, True, False]


def test_target_names_and_label_checks():
    from sklearn.dummy import DummyClassifier

    from fersk._core.pipeline_tools import class_names
    from fersk.cnn import CNNClassifier
    from fersk.evaluation.metrics import grouped_war_uar

    floats = DummyClassifier().fit([[0], [1]], [0.0, 1.0])
    assert class_names(floats, ["calm", "joy"]) == ["calm", "joy"]
    strings = DummyClassifier().fit([[0], [1]], ["a", "b"])
    with pytest.raises(ValueError, match="integer class codes"):
        class_names(strings, ["calm", "joy"])
    X = np.zeros((4, 1, 16, 16), np.float32)
    for y, needle in [
        ([None, "a", "b", "a"], "None labels"),
        ([np.nan, 1.0, 0.0, 1.0], "NaN labels"),
        ([1, "a", 1, "a"], "mixes string and number"),
    ]:
        with pytest.raises(ValueError, match=needle):
            CNNClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="repeated"):
        CNNClassifier(max_epochs=1, classes=[0, 1, 1]).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="one entry per sample"):
        grouped_war_uar([0, 1], [0, 1], groups=[0])
    report = grouped_war_uar([0, 1, 1], [0, 1, 0], groups=[1, "1", None])
    assert set(report["groups"]) == {1, "1"} or len(report["groups"]) == 3


def test_routed_level_params_keys_and_unordered_groups():
    from sklearn.tree import DecisionTreeClassifier

    from fersk import ClarityRoutedClassifier

    X = np.column_stack([np.arange(40.0), np.repeat([0.0, 1.0], 20)])
    y = np.tile([0, 1], 20)
    for bad in [{"1": {"max_depth": 1}}, {"one": {"max_depth": 1}}]:
        with pytest.raises(ValueError, match="level_params keys must be level numbers"):
            ClarityRoutedClassifier(DecisionTreeClassifier(), level_params=bad).fit(X, y)
    clf = ClarityRoutedClassifier(
        DecisionTreeClassifier(), level_params={np.int64(1): {"max_depth": 1}}
    )
    assert clf.fit(X, y).estimators_[1.0].max_depth == 1
    Z = np.zeros((3, 2))
    for groups in [{"a", "b", "c"}, {"a": 0, "b": 1, "c": 2}]:
        with pytest.raises(TypeError, match="has no order"):
            SubjectNeutralizer().fit(Z, groups=groups)


def test_byte_string_paths_and_clip_failure_counts(faces_dir, tmp_path):
    _, paths = faces_dir
    X = LandmarkExtractor(5, detector="none").fit_transform(np.array(paths[:2], dtype="S"))
    assert np.isfinite(X).all()
    extractor = ClipLandmarkExtractor(LandmarkExtractor(5, detector="none"), n_frames=4)
    with pytest.warns(UserWarning, match="4 of 8 frames"):
        extractor.transform([tmp_path / "missing.mp4", [paths[0]] * 4])


def test_label_files_with_a_byte_order_mark(tmp_path, face_crop):
    root = tmp_path / "raf"
    (root / "EmoLabel").mkdir(parents=True)
    (root / "Image" / "aligned").mkdir(parents=True)
    for name in ["train_00001_aligned.jpg", "test_0001_aligned.jpg"]:
        cv2.imwrite(str(root / "Image" / "aligned" / name), face_crop)
    (root / "EmoLabel" / "list_patition_label.txt").write_text(
        "\ufefftrain_00001.jpg 4\ntest_0001.jpg 7\n", encoding="utf-8"
    )
    assert len(load_dataset(root).target) == 2


def test_tilde_paths_are_expanded(faces_dir, tmp_path, capsys, monkeypatch):
    folder, paths = faces_dir
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(
        capsys,
        "extract",
        folder,
        "--out",
        "~/lm.csv",
        "--cache",
        "~/cache",
        "--detector",
        "none",
        "--n-landmarks",
        "5",
    )
    assert code == 0, err
    assert (tmp_path / "lm.csv").is_file() and (tmp_path / "cache").is_dir()
    assert not (tmp_path / "~").exists()
