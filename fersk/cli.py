"""The ``fersk`` command: ``demo``, ``predict``, ``video``, ``extract``, ``train``, ``evaluate``.

Every mistake on the command line (a missing input, an output that cannot be
written, a value out of range, a file that is not a fersk model) is reported
as one line on stderr with exit code 2, before any work starts; set
``FERSK_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["CLIError", "main"]

EXTRACT_BLOCK = 256
#: Folds of ``fersk train --tune``'s GridSearchCV.
TUNE_FOLDS = 3


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


def _load_model(path: str):
    """Load a saved fersk model, or fail in one line naming the file."""
    import joblib

    file = _existing(path, "--model")
    if not file.is_file():
        raise CLIError(f"--model {path!r} is a folder, not a saved model file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # version notes of pickled estimators
            model = joblib.load(file)
    except Exception as exc:  # joblib raises anything from IndexError to UnpicklingError
        raise CLIError(
            f"--model {path!r} is not a fersk model: joblib cannot load it "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not (hasattr(model, "predict") and hasattr(model, "classes_")):
        raise CLIError(
            f"--model {path!r} holds a {type(model).__name__}, not a fitted fersk classifier "
            "(save one with `fersk train` or joblib.dump(pipeline))"
        )
    from ._core.base import ImageInputMixin
    from ._core.pipeline_tools import find_steps

    if not find_steps(model, ImageInputMixin):
        raise CLIError(
            f"--model {path!r} holds a {type(model).__name__} that does not read images (no "
            "landmark extractor, clarity binner or CNN input step); fersk commands give it "
            "images"
        )
    return model


def _save_model(model, path: str) -> None:
    import joblib

    from .io import AtomicOutput

    with AtomicOutput(path) as tmp:
        joblib.dump(model, tmp)


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, quick=args.quick, n_jobs=args.n_jobs)
    return 0


def _list_images(root: Path) -> list[Path]:
    """Image files at or under ``root`` (hidden ones skipped), naturally sorted, absolute.

    The folder is resolved (any spelling of it gives the same paths); the files
    are not (a symlinked image keeps its own name, so it is one row, once).
    """
    from .io import list_image_files

    if root.is_file():
        return [Path(os.path.abspath(root))]
    if not root.is_dir():
        raise CLIError(f"input {str(root)!r} does not exist")
    base = root.resolve()
    return [base / rel for rel in list_image_files(base)]


def _extract_settings(args) -> dict:
    return {
        "command": "fersk extract",
        "n_landmarks": args.n_landmarks,
        "detector": args.detector,
        "backend": "dlib",
    }


def _settings_path(out: Path) -> Path:
    return out.with_name(out.name + ".settings.json")


def _write_settings(out: Path, settings: dict) -> None:
    """Record the settings a resumable CSV is written with (see :func:`_resume_state`)."""
    from .io import AtomicOutput

    with AtomicOutput(_settings_path(out)) as tmp:
        Path(tmp).write_text(json.dumps(settings, indent=2))


def _resume_state(
    out: Path, header: list[str], settings: dict, key: str = "path", option: str = "--out"
) -> tuple[set[str], bool]:
    """Files already in ``out`` (column ``key``) and whether it has its header.

    Repairs a torn last line. Refuses (one-line error) a file that is not a
    CSV of this command, or one written with other settings.
    """
    if not out.exists() or out.stat().st_size == 0:
        return set(), False
    with out.open("rb") as fh:
        data = fh.read()
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    if next(csv.reader([first]), []) != header:
        got = next(csv.reader([first]), [])
        what = (
            "was written with other settings"
            if got[:3] == header[:3]
            else f"is not a `{settings['command']}` CSV"
        )
        raise CLIError(
            f"{option} {str(out)!r} {what} (its columns: {', '.join(got[:4])}, ... "
            f"{len(got)} in all; this run writes {len(header)}); give another {option} file"
        )
    recorded = None
    if _settings_path(out).is_file():
        try:
            recorded = json.loads(_settings_path(out).read_text())
        except (OSError, ValueError):
            recorded = None
    if recorded != settings:
        differ = (
            ", ".join(
                f"{k}={recorded.get(k)!r} there, {v!r} now"
                for k, v in settings.items()
                if recorded.get(k) != v
            )
            if isinstance(recorded, dict)
            else f"its settings file {str(_settings_path(out))!r} is missing or unreadable"
        )
        raise CLIError(
            f"{option} {str(out)!r} was written with other settings ({differ}); resume with "
            f"the same settings, or give another {option} file"
        )
    if not data.endswith(b"\n"):  # a torn last line (killed mid-write): drop it
        keep = data.rfind(b"\n") + 1
        with out.open("r+b") as fh:
            fh.truncate(keep)
        print(f"{out}: dropped a torn last line; it is extracted again", file=sys.stderr)
    with out.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        done = {row[key] for row in csv.DictReader(fh) if row.get(key)}
    return {os.path.abspath(p) for p in done}, True


def _on_cluster(args):
    """The Dask cluster the command runs on (``--scheduler``, ``--n-workers``), or nothing."""
    import contextlib

    if getattr(args, "scheduler", None) is None and getattr(args, "n_workers", None) is None:
        return contextlib.nullcontext()
    from ._core.distributed import cluster

    try:
        return cluster(args.scheduler, n_workers=args.n_workers)
    except ImportError as exc:
        raise CLIError(str(exc)) from None


def _extract(args) -> int:
    """Write landmarks to CSV block by block; a rerun resumes after an interrupt."""
    with _on_cluster(args):
        return _extract_here(args)


def _extract_here(args) -> int:
    from tqdm.auto import tqdm

    from ._core.layout import landmark_feature_names
    from .landmarks import LandmarkExtractor

    root = _existing(args.input, "input")
    out = Path(_output(args.out, "--out", inputs=(root,) if root.is_file() else ()))
    _check_cache(args.cache)
    paths = _list_images(root)
    header = ["path", "face_found", "failure", *landmark_feature_names(args.n_landmarks)]
    settings = _extract_settings(args)
    done, has_header = _resume_state(out, header, settings)
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
    extractor.fit()  # checks the settings (and loads the models) before the CSV is touched
    if not has_header:
        _write_settings(out, settings)
    written, no_face, unreadable = 0, 0, 0
    # surrogateescape: a file name that is not valid UTF-8 is written byte for byte.
    with (
        out.open("a", newline="", encoding="utf-8", errors="surrogateescape") as fh,
        tqdm(total=len(todo), unit="img") as bar,
    ):
        writer = csv.writer(fh)
        if not has_header:
            writer.writerow(header)
            fh.flush()
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
                unreadable += sum(r == "unreadable" for r in reasons.values())
                no_face += sum(r != "unreadable" for r in reasons.values())
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


def _model_or_default(name: str | None):
    """A shipped model by name, a saved model folder, a joblib file, or the default model."""
    from .models import DEFAULT_MODEL, MODELS_DIR, load_model

    if name is None:
        name = DEFAULT_MODEL
    path = Path(name)
    if path.is_file() and path.name != "model.json":
        return _load_model(name), os.path.abspath(name)
    try:
        model = load_model(name)
    except ValueError as exc:
        raise CLIError(f"--model {name!r}: {exc}") from None
    shipped = (MODELS_DIR / name / "model.json").is_file()
    return model, name if shipped else os.path.abspath(name)


def _predict(args) -> int:
    """Every face of every image: label and probabilities, to CSV (resumable) or the screen."""
    from tqdm.auto import tqdm

    from .io import write_image
    from .predict import predict_faces
    from .video.annotate import annotate_frame

    files, marked_names = [], {}
    for item in args.inputs:
        root = _existing(item, "input")
        for path in _list_images(root):
            files.append(str(path))
            # The annotated copy keeps the path below its input (unique names).
            rel = path.name if root.is_file() else path.relative_to(root.resolve()).as_posix()
            marked_names[str(path)] = (
                f"{Path(rel).with_suffix('').as_posix().replace('/', '__')}.jpg"
            )
    if not files:
        raise CLIError("no image files in " + ", ".join(args.inputs))
    inputs = tuple(files)
    out = Path(_output(args.csv, "--csv", inputs=inputs)) if args.csv else None
    if args.annotate is not None:
        folder = Path(args.annotate).resolve()
        if folder.exists() and not folder.is_dir():
            raise CLIError(f"--annotate {args.annotate!r} is a file; give a folder")
        for item in args.inputs:  # the copies never land among (or replace) the inputs
            source = Path(item).resolve()
            source = source if source.is_dir() else source.parent
            if folder == source or folder.is_relative_to(source) or source.is_relative_to(folder):
                raise CLIError(
                    f"--annotate {args.annotate!r} overlaps the input folder {str(source)!r}; "
                    "give a folder apart from the photos"
                )
        folder.mkdir(parents=True, exist_ok=True)
    model, model_name = _model_or_default(args.model)
    from ._core.pipeline_tools import class_names

    names = class_names(model)
    header = [
        "file", "face", "face_found", "error", "x0", "y0", "x1", "y1", "score", "label",
        "confidence", *(f"p_{n}" for n in names),
    ]  # fmt: skip
    settings = {
        "command": "fersk predict",
        "model": model_name,
        "detector": args.detector,
        "upsample": args.upsample,
    }
    done, has_header = (
        _resume_state(out, header, settings, key="file", option="--csv") if out else (set(), False)
    )
    todo = [f for f in files if f not in done]
    if out is not None:
        print(
            f"{len(files)} images; {len(done)} already in {out}; {len(todo)} to do", file=sys.stderr
        )
        if not has_header:
            _write_settings(out, settings)
    n_faces = n_without = n_unreadable = 0
    handle = out.open("a", newline="", encoding="utf-8", errors="surrogateescape") if out else None
    writer = csv.writer(handle if handle else sys.stdout)
    try:
        if handle is not None and not has_header:
            writer.writerow(header)
        elif handle is None:
            writer.writerow(["file", "face", "label", "confidence", "error"])
        with tqdm(total=len(todo), unit="img", disable=len(todo) < 2) as bar:
            for path in todo:
                rows = predict_faces(
                    [path], model, detector=args.detector, upsample=args.upsample, progress=False
                ).to_dict("records")
                # All of an image's rows in one write: a kill never leaves half an image
                # (which a resumed run would count as done).
                block = io.StringIO()
                lines = csv.writer(block)
                for row in rows:
                    if handle is not None:
                        lines.writerow([row.get(k, "") for k in header])
                    else:
                        confidence = row["confidence"]
                        shown = "" if confidence != confidence else f"{confidence:.3f}"
                        lines.writerow([path, row["face"], row["label"], shown, row["error"]])
                (handle if handle is not None else sys.stdout).write(block.getvalue())
                n_faces += sum(bool(r["face_found"]) for r in rows)
                n_without += sum(r["error"] == "no face found" for r in rows)
                n_unreadable += sum(r["error"].startswith("unreadable") for r in rows)
                if handle is not None:
                    handle.flush()
                if args.annotate is not None and rows[0]["face_found"]:
                    from .io import AtomicOutput, read_image

                    marked = [{**r, "track": r["face"]} for r in rows]
                    image = annotate_frame(read_image(path, color="rgb"), marked)
                    with AtomicOutput(Path(args.annotate) / marked_names[path]) as tmp:
                        write_image(tmp, image)
                bar.update(1)
    except KeyboardInterrupt:
        print("\ninterrupted: rows of finished images kept; run again to resume", file=sys.stderr)
        return 130
    finally:
        if handle is not None:
            handle.close()
    print(
        f"{len(todo)} images: {n_faces} faces, {n_without} without a face, {n_unreadable} "
        f"unreadable (skipped){f'; rows in {out}' if out else ''}",
        file=sys.stderr,
    )
    return 0


def _load_split(args, subset: str):
    """Load ``args.root``'s ``subset`` ("train" or "test"); say which split was used.

    A dataset with its own train/test split uses it unless ``--test-size`` is
    given; one without (CK+48, a plain folder per class) is split here:
    subject-independent (``GroupShuffleSplit``) when the loader knows the
    subjects, stratified by class otherwise, seeded by ``--split-seed``.
    """
    from .datasets import load_dataset

    root = _existing(args.root, "dataset")
    data = load_dataset(root)
    n = len(data.target)
    if n and isinstance(data.data[0], (str, os.PathLike)) and os.path.isdir(data.data[0]):
        raise CLIError(
            f"{root} holds video clips (one folder per clip); fersk train/evaluate fit and score "
            "image models. Use fersk.study.make_clip_pipeline in Python for clips"
        )
    labels = np.asarray(data.target)
    predefined = {"train", "test"} <= set(np.asarray(data.split).tolist())
    test_size = args.test_size
    if predefined and test_size is None:
        keep = np.asarray(data.split) == subset
        how = "the dataset's own train/test split"
        unused = int(np.isin(np.asarray(data.split), ["train", "test"], invert=True).sum())
        if unused:
            how += f"; {unused} images of other splits (val, unknown) not used"
    else:
        from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

        test_size = 0.2 if test_size is None else test_size
        seed = args.split_seed
        if data.subject is not None:
            splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
            train, test = next(splitter.split(np.zeros(n), labels, groups=data.subject))
            how = f"a subject-independent {1 - test_size:.0%}/{test_size:.0%} split"
        else:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
            train, test = next(splitter.split(np.zeros(n), labels))
            how = f"a stratified {1 - test_size:.0%}/{test_size:.0%} split (no subject ids)"
        how += f" (--test-size {test_size} --split-seed {seed}"
        how += "; evaluate with the same values)" if subset == "train" else ")"
        keep = np.zeros(n, dtype=bool)
        keep[train if subset == "train" else test] = True
    index = np.flatnonzero(keep)
    if index.size == 0:
        raise CLIError(f"the {subset} split of {root} is empty")
    option = "--max-train" if subset == "train" else "--max-test"
    max_samples = getattr(args, option[2:].replace("-", "_"), None)
    n_classes = len(np.unique(labels[index]))
    if max_samples is not None and max_samples < n_classes:
        raise CLIError(
            f"{option} {max_samples} is fewer than the {n_classes} classes of the {subset} split"
        )
    if max_samples is not None and max_samples < index.size:
        from sklearn.model_selection import train_test_split

        counts = np.bincount(np.unique(labels[index], return_inverse=True)[1])
        stratify = labels[index] if counts.min() >= 2 else None
        index, _ = train_test_split(
            index, train_size=max_samples, stratify=stratify, random_state=0
        )
        index = np.sort(index)
    X = [data.data[i] for i in index]
    X = np.stack(X) if isinstance(X[0], np.ndarray) else np.array(X, dtype=object)
    y = labels[index]
    groups = None if data.subject is None else np.asarray(data.subject)[index]
    subjects = "" if groups is None else f" of {len(set(groups.tolist()))} subjects"
    print(f"{subset}: {len(y)} images{subjects} of {root}, from {how}", file=sys.stderr)
    return X, y, groups, list(data.target_names)


def _check_some_faces(model, n_samples: int) -> None:
    """Refuse to save a model whose every training sample gave a NaN row."""
    from ._core.base import ImageInputMixin
    from ._core.pipeline_tools import find_steps

    for step in find_steps(model, ImageInputMixin):
        failures = getattr(step, "failures_", [])
        if n_samples and len(failures) >= n_samples:
            raise CLIError(
                f"{type(step).__name__} found nothing usable in any of the {n_samples} training "
                f"images (first: {failures[0].source}: {failures[0].message}); not saving a "
                "model. Try --detector none for face crops"
            )


def _train(args) -> int:
    with _on_cluster(args):
        return _train_here(args)


def _train_here(args) -> int:
    from ._core.fit_progress import MLP_EPOCH, MLP_QUIET, SEARCH_FIT, printed_progress, verbose_mlps
    from .study import make_study_pipeline, tune

    # Checked now, not after an hour of training; never the dataset itself.
    out = _output(args.model, "--model", inputs=(args.root,))
    _check_cache(args.cache)
    X, y, groups, names = _load_split(args, "train")
    pipe = make_study_pipeline(
        args.n_landmarks,
        routed=not args.single,
        detector=args.detector,
        memory=args.cache,
        n_jobs=args.n_jobs,
    )
    import time

    start = time.perf_counter()

    def phase(text: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {text}", file=sys.stderr, flush=True)

    phase(f"training on {len(y)} images ({', '.join(names)})")
    y = np.asarray(names)[y]  # the model's classes_ are the emotion names
    if args.tune:
        from sklearn.model_selection import ParameterGrid

        from .study import param_grid

        on_cluster = args.scheduler is not None or args.n_workers is not None
        n_fits = len(ParameterGrid(param_grid(pipe))) * TUNE_FOLDS
        phase(
            f"tuning: a GridSearchCV over the MLP's solver and learning rate ({n_fits} fits, "
            "then a refit of the best)"
        )
        # On a cluster the fits print on the workers: the scheduler's dashboard shows them.
        with printed_progress(SEARCH_FIT, desc="GridSearchCV", total=n_fits, unit="fit"):
            search = tune(
                pipe,
                X,
                y,
                groups=groups,
                cv=TUNE_FOLDS,
                n_jobs=-1 if on_cluster else 1,
                verbose=2,
            )
        pipe = search.best_estimator_
        phase(f"best: {search.best_params_} (CV UAR {search.best_score_:.3f})")
    else:
        phase("fitting: landmarks of every image (a bar for long runs), then the classifier")
        try:
            with (
                verbose_mlps(pipe),
                printed_progress(MLP_EPOCH, desc="classifier", unit="epoch", drop=MLP_QUIET),
            ):
                pipe.fit(X, y)
        except ValueError:
            _check_some_faces(pipe, len(y))  # the likely cause, named
            raise
    _check_some_faces(pipe, len(y))
    _save_model(pipe, out)
    phase(f"saved {out}")
    return 0


def _evaluate(args) -> int:
    from ._core.pipeline_tools import class_names, find_steps
    from .features.clarity import ClarityBinner
    from .landmarks import ClipLandmarkExtractor
    from .study import evaluate

    if args.json:
        _output(args.json, "--json", inputs=(args.root, args.model))
    _check_report(args.report)
    model, _ = _model_or_default(args.model)
    if find_steps(model, ClipLandmarkExtractor):
        raise CLIError(f"--model {args.model!r} reads clips; fersk evaluate scores image models")
    X, y, _, names_in_data = _load_split(args, "test")
    names = class_names(model, getattr(model, "target_names_", None))
    unknown = sorted(set(names) - set(names_in_data))
    if unknown:
        raise CLIError(
            f"the model was trained on classes {names}; the data has {names_in_data} "
            f"(the model's {unknown} are not in it)"
        )
    if all(isinstance(c, str) for c in model.classes_):
        y = np.asarray(names_in_data)[y]  # the model's classes_ are names
    elif list(getattr(model, "target_names_", [])) != names_in_data:  # fersk 0.1: int codes
        raise CLIError(f"the model's class codes do not match the data's {names_in_data}")
    binners = list(find_steps(model, ClarityBinner))
    levels = binners[0].transform(X).ravel() if binners else None
    y_pred = model.predict(X)
    report = evaluate(model, X, y, clarity_levels=levels, target_names=names_in_data, y_pred=y_pred)
    text = json.dumps(report, indent=2)
    if args.json:
        from .io import AtomicOutput

        with AtomicOutput(args.json) as tmp:
            Path(tmp).write_text(text)
    print(text)
    if args.report is not None:
        if np.asarray(y).dtype.kind in "iu":  # a fersk 0.1 model: codes index the names
            y, y_pred = np.asarray(names_in_data)[y], np.asarray(names_in_data)[y_pred]
        _evaluation_report(args, report, y, y_pred, names_in_data)
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


def _evaluation_report(args, result: dict, y, y_pred, names: list[str]) -> None:
    """``--report DIR``: Markdown with pictures and one HTML file."""
    from .evaluation.plot import plot_confusion_matrix, plot_groups, plot_recall
    from .evaluation.report import Report

    overall = result["overall"]
    report = Report(f"fersk evaluate: {args.model} on {args.root}")
    report.table(
        ["test images", "WAR", "UAR", "faces not found", "unreadable"],
        [
            [
                overall["n"],
                f"{overall['war']:.3f}",
                f"{overall['uar']:.3f}",
                result["faces_not_found"],
                result["unreadable"],
            ]
        ],
    )
    labels = [
        n for n in names if n in set(np.asarray(y).tolist()) | set(np.asarray(y_pred).tolist())
    ]
    report.figure("confusion", plot_confusion_matrix(y, y_pred, labels=labels), "where it fails")
    report.figure("recall", plot_recall({str(args.model): result.get("per_class_recall", {})}))
    if "levels" in result:
        report.figure(
            "levels",
            plot_groups(result["levels"], xlabel="clarity level (0 = blurriest)"),
            "WAR and UAR per clarity level",
        )
    folder = report.write(args.report)
    print(f"report: {folder / 'report.md'} and {folder / 'report.html'}", file=sys.stderr)


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
    model, _ = _model_or_default(args.model)
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
        f"{summary['frames']} frames, {summary['faces']} face rows, tracks "
        f"{summary['tracks']}, {summary['fps']:.1f} frames/s -> {args.csv}"
        + (f", {args.annotate}" if summary["annotated"] else ""),
        file=sys.stderr,
    )
    if args.report is not None:
        _video_report(args, summary)
    if summary["interrupted"]:
        print(f"interrupted: the {summary['frames']} frames done are kept", file=sys.stderr)
        return 130
    return 0


def _video_report(args, summary: dict) -> None:
    """``--report DIR``: a timeline per face track, in Markdown and one HTML file."""
    import pandas as pd

    from .evaluation.plot import plot_timeline
    from .evaluation.report import Report
    from .video import count_flips

    rows = pd.read_csv(args.csv)
    faces = rows[rows["face_found"].astype(bool)]
    report = Report(f"fersk video: {args.input if args.camera is None else args.camera}")
    report.table(
        ["frames", "face rows", "tracks", "frames/s"],
        [[summary["frames"], summary["faces"], len(summary["tracks"]), f"{summary['fps']:.1f}"]],
    )
    tracks = faces["track"].value_counts().index[:4]
    for track in tracks:
        one = faces[faces["track"] == track]
        report.heading(f"Track {track}")
        report.text(
            f"{len(one)} frames with this face; label flips {count_flips(one['raw_label'])} raw, "
            f"{count_flips(one['label'])} smoothed; shown most: "
            f"{one['label'].value_counts().index[0] if len(one) else '-'}."
        )
        report.figure(f"timeline_track{track}", plot_timeline(rows, track=int(track)))
    folder = report.write(args.report)
    print(f"report: {folder / 'report.md'} and {folder / 'report.html'}", file=sys.stderr)


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
