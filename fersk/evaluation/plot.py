"""Pictures of results: confusion matrices, recall bars, levels, training curves, landmarks, video.

Every function draws on a new figure (``plot_recall``, ``plot_groups``,
``plot_history`` and ``plot_landmarks`` draw on ``ax=`` when given) and
returns the matplotlib ``Figure``; nothing is shown or saved
(``fig.savefig(path)``), and the matplotlib backend is left as it is.
matplotlib is an optional dependency (``pip install fersk[plot]``; the demo and
the test extras install it), imported when a function is called.

Examples
--------
>>> from fersk.evaluation.plot import plot_confusion_matrix
>>> fig = plot_confusion_matrix(["happy", "sad", "sad"], ["happy", "sad", "happy"])
>>> [ax.get_title() for ax in fig.axes][:2]
['counts', 'row-normalised (recall on the diagonal)']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_groups",
    "plot_history",
    "plot_landmarks",
    "plot_recall",
    "plot_timeline",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "fersk.evaluation.plot needs matplotlib: pip install 'fersk[plot]'"
        ) from None
    return plt


def _figure(ax, *, n_axes: int = 1, size=(6.4, 4.0)):
    plt = _pyplot()
    if ax is not None:
        return ax.figure, [ax] if n_axes == 1 else ax
    fig, axes = plt.subplots(1, n_axes, figsize=size, squeeze=False)
    return fig, list(axes[0])


def plot_confusion_matrix(y_true, y_pred, labels: Sequence | None = None):
    """Confusion matrices side by side: counts, and normalised by row (recall on the diagonal).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : sequence or None
        Class order (default: every label in either, sorted).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes, titled ``"counts"`` and ``"row-normalised (recall on the diagonal)"``.

    See Also
    --------
    sklearn.metrics.ConfusionMatrixDisplay : what draws each matrix.

    Examples
    --------
    >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], labels=[0, 1])
    >>> fig.axes[0].images[0].get_array().tolist()
    [[1, 0], [1, 1]]
    """
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = list(labels)
    fig, axes = _figure(
        None, n_axes=2, size=(2.6 + 1.1 * len(labels) * 2, 1.6 + 0.55 * len(labels))
    )
    for ax, normalize, title in [
        (axes[0], None, "counts"),
        (axes[1], "true", "row-normalised (recall on the diagonal)"),
    ]:
        matrix = confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
        display = ConfusionMatrixDisplay(matrix, display_labels=[str(x) for x in labels])
        display.plot(ax=ax, colorbar=False, values_format=".2f" if normalize else "d",
                     cmap="Blues", xticks_rotation=45)  # fmt: skip
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_recall(recalls: Mapping[str, Mapping[str, float]], *, ax=None, title: str = ""):
    """Per-class recall bars for several models side by side.

    Parameters
    ----------
    recalls : mapping
        ``{model name: {class: recall}}`` (fractions or percentages).
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    See Also
    --------
    fersk.evaluation.metrics.per_class_recall : the numbers.

    Examples
    --------
    >>> fig = plot_recall({"a": {"happy": 0.9, "sad": 0.5}, "b": {"happy": 0.8, "sad": 0.7}})
    >>> [len(c) for c in fig.axes[0].containers]
    [2, 2]
    """
    fig, (axis,) = _figure(ax, size=(7, 3.6))
    models = list(recalls)
    classes = list(dict.fromkeys(c for m in models for c in recalls[m]))
    width = 0.8 / max(1, len(models))
    x = np.arange(len(classes))
    for k, model in enumerate(models):
        values = [recalls[model].get(c, np.nan) for c in classes]
        axis.bar(x + (k - (len(models) - 1) / 2) * width, values, width, label=str(model))
    axis.set_xticks(x, classes, rotation=30, ha="right")
    axis.set_ylabel("recall")
    axis.legend(fontsize=8)
    if title:
        axis.set_title(title)
    fig.tight_layout()
    return fig


def plot_groups(groups: Mapping, *, ax=None, title: str = "", xlabel: str = "group"):
    """WAR and UAR per group: clarity level, subject, fold (from ``grouped_war_uar``).

    Parameters
    ----------
    groups : mapping
        ``{group: {"war": float, "uar": float, ...}}``, e.g. the ``"groups"``
        of :func:`fersk.evaluation.metrics.grouped_war_uar` or the ``"levels"`` of
        :func:`fersk.study.evaluate`.
    ax : matplotlib Axes, optional
    title, xlabel : str

    Returns
    -------
    matplotlib.figure.Figure

    See Also
    --------
    fersk.evaluation.metrics.grouped_war_uar, fersk.evaluation.metrics.per_subject_accuracy

    Examples
    --------
    >>> fig = plot_groups({0: {"war": 0.5, "uar": 0.4}, 1: {"war": 0.7, "uar": 0.6}})
    >>> [float(bar.get_height()) for bar in fig.axes[0].containers[0]]
    [0.5, 0.7]
    """
    fig, (axis,) = _figure(ax, size=(max(4, 0.7 * len(groups) + 2), 3.4))
    names = [str(g) for g in groups]
    x = np.arange(len(names))
    war = [float(v["war"]) for v in groups.values()]
    uar = [float(v["uar"]) for v in groups.values()]
    axis.bar(x - 0.2, war, 0.4, label="WAR")
    axis.bar(x + 0.2, uar, 0.4, label="UAR")
    axis.set_xticks(x, names, rotation=30 if len(names) > 6 else 0)
    axis.set_xlabel(xlabel)
    axis.legend(fontsize=8)
    if title:
        axis.set_title(title)
    fig.tight_layout()
    return fig


def plot_history(history, *, ax=None):
    """A CNN's training curves: training and validation loss, and validation accuracy.

    Parameters
    ----------
    history : skorch History, a fitted ``CNNClassifier`` (or a pipeline ending
        in one), or a list of per-epoch dicts with ``epoch``, ``train_loss``
        and optionally ``valid_loss``, ``valid_acc``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Losses on the left axis; accuracy (when validated) on a twin right axis.

    See Also
    --------
    fersk.cnn.CNNClassifier

    Examples
    --------
    >>> fig = plot_history([{"epoch": 1, "train_loss": 1.9, "valid_loss": 1.8, "valid_acc": 0.3},
    ...                     {"epoch": 2, "train_loss": 1.5, "valid_loss": 1.6, "valid_acc": 0.4}])
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['train loss', 'valid loss']
    """
    if hasattr(history, "steps"):  # a pipeline: its last step
        history = history.steps[-1][1]
    if hasattr(history, "history"):
        history = history.history
    epochs = [dict(e) for e in history]
    fig, (axis,) = _figure(ax, size=(6, 3.6))
    x = [e["epoch"] for e in epochs]
    axis.plot(x, [e["train_loss"] for e in epochs], label="train loss")
    if epochs and "valid_loss" in epochs[0]:
        axis.plot(x, [e["valid_loss"] for e in epochs], label="valid loss")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.legend(loc="upper left", fontsize=8)
    if epochs and "valid_acc" in epochs[0]:
        twin = axis.twinx()
        twin.plot(x, [e["valid_acc"] for e in epochs], color="tab:green", ls="--")
        twin.set_ylabel("valid accuracy", color="tab:green")
    fig.tight_layout()
    return fig


def plot_landmarks(image, points, *, indices: bool = False, ax=None):
    """Landmarks over a face: 68 or 5 points, optionally numbered.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
    points : array-like of shape (L, 2) or (2 * L,)
        ``x, y`` in the image's pixels (a row of ``LandmarkExtractor``).
    indices : bool, default=False
        Write each point's index next to it.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    See Also
    --------
    fersk.LandmarkExtractor, fersk._core.layout.REGIONS_68

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_landmarks(np.zeros((10, 10)), [[2, 3], [7, 3], [5, 6]], indices=True)
    >>> fig.axes[0].collections[0].get_offsets().tolist(), len(fig.axes[0].texts)
    ([[2.0, 3.0], [7.0, 3.0], [5.0, 6.0]], 3)
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    fig, (axis,) = _figure(ax, size=(4, 4))
    image = np.asarray(image)
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
    axis.scatter(points[:, 0], points[:, 1], s=8, c="tab:red")
    if indices:
        for i, (x, y) in enumerate(points):
            axis.annotate(str(i), (x, y), fontsize=6, color="yellow", xytext=(2, 2),
                          textcoords="offset points")  # fmt: skip
    axis.set_axis_off()
    fig.tight_layout()
    return fig


