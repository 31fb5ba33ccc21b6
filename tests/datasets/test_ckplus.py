"""Tests for fersk.datasets.ckplus: fake CK+ trees (original layout and CK+48)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from fersk.datasets._base import EMOTIONS
from fersk.datasets.ckplus import CKPLUS_LABELS, DEFAULT_PATTERN, load_ck_plus

# CK+ README: 0=neutral, 1=anger, 2=contempt, 3=disgust, 4=fear, 5=happy, 6=sadness, 7=surprise
CODES = {
    0: "neutral",
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happiness",
    6: "sadness",
    7: "surprise",
}

# (subject, sequence, number of frames, emotion code or None for an unlabelled sequence)
SEQUENCES = [
    ("S010", "002", 3, 7),
    ("S005", "001", 4, 3),
    ("S005", "002", 3, None),
    ("S010", "001", 5, 5),
    ("S052", "004", 2, 2),
]


def write_image(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((8, 8), value, dtype=np.uint8))


def pixel(path: str) -> int:
    return int(cv2.imread(path, cv2.IMREAD_GRAYSCALE)[0, 0])


def make_original(
    root: Path,
    sequences=SEQUENCES,
    *,
    images: str = "cohn-kanade-images",
    emotions: str = "Emotion",
) -> Path:
    """Original layout; every frame's pixel value is 10 * its frame number."""
    for subject, seq, n_frames, code in sequences:
        folder = root / images / subject / seq
        for frame in range(1, n_frames + 1):
            write_image(folder / f"{subject}_{seq}_{frame:08d}.png", 10 * frame)
        labels = root / emotions / subject / seq
        labels.mkdir(parents=True, exist_ok=True)  # unlabelled sequences have an empty folder
        if code is not None:
            text = f"   {float(code):.7e}\n"
            (labels / f"{subject}_{seq}_{n_frames:08d}_emotion.txt").write_text(text)
    return root


def labels(bunch) -> list[str]:
    return [bunch.target_names[t] for t in bunch.target]


def check_contract(bunch) -> None:
    n = len(bunch.data)
    assert bunch.target.dtype == np.int64 and bunch.target.shape == (n,)
    assert bunch.split.tolist() == ["unknown"] * n
    assert list(bunch.target_names) == [e for e in EMOTIONS if e in bunch.target_names]
    for name in ("subject", "sequence", "frame"):
        assert getattr(bunch, name).shape == (n,)
    assert bunch.frame.dtype == np.int64
    assert bunch.filenames == bunch.data
    assert f"{n} samples" in bunch.DESCR


# --------------------------------------------------------- original layout


def test_codes_constant():
    assert CKPLUS_LABELS == tuple(CODES[c] for c in range(8))


@pytest.mark.parametrize("code", range(8))
def test_each_code_maps(tmp_path, code):
    root = make_original(tmp_path, [("S100", "001", 2, code)])
    assert labels(load_ck_plus(root)) == [CODES[code]]


def test_original_apex_frames(tmp_path):
    root = make_original(tmp_path)
    bunch = load_ck_plus(root)
    check_contract(bunch)
    labelled = sorted((s for s in SEQUENCES if s[3] is not None), key=lambda s: (s[0], s[1]))
    assert bunch.subject.tolist() == [s[0] for s in labelled]
    assert bunch.sequence.tolist() == [s[1] for s in labelled]
    assert bunch.frame.tolist() == [s[2] for s in labelled]
    assert labels(bunch) == [CODES[s[3]] for s in labelled]
    # each sample is the apex image: last frame of its own sequence folder
    for path, (subject, seq, n_frames, _) in zip(bunch.data, labelled):
        assert os.path.isabs(path)
        assert Path(path).relative_to(root).parts[:3] == ("cohn-kanade-images", subject, seq)
        assert pixel(path) == 10 * n_frames
    assert "S005_002" not in " ".join(bunch.data)  # unlabelled sequence left out
    assert bunch.DESCR.startswith("CK+ original (images)")


def test_original_neutral_frames(tmp_path):
    root = make_original(tmp_path)
    bunch = load_ck_plus(root, neutral_frames=True)
    check_contract(bunch)
    assert len(bunch.data) == 8
    assert labels(bunch)[0::2] == ["neutral"] * 4
    assert labels(bunch)[1::2] == labels(load_ck_plus(root))
    assert [pixel(p) for p in bunch.data[0::2]] == [10] * 4  # onset frames
    assert bunch.frame.tolist()[0::2] == [1] * 4
    # onset and apex of one sequence are adjacent and share subject and sequence
    assert bunch.subject.tolist()[0::2] == bunch.subject.tolist()[1::2]
    assert bunch.sequence.tolist()[0::2] == bunch.sequence.tolist()[1::2]


