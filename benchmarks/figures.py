"""Pictures of the benchmark results: one figure per benchmark kind, drawn from its JSON record.

    python benchmarks/figures.py            # redraw results/<name>.png from every results JSON

Every function here takes the record that :func:`_common.write_results` saves
as ``<name>.json`` (keys ``benchmark``, ``date``, ``environment``,
``settings``, ``results``) and returns a matplotlib ``Figure`` showing what the
benchmark found; nothing is rerun. :data:`FIGURES` maps a benchmark-name
prefix (``"fusion"`` for ``fusion_fer2013_48px``) to its function and
:func:`draw` picks it. ``dask_scaling`` and ``shipped_models`` have no entry:
their scripts draw their own PNG.

Figures are built on the Agg canvas directly (``matplotlib.figure.Figure``), so
the pyplot backend is left as it is; the bars, recall and learning curves come
from :mod:`fersk.evaluation.plot`. Accuracies are drawn in percent, WAR next to UAR.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fersk.evaluation.plot import plot_groups, plot_history, plot_recall

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

RESULTS = Path(__file__).parent / "results"
"""Where the benchmark scripts write their results (``_common.RESULTS``)."""

DPI = 110
NO_MATPLOTLIB_NOTE = "_No figure: matplotlib is not installed (`pip install 'fersk[bench]'`)._"
"""The line :func:`_common.write_results` writes in the Markdown instead of the image link."""

Record = Mapping[str, Any]


# --------------------------------------------------------------------------- helpers


def _new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, not registered with pyplot (the backend is left alone)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _wrap(label: object, width: int = 16) -> str:
    """``label`` wrapped at spaces into lines of about ``width`` characters."""
    return "\n".join(
        textwrap.fill(line, width, break_on_hyphens=False, break_long_words=False)
        for line in str(label).split("\n")
    )


def _dataset(record: Record) -> str:
    """The dataset's name: the root folder's, else the built-in sample."""
    root = record.get("settings", {}).get("root")
    return Path(str(root)).name if root else "built-in sample"


def _war_uar(
    ax: Axes,
    rows: Mapping[str, Mapping[str, float]],
    *,
    title: str = "",
    xlabel: str = "",
    reference: str | None = None,
) -> None:
    """WAR and UAR bars side by side per row, in percent, with ``war_std``/``uar_std`` bars.

    Parameters
    ----------
    ax : matplotlib Axes
    rows : mapping
        ``{label: {"war": fraction, "uar": fraction, "war_std": ..., "uar_std": ...}}``
        (the standard deviations are optional).
    title, xlabel : str
    reference : str or None
        A row whose WAR is drawn as a dashed line across the axes (a baseline).
    """
    groups = {_wrap(k): {"war": 100 * v["war"], "uar": 100 * v["uar"]} for k, v in rows.items()}
    plot_groups(groups, ax=ax, title=title, xlabel=xlabel)
    bars = list(ax.containers[:2])
    for container, key in zip(bars, ("war_std", "uar_std")):
        std = [np.nan if v.get(key) is None else 100 * v[key] for v in rows.values()]
        if np.isfinite(std).any():
            centres = [b.get_x() + b.get_width() / 2 for b in container]
            heights = [b.get_height() for b in container]
            ax.errorbar(centres, heights, yerr=std, fmt="none", ecolor="0.25", capsize=2, lw=0.8)
        ax.bar_label(container, fmt="%.0f", label_type="center", fontsize=7, color="white")
    if reference is not None and reference in rows:
        ax.axhline(100 * rows[reference]["war"], color="0.4", ls="--", lw=0.8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 115)
    ax.set_yticks(range(0, 101, 20))
    ax.legend(loc="upper right", ncol=2, fontsize=8, frameon=False)
    # Rotate the labels when their longest line is wider than a group's slot (8 pt
    # characters are about 1/15 inch wide).
    inches = ax.get_position().width * ax.figure.get_figwidth() / max(1, len(rows))
    many = max((len(line) for k in groups for line in k.split("\n")), default=0) > 14 * inches
    for tick in ax.get_xticklabels():
        tick.set_rotation(30 if many else 0)
        tick.set_horizontalalignment("right" if many else "center")
        tick.set_fontsize(8)


def _recall(ax: Axes, recalls: Mapping[str, Mapping[str, float]], *, title: str) -> None:
    """Per-class recall bars (percent) of several models, drawn by ``plot_recall``."""
    percent = {str(m): {c: 100 * float(r) for c, r in rec.items()} for m, rec in recalls.items()}
    plot_recall(percent, ax=ax, title=title)
    ax.set_ylabel("recall (%)")
    ax.set_yticks(range(0, 101, 20))
    if len(percent) <= 3:  # one row of legend above the bars
        ax.set_ylim(0, 115)
        ax.legend(loc="upper center", ncol=len(percent), fontsize=8, frameon=False)
    else:  # beside the axes
        ax.set_ylim(0, 105)
        labels = [_wrap(m, 22) for m in percent]
        ax.legend(ax.containers, labels, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)


def _short(value: float) -> str:
    """A bar label: no decimals from 10 up, one below."""
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _finish(fig: Figure, title: str) -> Figure:
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- one per benchmark


def cnn_baseline(record: Record) -> Figure:
    """``cnn_baseline.py``: WAR/UAR (best validation epoch, test fp32 and int8), per-class
    recall on test, and the learning curves (``history``) or else the seconds per epoch.
    """
    r = record["results"]
    test = r.get("test", {})
    fig = _new_figure(14, 4.2)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.5, 1.2]})
    rows = {}
    if r.get("best_valid"):
        rows[f"validation\n(best epoch {r.get('best_epoch', '?')})"] = r["best_valid"]
    rows.update({f"test\n{k}": v["overall"] for k, v in test.items()})
    _war_uar(axes[0], rows, title="WAR and UAR")
    _recall(
        axes[1],
        {k: v["per_class_recall"] for k, v in test.items() if "per_class_recall" in v},
        title="per-class recall on the test images",
    )
    history = r.get("history")
    if history:
        plot_history(history, ax=axes[2])
        axes[2].set_title("learning curves")
    else:
        seconds = r.get("epoch_seconds", [])
        axes[2].bar(np.arange(1, len(seconds) + 1), seconds, color="tab:gray")
        if seconds:
            axes[2].axhline(np.median(seconds), color="tab:red", ls="--", lw=0.8, label="median")
            axes[2].legend(fontsize=8)
        axes[2].set_xlabel("epoch")
        axes[2].set_ylabel("seconds per epoch")
        axes[2].set_title(
            f"training on {r.get('train_device', '?')}: "
            f"{r.get('train_images_per_second', float('nan')):.0f} images/s"
        )
    ips = r.get("inference_images_per_second", {})
    size = r.get("model_bytes", {})
    return _finish(
        fig,
        f"CNN baseline on {r.get('dataset', _dataset(record))} "
        f"({'x'.join(map(str, r.get('input', [])))} input): {r.get('n_train')} train / "
        f"{r.get('n_test')} test images, {r.get('parameters', 0) / 1e6:.1f} M parameters, "
        f"CPU inference fp32 {ips.get('cpu_fp32', float('nan')):.0f} / int8 "
        f"{ips.get('cpu_int8_dynamic', float('nan')):.0f} images/s, state dict "
        f"{size.get('fp32', 0) / 2**20:.1f} / {size.get('int8_dynamic', 0) / 2**20:.1f} MiB",
    )


def compression(record: Record) -> Figure:
    """``compression.py``: test WAR against size of every variant (CNN and landmark MLP), the
    CNN variants' milliseconds per face on one core, and the spread across people and classes.
    """
    rows = record["results"]
    fig = _new_figure(15, 4.6)
    size_ax, speed_ax, fair_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1.3]})
    for model, colour in (("cnn", "tab:blue"), ("landmark mlp", "tab:orange")):
        mine = [r for r in rows if r["model"] == model]
        if not mine:
            continue
        size_ax.scatter([r["bytes"] / 2**20 for r in mine], [r["war"] for r in mine],
                        color=colour, label=model, zorder=3)  # fmt: skip
        for r in mine:
            size_ax.annotate(r["variant"] + (" *" if r.get("candidate") else ""),
                             (r["bytes"] / 2**20, r["war"]), xytext=(4, 2),
                             textcoords="offset points", fontsize=6.5, color=colour)  # fmt: skip
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    size_ax.set_xscale("log")
    size_ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    size_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    size_ax.xaxis.set_minor_formatter(NullFormatter())
    size_ax.set_xlabel("size (MiB, log scale)")
    size_ax.set_ylabel("test WAR (%)")
    size_ax.set_title("accuracy vs size (* within the tolerance of float)")
    size_ax.legend(fontsize=8)

    cnn = [r for r in rows if r["model"] == "cnn"]
    y = np.arange(len(cnn))
    for k, (key, label, colour) in enumerate(
        (("ms_per_face", "predict_proba", "tab:blue"), ("forward_ms_per_face", "forward", "0.6"))
    ):
        values = [r.get(key, {}).get("batch1", np.nan) for r in cnn]
        bars = speed_ax.barh(y + (k - 0.5) * 0.4, values, 0.4, label=label, color=colour)
        speed_ax.bar_label(bars, fmt="%.1f", fontsize=6.5, padding=2)
    speed_ax.set_yticks(y, [r["variant"] for r in cnn], fontsize=7)
    speed_ax.invert_yaxis()
    speed_ax.set_xlabel("CPU ms per face (batch 1, one core)")
    speed_ax.set_title("CNN speed")
    speed_ax.legend(fontsize=8, loc="lower right")

    y = np.arange(len(rows))
    series = (
        ("CK+ worst-decile person", lambda r: r["ck48"]["worst_decile_subject_accuracy"]),
        ("min class recall (test)", lambda r: r["min_class_recall"]),
        ("test WAR", lambda r: r["war"]),
    )
    for k, (label, value) in enumerate(series):
        bars = fair_ax.barh(y + (k - 1) * 0.27, [value(r) for r in rows], 0.27, label=label)
        fair_ax.bar_label(bars, fmt="%.0f", fontsize=6, padding=1)
    fair_ax.set_yticks(y, [f"{r['model']}: {r['variant']}" for r in rows], fontsize=7)
    fair_ax.invert_yaxis()
    fair_ax.set_xlabel("%")
    fair_ax.set_title("who pays: the worst people and classes")
    fair_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    s = record.get("settings", {})
    return _finish(
        fig,
        f"Compression of {s.get('model_resolved', s.get('model', '?'))} on "
        f"{s.get('dataset_resolved', '?')} test and CK+48; pruned variants fine-tuned "
        f"{s.get('fine_tune_epochs', '?')} epochs",
    )


def dfew(record: Record) -> Figure:
    """``dfew.py``: WAR/UAR (mean ± sd over folds) and per-class recall of each clip model."""
    r = record["results"]
    models = r["models"] if isinstance(r, Mapping) else r
    fig = _new_figure(12.5, 4.2)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    rows = {
        m["model"]: {
            "war": m["war_mean"],
            "uar": m["uar_mean"],
            "war_std": m["war_std"],
            "uar_std": m["uar_std"],
        }
        for m in models
    }
    folds = len(models[0]["folds"]) if models else 0
    _war_uar(axes[0], rows, title=f"WAR and UAR, mean ± sd over {folds} folds", xlabel="model")
    _recall(
        axes[1],
        {m["model"]: m["per_class_recall"] for m in models},
        title="per-class recall (all folds pooled)",
    )
    s = record.get("settings", {})
    clips = sum(f["n"] for f in models[0]["folds"]) if models else 0
    missing = r.get("frames_missing") if isinstance(r, Mapping) else None
    return _finish(
        fig,
        f"Clips ({_dataset(record)}): {clips} clips x {s.get('n_frames', '?')} frames, "
        f"{s.get('landmarks', '?')} landmarks, {missing} frames without a face",
    )


def fer2013_candidates(record: Record) -> Figure:
    """``fer2013_candidates.py``: WAR of every soft vote on FER2013's test split, by views."""
    votes = record["results"]["votes"]
    fig = _new_figure(12, 5.2)
    ax = fig.subplots()
    names = list(next(iter(votes.values())))
    width = 0.8 / len(votes)
    for k, (views, scores) in enumerate(votes.items()):
        x = np.arange(len(names)) + width * (k - (len(votes) - 1) / 2)
        bars = ax.bar(x, [scores[n]["all"]["war"] for n in names], width, label=views)
        ax.bar_label(bars, fmt="%.1f", fontsize=6, rotation=90, padding=2)
    ax.axhline(68, color="0.4", ls="--", lw=0.8, label="68%")
    labels = [n.replace("+", " + ") for n in names]
    ax.set_xticks(range(len(names)), labels, fontsize=7, rotation=35, ha="right")
    lows = [s[n]["all"]["war"] for s in votes.values() for n in names]
    ax.set_ylim(min(lows) - 2, 70)
    ax.set_ylabel("WAR on FER2013 test (%)")
    ax.legend(fontsize=8, loc="upper left", ncol=3)
    return _finish(fig, "cnn-fer2013 candidates: every soft vote, FER2013 test (7,178 images)")


