"""The CNN baseline on a dataset root: speed, size, and WAR/UAR (fp32 and int8).

    python benchmarks/cnn_baseline.py ~/fer-data/fer2013 --size 48 --epochs 30
    python benchmarks/cnn_baseline.py --size 48 --epochs 5          # built-in sample faces

Any layout fersk's loaders read works (FER2013 folders ``train/<class>``,
``test/<class>``; RAF-DB basic; FER2013 csv), with the dataset's own
train/test split; without a root, the built-in sample faces (split by subject).
The validation split for early stopping and the LR schedule is carved from the
training images; the test images are used only for the final scores.

Reports: preprocessing images/s; training seconds per epoch and training
images/s (on the training device; on a GPU machine also one CPU epoch);
inference images/s on the CPU (fp32 and dynamic int8) and on the GPU when
available; parameter count; model size (serialized state dict) fp32 vs int8;
WAR/UAR and per-class recall of both; the learning curves (per-epoch losses and
validation accuracy, drawn in the results' PNG).
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import dataset_parser, finish, load_split  # noqa: E402

from fersk.cnn import CNNClassifier, count_parameters, state_dict_nbytes  # noqa: E402
from fersk.features.preprocess import CNNPreprocessor  # noqa: E402
from fersk.study import evaluate  # noqa: E402


def images_per_second(predict, X, repeats: int = 2) -> float:
    """Best of ``repeats`` timed passes over ``X`` (after one warm-up batch)."""
    predict(X[:64])
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(X)
        best = min(best, time.perf_counter() - t0)
    return len(X) / best


def main(argv=None) -> int:
    parser = dataset_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=30, help="max epochs (early stopping)")
    parser.add_argument("--size", type=int, default=100, help="input side (FER2013: 48)")
    parser.add_argument("--channels", type=int, default=1, choices=(1, 3))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--valid-size", type=float, default=0.1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--n-jobs", type=int, default=None, help="preprocessing workers")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X_train_src, y_train, X_test_src, y_test, names, dataset = load_split(
        args.root, args.max_train, args.max_test, args.size, args.seed
    )

    prep = CNNPreprocessor(size=args.size, channels=args.channels, n_jobs=args.n_jobs)
    t0 = time.perf_counter()
    X_train = prep.fit_transform(X_train_src)
    X_test = prep.transform(X_test_src)
    prep_s = time.perf_counter() - t0

    net = CNNClassifier(
        max_epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        valid_size=args.valid_size,
        random_state=args.seed,
        device=args.device,
        verbose=1,
    )
    t0 = time.perf_counter()
    net.fit(X_train, y_train)
    fit_s = time.perf_counter() - t0
    history = net.history
    durations = [float(e["dur"]) for e in history]
    n_fit = sum(b.get("train_batch_size", 0) for b in history[0]["batches"])
    epoch_s = float(np.median(durations))
    best = min(history, key=lambda e: e["valid_loss"])
    train_device = str(net.device)

    report = evaluate(net, X_test, y_test, target_names=names)
    cpu_net = net
    if train_device != "cpu":
        cpu_net = copy.deepcopy(net)
        cpu_net.device = "cpu"
        cpu_net.module_.to("cpu")
    cpu_ips = images_per_second(cpu_net.predict_proba, X_test)
    gpu_ips = images_per_second(net.predict_proba, X_test) if train_device != "cpu" else None

    cpu_epoch = None
    if train_device != "cpu":  # one CPU epoch on up to 1000 training images, for comparison
        n_cpu = min(1000, len(y_train))
        probe = CNNClassifier(
            max_epochs=1,
            batch_size=args.batch_size,
            train_split=None,
            random_state=args.seed,
            device="cpu",
        )
        t0 = time.perf_counter()
        probe.fit(X_train[:n_cpu], y_train[:n_cpu])
        cpu_epoch = {"images": n_cpu, "seconds": round(time.perf_counter() - t0, 2)}

    quantized = cpu_net.quantized()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q_report = evaluate(quantized, X_test, y_test, target_names=names)
        q_ips = images_per_second(quantized.predict_proba, X_test)
    agreement = float(np.mean(quantized.predict(X_test) == cpu_net.predict(X_test)))

    results = {
        "dataset": dataset,
        "n_train": len(y_train),
        "n_fit": n_fit,
        "n_valid": len(y_train) - n_fit,
        "n_test": len(y_test),
        "input": [args.channels, args.size, args.size],
        "parameters": count_parameters(net.module_),
        "model_bytes": {
            "fp32": state_dict_nbytes(cpu_net.module_),
            "int8_dynamic": state_dict_nbytes(quantized.module_),
        },
        "train_device": train_device,
        "torch_threads": torch.get_num_threads(),
        "epochs_run": len(history),
        "best_epoch": int(best["epoch"]),
        "best_valid": {
            "loss": float(best["valid_loss"]),
            "war": float(best["valid_acc"]),
            "uar": float(best["valid_uar"]),
        },
        "seconds_per_epoch": round(epoch_s, 2),
        "epoch_seconds": [round(d, 2) for d in durations],
        "history": [  # the learning curves (benchmarks/figures.py draws them)
            {"epoch": int(e["epoch"])}
            | {
                k: float(e[k])
                for k in ("train_loss", "valid_loss", "valid_acc", "valid_uar")
                if k in e
            }
            for e in history
        ],
        "train_images_per_second": round(n_fit / epoch_s, 1),
        "cpu_epoch_on_gpu_machine": cpu_epoch,
        "fit_seconds": round(fit_s, 1),
        "preprocess_images_per_second": round((len(y_train) + len(y_test)) / prep_s, 1),
        "inference_images_per_second": {
            "cpu_fp32": round(cpu_ips, 1),
            "cpu_int8_dynamic": round(q_ips, 1),
            "gpu_fp32": None if gpu_ips is None else round(gpu_ips, 1),
        },
        "test": {"fp32": report, "int8_dynamic": q_report},
        "int8_fp32_prediction_agreement": agreement,
    }

    o, q = report["overall"], q_report["overall"]
    mb = results["model_bytes"]
    ips = results["inference_images_per_second"]
    lines = [
        "| | fp32 | int8 dynamic (dense layers) |",
        "|---|---|---|",
        f"| test WAR | {o['war']:.4f} | {q['war']:.4f} |",
        f"| test UAR | {o['uar']:.4f} | {q['uar']:.4f} |",
        f"| model size (state dict) | {mb['fp32'] / 2**20:.2f} MiB | "
        f"{mb['int8_dynamic'] / 2**20:.2f} MiB |",
        f"| CPU inference ({results['torch_threads']} threads) | {ips['cpu_fp32']:.0f} img/s | "
        f"{ips['cpu_int8_dynamic']:.0f} img/s |",
    ]
    if gpu_ips is not None:
        lines.append(f"| GPU inference | {ips['gpu_fp32']:.0f} img/s | - |")
    md = (
        f"CNN baseline (Stoychev & Gunes 2022 architecture), dataset `{dataset}`: "
        f"{len(y_train)} train ({n_fit} fit + {len(y_train) - n_fit} validation, carved from "
        f"train) / {len(y_test)} test images, input {args.channels}x{args.size}x{args.size}, "
        f"{results['parameters']:,} parameters. Trained on `{train_device}` for "
        f"{len(history)} epochs (max {args.epochs}; best epoch {results['best_epoch']}): "
        f"{epoch_s:.1f} s per epoch, {results['train_images_per_second']:.0f} training "
        f"images/s. Int8 and fp32 agree on {agreement:.1%} of test predictions.\n\n"
        + "\n".join(lines)
    )
    return finish(args, f"cnn_baseline_{dataset}_{args.size}px", results, md, md)


if __name__ == "__main__":
    sys.exit(main())
