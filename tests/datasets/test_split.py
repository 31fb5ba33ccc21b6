"""split_dataset: the dataset's own split, or one by subject, reproducible and leak-free."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.datasets import DEFAULT_TEST_SIZE, make_sample_faces, split_dataset


@pytest.fixture
def faces():
    """28 sample faces: 4 subjects x 7 emotions, arrays, 3 subjects train and 1 test."""
    return make_sample_faces(n_subjects=4, n_intensities=1, blur_sigmas=(0.0,), image_size=32)


def test_the_datasets_own_split_is_used(faces):
    X, y, groups, names, how = split_dataset(faces, "test")
    test = np.flatnonzero(faces.split == "test")
    assert X.shape == (len(test), 32, 32)  # arrays (FER2013's csv) are stacked
    np.testing.assert_array_equal(X, np.stack([faces.data[i] for i in test]))
    np.testing.assert_array_equal(y, faces.target[test])
    np.testing.assert_array_equal(groups, faces.subject[test])
    assert names == list(faces.target_names)
    assert how == "7 images of 1 subjects, from the dataset's own train/test split"


def test_images_of_other_splits_are_left_out_and_counted(faces):
    faces.split = faces.split.copy()
    faces.split[:3] = "val"
    X, *_, how = split_dataset(faces, "train")
    assert len(X) == 21 - 3 and "3 images of other splits (val, unknown) not used" in how


def test_a_split_by_subject_without_leaks_reproducible(faces):
    first = split_dataset(faces, "train", test_size=0.5, seed=3)
    again = split_dataset(faces, "train", test_size=0.5, seed=3)
    test = split_dataset(faces, "test", test_size=0.5, seed=3)
    np.testing.assert_array_equal(first[0], again[0])
    assert not set(first[2]) & set(test[2])  # no subject on both sides
    assert len(first[1]) + len(test[1]) == len(faces.target)
    assert len(set(first[2])) == len(set(test[2])) == 2
    assert "a subject-independent 50%/50% split (test_size=0.5, seed=3" in first[4]
    assert "needs the same values" in first[4] and "needs" not in test[4]
    held_out = [set(split_dataset(faces, "test", test_size=0.5, seed=s)[2]) for s in range(6)]
    assert len({tuple(sorted(subjects)) for subjects in held_out}) > 1  # the seed matters


def test_without_a_split_of_its_own_the_default_share_is_held_out(faces):
    faces.split = None  # like CK+48
    _, y_train, train_groups, *_ = split_dataset(faces, "train")
    _, y_test, test_groups, _, how = split_dataset(faces, "test")
    assert DEFAULT_TEST_SIZE == 0.2 and "80%/20%" in how
    assert len(set(test_groups)) == 1 and len(y_test) == 7  # 1 subject of 4 is held out
    assert len(y_train) + len(y_test) == len(faces.target)


def test_without_subject_ids_the_split_is_stratified(faces):
    faces.subject = None
    X, y, groups, _, how = split_dataset(faces, "test", test_size=0.5)
    assert groups is None and "stratified 50%/50% split (no subject ids)" in how
    assert np.bincount(y).tolist() == [2] * 7  # 4 of each class, half of them held out


def test_max_samples_is_a_stratified_subsample(faces):
    _, y, *_ = split_dataset(faces, "train", max_samples=14)
    assert np.bincount(y, minlength=7).tolist() == [2] * 7
    names = {"max_samples": "--max-train"}
    with pytest.raises(ValueError, match="--max-train 3 is fewer than the 7 classes of the train"):
        split_dataset(faces, "train", max_samples=3, names=names)
    with pytest.raises(ValueError, match="max_samples=3 is fewer"):
        split_dataset(faces, "train", max_samples=3)


def test_bad_values_and_an_empty_dataset_are_refused(faces):
    with pytest.raises(ValueError, match="subset must be 'train' or 'test'"):
        split_dataset(faces, "val")
    with pytest.raises(ValueError, match="test_size=1.5 must be between 0 and 1"):
        split_dataset(faces, "test", test_size=1.5)
    with pytest.raises(ValueError, match="--test-size 0 must be between 0 and 1"):
        split_dataset(faces, "test", test_size=0, names={"test_size": "--test-size"})
    faces.data, faces.target, faces.split, faces.subject = [], np.zeros(0, int), None, None
    with pytest.raises(ValueError, match="the test split is empty: the dataset holds no images"):
        split_dataset(faces, "test")


def test_only_a_train_part_is_split_here(faces):
    faces.split = np.array(["train"] * len(faces.target))
    _, y, groups, _, how = split_dataset(faces, "test")
    assert len(y) == 7 and len(set(groups)) == 1 and "subject-independent" in how
