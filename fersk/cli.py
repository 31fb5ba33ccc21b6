"""The ``fersk`` command: ``demo``, ``predict``, ``video``, ``extract``, ``train``, ``evaluate``.

Every mistake on the command line (a missing input, an output that cannot be
written, a value out of range, a file that is not a fersk model) is reported
as one line on stderr with exit code 2, before any work starts; set
``FERSK_DEBUG=1`` to see the traceback instead. The work is fersk's Python
API: :mod:`fersk.predict`, :mod:`fersk.recipes.study`, :mod:`fersk.landmarks.export`,
:class:`fersk.video.VideoAnalyzer`; this module only parses and dispatches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["CLIError", "main"]


def _say(text: str) -> None:
    """One line on stderr (progress and notes; stdout is for results)."""
    print(text, file=sys.stderr, flush=True)


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


#: More threads than this is a typo, not a machine.
MAX_THREADS = 4096


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0 or not -1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"must be a number of threads from 1 to {MAX_THREADS}, or -1 (all cores), got {value}"
        )
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


def _output(path: str, what: str, inputs: tuple = ()) -> Path:
    from .io import check_output_path

    return Path(check_output_path(path, inputs=inputs, what=what))


def _model(name: str | None):
    """``--model``: the model (one that reads images), and its name as CSV settings record it."""
    from .recipes.photos import load_image_model

    return load_image_model(name, what="--model", note=lambda text: _say("fersk: note: " + text))


def _load_split(args, subset: str):
    """``args.root``'s ``subset`` (:func:`fersk.recipes.study.load_split`); says which split."""
    from .recipes.study import load_split

    names = {"test_size": "--test-size", "seed": "--split-seed", "max_samples": f"--max-{subset}"}
    options = {"test_size": args.test_size, "seed": args.split_seed, "names": names}
    max_samples = getattr(args, f"max_{subset}")
    *split, how = load_split(args.root, subset, max_samples=max_samples, **options)
    _say(f"{subset}: {how} ({Path(args.root)})")
    return split


def _reported(folder: Path) -> None:
    _say(f"report: {folder / 'report.md'} and {folder / 'report.html'}")


def _interrupted(kept: str) -> int:
    _say(f"\ninterrupted: {kept}; run again to resume")
    return 130


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
    from .landmarks.export import extract_to_resumable_csv
    from .recipes.photos import photo_inputs

    root = _existing(args.input, "input")
    out = _output(args.out, "--out", inputs=(root,) if root.is_file() else ())
    _check_cache(args.cache)
    paths = list(photo_inputs([root], say=_say))
    options = {"detector": args.detector, "n_jobs": args.n_jobs, "memory": args.cache}
    extractor = LandmarkExtractor(args.n_landmarks, progress=False, **options).fit()  # checked now
    options = {"scheduler": args.scheduler, "n_workers": args.n_workers, "root": root}
    try:
        extract_to_resumable_csv(paths, extractor, out, what="--out", say=_say, **options)
    except KeyboardInterrupt:
        return _interrupted("finished blocks are kept")
    return 0


def _predict(args) -> int:
    """Every face of every image: label and probabilities, to CSV (resumable) or the screen."""
    from .recipes.photos import check_annotate_folder, photo_inputs, write_predictions

    photos = photo_inputs(args.inputs, say=_say)
    if args.csv:
        _output(args.csv, "--csv", inputs=tuple(photos))
    folder = None if args.annotate is None else check_annotate_folder(args.annotate, args.inputs)
    model, name = _model(args.model)
    if args.persons is not None:
        _existing(args.persons, "--persons")
    options = {"person": args.person, "persons_file": args.persons, "neutral": args.neutral}
    options["group_faces"] = args.group_faces
    options.update(detector=args.detector, upsample=args.upsample, batch_size=args.batch_size)
    options.update(n_jobs=args.n_jobs, model_name=name, annotate=folder, what="--csv", say=_say)
    try:
        write_predictions(photos, model, args.csv or None, **options)
    except KeyboardInterrupt:
        return _interrupted("rows of finished images kept")
    return 0