def plot_timeline(rows, *, track: int | None = None):
    """A video's emotions over time for one face: raw vs smoothed label, class probabilities.

    Stretches where the track's face was not found are shaded gray, motion
    segments (the stream's ``motion`` flag) orange.

    Parameters
    ----------
    rows : pandas.DataFrame or list of dict
        The stream's rows (``fersk video --csv``, ``VideoAnalyzer.stream``).
    track : int or None
        The face track to draw (default: the one with the most rows).

    Returns
    -------
    matplotlib.figure.Figure
        Two stacked axes: labels (raw dots, smoothed line) and the smoothed
        probability of every class.

    See Also
    --------
    fersk.video.VideoAnalyzer

    Examples
    --------
    >>> rows = [{"frame": i, "time_s": i / 10, "face_found": i != 3, "track": 0 if i != 3 else -1,
    ...          "raw_label": "happy" if i > 4 else "neutral", "label": "neutral",
    ...          "motion": i in (5, 6), "p_happy": i / 10, "p_neutral": 1 - i / 10}
    ...         for i in range(10)]
    >>> fig = plot_timeline(rows)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['label', 'probability']
    """
    import pandas as pd

    plt = _pyplot()
    frame = pd.DataFrame(rows)
    faces = frame[frame["face_found"].astype(bool)]
    if track is None:
        track = int(faces["track"].value_counts().idxmax()) if len(faces) else -1
    one = faces[faces["track"] == track].sort_values("time_s")
    classes = [c[2:] for c in frame.columns if c.startswith("p_")]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.8), sharex=True)
    position = {name: k for k, name in enumerate(classes)}
    times = one["time_s"].to_numpy(dtype=float)
    raw = [position.get(str(v), np.nan) for v in one["raw_label"]]
    smooth = [position.get(str(v), np.nan) for v in one["label"]]
    top.scatter(times, raw, s=6, color="0.6", label="raw (per frame)")
    top.step(times, smooth, where="post", color="tab:blue", label="smoothed")
    top.set_yticks(range(len(classes)), classes)
    top.set_ylabel("label")
    top.legend(loc="upper right", fontsize=7)
    for name in classes:
        bottom.plot(times, one[f"p_{name}"].to_numpy(dtype=float), label=name)
    bottom.set_ylabel("probability")
    bottom.set_xlabel("time (s)")
    bottom.legend(loc="upper right", fontsize=7, ncol=min(4, len(classes)))
    # Shading: the face absent (every frame without this track), motion segments.
    all_times = frame.drop_duplicates("frame")["time_s"].to_numpy(dtype=float)
    present = np.isin(all_times, times)
    moving = np.isin(all_times, one.loc[one["motion"].astype(bool), "time_s"].to_numpy(float))
    step = float(np.median(np.diff(all_times))) if len(all_times) > 1 else 0.04
    for axis in (top, bottom):
        for mask, colour in ((~present, "0.85"), (moving, "tab:orange")):
            for t in all_times[mask]:
                axis.axvspan(t - step / 2, t + step / 2, color=colour, alpha=0.35, lw=0)
    top.set_title(f"track {track}: gray = no face, orange = motion")
    fig.tight_layout()
    return fig
