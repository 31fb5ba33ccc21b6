"""Landmark extraction beyond one machine: serial vs joblib vs a Dask cluster, cold and warm.

    python benchmarks/dask_scaling.py [FER2013_ROOT] [--n-images 5000] [--workers 2]

Extracts 68-point landmarks (``detector="none"``: FER2013 images are face
crops) of ``--n-images`` FER2013 training images three ways, each with a cold
cache (a new folder) and then warm (the same folder again):

* serial: one process;
* joblib, ``n_jobs=--workers`` processes on this machine;
* a ``distributed.LocalCluster`` of ``--workers`` worker processes, through
  ``fersk._core.distributed.cluster`` (joblib's Dask backend).

Also measures the scheduler's overhead per task (an empty task through the
same path) and the per-image cost, from which ``docs/distributed.md``
projects the time for 400,000 images on N workers. Results:
``benchmarks/results/dask_scaling`` (JSON, Markdown, PNG).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, pyplot, subsample, write_results  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "root",
        nargs="?",
        default=os.path.join(os.environ.get("FERSK_DATA", "~/fer-data"), "fer2013"),
    )
    parser.add_argument("--n-images", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    import joblib

    from fersk import LandmarkExtractor
    from fersk._core.batch import MAX_CLUSTER_CHUNK, TASKS_PER_WORKER
    from fersk._core.distributed import cluster
    from fersk.datasets import load_dataset

    data = load_dataset(Path(args.root).expanduser(), subset="train")
    keep = subsample(data.target, args.n_images)
    paths = [data.data[i] for i in keep]
    print(f"{len(paths)} FER2013 training images", flush=True)
    results, reference = {}, None
    with tempfile.TemporaryDirectory() as tmp:

        def run(label, context, n_jobs):
            nonlocal reference
            cache = Path(tmp) / label
            for state in ("cold", "warm"):
                extractor = LandmarkExtractor(
                    68, detector="none", memory=str(cache), n_jobs=n_jobs, progress=False
                )
                with context():
                    X, seconds = timed(lambda e=extractor: e.transform(paths))
                if reference is None:
                    reference = X
                same = bool(np.array_equal(X, reference, equal_nan=True))
                results[f"{label}, {state} cache"] = {
                    "seconds": seconds,
                    "images_per_s": len(paths) / seconds,
                    "identical_to_serial": same,
                }
                print(label, state, f"{seconds:.1f} s", f"{len(paths) / seconds:.0f} img/s", same)
            shutil.rmtree(cache, ignore_errors=True)

        run("serial", lambda: joblib.parallel_config(backend="loky", n_jobs=1), 1)
        run(
            f"joblib, {args.workers} processes",
            lambda: joblib.parallel_config(backend="loky"),
            args.workers,
        )
        with cluster(n_workers=args.workers, verbose=True) as client:
            client.wait_for_workers(args.workers, timeout=120)

            def nothing(x):
                return x

            _, empty = timed(lambda: client.gather(client.map(nothing, range(2000))))
            overhead_ms = 1000 * empty / 2000
            print(f"scheduler overhead: {overhead_ms:.2f} ms per task", flush=True)
            run(f"Dask LocalCluster, {args.workers} workers", contextlib.nullcontext, None)
    serial = results["serial, cold cache"]["seconds"] / len(paths)
    settings = {**vars(args), "overhead_ms_per_task": overhead_ms, "serial_s_per_image": serial}
    rows = [
        "| run | seconds | images/s | identical to serial |",
        "|---|---|---|---|",
    ]
    rows += [
        f"| {k} | {v['seconds']:.1f} | {v['images_per_s']:.0f} | {v['identical_to_serial']} |"
        for k, v in results.items()
    ]
    projection = [
        "| workers | hours for 400,000 images (projected) |",
        "|---|---|",
    ]
    for n in (1, 8, 32, 128):
        chunks = 400_000 / max(1, min(MAX_CLUSTER_CHUNK, 400_000 // (TASKS_PER_WORKER * n)))
        hours = (400_000 * serial / n + chunks * overhead_ms / 1000 / n) / 3600
        projection.append(f"| {n} | {hours:.2f} |")
    markdown = (
        f"68-point landmarks of {len(paths)} FER2013 images (48 px crops, upscaled to "
        f"160 px, `detector='none'`), one machine of 2 cores.\n\n"
        + "\n".join(rows)
        + f"\n\nScheduler overhead: {overhead_ms:.2f} ms per task (2,000 empty tasks); "
        f"serial cost {1000 * serial:.1f} ms per image. Projection for 400,000 images, each "
        "worker a core like these, tasks of up to 1,024 images:\n\n"
        + "\n".join(projection)
        + "\n\n![dask_scaling](dask_scaling.png)"
    )
    write_results("dask_scaling", settings, results, markdown, RESULTS)
    plot(results, RESULTS / "dask_scaling.png")
    print(markdown)
    return 0


def plot(results, path) -> None:
    plt = pyplot()
    if plt is None:
        return
    labels = list(results)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.barh(labels, [results[k]["images_per_s"] for k in labels], color="tab:blue")
    ax.set_xlabel("images per second")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
