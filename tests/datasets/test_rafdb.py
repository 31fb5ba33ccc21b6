"""fersk.datasets.rafdb: load_rafdb on a fake RAF-DB tree -- aligned or original images, subsets,
and label files checked line by line."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from fersk.datasets import load_dataset, load_rafdb
from tests.datasets.trees import check_contract, labels, names, write_image

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


@pytest.mark.bad_input("label-file-bom")
def test_a_label_file_with_a_byte_order_mark_is_read(tmp_path, face_crop):
    root = tmp_path / "raf"
    (root / "EmoLabel").mkdir(parents=True)
    (root / "Image" / "aligned").mkdir(parents=True)
    for name in ["train_00001_aligned.jpg", "test_0001_aligned.jpg"]:
        cv2.imwrite(str(root / "Image" / "aligned" / name), face_crop)
    (root / "EmoLabel" / "list_patition_label.txt").write_text(
        "\ufefftrain_00001.jpg 4\ntest_0001.jpg 7\n", encoding="utf-8"
    )
    assert len(load_dataset(root).target) == 2
