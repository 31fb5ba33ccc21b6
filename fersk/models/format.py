"""Saving fitted fersk models as arrays plus a JSON description, and rebuilding them.

A pickle of a fitted pipeline ties a model to the exact versions of
scikit-learn, skorch and torch that wrote it. fersk's shipped models are
stored instead as

* ``model.json``: the estimator tree -- each estimator's class, its
  constructor parameters (plain JSON) and, for every fitted array, its key;
* ``model.npz``: the fitted arrays (an MLP's weights, a scaler's means, a
  network's state dict), nothing else.

:func:`load_estimator` rebuilds the estimator from its parameters, lets the
installed library build its own internal state by fitting on a few dummy
samples of the right shape, then puts the stored arrays in place: only the
public fitted attributes a class documents (``coefs_``, ``mean_``,
``statistics_``...) are written, so a library upgrade that renames its
internals does not break the model. A type without an adapter below is
refused when saving, with its name.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["FORMAT_VERSION", "dump_estimator", "load_estimator", "save_model_files"]

#: Bump when the JSON layout changes incompatibly.
FORMAT_VERSION = 1

_ALLOWED_MODULES = ("fersk.", "sklearn.", "torch.", "skorch.")


# --------------------------------------------------------------------------
# Parameters: JSON values, with classes and small dataclasses by name
# --------------------------------------------------------------------------


def _qualname(obj) -> str:
    """The shortest public import path of a class (``sklearn.neural_network.MLPClassifier``,
    not its private ``_multilayer_perceptron`` module, which may move)."""
    parts = obj.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = ".".join(parts[:end])
        if any(part.startswith("_") for part in parts[1:end]):
            break
        try:
            if getattr(importlib.import_module(module), obj.__qualname__, None) is obj:
                return f"{module}.{obj.__qualname__}"
        except ImportError:
            continue
    return f"{obj.__module__}.{obj.__qualname__}"


def _resolve(name: str):
    if not name.startswith(_ALLOWED_MODULES):
        raise ValueError(f"refusing to import {name!r}: not a fersk, sklearn, skorch or torch name")
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        # torch.optim.adamw.AdamW is also torch.optim.AdamW, etc.: try the parent
        parent, _, sub = module.rpartition(".")
        return getattr(importlib.import_module(parent), attr)


def encode_value(value):
    """A constructor parameter as JSON (classes and dataclasses by name)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return {
            "__tuple__" if isinstance(value, tuple) else "__list__": [
                encode_value(v) for v in value
            ]
        }
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"__items__": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
        return {"__dict__": {k: encode_value(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, type):
        return {"__type__": _qualname(value)}
    if dataclasses.is_dataclass(value):
        fields = {f.name: encode_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__dataclass__": _qualname(type(value)), "fields": fields}
    raise TypeError(f"cannot store a parameter of type {type(value).__name__}: {value!r}")


def decode_value(value):
    """The inverse of :func:`encode_value`."""
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(decode_value(v) for v in value["__tuple__"])
    if "__list__" in value:
        return [decode_value(v) for v in value["__list__"]]
    if "__dict__" in value:
        return {k: decode_value(v) for k, v in value["__dict__"].items()}
    if "__items__" in value:
        return {decode_value(k): decode_value(v) for k, v in value["__items__"]}
    if "__array__" in value:
        return np.asarray(value["__array__"], dtype=value["dtype"])
    if "__type__" in value:
        cls = _resolve(value["__type__"])
        if not isinstance(cls, type):  # a class (a network, an optimizer), never a function
            raise ValueError(f"refusing {value['__type__']!r}: not a class")
        return cls
    if "__dataclass__" in value:
        cls = _resolve(value["__dataclass__"])
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"refusing {value['__dataclass__']!r}: not a dataclass")
        fields = {k: decode_value(v) for k, v in value["fields"].items()}
        return cls(**fields)
    raise ValueError(f"unknown encoded value {value!r}")


# --------------------------------------------------------------------------
# Adapters: what each supported class stores, and how it is rebuilt
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Adapter:
    """How one class is saved (its fitted arrays) and rebuilt (a dummy fit, then the arrays)."""

    arrays: Callable  # estimator -> {name: ndarray}
    restore: Callable  # (estimator, arrays, info) -> estimator
    info: Callable = lambda est: {}  # estimator -> JSON facts the restore needs


def _dummy_X(n_features: int, n_samples: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n_samples, n_features))


def _set(est, arrays: dict, names) -> None:
    for name in names:
        setattr(est, name, arrays[name])


def _plain(names, refuse=None):
    """Adapter of a transformer: fit on dummy rows, then set ``names``.

    ``refuse(est)`` names a setting whose fitted state these arrays do not
    hold (so saving it would not restore it), or returns None.
    """

    def arrays(est):
        problem = refuse(est) if refuse else None
        values = {n: getattr(est, n) for n in names}
        missing = [n for n, v in values.items() if v is None]
        if problem or missing:
            raise TypeError(
                f"cannot store this {type(est).__name__}: "
                + (problem or f"{', '.join(missing)} is None with these settings")
            )
        return {n: np.asarray(v) for n, v in values.items()}

    def restore(est, arrays, info):
        est.fit(_dummy_X(info["n_features_in"]))
        _set(est, arrays, names)
        return est

    return _Adapter(
        arrays=arrays,
        restore=restore,
        info=lambda est: {"n_features_in": int(est.n_features_in_)},
    )


def _stateless():
    return _Adapter(arrays=lambda est: {}, restore=lambda est, arrays, info: est)


def _mlp():
    def arrays(est):
        out = {f"coefs_{i}": w for i, w in enumerate(est.coefs_)}
        out.update({f"intercepts_{i}": b for i, b in enumerate(est.intercepts_)})
        return out

    def restore(est, arrays, info):
        classes = np.asarray(info["classes"], dtype=info["classes_dtype"])
        params = est.get_params()
        # The library builds its own internal state (label binarizer, layers) on a
        # tiny fit; then the stored weights replace the dummy ones.
        est.set_params(max_iter=1, early_stopping=False, solver="sgd")
        X = _dummy_X(info["n_features_in"], len(classes))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, classes)
        est.set_params(**{k: params[k] for k in ("max_iter", "early_stopping", "solver")})
        n = info["n_layers"] - 1
        est.coefs_ = [arrays[f"coefs_{i}"] for i in range(n)]
        est.intercepts_ = [arrays[f"intercepts_{i}"] for i in range(n)]
        return est

    return _Adapter(
        arrays=arrays,
        restore=restore,
        info=lambda est: {
            "n_features_in": int(est.n_features_in_),
            "n_layers": int(est.n_layers_),
            "classes": est.classes_.tolist(),
            "classes_dtype": est.classes_.dtype.str,
        },
    )