def test_original_as_clips(tmp_path):
    root = make_original(tmp_path)
    clips = load_ck_plus(root, as_clips=True)
    check_contract(clips)
    images = load_ck_plus(root)
    assert labels(clips) == labels(images)
    assert clips.frame.tolist() == images.frame.tolist()
    assert [Path(p).relative_to(root).as_posix() for p in clips.data] == [
        "cohn-kanade-images/S005/001",
        "cohn-kanade-images/S010/001",
        "cohn-kanade-images/S010/002",
        "cohn-kanade-images/S052/004",
    ]
    assert clips.DESCR.startswith("CK+ original (sequences)")
    with pytest.raises(ValueError, match="neutral_frames=True applies to images"):
        load_ck_plus(root, as_clips=True, neutral_frames=True)


def test_original_extended_nesting_and_case(tmp_path):
    root = make_original(
        tmp_path,
        SEQUENCES[:2],
        images="extended-cohn-kanade-images/cohn-kanade-images",
        emotions="Emotion_Labels/Emotion",
    )
    (root / "Landmarks").mkdir()
    assert labels(load_ck_plus(root)) == ["disgust", "surprise"]


def test_original_ignores_hidden_and_other_files(tmp_path):
    root = make_original(tmp_path, SEQUENCES[:1])
    (root / "cohn-kanade-images" / "S010" / "002" / ".DS_Store").write_bytes(b"\0")
    (root / "cohn-kanade-images" / "S010" / "002" / "notes.txt").write_text("x")
    (root / "Emotion" / "S010" / "002" / ".DS_Store").write_bytes(b"\0")
    assert load_ck_plus(root, neutral_frames=True).frame.tolist() == [1, 3]


def test_group_kfold_on_subject(tmp_path):
    bunch = load_ck_plus(make_original(tmp_path), neutral_frames=True)
    X = np.zeros((len(bunch.data), 1))
    for train, test in GroupKFold(n_splits=3).split(X, bunch.target, groups=bunch.subject):
        assert not set(bunch.subject[train]) & set(bunch.subject[test])


# ----------------------------------------------------- original: bad input


def test_original_missing_emotion_folder(tmp_path):
    root = make_original(tmp_path, SEQUENCES[:1], emotions="Labels")
    with pytest.raises(FileNotFoundError, match=r"no emotion labels: expected .*Emotion/"):
        load_ck_plus(root)


@pytest.mark.parametrize("text", ["3.5", "abc", "9.0000000e+00", "-1", "1 2", "", "nan", "inf"])
def test_bad_emotion_file(tmp_path, text):
    root = make_original(tmp_path, SEQUENCES[:2])
    path = root / "Emotion" / "S005" / "001" / "S005_001_00000004_emotion.txt"
    path.write_text(text)
    message = re.escape(str(path)) + r": expected one emotion code 0\.\.7"
    with pytest.raises(ValueError, match=message):
        load_ck_plus(root)


def test_emotion_file_problems(tmp_path):
    root = make_original(tmp_path, SEQUENCES[:2])
    emotion = root / "Emotion" / "S005" / "001"
    (emotion / "S005_001_00000003_emotion.txt").write_text("1")
    with pytest.raises(ValueError, match=r"S005.001 has several emotion files"):
        load_ck_plus(root)
    (emotion / "S005_001_00000003_emotion.txt").unlink()

    (emotion / "S005_001_00000004_emotion.txt").rename(emotion / "S005_001_00000009_emotion.txt")
    with pytest.raises(
        FileNotFoundError, match=r"apex frame 9 named by .* is not in .*frames 1\.\.4"
    ):
        load_ck_plus(root)
    (emotion / "S005_001_00000009_emotion.txt").rename(emotion / "S006_001_00000004_emotion.txt")
    with pytest.raises(ValueError, match=r"named for subject 'S006'.*folder of subject 'S005'"):
        load_ck_plus(root)
    (emotion / "S006_001_00000004_emotion.txt").rename(emotion / "S005_001_00000004_emotion.txt")

    (root / "Emotion" / "S005" / "stray_emotion.txt").write_text("1")
    with pytest.raises(ValueError, match=r"stray_emotion\.txt is in an unexpected place"):
        load_ck_plus(root)
    (root / "Emotion" / "S005" / "stray_emotion.txt").unlink()

    lonely = root / "Emotion" / "S099" / "001"
    lonely.mkdir(parents=True)
    (lonely / "S099_001_00000005_emotion.txt").write_text("2")
    with pytest.raises(FileNotFoundError, match=r"S099/001 .* has no image folder"):
        load_ck_plus(root)