def fer2013_posthoc(record: Record) -> Figure:
    """``fer2013_posthoc.py``: WAR of the shipped ``cnn-fer2013`` with each fix, per test split."""
    rows = record["results"]["rows"]
    bars = [(fix, views) for fix, by_views in rows.items() for views in by_views]
    splits = list(next(iter(next(iter(rows.values())).values())))
    fig = _new_figure(11, 4.4)
    ax = fig.subplots()
    width = 0.8 / len(bars)
    for k, (fix, views) in enumerate(bars):
        x = np.arange(len(splits)) + width * (k - (len(bars) - 1) / 2)
        drawn = ax.bar(x, [rows[fix][views][s]["war"] for s in splits], width,
                       label=f"{fix}, {views}")  # fmt: skip
        ax.bar_label(drawn, fmt="%.1f", fontsize=6, rotation=90, padding=2)
    ax.axhline(68, color="0.4", ls="--", lw=0.8, label="68%")
    ax.set_xticks(range(len(splits)), splits)
    lows = [rows[f][v][s]["war"] for f, v in bars for s in splits]
    ax.set_ylim(min(lows) - 2, 70)
    ax.set_ylabel("WAR on FER2013's labels (%)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _finish(fig, "cnn-fer2013 with fixes that train no new network")


def posed_faces(record: Record) -> Figure:
    """``posed_faces.py``: WAR per posed share of the output layer's weight, per test set."""
    results = record["results"]
    shares = list(results["shares"])
    fig = _new_figure(11, 4.2)
    ax = fig.subplots()
    x = [float(s) for s in shares]
    for key, label in results["columns"].items():
        ax.plot(x, [results["shares"][s][key]["war"] for s in shares], marker="o", label=label)
    for key, label in results.get("calibrated_columns", {}).items():
        ax.plot(x, [results["shares"][s][key]["war"] for s in shares], marker="s", ls="--",
                label=f"{label}, calibrated")  # fmt: skip
    ax.axvline(float(results["chosen"]), color="0.4", ls="--", lw=0.8, label="chosen")
    ax.set_xlabel("posed faces' share of the output layer's training weight")
    ax.set_ylabel("WAR (%)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _finish(fig, "cnn-ferplus's output layer relearned with posed faces (CK+48, JAFFE)")


def real_clips(record: Record) -> Figure:
    """``real_clips.py``: per clip, the share of frames saying the clip's label, per model."""
    models, clips = record["results"]["models"], record["results"]["clips"]
    fig = _new_figure(11, 4.2)
    ax = fig.subplots()
    width = 0.8 / len(models)
    for k, (name, r) in enumerate(models.items()):
        shares = [100 * r["per clip"][c]["agree"] for c in clips]
        x = np.arange(len(clips)) + width * (k - (len(models) - 1) / 2)
        ax.bar(x, shares, width, label=f"{_wrap(name, 40)} ({r['clips right']}/{len(clips)})")
    ax.set_xticks(range(len(clips)), [c.rsplit(".", 1)[0] for c in clips], rotation=40,
                  ha="right", fontsize=7)  # fmt: skip
    ax.set_ylabel("frames saying the clip's label (%)")
    ax.legend(fontsize=7)
    return _finish(fig, "Real web clips through fersk video: raw CNN vs calibrated per track")


def fusion(record: Record) -> Figure:
    """``fusion.py``: WAR/UAR and per-class recall of the CNN, the landmarks and their fusions."""
    rows = record["results"]
    fig = _new_figure(13, 4.4)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    _war_uar(
        axes[0],
        {f"{r['label']}\n(fit {r['fit_seconds']:.0f} s)": r["test"]["overall"] for r in rows},
        title="WAR and UAR on the test images",
    )
    _recall(
        axes[1],
        {r["label"]: r["test"]["per_class_recall"] for r in rows},
        title="per-class recall on the test images",
    )
    s = record.get("settings", {})
    n_test = rows[0]["test"]["overall"].get("n", "?") if rows else "?"
    return _finish(
        fig,
        f"Late fusion on {_dataset(record)}: {s.get('max_train') or 'all'} train / {n_test} "
        f"test images, CNN {s.get('size', '?')} px, max {s.get('epochs', '?')} epochs",
    )


def landmark_speed(record: Record) -> Figure:
    """``landmark_speed.py``: milliseconds per image of each backend x detector x size,
    cold with 1 and 2 jobs and cached (log scale).
    """
    rows = record["results"]
    series = [
        ("cold_1_jobs", "cold, 1 job", "tab:blue"),
        ("cold_2_jobs", "cold, 2 jobs", "tab:orange"),
        ("cached_1_job", "cached", "tab:green"),
    ]
    fig = _new_figure(10, 1.6 + 0.42 * len(rows))
    ax = fig.subplots()
    labels = [
        f"{r['backend']} · {r['detector']} · {r['input']} {r['size']} px · "
        f"{r['landmarks']} pts{' · upsample' if r.get('upsample') else ''} (n={r['n_images']})"
        for r in rows
    ]
    y = np.arange(len(rows))
    height = 0.8 / len(series)
    for k, (key, label, colour) in enumerate(series):
        ms = [1000 / r[key] if r.get(key) else np.nan for r in rows]
        bars = ax.barh(y + (k - 1) * height, ms, height, label=label, color=colour)
        if key == "cold_1_jobs":
            ax.bar_label(bars, fmt=_short, fontsize=7, padding=2)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylabel("backend · detector · input · landmarks (images timed)")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=4 * ax.get_xlim()[1])  # room for the labels
    ax.set_xlabel("milliseconds per image (log scale; lower is faster)")
    ax.grid(axis="x", which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    no_face = sum(int(r.get("no_face", 0)) for r in rows)
    return _finish(
        fig,
        f"LandmarkExtractor.transform speed ({record.get('environment', {}).get('cpu_count', '?')}"
        f" cores; images without a face: {no_face})",
    )


def study_images(record: Record) -> Figure:
    """``study_images.py``: WAR/UAR per landmarks x model, per-class recall, and WAR/UAR
    per clarity level of each configuration.
    """
    rows = record["results"]
    names = [f"{r['landmarks']} landmarks\n{r['model']}" for r in rows]
    levelled = [(n, r["test"]["levels"]) for n, r in zip(names, rows) if r["test"].get("levels")]
    ncols = max(2, len(levelled))
    fig = _new_figure(max(13, 2.4 * ncols), 8 if levelled else 4.4)
    grid = fig.add_gridspec(2 if levelled else 1, 2 * ncols)
    top = [fig.add_subplot(grid[0, :ncols]), fig.add_subplot(grid[0, ncols:])]
    _war_uar(
        top[0], {n: r["test"]["overall"] for n, r in zip(names, rows)}, title="all test images"
    )
    _recall(
        top[1],
        {n: r["test"]["per_class_recall"] for n, r in zip(names, rows)},
        title="per-class recall",
    )
    first = None
    for k, (name, levels) in enumerate(levelled):
        ax = fig.add_subplot(grid[1, 2 * k : 2 * k + 2], sharey=first)
        first = first or ax
        order = sorted(levels, key=lambda v: int(v) if str(v).isdigit() else str(v))
        _war_uar(ax, {str(v): levels[v] for v in order}, title=name, xlabel="clarity level")
        ax.title.set_fontsize(10)
        if k:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
        if k != len(levelled) - 1:
            ax.get_legend().remove()
    n = rows[0]["test"]["overall"].get("n", "?") if rows else "?"
    return _finish(
        fig,
        f"Landmark study on {_dataset(record)} ({n} test images, detector "
        f"{record.get('settings', {}).get('detector', '?')}); clarity level 0 = blurriest",
    )


def subject_conditioning(record: Record) -> Figure:
    """``subject_conditioning.py``: per landmark layout, WAR/UAR (mean ± sd over folds) of each
    variant (dashed: ``none``'s WAR), and per-subject accuracy by expressions shown.
    """
    rows = record["results"]
    layouts = list(dict.fromkeys(r["landmarks"] for r in rows))
    n_variants = max(sum(r["landmarks"] == n for r in rows) for n in layouts)
    fig = _new_figure(max(8, 0.9 * n_variants * len(layouts) + 1.5), 7.6)
    axes = fig.subplots(2, len(layouts), squeeze=False, sharey="row")
    shown_keys = list(dict.fromkeys(k for r in rows for k in r.get("by_expressions_shown", {})))
    for col, n_landmarks in enumerate(layouts):
        mine = [r for r in rows if r["landmarks"] == n_landmarks]
        _war_uar(
            axes[0, col],
            {r["variant"]: {k: r[k] for k in ("war_std", "uar_std")} | _means(r) for r in mine},
            title=f"{n_landmarks} landmarks: WAR and UAR, mean ± sd over folds",
            reference="none",
        )
        ax = axes[1, col]
        x = np.arange(len(mine))
        width = 0.8 / max(1, len(shown_keys))
        for k, key in enumerate(shown_keys):
            groups = [r.get("by_expressions_shown", {}).get(key) for r in mine]
            counts = {g["subjects"] for g in groups if g}
            ax.bar(
                x + (k - (len(shown_keys) - 1) / 2) * width,
                [100 * g["accuracy"] if g else np.nan for g in groups],
                width,
                label=f"{key} ({'/'.join(map(str, sorted(counts)))} subjects)",
            )
        ax.set_xticks(x, [r["variant"] for r in mine], rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("variant")
        ax.set_ylim(0, 122)
        ax.set_yticks(range(0, 101, 20))
        ax.set_title(f"{n_landmarks} landmarks: per-subject accuracy by expressions shown")
        ax.legend(fontsize=7, ncol=len(shown_keys), loc="upper center", frameon=False,
                  title="distinct expressions a subject shows", title_fontsize=7)  # fmt: skip
        if col == 0:
            ax.set_ylabel("mean per-subject accuracy (%)")
        else:
            axes[0, col].set_ylabel("")
    s = record.get("settings", {})
    n = rows[0]["pooled"].get("n", "?") if rows else "?"
    return _finish(
        fig,
        f"Subject conditioning on {_dataset(record)}: {n} images, leave-subject-out "
        f"{s.get('folds', '?')}-fold, {s.get('classifier', '?')} "
        "(dashed: WAR without conditioning)",
    )


def _means(row: Mapping[str, Any]) -> dict[str, float]:
    return {"war": row["war_mean"], "uar": row["uar_mean"]}


def video_stream(record: Record) -> Figure:
    """``video_stream.py``: frames/s of every video, label flips raw -> smoothed, and the
    smoothing settings' flips, lag and frame accuracy on the generated videos.
    """
    r = record["results"]
    real, generated = r.get("real") or {}, r.get("generated") or {}
    videos = {_wrap(k, 30): v for k, v in real.items()}
    videos |= {f"generated {k}": v for k, v in generated.items()}
    fig = _new_figure(13, 8)
    (speed, flips), (tradeoff, accuracy) = fig.subplots(2, 2)

    y = np.arange(len(videos))
    colours = ["tab:blue"] * len(real) + ["tab:purple"] * len(generated)
    bars = speed.barh(y, [v["fps"] for v in videos.values()], color=colours)
    faces = [
        f"{v['fps']:.0f} ({v['frames_with_a_face']}/{v['frames']} frames with a face, "
        f"{len(v['tracks'])} track{'s' * (len(v['tracks']) != 1)})"
        if "frames_with_a_face" in v
        else f"{v['fps']:.0f} ({100 * v.get('face_found_recall', np.nan):.0f}% of faces found)"
        for v in videos.values()
    ]
    speed.bar_label(bars, faces, fontsize=7, padding=2)
    speed.set_xlim(right=1.9 * max([v["fps"] for v in videos.values()], default=1))
    speed.set_yticks(y, list(videos), fontsize=7)
    speed.invert_yaxis()
    speed.set_xlabel("frames per second (one CPU core, decoding included)")
    speed.set_title("speed (blue: real videos, purple: generated)")

    # Flips: real videos raw vs smoothed; generated ones raw vs the default smoothing.
    counts = {_wrap(k, 30): (v["raw_flips"], v["smoothed_flips"]) for k, v in real.items()}
    for k, v in generated.items():
        sm = v.get("smoothing", {})
        if "raw" in sm and "default" in sm:
            counts[f"generated {k}"] = (sm["raw"]["flips"], sm["default"]["flips"])
    y = np.arange(len(counts))
    for k, (label, colour) in enumerate((("raw", "0.6"), ("smoothed", "tab:blue"))):
        bars = flips.barh(y + (k - 0.5) * 0.4, [c[k] for c in counts.values()], 0.4,
                          label=label, color=colour)  # fmt: skip
        flips.bar_label(bars, fontsize=7, padding=2)
    flips.set_yticks(y, list(counts), fontsize=7)
    flips.invert_yaxis()
    flips.set_xlabel("label changes over the video (count)")
    flips.set_title("label flips, raw per-frame -> smoothed (default settings)")
    flips.legend(fontsize=8, loc="lower right")

    for label, v in generated.items():
        sm = v.get("smoothing", {})
        lag = [s["lag_s"] for s in sm.values()]
        per_min = [s["flips_per_minute"] for s in sm.values()]
        (line,) = tradeoff.plot(lag, per_min, "o-", label=label)
        for name, x_, y_ in zip(sm, lag, per_min):
            tradeoff.annotate(name, (x_, y_), xytext=(4, 4), textcoords="offset points",
                              fontsize=7, color=line.get_color())  # fmt: skip
    tradeoff.set_xlabel("lag of the smoothed label behind the raw one (s)")
    tradeoff.set_ylabel("label flips per minute")
    tradeoff.set_title("generated videos: smoothing, stability vs lag")
    tradeoff.set_ylim(bottom=0)
    if generated:
        tradeoff.legend(fontsize=8)

    settings = list(dict.fromkeys(s for v in generated.values() for s in v.get("smoothing", {})))
    x = np.arange(len(settings))
    width = 0.8 / max(1, len(generated))
    for k, (label, v) in enumerate(generated.items()):
        sm = v.get("smoothing", {})
        bars = accuracy.bar(
            x + (k - (len(generated) - 1) / 2) * width,
            [100 * sm[s]["frame_accuracy"] if s in sm else np.nan for s in settings],
            width,
            label=label,
        )
        accuracy.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    accuracy.set_xticks(x, settings)
    accuracy.set_xlabel("smoothing setting")
    accuracy.set_ylabel("frame accuracy vs the script (%)")
    accuracy.set_ylim(0, 110)
    accuracy.set_title("generated videos: accuracy of the smoothed label")
    if generated:
        accuracy.legend(fontsize=8, ncol=2, loc="upper right")
    return _finish(fig, "Video stream mode (VideoAnalyzer)")


# --------------------------------------------------------------------------- registry


FIGURES: dict[str, Callable[[Record], Figure]] = {
    "cnn_baseline": cnn_baseline,
    "compression": compression,
    "dfew": dfew,
    "fer2013_candidates": fer2013_candidates,
    "fer2013_posthoc": fer2013_posthoc,
    "fusion": fusion,
    "posed_faces": posed_faces,
    "real_clips": real_clips,
    "landmark_speed": landmark_speed,
    "study_images": study_images,
    "subject_conditioning": subject_conditioning,
    "video_stream": video_stream,
}
"""Benchmark-name prefix -> figure function. ``dask_scaling`` and ``shipped_models`` are
left out on purpose: their scripts draw their own PNG."""


def figure_function(name: str) -> Callable[[Record], Figure] | None:
    """The figure function for a benchmark name: the longest prefix in :data:`FIGURES`.

    Parameters
    ----------
    name : str
        The results name, e.g. ``"subject_conditioning_CK+48"``; a prefix matches the
        whole name or up to an underscore.

    Returns
    -------
    callable or None
    """
    matches = [p for p in FIGURES if name == p or name.startswith(p + "_")]
    return FIGURES[max(matches, key=len)] if matches else None


def draw(record: Record) -> Figure | None:
    """The figure of a saved results record, or None when its benchmark has no function.

    Parameters
    ----------
    record : mapping
        A ``<name>.json`` record (keys ``benchmark``, ``settings``, ``results``, ...).

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    function = figure_function(str(record.get("benchmark", "")))
    return None if function is None else function(record)


def save(record: Record, out_dir: str | Path) -> Path | None:
    """Draw ``record`` into ``<out_dir>/<benchmark>.png`` and close the figure.

    Parameters
    ----------
    record : mapping
        The saved JSON record.
    out_dir : str or Path

    Returns
    -------
    Path or None
        The PNG written, or None when the benchmark has no figure function.
    """
    fig = draw(record)
    if fig is None:
        return None
    path = Path(out_dir) / f"{record['benchmark']}.png"
    try:
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)  # a no-op for our Agg figures; frees any pyplot-managed one
    return path


def link_image(md_path: str | Path, png_path: str | Path) -> bool:
    """Append ``![<name>](<name>.png)`` to a results Markdown file unless it is there.

    A :data:`NO_MATPLOTLIB_NOTE` line left by an earlier run is replaced.

    Parameters
    ----------
    md_path, png_path : str or Path
        The Markdown file, and the PNG next to it.

    Returns
    -------
    bool
        Whether the file was changed.
    """
    md_path, png_path = Path(md_path), Path(png_path)
    link = f"![{png_path.stem}]({png_path.name})"
    text = md_path.read_text()
    if link in text:
        return False
    lines = [line for line in text.rstrip("\n").split("\n") if line != NO_MATPLOTLIB_NOTE]
    md_path.write_text("\n".join(lines).rstrip("\n") + f"\n\n{link}\n")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Redraw the PNG of every results JSON that has a figure function; rerun nothing.

    Parameters
    ----------
    argv : sequence of str, optional
        ``[results folder]`` (default ``benchmarks/results``).

    Returns
    -------
    int
        The exit status: 1 when a figure failed to draw, else 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=str(RESULTS), help="results folder")
    folder = Path(parser.parse_args(argv).folder)
    failed = 0
    for json_path in sorted(folder.glob("*.json")):
        record = json.loads(json_path.read_text())
        try:
            png = save(record, folder)
        except Exception as exc:  # one odd record does not stop the others
            print(f"{json_path.name}: no figure ({exc!r})", file=sys.stderr)
            failed += 1
            continue
        if png is None:
            print(f"{json_path.name}: no figure function, skipped")
            continue
        md = json_path.with_suffix(".md")
        linked = md.exists() and link_image(md, png)
        print(f"wrote {png}" + (f" (link added to {md.name})" if linked else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
