"""Compression of a shipped CNN and of the study's landmark MLP: size, speed, accuracy, fairness.

    python benchmarks/compression.py --model cnn-fer2013 --fine-tune-epochs 3
    python benchmarks/compression.py                  # cnn-ferplus on FER+ (once it is shipped)
    python benchmarks/compression.py --model path/to/model --fine-tune-images 0 \
        --fine-tune-epochs 10                         # the final run: all training images

Stoychev & Gunes (2022) measured that int8 costs ~0 points at 4.5x smaller and
80% (unstructured) pruning + int8 0.8 points at 11x smaller on RAF-DB, with
unequal effects across groups. This measures fersk's structured versions on a
fersk CNN model (``Pipeline([("prep", CNNPreprocessor), ("cnn", CNNClassifier)])``,
a soft vote of CNNs, or any model wrapping one, such as a person-calibrated
model; every CNN in it is compressed alike) and on the study's landmark MLP
(``make_study_pipeline(68, routed=False, detector="none")`` trained here on a
training subsample):

* ``float``; ``int8 dense`` (dynamic int8 of the dense layers,
  :func:`fersk.cnn.quantize`); ``int8 all`` (static int8 convolutions too,
  :func:`fersk.cnn.quantize_static`, calibrated on ``--calibration`` training
  images); ``pruned N%`` (:func:`fersk.cnn.prune_channels`: N% of every
  convolution's filters and dense layer's units, then ``--fine-tune-epochs``
  on ``--fine-tune-images`` training images); ``pruned N% + int8``;
  ``float + fine-tune`` (the same fine-tuning, nothing pruned: the control); with
  ``onnxruntime`` importable also ONNX Runtime float and static int8;
* the MLP: ``float``, ``pruned N%`` (:func:`fersk.cnn.prune_mlp_units`,
  fine-tuned ``--mlp-fine-tune-iter`` epochs on its training features) and
  ``float + fine-tune`` (the control).

For each: parameters, bytes (the CNN's serialized state dict; the MLP
pipeline's fersk model folder), milliseconds per face on one core (the CNN
part of the model, preprocessed faces, median over ``--repeats``, batch 1
and 16, the variants timed in turn so background load hits them alike),
WAR/UAR on the test set (FER+ test majority labels for a model with FER+'s
8 classes, else FER2013 test), the spread across classes (min and standard
deviation of the per-class recall) and across people: per-subject accuracy on
CK+48 (its crops; classes the model lacks left out), the mean of the worst
decile of subjects and the standard deviation across subjects. A variant
within ``--tolerance`` (0.5) points of float's test WAR is marked as a
candidate to ship.

The fine-tuning data: FER+ train (plurality labels, trained on the vote
distributions) for a FER+ model, else FER2013 train; ``--fine-tune-images 0``
uses all of it.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, subsample, write_results  # noqa: E402

from fersk._core.pipeline_tools import find_steps  # noqa: E402
from fersk._core.threads import limited_threads  # noqa: E402
from fersk.cnn import (  # noqa: E402
    CNNClassifier,
    count_parameters,
    prune_channels,
    prune_mlp_units,
    quantize,
    quantize_static,
    state_dict_nbytes,
)
from fersk.evaluation.metrics import per_class_recall, per_subject_accuracy, war_uar  # noqa: E402
from fersk.features.preprocess import CNNPreprocessor  # noqa: E402

DEFAULT_MODEL = "cnn-ferplus"
FALLBACK_MODEL = "cnn-fer2013"


# -- data ------------------------------------------------------------------------------


def load_sets(data: Path, dataset: str, n_fine_tune: int | None, max_test, seed: int) -> dict:
    """Test, fine-tuning and CK+48 images with their labels (names)."""
    from fersk.datasets import load_dataset, load_ferplus

    if dataset == "ferplus":
        test = load_ferplus(data / "ferplus", subset="test", rule="majority")
        train = load_ferplus(data / "ferplus", subset="train", rule="plurality")
    else:
        test = load_dataset(data / "fer2013", subset="test")
        train = load_dataset(data / "fer2013", subset="train")
    te = subsample(test.target, max_test, seed)
    tr = subsample(train.target, n_fine_tune or None, seed)
    names = np.asarray(train.target_names)
    ck = load_dataset(data / "CK+48")
    ck_names = np.asarray(ck.target_names)
    out = {
        "test": ([test.data[i] for i in te], np.asarray(test.target_names)[test.target[te]]),
        "train": ([train.data[i] for i in tr], names[train.target[tr]]),
        "train_names": list(names),
        "soft": None if dataset != "ferplus" else train.distribution[tr],
        "ck": (list(ck.data), ck_names[ck.target], np.asarray(ck.subject)),
    }
    print(
        f"{dataset}: {len(tr)} fine-tuning / {len(te)} test images; CK+48: {len(ck.target)} "
        f"images of {len(set(ck.subject))} people",
        flush=True,
    )
    return out


def ck_for(sets: dict, classes) -> tuple[list, np.ndarray, np.ndarray]:
    """CK+48 without the classes the model does not know (FER2013 models: contempt)."""
    files, y, subject = sets["ck"]
    keep = np.isin(y, np.asarray(classes).astype(str))
    return [f for f, k in zip(files, keep) if k], y[keep], subject[keep]


# -- measures --------------------------------------------------------------------------


def scores(y, pred, classes, ck_y, ck_pred, ck_subject) -> dict:
    """WAR/UAR, the per-class spread on the test set and the per-person spread on CK+48."""
    overall = war_uar(y, pred)
    labels = [c for c in np.asarray(classes).astype(str) if c in set(y)]
    recall = per_class_recall(y, pred, labels=labels)
    values = np.array(list(recall.values()))
    people = per_subject_accuracy(ck_y, ck_pred, ck_subject)
    accuracies = np.sort([s["accuracy"] for s in people["subjects"].values()])
    decile = max(1, int(np.ceil(len(accuracies) / 10)))
    ck = war_uar(ck_y, ck_pred)
    return {
        "war": 100 * overall["war"],
        "uar": 100 * overall["uar"],
        "n_test": int(overall["n"]),
        "recall": {k: round(100 * float(v), 2) for k, v in recall.items()},
        "min_class_recall": 100 * float(values.min()),
        "class_recall_std": 100 * float(values.std()),
        "ck48": {
            "war": 100 * ck["war"],
            "uar": 100 * ck["uar"],
            "n": int(ck["n"]),
            "subjects": len(accuracies),
            "worst_decile_subject_accuracy": 100 * float(accuracies[:decile].mean()),
            "subject_accuracy_p10": 100 * float(np.percentile(accuracies, 10)),
            "subject_accuracy_std": 100 * people["std"],
            "subject_accuracy_min": 100 * people["min"],
        },
    }


def timed(functions: dict, X, batch: int, repeats: int) -> dict:
    """Milliseconds per face of each function on ``batch`` faces, timed in turn (medians).

    ``{name: {"cpu": ..., "wall": ...}}``: the CPU time of this thread (what
    one core spends; with one torch / ONNX Runtime thread all the work is in
    it, and a busy machine's other processes do not count) and the wall time.
    """
    x = X[:batch]
    for fn in functions.values():
        for _ in range(3):
            fn(x)
    cpu = {name: [] for name in functions}
    wall = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            fn(x)
            cpu[name].append(time.thread_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return {
        name: {
            "cpu": 1e3 * float(np.median(cpu[name])) / batch,
            "wall": 1e3 * float(np.median(wall[name])) / batch,
        }
        for name in functions
    }


def folder_bytes(model) -> int:
    """Bytes of ``model`` saved in fersk's model format (``model.json`` + ``model.npz``)."""
    from fersk.models import save_model

    folder = Path(tempfile.mkdtemp()) / "model"
    try:
        save_model(model, folder)
        return sum(f.stat().st_size for f in folder.iterdir())
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


# -- the CNN -----------------------------------------------------------------------------


def with_cnns(model, replace):
    """A copy of ``model`` whose every CNNClassifier is ``replace(cnn)``, whatever wraps it.

    Each CNN of a deep copy takes over the state of its replacement (also a
    CNNClassifier), so pipelines, soft votes and calibrated wrappers need no
    special case.
    """
    model = copy.deepcopy(model)
    nets = find_steps(model, CNNClassifier)
    for net in nets:
        state = dict(replace(net).__dict__)  # replace may return net itself
        net.__dict__.clear()
        net.__dict__.update(state)
    return model, nets


class OrtModule(torch.nn.Module):
    """An ONNX Runtime session as the CNN's module (one thread): predicts through skorch."""

    def __init__(self, path: str) -> None:
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        for pool in ("intra", "inter"):  # no busy-waiting threads between calls
            options.add_session_config_entry(f"session.{pool}_op.allow_spinning", "0")
        self.path = path
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {self.input: x.float().numpy()})[0]
        return torch.from_numpy(out)


