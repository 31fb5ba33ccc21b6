"""Per-person calibration on real people it never saw: raw vs mean vs one neutral photo vs learned.

    python benchmarks/subject_calibration.py [--model cnn-ferplus] [--data ~/fer-data]

Every face is found and cropped as ``fersk predict`` does (its default
detector, upsample 1, the shipped framing); the calibration of a person is always learned without
that person (leave-one-person-out). Protocols:

* **JAFFE** (10 people, a neutral photo each): raw model; ``offset`` (no
  learning: ``softmax(log p - log p(baseline))``); ``learned`` (the
  calibration head, trained on the other 9 people, and on CK+48 with
  ``--with-ck``), each against the person's mean, against the mean of the
  person's photos that are not neutral (a person never seen neutral: the hard
  case for a mean) and against one neutral photo (the first; not scored
  itself); and with only 1, 2, 4, 8 photos of the person known. ``learned``
  is the default head (a logistic regression on all the numbers),
  ``classwise`` the head that reads each class from its own numbers (what the
  shipped default uses).
* **Across sets**: each head learned on one set only (CK+48, or JAFFE), then
  every person of the other predicted: people and a dataset never seen.
* **CK+48** (118 people, no neutral photo; 7 classes with contempt): raw;
  learned against the person's mean (head trained on the other CK+48 people and
  JAFFE; CK+48's photos are never neutral, so every person is the hard case);
  and a control: the same head without any baseline (``z`` only), so
  what calibration adds is told apart from what learning CK+'s labels adds.
* **A model that saw these people** (``--model cnn-ferplus-posed``: its output layer
  learned from JAFFE's and CK+48's people, :mod:`fersk.recipes.posed`): each of their
  faces is answered by that layer relearned without its person's fold
  (``out_of_fold``), in every protocol.
* **Without person ids** (both sets, every protocol above): ``mean, faces
  grouped`` calibrates to groups of faces found by who they are (dlib's face
  descriptors, ``fersk predict --group-faces``), the dataset's ids unused;
  ``mean, the set as one person`` to the mean of the whole set.

Results: ``benchmarks/results/subject_calibration.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, pyplot, write_results  # noqa: E402

from fersk.recipes.shipped import HEAD_C  # noqa: E402

DATA = os.environ.get("FERSK_DATA", "~/fer-data")
#: The shipped model whose output layer learned JAFFE's and CK+48's people.
POSED_MODEL = "cnn-ferplus-posed"


def scores(y_true, y_pred) -> dict:
    from fersk.evaluation.metrics import war_uar

    result = {k: float(v) for k, v in war_uar(y_true, y_pred).items() if k in ("war", "uar")}
    result["n"] = int(len(y_true))
    return result


def run(args) -> dict:
    import torch

    from fersk.datasets import load_dataset, load_jaffe
    from fersk.models import load_model
    from fersk.recipes.calibration import across_sets, leave_one_person_out, person_faces

    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    data = Path(args.data).expanduser()
    t0 = time.perf_counter()
    jaffe = person_faces(load_jaffe(data / "jaffe"))
    ck = person_faces(load_dataset(data / "CK+48"))
    found = {"jaffe": [int(jaffe.found.sum()), len(jaffe.found)],
             "ck48": [int(ck.found.sum()), len(ck.found)]}  # fmt: skip
    print(f"faces found: {found} in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.model == POSED_MODEL:  # its layer saw these people: answers by person folds
        model = posed_answers(model, data, Path(args.work).expanduser(), [jaffe, ck])
        print(f"answers by person folds in {time.perf_counter() - t0:.0f} s", flush=True)
    params = {"C": args.C, "shrinkage": args.shrinkage}
    by_head = {"classwise": {**params, "C": args.classwise_C}}  # the other heads: params
    results: dict = {"faces_found": found, "jaffe": {}, "ck48": {}, "across": {}}
    results["face_groups"] = {"jaffe": grouping(jaffe), "ck48": grouping(ck)}
    for head, label in [("offset", "offset"), (None, "learned"), ("classwise", "classwise")]:
        runs = leave_one_person_out(
            model, jaffe, extra=[ck] if args.with_ck else [], photos=(1, 2, 4, 8),
            head=head, **by_head.get(head, params),
        )  # fmt: skip
        for mode, (y, p) in runs.items():
            key = mode if mode == "raw" else f"{label} {mode}"
            results["jaffe"][key] = scores(y, p)
        print("JAFFE", label, {k: round(100 * v["war"], 1) for k, v in results["jaffe"].items()})
    for head, label in [(None, "learned"), ("classwise", "classwise")]:
        runs = leave_one_person_out(
            model, ck, extra=[jaffe], head=head, **by_head.get(head, params)
        )
        results["ck48"]["raw"] = scores(*runs["raw"])
        for mode in ("mean", "mean, faces grouped", "mean, the set as one person"):
            results["ck48"][f"{label} {mode}"] = scores(*runs[mode])
    for head, label in [(None, "learned"), ("classwise", "classwise")]:
        for name, learned_on, faces in [("JAFFE", ck, jaffe), ("CK+48", jaffe, ck)]:
            runs = across_sets(model, [learned_on], faces, head=head, **by_head.get(head, params))
            for mode, (y, p) in runs.items():
                key = f"{name} ({label} head, learned on the other set only) {mode}"
                results["across"][key] = scores(y, p)
    print("across", {k: round(100 * v["war"], 1) for k, v in results["across"].items()})
    results["ck48"]["learned, no baseline (control)"] = scores(*control(model, ck, jaffe, args.C))
    directions = [("JAFFE", "CK+48", jaffe, ck), ("CK+48", "JAFFE", ck, jaffe)]
    results["classwise C"] = {
        str(C): {
            f"{a} -> {b}": scores(*across_sets(model, [learned], faces, head="classwise", C=C,
                                               shrinkage=args.shrinkage)["mean"])["war"]
            for a, b, learned, faces in directions
        }
        for C in (0.01, 0.1, 1.0, 10.0)
    }  # fmt: skip
    print("classwise head by C, across sets", results["classwise C"])
    if args.strangers:
        results["strangers"] = strangers(model, data, [jaffe, ck], by_head["classwise"])
        print("strangers", results["strangers"])
    print("CK+48", {k: round(100 * v["war"], 1) for k, v in results["ck48"].items()})
    return results


def posed_answers(cnn, data: Path, work: Path, sets: list):
    """``cnn`` answering each face of ``sets`` by its output layer relearned without the
    face's person fold (:func:`fersk.recipes.posed.out_of_fold`); other inputs as ``cnn``."""
    from fersk.recipes.calibration import Remembered
    from fersk.recipes.ferplus import ferplus_arrays
    from fersk.recipes.posed import POSED_SHARE, layer_inputs, out_of_fold

    X, y, _, _ = ferplus_arrays(data / "ferplus", 48, memory=work / "cache")["train"]
    answers = out_of_fold(cnn, layer_inputs(cnn, X, y, sets), POSED_SHARE)
    return Remembered(cnn, [c for s in sets for c in s.crops], np.vstack(answers))