def _train(args) -> int:
    """Fit the study pipeline on the train split; save it as a model folder."""
    from .models import check_model_folder
    from .recipes.study import NothingUsableError, train_and_save

    try:  # checked now, not after an hour of training
        out = check_model_folder(args.model, inputs=(args.root,))
    except ValueError as exc:
        raise CLIError(f"--model {exc}") from None
    _check_cache(args.cache)
    X, y, groups, names = _load_split(args, "train")
    options = {"n_landmarks": args.n_landmarks, "routed": not args.single, "tune": args.tune}
    options.update(detector=args.detector, memory=args.cache, n_jobs=args.n_jobs)
    options.update(scheduler=args.scheduler, n_workers=args.n_workers)
    options.update(source=args.root, what="--model", say=_say)
    try:
        train_and_save(X, y, groups, names, out, **options)
    except NothingUsableError as exc:
        raise CLIError(f"{exc}; not saving a model. Try --detector none for face crops") from None
    return 0


def _evaluate(args) -> int:
    """WAR/UAR of a model on a dataset's test split: JSON on stdout, optionally a report."""
    from ._core.pipeline_tools import find_steps
    from .evaluation.report import check_report_folder
    from .io import AtomicOutput
    from .landmarks import ClipLandmarkExtractor
    from .recipes.study import class_notes, evaluate_model, write_evaluation_report

    if args.json:
        _output(args.json, "--json", inputs=(args.root, args.model))
    check_report_folder(args.report, what="--report")
    model, _ = _model(args.model)
    if find_steps(model, ClipLandmarkExtractor):
        raise CLIError(f"--model {args.model!r} reads clips; fersk evaluate scores image models")
    X, y, _, names = _load_split(args, "test")
    report, y, y_pred = evaluate_model(model, X, y, names)
    for note in class_notes(report):
        _say("fersk evaluate: note: " + note)
    text = json.dumps(report, indent=2)
    if args.json:
        with AtomicOutput(args.json) as tmp:
            Path(tmp).write_text(text)
    print(text)
    if args.report is not None:
        title = f"fersk evaluate: {args.model} on {args.root}"
        _reported(write_evaluation_report(args.report, title, report, y, y_pred, str(args.model)))
    return 0


