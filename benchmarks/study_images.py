"""The study's image table on a dataset root: 5 vs 68 landmarks, single vs clarity-routed.

    python benchmarks/study_images.py ~/fer-data/fer2013 --detector none

Any layout fersk's loaders read works (RAF-DB basic, folder per class incl.
FER2013 and Kaggle RAF-DB, FER2013 csv); without a root, the built-in sample
faces (held-out subjects). Uses the dataset's own train/test split; landmarks
are cached (``--cache``) so re-runs and extra models are cheap.
Reports WAR, UAR, per-clarity-level WAR/UAR and faces not found; ``--hgb`` adds
a histogram gradient boosting reference on the same distances.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from sklearn.ensemble import HistGradientBoostingClassifier

sys.path.insert(0, str(Path(__file__).parent))
from _common import dataset_parser, finish, load_split  # noqa: E402

from fersk.features.clarity import ClarityBinner  # noqa: E402
from fersk.study import evaluate, make_study_pipeline  # noqa: E402


def main(argv=None) -> int:
    parser = dataset_parser(__doc__)
    parser.add_argument("--detector", default="none", choices=("none", "hog", "mmod"))
    parser.add_argument("--landmarks", type=int, nargs="+", default=[5, 68])
    parser.add_argument("--hgb", action="store_true", help="add gradient boosting")
    parser.add_argument("--n-jobs", type=int, default=-1, help="extraction workers")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "fersk"))
    args = parser.parse_args(argv)

    X_train, y_train, X_test, y_test, names, dataset = load_split(
        args.root, args.max_train, args.max_test, size=128, seed=args.seed
    )

    levels = ClarityBinner(3, memory=args.cache, n_jobs=args.n_jobs).fit(X_train)
    test_levels = levels.transform(X_test).ravel()
    rows = []
    models = [("single MLP", dict(routed=False)), ("routed MLP", dict(routed=True))]
    if args.hgb:
        hgb = HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.1, early_stopping=True, random_state=0
        )
        models.append(("single HGB", dict(routed=False, classifier=hgb)))
    for n_landmarks in args.landmarks:
        # Extraction timing: one pass over all images, warm model, cold cache entries.
        from fersk import LandmarkExtractor

        ext = LandmarkExtractor(
            n_landmarks, detector=args.detector, memory=args.cache, n_jobs=args.n_jobs
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ext.transform(X_train + X_test)
        extract_s = time.perf_counter() - t0
        for label, kw in models:
            pipe = make_study_pipeline(
                n_landmarks, detector=args.detector, memory=args.cache, n_jobs=args.n_jobs, **kw
            )
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipe.fit(X_train, y_train)
                fit_s = time.perf_counter() - t0
                report = evaluate(
                    pipe, X_test, y_test, clarity_levels=test_levels, target_names=names
                )
            row = {
                "landmarks": n_landmarks,
                "model": label,
                "test": report,
                "fit_seconds": round(fit_s, 1),
                "extract_seconds_all_images": round(extract_s, 1),
            }
            o = report["overall"]
            print(
                f"{n_landmarks:>2} landmarks, {label}: WAR {o['war']:.4f} UAR {o['uar']:.4f} "
                f"not found {report['faces_not_found']} (fit {fit_s:.0f} s)",
                flush=True,
            )
            rows.append(row)

    lines = [
        "| landmarks | model | WAR | UAR | "
        + " | ".join(f"level {k} WAR/UAR" for k in ("0", "1", "2"))
        + " | faces not found (test) | fit s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, lv = r["test"]["overall"], r["test"].get("levels", {})
        cells = [
            f"{lv[k]['war']:.3f} / {lv[k]['uar']:.3f}" if k in lv else "-" for k in ("0", "1", "2")
        ]
        lines.append(
            f"| {r['landmarks']} | {r['model']} | {o['war']:.4f} | {o['uar']:.4f} | "
            + " | ".join(cells)
            + f" | {r['test']['faces_not_found']} | "
            f"{r['fit_seconds']} |"
        )
    md = (
        f"Dataset `{dataset}`: {len(y_train)} train / {len(y_test)} test "
        f"images, {len(names)} classes ({', '.join(names)}); detector `{args.detector}`; "
        "clarity levels fitted on the training images (level 0 = blurriest).\n\n" + "\n".join(lines)
    )
    return finish(args, f"study_images_{dataset}", rows, md, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