def strangers(model, data: Path, learned_on: list, params: dict) -> dict:
    """FER+ test through ``fersk predict``: raw, and with its faces grouped by who they are.

    3,137 faces of strangers, about one photo each: what ``--group-faces`` does
    where it should not be used (the head learned on JAFFE and CK+48, as shipped).
    """
    from sklearn.utils import Bunch

    from fersk.datasets import load_ferplus
    from fersk.landmarks.identity import group_faces
    from fersk.recipes.calibration import fit_calibration, photo_faces

    ferplus = load_ferplus(data / "ferplus")
    test = np.flatnonzero(ferplus.split == "test")
    crops, found, descriptors = photo_faces([ferplus.data[i] for i in test], describe=True)
    keep = np.flatnonzero(found)
    faces = Bunch(crops=[crops[i] for i in keep],
                  y=np.asarray(ferplus.target_names)[ferplus.target[test[keep]]])  # fmt: skip
    calibrated = fit_calibration(model, learned_on, head="classwise", **params)
    groups = group_faces(descriptors[keep])
    sizes = np.bincount(groups)
    return {
        "raw": scores(faces.y, calibrated.estimator_.predict(faces.crops)),
        "faces grouped": scores(faces.y, calibrated.predict(faces.crops, groups=groups)),
        "faces": [int(len(keep)), int(len(test))],
        "groups": int(len(sizes)),
        "in groups of 2 or more": int(sizes[sizes > 1].sum()),
        "largest group": int(sizes.max()),
    }