def onnx_variant(net: CNNClassifier, X_cal, folder: Path, int8: bool) -> tuple[CNNClassifier, int]:
    """The net's float module in ONNX Runtime (static int8 QDQ when ``int8``); and its bytes."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
    )
    from onnxruntime.quantization import (
        quantize_static as ort_quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "float.onnx"
    module = copy.deepcopy(net.module_).to("cpu").eval()
    example = torch.from_numpy(np.asarray(X_cal[:2], np.float32))
    if not path.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=True,
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                external_data=False,
                verbose=False,
            )
    if int8:
        pre, out = folder / "pre.onnx", folder / "int8.onnx"
        quant_pre_process(str(path), str(pre))
        name = OrtModule(str(path)).input
        batches = [np.asarray(X_cal[i : i + 32], np.float32) for i in range(0, len(X_cal), 32)]

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.batches = iter(batches)

            def get_next(self):
                batch = next(self.batches, None)
                return None if batch is None else {name: batch}

        ort_quantize_static(
            str(pre),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        path = out
    net = copy.deepcopy(net)
    net.device = "cpu"
    net.module_ = OrtModule(str(path))
    net.optimizer_ = None
    net.quantized_ = True
    return net, path.stat().st_size


def cnn_rows(model, sets: dict, args, classes) -> tuple[list[dict], dict]:
    """Every CNN variant of ``model``: its row (size, speed, scores) and the timing inputs."""
    prep = find_steps(model, CNNPreprocessor)
    if not prep:
        raise ValueError("the model has no CNNPreprocessor: not a fersk CNN model")
    prep = prep[0]
    cnns = find_steps(model, CNNClassifier)
    if not cnns:
        raise ValueError("the model has no CNNClassifier")
    train_files, train_y = sets["train"]
    start = time.perf_counter()
    X_train = prep.transform(train_files)
    X_test = prep.transform(sets["test"][0])
    print(f"preprocessed in {time.perf_counter() - start:.0f} s", flush=True)
    soft = sets["soft"]
    cnn_classes = [str(c) for c in cnns[0].classes_]
    if soft is not None:  # the vote shares in the CNN's class order
        soft = soft[:, [sets["train_names"].index(c) for c in cnn_classes]]
    known = np.isin(train_y, cnn_classes)  # FER2013 models: no contempt
    X_ft, y_ft = X_train[known], train_y[known]
    soft_ft = None if soft is None else soft[known]
    rng = np.random.default_rng(args.seed)
    X_cal = X_ft[rng.permutation(len(X_ft))[: args.calibration]]
    ck_files, ck_y, ck_subject = ck_for(sets, classes)
    params = sum(count_parameters(c.module_) for c in cnns)

    def prune(amount, criterion):
        def replace(net):
            start = time.perf_counter()
            pruned = prune_channels(
                net,
                amount,
                X_ft,
                y_ft,
                soft_targets=soft_ft,
                criterion=criterion,
                fine_tune_epochs=args.fine_tune_epochs,
                fine_tune_lr=args.fine_tune_lr,
                random_state=args.seed,
            )
            seconds.append(time.perf_counter() - start)
            return pruned

        seconds: list[float] = []
        return replace, seconds

    variants = [("float", lambda net: net, None), ("int8 dense", quantize, None)]
    variants.append(("int8 all", lambda net: quantize_static(net, X_cal), None))
    # The control: the same fine-tuning without pruning (what the fine-tuning alone does).
    plans = [(0.0, args.criteria[0])] + [(a, args.criteria[0]) for a in args.amounts]
    plans += [(0.5, c) for c in args.criteria[1:]]
    for amount, criterion in plans:
        primary = criterion == args.criteria[0]
        label = f"pruned {amount:.0%}" + ("" if primary else f" ({criterion})")
        label = "float + fine-tune" if amount == 0 else label
        replace, seconds = prune(amount, criterion)
        variants.append((label, replace, seconds))
        if primary and amount > 0:
            variants.append((f"{label} + int8", None, label))  # built from the pruned model
    onnx_dir = Path(tempfile.mkdtemp())
    if args.onnx:
        variants.append(("onnxruntime float", "onnx-float", None))
        variants.append(("onnxruntime int8", "onnx-int8", None))

    rows, timing, built = [], {}, {}
    for label, make, extra in variants:
        start = time.perf_counter()
        nbytes = None
        if make is None:  # pruned + int8: quantize each pruned CNN
            base = built[extra]
            variant, nets = with_cnns(base, lambda net: quantize_static(net, X_cal))
        elif isinstance(make, str):
            sizes: list[int] = []

            def to_onnx(net, int8=make == "onnx-int8", sizes=sizes):
                folder = onnx_dir / f"{id(net)}"
                out, size = onnx_variant(net, X_cal, folder, int8)
                sizes.append(size)
                return out

            try:
                variant, nets = with_cnns(model, to_onnx)
            except Exception as exc:  # an optional comparison never stops the benchmark
                print(f"{label}: skipped ({exc!r})", flush=True)
                continue
            nbytes = sum(sizes)
        else:
            variant, nets = with_cnns(model, make)
        build_s = time.perf_counter() - start
        built[label] = variant
        pred = np.asarray(variant.predict(sets["test"][0])).astype(str)
        ck_pred = np.asarray(variant.predict(ck_files)).astype(str)
        row = {
            "model": "cnn",
            "variant": label,
            "parameters": parameters(rows, label, nets, params),
            "bytes": nbytes
            if nbytes is not None
            else sum(state_dict_nbytes(n.module_) for n in nets),
            "build_seconds": round(build_s, 1),
            **scores(sets["test"][1], pred, classes, ck_y, ck_pred, ck_subject),
        }
        if isinstance(extra, list):
            row["fine_tune_seconds"] = round(sum(extra), 1)
            row["filters"] = [list(n.module_.conv_filters) for n in nets]
            row["dense_units"] = [list(n.module_.dense_units) for n in nets]
        rows.append(row)
        timing[label] = nets
        print(
            f"{label}: WAR {row['war']:.2f} UAR {row['uar']:.2f} CK+ worst decile "
            f"{row['ck48']['worst_decile_subject_accuracy']:.1f} ({build_s:.0f} s)",
            flush=True,
        )
    shutil.rmtree(onnx_dir, ignore_errors=True)
    return rows, {"nets": timing, "X": X_test}


def parameters(rows: list[dict], label: str, nets: list, float_params: int) -> int:
    """Weights of the variant's networks (a quantized one: those of the float it came from)."""
    if label.endswith(" + int8"):
        base = label.removesuffix(" + int8")
        return next(r["parameters"] for r in rows if r["variant"] == base)
    if any(getattr(n, "quantized_", False) for n in nets):
        return float_params
    return sum(count_parameters(n.module_) for n in nets)


