"""The README's main job: a shipped model on a real face, then the study on the built-in sample.

First, with no training, the default shipped model reads scikit-image's
public-domain astronaut photo (``astronaut.png``, ``faces.csv``), as
``fersk predict`` does. Then the study: it writes the sample's images to disk,
and for 5 vs 68 landmarks and single vs clarity-routed MLPs it tunes the MLP's
optimizer and learning rate with ``GridSearchCV`` (subject-independent folds,
landmarks cached across fits), evaluates on held-out subjects (WAR/UAR overall
and per clarity level), saves the best pipeline as a fersk model folder
(:func:`fersk.models.save_model`: arrays and JSON, no pickle; it checks that the
reloaded copy predicts identically), and writes a Markdown report and a JSON
record.

Then the same for clips: the sample's subjects in short onset-to-apex clips
(written as frame folders), scored on held-out subjects with one frame's
landmark distances, plus :class:`~fersk.MotionDelta` motion features, plus
:class:`~fersk.SubjectNeutralizer` conditioning (subject ids passed with
metadata routing); the apex frame + motion model is saved as ``clip_model/``.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import numpy as np
import sklearn

from . import __version__
from ._core.environment import environment_info
from .datasets import make_sample_clips, make_sample_faces
from .evaluation.metrics import war_uar
from .evaluation.report import markdown_table
from .features.clarity import ClarityBinner
from .models import load_model, save_model
from .study import evaluate, make_clip_pipeline, make_study_pipeline, tune

__all__ = [
    "format_clip_table",
    "format_table",
    "run_clip_demo",
    "run_demo",
    "run_photo_demo",
    "run_video_demo",
]

QUICK = {"n_subjects": 4, "n_intensities": 2, "grid": {"learning_rate_init": [1e-3, 1e-2]}}

#: The clip model the demo saves (an index into CLIP_MODELS), fixed in advance.
SAVED_CLIP_MODEL = 1

#: The clip models the demo compares: (name, make_clip_pipeline options).
CLIP_MODELS = (
    ("apex frame", dict(frame="last", motion=False)),
    ("apex frame + motion", dict(frame="last", motion=True)),
    ("apex frame + motion + subject", dict(frame="last", motion=True, subject=True)),
)


def run_photo_demo(out: Path, *, say=print) -> dict:
    """The demo's first part: the default shipped model on a real photo, no training.

    Writes scikit-image's public-domain astronaut photo to ``astronaut.png`` and
    every face found in it, with its label and probabilities, to ``faces.csv``
    (:func:`fersk.predict.predict_faces`, the same as ``fersk predict``).
    """
    from skimage.data import astronaut

    from .io import AtomicOutput, write_image
    from .models import DEFAULT_MODEL
    from .predict import predict_faces

    path = write_image(out / "astronaut.png", astronaut())
    rows = predict_faces([path], progress=False)
    with AtomicOutput(out / "faces.csv") as tmp:
        rows.to_csv(tmp, index=False)
    faces = rows[rows["face_found"]]
    labels = ", ".join(f"{r.label} ({r.confidence:.2f})" for r in faces.itertuples())
    result = {
        "photo": path,
        "model": DEFAULT_MODEL,
        "faces": len(faces),
        "labels": faces["label"].tolist(),
        "confidence": [round(float(c), 3) for c in faces["confidence"]],
        "csv": str(out / "faces.csv"),
    }
    result["summary"] = (
        f"the shipped model {DEFAULT_MODEL!r}, no training, on a real photo ({path}, "
        f"scikit-image's astronaut): {len(faces)} face{'s' * (len(faces) != 1)}: "
        f"{labels or 'none'}. Same as "
        f"`fersk predict {shlex.quote(path)}`."
    )
    say(result["summary"])
    return result


def run_clip_demo(out: Path, *, quick: bool, memory: Path, say=print) -> dict:
    """The demo's clip part: train on the sample clips' training subjects, test on the rest.

    Returns ``{"results": [...], "best": name, "model_path": str, ...}``; the
    :data:`SAVED_CLIP_MODEL` (chosen in advance, never by test score) is saved
    as ``out / "clip_model"`` (a model folder) and reloaded to
    check identical predictions.
    """
    n_frames = 8 if quick else 16
    clips = make_sample_clips(
        n_subjects=QUICK["n_subjects"] if quick else 8,
        n_frames=n_frames,
        onset_frames=n_frames // 4,
        out_dir=out / "clips",
    )
    X = np.array(clips.data, dtype=object)
    y = np.asarray(clips.target_names)[clips.target]  # classes_ are the names
    subjects = clips.subject
    train, test = clips.split == "train", clips.split == "test"
    say(
        f"\nclips: {len(X)} sample clips of {n_frames} frames written to {out / 'clips'} "
        f"({train.sum()} train / {test.sum()} test)"
    )
    results, models = [], []
    for name, options in CLIP_MODELS:
        t0 = time.perf_counter()
        model = make_clip_pipeline(68, n_frames, detector="none", memory=memory, **options)
        routed = options.get("subject", False)
        fit_kw = {"groups": subjects[train]} if routed else {}
        predict_kw = {"groups": subjects[test]} if routed else {}
        with sklearn.config_context(enable_metadata_routing=routed):
            model.fit(X[train], y[train], **fit_kw)
            y_pred = model.predict(X[test], **predict_kw)
        score = war_uar(y[test], y_pred)
        results.append({"model": name, **score, "seconds": round(time.perf_counter() - t0, 1)})
        models.append((model, predict_kw, routed))
        say(f"  {name:<30} test WAR {score['war']:.3f}  UAR {score['uar']:.3f}")
    # The saved model is chosen in advance, not by its test score (the test
    # subjects stay unseen by every decision): apex frame + motion, which needs
    # no subject ids at prediction time.
    best_i = SAVED_CLIP_MODEL
    model, predict_kw, routed = models[best_i]
    path = save_model(model, out / "clip_model", description="the demo's clip model")
    with sklearn.config_context(enable_metadata_routing=routed):
        same = np.array_equal(
            load_model(path).predict(X[test], **predict_kw), model.predict(X[test], **predict_kw)
        )
    if not same:
        raise RuntimeError("the reloaded clip model predicts differently from the saved one")
    return {
        "n_clips": len(X),
        "n_frames": n_frames,
        "results": results,
        "best": results[best_i]["model"],
        "model_path": str(path),
        "reload_identical": bool(same),
    }


def write_report(out: Path, record: dict, sample, subjects, y_pred, y_true) -> None:
    """``report.md`` with its pictures, and the same as one ``report.html``."""
    from .evaluation.report import Report

    results, clips, video = record["results"], record["clips"], record["video"]
    report = Report("fersk demo")
    report.heading("A shipped model on a real face")
    report.text(record["photo"]["summary"])
    report.heading("The study on the built-in sample")
    report.text(
        f"{record['n_images']} built-in sample faces ({len(set(subjects))} synthetic subjects, "
        f"{len(sample.target_names)} expressions, 3 blur levels); test subjects never seen "
        "in training or tuning. GridSearchCV over the MLP's solver and learning rate, "
        "GroupKFold by subject, refit on UAR."
    )
    report.table(*table_rows(results))
    best = record["best"]
    report.text(
        f"Best by cross-validated UAR on the training subjects: {best}, saved to "
        f"`{record['model_path']}` (reloaded predictions identical: "
        f"{record['reload_identical']})."
    )
    try:
        import matplotlib  # noqa: F401  (fersk.evaluation.plot imports it only when drawing)

        from .evaluation.plot import plot_confusion_matrix, plot_groups, plot_recall, plot_timeline
    except ImportError:  # pragma: no cover - matplotlib is in the plot and test extras
        plot_confusion_matrix = None
        report.text("(No pictures: pip install 'fersk[plot]' for them.)")
    if plot_confusion_matrix is not None:
        chosen = next(
            r for r in results if (r["landmarks"], r["model"]) == (best["landmarks"], best["model"])
        )
        report.figure(
            "confusion",
            plot_confusion_matrix(y_true, y_pred, labels=list(sample.target_names)),
            "the best model on the held-out subjects: where it fails",
        )
        report.figure(
            "recall",
            plot_recall(
                {
                    f"{r['landmarks']} pts, {r['model']}": r["test"]["per_class_recall"]
                    for r in results
                }
            ),
            "per-class recall of the four configurations: which one wins",
        )
        report.figure(
            "levels",
            plot_groups(chosen["test"]["levels"], xlabel="clarity level (0 = blurriest)"),
            "the best model's WAR and UAR per clarity level",
        )
    report.heading("Clips")
    report.text(
        f"{clips['n_clips']} sample clips (neutral onset to expression apex, "
        f"{clips['n_frames']} frames, head drift), the same held-out subjects. Motion = "
        "MotionDelta; subject = SubjectNeutralizer on the apex distances (mean of each "
        "subject's unlabelled clips)."
    )
    report.table(*clip_table_rows(clips))
    report.text(f"Saved (chosen in advance): {clips['best']}, to `{clips['model_path']}`.")
    report.heading("Video")
    report.text(video["summary"])
    if plot_confusion_matrix is not None:
        import pandas as pd

        report.figure(
            "timeline",
            plot_timeline(pd.read_csv(video["csv"])),
            "smoothed vs raw label and probabilities over the held-out subject's video",
        )
    report.text(f"Took {record['seconds']} s.")
    report.write(out, whole=False)  # the demo folder holds its other outputs too


def run_video_demo(out: Path, model, subject: str, *, quick: bool, say=print) -> dict:
    """The demo's video part: a held-out subject's sample video through the stream mode.

    Writes ``sample_video.avi``, then ``video.csv`` (one row per face per
    frame) and ``video_annotated.avi`` with :class:`fersk.video.VideoAnalyzer`.
    """
    from .datasets import make_sample_video
    from .video import VideoAnalyzer, count_flips

    path = out / "sample_video.avi"
    script = None
    if quick:
        script = [("neutral", 1.5), ("expression", 1.5, "happiness"), ("neutral", 1.0)]
    video = make_sample_video(path, subject=int(subject[1:]), script=script)
    seconds = len(video.time) / video.fps
    summary = VideoAnalyzer(model).run(
        path, csv_path=out / "video.csv", annotate=out / "video_annotated.avi"
    )
    import csv

    with open(out / "video.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["face_found"] == "True"]
    truth = video.emotion[:, 0]
    correct = [r["label"] == truth[int(r["frame"])] for r in rows]
    result = {
        "video": str(path),
        "frames": summary["frames"],
        "fps": round(summary["fps"], 1),
        "face_rows": len(rows),
        "raw_flips": count_flips([r["raw_label"] for r in rows]),
        "smoothed_flips": count_flips([r["label"] for r in rows]),
        "frame_accuracy": float(np.mean(correct)) if correct else float("nan"),
        "csv": str(out / "video.csv"),
    }
    result["summary"] = (
        f"{summary['frames']} frames of {path.name} ({seconds:.0f} s, subject {subject}, never "
        f"seen in training) at {result['fps']} frames/s: {len(rows)} face rows, label flips "
        f"{result['raw_flips']} raw -> {result['smoothed_flips']} smoothed, smoothed labels "
        f"match the script on {100 * result['frame_accuracy']:.0f}% of face frames. "
        f"Rows in `{result['csv']}`; same as `fersk video {path} --model "
        f"{out / 'model'} --csv video.csv`."
    )
    say("\nvideo: " + result["summary"])
    return result


def format_clip_table(clips: dict) -> str:
    """Markdown table of the clip models' held-out WAR/UAR.

    Examples
    --------
    >>> print(format_clip_table({"results": [{"model": "m", "war": 0.5, "uar": 0.25}]}))
    | clip model | test WAR | test UAR |
    |---|---|---|
    | m | 0.500 | 0.250 |
    """
    header, rows = clip_table_rows(clips)
    return markdown_table(header, rows)


def clip_table_rows(clips: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the clip models' held-out WAR/UAR."""
    rows = [[r["model"], f"{r['war']:.3f}", f"{r['uar']:.3f}"] for r in clips["results"]]
    return ["clip model", "test WAR", "test UAR"], rows


