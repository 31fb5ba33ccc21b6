"""More candidates for ``cnn-fer2013``: does a larger soft vote of compact CNNs reach 68%?

    python benchmarks/fer2013_candidates.py [--data ~/fer-data] [--work ~/fer-data/work]

Trains (or resumes from their checkpoints) four CNNs on FER2013's labels, with
:mod:`fersk.recipes.fer2013`'s recipes, and scores every soft vote of them (the
15 non-empty subsets) with the mirror and with 12 crops:

* ``scratch``: :data:`~fersk.recipes.fer2013.SCRATCH` (the shipped one);
* ``scratch-mixup``: the same with another seed and mixup 0.2 (FER+ member ``"b"``'s
  settings), about an hour on 2 cores;
* ``fine-tuned-a``: FER+ member ``"a"`` fine-tuned (the shipped one);
* ``fine-tuned-b``: FER+ member ``"b"`` fine-tuned, about 20 minutes.

WAR / UAR on PublicTest (where the shipped recipe chooses), PrivateTest (where
nothing is chosen) and the whole test split, and which vote
:func:`fersk.recipes.members.choose` would pick on PublicTest. Writes
``benchmarks/results/fer2013_candidates.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402

SPLITS = ("PublicTest", "PrivateTest", "all")


def candidates(data: Path, work: Path, n_jobs: int) -> tuple[dict, dict]:
    """The four trained candidates, and FER2013 as decoded for them."""
    from fersk.recipes.fer2013 import SCRATCH, fer2013_arrays, fine_tune, train_on_labels
    from fersk.recipes.members import train_each
    from fersk.recipes.shipped import train

    arrays = fer2013_arrays(data / "fer2013", memory=work / "cache", n_jobs=n_jobs)
    members = train(data, work, ("a", "b"), n_jobs=n_jobs)["members"]
    mixup = dataclasses.replace(SCRATCH, seed=1, mixup=0.2)
    steps = {
        "scratch": lambda: train_on_labels(arrays, work / "fer2013-scratch", SCRATCH),
        "scratch-mixup": lambda: train_on_labels(arrays, work / "fer2013-scratch-b", mixup),
        "fine-tuned-a": lambda: fine_tune(members["a"], arrays, work / "fer2013-finetune"),
        "fine-tuned-b": lambda: fine_tune(members["b"], arrays, work / "fer2013-finetune"),
    }
    nets = train_each(steps, "candidate")
    return nets, arrays


def score_votes(probas: dict, y: np.ndarray, usage: np.ndarray, classes) -> dict:
    """WAR / UAR (%) of every soft vote of ``probas`` on each of :data:`SPLITS`.

    Examples
    --------
    >>> a = np.array([[0.9, 0.1], [0.6, 0.4]] * 2)  # always x
    >>> b = np.array([[0.2, 0.8], [0.1, 0.9]] * 2)  # always y
    >>> y, usage = np.array(["x", "y"] * 2), np.repeat(["PublicTest", "PrivateTest"], 2)
    >>> out = score_votes({"a": a, "b": b}, y, usage, ["x", "y"])
    >>> list(out), out["a"]["PublicTest"]["war"], out["a+b"]["all"]["war"]
    (['a', 'b', 'a+b'], 50.0, 100.0)
    """
    from fersk.evaluation.metrics import war_uar
    from fersk.recipes.members import soft_votes

    classes = np.asarray(classes)
    rows = {"PublicTest": usage == "PublicTest", "PrivateTest": usage == "PrivateTest"}
    rows["all"] = np.ones(len(y), dtype=bool)
    out = {}
    for key, proba in soft_votes(probas).items():
        pred = classes[proba.argmax(1)]
        out[key] = {
            split: {m: round(100 * v, 2) for m, v in war_uar(y[r], pred[r]).items()
                    if m in ("war", "uar")}
            for split, r in rows.items()
        }  # fmt: skip
    return out


def markdown(record: dict) -> str:
    lines = []
    for views, scores in record["votes"].items():
        lines += [
            f"\n**{views}** (WAR / UAR, %):\n",
            "| soft vote of | " + " | ".join(SPLITS) + " |",
            "|---" * (len(SPLITS) + 1) + "|",
        ]
        for name, by_split in scores.items():
            cells = [f"{by_split[s]['war']:.2f} / {by_split[s]['uar']:.2f}" for s in SPLITS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    picks = ", ".join(f"{v}: {'+'.join(c)}" for v, c in record["chosen"].items())
    return (
        "Every soft vote of four compact CNNs on FER2013's labels, on its test split "
        "(`fersk.recipes.fer2013`'s recipes; `scratch` and `fine-tuned-a` are the shipped "
        f"`cnn-fer2013`'s candidates). Chosen on PublicTest's WAR: {picks}.\n" + "\n".join(lines)
    )


def main(argv=None) -> int:
    from fersk._core.threads import limited_threads
    from fersk.recipes.fer2013 import fer2013_usage
    from fersk.recipes.members import best_vote

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FERSK_DATA", "~/fer-data"))
    parser.add_argument("--work", default="~/fer-data/work")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    data, work = Path(args.data).expanduser(), Path(args.work).expanduser()
    with limited_threads(args.threads) as n_jobs:
        nets, arrays = candidates(data, work, n_jobs)
        X, y, files = arrays["test"]
        usage = fer2013_usage(files)
        classes = nets["scratch"].classes_
        votes = {}
        for views, tta in [("mirror", True), ("12 crops", "crops")]:
            probas = {}
            for name, net in nets.items():
                probas[name] = net.set_params(tta=tta, verbose=0).predict_proba(X)
                print(f"{name}, {views}: done", flush=True)
            votes[views] = score_votes(probas, y, usage, classes)
    chosen = {
        views: best_vote({key: score["PublicTest"]["war"] for key, score in scores.items()})
        for views, scores in votes.items()
    }
    record = {
        "votes": votes,
        "chosen": chosen,
        "epochs": {n: len(t.history) for n, t in nets.items()},
    }
    text = markdown(record)
    write_results("fer2013_candidates", vars(args), record, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