def test_no_emotion_files(tmp_path):
    root = make_original(tmp_path, [("S005", "002", 3, None)])
    with pytest.raises(ValueError, match=r"no \*_emotion\.txt file under"):
        load_ck_plus(root)


def test_original_bad_image_names(tmp_path):
    root = make_original(tmp_path, SEQUENCES[:2])
    folder = root / "cohn-kanade-images" / "S005" / "001"
    write_image(folder / "S005_001_extra.png", 0)
    message = r"file name 'S005_001_extra\.png' \(.*S005_001_extra\.png\) does not match"
    with pytest.raises(ValueError, match=message):
        load_ck_plus(root)
    (folder / "S005_001_extra.png").rename(folder / "S005_009_00000002.png")
    with pytest.raises(ValueError, match=r"named for subject 'S005', sequence '009'"):
        load_ck_plus(root)
    (folder / "S005_009_00000002.png").rename(folder / "S005_001_0002.png")
    with pytest.raises(ValueError, match=r"frame number\(s\) \[2\] occur twice"):
        load_ck_plus(root)
    for path in folder.iterdir():
        path.unlink()
    with pytest.raises(ValueError, match=r"sequence folder .*001 has no images"):
        load_ck_plus(root)


def test_single_frame_sequence_has_no_onset(tmp_path):
    root = make_original(tmp_path, [("S005", "001", 1, 3)])
    assert labels(load_ck_plus(root)) == ["disgust"]
    with pytest.raises(ValueError, match="starts at its apex frame 1"):
        load_ck_plus(root, neutral_frames=True)


# --------------------------------------------------------------------- CK+48


def make_ck48(root: Path, files: dict[str, int]) -> Path:
    for rel, value in files.items():
        write_image(root / rel, value)
    return root


CK48 = {
    "happy/S010_006_00000015.png": 15,
    "happy/S010_006_00000014.png": 14,
    "happy/S010_006_00000013.png": 13,
    "anger/S005_001_00000011.png": 11,
    "anger/S005_001_00000009.png": 9,
    "anger/S005_001_00000010.png": 10,
    "contempt/S138_008_00000007.png": 7,
}


def test_ck48_images(tmp_path):
    root = make_ck48(tmp_path / "CK+48", CK48)
    (root / "happy" / ".DS_Store").write_bytes(b"\0")
    bunch = load_ck_plus(root)
    check_contract(bunch)
    rel = [Path(p).relative_to(root).as_posix() for p in bunch.data]
    assert rel == sorted(CK48)  # zero-padded names: path order
    assert labels(bunch) == ["anger"] * 3 + ["contempt"] + ["happiness"] * 3
    assert bunch.subject.tolist() == ["S005"] * 3 + ["S138"] + ["S010"] * 3
    assert bunch.sequence.tolist() == ["001"] * 3 + ["008"] + ["006"] * 3
    assert bunch.frame.tolist() == [pixel(p) for p in bunch.data]
    assert bunch.DESCR.startswith("CK+48 (images)")


def test_ck48_clips_in_frame_order(tmp_path):
    files = {**CK48, "anger/S5_2_9.png": 9, "anger/S5_2_10.png": 10, "anger/S5_2_8.png": 8}
    root = make_ck48(tmp_path, files)
    clips = load_ck_plus(root, as_clips=True)
    check_contract(clips)
    # natural order of subject/sequence: S005/001 and S5/2 compare as (5, 1) < (5, 2)
    assert [(s, q) for s, q in zip(clips.subject, clips.sequence)] == [
        ("S005", "001"),
        ("S5", "2"),
        ("S010", "006"),
        ("S138", "008"),
    ]
    # frames in time order, 8, 9, 10 (a plain string sort would put 10 first)
    assert [[pixel(p) for p in clip] for clip in clips.data] == [
        [9, 10, 11],
        [8, 9, 10],
        [13, 14, 15],
        [7],
    ]
    assert clips.frame.tolist() == [11, 10, 15, 7]
    assert labels(clips) == ["anger", "anger", "happiness", "contempt"]
    assert clips.DESCR.startswith("CK+48 (sequences)")


