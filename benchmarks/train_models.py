"""Regenerate fersk's shipped models and record what they measure (a wrapper of the recipe).

    python benchmarks/train_models.py [--data ~/fer-data] [--work ~/fer-data/work]

Runs :mod:`fersk.recipes.shipped` (train or resume the FER+ CNN members, choose
on FER+'s validation folder, calibrate to the person on JAFFE and CK+48,
measure on every development set, export into ``fersk/models/shipped/`` with
the model cards), then writes ``benchmarks/results/shipped_models.{json,md,png}``
with the machine and versions.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, pyplot, write_results  # noqa: E402

from fersk.recipes.cards import PEER, SETS, calibration_table, format_scores  # noqa: E402


def markdown(record: dict) -> str:
    lines = ["| model | " + " | ".join(SETS.values()) + " |", "|---" * (len(SETS) + 1) + "|"]
    for name, by_set in record["models"].items():
        cells = [f"{by_set[k]['war']:.1f} / {by_set[k]['uar']:.1f}" for k in SETS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    peer = [" / ".join("-" if v is None else f"{v:.1f}" for v in PEER[k]) for k in SETS]
    lines.append("| `fer` package (mini-Xception), for reference | " + " | ".join(peer) + " |")
    calibration = record.get("calibration", {})
    headers = ["raw", "person's mean", "faces grouped, no ids", "one neutral photo"]
    rows = calibration_table(calibration, {key: key for key in calibration}, headers)
    return (
        "WAR / UAR (%) of the shipped models on data they never saw (faces found and cropped "
        "as `fersk predict` does for the photo sets). `cnn-ferplus-posed`'s output layer and "
        "the default's plain head (its answer without person ids) learned from CK+48's and "
        "JAFFE's people, so for them those two sets are scored by person folds: each person's "
        "faces answered by a layer or head learned without them (`fersk.recipes.posed`, posed "
        f"share {record.get('posed', {}).get('share', '-')}; `fersk.recipes.plain`, share "
        f"{record.get('plain', {}).get('share', '-')}):\n\n"
        + "\n".join(lines)
        + f"\n\nFER+ validation (FER2013's PublicTest images, where every choice was made): "
        f"{format_scores(record['valid'])}; shipped members: {', '.join(record['chosen'])}.\n\n"
        "Calibrated to the person (`calibrated-ferplus`), leave-one-person-out:\n\n"
        + "\n".join(rows)
        + "\n\n![shipped_models](shipped_models.png)"
    )


def plot(record: dict, path: Path) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    names = list(record["models"])
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        wars = [record["models"][name][s]["war"] for s in SETS]
        offset = width * (k - (len(names) - 1) / 2)
        axes[0].bar([i + offset for i in range(len(SETS))], wars, width, label=name)
    peer = [float("nan") if PEER[s][0] is None else PEER[s][0] for s in SETS]
    axes[0].scatter(range(len(SETS)), peer, color="k", marker="_", s=300, label="fer peer")
    axes[0].set_xticks(range(len(SETS)), [s.split(",")[0].split(" through")[0] for s in
                                          SETS.values()], fontsize=8)  # fmt: skip
    axes[0].set_ylabel("WAR (%)")
    axes[0].legend(fontsize=8)
    for name, history in record["history"].items():
        axes[1].plot([e["epoch"] for e in history], [100 * e["valid_acc"] for e in history],
                     label=f"member {name}")  # fmt: skip
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("FER+ valid WAR (%)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from fersk._core.threads import limited_threads
    from fersk.recipes.shipped import add_member_arguments, members_of, run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FERSK_DATA", "~/fer-data"))
    parser.add_argument("--work", default="~/fer-data/work")
    add_member_arguments(parser)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    out = Path(__file__).resolve().parents[1] / "fersk" / "models" / "shipped"
    with limited_threads(args.threads) as n_jobs:
        data, work = Path(args.data).expanduser(), Path(args.work).expanduser()
        record = run(data, work, members_of(args), out, n_jobs=n_jobs)
    text = markdown(record)
    write_results("shipped_models", vars(args), record, text)
    plot(record, RESULTS / "shipped_models.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