def time_cnn_rows(rows: list[dict], timing: dict, repeats: int) -> None:
    """Milliseconds per face (batch 1 and 16) of each variant's CNNs, timed in turn."""

    def run(nets):
        def fn(x):
            for net in nets:
                net.predict_proba(x)

        return fn

    def forward(nets):
        def fn(x):
            with torch.inference_mode():
                tensor = torch.from_numpy(x)
                for net in nets:
                    net.module_(tensor)

        return fn

    functions = {label: run(nets) for label, nets in timing["nets"].items()}
    forwards = {label: forward(nets) for label, nets in timing["nets"].items()}
    b1 = timed(functions, timing["X"], 1, repeats)
    b16 = timed(functions, timing["X"], 16, max(5, repeats // 4))
    f1 = timed(forwards, timing["X"], 1, repeats)
    f16 = timed(forwards, timing["X"], 16, max(5, repeats // 4))
    for row in rows:
        label = row["variant"]
        row["ms_per_face"] = {"batch1": b1[label]["cpu"], "batch16": b16[label]["cpu"]}
        row["forward_ms_per_face"] = {"batch1": f1[label]["cpu"], "batch16": f16[label]["cpu"]}
        row["wall_ms_per_face"] = {
            "batch1": b1[label]["wall"],
            "batch16": b16[label]["wall"],
            "forward_batch1": f1[label]["wall"],
            "forward_batch16": f16[label]["wall"],
        }


# -- the landmark MLP ---------------------------------------------------------------------


def mlp_rows(sets: dict, args) -> list[dict]:
    """The study's landmark MLP, trained on a training subsample, and its pruned copies."""
    from sklearn.pipeline import Pipeline

    from fersk.landmarks import LandmarkExtractor
    from fersk.study import make_study_pipeline

    pipe = make_study_pipeline(68, routed=False, detector="none", random_state=args.seed)
    features, mlp = pipe.steps[0][1], pipe.steps[1][1]
    for extractor in find_steps(features, LandmarkExtractor):
        extractor.set_params(progress=False)
    files, y = sets["train"]
    pick = subsample(y, args.mlp_train or None, args.seed)  # 0: all
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F_train = features.fit_transform([files[i] for i in pick], y[pick])
        F_test = features.transform(sets["test"][0])
        ck_files, ck_y, ck_subject = sets["ck"]
        F_ck = features.transform(ck_files)
        landmark_s = (time.process_time() - start) / (len(pick) + len(F_test) + len(F_ck))
        mlp.fit(F_train, y[pick])
    print(f"landmarks: {1e3 * landmark_s:.1f} ms per face (extraction, 1 thread)", flush=True)
    classes = mlp.classes_
    keep = np.isin(ck_y, classes.astype(str))
    variants = [("float", mlp, None)]
    for amount in [0.0, *args.amounts]:  # 0: the fine-tuning alone, the control
        start = time.perf_counter()
        pruned = prune_mlp_units(
            mlp, amount, F_train, y[pick], fine_tune_iter=args.mlp_fine_tune_iter
        )
        label = "float + fine-tune" if amount == 0 else f"pruned {amount:.0%}"
        variants.append((label, pruned, time.perf_counter() - start))
    rows, functions = [], {}
    for label, clf, seconds in variants:
        pred = clf.predict(F_test).astype(str)
        ck_pred = clf.predict(F_ck[keep]).astype(str)
        row = {
            "model": "landmark mlp",
            "variant": label,
            "parameters": int(
                sum(w.size for w in clf.coefs_) + sum(b.size for b in clf.intercepts_)
            ),
            "bytes": folder_bytes(Pipeline([("features", features), ("clf", clf)])),
            "hidden_layer_sizes": list(clf.hidden_layer_sizes),
            "n_train": int(len(pick)),
            **scores(sets["test"][1], pred, classes, ck_y[keep], ck_pred, ck_subject[keep]),
        }
        if seconds is not None:
            row["fine_tune_seconds"] = round(seconds, 1)
        rows.append(row)
        functions[label] = clf.predict_proba
        print(f"mlp {label}: WAR {row['war']:.2f} UAR {row['uar']:.2f}", flush=True)
    b1 = timed(functions, F_test, 1, args.repeats)
    b16 = timed(functions, F_test, 16, max(5, args.repeats // 4))
    for row in rows:
        label = row["variant"]
        row["ms_per_face"] = {"batch1": b1[label]["cpu"], "batch16": b16[label]["cpu"]}
        row["wall_ms_per_face"] = {"batch1": b1[label]["wall"], "batch16": b16[label]["wall"]}
        row["landmark_ms_per_face"] = 1e3 * landmark_s
    return rows


# -- the report -------------------------------------------------------------------------


def mark_candidates(rows: list[dict], tolerance: float) -> None:
    """``candidate``: compressed, within ``tolerance`` points of its model's float WAR."""
    for model in {r["model"] for r in rows}:
        mine = [r for r in rows if r["model"] == model]
        base = next(r for r in mine if r["variant"] == "float")
        for r in mine:
            r["war_delta"] = r["war"] - base["war"]
            r["size_ratio"] = base["bytes"] / r["bytes"]
            control = r["variant"] in ("float", "float + fine-tune")  # nothing compressed
            r["candidate"] = not control and r["war_delta"] >= -tolerance


def table(rows: list[dict]) -> str:
    head = (
        "| model | variant | parameters | size | x smaller | ms/face b1 | ms/face b16 "
        "| forward ms b1 | WAR | UAR | ΔWAR | min class recall | class recall sd | CK+ WAR "
        "| CK+ worst-decile person | CK+ person sd | ship? |\n|" + "---|" * 17
    )
    lines = [head]
    for r in rows:
        ck = r["ck48"]
        forward = f"{r['forward_ms_per_face']['batch1']:.2f}" if "forward_ms_per_face" in r else "-"
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['parameters']:,} | "
            f"{r['bytes'] / 2**20:.2f} MiB | {r['size_ratio']:.1f} | "
            f"{r['ms_per_face']['batch1']:.2f} | {r['ms_per_face']['batch16']:.2f} | "
            f"{forward} | {r['war']:.2f} | {r['uar']:.2f} | {r['war_delta']:+.2f} | "
            f"{r['min_class_recall']:.1f} | {r['class_recall_std']:.1f} | {ck['war']:.1f} | "
            f"{ck['worst_decile_subject_accuracy']:.1f} | {ck['subject_accuracy_std']:.1f} | "
            f"{'yes' if r['candidate'] else ''} |"
        )
    return "\n".join(lines)


def resolve_model(name: str):
    """The model to compress, and its name (the default falls back to cnn-fer2013 until shipped)."""
    from fersk.models import list_models, load_model

    shipped = [m["name"] for m in list_models()]
    if name == DEFAULT_MODEL and name not in shipped:
        print(f"{DEFAULT_MODEL} is not shipped yet: measuring {FALLBACK_MODEL}", flush=True)
        name = FALLBACK_MODEL
    return load_model(name), name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped name or model folder")
    parser.add_argument("--data", default=os.environ.get("FERSK_DATA", "~/fer-data"))
    parser.add_argument("--dataset", choices=("auto", "ferplus", "fer2013"), default="auto")
    parser.add_argument("--max-test", type=int, default=None, help="stratified test subsample")
    parser.add_argument("--fine-tune-images", type=int, default=5000, help="0: all")
    parser.add_argument("--fine-tune-epochs", type=int, default=3)
    parser.add_argument("--fine-tune-lr", type=float, default=None, help="default: lr / 2")
    parser.add_argument("--amounts", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument(
        "--criteria", nargs="+", default=["l1", "bn"], help="the first for every amount, "
        "the others at 50%% only (to compare)"
    )  # fmt: skip
    parser.add_argument("--calibration", type=int, default=256, help="int8 calibration images")
    parser.add_argument("--repeats", type=int, default=60, help="timings per variant")
    parser.add_argument("--mlp-train", type=int, default=5000, help="landmark MLP images, 0: all")
    parser.add_argument("--mlp-fine-tune-iter", type=int, default=10)
    parser.add_argument("--no-mlp", action="store_true")
    parser.add_argument("--onnx", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--tolerance", type=float, default=0.5, help="WAR points vs float")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    if args.onnx == "auto":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            args.onnx = "no"
    args.onnx = args.onnx != "no"
    torch.set_num_threads(1)
    total = time.perf_counter()
    with limited_threads(1):
        model, model_name = resolve_model(args.model)
        classes = np.asarray(model.classes_).astype(str)
        dataset = args.dataset
        if dataset == "auto":
            dataset = "ferplus" if "contempt" in classes else "fer2013"
        sets = load_sets(
            Path(args.data).expanduser(), dataset, args.fine_tune_images, args.max_test, args.seed
        )
        rows, timing = cnn_rows(model, sets, args, classes)
        time_cnn_rows(rows, timing, args.repeats)
        if not args.no_mlp:
            rows += mlp_rows(sets, args)
    mark_candidates(rows, args.tolerance)
    cnn_float = next(r for r in rows if r["model"] == "cnn" and r["variant"] == "float")
    candidates = [f"{r['model']} {r['variant']}" for r in rows if r["candidate"]]
    n_mlp = next((r["n_train"] for r in rows if r["model"] == "landmark mlp"), None)
    mlp = (
        f", and of the study's 68-landmark MLP trained on {n_mlp} of these {dataset} training "
        "images"
        if n_mlp is not None
        else ""
    )
    landmarks = rows[-1].get("landmark_ms_per_face")
    md = (
        f"Compression of `{model_name}` (every CNN in it) on {dataset} test "
        f"({cnn_float['n_test']} images) and CK+48 ({cnn_float['ck48']['n']} crops of "
        f"{cnn_float['ck48']['subjects']} people){mlp}. Pruned variants fine-tuned "
        f"{args.fine_tune_epochs} epochs on {len(sets['train'][1])} training images. Size: the "
        "CNN's serialized state dict (ONNX: the file), the MLP pipeline's fersk model folder. "
        "ms/face: CPU time of one core (this thread's; the machine's other processes do not "
        "count; the wall times are in the JSON), median, for the CNN part of the model on "
        "preprocessed faces (`predict_proba`, mirror averaging as the model does; `forward`: "
        "the networks alone, one pass)"
        + (
            f", or the MLP on its features (landmark extraction: {landmarks:.1f} ms per face more)"
            if landmarks is not None
            else ""
        )
        + ". WAR/UAR, recall and CK+ accuracies in %. Worst-decile person: the mean accuracy "
        "of the 10% of CK+48 people the model does worst on. `ship?`: compressed and within "
        f"{args.tolerance} points of float's WAR. Candidates: "
        f"{', '.join(candidates) or 'none'}. Total run: {time.perf_counter() - total:.0f} s.\n\n"
        + table(rows)
    )
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "name")}
    settings.update(model_resolved=model_name, dataset_resolved=dataset)
    if args.onnx:  # not a fersk dependency: the machine record does not list it
        import onnxruntime

        settings["onnxruntime"] = onnxruntime.__version__
        md += (
            f"\n\nONNX Runtime {onnxruntime.__version__} (not a fersk dependency): the float "
            "network exported with `torch.onnx.export`, static int8 per channel (QDQ), "
            "calibrated on the same images, one thread."
        )
    name = args.name or f"compression_{Path(model_name).name}"  # a folder: its name
    paths = write_results(name, settings, rows, md, args.out)
    print(table(rows))
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