def _video(args) -> int:
    """Per-face, per-frame predictions on a video file or a camera, to CSV."""
    from .evaluation.report import check_report_folder
    from .video.report import summary_line, write_video_report
    from .video.stream import VideoAnalyzer

    if (args.input is None) == (args.camera is None):
        raise CLIError("give either an INPUT video file or --camera N")
    check_report_folder(args.report, what="--report")
    source = args.camera if args.camera is not None else str(_existing(args.input, "input"))
    model, _ = _model(args.model)
    options = {"detector": args.detector, "detect_every": args.detect_every, "tau_s": args.tau}
    options.update(max_faces=args.max_faces, window_s=args.window, margin=args.margin)
    options.update(neutral=args.neutral, min_dwell_s=args.min_dwell)
    run = {"csv_path": args.csv, "annotate": args.annotate, "max_frames": args.max_frames}
    run.update(progress=args.camera is None, inputs=(args.model,) if args.model else ())
    run["names"] = ("--csv", "--annotate")
    summary = VideoAnalyzer(model, **options).run(source, **run)  # outputs checked, then source
    _say(summary_line(summary, args.csv, args.annotate))
    if args.report is not None:
        title = f"fersk video: {args.input if args.camera is None else args.camera}"
        _reported(write_video_report(args.csv, summary, args.report, title))
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
    at_least_1, by_default = _int_at_least(1), _MODEL_HELP + " (default: the shipped default model)"

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
    crops = "'none' for aligned face crops (FER2013, RAF-DB aligned, CK+48)"
    for p in (extract, train):
        p.add_argument("--n-landmarks", type=int, choices=(68, 5), default=68)
        p.add_argument("--detector", choices=("hog", "yunet", "mmod", "none"), default="hog",
                       help=crops)  # fmt: skip
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
    pr.add_argument("--model", help=by_default)
    pr.add_argument("--csv", help="write every column here (resumable)")
    pr.add_argument("--annotate", help="folder for copies with boxes and labels")
    pr.add_argument("--detector", choices=("yunet", "hog", "mmod"), default="yunet")
    pr.add_argument("--upsample", type=_int_at_least(0), default=1, help="finds smaller faces")
    who = pr.add_mutually_exclusive_group()
    who.add_argument("--person", help="regex finding the person in each file name (1st group)")
    who.add_argument("--persons", help="CSV with columns file,person,neutral (neutral: 1/0)")
    who.add_argument("--group-faces", action="store_true", help="no ids: group the faces by "
                     "who they are and read each group against its mean (for a few people "
                     "seen several times, not crowds)")  # fmt: skip
    pr.add_argument("--neutral", action="append", help="a neutral photo of the person (repeat "
                    "for more; one person unless --person; with --group-faces, an input photo: "
                    "its largest face is its group's reference)")  # fmt: skip
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
    video.add_argument("--model", help=by_default)
    video.add_argument("--csv", required=True, help="output CSV: one row per face per frame")
    video.add_argument("--annotate", help="also write an annotated video here")
    video.add_argument("--report", help="folder: timelines per face (report.md, report.html)")
    dlib = "default: YuNet (HOG, MMOD: dlib's)"
    video.add_argument("--detector", choices=("yunet", "hog", "mmod"), help=dlib)
    video.add_argument("--detect-every", type=at_least_1, default=5, help="frames per detection")
    video.add_argument("--max-faces", type=at_least_1)
    video.add_argument("--max-frames", type=at_least_1)
    video.add_argument("--window", type=_seconds, default=1.0, help="clip models: seconds seen")
    video.add_argument("--tau", type=_seconds, default=0.5, help="smoothing time constant (s)")
    video.add_argument("--margin", type=_seconds, default=0.1, help="lead a new label needs")
    video.add_argument("--min-dwell", type=_seconds, default=0.5, help="least time a label shows")
    video.add_argument("--neutral", action="append", help="a neutral photo of the person (repeat "
                       "for more)")  # fmt: skip
    for name, p in sub.choices.items():  # per-face inference runs on one thread, training on all
        one = name in ("predict", "video")
        shown = f"threads per process (default: {'1' if one else 'every core'})"
        p.add_argument("--threads", type=_threads, default=1 if one else None, help=shown)
    return parser


_COMMANDS = {"demo": _demo, "extract": _extract, "train": _train, "predict": _predict}
_COMMANDS.update(evaluate=_evaluate, video=_video)
_PATHS = ("input", "root", "out", "model", "csv", "annotate", "json", "cache", "report", "persons")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fersk`` console script.

    Returns the exit code: 0 on success, 2 for a usage mistake (reported in
    one line on stderr), 130 when interrupted with Ctrl-C.
    """
    from ._core.interrupts import sigterm_as_interrupt
    from ._core.threads import limited_threads
    from .io import ImageReadError

    args = _parser().parse_args(argv)
    for option in _PATHS:  # '--json=~/r.json' reaches us unexpanded
        if isinstance(getattr(args, option, None), str):
            setattr(args, option, os.path.expanduser(getattr(args, option)))
    for option in ("inputs", "neutral"):
        if getattr(args, option, None):
            setattr(args, option, [os.path.expanduser(v) for v in getattr(args, option)])
    try:  # `kill`, `timeout` and service managers stop a run like Ctrl-C: work is kept
        with sigterm_as_interrupt(), limited_threads(args.threads):
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
