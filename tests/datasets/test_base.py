"""fersk.datasets._base: emotion names and their aliases, and the split and subject read from
file and folder names."""

from __future__ import annotations

import pytest

from fersk.datasets import EMOTIONS
from fersk.datasets._base import (
    canonical_emotion,
    split_from_filename,
    split_from_folder,
    subjects_from_filenames,
)


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