def format_table(results: list[dict]) -> str:
    """Markdown table of WAR/UAR per configuration and clarity level.

    Examples
    --------
    >>> row = {"landmarks": 5, "model": "single", "cv_uar": 0.5, "faces_not_found": 0,
    ...        "test": {"overall": {"war": 0.5, "uar": 0.4, "n": 10},
    ...                 "levels": {"0": {"war": 0.3, "uar": 0.2, "n": 5}}}}
    >>> print(format_table([row]).splitlines()[2])
    | 5 | single | 0.500 | 0.500 | 0.400 | 0.300 / 0.200 | 0 |
    """
    return markdown_table(*table_rows(results))


def table_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of WAR/UAR per configuration and clarity level."""
    levels = sorted({k for r in results for k in r["test"].get("levels", {})})
    head = ["landmarks", "model", "CV UAR", "test WAR", "test UAR"]
    head += [f"level {k} WAR / UAR" for k in levels] + ["faces not found"]
    rows = []
    for r in results:
        overall = r["test"]["overall"]
        cells = [
            str(r["landmarks"]),
            r["model"],
            f"{r['cv_uar']:.3f}",
            f"{overall['war']:.3f}",
            f"{overall['uar']:.3f}",
        ]
        for k in levels:
            lv = r["test"].get("levels", {}).get(k)
            cells.append(f"{lv['war']:.3f} / {lv['uar']:.3f}" if lv else "-")
        cells.append(str(r["faces_not_found"]))
        rows.append(cells)
    return head, rows


def run_demo(
    out_dir: str | Path = "fersk-demo",
    *,
    quick: bool = False,
    n_jobs: int | None = None,
    verbose: bool = True,
) -> dict:
    """Run the demo; return its results (also written under ``out_dir``).

    Parameters
    ----------
    out_dir : path
        Where the sample images, the landmark cache, ``model/``,
        ``report.md`` and ``results.json`` go.
    quick : bool
        A smaller sample and grid (for tests; about 4x faster).
    n_jobs : int or None
        Workers for ``GridSearchCV``.
    verbose : bool
        Print progress and the final table.

    Returns
    -------
    dict
        ``{"results": [...], "best": {...}, "model_path": str, ...}``
    """
    say = print if verbose else (lambda *a, **k: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    photo = run_photo_demo(out, say=say)
    sample_kw = {k: QUICK[k] for k in ("n_subjects", "n_intensities")} if quick else {}
    sample = make_sample_faces(out_dir=out / "sample", **sample_kw)
    X = np.array(sample.data, dtype=object)
    y = np.asarray(sample.target_names)[sample.target]  # classes_ are the names
    subjects = sample.subject
    train, test = sample.split == "train", sample.split == "test"
    say(
        f"fersk demo: {len(X)} sample faces written to {out / 'sample'} "
        f"({train.sum()} train / {test.sum()} test images, subjects held out: "
        f"{', '.join(sorted(set(subjects[test])))})"
    )

    memory = out / "cache"
    levels = ClarityBinner(3, memory=memory).fit(X[train]).transform(X[test]).ravel()
    grid = QUICK["grid"] if quick else None
    results, searches = [], []
    for n_landmarks in (5, 68):
        for routed in (False, True):
            t0 = time.perf_counter()
            pipe = make_study_pipeline(n_landmarks, routed, detector="none", memory=memory)
            search = tune(
                pipe, X[train], y[train], groups=subjects[train], grid=grid, n_jobs=n_jobs
            )
            report = evaluate(
                search.best_estimator_,
                X[test],
                y[test],
                clarity_levels=levels,
                target_names=sample.target_names,
            )
            row = {
                "landmarks": n_landmarks,
                "model": "routed" if routed else "single",
                "best_params": {k.rsplit("__", 1)[-1]: v for k, v in search.best_params_.items()},
                "cv_uar": float(search.best_score_),
                "test": report,
                "faces_not_found": report["faces_not_found"],
                "seconds": round(time.perf_counter() - t0, 1),
            }
            say(
                f"  {n_landmarks:>2} landmarks, {row['model']:>6}: test WAR "
                f"{report['overall']['war']:.3f}  UAR {report['overall']['uar']:.3f}  "
                f"({row['seconds']} s, best {row['best_params']})"
            )
            results.append(row)
            searches.append(search)

    # Model selection by cross-validation on the training subjects only.
    best_i = int(np.argmax([r["cv_uar"] for r in results]))
    best = searches[best_i].best_estimator_
    model_path = save_model(best, out / "model", description="the demo's study model")
    reloaded = load_model(model_path)
    y_pred = best.predict(X[test])
    identical = bool(np.array_equal(reloaded.predict(X[test]), y_pred))
    if not identical:
        raise RuntimeError("the reloaded model predicts differently from the saved one")

    clips = run_clip_demo(out, quick=quick, memory=memory, say=say)
    video = run_video_demo(out, best, subjects[test][0], quick=quick, say=say)

    record = {
        "fersk": __version__,
        "environment": environment_info(),
        "n_images": len(X),
        "target_names": list(sample.target_names),
        "results": results,
        "best": {k: results[best_i][k] for k in ("landmarks", "model")},
        "model_path": str(model_path),
        "reload_identical": identical,
        "clips": clips,
        "video": video,
        "photo": photo,
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / "results.json").write_text(json.dumps(record, indent=2))
    table = format_table(results)
    write_report(out, record, sample, subjects, y_pred, y[test])
    say("\n" + table + "\n\n" + format_clip_table(clips))
    say(
        f"\nsaved {model_path}, {out / 'report.md'}, {out / 'results.json'} "
        f"in {record['seconds']} s"
    )
    return record
