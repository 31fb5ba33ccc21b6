"""fersk.datasets.folder: load_image_folder on class-folder trees (CK+48, FER2013 on Kaggle,
RAF-DB on Kaggle...): labels from folder names, splits from folders or names, subjects."""

from __future__ import annotations

import re

import pytest

from fersk.datasets import EMOTIONS, load_image_folder
from tests.datasets.trees import check_contract, labels, make_tree, names


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
