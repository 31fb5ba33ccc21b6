"""The ``fersk`` command: ``demo``, ``predict``, ``video``, ``extract``, ``train``, ``evaluate``.

Every mistake on the command line (a missing input, an output that cannot be
written, a value out of range, a file that is not a fersk model) is reported
as one line on stderr with exit code 2, before any work starts; set
``FERSK_DEBUG=1`` to see the traceback instead. The work is fersk's Python
API: :func:`fersk.datasets.split_dataset`, :class:`fersk.io.ResumableCSV`,
:func:`fersk.models.load_model`, :mod:`fersk.recipes.study`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
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


def _say(text: str) -> None:
    """One line on stderr (progress and notes; stdout is for results)."""
    print(text, file=sys.stderr, flush=True)


def _say_skipped(skipped: list) -> None:
    """Name the files a folder listing passed over (a HEIC photo, a FIFO...), a few at most."""
    if skipped:
        shown = "; ".join(f"{os.path.basename(p.rstrip('/'))}: {why}" for p, why in skipped[:3])
        more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
        _say(f"{len(skipped)} skipped: {shown}{more}")


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
    if not Path(path).exists():
        raise CLIError(f"{what} {path!r} does not exist")
    return Path(path)


def _check_cache(cache: str | None) -> None:
    if cache is not None and Path(cache).exists() and not Path(cache).is_dir():
        raise CLIError(f"--cache {cache!r} is a file; the landmark cache needs a folder")


def _output(path: str, what: str, inputs: tuple = ()) -> str:
    from .io import check_output_path

    try:
        return check_output_path(path, inputs=inputs, what=what)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


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


def _load_model(name: str | None):
    """``--model``: the model (one that reads images), and its name as CSV settings record it."""
    from ._core.base import ImageInputMixin
    from ._core.pipeline_tools import find_steps
    from .models import DEFAULT_MODEL, PickleWarning, load_model, model_id

    name = DEFAULT_MODEL if name is None else name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PickleWarning)
        try:
            model = load_model(name)
        except ValueError as exc:
            raise CLIError(f"--model {name!r}: {exc}") from None
        finally:  # the pickle note once, in one line; other warnings go on as they were
            for w in caught:
                if not issubclass(w.category, PickleWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if any(issubclass(w.category, PickleWarning) for w in caught):
                _say(
                    f"fersk: note: --model {name!r} is a pickle: loading it runs the code it "
                    "names, so load only files you trust"
                )
    if not find_steps(model, ImageInputMixin):
        raise CLIError(
            f"--model {name!r} holds a {type(model).__name__} that does not read images (no "
            "landmark extractor, clarity binner or CNN input step); fersk commands give it images"
        )
    return model, model_id(name)


def _load_split(args, subset: str):
    """``args.root``'s ``subset`` (:func:`fersk.datasets.split_dataset`); says which split."""
    from .datasets import load_dataset, split_dataset

    root = _existing(args.root, "dataset")
    data = load_dataset(root)
    first = data.data[0] if len(data.target) else None
    if isinstance(first, (str, os.PathLike)) and os.path.isdir(first):
        raise CLIError(
            f"{root} holds video clips (one folder per clip); fersk train/evaluate fit and score "
            "image models. Use fersk.study.make_clip_pipeline in Python for clips"
        )
    option = "--max-train" if subset == "train" else "--max-test"
    names = {"test_size": "--test-size", "seed": "--split-seed", "max_samples": option}
    max_samples = getattr(args, option[2:].replace("-", "_"))
    options = {"test_size": args.test_size, "seed": args.split_seed, "names": names}
    try:
        *split, how = split_dataset(data, subset, max_samples=max_samples, **options)
    except ValueError as exc:
        raise CLIError(f"{root}: {exc}") from None
    _say(f"{subset}: {how} ({root})")
    return split


def _on_cluster(args):
    """The Dask cluster the command runs on (``--scheduler``, ``--n-workers``), or nothing."""
    if args.scheduler is None and args.n_workers is None:
        return contextlib.nullcontext()
    from ._core.distributed import cluster

    try:
        return cluster(args.scheduler, n_workers=args.n_workers)
    except ImportError as exc:
        raise CLIError(str(exc)) from None


