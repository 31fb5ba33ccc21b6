"""Tests for fersk.datasets.dfew: fake DFEW trees in the distributed layout."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from fersk.datasets._base import EMOTIONS, canonical_emotion
from fersk.datasets.dfew import DFEW_FOLDS, DFEW_LABELS, dfew_cv, dfew_folds, load_dfew
from fersk.io import natural_sorted

# DFEW's README: 1 Happy, 2 Sad, 3 Neutral, 4 Angry, 5 Surprise, 6 Disgust, 7 Fear.
OFFICIAL_NAMES = ["Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Fear"]
N_CLIPS = 12
CLIPS = list(range(1, N_CLIPS + 1))


def label_of(clip: int) -> int:
    return (clip * 3) % 7 + 1


def home_fold(clip: int) -> int:
    return (clip - 1) % 5 + 1


def folds_of(clips: list[int]) -> dict[int, tuple[list[int], list[int]]]:
    """Official-style folds: fold k tests the clips with (clip - 1) % 5 == k - 1."""
    return {
        k: ([c for c in clips if home_fold(c) != k], [c for c in clips if home_fold(c) == k])
        for k in DFEW_FOLDS
    }


def write_csv(path: Path, clips: list[int], *, header: str | None = "video_name,label") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"{c},{label_of(c)}" for c in clips]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")


def write_frames(folder: Path, clip: int, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        frame = np.full((8, 8, 3), label_of(clip) * 30, dtype=np.uint8)
        assert cv2.imwrite(str(folder / name), frame)


def make_dfew(
    root: Path,
    clips: list[int] = CLIPS,
    *,
    folds: dict[int, tuple[list[int], list[int]]] | None = None,
    on_disk: list[int] | None = None,
    split_names: tuple[str, str] = ("train(single-labeled)", "test(single-labeled)"),
) -> Path:
    folds = folds_of(clips) if folds is None else folds
    for k, (train, test) in folds.items():
        write_csv(root / "EmoLabel_DataSplit" / split_names[0] / f"set_{k}.csv", train)
        write_csv(root / "EmoLabel_DataSplit" / split_names[1] / f"set_{k}.csv", test)
    for clip in clips if on_disk is None else on_disk:
        cid = f"{clip:05d}"
        write_frames(root / "Clip" / "clip_224x224" / cid, clip, [f"{cid}_00001.jpg"])
    return root


def clip_labels(bunch) -> list[str]:
    return [bunch.target_names[t] for t in bunch.target]


def expected_labels(clip_ids) -> list[str]:
    return [canonical_emotion(OFFICIAL_NAMES[label_of(int(c)) - 1]) for c in clip_ids]


@pytest.fixture
def dfew(tmp_path) -> Path:
    return make_dfew(tmp_path / "DFEW")


# ------------------------------------------------------------------ loading


def test_labels_constant():
    assert DFEW_LABELS == tuple(canonical_emotion(n) for n in OFFICIAL_NAMES)
    assert set(DFEW_LABELS) <= set(EMOTIONS) and len(set(DFEW_LABELS)) == 7


def test_fold_contents_and_labels(dfew):
    for k in DFEW_FOLDS:
        train, test = folds_of(CLIPS)[k]
        bunch = load_dfew(dfew, fold=k)
        assert bunch.clip_id.tolist() == [f"{c:05d}" for c in CLIPS]
        expected_split = ["test" if c in test else "train" for c in CLIPS]
        assert bunch.split.tolist() == expected_split
        assert clip_labels(bunch) == expected_labels(bunch.clip_id)
        assert bunch.target.dtype == np.int64
        assert list(bunch.target_names) == [e for e in EMOTIONS if e in bunch.target_names]
        assert bunch.subject is None
        assert bunch.filenames == bunch.data
        for path, cid in zip(bunch.data, bunch.clip_id):
            assert os.path.isabs(path) and os.path.isdir(path)
            assert Path(path).name == cid and Path(path).parent.name == "clip_224x224"
        assert f"{N_CLIPS} samples" in bunch.DESCR and f"fold {k}" in bunch.DESCR
        tr = load_dfew(dfew, fold=k, subset="train")
        te = load_dfew(dfew, fold=k, subset="test")
        assert tr.clip_id.tolist() == [f"{c:05d}" for c in train]
        assert te.clip_id.tolist() == [f"{c:05d}" for c in test]
        assert tr.target_names == te.target_names == bunch.target_names


def test_union_and_partition(dfew):
    union = load_dfew(dfew)
    assert union.clip_id.tolist() == [f"{c:05d}" for c in CLIPS]
    assert union.split.tolist() == ["unknown"] * N_CLIPS
    assert clip_labels(union) == expected_labels(union.clip_id)
    assert union.fold_split.shape == (N_CLIPS, 5)
    for i, clip in enumerate(CLIPS):
        row = ["test" if home_fold(clip) == k else "train" for k in DFEW_FOLDS]
        assert union.fold_split[i].tolist() == row
    test_sets = [set(load_dfew(dfew, fold=k, subset="test").clip_id) for k in DFEW_FOLDS]
    assert sum(len(s) for s in test_sets) == N_CLIPS
    assert set().union(*test_sets) == set(union.clip_id)
    with pytest.raises(ValueError, match="subset='train' needs a fold"):
        load_dfew(dfew, subset="train")


def test_dfew_folds_match_load_dfew(dfew):
    seen = []
    for fold, train, test in dfew_folds(dfew):
        seen.append(fold)
        assert set(train.split) == {"train"} and set(test.split) == {"test"}
        assert not set(train.clip_id) & set(test.clip_id)
        assert train.target_names == test.target_names
        for part, subset in ((train, "train"), (test, "test")):
            ref = load_dfew(dfew, fold=fold, subset=subset)
            assert part.data == ref.data
            assert part.target.tolist() == ref.target.tolist()
    assert seen == [1, 2, 3, 4, 5]


class MeanPixel(BaseEstimator, ClassifierMixin):
    """Toy clip classifier: nearest neighbour on the mean pixel of the clip's frames."""

    def fit(self, X, y):
        self.knn_ = KNeighborsClassifier(n_neighbors=1).fit(self._features(X), y)
        self.classes_ = self.knn_.classes_
        return self

    def predict(self, X):
        return self.knn_.predict(self._features(X))

    @staticmethod
    def _features(X):
        rows = []
        for folder in X:
            frames = [
                cv2.imread(os.path.join(folder, n)) for n in natural_sorted(os.listdir(folder))
            ]
            rows.append([float(np.mean(frames))])
        return np.array(rows)


