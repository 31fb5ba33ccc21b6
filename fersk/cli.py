"""The ``fersk`` command: ``demo``, ``predict``, ``video``, ``extract``, ``train``, ``evaluate``.

Every mistake on the command line (a missing input, an output that cannot be
written, a value out of range, a file that is not a fersk model) is reported
as one line on stderr with exit code 2, before any work starts; set
``FERSK_DEBUG=1`` to see the traceback instead. The work itself is fersk's
Python API: :func:`fersk.datasets.split_dataset`,
:func:`fersk.recipes.study.train_study_model`, :class:`fersk.io.ResumableCSV`,
:func:`fersk.models.load_model` and :func:`fersk.models.save_model`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["CLIError", "main"]

EXTRACT_BLOCK = 256


class CLIError(Exception):
    """A mistake in a ``fersk`` command line: reported in one line, exit code 2."""


# --------------------------------------------------------------------------
# Argument types and checks (each error names the option and the value)
# --------------------------------------------------------------------------


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value

    return parse


def _n_jobs(text: str) -> int:
    value = _int_at_least(-(2**31))(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive number of workers, or -1 (all cores)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = _seconds(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _existing(path: str, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise CLIError(f"{what} {path!r} does not exist")
    return p


def _check_cache(cache: str | None) -> None:
    if cache is not None and Path(cache).expanduser().exists() and not Path(cache).is_dir():
        raise CLIError(f"--cache {cache!r} is a file; the landmark cache needs a folder")


def _output(path: str, what: str, inputs: tuple = ()) -> str:
    from .io import check_output_path

    try:
        return check_output_path(os.path.expanduser(path), inputs=inputs, what=what)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _load_model(name: str | None):
    """``--model``: the model (one that reads images), and its name as settings record it."""
    from ._core.base import ImageInputMixin
    from ._core.pipeline_tools import find_steps
    from .models import DEFAULT_MODEL, MODELS_DIR, PickleWarning, load_model

    name = DEFAULT_MODEL if name is None else name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PickleWarning)
        try:
            model = load_model(name)
        except ValueError as exc:
            raise CLIError(f"--model {name!r}: {exc}") from None
        finally:
            for w in caught:  # said once, in one line; other warnings go on as they were
                if issubclass(w.category, PickleWarning):
                    print(
                        f"fersk: note: --model {name!r} is a pickle, and loading it runs the "
                        "code it holds: load only files you trust",
                        file=sys.stderr,
                    )
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not find_steps(model, ImageInputMixin):
        raise CLIError(
            f"--model {name!r} holds a {type(model).__name__} that does not read images (no "
            "landmark extractor, clarity binner or CNN input step); fersk commands give it "
            "images"
        )
    shipped = "/" not in name and (MODELS_DIR / name / "model.json").is_file()
    return model, name if shipped else os.path.abspath(name)


def _on_cluster(args):
    """The Dask cluster the command runs on (``--scheduler``, ``--n-workers``), or nothing."""
    if getattr(args, "scheduler", None) is None and getattr(args, "n_workers", None) is None:
        return contextlib.nullcontext()
    from ._core.distributed import cluster

    try:
        return cluster(args.scheduler, n_workers=args.n_workers)
    except ImportError as exc:
        raise CLIError(str(exc)) from None


def _list_images(root: Path) -> list[Path]:
    """Image files at or under ``root`` (hidden ones skipped), naturally sorted, absolute.

    Folders are resolved (any spelling of a folder gives the same paths); the
    files are not (a symlinked image keeps its own name, so it is one row, once).
    """
    from .io import list_image_files

    if root.is_file():
        return [root.parent.resolve() / root.name]
    base = root.resolve()
    return [base / rel for rel in list_image_files(base)]


@contextlib.contextmanager
def _resumed(out: Path, header: list[str], settings: dict, key: str, option: str):
    """The resumable CSV ``out``, locked for this run, and the input paths already in it."""
    from .io import ResumableCSV

    with ResumableCSV(out, header, settings, key=key, what=option) as table:
        if table.dropped_torn_line:
            print(f"{out}: dropped a torn last line; its input is done again", file=sys.stderr)
        yield table, {os.path.abspath(p) for p in table.done}


# --------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, quick=args.quick, n_jobs=args.n_jobs)
    return 0


def _extract(args) -> int:
    """Write landmarks to CSV block by block; a rerun resumes after an interrupt."""
    from ._core.layout import landmark_feature_names

    root = _existing(args.input, "input")
    out = Path(_output(args.out, "--out", inputs=(root,) if root.is_file() else ()))
    _check_cache(args.cache)
    paths = _list_images(root)
    header = ["path", "face_found", "failure", *landmark_feature_names(args.n_landmarks)]
    settings = {
        "command": "fersk extract",
        "n_landmarks": args.n_landmarks,
        "detector": args.detector,
        "backend": "dlib",
    }
    with _on_cluster(args), _resumed(out, header, settings, "path", "--out") as (table, done):
        todo = [p for p in paths if str(p) not in done]
        print(
            f"{len(paths)} images under {root}; {len(done)} already in {out}; extracting "
            f"{len(todo)}",
            file=sys.stderr,
        )
        return _extract_rows(args, todo, table, out)


def _extract_rows(args, todo: list[Path], table, out: Path) -> int:
    from tqdm.auto import tqdm

    from .landmarks import LandmarkExtractor

    extractor = LandmarkExtractor(
        args.n_landmarks,
        detector=args.detector,
        n_jobs=args.n_jobs,
        memory=args.cache,
        progress=False,
    )
    extractor.fit()  # checks the settings (and loads the models) before the CSV is touched
    table.write_rows([])  # a new CSV: its settings and header
    written = no_face = unreadable = 0
    try:
        with tqdm(total=len(todo), unit="img") as bar:
            for start in range(0, len(todo), EXTRACT_BLOCK):
                block = todo[start : start + EXTRACT_BLOCK]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    X = extractor.transform([str(p) for p in block])
                why = {f.index: f.reason for f in extractor.failures_}
                table.write_rows(
                    [str(p), int(i not in why), why.get(i, ""), *(f"{v:.2f}" for v in x)]
                    for i, (p, x) in enumerate(zip(block, X))
                )
                written += len(block)
                unreadable += sum(r == "unreadable" for r in why.values())
                no_face += sum(r != "unreadable" for r in why.values())
                bar.update(len(block))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {written} rows kept in {out}; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    print(
        f"wrote {written} rows to {out} ({no_face} without a face, {unreadable} unreadable)",
        file=sys.stderr,
    )
    return 0


def _photo_inputs(items: list[str]) -> dict[str, str]:
    """Every image under ``items`` once (by resolved path), with a unique annotated-copy name.

    The name is the path below its input, ``/`` as ``__``, extension kept, then
    ``.jpg`` (``p/q.png`` -> ``p__q.png.jpg``); a name taken already (or
    differing only in case) gets a counter: ``p__q.png-2.jpg``.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for item in items:
        root = _existing(item, "input")
        for path in _list_images(root):
            if str(path) in names:
                continue
            stem = path.name if root.is_file() else str(path.relative_to(root.resolve()))
            stem, name, k = stem.replace(os.sep, "__"), "", 1
            while not name or name.casefold() in taken:
                name, k = (f"{stem}.jpg" if k == 1 else f"{stem}-{k}.jpg"), k + 1
            taken.add(name.casefold())
            names[str(path)] = name
    if not names:
        raise CLIError("no image files in " + ", ".join(items))
    return names