@contextlib.contextmanager
def _resumed(out: Path, header: list[str], settings: dict, key: str, option: str):
    """The resumable CSV ``out``, locked for this run, and the input paths already in it."""
    from .io import ResumableCSV

    with ResumableCSV(out, header, settings, key=key, what=option) as table:
        if table.dropped_torn_line:
            _say(f"{out}: dropped a torn last line; its input is done again")
        table.write_rows([])  # a new CSV gets its settings and header now
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
    from .landmarks import LandmarkExtractor
    from .landmarks.export import extract_to_csv, landmark_csv_header
    from .predict import photo_inputs

    root = _existing(args.input, "input")
    out = Path(_output(args.out, "--out", inputs=(root,) if root.is_file() else ()))
    _check_cache(args.cache)
    skipped: list = []
    paths = list(photo_inputs([root], skipped))
    _say_skipped(skipped)
    extractor = LandmarkExtractor(
        args.n_landmarks, detector=args.detector, n_jobs=args.n_jobs, memory=args.cache
    )
    extractor.set_params(progress=False).fit()  # checks the settings before the CSV is touched
    settings = {"command": "fersk extract", "n_landmarks": args.n_landmarks}
    settings.update(detector=args.detector, backend="dlib")
    header = landmark_csv_header(args.n_landmarks)
    with _on_cluster(args), _resumed(out, header, settings, "path", "--out") as (table, done):
        todo = [p for p in paths if p not in done]
        _say(f"{len(paths)} images under {root}; {len(done)} already in {out}; extracting "
             f"{len(todo)}")  # fmt: skip
        try:
            counts = extract_to_csv(todo, extractor, table.write_rows)
        except KeyboardInterrupt:
            _say("\ninterrupted: finished blocks are kept; run again to resume")
            return 130
    _say(f"wrote {counts['written']} rows to {out} ({counts['no_face']} without a face, "
         f"{counts['unreadable']} unreadable)")  # fmt: skip
    return 0


def _predict(args) -> int:
    """Every face of every image: label and probabilities, to CSV (resumable) or the screen."""
    from .predict import check_annotate_folder, photo_columns, photo_inputs, read_persons_file

    skipped: list = []
    marked = photo_inputs(args.inputs, skipped)
    _say_skipped(skipped)
    files = list(marked)
    out = Path(_output(args.csv, "--csv", inputs=tuple(files))) if args.csv else None
    folder = None if args.annotate is None else check_annotate_folder(args.annotate, args.inputs)
    model, model_name = _load_model(args.model)
    persons, neutral = args.person, args.neutral
    if args.persons is not None:
        persons, flags = read_persons_file(_existing(args.persons, "--persons"), files)
        neutral = neutral or (flags if any(flags) else None)
    options = {"detector": args.detector, "upsample": args.upsample, "persons": persons}
    options.update(neutral=neutral, batch_size=args.batch_size, n_jobs=args.n_jobs)
    if out is None:
        short = ["file", "face", "label", "confidence", "error"]
        if persons is not None or neutral is not None:
            short[2:2] = ["person", "calibration"]
        screen = csv.writer(sys.stdout)
        screen.writerow(short)
        return _predict_files(args, files, set(files), model, options, screen.writerows, marked,
                              folder, short=short)  # fmt: skip
    settings = {"command": "fersk predict", "model": model_name, "detector": args.detector}
    settings.update(upsample=args.upsample, person=args.person, persons=args.persons)
    settings["neutral"] = [os.path.abspath(n) for n in args.neutral or []]
    if persons is not None or neutral is not None:  # a person's rows depend on all their photos
        settings["inputs"] = files
    with _resumed(out, photo_columns(model), settings, "file", "--csv") as (table, done):
        todo = [f for f in files if f not in done]
        _say(f"{len(files)} images; {len(done)} already in {out}; {len(todo)} to do")
        header = photo_columns(model)
        return _predict_files(args, files, set(todo), model, options, table.write_rows, marked,
                              folder, header)  # fmt: skip


