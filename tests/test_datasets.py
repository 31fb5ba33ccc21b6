"""Tests for fersk.datasets: tiny fake trees in the real layouts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from fersk.datasets import (
    EMOTIONS,
    load_dataset,
    load_fer2013_csv,
    load_image_folder,
    load_rafdb,
)
from fersk.datasets._base import (
    canonical_emotion,
    split_from_filename,
    split_from_folder,
    subjects_from_filenames,
)
from fersk.io import natural_sorted


def write_image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((8, 8), value, dtype=np.uint8))


def make_tree(root: Path, rels: list[str]) -> Path:
    for rel in rels:
        write_image(root / rel)
    return root


def names(bunch) -> list[str]:
    return [Path(p).name for p in bunch.data]


def labels(bunch) -> list[str]:
    return [bunch.target_names[i] for i in bunch.target]


def check_contract(bunch, *, file_based: bool = True) -> None:
    n = len(bunch.data)
    assert bunch.target.dtype == np.int64 and bunch.target.shape == (n,)
    assert bunch.split.shape == (n,)
    assert set(bunch.split) <= {"train", "test", "val", "unknown"}
    assert list(bunch.target_names) == [e for e in EMOTIONS if e in bunch.target_names]
    assert isinstance(bunch.DESCR, str) and f"{n} samples" in bunch.DESCR
    if file_based:
        assert bunch.filenames == bunch.data
        assert all(isinstance(p, str) and os.path.isabs(p) for p in bunch.data)
        assert all(os.path.isfile(p) for p in bunch.data)
    else:
        assert bunch.filenames is None


# --------------------------------------------------------------------- _base


def test_emotions_order():
    assert EMOTIONS == (
        "anger",
        "disgust",
        "fear",
        "happiness",
        "sadness",
        "surprise",
        "neutral",
        "contempt",
    )


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("Angry", "anger"),
        ("anger", "anger"),
        ("DISGUSTED", "disgust"),
        ("afraid", "fear"),
        ("fearful", "fear"),
        ("happy", "happiness"),
        ("joy", "happiness"),
        ("sad", "sadness"),
        ("surprised", "surprise"),
        ("calm", "neutral"),
        ("Contempt", "contempt"),
    ],
)
def test_canonical_emotion_aliases(alias, expected):
    assert canonical_emotion(alias) == expected


def test_canonical_emotion_unknown():
    with pytest.raises(ValueError, match="'bored'.*known names"):
        canonical_emotion("bored")


def test_natural_sort():
    assert natural_sorted(["a/img10.png", "a/img2.png", "A/img1.png", "b/img0.png"]) == [
        "A/img1.png",
        "a/img2.png",
        "a/img10.png",
        "b/img0.png",
    ]


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("Training_3908.jpg", "train"),
        ("PublicTest_1.jpg", "test"),
        ("PrivateTest_9.jpg", "test"),
        ("train_00001_aligned.jpg", "train"),
        ("test_0001.jpg", "test"),
        ("val_7.png", "val"),
        ("S005_001_00000011.png", "unknown"),
        ("trainee.png", "unknown"),
    ],
)
def test_split_from_filename(name, split):
    assert split_from_filename(name) == split


def test_split_from_folder():
    assert [split_from_folder(n) for n in ["Train", "testing", "validation", "happy"]] == [
        "train",
        "test",
        "val",
        None,
    ]


def test_subjects_all_or_nothing():
    assert subjects_from_filenames(["S005_001_00000011.png", "S010_2_3.png"]).tolist() == [
        "S005",
        "S010",
    ]
    assert subjects_from_filenames(["S005_001_00000011.png", "x_1_2.png"]) is None


# -------------------------------------------------------------------- RAF-DB

RAF_LIST = [
    ("train_00002.jpg", 5),  # sadness
    ("train_00010.jpg", 1),  # surprise
    ("train_00001.jpg", 4),  # happiness
    ("test_0002.jpg", 7),  # neutral
    ("test_0001.jpg", 6),  # anger
]


def make_rafdb(root: Path, entries=RAF_LIST) -> Path:
    (root / "EmoLabel").mkdir(parents=True)
    lines = "".join(f"{name} {label}\n" for name, label in entries)
    (root / "EmoLabel" / "list_patition_label.txt").write_text(lines)
    for name, _ in entries:
        stem = name[: -len(".jpg")]
        write_image(root / "Image" / "aligned" / f"{stem}_aligned.jpg")
        write_image(root / "Image" / "original" / name)
    (root / "Image" / "aligned" / ".DS_Store").write_bytes(b"\0")
    (root / "Image" / "aligned" / "notes.txt").write_text("ignored")
    return root


def test_rafdb_aligned(tmp_path):
    root = make_rafdb(tmp_path / "raf")
    bunch = load_rafdb(root)
    check_contract(bunch)
    assert names(bunch) == [
        "test_0001_aligned.jpg",
        "test_0002_aligned.jpg",
        "train_00001_aligned.jpg",
        "train_00002_aligned.jpg",
        "train_00010_aligned.jpg",
    ]
    assert bunch.target_names == ["anger", "happiness", "sadness", "surprise", "neutral"]
    assert labels(bunch) == ["anger", "neutral", "happiness", "sadness", "surprise"]
    assert bunch.split.tolist() == ["test", "test", "train", "train", "train"]
    assert bunch.subject is None
    assert all(Path(p).parent == root / "Image" / "aligned" for p in bunch.data)
    assert "RAF-DB" in bunch.DESCR and str(root) in bunch.DESCR


def test_rafdb_original_and_subsets(tmp_path):
    root = make_rafdb(tmp_path / "raf")
    original = load_rafdb(root, aligned=False)
    assert names(original) == [
        "test_0001.jpg",
        "test_0002.jpg",
        "train_00001.jpg",
        "train_00002.jpg",
        "train_00010.jpg",
    ]
    train = load_rafdb(root, subset="train")
    test = load_rafdb(root, subset="test")
    assert len(train.data) == 3 and set(train.split) == {"train"}
    assert labels(test) == ["anger", "neutral"]
    # Both subsets share the whole dataset's encoding.
    assert train.target_names == test.target_names == original.target_names


def test_rafdb_missing_image(tmp_path):
    root = make_rafdb(tmp_path / "raf")
    (root / "Image" / "aligned" / "train_00010_aligned.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of 5 .*train_00010_aligned\.jpg"):
        load_rafdb(root)
    load_rafdb(root, aligned=False)  # the original images are all there


def test_rafdb_unlisted_image(tmp_path):
    root = make_rafdb(tmp_path / "raf")
    write_image(root / "Image" / "aligned" / "sub" / "test_0003_aligned.jpg")
    with pytest.raises(ValueError, match=r"not listed.*sub/test_0003_aligned\.jpg"):
        load_rafdb(root)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("train_00003.jpg 8", "line 6: label 8"),
        ("train_00003.jpg", "line 6: expected"),
        ("other_3.jpg 2", "line 6: other_3.jpg has neither"),
        ("train_00001.jpg 2", "line 6: train_00001.jpg is listed twice"),
    ],
)
def test_rafdb_bad_label_file(tmp_path, line, match):
    root = make_rafdb(tmp_path / "raf")
    label_file = root / "EmoLabel" / "list_patition_label.txt"
    label_file.write_text(label_file.read_text() + line + "\n")
    with pytest.raises(ValueError, match=match):
        load_rafdb(root)


def test_rafdb_missing_root_and_label_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_rafdb(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="list_patition_label.txt"):
        load_rafdb(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_rafdb(tmp_path, subset="training")


# -------------------------------------------------------------- image folder


def test_folder_ckplus_layout(tmp_path):
    root = make_tree(
        tmp_path / "CK+48",
        [
            "happy/S010_006_00000015.png",
            "happy/S005_001_00000011.png",
            "contempt/S138_008_00000007.png",
            "anger/S010_004_00000019.png",
            "anger/S010_004_00000017.png",
        ],
    )
    (root / "happy" / ".DS_Store").write_bytes(b"\0")
    (root / "README.txt").write_text("not an image")
    bunch = load_image_folder(root)
    check_contract(bunch)
    assert names(bunch) == [
        "S010_004_00000017.png",
        "S010_004_00000019.png",
        "S138_008_00000007.png",
        "S005_001_00000011.png",
        "S010_006_00000015.png",
    ]
    assert bunch.target_names == ["anger", "happiness", "contempt"]
    assert bunch.target.tolist() == [0, 0, 2, 1, 1]
    assert bunch.subject.tolist() == ["S010", "S010", "S138", "S005", "S010"]
    assert bunch.split.tolist() == ["unknown"] * 5
    with pytest.raises(ValueError, match="subset='train' selects no samples.*unknown=5"):
        load_image_folder(root, subset="train")


def test_folder_class_layout_split_from_prefix(tmp_path):
    root = make_tree(
        tmp_path,
        [
            "Angry/Training_3908.jpg",
            "Angry/PublicTest_12.jpg",
            "Sad/PrivateTest_5.jpg",
            "Sad/val_1.jpg",
            "Sad/other.jpg",
        ],
    )
    bunch = load_image_folder(root)
    assert names(bunch) == [
        "PublicTest_12.jpg",
        "Training_3908.jpg",
        "other.jpg",
        "PrivateTest_5.jpg",
        "val_1.jpg",
    ]
    assert bunch.split.tolist() == ["test", "train", "unknown", "test", "val"]
    assert bunch.subject is None
    assert names(load_image_folder(root, subset="test")) == [
        "PublicTest_12.jpg",
        "PrivateTest_5.jpg",
    ]
    assert names(load_image_folder(root, subset="val")) == ["val_1.jpg"]


def test_folder_fer2013_kaggle_layout(tmp_path):
    root = make_tree(
        tmp_path,
        [
            "train/angry/Training_3908.jpg",
            "train/angry/Training_10.jpg",
            "train/surprise/Training_2.jpg",
            "test/happy/PublicTest_123.jpg",
            "test/angry/PrivateTest_7.jpg",
        ],
    )
    bunch = load_image_folder(root)
    check_contract(bunch)
    assert names(bunch) == [
        "PrivateTest_7.jpg",
        "PublicTest_123.jpg",
        "Training_10.jpg",
        "Training_3908.jpg",
        "Training_2.jpg",
    ]
    assert bunch.target_names == ["anger", "happiness", "surprise"]
    assert labels(bunch) == ["anger", "happiness", "anger", "anger", "surprise"]
    assert bunch.split.tolist() == ["test", "test", "train", "train", "train"]
    train = load_image_folder(root, subset="train")
    test = load_image_folder(root, subset="test")
    assert train.target.tolist() == [0, 0, 2]
    assert test.target.tolist() == [0, 1]
    assert train.target_names == test.target_names == bunch.target_names


def test_folder_split_folder_aliases(tmp_path):
    root = make_tree(
        tmp_path,
        [
            "Training/neutral/a.png",
            "Validation/calm/b.png",
            "Testing/joy/c.png",
        ],
    )
    bunch = load_image_folder(root)
    assert dict(zip(names(bunch), bunch.split)) == {
        "a.png": "train",
        "b.png": "val",
        "c.png": "test",
    }
    assert labels(bunch) == ["happiness", "neutral", "neutral"]


@pytest.mark.parametrize("top", ["DATASET", ""])
def test_folder_kaggle_rafdb(tmp_path, top):
    base = tmp_path / top if top else tmp_path
    make_tree(
        base,
        [
            "train/1/train_00002_aligned.jpg",
            "train/7/train_00001_aligned.jpg",
            "train/4/train_00010_aligned.jpg",
            "test/6/test_0001_aligned.jpg",
        ],
    )
    (tmp_path / "train_labels.csv").write_text("image,label\n")
    bunch = load_image_folder(tmp_path)
    check_contract(bunch)
    assert names(bunch) == [
        "test_0001_aligned.jpg",
        "train_00002_aligned.jpg",
        "train_00010_aligned.jpg",
        "train_00001_aligned.jpg",
    ]
    assert labels(bunch) == ["anger", "surprise", "happiness", "neutral"]
    assert bunch.split.tolist() == ["test", "train", "train", "train"]


def test_folder_numeric_needs_class_names(tmp_path):
    rels = [f"{i}/img_{i}.png" for i in range(7)]
    root = make_tree(tmp_path, rels)
    with pytest.raises(ValueError, match=r"unknown class folder names.*\['0'\].*class_names"):
        load_image_folder(root)
    fer = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    bunch = load_image_folder(root, class_names=fer)
    assert labels(bunch) == list(EMOTIONS[:7])
    with pytest.raises(ValueError, match="class_names has 6 names but .* 7 class folders"):
        load_image_folder(root, class_names=fer[:6])


def test_folder_unknown_class_and_dict(tmp_path):
    root = make_tree(tmp_path, ["happy/a.png", "Bored/b.png", "meh/c.png"])
    with pytest.raises(ValueError, match=r"\['Bored', 'meh'\].*Known names: .*angry"):
        load_image_folder(root)
    with pytest.raises(ValueError, match=r"\['meh'\]"):
        load_image_folder(root, class_names={"Bored": "neutral"})
    bunch = load_image_folder(root, class_names={"Bored": "calm", "meh": "sad"})
    assert dict(zip(names(bunch), labels(bunch))) == {
        "a.png": "happiness",
        "b.png": "neutral",
        "c.png": "sadness",
    }
    with pytest.raises(ValueError, match="'sleepy'"):
        load_image_folder(root, class_names={"Bored": "sleepy", "meh": "sad"})


@pytest.mark.parametrize(
    ("rels", "match"),
    [
        (["happy/a.png", "b.png"], "b.png is directly in the dataset root"),
        (["happy/a.png", "happy/sub/b.png"], "happy/sub/b.png is in an unexpected place"),
        (["train/happy/a.png", "train/c.png"], "train/c.png is in an unexpected place"),
        (["train/happy/a.png", "sad/b.png"], r"mixes split folders \['train'\]"),
    ],
)
def test_folder_unexpected_place(tmp_path, rels, match):
    make_tree(tmp_path, rels)
    with pytest.raises(ValueError, match=match):
        load_image_folder(tmp_path)


def test_folder_empty_and_missing(tmp_path):
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=f"no image files .* under {tmp_path}"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_image_folder(tmp_path / "missing")


# ------------------------------------------------------------------ FER2013


def pixels(value: int, n: int = 2304) -> str:
    return " ".join([str(value)] * n)


def write_fer_csv(path: Path, rows: list[tuple[str, str, str]], header="emotion,pixels,Usage"):
    path.write_text(header + "\n" + "".join(f"{e},{p},{u}\n" for e, p, u in rows))
    return path


FER_ROWS = [
    ("3", pixels(10), "Training"),
    ("0", pixels(20), "Training"),
    ("6", pixels(30), "PublicTest"),
    ("3", pixels(40), "PrivateTest"),
    ("5", pixels(50), "PublicTest"),
]


def test_fer2013_csv(tmp_path):
    path = write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS)
    bunch = load_fer2013_csv(path)
    check_contract(bunch, file_based=False)
    assert len(bunch.data) == 5
    assert all(img.shape == (48, 48) and img.dtype == np.uint8 for img in bunch.data)
    assert [int(img[0, 0]) for img in bunch.data] == [10, 20, 30, 40, 50]
    assert bunch.target_names == ["anger", "happiness", "surprise", "neutral"]
    assert labels(bunch) == ["happiness", "anger", "neutral", "happiness", "surprise"]
    assert bunch.split.tolist() == ["train", "train", "test", "test", "test"]
    assert bunch.usage.tolist() == [u for _, _, u in FER_ROWS]
    assert bunch.subject is None
    assert "FER2013 csv" in bunch.DESCR


def test_fer2013_subsets(tmp_path):
    path = write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS)
    train = load_fer2013_csv(path, subset="train")
    test = load_fer2013_csv(path, subset="test")
    val = load_fer2013_csv(path, subset="val")
    assert [int(img[0, 0]) for img in train.data] == [10, 20]
    assert [int(img[0, 0]) for img in test.data] == [30, 40, 50]
    assert [int(img[0, 0]) for img in val.data] == [30, 50]
    assert val.usage.tolist() == ["PublicTest", "PublicTest"]
    assert train.target_names == test.target_names == val.target_names


def test_fer2013_pixel_layout(tmp_path):
    ramp = " ".join(str(i % 256) for i in range(2304))
    path = write_fer_csv(tmp_path / "f.csv", [("2", ramp, "Training")])
    img = load_fer2013_csv(path).data[0]
    assert img[0, :3].tolist() == [0, 1, 2] and int(img[1, 0]) == 48


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (("1", pixels(1, 2303), "Training"), "row 3 \\(line 4\\): expected 2304 pixels, got 2303"),
        (("1", pixels(256), "Training"), "row 3 .*0..255"),
        (("1", pixels(1, 2303) + " x", "Training"), "row 3 .*non-integer"),
        (("7", pixels(1), "Training"), "row 3 .*emotion '7'"),
        (("1", pixels(1), "Validation"), "row 3 .*Usage 'Validation'"),
    ],
)
def test_fer2013_bad_row(tmp_path, row, match):
    path = write_fer_csv(tmp_path / "f.csv", [FER_ROWS[0], FER_ROWS[1], row])
    with pytest.raises(ValueError, match=match):
        load_fer2013_csv(path)


def test_fer2013_without_usage_and_errors(tmp_path):
    path = tmp_path / "test.csv"
    path.write_text(f"emotion,pixels\n4,{pixels(1)}\n")
    bunch = load_fer2013_csv(path)
    assert bunch.split.tolist() == ["unknown"] and bunch.target_names == ["sadness"]
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_fer2013_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("label,pixels\n1,2\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['emotion'\]"):
        load_fer2013_csv(tmp_path / "bad.csv")


def test_folder_subject_pattern(tmp_path):
    root = make_tree(
        tmp_path,
        [
            "train/happy/p10_a.png",
            "train/happy/p2_b.png",
            "test/sad/p10_c.png",
            "test/sad/q7-x.png",
        ],
    )
    named = load_image_folder(root, subject_pattern=r"^[pq](?P<subject>\d+)[_-]")
    assert names(named) == ["p10_c.png", "q7-x.png", "p2_b.png", "p10_a.png"]
    assert named.subject.tolist() == ["10", "7", "2", "10"]
    first_group = load_image_folder(root, subject_pattern=re.compile(r"([pq]\d+)"), subset="test")
    assert first_group.subject.tolist() == ["p10", "q7"]
    # the search is over the file name only, not its folders
    with pytest.raises(ValueError, match=r"file name 'p10_c\.png' \(.*sad.p10_c\.png\) does not"):
        load_image_folder(root, subject_pattern=r"(sad)")


def test_folder_subject_pattern_overrides_ckplus_detection(tmp_path):
    root = make_tree(tmp_path, ["happy/S005_001_00000011.png", "sad/S010_002_00000004.png"])
    assert load_image_folder(root).subject.tolist() == ["S005", "S010"]
    custom = load_image_folder(root, subject_pattern=r"^S\d+_(?P<subject>\d+)")
    assert custom.subject.tolist() == ["001", "002"]


@pytest.mark.parametrize(
    ("pattern", "error", "match"),
    [
        (r"^img_\d+", ValueError, r"subject_pattern '\^img_\\\\d\+' has no group"),
        (r"^(?P<subject>S\d+)_", ValueError, r"file name 'img_1\.png' .* does not match"),
        # matches, but the subject group takes no part: as good as no match
        (r"(?P<subject>x)?(img|S)", ValueError, r"name 'S005_001_00000011\.png' .* does not"),
        (r"(unclosed", ValueError, "not a valid regular expression"),
        (b"^(S\\d+)", TypeError, "subject_pattern must be a str or a compiled re.Pattern"),
    ],
)
def test_folder_subject_pattern_errors(tmp_path, pattern, error, match):
    root = make_tree(tmp_path, ["happy/S005_001_00000011.png", "sad/img_1.png", "sad/img_2.png"])
    with pytest.raises(error, match=match):
        load_image_folder(root, subject_pattern=pattern)


# ------------------------------------------------------------- load_dataset


def test_load_dataset_detects_layouts(tmp_path):
    raf = load_dataset(make_rafdb(tmp_path / "raf"))
    assert raf.DESCR.startswith("RAF-DB basic (aligned images)")
    assert len(raf.data) == 5
    csv = load_dataset(write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS), subset="val")
    assert csv.filenames is None and len(csv.data) == 2
    folder = load_dataset(make_tree(tmp_path / "ck", ["sad/a.png", "fear/b.png"]))
    assert folder.DESCR.startswith("image folder")
    assert folder.target_names == ["fear", "sadness"]


def test_load_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match=r"x\.txt is a file but not a \.csv"):
        load_dataset(tmp_path / "x.txt")
