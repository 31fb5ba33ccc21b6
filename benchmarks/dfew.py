"""Clips: DFEW's five-fold protocol, MotionDelta vs single-frame landmarks.

    python benchmarks/dfew.py ~/fer-data/DFEW            # the official folds
    python benchmarks/dfew.py                            # the built-in sample clips

With a DFEW root (``Clip/clip_224x224/`` and ``EmoLabel_DataSplit/``), every
clip is sampled to 16 frames (DFEW practice), landmarks are extracted once
per frame (cached), and each model is scored on the five official folds:
WAR and UAR per fold, mean ± sd. Without a root the built-in sample clips
(neutral onset -> expression apex, with head drift) are scored with
five-fold GroupKFold on subject.

Models, each standardised features -> MLP:

* ``frame``: pairwise landmark distances of one frame (the last sampled
  frame on the sample clips, whose apex it is; the middle one on DFEW);
* ``motion``: :class:`fersk.MotionDelta` (displacement from the onset frame,
  apex displacement, speeds; similarity-normalised);
* ``frame+motion``: both;
* ``frame+motion+subject`` (sample clips only, which have subject ids): the
  same with :class:`fersk.SubjectNeutralizer` on the distances.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).parent))
from _common import dataset_parser, finish  # noqa: E402

from fersk.evaluation.crossval import cross_val_war_uar  # noqa: E402
from fersk.landmarks import LandmarkExtractor  # noqa: E402
from fersk.landmarks.clip_extractor import ClipLandmarkExtractor  # noqa: E402
from fersk.study import make_clip_pipeline  # noqa: E402


def load(args):
    """``(clips, y, subjects or None, cv, target_names, name, frame)``."""
    if args.root:
        from fersk.datasets import dfew_cv, load_dfew

        data = load_dfew(args.root, frames=args.frames)
        return (
            list(data.data),
            data.target,
            None,
            dfew_cv(data),
            list(data.target_names),
            "DFEW",
            "middle",
        )
    from fersk.datasets.synthetic import make_sample_clips

    data = make_sample_clips(
        n_subjects=args.sample_subjects, n_frames=args.n_frames, onset_frames=4, image_size=96
    )
    cv = list(GroupKFold(5).split(data.data, data.target, data.subject))
    return (
        list(data.data),
        data.target,
        np.asarray(data.subject),
        cv,
        list(data.target_names),
        "sample clips",
        "last",
    )


def make_model(name: str, frame: str, n_frames: int, n_landmarks: int):
    return make_clip_pipeline(
        n_landmarks,
        n_frames,
        frame=frame if "frame" in name else None,
        motion="motion" in name,
        subject="subject" in name,
        extract=False,
    )


def main(argv=None) -> int:
    parser = dataset_parser(__doc__)
    parser.add_argument("--n-frames", type=int, default=16)
    parser.add_argument("--landmarks", type=int, default=68, choices=(68, 5))
    parser.add_argument("--detector", default="hog", choices=("none", "hog", "mmod"))
    parser.add_argument("--frames", default="clip_224x224", help="DFEW Clip/ sub-folder")
    parser.add_argument("--sample-subjects", type=int, default=12)
    parser.add_argument("--n-jobs", type=int, default=-1, help="extraction workers")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "fersk"))
    args = parser.parse_args(argv)

    clips, y, subjects, cv, names, dataset, frame = load(args)
    print(f"{dataset}: {len(y)} clips, {len(cv)} folds, classes {names}", flush=True)
    extractor = ClipLandmarkExtractor(
        LandmarkExtractor(
            args.landmarks, detector=args.detector, memory=args.cache, n_jobs=args.n_jobs
        ),
        n_frames=args.n_frames,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = extractor.fit_transform(clips)
    extract_s = time.perf_counter() - start
    frames_missing = int(extractor.n_failures_)
    print(
        f"landmarks of {len(y) * args.n_frames} frames in {extract_s:.0f} s, "
        f"{frames_missing} frames without a face",
        flush=True,
    )

    models = ["frame", "motion", "frame+motion"]
    if subjects is not None:
        models.append("frame+motion+subject")
    rows = []
    for name in models:
        model = make_model(name, frame, args.n_frames, args.landmarks)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = cross_val_war_uar(
                model, X, y, cv=cv, groups=subjects, route_groups="subject" in name
            )
        row = {
            "model": name,
            "war_mean": r["war_mean"],
            "war_std": r["war_std"],
            "uar_mean": r["uar_mean"],
            "uar_std": r["uar_std"],
            "folds": [{k: f[k] for k in ("war", "uar", "n")} for f in r["folds"]],
            "per_class_recall": {names[k]: v for k, v in r["per_class_recall"].items()},
            "cv_s": time.perf_counter() - start,
        }
        rows.append(row)
        print(
            f"{name:<22} WAR {100 * row['war_mean']:5.1f} ± {100 * row['war_std']:4.1f}  "
            f"UAR {100 * row['uar_mean']:5.1f} ± {100 * row['uar_std']:4.1f}",
            flush=True,
        )

    table = (
        "| model | WAR % (mean ± sd) | UAR % (mean ± sd) | per fold WAR % |\n|---|---|---|---|\n"
    )
    table += "\n".join(
        f"| {r['model']} | {100 * r['war_mean']:.1f} ± {100 * r['war_std']:.1f} | "
        f"{100 * r['uar_mean']:.1f} ± {100 * r['uar_std']:.1f} | "
        + ", ".join(f"{100 * f['war']:.1f}" for f in r["folds"])
        + " |"
        for r in rows
    )
    protocol = "DFEW's five official folds" if args.root else "five-fold GroupKFold on subject"
    markdown = (
        f"{dataset}: {len(y)} clips sampled to {args.n_frames} frames, {args.landmarks} "
        f"landmarks ({args.detector} detector; {frames_missing} of {len(y) * args.n_frames} "
        f"frames without a face, extraction {extract_s:.0f} s), {protocol}; MLP on "
        f"standardised features; single frame = the {frame} sampled frame.\n\n" + table
    )
    return finish(
        args,
        "dfew" if args.root else "dfew_sample_clips",
        {"extract_s": extract_s, "frames_missing": frames_missing, "models": rows},
        markdown,
        table,
    )


if __name__ == "__main__":
    raise SystemExit(main())
