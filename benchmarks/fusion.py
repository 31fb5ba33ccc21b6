"""Does landmark geometry add to the CNN? CNN vs landmarks vs soft voting vs stacking.

    python benchmarks/fusion.py ~/fer-data/fer2013 --size 48 --epochs 30
    python benchmarks/fusion.py --size 48 --epochs 5                # built-in sample faces

All four models take the same image paths, the same train/test split and the
same seeds: the CNN pipeline (``make_cnn_pipeline``), the landmark pipeline
(68 points, one MLP, ``detector="none"`` for aligned crops), their soft vote
and their stacking (logistic regression on out-of-fold probabilities; the
members are trained ``--cv`` + 1 times). CNN inputs and landmarks are cached
(``--cache``), so the models share one extraction of each image.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import dataset_parser, finish, load_split  # noqa: E402

from fersk.cnn import make_cnn_pipeline  # noqa: E402
from fersk.fusion import make_fusion  # noqa: E402
from fersk.study import evaluate, make_study_pipeline  # noqa: E402


def main(argv=None) -> int:
    parser = dataset_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=30, help="CNN max epochs")
    parser.add_argument("--size", type=int, default=100, help="CNN input side (FER2013: 48)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cv", type=int, default=3, help="stacking folds")
    parser.add_argument(
        "--weights", type=float, nargs=2, default=None, help="soft-voting weights: cnn landmarks"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["cnn", "landmarks", "soft", "stacking"],
        choices=("cnn", "landmarks", "soft", "stacking"),
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--n-jobs", type=int, default=None, help="extraction workers")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "fersk"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X_train, y_train, X_test, y_test, names, dataset = load_split(
        args.root, args.max_train, args.max_test, args.size, args.seed
    )

    cnn_params = dict(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=args.seed,
        device=args.device,
    )

    def cnn():
        return make_cnn_pipeline(args.size, memory=args.cache, n_jobs=args.n_jobs, **cnn_params)

    def landmarks():
        return make_study_pipeline(
            68,
            routed=False,
            detector="none",
            memory=args.cache,
            n_jobs=args.n_jobs,
            random_state=args.seed,
        )

    builders = {
        "cnn": ("CNN alone", cnn),
        "landmarks": ("landmarks alone (68, MLP)", landmarks),
        "soft": (
            "soft voting",
            lambda: make_fusion("soft", cnn=cnn(), landmarks=landmarks(), weights=args.weights),
        ),
        "stacking": (
            "stacking (logistic regression)",
            lambda: make_fusion(
                "stacking", cnn=cnn(), landmarks=landmarks(), cv=args.cv, random_state=args.seed
            ),
        ),
    }
    rows = []
    for key in args.models:
        label, build = builders[key]
        model = build()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X_train, y_train)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = evaluate(model, X_test, y_test, target_names=names)
            predict_s = time.perf_counter() - t0
        o = report["overall"]
        print(f"{label}: WAR {o['war']:.4f} UAR {o['uar']:.4f} (fit {fit_s:.0f} s)", flush=True)
        rows.append(
            {
                "model": key,
                "label": label,
                "test": report,
                "fit_seconds": round(fit_s, 1),
                "predict_seconds": round(predict_s, 1),
            }
        )

    lines = ["| model | WAR | UAR | fit s | predict s |", "|---|---|---|---|---|"]
    for r in rows:
        o = r["test"]["overall"]
        lines.append(
            f"| {r['label']} | {o['war']:.4f} | {o['uar']:.4f} | {r['fit_seconds']} | "
            f"{r['predict_seconds']} |"
        )
    md = (
        f"Late fusion on `{dataset}`: {len(y_train)} train / {len(y_test)} test images, "
        f"{len(names)} classes; CNN {args.size}x{args.size} gray, max {args.epochs} epochs "
        f"(early stopping on a validation split of the training images); landmarks: 68 "
        f"points, detector `none`, MLP; stacking with {args.cv} folds; seed {args.seed}; "
        f"{torch.get_num_threads()} torch threads.\n\n" + "\n".join(lines)
    )
    return finish(args, f"fusion_{dataset}_{args.size}px", rows, md, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
