"""FER+: the paper's label rules, the vote distribution, and the layout as distributed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fersk.datasets import ferplus_labels, load_dataset, load_ferplus, vote_distribution

#: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, not-a-face
VOTES = {
    "fer0.png": [0, 9, 1, 0, 0, 0, 0, 0, 0, 0],  # happiness by a clear majority
    "fer1.png": [4, 0, 0, 4, 0, 0, 0, 0, 2, 0],  # a tie: no majority, no plurality
    "fer2.png": [3, 0, 0, 0, 0, 0, 0, 0, 7, 0],  # unknown: excluded
    "fer3.png": [5, 0, 0, 0, 0, 0, 0, 4, 1, 0],  # neutral by majority (the single vote dropped)
    "fer4.png": [2, 0, 0, 0, 4, 0, 2, 0, 0, 2],  # anger by plurality only
    "fer5.png": [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # not a face
}


@pytest.fixture()
def tree(tmp_path):
    for split, names in [("FER2013Train", list(VOTES)), ("FER2013Test", ["fer0.png"])]:
        folder = tmp_path / "data" / split
        folder.mkdir(parents=True)
        lines = []
        for name in names:
            cv2.imwrite(str(folder / name), np.full((48, 48), 128, np.uint8))
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, VOTES[name])))
        (folder / "label.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_the_label_rules_of_the_paper():
    votes = np.array(list(VOTES.values()))
    assert ferplus_labels(votes, "majority").tolist() == [1, -1, -1, 0, -1, -1]
    assert ferplus_labels(votes, "plurality").tolist() == [1, -1, -1, 0, 4, -1]


def test_the_vote_distribution_drops_single_votes():
    shares = vote_distribution([VOTES["fer3.png"]])
    np.testing.assert_allclose(shares, [[5 / 9, 0, 0, 0, 0, 0, 0, 4 / 9]])


def test_the_loader_keeps_labelled_images_with_their_votes(tree):
    data = load_ferplus(tree, rule="plurality")
    names = [data.target_names[t] for t in data.target]
    files = [p.rsplit("/", 1)[-1] for p in data.data]
    assert files == ["fer0.png", "fer3.png", "fer4.png", "fer0.png"]
    assert names == ["happiness", "neutral", "anger", "happiness"]
    assert data.split.tolist() == ["train", "train", "train", "test"]
    assert data.target_names == ["anger", "happiness", "neutral"]  # canonical order
    np.testing.assert_allclose(data.distribution.sum(axis=1), 1)
    assert data.votes[1].tolist() == VOTES["fer3.png"]
    # The distribution's columns follow target_names: fer3 is 5/9 neutral among those shown.
    assert data.distribution[0].argmax() == data.target[0]


def test_load_dataset_detects_the_layout_and_subsets(tree):
    test = load_dataset(tree, subset="test")
    assert len(test.data) == 1 and test.distribution.shape == (1, len(test.target_names))


def test_a_listed_image_that_is_missing_is_named(tree):
    (tree / "data" / "FER2013Train" / "fer3.png").unlink()
    with pytest.raises(FileNotFoundError, match="fer3.png"):
        load_ferplus(tree)


def test_a_malformed_label_file_is_named(tree):
    (tree / "data" / "FER2013Test" / "label.csv").write_text("fer0.png,box,1,2\n")
    with pytest.raises(ValueError, match="line 1 has 4 fields"):
        load_ferplus(tree)
