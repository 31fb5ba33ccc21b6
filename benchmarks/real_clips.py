"""Calibration to the person on real web videos: the default model against its raw CNN.

    python benchmarks/real_clips.py [--data ~/fer-data] [--model PATH_OR_NAME ...]

The 16 labelled clips of the real clip set (``styletalk/samples/style_clips/video``:
``furious_*`` anger x9, ``happy*`` x3, ``sad*`` x3, ``surprisegirl``; rough labels
from their names, see ``../shared/data/README.md``) go through ``fersk video``'s
stream (:class:`fersk.video.VideoAnalyzer`): every model reads each face track,
the default one against the track's running baseline once it is a second old.
Per model: how many clips' most frequent label is the clip's label, and the mean
share of frames that say it (frames after the first calibrated one, where the
model calibrates). Few clips, loosely labelled: a check that calibration helps
on real faces in motion, not an accuracy benchmark.

Results: ``benchmarks/results/real_clips.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402

DATA = os.environ.get("FERSK_DATA", "~/fer-data")
CLIPS = "styletalk/samples/style_clips/video"
#: A clip's label from the first word of its name (the rest: talking heads, unlabelled).
LABELS = {"furious": "anger", "happyenglish": "happiness", "vscodehappy": "happiness",
          "sad": "sadness", "sadfather": "sadness", "sadgirl": "sadness",
          "surprisegirl": "surprise"}  # fmt: skip


def clip_label(path: Path) -> str | None:
    """The rough label in a clip's name, or None (``furious_talk1_clip1.mp4`` -> anger)."""
    return LABELS.get(path.name.split("_")[0])


def read_clip(model, path: Path) -> dict:
    """The clip's frames through the stream: label counts and the share saying ``truth``."""
    from fersk.video import VideoAnalyzer

    rows = [r for r in VideoAnalyzer(model).stream(str(path)) if r["face_found"]]
    calibrated = [r["label"] for r in rows if r.get("calibration", "none") != "none"]
    labels = calibrated or [r["label"] for r in rows]
    counts = collections.Counter(labels)
    return {"frames": len(labels), "calibrated": len(calibrated),
            "majority": counts.most_common(1)[0][0] if counts else "",
            "counts": dict(counts)}  # fmt: skip


def run(args) -> dict:
    from fersk.models import load_model

    folder = Path(args.data).expanduser() / CLIPS
    clips = [p for p in sorted(folder.glob("*.mp4")) if clip_label(p)]
    if not clips:
        raise SystemExit(f"no labelled clip under {folder} (see ../shared/data/README.md)")
    results: dict = {"clips": [p.name for p in clips], "models": {}}
    for name in args.model:
        model, start = load_model(name), time.perf_counter()
        per_clip = {}
        for path in clips:
            clip = read_clip(model, path)
            truth = clip_label(path)
            clip["truth"] = truth
            clip["agree"] = clip["counts"].get(truth, 0) / max(clip["frames"], 1)
            per_clip[path.name] = clip
        right = sum(c["majority"] == c["truth"] for c in per_clip.values())
        results["models"][name] = {
            "clips right": right,
            "clips": len(clips),
            "frame agreement": float(np.mean([c["agree"] for c in per_clip.values()])),
            "per clip": per_clip,
            "seconds": round(time.perf_counter() - start, 1),
        }
        print(name, right, "of", len(clips), flush=True)
    return results


def markdown(results: dict) -> str:
    lines = [
        "Real web clips (rough labels from their names), through `fersk video`'s stream: "
        "how many clips' most frequent label is theirs, and the mean share of frames saying "
        "it (from the first calibrated frame on, where the model calibrates).",
        "",
        "| model | clips right | frames agreeing (mean over clips) |",
        "|---|---|---|",
    ]
    for name, r in results["models"].items():
        lines.append(f"| {name} | {r['clips right']} / {r['clips']} | "
                     f"{100 * r['frame agreement']:.1f}% |")  # fmt: skip
    names = list(results["models"])
    lines += ["", "Each clip's most frequent label:", "",
              "| clip | label | " + " | ".join(names) + " |",
              "|---" * (len(names) + 2) + "|"]  # fmt: skip
    for clip in results["clips"]:
        first = results["models"][names[0]]["per clip"][clip]
        cells = [results["models"][n]["per clip"][clip]["majority"] for n in names]
        lines.append(f"| {clip} | {first['truth']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA, help="folder holding styletalk/")
    parser.add_argument("--model", action="append", help="models to compare (repeat; default: "
                        "cnn-ferplus and the default calibrated-ferplus)")  # fmt: skip
    parser.add_argument("--name", default="real_clips")
    args = parser.parse_args(argv)
    args.model = args.model or ["cnn-ferplus", "calibrated-ferplus"]
    results = run(args)
    paths = write_results(args.name, vars(args), results, markdown(results))
    print(markdown(results))
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