def test_dfew_cv_official_folds_and_cross_val_score(tmp_path):
    # 21 clips: every label occurs in every fold's train part.
    clips = list(range(1, 22))
    root = make_dfew(tmp_path, clips)
    union = load_dfew(root)
    cv = dfew_cv(union)
    assert len(cv) == 5
    for k, (train_idx, test_idx) in zip(DFEW_FOLDS, cv):
        assert union.clip_id[test_idx].tolist() == [f"{c:05d}" for c in folds_of(clips)[k][1]]
        assert sorted(train_idx.tolist() + test_idx.tolist()) == list(range(len(clips)))
    tests = np.concatenate([t for _, t in cv])
    assert sorted(tests.tolist()) == list(range(len(clips)))
    X = np.array(union.data, dtype=object)
    scores = cross_val_score(MeanPixel(), X, union.target, cv=cv)
    assert scores.shape == (5,)
    assert np.allclose(scores, 1.0)  # frame values encode the label


def test_dfew_cv_needs_union(dfew):
    with pytest.raises(ValueError, match=r"load_dfew\(root, fold=None\)"):
        dfew_cv(load_dfew(dfew, fold=1))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        # clip 6 also in fold 2's test list (and out of its train list)
        ("twice", r"1 clips are in several test lists: 00006"),
        # clip 6 moved from fold 1's test list to its train list: in no test list
        ("never", r"1 clips are in no test list: 00006"),
        # clip 6 dropped from fold 3 entirely
        ("absent", r"1 clips are missing from some fold's train and test lists: 00006"),
    ],
)
def test_dfew_cv_checks_partition(tmp_path, change, match):
    folds = folds_of(CLIPS)
    train2, test2 = folds[2]
    train1, test1 = folds[1]
    train3, test3 = folds[3]
    if change == "twice":
        folds[2] = ([c for c in train2 if c != 6], [*test2, 6])
    elif change == "never":
        folds[1] = ([*train1, 6], [c for c in test1 if c != 6])
    else:
        folds[3] = ([c for c in train3 if c != 6], test3)
    union = load_dfew(make_dfew(tmp_path, folds=folds))
    with pytest.raises(ValueError, match=match):
        dfew_cv(union)