def _annotate_folder(folder: str | None, items: list[str]) -> Path | None:
    """``--annotate``: a folder apart from the photos, made now."""
    if folder is None:
        return None
    target = Path(folder).resolve()
    if target.exists() and not target.is_dir():
        raise CLIError(f"--annotate {folder!r} is a file; give a folder")
    for item in items:  # the copies never land among (or replace) the inputs
        source = Path(item).resolve()
        source = source if source.is_dir() else source.parent
        if target == source or target.is_relative_to(source) or source.is_relative_to(target):
            raise CLIError(
                f"--annotate {folder!r} overlaps the input folder {str(source)!r}; "
                "give a folder apart from the photos"
            )
    target.mkdir(parents=True, exist_ok=True)
    return target


def _write_annotated(path: str, rows: list[dict], target: Path) -> None:
    """A copy of the photo at ``path`` with each face's box and label, written to ``target``."""
    from .io import AtomicOutput, read_image, write_image
    from .video.annotate import annotate_frame

    image = annotate_frame(read_image(path, color="rgb"), [{**r, "track": r["face"]} for r in rows])
    with AtomicOutput(target) as tmp:
        write_image(tmp, image)


def _predict(args) -> int:
    """Every face of every image: label and probabilities, to CSV (resumable) or the screen."""
    from ._core.pipeline_tools import class_names

    marked = _photo_inputs(args.inputs)
    out = Path(_output(args.csv, "--csv", inputs=tuple(marked))) if args.csv else None
    folder = _annotate_folder(args.annotate, args.inputs)
    model, model_name = _load_model(args.model)
    if out is None:
        screen = csv.writer(sys.stdout)
        screen.writerow(["file", "face", "label", "confidence", "error"])
        return _predict_files(args, list(marked), model, screen.writerows, marked, folder)
    header = [
        "file",
        "face",
        "face_found",
        "error",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "label",
        "confidence",
        *(f"p_{n}" for n in class_names(model)),
    ]
    settings = {
        "command": "fersk predict",
        "model": model_name,
        "detector": args.detector,
        "upsample": args.upsample,
    }
    with _resumed(out, header, settings, "file", "--csv") as (table, done):
        todo = [f for f in marked if f not in done]
        print(
            f"{len(marked)} images; {len(done)} already in {out}; {len(todo)} to do",
            file=sys.stderr,
        )
        table.write_rows([])  # a new CSV: its settings and header

        def write(rows: list[dict]) -> None:
            table.write_rows([row.get(k, "") for k in header] for row in rows)

        return _predict_files(args, todo, model, write, marked, folder, f"; rows in {out}")


