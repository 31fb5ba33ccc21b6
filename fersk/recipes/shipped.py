"""Train, measure and export fersk's shipped models, in one resumable run.

    python -m fersk.recipes.shipped --data ~/fer-data --work ~/fer-data/work

* ``cnn-ferplus``: :class:`~fersk.cnn.CompactCNN` members trained on FER+'s
  vote distributions (:mod:`fersk.recipes.ferplus`, every epoch checkpointed;
  a rerun resumes), each with mirror-image averaging; the ensemble of the
  members is shipped when it beats the best single member on FER+'s
  validation folder, else that member. 8 classes with contempt.
* ``calibrated-ferplus`` (the default): ``cnn-ferplus`` calibrated to each
  person (:class:`~fersk.features.calibration.PersonCalibratedClassifier`), its
  ``"classwise"`` head learned on JAFFE's and CK+48's people, faces found and cropped as
  ``fersk predict`` does. Without person ids its ``plain_head``
  (:mod:`fersk.recipes.plain`) reads ``cnn-ferplus``'s log-probabilities, learned on
  FER+'s and the posed sets' faces, at the largest posed share that costs FER+ valid
  at most :data:`~fersk.recipes.plain.MAX_PLAIN_COST` points against ``cnn-ferplus``
  (CK+48 and JAFFE are then scored for it by person folds); with no share within it,
  ``cnn-ferplus``'s answers with FER+'s class frequencies divided out to the largest
  power that costs no accuracy on FER+ valid (:data:`MAX_WAR_COST`).
* ``cnn-ferplus-posed``: ``cnn-ferplus`` with its output layer relearned on FER+'s
  faces and on CK+48's and JAFFE's posed faces (:mod:`fersk.recipes.posed`): for posed
  photos without person ids. Those two sets are scored by person folds for it.
* ``cnn-fer2013`` and ``landmarks-fer2013``: FER2013's own labels
  (:mod:`fersk.recipes.fer2013`): the FER+ member fine-tuned, and the study's
  landmark path.

Measured on data never used for a choice: FER+ test (majority labels, 8
classes), FER2013 test (its own labels, 7 classes: contempt answers count as
errors; its PublicTest half holds the images of FER+'s validation folder, where
choices are made, so its PrivateTest half is also scored alone), CK+48 and
JAFFE through ``fersk predict`` (raw; their calibrated numbers come from
leave-one-person-out, ``benchmarks/subject_calibration.py``). Everything is
chosen on FER+'s validation folder (FER2013's PublicTest images). The models are written
with their cards and recorded predictions into ``fersk/models/shipped/``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path

import numpy as np

from .members import (
    build_cnn,
    choose,
    epoch_table,
    largest_within,
    nets_of,
    train_each,
    war_uar_percent,
)

__all__ = [
    "DEFAULT_MEMBERS",
    "GPU_MEMBERS",
    "HEAD",
    "HEAD_C",
    "MAX_WAR_COST",
    "choose_prior_power",
    "export",
    "int8_cnn",
    "main",
    "measure",
    "members_of",
    "add_member_arguments",
    "run",
    "train",
]

#: The CNN members trained for ``cnn-ferplus`` (names of :data:`fersk.recipes.ferplus.MEMBERS`).
DEFAULT_MEMBERS = ("a", "b")
#: The members of the GPU recipe (``--gpu``): longer training of the same network.
GPU_MEMBERS = ("gpu-a", "gpu-b")
#: The default model's calibration head: each class read from its own numbers, which carries
#: over to people of other datasets (``benchmarks/subject_calibration.py``: +8.7 to +15.5 points
#: when learned on one set and used on the other, against the logistic regression on all numbers).
HEAD = "classwise"
#: How far the head may move from the CNN's own answer (``C``): chosen where it matters, on people
#: and a dataset never seen (``benchmarks/subject_calibration.py``: the head learned on JAFFE and
#: used on CK+48, and the other way round; 0.1 beats 1 and 0.01 there).
HEAD_C = 0.1
#: Without person ids the default divides FER+'s class frequencies out of its answers only as
#: far as that costs no accuracy on FER+ valid: the default is never below its CNN there.
MAX_WAR_COST = 0.0


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def train(data: Path, work: Path, members=DEFAULT_MEMBERS, n_jobs: int = 1, say=print) -> dict:
    """Train (or resume) the CNN members; returns ``{"members": {name: net}, "arrays": ...}``."""
    from .ferplus import MEMBERS, ferplus_arrays, train_member

    arrays = ferplus_arrays(data / "ferplus", 48, memory=work / "cache", n_jobs=n_jobs)
    steps = {
        name: partial(train_member, MEMBERS[name], arrays, work / f"member-{name}")
        for name in members
    }
    nets = train_each(steps, "member", say=say)
    return {"members": nets, "arrays": arrays}


def int8_cnn(cnn, X_calibration: np.ndarray, n_calibration: int = 512):
    """``cnn`` with int8 convolutions (:func:`fersk.cnn.quantize_static`), each member calibrated
    on the same FER+ training images."""
    from sklearn.pipeline import Pipeline

    from .._core.pipeline_tools import combine_fitted
    from ..cnn import quantize_static

    head = cnn[-1]
    members = nets_of(cnn)
    quantized = [quantize_static(m, X_calibration, n_calibration=n_calibration) for m in members]
    last = (
        quantized[0]
        if len(quantized) == 1
        else combine_fitted(
            [(f"m{i}", q) for i, q in enumerate(quantized)], weights=getattr(head, "weights", None)
        )
    )
    return Pipeline([("prep", cnn[0]), ("cnn", last)])


def choose_prior_power(
    proba: np.ndarray,
    y,
    classes,
    prior: np.ndarray,
    *,
    powers=(0.0, 0.25, 0.5, 0.75, 1.0),
    max_war_cost: float = 1.5,
) -> tuple[float, dict]:
    """The largest power of the class prior to divide out that costs at most
    ``max_war_cost`` points of WAR on the validation rows (``proba``, ``y``).

    Returns the power and ``{power: {"war", "uar"}}`` (in %).

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.6, 0.4], [0.55, 0.45], [0.3, 0.7], [0.9, 0.1]])
    >>> choose_prior_power(proba, ["a", "b", "b", "a"], ["a", "b"], np.array([0.8, 0.2]))[0]
    1.0
    """
    classes = np.asarray(classes)
    scores = {}
    for power in powers:
        adjusted = proba / np.asarray(prior, dtype=float) ** power
        scores[float(power)] = war_uar_percent(y, classes[adjusted.argmax(axis=1)])
    return largest_within(scores, max_war_cost), scores


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def _scores(y, proba, classes) -> dict:
    from ..evaluation.metrics import expected_calibration_error, per_class_recall, war_uar

    classes = np.asarray(classes)
    pred = classes[np.nanargmax(proba, axis=1)]
    out = {k: round(100 * v, 2) for k, v in war_uar(y, pred).items() if k in ("war", "uar")}
    out["ece"] = round(100 * expected_calibration_error(y, proba, classes), 2)
    recall = per_class_recall(y, pred, labels=classes)
    out["recall"] = {str(c): round(100 * float(r), 1) for c, r in recall.items() if c in set(y)}
    out["n"] = int(len(y))
    return out


def _photos(model, files, y, **options) -> dict:
    """Scores through ``fersk predict`` (the largest face of each photo; none found: an error)."""
    from ..predict import predict_faces

    rows = predict_faces(files, model, progress=False, **options)
    first = rows[rows["face"] <= 0].drop_duplicates("file").set_index("file").loc[list(files)]
    names = [c[2:] for c in rows.columns if c.startswith("p_")]
    proba = np.array(first[[f"p_{n}" for n in names]], dtype=float)
    missing = ~np.isfinite(proba).all(axis=1)
    proba[missing] = 0.0  # a photo without a face has no answer: wrong whatever its label
    out = _scores(np.asarray(y)[~missing], proba[~missing], names)
    correct = out["war"] * out["n"] / 100
    out["war_with_missing"] = round(100 * correct / len(files), 2)
    out["faces_not_found"] = int(missing.sum())
    return out


def _folds_scores(faces, proba, classes, photos: dict) -> dict:
    """Scores of a posed set from out-of-fold answers (person folds), in ``photos``' form.

    ``photos``: the set's :func:`_photos` scores, whose faces not found count as errors here
    too (``faces.found``: which photos had one).
    """
    out = _scores(faces.y, proba, classes)
    n_photos = len(faces.found)
    out["war_with_missing"] = round(out["war"] * out["n"] / n_photos, 2)
    out["faces_not_found"] = int(n_photos - faces.found.sum())
    out["person_folds"] = True
    if out["faces_not_found"] != photos["faces_not_found"]:
        raise RuntimeError(f"{photos['faces_not_found']} photos without a face through "
                           f"fersk predict, {out['faces_not_found']} here")  # fmt: skip
    return out


def measure(models: dict, data: Path, arrays: dict, fer2013_test=None, say=print) -> dict:
    """Every model on every development set: ``{model: {set: scores}}``.

    ``fer2013_test``: FER2013's test split as :func:`fersk.recipes.fer2013.fer2013_arrays`
    decodes it (decoded here if None).
    """
    from ..datasets import load_dataset, load_jaffe
    from .fer2013 import fer2013_arrays, fer2013_usage

    X_test, y_test, _, _ = arrays["test"]
    X_test = X_test[:, 0]  # the models take images: (n, 48, 48), their preprocessing keeps them
    if fer2013_test is None:
        fer2013_test = fer2013_arrays(data / "fer2013", splits=("test",))["test"]
    fer_X, fer_y, fer_files = fer2013_test
    fer_X = fer_X[:, 0]  # 48-px gray images, which the models' own preprocessing takes as they are
    ck = load_dataset(data / "CK+48")
    ck_y = np.asarray(ck.target_names)[ck.target]
    jaffe = load_jaffe(data / "jaffe")
    jaffe_y = np.asarray(jaffe.target_names)[jaffe.target]
    results = {}
    private = fer2013_usage(fer_files) == "PrivateTest"
    for name, model in models.items():
        classes = model.classes_
        start = time.perf_counter()
        fer_proba = model.predict_proba(fer_X)
        results[name] = {
            "ferplus_test": _scores(y_test, model.predict_proba(X_test), classes),
            "fer2013_test": _scores(fer_y, fer_proba, classes),
            "fer2013_private": _scores(fer_y[private], fer_proba[private], classes),
            "ck48_photos": _photos(model, ck.data, ck_y),
            "jaffe_photos": _photos(model, jaffe.data, jaffe_y),
        }
        say(f"{name}: " + ", ".join(f"{k} {v['war']:.1f}/{v['uar']:.1f}" for k, v in
                                    results[name].items())
            + f" ({time.perf_counter() - start:.0f} s)")  # fmt: skip
    return results


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------


def export(models: dict, results: dict, folder: Path, cards: dict, say=print) -> None:
    """Write each model (cards and predictions on the built-in inputs) into ``folder``."""
    from ..models import reference_inputs, save_model

    inputs = reference_inputs()
    refs = {}
    for name, model in models.items():
        proba = model.predict_proba(inputs)
        reference = {
            "inputs": "fersk.models.reference_inputs(): the astronaut's face crop, then the 7 "
            "sample faces of subject 0 (48 px)",
            "classes": [str(c) for c in model.classes_],
            "predict_proba": np.round(proba, 6).tolist(),
        }
        metrics = {  # "person_folds": scored on people the model learned from, by person folds
            s: {k: v[k] for k in ("war", "uar", "person_folds") if k in v}
            for s, v in results[name].items()
        }
        save_model(
            model, folder / name, description=cards[name]["description"], metrics=metrics,
            references=refs, files={"card.md": cards[name]["card"],
                                    "reference.json": json.dumps(reference, indent=1) + "\n"},
        )  # fmt: skip
        refs[id(model)] = name  # a later model holding this one refers to it
        say(f"exported {name} to {folder / name}")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def add_member_arguments(parser) -> None:
    """``--members`` and ``--gpu`` (read back with :func:`members_of`)."""
    parser.add_argument(
        "--members", nargs="+", default=None, help=f"default: {' '.join(DEFAULT_MEMBERS)}"
    )
    parser.add_argument(
        "--gpu", action="store_true", help=f"the GPU recipe: members {' '.join(GPU_MEMBERS)}"
    )


def members_of(args) -> list[str]:
    """The members named by ``--members`` and ``--gpu`` (both: an error).

    Examples
    --------
    >>> from argparse import Namespace
    >>> members_of(Namespace(members=["b"], gpu=False))
    ['b']
    """
    from .ferplus import MEMBERS

    if args.members and args.gpu:
        raise SystemExit("give --members or --gpu, not both")
    if args.gpu and not _cuda():
        raise SystemExit(
            "--gpu: no CUDA device here (its members would take hours each on a CPU); "
            f"to train them anyway: --members {' '.join(GPU_MEMBERS)}"
        )
    members = list(args.members or (GPU_MEMBERS if args.gpu else DEFAULT_MEMBERS))
    unknown = [m for m in members if m not in MEMBERS]
    if unknown:
        raise SystemExit(f"unknown members {unknown}; known: {', '.join(MEMBERS)}")
    return members


def main(argv=None) -> int:
    """``python -m fersk.recipes.shipped``: train or resume, measure, export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FERSK_DATA", "~/fer-data"))
    parser.add_argument("--work", default="~/fer-data/work", help="checkpoints and caches")
    add_member_arguments(parser)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (all cores)")
    parser.add_argument("--out", default=str(Path(__file__).parents[1] / "models" / "shipped"))
    parser.add_argument("--results", default=None, help="also write the measurements here")
    args = parser.parse_args(argv)
    from .._core.threads import limited_threads

    data, work = Path(args.data).expanduser(), Path(args.work).expanduser()
    with limited_threads(args.threads) as n_jobs:
        results = run(data, work, members_of(args), Path(args.out), n_jobs=n_jobs)
    if args.results:
        Path(args.results).write_text(json.dumps(results, indent=1) + "\n")
    return 0