def _predict_files(args, files, todo, model, options, write, marked, folder, header=None,
                   short=None) -> int:  # fmt: skip
    """Predict the photos of ``todo`` (a set of ``files``), each photo's rows in one write."""
    from .predict import predict_to_rows

    annotate = None if folder is None else {f: folder / name for f, name in marked.items()}
    line = functools.partial(_predict_line, header=header, short=short)
    try:
        counts = predict_to_rows(files, todo, model, write, line=line, annotate=annotate, **options)
    except KeyboardInterrupt:
        _say("\ninterrupted: rows of finished images kept; run again to resume")
        return 130
    _say(
        f"{len(todo)} images: {counts['faces']} faces, {counts['no face']} without a face, "
        f"{counts['unreadable']} unreadable (skipped); {counts['images/s']:.1f} images/s"
        + (f"; rows in {args.csv}" if args.csv else "")
    )
    return 0


def _predict_line(row: dict, header: list[str] | None, short: list[str] | None) -> list:
    """A CSV row of every column of ``header``, or the screen's ``short`` row."""
    if header is not None:
        return [row.get(k, "") for k in header]
    confidence = row["confidence"]
    shown = {"confidence": "" if confidence != confidence else f"{confidence:.3f}"}
    return [shown.get(k, row[k]) for k in short]


def _train(args) -> int:
    """Fit the study pipeline on the train split; save it as a model folder."""
    from .models import check_model_folder, save_model
    from .recipes.study import NothingUsableError, train_study_model

    try:  # checked now, not after an hour of training
        out = check_model_folder(args.model, inputs=(args.root,))
    except ValueError as exc:
        raise CLIError(f"--model {exc}") from None
    _check_cache(args.cache)
    X, y, groups, names = _load_split(args, "train")
    start = time.perf_counter()

    def phase(text: str) -> None:
        _say(f"[{time.perf_counter() - start:7.1f} s] {text}")

    phase(f"training on {len(y)} images ({', '.join(names)})")
    options = {"n_landmarks": args.n_landmarks, "routed": not args.single, "tune": args.tune}
    options.update(detector=args.detector, memory=args.cache, n_jobs=args.n_jobs)
    options["on_cluster"] = args.scheduler is not None or args.n_workers is not None
    try:
        with _on_cluster(args):
            model = train_study_model(X, np.asarray(names)[y], groups, say=phase, **options)
    except NothingUsableError as exc:
        raise CLIError(f"{exc}; not saving a model. Try --detector none for face crops") from None
    kind = "one MLP" if args.single else "an MLP per clarity level"
    about = f"fersk train on {args.root}: {len(y)} images, {args.n_landmarks} landmarks, {kind}"
    try:
        save_model(model, out, description=about + (", tuned" if args.tune else ""))
    except TypeError as exc:
        raise CLIError(f"--model {out!r}: the fitted pipeline cannot be saved ({exc})") from None
    phase(f"saved {out}")
    return 0


_CLASS_NOTES = {
    "model_classes_not_in_data": "the model's classes {} are not in the data (answering one is "
    "an error)",
    "data_classes_not_in_model": "the data's classes {} are not the model's (their images are "
    "all errors)",
}


def _evaluate(args) -> int:
    """WAR/UAR of a model on a dataset's test split: JSON on stdout, optionally a report."""
    from ._core.pipeline_tools import find_steps
    from .io import AtomicOutput
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
    for key, note in _CLASS_NOTES.items():
        if key in report:
            _say("fersk evaluate: note: " + note.format(", ".join(report[key])))
    text = json.dumps(report, indent=2)
    if args.json:
        with AtomicOutput(args.json) as tmp:
            Path(tmp).write_text(text)
    print(text)
    if args.report is not None:
        title = f"fersk evaluate: {args.model} on {args.root}"
        folder = write_evaluation_report(args.report, title, report, y, y_pred, str(args.model))
        _say(f"report: {folder / 'report.md'} and {folder / 'report.html'}")
    return 0