def test_ck48_errors(tmp_path):
    root = make_ck48(tmp_path / "a", {**CK48, "sad/S005_001_00000012.png": 12})
    with pytest.raises(ValueError, match=r"S005_001 has frames in several class folders"):
        load_ck_plus(root, as_clips=True)
    assert len(load_ck_plus(root).data) == 8  # fine as images

    root = make_ck48(tmp_path / "b", {**CK48, "happy/S005_001_00000011.png": 11})
    with pytest.raises(ValueError, match=r"several class folders \(anger, happiness\)"):
        load_ck_plus(root, as_clips=True)

    root = make_ck48(tmp_path / "c", {"joyful/S005_001_00000011.png": 1})
    with pytest.raises(ValueError, match=r"unknown class folder names .*\['joyful'\]"):
        load_ck_plus(root)

    root = make_ck48(tmp_path / "d", {"CK+48/happy/S005_001_00000011.png": 1})
    with pytest.raises(ValueError, match=r"unexpected place; expected .*CK\+48"):
        load_ck_plus(root)

    root = make_ck48(tmp_path / "e", {"happy/img_001.png": 1})
    with pytest.raises(ValueError, match=r"file name 'img_001\.png' .* does not match"):
        load_ck_plus(root)

    with pytest.raises(ValueError, match="neutral_frames=True needs the original CK\\+ layout"):
        load_ck_plus(tmp_path / "a", neutral_frames=True)

    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no CK\\+ images under"):
        load_ck_plus(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ck_plus(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="subset='train' selects no samples"):
        load_ck_plus(tmp_path / "a", subset="train")


# ------------------------------------------------------------------- pattern


def test_custom_pattern(tmp_path):
    files = {"fear/p07-take3-f12.jpg": 12, "fear/p07-take3-f2.jpg": 2, "sad/p10-take1-f5.jpg": 5}
    root = make_ck48(tmp_path, files)
    pattern = r"^p(?P<subject>\d+)-take(?P<sequence>\d+)-f(?P<frame>\d+)"
    clips = load_ck_plus(root, as_clips=True, pattern=re.compile(pattern))
    assert clips.subject.tolist() == ["07", "10"]
    assert clips.sequence.tolist() == ["3", "1"]
    assert [[pixel(p) for p in clip] for clip in clips.data] == [[2, 12], [5]]
    assert load_ck_plus(root, pattern=pattern).frame.tolist() == [2, 12, 5]
    with pytest.raises(ValueError, match="does not match the CK\\+ pattern"):
        load_ck_plus(root)  # the default pattern wants S<subject>_<sequence>_<frame>


@pytest.mark.parametrize(
    ("pattern", "error", "match"),
    [
        (r"^(?P<subject>S\d+)_(?P<sequence>\d+)", ValueError, "lacks the named group.*frame"),
        (r"^(S\d+)_(\d+)_(\d+)", ValueError, "subject, sequence, frame"),
        (r"^(?P<subject>S\d+", ValueError, "not a valid regular expression"),
        (42, TypeError, "must be a str or a compiled re.Pattern"),
        (r"^(?P<subject>S\d+)_(?P<sequence>\d+)_(?P<frame>\w+)", ValueError, "is not a number"),
    ],
)
def test_bad_pattern(tmp_path, pattern, error, match):
    root = make_ck48(tmp_path, {"happy/S005_001_0000000a.png": 1})
    with pytest.raises(error, match=match):
        load_ck_plus(root, pattern=pattern)


def test_default_pattern_constant():
    match = re.match(DEFAULT_PATTERN, "S005_001_00000011.png")
    assert match.group("subject", "sequence", "frame") == ("S005", "001", "00000011")


def test_load_dataset_detects_the_original_layout(tmp_path):
    from fersk.datasets import load_dataset

    root = tmp_path / "CK+"
    make_original(root)
    detected = load_dataset(root, as_clips=True)
    direct = load_ck_plus(root, as_clips=True)
    assert detected.data == direct.data and detected.subject.tolist() == direct.subject.tolist()
