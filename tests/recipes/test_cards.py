"""fersk.recipes.cards: the model cards are written from a training record -- every test set's
numbers, every class's recall -- and a card names the dlib licence exactly where its model
uses dlib's landmarks."""

from __future__ import annotations

import pytest

from fersk import LandmarkExtractor
from fersk._core.pipeline_tools import find_steps
from fersk.models import list_models, load_model, model_card
from fersk.recipes.cards import PEER, SETS, model_cards

CLASSES = ["anger", "happiness", "contempt"]


def _results(offset: float) -> dict:
    """Made-up results: every number different, contempt missing from the last set."""
    results = {}
    for k, key in enumerate(SETS):
        recall = {c: offset + 10 * k + j + 0.25 for j, c in enumerate(CLASSES)}
        if k == len(SETS) - 1:
            del recall["contempt"]
        base = offset + 10 * k
        results[key] = {"war": base + 1.04, "uar": base + 2.06, "ece": base + 3.01,
                        "faces_not_found": k, "recall": recall}  # fmt: skip
    return results


RECORD = {
    "models": {
        "cnn-ferplus": _results(40.0),
        "calibrated-ferplus": _results(20.0),
        "cnn-ferplus-int8": _results(39.5),
    },
    "chosen": ["a", "b"],
    "history": {"a": [{"dur": 60.0}, {"dur": 130.0}], "b": [{"dur": 3000.0}]},
    "valid": {
        "a": {"war": 81.25, "uar": 70.9},
        "b": {"war": 80.0, "uar": 69.0},
        "a+b": {"war": 81.3, "uar": 71.0},
    },  # fmt: skip
    "calibration": {
        "jaffe": {
            m: {"war": w, "uar": w - 5}
            for m, w in [
                ("raw", 40.0),
                ("mean", 55.5),
                ("mean, faces grouped", 50.1),
                ("neutral", 61.2),
            ]
        },  # fmt: skip
        "ck48": {"raw": {"war": 70.0, "uar": 60.0}},
    },
}


def _row(label: str, r: dict, peer: tuple) -> str:
    peer = " / ".join("-" if v is None else f"{v:.1f}" for v in peer)
    return (f"| {label} | {r['war']:.1f} | {r['uar']:.1f} | {r['ece']:.1f} | "
            f"{r['faces_not_found']} | {peer} |")  # fmt: skip


def test_every_sets_numbers_appear_in_both_cards():
    cards = model_cards(RECORD)
    assert sorted(cards) == ["calibrated-ferplus", "cnn-ferplus", "cnn-ferplus-int8"]
    for name in cards:
        card = cards[name]["card"]
        assert card.startswith(f"# {name}\n")
        for key, label in SETS.items():
            assert _row(label, RECORD["models"][name][key], PEER[key]) in card, (name, key)
    k = list(SETS).index("jaffe_photos")  # the offset-40 results: 40 + 10 k + 1.04 and + 2.06
    war, uar = 40 + 10 * k + 1.04, 40 + 10 * k + 2.06
    assert (
        f"| JAFFE through `fersk predict`, 7 classes (213 photos) | {war:.1f} | {uar:.1f} |"
        in (cards["cnn-ferplus"]["card"])
    )


def test_the_posed_card_gives_its_gain_person_folds_and_the_calibration_it_loses():
    record = {**RECORD, "models": {**RECORD["models"], "cnn-ferplus-posed": _results(43.0)},
              "posed": {"share": 0.25, "n_folds": 5, "calibrated jaffe": {"mean": {"war": 47.25},
                                                           "neutral": {"war": 49.75}}}}  # fmt: skip
    results = record["models"]["cnn-ferplus-posed"]
    for key, n in (("ck48_photos", 981), ("jaffe_photos", 213)):
        results[key] = {**results[key], "person_folds": True, "n": n}
    cards = model_cards(record)
    assert "cnn-ferplus-posed" not in model_cards(RECORD)
    card = cards["cnn-ferplus-posed"]["card"]
    assert card.startswith("# cnn-ferplus-posed\n") and "weighing 0.25 of the whole" in card
    assert "1,194 posed faces" in card
    for label in SETS.values():
        assert f"{label.split(',')[0].split(' through')[0]} +3.0" in card
    for key, label in SETS.items():
        folds = ", by person folds" if key in ("ck48_photos", "jaffe_photos") else ""
        assert _row(label + folds, results[key], PEER[key]) in card, key
    assert "49.8% against 61.2%" in card and "47.2% against 55.5%" in card


