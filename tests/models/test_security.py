"""A model file is data: no code runs from a model folder, a stray file or a bare name.

Each test writes a hostile model folder the way an attacker would (the
integrity record recomputed, so only the format's own rules stand in the way)
and checks that loading refuses it with a message naming the folder, while
the gadget's side effect never happens.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk.models import DEFAULT_MODEL, ModelFileError, PickleWarning, load_model, save_model
from fersk.models.store import tree_digest

X = np.random.default_rng(0).normal(size=(30, 4))
Y = np.where(X[:, 0] > 0, "happiness", "sadness")


class Gadget:
    """Unpickling this runs ``touch``: the reproducer's payload."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def _rewrite(folder: Path, edit) -> None:
    """Edit model.json's tree in place and recompute its integrity record (as an attacker can)."""
    document = json.loads((folder / "model.json").read_text())
    edit(document)
    if isinstance(document, dict) and isinstance(document.get("model"), dict):
        document["integrity"]["model"] = tree_digest(document["model"])
    (folder / "model.json").write_text(json.dumps(document))


@pytest.fixture()
def saved(tmp_path):
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    return save_model(model, tmp_path / "model")


def _cnn_folder(tmp_path, small_models) -> Path:
    return save_model(small_models["cnn"], tmp_path / "cnn")


# --------------------------------------------------------------------------
# Classes by name: only the allow-list, each parameter its own list
# --------------------------------------------------------------------------

GADGET_CLASSES = [
    "os.system",
    "subprocess.Popen",
    "builtins.eval",
    "torch.save",
    "torch.multiprocessing.Process",
    "torch.utils.data.DataLoader",  # allowed as a CNN's loader type, never as an estimator
    "fersk.cnn.CompactCNN",  # a network, not an estimator
    "sklearn.utils.Bunch",
    "joblib.load",
]


@pytest.mark.parametrize("name", GADGET_CLASSES)
def test_an_estimator_node_naming_a_gadget_class_is_refused(saved, name, tmp_path):
    def edit(document):
        document["model"]["params"]["steps"]["__list__"][0]["__tuple__"][1] = {
            "__estimator__": {"class": name, "params": {"command": f"touch {tmp_path}/x"}}
        }

    _rewrite(saved, edit)
    with pytest.raises(ModelFileError, match="not a class a fersk model may hold"):
        load_model(saved)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "param, name",
    [
        ("module", "torch.multiprocessing.Process"),
        ("module", "torch.nn.CrossEntropyLoss"),  # allowed type, wrong parameter
        ("optimizer", "fersk.cnn.CompactCNN"),
        ("criterion", "torch.utils.data.DataLoader"),
        ("dataset", "torch.nn.NLLLoss"),
        ("module", "subprocess.Popen"),
    ],
)
def test_each_parameter_that_takes_a_class_has_its_own_list(param, name, small_models, tmp_path):
    folder = _cnn_folder(tmp_path, small_models)

    def edit(document):
        document["model"]["params"]["steps"]["__list__"][1]["__tuple__"][1]["__estimator__"][
            "params"
        ][param] = {"__type__": name}

    _rewrite(folder, edit)
    with pytest.raises(ModelFileError, match=f"{param}|{name}"):
        load_model(folder)


@pytest.mark.parametrize(
    "value",
    [
        {"__dataclass__": "fersk.TrainAugmentation", "fields": {"flip": {"__type__": "os.system"}}},
        {"__dataclass__": "pathlib.Path", "fields": {}},
        {"__dataclass__": "fersk.TrainAugmentation", "fields": {"__class__": 1}},
        {"__objects__": [{"__type__": "os.system"}]},
        {"__array__": [1, 2], "dtype": "O"},
        {"__unknown__": 1},
    ],
)
def test_values_are_data_only(saved, value):
    def edit(document):
        document["model"]["params"]["steps"]["__list__"][0]["__tuple__"][1]["__estimator__"][
            "params"
        ]["copy"] = value

    _rewrite(saved, edit)
    with pytest.raises(ModelFileError):
        load_model(saved)