def _video(args) -> int:
    """Per-face, per-frame predictions on a video file or a camera, to CSV."""
    from .video.stream import VideoAnalyzer

    if (args.input is None) == (args.camera is None):
        raise CLIError("give either an INPUT video file or --camera N")
    _check_report(args.report)
    source = args.camera if args.camera is not None else str(_existing(args.input, "input"))
    model, _ = _load_model(args.model)
    options = {"detector": args.detector, "detect_every": args.detect_every, "tau_s": args.tau}
    options.update(max_faces=args.max_faces, window_s=args.window, margin=args.margin)
    options["neutral"] = args.neutral
    analyzer = VideoAnalyzer(model, min_dwell_s=args.min_dwell, **options)
    summary = analyzer.run(  # checks its outputs before it opens the source
        source,
        csv_path=args.csv,
        annotate=args.annotate,
        max_frames=args.max_frames,
        progress=args.camera is None,
        inputs=(args.model,) if args.model else (),
        names=("--csv", "--annotate"),
    )
    written = f"{args.csv}, {args.annotate}" if summary["annotated"] else args.csv
    dropped = f", {summary['dropped']} camera frames dropped" if summary["dropped"] else ""
    _say(
        f"{summary['frames']} frames, {summary['faces']} face rows, tracks {summary['tracks']}, "
        f"{summary['fps']:.1f} frames/s{dropped} -> {written}"
    )
    if args.report is not None:
        from .video.report import write_video_report

        title = f"fersk video: {args.input if args.camera is None else args.camera}"
        folder = write_video_report(args.csv, summary, args.report, title)
        _say(f"report: {folder / 'report.md'} and {folder / 'report.html'}")
    if summary["interrupted"]:
        _say(f"interrupted: the {summary['frames']} frames done are kept")
        return 130
    return 0


# --------------------------------------------------------------------------
# The parser and the entry point
# --------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_MODEL_HELP = "a shipped model's name, a model folder, or a .joblib pickle (trusted files only)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fersk",
        description="Facial emotion recognition with scikit-learn estimators: landmark "
        "geometry, clarity-routed classifiers. Everything runs offline.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    at_least_1 = _int_at_least(1)

    demo = sub.add_parser("demo", help="the study on the built-in sample faces (offline)")
    demo.add_argument("--out", default="fersk-demo", help="output folder (default: fersk-demo)")
    demo.add_argument("--quick", action="store_true", help="smaller sample and grid")
    demo.add_argument("--n-jobs", type=_n_jobs, help="GridSearchCV workers")

    extract = sub.add_parser("extract", help="landmarks of every image under a folder, to CSV")
    extract.add_argument("input", help="an image file or a folder (searched recursively)")
    extract.add_argument("--out", required=True, help="CSV file (appended to; resumable)")

    train = sub.add_parser("train", help="fit the study pipeline on a dataset's train split")
    train.add_argument("root", help="dataset folder (RAF-DB, folder per class) or FER2013 csv")
    train.add_argument("--model", required=True, help="the model folder to write (fer-model)")
    train.add_argument("--single", action="store_true", help="one MLP instead of per-level")
    train.add_argument("--tune", action="store_true", help="GridSearchCV over solver and lr")
    train.add_argument("--max-train", type=at_least_1, help="stratified subsample")
    for p in (extract, train):
        p.add_argument("--n-landmarks", type=int, choices=(68, 5), default=68)
        p.add_argument(
            "--detector",
            choices=("hog", "yunet", "mmod", "none"),
            default="hog",
            help="'none' for aligned face crops (FER2013, RAF-DB aligned, CK+48)",
        )
        p.add_argument("--n-jobs", type=_n_jobs, help="extraction workers (-1: all cores)")
        p.add_argument("--cache", help="landmark cache folder (or fsspec URL: s3://...)")
        p.add_argument(
            "--scheduler",
            help="run on a Dask cluster: the scheduler's address (tcp://host:8786); "
            "needs fersk[dask] and a --cache every worker can reach",
        )
        p.add_argument("--n-workers", type=at_least_1, help="run on a local Dask cluster")

    pr = sub.add_parser("predict", help="the emotion of every face in photos: a row per face")
    pr.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    pr.add_argument("--model", help=_MODEL_HELP + " (default: the shipped default model)")
    pr.add_argument("--csv", help="write every column here (resumable)")
    pr.add_argument("--annotate", help="folder for copies with boxes and labels")
    pr.add_argument("--detector", choices=("yunet", "hog", "mmod"), default="yunet")
    pr.add_argument("--upsample", type=_int_at_least(0), default=1, help="finds smaller faces")
    who = pr.add_mutually_exclusive_group()
    who.add_argument("--person", help="regex finding the person in each file name (1st group)")
    who.add_argument("--persons", help="CSV with columns file,person,neutral (neutral: 1/0)")
    pr.add_argument(
        "--neutral",
        action="append",
        help="a neutral photo of the person (repeat for more; one person unless --person)",
    )
    pr.add_argument("--batch-size", type=at_least_1, default=32, help="photos per model batch")
    pr.add_argument("--n-jobs", type=_n_jobs, default=1, help="processes finding faces")

    ev = sub.add_parser("evaluate", help="WAR/UAR of a saved model on a dataset's test split")
    ev.add_argument("root", help="dataset folder or FER2013 csv")
    ev.add_argument("--model", required=True, help=_MODEL_HELP)
    ev.add_argument("--max-test", type=at_least_1, help="stratified subsample")
    ev.add_argument("--json", help="also write the report here")
    ev.add_argument("--report", help="folder: report.md with pictures, and report.html")
    for p in (train, ev):
        p.add_argument(
            "--test-size",
            type=_fraction,
            help="split here (by subject when the dataset has subject ids) instead of using "
            "the dataset's own split; default 0.2 for datasets without one (CK+48)",
        )
        p.add_argument("--split-seed", type=int, default=0, help="seed of that split")

    video = sub.add_parser("video", help="stable per-face predictions on a video or camera")
    video.add_argument("input", nargs="?", help="video file")
    video.add_argument("--camera", type=_int_at_least(0), help="camera index instead of a file")
    video.add_argument("--model", help=_MODEL_HELP + " (default: the shipped default model)")
    video.add_argument("--csv", required=True, help="output CSV: one row per face per frame")
    video.add_argument("--annotate", help="also write an annotated video here")
    video.add_argument("--report", help="folder: timelines per face (report.md, report.html)")
    video.add_argument(
        "--detector", choices=("yunet", "hog", "mmod"), help="default: YuNet (HOG, MMOD: dlib's)"
    )
    video.add_argument("--detect-every", type=at_least_1, default=5, help="frames per detection")
    video.add_argument("--max-faces", type=at_least_1)
    video.add_argument("--max-frames", type=at_least_1)
    video.add_argument("--window", type=_seconds, default=1.0, help="clip models: seconds seen")
    video.add_argument("--tau", type=_seconds, default=0.5, help="smoothing time constant (s)")
    video.add_argument("--margin", type=_seconds, default=0.1, help="lead a new label needs")
    video.add_argument("--min-dwell", type=_seconds, default=0.5, help="least time a label shows")
    video.add_argument(
        "--neutral", action="append", help="a neutral photo of the person (repeat for more)"
    )
    for p, default in [(demo, None), (extract, None), (train, None), (pr, 1), (ev, None)]:
        _threads_option(p, default)
    _threads_option(video, 1)
    return parser