def _predict_files(args, todo, model, write, marked, folder, where: str = "") -> int:
    from tqdm.auto import tqdm

    from .predict import predict_faces

    n_faces = n_without = n_unreadable = 0
    try:
        with tqdm(total=len(todo), unit="img", disable=len(todo) < 2) as bar:
            for path in todo:
                rows = predict_faces(
                    [path], model, detector=args.detector, upsample=args.upsample, progress=False
                ).to_dict("records")
                if folder is not None and rows[0]["face_found"]:
                    _write_annotated(path, rows, folder / marked[path])
                if where:  # an image's rows in one write: a kill never leaves half an image
                    write(rows)
                else:
                    write(
                        [
                            [
                                path,
                                r["face"],
                                r["label"],
                                ""
                                if r["confidence"] != r["confidence"]
                                else f"{r['confidence']:.3f}",
                                r["error"],
                            ]
                            for r in rows
                        ]
                    )
                n_faces += sum(bool(r["face_found"]) for r in rows)
                n_without += sum(r["error"] == "no face found" for r in rows)
                n_unreadable += sum(r["error"].startswith("unreadable") for r in rows)
                bar.update(1)
    except KeyboardInterrupt:
        print("\ninterrupted: rows of finished images kept; run again to resume", file=sys.stderr)
        return 130
    print(
        f"{len(todo)} images: {n_faces} faces, {n_without} without a face, {n_unreadable} "
        f"unreadable (skipped){where}",
        file=sys.stderr,
    )
    return 0


def _load_split(args, subset: str):
    """``args.root``'s ``subset`` (:func:`fersk.datasets.split_dataset`); says which split."""
    from .datasets import load_dataset, split_dataset

    root = _existing(args.root, "dataset")
    data = load_dataset(root)
    if (
        len(data.target)
        and isinstance(data.data[0], (str, os.PathLike))
        and os.path.isdir(data.data[0])
    ):
        raise CLIError(
            f"{root} holds video clips (one folder per clip); fersk train/evaluate fit and score "
            "image models. Use fersk.study.make_clip_pipeline in Python for clips"
        )
    option = "--max-train" if subset == "train" else "--max-test"
    names = {"test_size": "--test-size", "seed": "--split-seed", "max_samples": option}
    try:
        X, y, groups, target_names, how = split_dataset(
            data,
            subset,
            test_size=args.test_size,
            seed=args.split_seed,
            max_samples=getattr(args, option[2:].replace("-", "_")),
            names=names,
        )
    except ValueError as exc:
        raise CLIError(f"{root}: {exc}") from None
    print(f"{subset}: {how} ({root})", file=sys.stderr)
    return X, y, groups, target_names