def test_the_int8_card_gives_its_cost_against_the_float_model_on_every_set():
    card = model_cards(RECORD)["cnn-ferplus-int8"]["card"]
    for label in SETS.values():
        assert f"{label.split(',')[0]} -0.50" in card
    assert "quantize_static" in card


def test_the_cnn_card_gives_each_classs_recall_per_set_and_says_what_is_absent():
    card = model_cards(RECORD)["cnn-ferplus"]["card"]
    for c, j in zip(CLASSES, range(3)):
        cells = [f"{40 + 10 * k + j + 0.25:.1f}" for k in range(len(SETS))]
        if c == "contempt":
            cells[-1] = "(absent)"
        assert f"| {c} | " + " | ".join(cells) + " |" in card
    header = "| class | " + " | ".join(label.split(",")[0] for label in SETS.values()) + " |"
    assert header in card


def test_the_cnn_card_describes_the_chosen_members_and_their_training():
    cards = model_cards(RECORD)
    assert cards["cnn-ferplus"]["description"].startswith(
        "CNN on FER+ vote distributions: a soft vote of 2 CompactCNNs (a, b)"
    )
    card = cards["cnn-ferplus"]["card"]
    assert (
        "Training: member a: 2 one-cycle epochs in 3 minutes on the CPU, peak learning rate "
        "0.002, weight decay 0.0005, batch 64; member b: 1 one-cycle epochs in 50 minutes on "
        "the CPU, peak learning rate 0.002, weight decay 0.0005, batch 64, mixup 0.2 (AdamW;"
    ) in card
    gpu = {**RECORD, "chosen": ["gpu-a"], "history": {"gpu-a": [{"dur": 120.0}]}}
    assert (
        "member gpu-a: 1 one-cycle epochs in 2 minutes on a GPU, peak learning rate 0.003, "
        "weight decay 0.0005, batch 128 (AdamW;"
    ) in model_cards(gpu)["cnn-ferplus"]["card"]
    assert "FER+ valid\nWAR / UAR a 81.2 / 70.9, b 80.0 / 69.0, a+b 81.3 / 71.0." in card
    one = model_cards({**RECORD, "chosen": ["b"]})["cnn-ferplus"]["description"]
    assert "one CompactCNN (member b)" in one


def test_the_calibrated_card_gives_each_calibration_and_a_dash_where_none_was_measured():
    card = model_cards(RECORD)["calibrated-ferplus"]["card"]
    assert "| JAFFE (10 people) | 40.0 / 35.0 | 55.5 / 50.5 | 50.1 / 45.1 | 61.2 / 56.2 |" in card
    assert "| CK+48 (118 people) | 70.0 / 60.0 | - | - | - |" in card
    no_record = model_cards({k: v for k, v in RECORD.items() if k != "calibration"})
    assert "| JAFFE (10 people) | - | - | - | - |" in no_record["calibrated-ferplus"]["card"]


@pytest.mark.parametrize("name", [m["name"] for m in list_models()])
def test_a_shipped_card_names_the_dlib_licence_exactly_where_its_model_uses_dlib(name):
    uses_dlib = any(
        step.backend == "dlib" for step in find_steps(load_model(name), LandmarkExtractor)
    )
    card = model_card(name)
    assert ("iBUG" in card) == uses_dlib  # dlib's predictor was trained on iBUG 300-W
    assert ("excludes commercial use" in card) == uses_dlib


