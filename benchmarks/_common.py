"""Shared by the benchmark scripts: the train/test split they run on, and how results
are written (JSON, Markdown and a PNG figure, with the machine and versions recorded)."""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from fersk._core.environment import environment_info

RESULTS = Path(__file__).parent / "results"


def write_results(
    name: str, settings: dict, results: object, markdown: str, out_dir: str | Path = RESULTS
) -> tuple[Path, Path]:
    """Write ``<name>.json``, ``<name>.md`` and ``<name>.png`` under ``out_dir``.

    The PNG is drawn from the saved JSON by the figure function :mod:`figures`
    has for ``name`` (none for ``dask_scaling`` and ``shipped_models``, whose
    scripts draw their own), and linked at the end of the Markdown. Without
    matplotlib the Markdown gets a one-line note instead; a figure that fails
    to draw only warns (the results are written already).

    Parameters
    ----------
    name : str
        The results' file name, without suffix.
    settings : dict
        The benchmark's settings (its command-line arguments).
    results : object
        The results, JSON-serialisable (``str`` for anything else).
    markdown : str
        The Markdown body; the settings and the machine are appended.
    out_dir : str or Path, default=RESULTS

    Returns
    -------
    (Path, Path)
        The JSON and Markdown files (the PNG, when drawn, is ``<name>.png`` beside them).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = environment_info()
    record = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "environment": env,
        "settings": settings,
        "results": results,
    }
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    text = json.dumps(record, indent=2, default=str)
    json_path.write_text(text)
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    md_path.write_text(
        f"# {name}\n\n{markdown.strip()}\n\n"
        f"Settings: `{json.dumps(settings, default=str)}`\n\n"
        f"Machine: {env['cpu']} ({env['cpu_count']} cores), {env['machine']}, "
        f"Python {env['python']}; {packages}. Measured {record['date']}.\n"
    )
    _write_figure(json.loads(text), md_path)
    return json_path, md_path


def pyplot():
    """``matplotlib.pyplot`` drawing to files (the Agg backend), or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _write_figure(record: dict, md_path: Path) -> Path | None:
    """Draw ``<name>.png`` beside ``md_path`` and link it there (see :func:`write_results`)."""
    if __package__:  # imported as benchmarks._common
        from . import figures
    else:  # a benchmark script: this folder is on sys.path
        import figures

    if figures.figure_function(record["benchmark"]) is None:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with md_path.open("a") as md:
            md.write(f"\n{figures.NO_MATPLOTLIB_NOTE}\n")
        return None
    try:
        png = figures.save(record, md_path.parent)
    except Exception as exc:  # never lose a finished benchmark to its picture
        warnings.warn(f"{record['benchmark']}: no figure ({exc!r})", stacklevel=3)
        return None
    if png is not None:
        figures.link_image(md_path, png)
    return png


def subsample(target, n, seed=0) -> np.ndarray:
    """Indices of a stratified subsample of ``n`` items (all when ``n`` is None)."""
    if n is None or n >= len(target):
        return np.arange(len(target))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(target)), train_size=n, stratify=target, random_state=seed
    )
    return np.sort(keep)


def load_split(root, max_train, max_test, size, seed=0):
    """``(X_train, y_train, X_test, y_test, target_names, dataset_name)``; X are paths/arrays."""
    if root:
        from fersk.datasets import load_dataset

        train, test = load_dataset(root, subset="train"), load_dataset(root, subset="test")
        name = Path(os.path.expanduser(root)).name
    else:
        from fersk.datasets.synthetic import make_sample_faces

        data = make_sample_faces(
            n_subjects=8, n_intensities=3, blur_sigmas=(0.0, 1.2, 2.4), image_size=max(size, 48)
        )
        is_train = data.split == "train"
        from sklearn.utils import Bunch

        train = Bunch(
            data=[x for x, t in zip(data.data, is_train) if t],
            target=data.target[is_train],
            target_names=data.target_names,
        )
        test = Bunch(
            data=[x for x, t in zip(data.data, is_train) if not t],
            target=data.target[~is_train],
            target_names=data.target_names,
        )
        name = "sample"
    tr, te = subsample(train.target, max_train, seed), subsample(test.target, max_test, seed)
    names = list(train.target_names)
    print(f"{name}: {len(tr)} train / {len(te)} test images, classes {names}", flush=True)
    return (
        [train.data[i] for i in tr],
        train.target[tr],
        [test.data[i] for i in te],
        test.target[te],
        names,
        name,
    )


def dataset_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every dataset benchmark shares.

    ``root`` (default ``$FERSK_DATA``, else the built-in sample faces),
    ``--max-train``, ``--max-test``, ``--seed``, ``--name`` and ``--out``.
    """
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "root",
        nargs="?",
        default=os.environ.get("FERSK_DATA"),
        help="dataset root (default: the built-in sample faces)",
    )
    parser.add_argument("--max-train", type=int, default=None, help="stratified subsample")
    parser.add_argument("--max-test", type=int, default=None, help="stratified subsample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None, help="results file name")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    return parser


def finish(
    args: argparse.Namespace, default_name: str, rows: object, markdown: str, table: str
) -> int:
    """Write a :func:`dataset_parser` benchmark's results and print its table; return 0."""
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "name")}
    paths = write_results(args.name or default_name, settings, rows, markdown, args.out)
    print(table)
    print("wrote", *paths)
    return 0