def _model_folder(path: str, dataset: str) -> str:
    """``fersk train --model``: a new, empty or model folder apart from the data; checked first."""
    from .models import PICKLE_SUFFIXES

    folder, data = Path(path), Path(dataset).resolve()
    where = folder.resolve()
    if where == data or data in where.parents:
        what = "is the input" if where == data else "is inside the dataset"
        raise CLIError(f"--model {path!r} {what} {dataset!r}; give a folder apart from the data")
    if not where.parent.is_dir():
        raise CLIError(f"--model {path!r}: folder {str(where.parent)!r} does not exist")
    if folder.is_file():
        raise CLIError(
            f"--model {path!r} is a file; fersk train writes a model folder "
            "(model.json, model.npz): give a new folder name"
        )
    if folder.suffix.lower() in PICKLE_SUFFIXES:
        raise CLIError(
            f"--model {path!r}: a name ending in {folder.suffix} is read as a pickle; "
            f"give the model folder a name without it ({folder.stem!r})"
        )
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "model.json").is_file():
        raise CLIError(
            f"--model {path!r} is a folder of other files, not a fersk model folder; "
            "give a new or empty folder (a model folder is replaced)"
        )
    if not os.access(where.parent, os.W_OK):
        raise CLIError(f"--model {path!r}: folder {str(where.parent)!r} is not writable")
    return path