# ------------------------------------------------------------ layout variants


def test_natural_order_unpadded_ids_and_videos(tmp_path):
    clips = [2, 10, 1]
    folds = {k: ([10, 1], [2]) for k in DFEW_FOLDS}
    root = make_dfew(tmp_path, clips, folds=folds, on_disk=[])
    videos = tmp_path / "Clip" / "original"
    videos.mkdir(parents=True)
    for clip in clips:
        (videos / f"{clip}.mp4").write_bytes(b"\0")
    (videos / "notes.txt").write_text("ignored")
    bunch = load_dfew(root, fold=1, frames="original")
    assert bunch.clip_id.tolist() == ["00001", "00002", "00010"]
    assert [Path(p).name for p in bunch.data] == ["1.mp4", "2.mp4", "10.mp4"]
    assert bunch.split.tolist() == ["train", "test", "train"]


def test_16f_frames_folder_in_time_order(tmp_path):
    root = make_dfew(tmp_path, [1, 2, 3, 4, 5], on_disk=[])
    for clip in range(1, 6):
        names = [f"{i}.jpg" for i in range(1, 17)]
        write_frames(tmp_path / "Clip" / "clip_224x224_16f" / f"{clip:05d}", clip, names)
    bunch = load_dfew(root, frames="clip_224x224_16f")
    assert len(bunch.data) == 5
    listed = natural_sorted(os.listdir(bunch.data[0]))
    assert listed == [f"{i}.jpg" for i in range(1, 17)]  # time order, not 1, 10, 11, ...
    with pytest.raises(FileNotFoundError, match=r"clip set 'clip_224x224'.*clip_224x224_16f"):
        load_dfew(root)


def test_part_folders_padded_csv_and_headerless(tmp_path):
    root = tmp_path / "DFEW"
    split = root / "EmoLabel_DataSplit"
    for k in DFEW_FOLDS:
        (split / "train(single_labeled)").mkdir(parents=True, exist_ok=True)
        (split / "train(single_labeled)" / f"set_{k}.csv").write_text(
            "\ufeffvideo_name,label,extra\n00001,1,x\n01601,5,y\n"
        )
        write_csv(split / "test_single-labeled" / f"set_{k}.csv", [3], header=None)
    frames = root / "Clip" / "clip_224x224"
    write_frames(frames / "clip_224x224_part_1" / "00001", 1, ["00001_00001.jpg"])
    write_frames(frames / "clip_224x224_part_1" / "00003", 3, ["00003_00001.jpg"])
    write_frames(frames / "clip_224x224_part_2" / "01601", 1601, ["01601_00001.jpg"])
    bunch = load_dfew(tmp_path, fold=4)  # the root's only child holds the DFEW tree
    assert bunch.clip_id.tolist() == ["00001", "00003", "01601"]
    assert clip_labels(bunch) == [
        "happiness",
        canonical_emotion(OFFICIAL_NAMES[label_of(3) - 1]),
        "surprise",
    ]
    assert [Path(p).parent.name for p in bunch.data] == [
        "clip_224x224_part_1",
        "clip_224x224_part_1",
        "clip_224x224_part_2",
    ]


# ------------------------------------------------------------------- errors


def test_missing_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dfew(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"no EmoLabel_DataSplit.*expected the DFEW layout"):
        load_dfew(tmp_path)
    (tmp_path / "EmoLabel_DataSplit" / "train(single-labeled)").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no test\(single-labeled\) folder.*found: train"):
        load_dfew(tmp_path)
    (tmp_path / "EmoLabel_DataSplit" / "test(single-labeled)").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no Clip folder"):
        load_dfew(tmp_path)
    (tmp_path / "Clip" / "clip_224x224").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"split file not found: .*set_1\.csv"):
        load_dfew(tmp_path, fold=1)