def _subject_id(value):
    """A subject id as JSON (strings and integers keep their type); others are refused."""
    if isinstance(value, (str, int, np.integer)) and not isinstance(value, bool):
        return encode_value(value)
    raise TypeError(f"cannot store the subject id {value!r}: use strings or integers")


def _subject_neutralizer():
    names = ["population_baseline_", "population_scale_", "baselines_", "scales_", "counts_"]

    def restore(est, arrays, info):
        y = [est.neutral_label] * 2 if est.baseline == "neutral" else None
        fitter = est.set_params(missing_groups="population")
        original = info["missing_groups"]
        fitter.fit(_dummy_X(info["n_features_in"]), y)
        est.set_params(missing_groups=original)
        _set(est, arrays, names)
        est.subjects_ = np.array([decode_value(s) for s in info["subjects"]], dtype=object)
        return est

    return _Adapter(
        arrays=lambda est: {n: np.asarray(getattr(est, n)) for n in names},
        restore=restore,
        info=lambda est: {
            "n_features_in": int(est.n_features_in_),
            "subjects": [_subject_id(s) for s in est.subjects_],
            "missing_groups": est.missing_groups,
        },
    )


def _clarity_binner():
    def restore(est, arrays, info):
        est.bin_edges_ = arrays["bin_edges_"]
        return est

    return _Adapter(arrays=lambda est: {"bin_edges_": est.bin_edges_}, restore=restore)


def _cnn():
    def arrays(est):
        state = est.module_.state_dict()
        return {f"state_dict/{k}": v.detach().cpu().numpy() for k, v in state.items()}

    def restore(est, arrays, info):
        import torch

        from ..cnn import _auto_device

        est.label_classes_ = np.asarray(info["classes"], dtype=info["classes_dtype"])
        est.input_shape_ = tuple(info["input_shape"])
        est.module_shape_ = dict(info["module_shape"])
        if str(est.device).startswith("cuda"):  # "auto" is resolved by initialize()
            est.device = _auto_device()
        est.initialize()
        prefix = "state_dict/"
        state = {k[len(prefix) :]: torch.from_numpy(v) for k, v in arrays.items()}
        est.module_.load_state_dict(state)
        est.module_.eval()
        est.versions_ = dict(info.get("versions", {}))
        return est

    return _Adapter(
        arrays=arrays,
        restore=restore,
        info=lambda est: {
            "classes": est.classes_.tolist(),
            "classes_dtype": est.classes_.dtype.str,
            "input_shape": list(est.input_shape_),
            "module_shape": dict(est.module_shape_),
            "versions": dict(getattr(est, "versions_", {})),
        },
    )


