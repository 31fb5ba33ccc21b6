"""The shipped models, names and folders, and saves that never damage an earlier model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk.models import (
    DEFAULT_MODEL,
    MODELS_DIR,
    check_model_folder,
    list_models,
    load_model,
    model_card,
    reference_inputs,
    save_model,
)

SHIPPED = [m["name"] for m in list_models()]
X = np.random.default_rng(0).normal(size=(30, 4))
Y = np.where(X[:, 0] > 0, "happiness", "sadness")


def test_models_are_shipped_and_the_default_is_one_of_them():
    assert len(SHIPPED) >= 2 and DEFAULT_MODEL in SHIPPED
    assert all((MODELS_DIR / name / "card.md").is_file() for name in SHIPPED)
    assert model_card(DEFAULT_MODEL).startswith(f"# {DEFAULT_MODEL}")


def test_the_shipped_models_fit_the_packages_25_mb_budget():
    files = [f for f in MODELS_DIR.rglob("*") if f.is_file()]
    assert any(f.name == "model.npz" for f in files)
    assert sum(f.stat().st_size for f in files) <= 25 * 2**20


def _int8(model) -> bool:
    """Whether the model's CNN(s) run int8 convolutions."""
    head = model[-1] if hasattr(model, "steps") else model
    return any(getattr(net, "quantized_", False) for net in getattr(head, "estimators_", [head]))


#: int8 convolutions run on the CPU's own int8 kernels (AVX2, AVX-512, VNNI or AMX paths), whose
#: rounding differs between machines: 0.0018 seen between the AMD EPYC that recorded
#: ``cnn-ferplus-int8``'s predictions and an Intel Xeon with VNNI. Float models agree to 1e-4.
INT8_ATOL = 1e-2


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_reproduce_their_recorded_predictions(name):
    recorded = json.loads((MODELS_DIR / name / "reference.json").read_text())
    model = load_model(name)
    assert [str(c) for c in model.classes_] == recorded["classes"]
    proba, expected = model.predict_proba(reference_inputs()), np.array(recorded["predict_proba"])
    np.testing.assert_allclose(proba, expected, atol=INT8_ATOL if _int8(model) else 1e-4)
    assert proba.argmax(axis=1).tolist() == expected.argmax(axis=1).tolist()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_read_the_astronauts_smile(name):
    assert load_model(name).predict(reference_inputs()[:1]).tolist() == ["happiness"]


def test_a_model_loads_from_its_folder_or_its_model_json(tmp_path):
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    folder = save_model(model, tmp_path / "m", files={"card.md": "# m\n"})
    for where in (folder, folder / "model.json", str(folder)):
        np.testing.assert_array_equal(load_model(where).predict(X), model.predict(X))
    assert model_card(folder) == "# m\n"


def test_unknown_names_and_folders_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no fersk model 'nope'.*does not exist"):
        load_model("nope")
    with pytest.raises(ValueError, match="folder without model.json"):
        load_model(tmp_path)


def test_saving_over_a_model_replaces_it_whole_and_refuses_other_folders(tmp_path):
    first = make_pipeline(StandardScaler(), LogisticRegression(C=0.01)).fit(X, Y)
    second = make_pipeline(StandardScaler(), LogisticRegression(C=100)).fit(X, Y)
    folder = save_model(first, tmp_path / "m", files={"card.md": "first"})
    save_model(second, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.npz"]
    np.testing.assert_allclose(load_model(folder).predict_proba(X), second.predict_proba(X))
    other = tmp_path / "photos"
    other.mkdir()
    (other / "keep.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a fersk model folder"):
        save_model(second, other)
    assert (other / "keep.jpg").read_bytes() == b"x"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


@pytest.mark.bad_input("save-over-a-model-beside-user-files")
def test_saving_over_a_model_never_deletes_other_files_beside_it(tmp_path):
    first = make_pipeline(StandardScaler(), LogisticRegression(C=0.01)).fit(X, Y)
    folder = save_model(first, tmp_path / "m", files={"card.md": "first"})
    (folder / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match=r"other files \(notes.txt\).*move them"):
        save_model(first, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    (folder / "notes.txt").unlink()
    (folder / "card.md").unlink()
    (folder / "card.md").mkdir()  # a folder under a model file's name is not a model file
    (folder / "card.md" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"other files \(card.md\)"):
        save_model(first, folder)
    with pytest.raises(ValueError, match="other files"):
        check_model_folder(folder)
    assert (folder / "card.md" / "keep.txt").read_text() == "mine"


@pytest.mark.bad_input("save-over-a-model-beside-user-files")
def test_a_folder_named_model_json_or_a_symbolic_link_is_refused_before_any_work(tmp_path):
    first = make_pipeline(StandardScaler(), LogisticRegression(C=0.01)).fit(X, Y)
    fake = tmp_path / "fake"
    (fake / "model.json").mkdir(parents=True)
    (fake / "model.json" / "keep.txt").write_text("mine")
    real = save_model(first, tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for target, needle in [(fake, "not a fersk model folder"), (tmp_path / "link", "symbolic"),
                           (tmp_path / "dangling", "symbolic")]:  # fmt: skip
        with pytest.raises(ValueError, match=needle):
            check_model_folder(target)  # what `fersk train` asks before training
        with pytest.raises(ValueError, match=needle):
            save_model(first, target)
    assert (fake / "model.json" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "link").resolve() == real.resolve() and (real / "model.json").is_file()


def test_a_save_that_fails_midway_leaves_the_earlier_model(tmp_path, monkeypatch):
    first = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    folder = save_model(first, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def fail(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM while the arrays are written

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(KeyboardInterrupt):
        save_model(first, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_killing_a_save_at_any_moment_never_damages_the_model(tmp_path):
    """A child saves two models alternately into one folder; SIGKILL it at random moments."""
    script = textwrap.dedent(
        f"""
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from fersk.models import save_model
        X = np.random.default_rng(0).normal(size=(30, 4))
        y = np.where(X[:, 0] > 0, "a", "b")
        models = [LogisticRegression(C=c).fit(X, y) for c in (0.01, 100.0)]
        save_model(models[0], {str(tmp_path / "m")!r})
        print("ready", flush=True)
        i = 0
        while True:
            save_model(models[i % 2], {str(tmp_path / "m")!r})
            i += 1
        """
    )
    choices = [LogisticRegression(C=c).fit(X, np.where(X[:, 0] > 0, "a", "b")) for c in (0.01, 100)]
    rng = np.random.default_rng(0)
    for _ in range(4):
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.4)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        proba = load_model(tmp_path / "m").predict_proba(X)
        assert any(np.allclose(proba, m.predict_proba(X)) for m in choices)
