"""fersk.evaluation.plot: each plot draws the data it is given (checked on the figure's artists,
not its pixels)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from fersk.evaluation.plot import (  # noqa: E402
    plot_confusion_matrix,
    plot_groups,
    plot_history,
    plot_landmarks,
    plot_recall,
    plot_timeline,
)


def test_confusion_matrix_counts_and_recall():
    y_true = ["happy", "happy", "sad", "sad", "sad", "fear"]
    y_pred = ["happy", "sad", "sad", "sad", "happy", "fear"]
    fig = plot_confusion_matrix(y_true, y_pred, labels=["fear", "happy", "sad"])
    counts, recall = (ax.images[0].get_array() for ax in fig.axes[:2])
    assert counts.tolist() == [[1, 0, 0], [0, 1, 1], [0, 1, 2]]
    np.testing.assert_allclose(np.diag(recall), [1.0, 0.5, 2 / 3])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["fear", "happy", "sad"]


def test_recall_bars_per_model_and_class():
    fig = plot_recall({"cnn": {"happy": 0.9, "sad": 0.4}, "landmarks": {"happy": 0.7}})
    cnn, landmarks = fig.axes[0].containers
    assert [b.get_height() for b in cnn] == [0.9, 0.4]
    assert landmarks[0].get_height() == 0.7 and np.isnan(landmarks[1].get_height())
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["cnn", "landmarks"]


def test_groups_history_and_landmarks():
    fig = plot_groups({"s01": {"war": 0.8, "uar": 0.6}, "s02": {"war": 0.4, "uar": 0.5}})
    war, uar = fig.axes[0].containers
    assert [b.get_height() for b in uar] == [0.6, 0.5]
    history = [{"epoch": e, "train_loss": 2 - e / 10} for e in range(1, 6)]
    fig = plot_history(history)
    assert fig.axes[0].lines[0].get_ydata().tolist() == [1.9, 1.8, 1.7, 1.6, 1.5]
    assert len(fig.axes) == 1  # no validation: no accuracy axis
    points = np.arange(136, dtype=float).reshape(68, 2) % 50
    fig = plot_landmarks(np.zeros((50, 50), np.uint8), points.ravel())
    assert fig.axes[0].collections[0].get_offsets().shape == (68, 2)
    assert not fig.axes[0].texts


def test_timeline_of_a_stream():
    rows = []
    for i in range(20):
        present = not 8 <= i < 12
        rows.append(
            {
                "frame": i,
                "time_s": i / 10,
                "face_found": present,
                "track": 0 if present else -1,
                "raw_label": "happiness" if i % 3 else "neutral",
                "label": "happiness" if i > 4 else "neutral",
                "motion": i in (3, 4),
                "p_happiness": i / 20,
                "p_neutral": 1 - i / 20,
            }
        )
    fig = plot_timeline(rows)
    labels, probabilities = fig.axes
    assert [line.get_label() for line in probabilities.lines] == ["happiness", "neutral"]
    assert len(probabilities.lines[0].get_xdata()) == 16  # the face's frames only
    shaded = [p for p in labels.patches]
    assert len(shaded) == 4 + 2  # 4 frames without the face, 2 in motion