def test_the_calibrated_card_says_how_uncalibrated_rows_are_adjusted():
    plain = model_cards(RECORD)["calibrated-ferplus"]["card"]
    assert "Without person ids it answers exactly as `cnn-ferplus`.\n" in plain  # no record
    valid = {"0.0": {"war": 87.1, "uar": 65.7}, "0.5": {"war": 85.8, "uar": 74.8}}
    costly = {"power": 0.0, "max_war_cost": 0.0, "valid": valid}
    unadjusted = model_cards({**RECORD, "prior": costly})["calibrated-ferplus"]["card"]
    assert "answers exactly as `cnn-ferplus`" in unadjusted and "at most 0 points" in unadjusted
    assert "0.5: 85.8 / 74.8" in unadjusted and "set_params(prior_power=0.5)" in unadjusted
    prior = {"power": 0.5, "max_war_cost": 1.5, "valid": valid}
    card = model_cards({**RECORD, "prior": prior})["calibrated-ferplus"]["card"]
    assert "divided out to the power 0.5" in card and "at most 1.5 points" in card
    assert "0.5: 85.8 / 74.8" in card
    valid = {0.0: {"war": 87.06, "uar": 65.7}, 0.1: {"war": 87.02, "uar": 70.7}}
    plain = {"share": 0.1, "valid": valid, "max_war_cost": 0.1, "n_folds": 5}
    headed = model_cards({**RECORD, "plain": plain, "prior": {"power": 0.0}})
    card = headed["calibrated-ferplus"]["card"]
    assert "weighing 0.1 of the whole" in card and "within 0.1 point" in card
    assert "0: 87.1 / 65.7, 0.1: 87.0 / 70.7" in card and "5 folds of people" in card
    assert "answers exactly as" not in card
    no_head = model_cards({**RECORD, "plain": {**plain, "share": 0.0}})["calibrated-ferplus"]
    assert "plain head" not in no_head["card"]


def test_the_fer2013_cards_say_what_was_chosen_on_public_test_and_what_they_measure():
    fer = {
        "public_test": {"cnn-fer2013 scratch": 66.04, "cnn-fer2013 fine-tuned": 65.51,
                        "cnn-fer2013 scratch+fine-tuned": 67.42, "landmarks-fer2013": 41.2,
                        "n": 3589},
        "chosen": ["scratch", "fine-tuned"],
        "views": {"True": 67.42, "crops": 68.01},
        "tta": "crops",
        "fine_tune": {"epochs": 12, "lr": 1e-3, "label_smoothing": 0.1},
        "history": {"scratch": [{}] * 50, "fine-tuned": [{}] * 12},
    }  # fmt: skip
    models = {**RECORD["models"], "cnn-fer2013": _results(60.0), "landmarks-fer2013": _results(1)}
    cards = model_cards({**RECORD, "models": models, "fer2013": fer})
    cnn, landmarks = cards["cnn-fer2013"]["card"], cards["landmarks-fer2013"]["card"]
    assert "scratch 66.0, fine-tuned 65.5, soft vote 67.4; shipped: scratch and fine-tuned" in cnn
    assert "its mirror 67.4, 12 crops (`tta='crops'`) 68.0; shipped: 12 crops" in cnn
    assert cards["cnn-fer2013"]["description"].endswith("48 px gray, 12-crop-averaged")
    assert "(50 one-cycle epochs" in cnn and "(12 epochs, peak learning rate 0.001" in cnn
    for key in ("fer2013_test", "fer2013_private"):
        assert _row(SETS[key], models["cnn-fer2013"][key], PEER[key]) in cnn
    assert "PublicTest WAR: 41.2." in landmarks and "PublicTest images\n(3,589;" in landmarks
    assert "iBUG" in landmarks and "iBUG" not in cnn
    plain = {**fer, "views": {"True": 68.0, "crops": 68.0}, "tta": True}
    mirror = model_cards({**RECORD, "models": models, "fer2013": plain})
    assert mirror["cnn-fer2013"]["description"].endswith("mirror-averaged")
    assert "cnn-fer2013" not in model_cards({**RECORD, "models": models})  # no record of it


def test_the_shipped_cards_are_what_the_recipe_writes_from_the_recorded_measurements():
    """A change to the cards' code, or to the record, without regenerating the cards fails."""
    import json
    from pathlib import Path

    from fersk.models import MODELS_DIR

    results = Path(__file__).parents[2] / "benchmarks" / "results" / "shipped_models.json"
    record = json.loads(results.read_text())["results"]
    cards = model_cards(record)
    assert set(cards) == {m["name"] for m in list_models()}
    for name, card in cards.items():
        assert (MODELS_DIR / name / "card.md").read_text() == card["card"], name