def _threads_option(parser, default: int | None) -> None:
    """``--threads``: per-face inference runs on one thread, training on every core."""
    shown = "every core" if default is None else str(default)
    parser.add_argument(
        "--threads", type=_n_jobs, default=default, help=f"threads per process (default: {shown})"
    )


_COMMANDS = {"demo": _demo, "extract": _extract, "train": _train, "predict": _predict}
_COMMANDS.update(evaluate=_evaluate, video=_video)
_PATHS = ("input", "root", "out", "model", "csv", "annotate", "json", "cache", "report", "persons")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fersk`` console script.

    Returns the exit code: 0 on success, 2 for a usage mistake (reported in
    one line on stderr), 130 when interrupted with Ctrl-C.
    """
    from ._core.threads import limited_threads
    from .io import ImageReadError

    args = _parser().parse_args(argv)
    for option in _PATHS:  # '--json=~/r.json' reaches us unexpanded
        if isinstance(getattr(args, option, None), str):
            setattr(args, option, os.path.expanduser(getattr(args, option)))
    for option in ("inputs", "neutral"):
        if getattr(args, option, None):
            setattr(args, option, [os.path.expanduser(v) for v in getattr(args, option)])
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM)
    if on_main:  # `kill`, `timeout` and service managers stop a run like Ctrl-C: work is kept
        signal.signal(signal.SIGTERM, _terminate)
    try:
        with limited_threads(args.threads):
            return int(_COMMANDS[args.command](args) or 0)
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
        if on_main:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