def _train(args) -> int:
    """Fit the study pipeline on the train split; save it as a model folder."""
    from .models import save_model
    from .recipes.study import NothingUsableError, train_study_model

    out = _model_folder(args.model, args.root)  # checked now, not after an hour of training
    _check_cache(args.cache)
    X, y, groups, names = _load_split(args, "train")
    start = time.perf_counter()

    def phase(text: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {text}", file=sys.stderr, flush=True)

    phase(f"training on {len(y)} images ({', '.join(names)})")
    on_cluster = args.scheduler is not None or args.n_workers is not None
    try:
        with _on_cluster(args):
            model = train_study_model(
                X,
                np.asarray(names)[y],
                groups,
                n_landmarks=args.n_landmarks,
                routed=not args.single,
                detector=args.detector,
                memory=args.cache,
                n_jobs=args.n_jobs,
                tune=args.tune,
                on_cluster=on_cluster,
                say=phase,
            )
    except NothingUsableError as exc:
        raise CLIError(f"{exc}; not saving a model. Try --detector none for face crops") from None
    kind = "one MLP" if args.single else "an MLP per clarity level"
    description = f"fersk train on {args.root}: {len(y)} images, {args.n_landmarks} landmarks, "
    try:
        save_model(model, out, description=description + kind + (", tuned" if args.tune else ""))
    except TypeError as exc:
        raise CLIError(f"--model {out!r}: the fitted pipeline cannot be saved ({exc})") from None
    phase(f"saved {out}")
    return 0


def _evaluate(args) -> int:
    """WAR/UAR of a model on a dataset's test split: JSON on stdout, optionally a report."""
    from ._core.pipeline_tools import find_steps
    from .landmarks import ClipLandmarkExtractor
    from .recipes.study import evaluate_model, write_evaluation_report

    if args.json:
        _output(args.json, "--json", inputs=(args.root, args.model))
    _check_report(args.report)
    model, _ = _load_model(args.model)
    if find_steps(model, ClipLandmarkExtractor):
        raise CLIError(f"--model {args.model!r} reads clips; fersk evaluate scores image models")
    X, y, _, names = _load_split(args, "test")
    try:
        report, y, y_pred = evaluate_model(model, X, y, names)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    for key in ("model_classes_not_in_data", "data_classes_not_in_model"):
        if key in report:
            print(
                f"note: {key.replace('_', ' ')}: {', '.join(report[key])} (all errors)",
                file=sys.stderr,
            )
    text = json.dumps(report, indent=2)
    if args.json:
        from .io import AtomicOutput

        with AtomicOutput(args.json) as tmp:
            Path(tmp).write_text(text)
    print(text)
    if args.report is not None:
        title = f"fersk evaluate: {args.model} on {args.root}"
        folder = write_evaluation_report(args.report, title, report, y, y_pred, str(args.model))
        print(f"report: {folder / 'report.md'} and {folder / 'report.html'}", file=sys.stderr)
    return 0


def _check_report(folder: str | None) -> None:
    """``--report``: a folder (not a file), and matplotlib to draw with; checked before work."""
    if folder is None:
        return
    if Path(folder).is_file():
        raise CLIError(f"--report {folder!r} is a file; give a folder")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("--report draws pictures: pip install 'fersk[plot]'") from None


def _video(args) -> int:
    """Per-face, per-frame predictions on a video file or a camera, to CSV."""
    from .video.stream import VideoAnalyzer

    if (args.input is None) == (args.camera is None):
        raise CLIError("give either an INPUT video file or --camera N")
    _check_report(args.report)
    source = args.camera if args.camera is not None else str(_existing(args.input, "input"))
    inputs = (args.model,) if args.camera is not None else (source, args.model)
    _output(args.csv, "--csv", inputs=inputs)
    if args.annotate is not None:
        from .io import VIDEO_EXTENSIONS, is_video_file

        _output(args.annotate, "--annotate", inputs=inputs)
        if not is_video_file(args.annotate):
            raise CLIError(
                f"--annotate {args.annotate!r} must end in a video extension "
                f"({', '.join(sorted(VIDEO_EXTENSIONS))})"
            )
        if os.path.abspath(args.annotate) == os.path.abspath(args.csv):
            raise CLIError("--csv and --annotate are the same file")
    model, _ = _load_model(args.model)
    analyzer = VideoAnalyzer(
        model,
        detector=args.detector,
        detect_every=args.detect_every,
        max_faces=args.max_faces,
        window_s=args.window,
        tau_s=args.tau,
        margin=args.margin,
        min_dwell_s=args.min_dwell,
    )
    summary = analyzer.run(
        source,
        csv_path=args.csv,
        annotate=args.annotate,
        max_frames=args.max_frames,
        progress=args.camera is None,
    )
    print(
        f"{summary['frames']} frames, {summary['faces']} face rows, tracks {summary['tracks']}, "
        f"{summary['fps']:.1f} frames/s -> {args.csv}"
        + (f", {args.annotate}" if summary["annotated"] else ""),
        file=sys.stderr,
    )
    if args.report is not None:
        from .recipes.study import write_video_report

        title = f"fersk video: {args.input if args.camera is None else args.camera}"
        folder = write_video_report(args.report, title, args.csv, summary)
        print(f"report: {folder / 'report.md'} and {folder / 'report.html'}", file=sys.stderr)
    if summary["interrupted"]:
        print(f"interrupted: the {summary['frames']} frames done are kept", file=sys.stderr)
        return 130
    return 0


# --------------------------------------------------------------------------
# The parser and the entry point
# --------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fersk",
        description="Facial emotion recognition with scikit-learn estimators: landmark "
        "geometry, clarity-routed classifiers. Everything runs offline.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the study on the built-in sample faces (offline)")
    demo.add_argument("--out", default="fersk-demo", help="output folder (default: fersk-demo)")
    demo.add_argument("--quick", action="store_true", help="smaller sample and grid")
    demo.add_argument("--n-jobs", type=_n_jobs, default=None, help="GridSearchCV workers")
    demo.set_defaults(func=_demo)

    def landmark_options(p):
        p.add_argument("--n-landmarks", type=int, choices=(68, 5), default=68)
        p.add_argument(
            "--detector",
            choices=("hog", "mmod", "none"),
            default="hog",
            help="'none' for aligned face crops (FER2013, RAF-DB aligned, CK+48)",
        )
        p.add_argument(
            "--n-jobs", type=_n_jobs, default=None, help="extraction workers (-1: all cores)"
        )
        p.add_argument(
            "--cache", default=None, help="landmark cache folder (or fsspec URL: s3://...)"
        )
        p.add_argument(
            "--scheduler",
            default=None,
            help="run on a Dask cluster: the scheduler's address (tcp://host:8786); "
            "needs fersk[dask] and a --cache every worker can reach",
        )
        p.add_argument(
            "--n-workers",
            type=_int_at_least(1),
            default=None,
            help="run on a local Dask cluster of this many worker processes",
        )

    def split_options(p):
        p.add_argument(
            "--test-size",
            type=_fraction,
            default=None,
            help="split here (by subject when the dataset has subject ids) instead of using "
            "the dataset's own split; default 0.2 for datasets without one (CK+48)",
        )
        p.add_argument("--split-seed", type=int, default=0, help="seed of that split")

    extract = sub.add_parser("extract", help="landmarks of every image under a folder, to CSV")
    extract.add_argument("input", help="an image file or a folder (searched recursively)")
    extract.add_argument("--out", required=True, help="CSV file (appended to; resumable)")
    landmark_options(extract)
    extract.set_defaults(func=_extract)

    train = sub.add_parser("train", help="fit the study pipeline on a dataset's train split")
    train.add_argument("root", help="dataset folder (RAF-DB, folder per class) or FER2013 csv")
    train.add_argument("--model", required=True, help="where to save the fitted pipeline")
    train.add_argument("--single", action="store_true", help="one MLP instead of per-level")
    train.add_argument("--tune", action="store_true", help="GridSearchCV over solver and lr")
    train.add_argument(
        "--max-train", type=_int_at_least(1), default=None, help="stratified subsample"
    )
    split_options(train)
    landmark_options(train)
    train.set_defaults(func=_train)

    video = sub.add_parser(
        "video", help="stable per-face predictions on a video file or camera, to CSV"
    )
    video.add_argument("input", nargs="?", default=None, help="video file")
    video.add_argument(
        "--camera", type=_int_at_least(0), default=None, help="camera index instead of a file"
    )
    video.add_argument(
        "--model",
        default=None,
        help="a shipped model's name, a saved model folder or a .joblib pipeline "
        "(default: the shipped default model)",
    )
    video.add_argument("--csv", required=True, help="output CSV: one row per face per frame")
    video.add_argument("--annotate", default=None, help="also write an annotated video here")
    video.add_argument(
        "--report", default=None, help="folder: timelines per face (report.md, report.html)"
    )
    video.add_argument(
        "--detector",
        choices=("hog", "mmod"),
        default=None,
        help="face detector (default: the model's own, HOG for models trained on crops)",
    )
    video.add_argument(
        "--detect-every", type=_int_at_least(1), default=5, help="frames between detections"
    )
    video.add_argument("--max-faces", type=_int_at_least(1), default=None)
    video.add_argument("--max-frames", type=_int_at_least(1), default=None)
    video.add_argument("--window", type=_seconds, default=1.0, help="clip models: seconds seen")
    video.add_argument("--tau", type=_seconds, default=0.5, help="smoothing time constant (s)")
    video.add_argument("--margin", type=_seconds, default=0.1, help="lead a new label needs")
    video.add_argument(
        "--min-dwell", type=_seconds, default=0.5, help="least time a label shows (s)"
    )
    video.set_defaults(func=_video)

    pr = sub.add_parser(
        "predict", help="the emotion of every face in photos: one row per face (no training)"
    )
    pr.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    pr.add_argument(
        "--model",
        default=None,
        help="a shipped model's name (see `python -c 'import fersk.models as m; "
        "print(m.list_models())'`), a saved model folder or a .joblib pipeline "
        "(default: the shipped default model)",
    )
    pr.add_argument("--csv", default=None, help="write every column here (resumable)")
    pr.add_argument("--annotate", default=None, help="folder for copies with boxes and labels")
    pr.add_argument("--detector", choices=("hog", "mmod"), default="hog")
    pr.add_argument(
        "--upsample", type=_int_at_least(0), default=1, help="finds smaller faces (slower)"
    )
    pr.set_defaults(func=_predict)

    ev = sub.add_parser("evaluate", help="WAR/UAR of a saved pipeline on a dataset's test split")
    ev.add_argument("root")
    ev.add_argument(
        "--model", required=True, help="a shipped model's name, a saved model folder or a .joblib"
    )
    ev.add_argument("--max-test", type=_int_at_least(1), default=None)
    split_options(ev)
    ev.add_argument("--json", default=None, help="also write the report here")
    ev.add_argument(
        "--report", default=None, help="folder: report.md with pictures, and report.html"
    )
    ev.set_defaults(func=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fersk`` console script.

    Returns the exit code: 0 on success, 2 for a usage mistake (reported in
    one line on stderr), 130 when interrupted with Ctrl-C.
    """
    from .io import ImageReadError

    args = _parser().parse_args(argv)
    for option in ("input", "root", "out", "model", "csv", "annotate", "json", "cache", "report"):
        value = getattr(args, option, None)
        if isinstance(value, str):  # '--json=~/r.json' reaches us unexpanded
            setattr(args, option, os.path.expanduser(value))
    if getattr(args, "inputs", None):
        args.inputs = [os.path.expanduser(value) for value in args.inputs]
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        # `kill`, `timeout` and service managers stop a run like Ctrl-C: what is done is kept.
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except (CLIError, ImageReadError, OSError, ValueError) as exc:
        if os.environ.get("FERSK_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"fersk {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nfersk {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