def test_pinned_parameters_in_a_file_are_ignored(small_models, faces, tmp_path):
    """memory, checkpoint_dir, torch_load_kwargs, callbacks: a file never chooses them."""
    folder = _cnn_folder(tmp_path, small_models)
    hostile = {
        "checkpoint_dir": str(tmp_path / "ckpt"),
        "torch_load_kwargs": {"__dict__": {"weights_only": False}},
        "device": "cuda:7",
        "iterator_train__num_workers": 64,
        "iterator_valid__num_workers": 64,
    }

    def edit(document):
        steps = document["model"]["params"]["steps"]["__list__"]
        steps[0]["__tuple__"][1]["__estimator__"]["params"]["memory"] = str(tmp_path / "cache")
        steps[1]["__tuple__"][1]["__estimator__"]["params"].update(hostile)

    _rewrite(folder, edit)
    model = load_model(folder)
    assert model[0].memory is None
    assert model[1].checkpoint_dir is None and model[1].torch_load_kwargs is None
    assert str(model[1].device) == "cpu"
    params = model[1].get_params()
    assert "iterator_valid__num_workers" not in params  # a routed worker count: never read
    assert "iterator_train__num_workers" not in params
    model.predict(faces.data)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "ckpt").exists()


def test_fitted_state_cannot_overwrite_a_parameter_or_a_dunder(saved):
    for key in ("copy", "__class__", "__dict__"):

        def edit(document, key=key):
            step = document["model"]["params"]["steps"]["__list__"][0]["__tuple__"][1]
            step["__estimator__"]["state"][key] = 1

        _rewrite(saved, edit)
        with pytest.raises(ModelFileError, match="not allowed"):
            load_model(saved)
        _rewrite(saved, lambda d, key=key: d["model"]["params"]["steps"]["__list__"][0]
                 ["__tuple__"][1]["__estimator__"]["state"].pop(key))  # fmt: skip


# --------------------------------------------------------------------------
# Malformed files: one message naming the folder, never a traceback from deep inside
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[1, 2]", "holds a list"),
        ('{"format": 2}', "no model tree"),
        ("{", "not JSON"),
        ("[" * 50_000 + "]" * 50_000, "nested too deep|holds a list"),
        ('{"format": 99, "model": {}}', "newer fersk"),
    ],
)
def test_a_malformed_model_json_is_one_clear_error(saved, text, needle):
    (saved / "model.json").write_text(text)
    with pytest.raises(ModelFileError, match=needle) as info:
        load_model(saved)
    assert str(saved) in str(info.value)


def test_a_deeply_nested_value_is_refused(saved):
    deep = 1
    for _ in range(200):
        deep = {"__list__": [deep]}

    def edit(document):
        document["model"]["params"]["steps"]["__list__"][0]["__tuple__"][1]["__estimator__"][
            "params"
        ]["copy"] = deep

    _rewrite(saved, edit)
    with pytest.raises(ModelFileError, match="nested deeper"):
        load_model(saved)


def test_an_edited_tree_or_arrays_file_is_refused(saved, tmp_path):
    document = json.loads((saved / "model.json").read_text())
    document["model"]["params"]["steps"]["__list__"][1]["__tuple__"][1]["__estimator__"]["params"][
        "C"
    ] = 5.0  # edited, integrity not recomputed
    (saved / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="integrity record"):
        load_model(saved)


def test_references_resolve_to_shipped_models_only_and_never_in_a_circle(saved, tmp_path):
    sibling = save_model(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y),
                         tmp_path / DEFAULT_MODEL)  # fmt: skip
    assert sibling.is_dir()
    for ref, needle in [("model", "not a shipped model"), ("../model", "not a shipped model")]:
        _rewrite(saved, lambda d, ref=ref: d.__setitem__("model", {"ref": ref}))
        with pytest.raises(ModelFileError, match=needle):
            load_model(saved)
    # A shipped name resolves to the shipped model, not to the sibling folder of that name.
    _rewrite(saved, lambda d: d.__setitem__("model", {"ref": DEFAULT_MODEL}))
    assert len(load_model(saved).classes_) >= 7