def _adapters() -> dict:
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from ..clarity import ClarityBinner
    from ..geometry import PairwiseDistance
    from ..landmarks import LandmarkExtractor
    from ..preprocess import CNNPreprocessor
    from ..subject import SubjectNeutralizer

    table = {
        LandmarkExtractor: _stateless(),
        CNNPreprocessor: _Adapter(
            arrays=lambda est: {},
            restore=lambda est, arrays, info: est.fit(),
        ),
        PairwiseDistance: _plain([]),
        SimpleImputer: _plain(
            ["statistics_"],
            refuse=lambda est: "add_indicator=True is not stored" if est.add_indicator else None,
        ),
        StandardScaler: _plain(["mean_", "scale_", "var_", "n_samples_seen_"]),
        MLPClassifier: _mlp(),
        SubjectNeutralizer: _subject_neutralizer(),
        ClarityBinner: _clarity_binner(),
    }
    try:
        from ..cnn import CNNClassifier

        table[CNNClassifier] = _cnn()
    except ImportError:  # pragma: no cover - torch missing
        pass
    return table


# --------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------


def dump_estimator(est, arrays: dict, path: str = "model", references: dict | None = None) -> dict:
    """The JSON description of a fitted estimator; its arrays are added to ``arrays``.

    Supported: ``Pipeline``, soft-voting ``VotingClassifier`` and the
    estimators with an adapter (fersk's image steps, ``PairwiseDistance``,
    ``SubjectNeutralizer``, ``ClarityBinner``, ``CNNClassifier``;
    scikit-learn's ``SimpleImputer``, ``StandardScaler``, ``MLPClassifier``).

    ``references`` maps ``id(estimator)`` to the name of a model saved on
    its own: that estimator is stored as ``{"ref": name}`` (a fusion does not
    repeat its members' weights).

    Parameters
    ----------
    est : fitted estimator
        The model, or a part of it (the function recurses into pipelines,
        voting members and nested estimator parameters).
    arrays : dict
        Updated in place with ``{key: ndarray}`` for every fitted array: what
        ``model.npz`` stores.
    path : str, default="model"
        Prefix of the keys of ``est``'s arrays (``<path>/<attribute>``; a
        nested estimator's path adds ``.<name>``).
    references : dict or None, default=None
        ``{id(estimator): model name}``: estimators stored as references.

    Returns
    -------
    dict
        The estimator's description, JSON-serialisable: its class, its
        constructor parameters, the keys of its arrays in ``arrays`` and the
        facts its rebuild needs (or ``{"ref": name}``; pipelines and voting
        classifiers hold their members' descriptions).

    Raises
    ------
    TypeError
        For an estimator without an adapter, naming it.

    See Also
    --------
    fersk.models.format.load_estimator : Rebuild the estimator from the description.
    fersk.models.save_model : Write a model's description and arrays to a folder.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> arrays = {}
    >>> node = dump_estimator(StandardScaler().fit([[0.0], [2.0]]), arrays)
    >>> node["class"]
    'sklearn.preprocessing.StandardScaler'
    >>> sorted(arrays)
    ['model/mean_', 'model/n_samples_seen_', 'model/scale_', 'model/var_']
    """
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    references = references or {}
    if id(est) in references:
        return {"ref": references[id(est)]}

    if isinstance(est, Pipeline):
        return {
            "class": _qualname(Pipeline),
            "steps": [
                [name, dump_estimator(step, arrays, f"{path}.{name}", references)]
                for name, step in est.steps
            ],
        }
    if isinstance(est, VotingClassifier):
        if est.voting != "soft":
            raise TypeError("only soft-voting VotingClassifier models can be stored")
        if len(est.estimators_) != len(est.estimators):
            raise TypeError("cannot store a VotingClassifier with dropped members")
        return {
            "class": _qualname(VotingClassifier),
            "weights": encode_value(est.weights),
            "classes": est.classes_.tolist(),
            "classes_dtype": est.classes_.dtype.str,
            "estimators": [
                [name, dump_estimator(member, arrays, f"{path}.{name}", references)]
                for (name, _), member in zip(est.estimators, est.estimators_)
            ],
        }
    adapter = _adapters().get(type(est))
    if adapter is None:
        raise TypeError(
            f"cannot store a {type(est).__name__} as arrays + JSON (supported: Pipeline, "
            "soft VotingClassifier and fersk's steps, SimpleImputer, StandardScaler, "
            "MLPClassifier); use joblib.dump for other models"
        )
    given = {k: v for k, v in est.get_params(deep=False).items() if not k.startswith("_")}
    params = {
        k: encode_value(v)
        for k, v in given.items()
        if not hasattr(v, "get_params") or isinstance(v, type)
    }
    nested = {k: v for k, v in given.items() if hasattr(v, "get_params")}
    for key, value in nested.items():
        if not isinstance(value, type):
            params[key] = {
                "__estimator__": dump_estimator(value, arrays, f"{path}.{key}", references)
            }
    keys = {}
    for name, value in adapter.arrays(est).items():
        key = f"{path}/{name}"
        arrays[key] = np.asarray(value)
        keys[name] = key
    return {
        "class": _qualname(type(est)),
        "params": params,
        "arrays": keys,
        "info": adapter.info(est),
    }