def test_missing_clips_named_with_count(tmp_path):
    root = make_dfew(tmp_path, on_disk=[1, 2, 3, 11, 12])
    message = re.escape("7 of 12 clips listed in") + r".*00004, 00005, 00006, 00007, 00008, \.\.\."
    with pytest.raises(FileNotFoundError, match=message):
        load_dfew(root)
    with pytest.raises(FileNotFoundError, match=r"missing from .*clip_224x224"):
        load_dfew(root, fold=2)


def test_clip_present_twice(tmp_path):
    root = make_dfew(tmp_path)
    write_frames(root / "Clip" / "clip_224x224" / "part_9" / "00004", 4, ["a.jpg"])
    with pytest.raises(ValueError, match="clip 00004 is present twice"):
        load_dfew(root)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("video_name,label\n1,0\n", r"line 2: label '0' of clip 00001 is not in 1\.\.7"),
        ("video_name,label\n1,8\n", r"line 2: label '8' of clip 00001"),
        ("video_name,label\n1,happy\n", r"label 'happy' of clip 00001"),
        ("video_name,label\nclip1,1\n", r"line 2: video_name 'clip1' is not a clip number"),
        ("video_name,label\n1,1\n\n00001,1\n", r"line 4: clip 00001 is listed twice"),
        ("video_name,label\n1\n", r"line 2: expected video_name and label columns"),
        ("name,emotion\n1,1\n", r"line 1: expected a 'video_name,label' header"),
        ("video_name,label\n", r"lists no clips"),
    ],
)
def test_bad_split_file(tmp_path, content, match):
    root = make_dfew(tmp_path)
    (root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_3.csv").write_text(content)
    with pytest.raises(ValueError, match=r"set_3\.csv.*" + match):
        load_dfew(root, fold=3)


def test_inconsistent_lists(tmp_path):
    folds = folds_of(CLIPS)
    train, test = folds[2]
    folds[2] = (train, [*test, train[0]])
    root = make_dfew(tmp_path, folds=folds)
    message = rf"1 clips are in both the train and the test list of fold 2.*{train[0]:05d}"
    with pytest.raises(ValueError, match=message):
        load_dfew(root, fold=2)
    with pytest.raises(ValueError, match=rf"clip {train[0]:05d} is in both .* of fold 2"):
        load_dfew(root)
    load_dfew(root, fold=1)  # the other folds are fine

    other = make_dfew(tmp_path / "relabelled")
    path = other / "EmoLabel_DataSplit" / "train(single-labeled)" / "set_5.csv"
    path.write_text(
        path.read_text().replace(f"\n1,{label_of(1)}\n", f"\n1,{label_of(1) % 7 + 1}\n")
    )
    with pytest.raises(
        ValueError, match=r"clip 00001 has label \d in .*set_1\.csv but label \d in"
    ):
        load_dfew(other)


@pytest.mark.parametrize("fold", [0, 6, True, "1", 1.0])
def test_bad_fold(dfew, fold):
    with pytest.raises(ValueError, match="fold must be None or one of"):
        load_dfew(dfew, fold=fold)


@pytest.mark.parametrize("frames", ["", "..", "Clip/clip_224x224", "../x", 3])
def test_bad_frames(dfew, frames):
    with pytest.raises(ValueError, match="frames must name one folder"):
        load_dfew(dfew, frames=frames)


def test_bad_subset(dfew):
    with pytest.raises(ValueError, match="subset must be one of"):
        load_dfew(dfew, fold=1, subset="training")
    with pytest.raises(ValueError, match="subset='val' selects no samples"):
        load_dfew(dfew, fold=1, subset="val")


def test_load_dataset_detects_dfew_and_passes_the_fold(dfew):
    from fersk.datasets import load_dataset

    direct = load_dfew(dfew, fold=2, subset="test")
    detected = load_dataset(dfew, subset="test", fold=2)
    assert detected.data == direct.data
    assert detected.target.tolist() == direct.target.tolist()
