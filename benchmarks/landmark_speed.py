"""Landmark extraction speed: images/s per backend x detector x image size, jobs, cache.

    python benchmarks/landmark_speed.py [--n-images 200]

Images are the built-in sample faces (aligned 128 px crops) resized to each
size, and for the detectors the astronaut photograph (512 px) with scaled
copies. "cold" extracts with an empty cache, "cached" repeats the call with
the cache filled. FAN runs only with --fan-weights (random weights give the
same speed as real ones: pass a file made with benchmarks' --make-random-fan).
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
from _record import write_results  # noqa: E402

from fersk import LandmarkExtractor  # noqa: E402
from fersk.datasets.sample import make_sample_faces  # noqa: E402


def _images(kind: str, size: int, n: int) -> list[np.ndarray]:
    if kind == "crop":
        faces = make_sample_faces(n_subjects=4, n_intensities=2, blur_sigmas=(0.0,)).data
        base = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in faces]
    else:  # a photograph with one face somewhere in it
        photo = cv2.resize(astronaut(), (size, size), interpolation=cv2.INTER_AREA)
        base = [np.roll(photo, k, axis=1) for k in range(8)]
    # Distinct pixels per image so the cache cannot collapse duplicates.
    return [np.clip(base[i % len(base)].astype(np.int16) + (i // len(base)) % 3 - 1, 0, 255)
            .astype(np.uint8) for i in range(n)]


def _rate(extractor, images) -> tuple[float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        X = extractor.transform(images)
        dt = time.perf_counter() - t0
    return len(images) / dt, int(np.isnan(X).all(axis=1).sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--fan-weights", default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)

    configs = []
    for n_landmarks in (68, 5):
        for size in (48, 100, 224):
            configs.append(("dlib", "none", "crop", size, n_landmarks))
    for detector, sizes in (("hog", (256, 512, 1024)), ("mmod", (256,))):
        for size in sizes:
            configs.append(("dlib", detector, "photo", size, 68))
    if args.fan_weights:
        configs += [("face_alignment", "none", "crop", 100, 68),
                    ("face_alignment", "hog", "photo", 512, 68)]

    rows = []
    for backend, detector, kind, size, n_landmarks in configs:
        n = args.n_images if detector != "mmod" and backend == "dlib" else max(
            8, args.n_images // 10)
        images = _images(kind, size, n)
        kw = dict(backend=backend, detector=detector, progress=False)
        if backend == "face_alignment":
            kw.update(weights=args.fan_weights, device="cpu")
        row = {"backend": backend, "detector": detector, "input": kind, "size": size,
               "landmarks": n_landmarks, "n_images": n}
        LandmarkExtractor(n_landmarks, **kw).transform(images[:2])  # load models
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as cache:
                ext = LandmarkExtractor(n_landmarks, n_jobs=jobs, memory=cache, **kw)
                row[f"cold_{jobs}_jobs"], row["no_face"] = _rate(ext, images)
                if jobs == 1:
                    row["cached_1_job"], _ = _rate(ext, images)
        rows.append(row)
        print(row, flush=True)

    lines = ["| backend | detector | input | size px | landmarks | img/s 1 job | img/s 2 jobs "
             "| img/s cached | ms/img 1 job | no face |", "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['detector']} | {r['input']} | {r['size']} | "
            f"{r['landmarks']} | {r['cold_1_jobs']:.0f} | {r['cold_2_jobs']:.0f} | "
            f"{r['cached_1_job']:.0f} | {1000 / r['cold_1_jobs']:.1f} | {r['no_face']} |")
    md = ("Images per second of `LandmarkExtractor.transform` (decode from memory, detect, "
          "predict). `crop`: aligned sample faces (detector `none`, upscaled to 160 px "
          "when smaller); `photo`: the astronaut photograph at that size. 2 jobs = joblib "
          "processes (worker start-up included). Cached: same call again with the "
          "content-keyed cache filled.\n\n" + "\n".join(lines))
    write_results("landmark_speed", vars(args), rows, md, args.out)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
