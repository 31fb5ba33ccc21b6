"""Subject conditioning, leave-subject-out: with vs without SubjectNeutralizer.

    python benchmarks/subject_conditioning.py ~/fer-data/CK+48

Any subject-labelled dataset root fersk's loaders read (CK+48 and CK+ file
names carry subject ids; ``--subject-pattern`` for other names); without a
root, the built-in sample faces. Folds are GroupKFold on subject, so no
subject is ever in both train and test. Landmarks are extracted once per
layout (cached), then each variant is cross-validated on the same folds:
``none`` (distances only), ``mean`` / ``median`` (the test subject's own,
unlabelled samples), ``mean+standardize``, ``mean+divide`` (ratio to the
subject's mean distance) and ``neutral`` (training subjects' neutral
samples; only when the data has a neutral class -- unseen test subjects then
fall back to the population baseline).

Besides WAR/UAR (mean ± std over folds), it reports per-subject accuracy
grouped by how many distinct expressions a subject shows: a subject's mean is
only a neutral-like baseline when it averages several expressions.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _common import dataset_parser, finish  # noqa: E402

from fersk import LandmarkExtractor, PairwiseDistance, SubjectNeutralizer  # noqa: E402
from fersk.evaluation.crossval import cross_val_war_uar  # noqa: E402
from fersk.study import default_classifier  # noqa: E402

VARIANTS = {
    "none": None,
    "mean": dict(baseline="mean"),
    "median": dict(baseline="median"),
    "mean+standardize": dict(baseline="mean", method="standardize"),
    "mean+divide": dict(baseline="mean", method="divide"),
    "mean+shrink": dict(baseline="mean", shrinkage=6.0),
    "raw+mean": dict(baseline="mean"),
    "neutral": dict(baseline="neutral"),
}


def load(args):
    """``(X, y, subjects, target_names, name)`` for the root, or the sample faces."""
    if args.root:
        from fersk.datasets import load_image_folder

        if args.subject_pattern:
            data = load_image_folder(args.root, subject_pattern=args.subject_pattern)
        else:
            from fersk.datasets import load_dataset

            data = load_dataset(args.root)
        if data.subject is None:
            raise SystemExit(
                f"{args.root}: no subject ids in this dataset; pass --subject-pattern "
                "(a regex with a named group 'subject' matched against file names)"
            )
        name = Path(args.root).expanduser().name
    else:
        from fersk.datasets.synthetic import make_sample_faces

        data = make_sample_faces(n_subjects=12, n_intensities=2, blur_sigmas=(0.0,))
        name = "sample"
    return list(data.data), data.target, np.asarray(data.subject), list(data.target_names), name


def make_model(variant: str, kwargs: dict | None, classifier: str, neutral: int | None):
    clf = default_classifier(0) if classifier == "mlp" else LogisticRegression(C=0.1, max_iter=2000)
    steps = [PairwiseDistance()]
    if variant.startswith("raw+"):
        steps.append(
            FeatureUnion(
                [
                    ("raw", FunctionTransformer()),
                    ("conditioned", SubjectNeutralizer(**kwargs, neutral_label=neutral)),
                ]
            )
        )
    elif kwargs is not None:
        steps.append(SubjectNeutralizer(**kwargs, neutral_label=neutral))
    steps += [SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), clf]
    return make_pipeline(*steps)


def by_expressions_shown(y, subjects, per_subject) -> dict:
    """Mean per-subject accuracy, grouped by distinct classes the subject shows."""
    shown = {s: len(np.unique(y[subjects == s])) for s in np.unique(subjects)}
    groups: dict = {}
    for s, record in per_subject["subjects"].items():
        k = shown[s] if shown[s] < 4 else "4+"
        groups.setdefault(str(k), []).append(record["accuracy"])
    return {
        k: {"subjects": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(groups.items())
    }


def main(argv=None) -> int:
    parser = dataset_parser(__doc__)
    parser.add_argument("--detector", default="none", choices=("none", "hog", "mmod"))
    parser.add_argument("--landmarks", type=int, nargs="+", default=[68, 5])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--classifier", default="mlp", choices=("mlp", "logreg"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--subject-pattern", default=None)
    parser.add_argument("--n-jobs", type=int, default=-1, help="extraction workers")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "fersk"))
    args = parser.parse_args(argv)

    X, y, subjects, names, dataset = load(args)
    neutral = names.index("neutral") if "neutral" in names else None
    print(
        f"{dataset}: {len(y)} images, {len(np.unique(subjects))} subjects, classes {names}",
        flush=True,
    )
    variants = [v for v in args.variants if v != "neutral" or neutral is not None]
    rows = []
    for n_landmarks in args.landmarks:
        extractor = LandmarkExtractor(
            n_landmarks, detector=args.detector, memory=args.cache, n_jobs=args.n_jobs
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            points = extractor.transform(X)
        extract_s = time.perf_counter() - start
        not_found = int(np.isnan(points).any(axis=1).sum())
        for variant in variants:
            model = make_model(variant, VARIANTS[variant], args.classifier, neutral)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = cross_val_war_uar(
                    model,
                    points,
                    y,
                    cv=args.folds,
                    groups=subjects,
                    route_groups=VARIANTS[variant] is not None,
                )
            row = {
                "landmarks": n_landmarks,
                "variant": variant,
                "war_mean": r["war_mean"],
                "war_std": r["war_std"],
                "uar_mean": r["uar_mean"],
                "uar_std": r["uar_std"],
                "pooled": r["pooled"],
                "per_class_recall": {names[k]: v for k, v in r["per_class_recall"].items()},
                "per_subject": {k: r["per_subject"][k] for k in ("mean", "std", "min", "max")},
                "by_expressions_shown": by_expressions_shown(y, subjects, r["per_subject"]),
                "faces_not_found": not_found,
                "extract_s": extract_s,
                "cv_s": time.perf_counter() - start,
            }
            rows.append(row)
            print(
                f"{n_landmarks:>2} pts  {variant:<17} WAR {100 * row['war_mean']:5.1f} ± "
                f"{100 * row['war_std']:4.1f}  UAR {100 * row['uar_mean']:5.1f} ± "
                f"{100 * row['uar_std']:4.1f}  ({row['cv_s']:.0f} s)",
                flush=True,
            )

    header = (
        "| landmarks | variant | WAR % (mean ± sd over folds) | UAR % | per-subject acc. "
        "by expressions shown (1 / 2 / 3 / 4+) |\n|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        shown = row["by_expressions_shown"]
        by = " / ".join(
            f"{100 * shown[k]['accuracy']:.0f} (n={shown[k]['subjects']})" if k in shown else "-"
            for k in ("1", "2", "3", "4+")
        )
        lines.append(
            f"| {row['landmarks']} | {row['variant']} | {100 * row['war_mean']:.1f} ± "
            f"{100 * row['war_std']:.1f} | {100 * row['uar_mean']:.1f} ± "
            f"{100 * row['uar_std']:.1f} | {by} |"
        )
    table = header + "\n".join(lines)
    markdown = (
        f"Leave-subject-out ({args.folds}-fold GroupKFold on subject) on {dataset}: "
        f"{len(y)} images, {len(np.unique(subjects))} subjects, {args.classifier} on "
        "scale-normalised landmark distances.\n\n" + table
    )
    return finish(args, f"subject_conditioning_{dataset}", rows, markdown, table)


if __name__ == "__main__":
    raise SystemExit(main())
