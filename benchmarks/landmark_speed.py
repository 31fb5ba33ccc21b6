"""Landmark extraction speed: images/s per backend x detector x image size, jobs, cache.

    python benchmarks/landmark_speed.py [--n-images 200]

Images are the built-in sample faces (aligned 128 px crops) resized to each
size, and for the detectors the astronaut photograph (512 px) with scaled
copies. "cold" extracts with an empty cache, "cached" repeats the call with
the cache filled. FAN runs only with --fan-weights (random weights give the
same speed as real ones: save ``face_alignment.models.FAN(4).state_dict()`` with
torch.save and pass that file).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
from skimage.data import astronaut

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402

from fersk import LandmarkExtractor  # noqa: E402
from fersk.datasets.synthetic import make_sample_faces


def _images(kind: str, size: int, n: int) -> list[np.ndarray]:
    if kind == "crop":
        faces = make_sample_faces(n_subjects=4, n_intensities=2, blur_sigmas=(0.0,)).data
        base = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in faces]
    else:  # a photograph with one face somewhere in it
        photo = cv2.resize(astronaut(), (size, size), interpolation=cv2.INTER_AREA)
        base = [np.roll(photo, k, axis=1) for k in range(8)]
    # Every image unique (its index written into 4 corner pixels), so the
    # content-keyed cache never serves one image's result to another.
    images = []
    for i in range(n):
        img = base[i % len(base)].copy()
        img.reshape(-1)[:4] = np.frombuffer(i.to_bytes(4, "little"), dtype=np.uint8)
        images.append(img)
    return images


def _rate(extractor, images) -> tuple[float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        X = extractor.transform(images)
        dt = time.perf_counter() - t0
    return len(images) / dt, int(np.isnan(X).all(axis=1).sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--fan-weights", default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)

    # (backend, detector, input, size, landmarks, upsample): at 256 px the
    # photo's face is ~44 px, below HOG's and MMOD's 80 px minimum: upsample once.
    configs = []
    for n_landmarks in (68, 5):
        for size in (48, 100, 224):
            configs.append(("dlib", "none", "crop", size, n_landmarks, 0))
    for detector, sizes in (("hog", (256, 512, 1024)), ("mmod", (256, 512))):
        for size in sizes:
            configs.append(("dlib", detector, "photo", size, 68, int(size == 256)))
    if args.fan_weights:
        configs += [
            ("face_alignment", "none", "crop", 100, 68, 0),
            ("face_alignment", "hog", "photo", 512, 68, 0),
        ]

    rows = []
    for backend, detector, kind, size, n_landmarks, upsample in configs:
        slow = detector == "mmod" or backend == "face_alignment"
        n = (
            min(20, args.n_images)
            if slow
            else (min(200, args.n_images) if kind == "photo" else args.n_images)
        )
        images = _images(kind, size, n)
        kw = dict(backend=backend, detector=detector, upsample=upsample, progress=False)
        if backend == "face_alignment":
            kw.update(weights=args.fan_weights, device="cpu")
        row = {
            "backend": backend,
            "detector": detector,
            "input": kind,
            "size": size,
            "landmarks": n_landmarks,
            "upsample": upsample,
            "n_images": n,
        }
        LandmarkExtractor(n_landmarks, **kw).transform(images[:2])  # load models
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as cache:
                ext = LandmarkExtractor(n_landmarks, n_jobs=jobs, memory=cache, **kw)
                row[f"cold_{jobs}_jobs"], row["no_face"] = _rate(ext, images)
                if jobs == 1:
                    row["cached_1_job"], _ = _rate(ext, images)
        rows.append(row)
        print(row, flush=True)

    lines = [
        "| backend | detector | input | size px | upsample | landmarks | images "
        "| img/s 1 job | img/s 2 jobs | img/s cached | ms/img 1 job | no face |",
        "|" + "---|" * 12,
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['detector']} | {r['input']} | {r['size']} | "
            f"{r['upsample']} | {r['landmarks']} | {r['n_images']} | {r['cold_1_jobs']:.1f} | "
            f"{r['cold_2_jobs']:.1f} | {r['cached_1_job']:.0f} | "
            f"{1000 / r['cold_1_jobs']:.1f} | {r['no_face']} |"
        )
    md = (
        "Images per second of `LandmarkExtractor.transform` (decode from memory, detect, "
        "predict). `crop`: aligned sample faces (detector `none`, upscaled to 160 px "
        "when smaller); `photo`: the astronaut photograph at that size. 2 jobs = joblib "
        "processes, worker start-up and model loading included (it dominates short "
        "batches). Cached: the same call again with the content-keyed cache filled. "
        "FAN timings use randomly initialised weights (same network, same cost as the "
        "released ones), CPU, no torch.compile.\n\n" + "\n".join(lines)
    )
    write_results("landmark_speed", vars(args), rows, md, args.out)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