def run(data: Path, work: Path, members, out: Path, say=print, n_jobs: int = 1) -> dict:
    """Train, choose, calibrate, measure and export; returns the measurements.

    ``n_jobs``: processes for decoding images and finding landmarks.
    """
    from sklearn.frozen import FrozenEstimator

    from ..datasets import load_dataset, load_jaffe
    from .calibration import Remembered, fit_calibration, leave_one_person_out, person_faces
    from .cards import model_cards
    from .fer2013 import fer2013_models
    from .plain import (
        MAX_PLAIN_COST,
        choose_plain_share,
        fit_plain_head,
        plain_inputs,
        plain_out_of_fold,
    )
    from .posed import N_FOLDS, POSED_SHARE, fit_output_layer, layer_inputs, out_of_fold

    trained = train(data, work, members, n_jobs=n_jobs, say=say)
    chosen, valid = choose(trained["members"], trained["arrays"])
    say(f"FER+ valid: {valid}; shipping {chosen}")
    cnn = build_cnn([trained["members"][n] for n in chosen])
    faces = [person_faces(load_jaffe(data / "jaffe")), person_faces(load_dataset(data / "CK+48"))]
    X_train, y_train, soft_train, _ = trained["arrays"]["train"]
    inputs = layer_inputs(cnn, X_train, y_train, faces)
    posed = fit_output_layer(cnn, inputs, POSED_SHARE)
    answers = out_of_fold(cnn, inputs, POSED_SHARE)  # each face by a layer without its person
    say(f"cnn-ferplus-posed: output layer relearned, the posed faces weighing {POSED_SHARE}")
    X_val, y_val, _, classes = trained["arrays"]["val"]
    z_inputs = plain_inputs(cnn, X_train[:, 0], y_train, faces)
    share, by_share = choose_plain_share(cnn, z_inputs, X_val[:, 0], y_val)
    plain = {"share": share, "valid": by_share, "max_war_cost": MAX_PLAIN_COST, "n_folds": N_FOLDS}
    plain_answers = plain_out_of_fold(cnn, z_inputs, share)  # by a head without the person
    say(f"plain head: posed share {share} (FER+ valid by share: {by_share})")
    prior = soft_train.mean(axis=0)  # FER+'s vote shares, per class
    power, by_power = 0.0, {}  # a plain head learns the classes' biases itself
    if not share:
        power, by_power = choose_prior_power(
            cnn.predict_proba(X_val[:, 0]), y_val, classes, prior, max_war_cost=MAX_WAR_COST
        )
        say(f"class prior divided out to the power {power} (FER+ valid by power: {by_power})")
    calibrated = fit_calibration(
        cnn,
        faces,
        head=HEAD,
        C=HEAD_C,
        prior=[round(float(v), 6) for v in prior],
        prior_power=power,
        plain_head=FrozenEstimator(fit_plain_head(z_inputs, share)) if share else None,
    )
    int8 = int8_cnn(cnn, X_train)
    models = {"cnn-ferplus": cnn, "calibrated-ferplus": calibrated, "cnn-ferplus-int8": int8,
              "cnn-ferplus-posed": posed}  # fmt: skip
    best = max(chosen, key=lambda name: valid[name]["war"])  # the member to fine-tune
    fer2013 = fer2013_models(data, work, trained["members"][best], n_jobs=n_jobs, say=say)
    models.update(fer2013["models"])
    results = measure(models, data, trained["arrays"], fer2013["test"], say=say)
    for k, key in enumerate(["jaffe_photos", "ck48_photos"]):  # by person folds, not in-sample
        results["cnn-ferplus-posed"][key] = _folds_scores(
            faces[k], answers[k], classes, results["cnn-ferplus-posed"][key]
        )
        if share:  # the default's plain head learned from these people too
            results["calibrated-ferplus"][key] = _folds_scores(
                faces[k], plain_answers[k], classes, results["calibrated-ferplus"][key]
            )
    record = {"valid": valid, "chosen": chosen, "models": results, "calibration": {},
              "prior": {"power": power, "valid": by_power, "max_war_cost": MAX_WAR_COST},
              "posed": {"share": POSED_SHARE, "n_folds": N_FOLDS}, "plain": plain,
              "fer2013": fer2013["record"]}  # fmt: skip
    for key, (mine, other) in {"jaffe": faces, "ck48": faces[::-1]}.items():
        runs = leave_one_person_out(cnn, mine, extra=[other], head=HEAD, C=HEAD_C)
        record["calibration"][key] = {m: war_uar_percent(*runs[m]) for m in runs if "@" not in m}
    say(f"calibrated, leave one person out: {record['calibration']}")
    known = Remembered(posed, [*faces[0].crops, *faces[1].crops], np.vstack(answers))
    runs = leave_one_person_out(known, faces[0], extra=[faces[1]], head=HEAD, C=HEAD_C)
    jaffe = {m: war_uar_percent(*runs[m]) for m in ("mean", "neutral")}
    record["posed"]["calibrated jaffe"] = jaffe
    say(f"cnn-ferplus-posed calibrated, JAFFE: {record['posed']['calibrated jaffe']}")
    record["history"] = {name: epoch_table(net) for name, net in trained["members"].items()}
    export(models, results, out, model_cards(record), say=say)
    return record


if __name__ == "__main__":
    raise SystemExit(main())
