"""The video stream mode: speed on one core, and stability vs lag of the smoothed labels.

    python benchmarks/video_stream.py

Generates the sample videos (a held-out synthetic subject: neutral ->
happiness -> neutral -> face absent -> neutral -> surprise -> neutral, 12 s at
25 fps, the face drifting slowly) at 640x360 and 1280x720, trains the 68-point
landmark MLP on the sample faces' training subjects, and runs
:class:`fersk.video.VideoAnalyzer` pinned to one CPU core:

* frames/s end to end (decode, detect/track, landmarks, motion, predict,
  smooth) and per-frame latency (median, p95, max; detection frames vs
  tracked frames);
* with the raw per-frame probabilities, several smoothing settings: label
  flips per minute, the lag of the smoothed label behind the raw one, and
  frame accuracy against the script's ground truth (frames with a face).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write_results  # noqa: E402

from fersk import LandmarkExtractor, PairwiseDistance  # noqa: E402
from fersk.datasets import make_sample_faces, make_sample_video  # noqa: E402
from fersk.study import default_classifier  # noqa: E402
from fersk.video import (  # noqa: E402
    ProbabilitySmoother,
    VideoAnalyzer,
    count_flips,
    flips_per_minute,
    label_lag,
)

SIZES = {"640x360": ((640, 360), 160), "1280x720": ((1280, 720), 320)}
SMOOTHING = {
    "raw": (0.0, 0.0, 0.0),
    "light": (0.25, 0.05, 0.25),
    "default": (0.5, 0.1, 0.5),
    "strong": (1.0, 0.2, 1.0),
}


def train_model():
    faces = make_sample_faces()
    train = faces.split == "train"
    model = make_pipeline(
        LandmarkExtractor(68, detector="none"),
        PairwiseDistance(),
        SimpleImputer(),
        StandardScaler(),
        default_classifier(0),
    )
    model.fit([x for x, t in zip(faces.data, train) if t], faces.target[train])
    model.target_names_ = list(faces.target_names)
    test_subject = int(sorted(set(faces.subject[~train]))[0][1:])
    return model, test_subject


def timed_run(model, path):
    """Rows, per-frame latencies (s) and whether the frame ran the detector."""
    analyzer = VideoAnalyzer(model, tau_s=0.0, margin=0.0, min_dwell_s=0.0)
    rows, latency, detected = [], [], []
    iterator = analyzer.frames(path)
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        try:
            _, frame_rows = next(iterator)
        except StopIteration:
            break
        latency.append(time.perf_counter() - t0)
        detected.append(any(r["detected"] for r in frame_rows))
        rows.extend(frame_rows)
    total = time.perf_counter() - start
    return rows, np.array(latency), np.array(detected), total, analyzer.tracker_.n_detections_


def smoothing_table(rows, names, truth, times):
    face = [r for r in rows if r["face_found"]]
    t = np.array([r["time_s"] for r in face])
    probs = np.array([[r[f"p_{n}"] for n in names] for r in face])
    true = [truth[r["frame"]] for r in face]
    raw_labels = [names[int(np.argmax(p))] for p in probs]
    out = {}
    for setting, (tau, margin, dwell) in SMOOTHING.items():
        smoother = ProbabilitySmoother(tau_s=tau, margin=margin, min_dwell_s=dwell)
        labels = []
        for time_s, p in zip(t, probs):
            state = smoother.update(0, time_s, p)
            labels.append(names[state.label])
        out[setting] = {
            "tau_s": tau,
            "margin": margin,
            "min_dwell_s": dwell,
            "flips": count_flips(labels),
            "flips_per_minute": flips_per_minute(labels, t),
            "lag_s": label_lag(raw_labels, labels, t) if setting != "raw" else 0.0,
            "frame_accuracy": float(np.mean([a == b for a, b in zip(labels, true)])),
        }
    return out


def main() -> int:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    cv2.setNumThreads(1)
    model, subject = train_model()
    names = model.target_names_
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (size, face_size) in SIZES.items():
            path = Path(tmp) / f"{label}.avi"
            video = make_sample_video(
                path, size=size, fps=25.0, face_size=face_size, subject=subject
            )
            VideoAnalyzer(model).run(path, max_frames=5)  # warm-up: models loaded
            rows, latency, detected, total, n_detections = timed_run(model, path)
            truth = [e or "" for e in video.emotion[:, 0]]
            present = video.face_present[:, 0]
            found = np.zeros(len(truth), bool)
            for r in rows:
                found[r["frame"]] |= r["face_found"]
            results[label] = {
                "frames": len(latency),
                "video_s": float(video.time[-1] + 1 / 25.0),
                "fps": len(latency) / total,
                "latency_ms": {
                    "median": 1000 * float(np.median(latency)),
                    "p95": 1000 * float(np.percentile(latency, 95)),
                    "max": 1000 * float(latency.max()),
                    "detection_frames_median": 1000 * float(np.median(latency[detected])),
                    "tracked_frames_median": 1000 * float(np.median(latency[~detected]))
                    if (~detected).any()
                    else None,
                },
                "detector_runs": int(n_detections),
                "face_found_recall": float(found[present].mean()),
                "false_face_frames": int(found[~present].sum()),
                "smoothing": smoothing_table(rows, names, truth, video.time),
            }
            r = results[label]
            print(
                f"{label}: {r['fps']:.1f} frames/s, latency median "
                f"{r['latency_ms']['median']:.1f} ms (detect "
                f"{r['latency_ms']['detection_frames_median']:.1f} / track "
                f"{r['latency_ms']['tracked_frames_median']:.1f}), faces found "
                f"{100 * r['face_found_recall']:.0f}%",
                flush=True,
            )

    lines = [
        "| frame size | frames/s (1 core) | latency median / p95 / max (ms) | "
        "detection frame / tracked frame (ms) | face found / false |",
        "|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lat = r["latency_ms"]
        lines.append(
            f"| {label} | {r['fps']:.1f} | {lat['median']:.1f} / {lat['p95']:.1f} / "
            f"{lat['max']:.1f} | {lat['detection_frames_median']:.1f} / "
            f"{lat['tracked_frames_median']:.1f} | {100 * r['face_found_recall']:.0f}% / "
            f"{r['false_face_frames']} |"
        )
    speed = "\n".join(lines)
    rows = [
        "| smoothing (tau s, margin, dwell s) | flips/min | lag behind raw (s) | frame accuracy |",
        "|---|---|---|---|",
    ]
    for setting, s in results["640x360"]["smoothing"].items():
        rows.append(
            f"| {setting} ({s['tau_s']}, {s['margin']}, {s['min_dwell_s']}) | "
            f"{s['flips_per_minute']:.1f} | {s['lag_s']:.2f} | {100 * s['frame_accuracy']:.1f}% |"
        )
    stability = "\n".join(rows)
    markdown = (
        "Sample video (held-out synthetic subject, 12 s at 25 fps: neutral, happiness, "
        "neutral, 1 s without a face, neutral, surprise, neutral), 68-point landmark MLP, "
        "HOG detection every 5 frames with correlation tracking between, one CPU core, "
        "decoding included.\n\n"
        + speed
        + "\n\nStability on the 640x360 video (face rows):\n\n"
        + stability
    )
    paths = write_results(
        "video_stream", {"sizes": SIZES, "smoothing": SMOOTHING}, results, markdown, RESULTS
    )
    print(speed + "\n\n" + stability)
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