def load_estimator(node: dict, arrays, resolve_ref: Callable | None = None):
    """Rebuild a fitted estimator from :func:`dump_estimator`'s description and arrays.

    ``resolve_ref(name)`` loads a model stored by reference (see ``references``).

    Parameters
    ----------
    node : dict
        A description from :func:`dump_estimator` (as read back from
        ``model.json``).
    arrays : mapping of str to ndarray
        The arrays its keys name (``dump_estimator``'s ``arrays``, or the
        loaded ``model.npz``).
    resolve_ref : callable or None, default=None
        ``resolve_ref(name)`` returns the fitted model saved under ``name``;
        needed only when the description holds references.

    Returns
    -------
    estimator
        The fitted estimator, of the installed scikit-learn, skorch and torch.

    Raises
    ------
    ValueError
        A class that is not a fersk, scikit-learn, skorch or torch type this
        format stores, or a reference without ``resolve_ref``.

    See Also
    --------
    fersk.models.format.dump_estimator : The description and arrays this function reads.
    fersk.models.load_model : Load a saved model's folder.

    Examples
    --------
    >>> import json
    >>> from sklearn.preprocessing import StandardScaler
    >>> arrays = {}
    >>> node = json.loads(json.dumps(dump_estimator(StandardScaler().fit([[0.0], [2.0]]), arrays)))
    >>> load_estimator(node, arrays).transform([[4.0]])  # mean 1, scale 1
    array([[3.]])
    """
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    if "ref" in node:
        if resolve_ref is None:
            raise ValueError(f"the model refers to the model {node['ref']!r}: give resolve_ref")
        return resolve_ref(node["ref"])
    cls = _resolve(node["class"])
    if cls is Pipeline:
        return Pipeline(
            [(name, load_estimator(child, arrays, resolve_ref)) for name, child in node["steps"]]
        )
    if cls is VotingClassifier:
        from ..fusion import combine_fitted

        members = [
            (name, load_estimator(child, arrays, resolve_ref)) for name, child in node["estimators"]
        ]
        return combine_fitted(members, weights=decode_value(node["weights"]))
    adapter = _adapters().get(cls)
    if adapter is None:  # never call a class (or function) the format does not know
        raise ValueError(f"refusing to build {node['class']!r}: not a type fersk stores")
    params = {}
    for key, value in node["params"].items():
        if isinstance(value, dict) and "__estimator__" in value:
            params[key] = load_estimator(value["__estimator__"], arrays, resolve_ref)
        else:
            params[key] = decode_value(value)
    est = cls(**params)
    stored = {name: arrays[key] for name, key in node["arrays"].items()}
    return adapter.restore(est, stored, node.get("info", {}))


def save_model_files(
    model,
    folder: str | os.PathLike,
    metadata: dict | None = None,
    references: dict | None = None,
) -> Path:
    """Write ``model.json`` and ``model.npz`` for a fitted model into ``folder``.

    Returns
    -------
    Path
        The folder.
    """
    from ..io import AtomicOutput

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict = {}
    tree = dump_estimator(model, arrays, references=references)
    # The arrays first, then the description naming their hash: a save interrupted
    # between the two leaves a pair that load_model refuses, never a mixed model.
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    with AtomicOutput(folder / "model.npz") as tmp:
        Path(tmp).write_bytes(data)
    document = {"format": FORMAT_VERSION, "arrays_sha256": digest(data), "model": tree}
    document.update(metadata or {})
    with AtomicOutput(folder / "model.json") as tmp:
        Path(tmp).write_text(json.dumps(document, indent=1) + "\n")
    return folder


def digest(data: bytes) -> str:
    """SHA-256 of the arrays file's bytes (hex)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()
