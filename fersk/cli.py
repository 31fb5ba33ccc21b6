"""The ``fersk`` command: ``demo``, ``extract``, ``train``, ``evaluate``, ``video``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["main"]

EXTRACT_BLOCK = 256


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, quick=args.quick, n_jobs=args.n_jobs)
    return 0


def _list_images(root: Path) -> list[Path]:
    from .datasets._base import is_image_file, natural_sorted

    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or folder: {root}")
    found = [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and is_image_file(p.name) and not any(s.startswith(".") for s in p.parts)
    ]
    return [root / p for p in natural_sorted(found)]


def _extract(args) -> int:
    """Write landmarks to CSV block by block; a rerun resumes after an interrupt."""
    from .landmarks import LandmarkExtractor
    from .landmarks.layouts import landmark_feature_names

    root, out = Path(args.input), Path(args.out)
    paths = _list_images(root)
    done: set[str] = set()
    if out.exists() and out.stat().st_size:
        with out.open(newline="") as fh:
            done = {row["path"] for row in csv.DictReader(fh)}
    todo = [p for p in paths if str(p) not in done]
    print(
        f"{len(paths)} images under {root}; {len(done)} already in {out}; extracting {len(todo)}",
        file=sys.stderr,
    )
    extractor = LandmarkExtractor(
        args.n_landmarks,
        detector=args.detector,
        n_jobs=args.n_jobs,
        memory=args.cache,
        progress=False,
    )
    header = ["path", "face_found", "failure", *landmark_feature_names(args.n_landmarks)]
    written = failed = 0
    from tqdm.auto import tqdm

    with out.open("a", newline="") as fh, tqdm(total=len(todo), unit="img") as bar:
        writer = csv.writer(fh)
        if not done:
            writer.writerow(header)
        try:
            for start in range(0, len(todo), EXTRACT_BLOCK):
                block = todo[start : start + EXTRACT_BLOCK]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    X = extractor.transform([str(p) for p in block])
                reasons = {f.index: f.reason for f in extractor.failures_}
                for i, (path, row) in enumerate(zip(block, X)):
                    ok = i not in reasons
                    writer.writerow(
                        [str(path), int(ok), reasons.get(i, ""), *(f"{v:.2f}" for v in row)]
                    )
                fh.flush()
                written += len(block)
                failed += len(reasons)
                bar.update(len(block))
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: {written} rows kept in {out}; run the same command to resume",
                file=sys.stderr,
            )
            return 130
    print(f"wrote {written} rows to {out} ({failed} without a face)", file=sys.stderr)
    return 0


def _load_split(root: str, subset: str, max_samples: int | None, seed: int = 0):
    from .datasets import load_dataset

    data = load_dataset(root, subset=subset)
    X = (
        np.array(data.data, dtype=object)
        if not isinstance(data.data[0], np.ndarray)
        else (np.stack(data.data))
    )
    y = data.target
    if max_samples is not None and max_samples < len(y):
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(
            np.arange(len(y)), train_size=max_samples, stratify=y, random_state=seed
        )
        keep = np.sort(keep)
        X, y = X[keep], y[keep]
        data.subject = None if data.subject is None else data.subject[keep]
    return X, y, data


def _train(args) -> int:
    import joblib

    from .study import make_study_pipeline, tune

    X, y, data = _load_split(args.root, "train", args.max_train)
    pipe = make_study_pipeline(
        args.n_landmarks,
        routed=not args.single,
        detector=args.detector,
        memory=args.cache,
        n_jobs=args.n_jobs,
    )
    print(
        f"training on {len(y)} images of {args.root} ({', '.join(data.target_names)})",
        file=sys.stderr,
    )
    if args.tune:
        search = tune(pipe, X, y, groups=data.subject, n_jobs=1)
        pipe = search.best_estimator_
        print(f"best: {search.best_params_} (CV UAR {search.best_score_:.3f})", file=sys.stderr)
    else:
        pipe.fit(X, y)
    pipe.target_names_ = list(data.target_names)
    joblib.dump(pipe, args.model)
    print(f"saved {args.model}", file=sys.stderr)
    return 0


def _evaluate(args) -> int:
    import joblib

    from .clarity import ClarityBinner
    from .study import evaluate, find_steps

    model = joblib.load(args.model)
    X, y, data = _load_split(args.root, "test", args.max_test)
    names = getattr(model, "target_names_", None)
    if names is not None and list(names) != list(data.target_names):
        raise SystemExit(
            f"the model was trained on classes {names}, the data has {list(data.target_names)}"
        )
    binners = list(find_steps(model, ClarityBinner))
    levels = binners[0].transform(X).ravel() if binners else None
    report = evaluate(model, X, y, clarity_levels=levels, target_names=list(data.target_names))
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    return 0


def _video(args) -> int:
    """Per-face, per-frame predictions on a video file or a camera, to CSV."""
    import joblib

    from .video.source import VideoReadError
    from .video.stream import VideoAnalyzer

    if (args.input is None) == (args.camera is None):
        raise SystemExit("fersk video: give either an INPUT video file or --camera N")
    source = args.camera if args.camera is not None else args.input
    model = joblib.load(args.model)
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
    try:
        summary = analyzer.run(
            source,
            csv_path=args.csv,
            annotate=args.annotate,
            max_frames=args.max_frames,
            progress=args.camera is None,
        )
    except VideoReadError as error:
        raise SystemExit(f"fersk video: {error}") from None
    print(
        f"{summary['frames']} frames, {summary['faces']} face rows, tracks "
        f"{summary['tracks']}, {summary['fps']:.1f} frames/s -> {args.csv}"
        + (f", {args.annotate}" if args.annotate else ""),
        file=sys.stderr,
    )
    if summary["interrupted"]:
        print(f"interrupted: the {summary['frames']} frames done are kept", file=sys.stderr)
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fersk",
        description="Facial emotion recognition with scikit-learn estimators: landmark "
        "geometry, clarity-routed classifiers. Everything runs offline.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the study on the built-in sample faces (offline)")
    demo.add_argument("--out", default="fersk-demo", help="output folder (default: fersk-demo)")
    demo.add_argument("--quick", action="store_true", help="smaller sample and grid")
    demo.add_argument("--n-jobs", type=int, default=None, help="GridSearchCV workers")
    demo.set_defaults(func=_demo)

    def landmark_options(p):
        p.add_argument("--n-landmarks", type=int, choices=(68, 5), default=68)
        p.add_argument(
            "--detector",
            choices=("hog", "mmod", "none"),
            default="hog",
            help="'none' for aligned face crops (FER2013, RAF-DB aligned, CK+48)",
        )
        p.add_argument("--n-jobs", type=int, default=None, help="extraction workers")
        p.add_argument("--cache", default=None, help="landmark cache folder")

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
    train.add_argument("--max-train", type=int, default=None, help="stratified subsample")
    landmark_options(train)
    train.set_defaults(func=_train)

    video = sub.add_parser(
        "video", help="stable per-face predictions on a video file or camera, to CSV"
    )
    video.add_argument("input", nargs="?", default=None, help="video file")
    video.add_argument("--camera", type=int, default=None, help="camera index instead of a file")
    video.add_argument("--model", required=True, help="a saved fersk pipeline (.joblib)")
    video.add_argument("--csv", required=True, help="output CSV: one row per face per frame")
    video.add_argument("--annotate", default=None, help="also write an annotated video here")
    video.add_argument("--detector", choices=("hog", "mmod"), default="hog")
    video.add_argument("--detect-every", type=int, default=5, help="frames between detections")
    video.add_argument("--max-faces", type=int, default=None)
    video.add_argument("--max-frames", type=int, default=None)
    video.add_argument("--window", type=float, default=1.0, help="clip models: seconds seen")
    video.add_argument("--tau", type=float, default=0.5, help="smoothing time constant (s)")
    video.add_argument("--margin", type=float, default=0.1, help="lead a new label needs")
    video.add_argument("--min-dwell", type=float, default=0.5, help="least time a label shows")
    video.set_defaults(func=_video)

    ev = sub.add_parser("evaluate", help="WAR/UAR of a saved pipeline on a dataset's test split")
    ev.add_argument("root")
    ev.add_argument("--model", required=True)
    ev.add_argument("--max-test", type=int, default=None)
    ev.add_argument("--json", default=None, help="also write the report here")
    ev.set_defaults(func=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fersk`` console script."""
    args = _parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