def grouping(faces) -> dict:
    """How the faces grouped by who they are match the dataset's people."""
    from sklearn.metrics import adjusted_rand_score

    from fersk.landmarks.identity import group_faces

    groups = group_faces(faces.descriptors)
    return {"groups": int(len(set(groups.tolist()))), "people": int(len(set(faces.groups))),
            "adjusted_rand": float(adjusted_rand_score(faces.groups, groups))}  # fmt: skip


def control(model, faces, extra, C: float):
    """The head's learning without any person baseline: a regression on ``log p`` alone."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Z = np.log(np.clip(model.predict_proba(faces.crops), 1e-6, 1))
    Z_extra = np.log(np.clip(model.predict_proba(extra.crops), 1e-6, 1))
    y_pred = np.empty(len(faces.y), dtype=object)
    for person in dict.fromkeys(faces.groups.tolist()):
        mine = faces.groups == person
        X = np.vstack([Z[~mine], Z_extra])
        y = np.concatenate([faces.y[~mine], extra.y])
        head = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000)).fit(X, y)
        y_pred[mine] = head.predict(Z[mine])
    return faces.y, y_pred.astype(str)


def markdown(results: dict, args) -> str:
    lines = [
        f"Calibration of `{args.model}` to each person, leave-one-person-out (WAR / UAR, %).",
        "",
        "| set | protocol | WAR | UAR | faces |",
        "|---|---|---|---|---|",
    ]
    for name, label in [("jaffe", "JAFFE"), ("ck48", "CK+48")]:
        for mode, r in results[name].items():
            if "@" in mode:
                continue
            lines.append(f"| {label} | {mode} | {100 * r['war']:.1f} | {100 * r['uar']:.1f} | "
                         f"{r['n']} |")  # fmt: skip
    lines += ["", "People and a dataset never seen (the head learned on the other set only):", ""]
    lines += ["| set, head, protocol | WAR | UAR | faces |", "|---|---|---|---|"]
    for mode, r in results.get("across", {}).items():
        lines.append(f"| {mode} | {100 * r['war']:.1f} | {100 * r['uar']:.1f} | {r['n']} |")
    if "strangers" in results:
        r = results["strangers"]
        lines += ["", "Strangers: FER+ test through `fersk predict` (about one photo per person), "
                  f"{r['faces'][0]} of {r['faces'][1]} faces found; grouped into {r['groups']} "
                  f"groups ({r['in groups of 2 or more']} faces in groups of 2 or more, the "
                  f"largest {r['largest group']}): raw {100 * r['raw']['war']:.1f} / "
                  f"{100 * r['raw']['uar']:.1f}, faces grouped "
                  f"{100 * r['faces grouped']['war']:.1f} / {100 * r['faces grouped']['uar']:.1f} "
                  "(WAR / UAR). Grouping is for photos of a few people each seen several times, "
                  "not for crowds."]  # fmt: skip
    if "classwise C" in results:
        lines += ["", "The classwise head's `C` (how far it may move from the CNN's answer), "
                  "against the person's mean, learned on one set and used on the other (WAR, %; "
                  f"this run: {args.classwise_C:g}):", ""]  # fmt: skip
        pairs = list(next(iter(results["classwise C"].values())))
        lines += ["| C | " + " | ".join(pairs) + " |", "|---" * (len(pairs) + 1) + "|"]
        for C, by_pair in results["classwise C"].items():
            cells = [f"{100 * by_pair[p]:.1f}" for p in pairs]
            lines.append(f"| {C} | " + " | ".join(cells) + " |")
    lines += ["", "Photos of a person known (JAFFE; WAR / UAR):", ""]
    heads = ("learned", "classwise")
    lines += ["| photos | " + " | ".join(f"{h}: against the mean | {h}: against one neutral photo"
                                         for h in heads) + " |", "|---" * 5 + "|"]  # fmt: skip
    for k in (1, 2, 4, 8):
        cells = []
        for head in heads:
            for base in ("mean", "neutral"):
                r = results["jaffe"].get(f"{head} {base}@{k}")
                cells.append("-" if r is None else f"{100 * r['war']:.1f} / {100 * r['uar']:.1f}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Faces found (`fersk predict`'s detector): {results['faces_found']}. The control row "
        "of CK+48 learns CK+'s labels without any person baseline: the difference to the "
        "learned mean is what calibration to the person adds there. Faces grouped by who "
        "they are (groups found, people, adjusted Rand index against the ids): "
        + ", ".join(
            f"{k} {v['groups']} groups of {v['people']} people (ARI {v['adjusted_rand']:.2f})"
            for k, v in results["face_groups"].items()
        )
        + ".",
        "",
        f"![subject_calibration]({args.name}.png)",
    ]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    """WAR per protocol (JAFFE, CK+48), and JAFFE's WAR by the photos of a person known."""
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    bars = [(f"JAFFE {k}", v) for k, v in results["jaffe"].items() if "@" not in k]
    bars += [(f"CK+48 {k}", v) for k, v in results["ck48"].items()]
    axes[0].barh([b[0] for b in bars][::-1], [100 * b[1]["war"] for b in bars][::-1])
    axes[0].set_xlabel("WAR (%), leave one person out")
    axes[0].tick_params(axis="y", labelsize=7)
    for head in ("learned", "classwise"):
        for base in ("mean", "neutral"):
            ks = [k for k in (1, 2, 4, 8) if f"{head} {base}@{k}" in results["jaffe"]]
            war = [100 * results["jaffe"][f"{head} {base}@{k}"]["war"] for k in ks]
            style = "o-" if head == "classwise" else "s--"
            axes[1].plot(ks, war, style, label=f"{head}, the {base}")
    axes[1].axhline(100 * results["jaffe"]["raw"]["war"], color="0.4", ls="--", label="raw")
    axes[1].set_xscale("log", base=2)
    axes[1].set_xlabel("photos of the person known (JAFFE)")
    axes[1].set_ylabel("WAR (%)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn-ferplus", help="the base model (its raw output)")
    parser.add_argument("--data", default=DATA, help="folder holding jaffe/ and CK+48/")
    parser.add_argument("--work", default="~/fer-data/work", help="the decoded-image cache")
    parser.add_argument("--with-ck", action="store_true", help="JAFFE's heads also learn CK+48")
    parser.add_argument("--no-strangers", dest="strangers", action="store_false",
                        help="skip FER+ test grouped by face (needs ferplus/)")  # fmt: skip
    parser.add_argument("--C", type=float, default=1.0, help="the logistic regression head's")
    parser.add_argument("--classwise-C", type=float, default=HEAD_C,
                        help="the classwise head's (default: the shipped default's)")  # fmt: skip
    parser.add_argument("--shrinkage", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="subject_calibration")
    args = parser.parse_args(argv)
    results = run(args)
    paths = write_results(args.name, vars(args), results, markdown(results, args))
    plot(results, RESULTS / f"{args.name}.png")
    print(markdown(results, args))
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