# --------------------------------------------------------------------------
# Weights checked against the model before use, errors naming model and array
# --------------------------------------------------------------------------


def _edit_arrays(folder: Path, edit) -> None:
    with np.load(folder / "model.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    edit(arrays)
    np.savez(folder / "model.npz", **arrays)
    document = json.loads((folder / "model.json").read_text())
    import hashlib

    document["integrity"]["model.npz"] = hashlib.sha256(
        (folder / "model.npz").read_bytes()
    ).hexdigest()
    (folder / "model.json").write_text(json.dumps(document))


def _first_conv(arrays: dict) -> str:
    return next(k for k in sorted(arrays) if k.endswith("features.0.0.weight"))


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda a, k: a.__setitem__(k, np.full_like(a[k], np.nan)), "NaN or infinite"),
        (lambda a, k: a.__setitem__(k, np.full_like(a[k], np.inf)), "NaN or infinite"),
        (lambda a, k: a.__setitem__(k, a[k].astype(np.int8)), "int8"),
        (lambda a, k: a.__setitem__(k, a[k][:1]), "needs float32"),
        (lambda a, k: a.__setitem__(k, np.array(["x"] * 3)), "not numbers"),
        (lambda a, k: a.pop(k), "missing"),
    ],
)
def test_tampered_cnn_weights_are_refused_naming_the_array(change, needle, small_models, tmp_path):
    folder = _cnn_folder(tmp_path, small_models)
    _edit_arrays(folder, lambda arrays: change(arrays, _first_conv(arrays)))
    with pytest.raises(ModelFileError, match=needle) as info:
        load_model(folder)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda w: np.full_like(w, np.nan), "NaN or infinite"),
        (lambda w: w[:, :2], "does not follow"),
        (lambda w: w.astype(np.int8), "floats"),
    ],
)
def test_tampered_mlp_or_scaler_weights_are_refused(change, needle, small_models, tmp_path):
    folder = save_model(small_models["geometry"], tmp_path / "geometry")

    def edit(arrays):
        key = next(k for k in sorted(arrays) if "coefs_" in k)
        arrays[key] = change(arrays[key])

    _edit_arrays(folder, edit)
    with pytest.raises(ModelFileError, match=needle):
        load_model(folder)


# --------------------------------------------------------------------------
# Pickles: only an explicit .joblib / .pkl path, with a warning
# --------------------------------------------------------------------------


def test_a_pickle_named_like_a_shipped_model_in_the_working_folder_is_never_loaded(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    for name in (DEFAULT_MODEL, "cnn-fer2013"):
        with open(name, "wb") as fh:
            pickle.dump(Gadget(tmp_path / "pwned"), fh)
        model = load_model(name)  # the shipped model
        assert hasattr(model, "predict_proba")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["weights.npz", "photo.png", "model", "m.joblib.txt"])
def test_a_pickle_with_another_name_is_never_unpickled(name, tmp_path):
    path = tmp_path / name
    with open(path, "wb") as fh:
        pickle.dump(Gadget(tmp_path / "pwned"), fh)
    with pytest.raises(ValueError, match="not a fersk model folder|not a shipped model"):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


def test_an_explicit_joblib_file_loads_with_a_warning_about_trust(tmp_path):
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    joblib.dump(model, tmp_path / "m.joblib")
    with pytest.warns(PickleWarning, match="runs the code"):
        again = load_model(tmp_path / "m.joblib")
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_a_cache_entry_is_never_unpickled(tmp_path):
    """The landmark cache reads .npy with allow_pickle=False: a pickled entry is a miss."""
    from fersk._core.cache import FeatureCache

    cache = FeatureCache(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache.put("ns", "k" * 64, np.zeros(3))
        path = next(p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".npy")
        path.write_bytes(pickle.dumps(Gadget(tmp_path / "pwned")))
        assert cache.get("ns", "k" * 64) is None
    assert not (tmp_path / "pwned").exists()
