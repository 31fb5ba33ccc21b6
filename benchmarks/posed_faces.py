"""The CNN's output layer relearned with posed faces: what each share of them costs and buys.

    python benchmarks/posed_faces.py [--data ~/fer-data] [--work ~/fer-data/work] [--threads 2]

``cnn-ferplus``'s output layer relearned (:mod:`fersk.recipes.posed`) on FER+'s
training faces and on the posed faces of CK+48 and JAFFE (cropped as ``fersk
predict`` crops them), the posed faces weighing each share of
:data:`fersk.recipes.posed.SHARES` (0: FER+ alone). Per share: FER+ valid
(where the share is chosen) and test (never used), and CK+48 and JAFFE by person
folds (each fold's people predicted by a layer learned without them, the
other set whole); and the default's calibration to the person on top of each
layer, leave one person out on those answers: what decides that the layer is
shipped as its own model, ``cnn-ferplus-posed``, and not under the default.
It starts from the shipped ``cnn-ferplus`` (the layer's inputs, the network's
last 512 numbers, do not depend on the layer).

Results: ``benchmarks/results/posed_faces.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402

DATA = os.environ.get("FERSK_DATA", "~/fer-data")


def _scores(y, proba, classes) -> dict:
    """WAR, UAR, calibration error and recall (``fersk.recipes.shipped``'s), quietly: a set
    lacks some answered classes (neutral on CK+48)."""
    from fersk.recipes.shipped import _scores as scores

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
        return scores(np.asarray(y), proba, classes)


def run(args) -> dict:
    from fersk.datasets import load_dataset, load_jaffe
    from fersk.models import load_model
    from fersk.recipes.calibration import person_faces
    from fersk.recipes.ferplus import ferplus_arrays
    from fersk.recipes.posed import (
        MAX_VALID_COST,
        SHARES,
        choose_share,
        fit_output_layer,
        layer_inputs,
        out_of_fold,
    )

    data, work = Path(args.data).expanduser(), Path(args.work).expanduser()
    start = time.perf_counter()
    cnn = load_model("cnn-ferplus")
    arrays = ferplus_arrays(data / "ferplus", 48, memory=work / "cache", n_jobs=args.threads)
    names = {"jaffe": load_jaffe(data / "jaffe"), "ck48": load_dataset(data / "CK+48")}
    faces = {name: person_faces(d) for name, d in names.items()}
    X, y, _, classes = arrays["train"]
    inputs = layer_inputs(cnn, X, y, list(faces.values()))
    print(f"layer inputs in {time.perf_counter() - start:.0f} s", flush=True)
    X_val, y_val = arrays["val"][0][:, 0], arrays["val"][1]
    chosen, valid = choose_share(cnn, inputs, X_val, y_val)
    results: dict = {"chosen": chosen, "max_valid_cost": MAX_VALID_COST, "shares": {},
                     "columns": COLUMNS, "calibrated_columns": CALIBRATED}  # fmt: skip
    for share in SHARES:
        model = fit_output_layer(cnn, inputs, share)
        row = {"ferplus_valid": valid[float(share)]}
        X_test, y_test = arrays["test"][0][:, 0], arrays["test"][1]
        row["ferplus_test"] = _scores(y_test, model.predict_proba(X_test), classes)
        answers = out_of_fold(cnn, inputs, share)
        for name, proba in zip(faces, answers):
            row[f"{name}_folds"] = _scores(faces[name].y, proba, classes)
        row.update(calibrated(model, faces, answers))
        results["shares"][str(share)] = row
        print(share, {k: (v["war"], v["uar"]) for k, v in row.items()}, flush=True)
    results["faces"] = {name: len(f.y) for name, f in faces.items()}
    results["seconds"] = round(time.perf_counter() - start, 1)
    return results


def calibrated(model, faces: dict, answers: list) -> dict:
    """The default's calibration on top of ``model``, leave one person out, every face
    answered by a layer learned without its person: JAFFE against one neutral photo and
    the person's mean, CK+48 against the person's mean (WAR / UAR, %)."""
    from fersk.recipes.calibration import Remembered, leave_one_person_out
    from fersk.recipes.members import war_uar_percent
    from fersk.recipes.shipped import HEAD, HEAD_C

    jaffe, ck = faces["jaffe"], faces["ck48"]
    known = Remembered(model, [*jaffe.crops, *ck.crops], np.vstack(answers))
    out = {}
    for name, mine, other, modes in [("jaffe", jaffe, ck, ("neutral", "mean")),
                                     ("ck48", ck, jaffe, ("mean",))]:  # fmt: skip
        runs = leave_one_person_out(known, mine, extra=[other], head=HEAD, C=HEAD_C)
        for mode in modes:
            out[f"{name}_{mode}"] = war_uar_percent(*runs[mode])
    return out


#: The calibrated columns (:func:`calibrated`).
CALIBRATED = {
    "jaffe_neutral": "JAFFE, one neutral photo",
    "jaffe_mean": "JAFFE, person's mean",
    "ck48_mean": "CK+48, person's mean",
}

COLUMNS = {
    "ferplus_valid": "FER+ valid (the choice)",
    "ferplus_test": "FER+ test",
    "ck48_folds": "CK+48, person folds",
    "jaffe_folds": "JAFFE, person folds",
}


def _rows(results: dict, columns: dict, contempt: bool = False) -> list[str]:
    """A Markdown table: a row per share, WAR / UAR of each of ``columns``."""
    extra = " CK+48 contempt recall |" if contempt else ""
    lines = ["| posed share | " + " | ".join(columns.values()) + " |" + extra,
             "|---" * (len(columns) + 1 + contempt) + "|"]  # fmt: skip
    for share, row in results["shares"].items():
        cells = [f"{row[k]['war']:.1f} / {row[k]['uar']:.1f}" for k in columns]
        recall = row["ck48_folds"]["recall"].get("contempt", float("nan"))
        lines.append(f"| {share} | " + " | ".join(cells) + " |" + (f" {recall:.1f} |" * contempt))
    return lines


def markdown(results: dict) -> str:
    lines = [
        "`cnn-ferplus`'s output layer relearned on FER+'s training faces and on CK+48's and "
        "JAFFE's posed faces (cropped as `fersk predict` crops them), the posed faces "
        "weighing each share of the training weight (0: FER+ alone). CK+48 and JAFFE are "
        "scored by person folds: each person's faces predicted by a layer learned without "
        "them. WAR / UAR (%):",
        "",
        *_rows(results, COLUMNS, contempt=True),
        "",
        "The default's calibration to the person on top of each layer (leave one person "
        "out, the shipped head; each face answered by a layer learned without its person):",
        "",
        *_rows(results, CALIBRATED),
        "",
        f"Chosen: {results['chosen']}, the largest share within {results['max_valid_cost']} "
        "point of the FER+-only layer's WAR on FER+ valid, for `cnn-ferplus-posed`. Not for "
        "the default: a layer that learned posed faces leaves the person's baseline far less "
        "to add.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--work", default="~/fer-data/work", help="the decoded-image cache")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (all cores)")
    parser.add_argument("--name", default="posed_faces")
    args = parser.parse_args(argv)
    from fersk._core.threads import limited_threads

    with limited_threads(args.threads) as n_jobs:
        args.threads = n_jobs
        results = run(args)
    write_results(args.name, vars(args), results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
