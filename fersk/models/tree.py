"""A fitted estimator as a JSON tree plus named arrays, and back.

Each node is ``{"class": <allow-listed name>, "params": {...}, "state": {...}}``
(or ``{"ref": <shipped model name>}``). ``params`` are the constructor
parameters (nested estimators as nodes; the :data:`~fersk.models.allowlist.PINNED`
ones left out), ``state`` the fitted attributes as data. Rebuilding a node
calls the allow-listed class with its decoded parameters, then sets the
decoded state: nothing but data and allow-listed classes ever comes out of a
file. Three classes have adapters that store less and check more:

* :class:`~fersk.CNNClassifier`: the network's state dict, checked key by key
  against the network its parameters build (shape, dtype, finite values);
* :class:`~sklearn.neural_network.MLPClassifier`: its weights only, checked as
  a chain of layers (the optimizer and random state are training state);
* :class:`~sklearn.ensemble.VotingClassifier`: its fitted members (soft voting).

Every other estimator stores its fitted attributes as they are (private ones
the format cannot hold, like a random generator or an optimizer, are left
out); weight-like arrays (``coef_``, ``mean_``...) must be finite and match
``n_features_in_``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np

from .allowlist import PINNED, TRANSIENT, class_name, estimator_classes, parameter_types
from .values import ModelFileError, decode, encode

__all__ = ["dump_estimator", "load_estimator"]

#: Fitted arrays that hold weights: they must be finite numbers.
WEIGHTS = frozenset(
    {"coef_", "intercept_", "coefs_", "intercepts_", "dual_coef_", "support_vectors_", "mean_",
     "scale_", "var_", "components_", "explained_variance_", "center_", "data_min_", "data_max_",
     "max_abs_"}
)  # fmt: skip


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


class _Sink:
    """Collects the arrays of a tree under unique keys."""

    def __init__(self, arrays: dict):
        self.arrays = arrays

    def at(self, path: str) -> Callable[[np.ndarray], str]:
        def put(array: np.ndarray) -> str:
            key, n = path, 1
            while key in self.arrays:
                key, n = f"{path}#{n}", n + 1
            self.arrays[key] = np.array(array, order="C")  # (ascontiguousarray makes 0-d 1-d)
            return key

        return put


def dump_estimator(est, arrays: dict, path: str = "model", references: Mapping | None = None):
    """The JSON description of a fitted estimator; its big arrays are added to ``arrays``.

    Parameters
    ----------
    est : fitted estimator
        Any estimator of :func:`fersk.models.allowlist.estimator_classes`, or a
        composition of them (pipelines, unions, column transformers, voting,
        fersk's meta-estimators).
    arrays : dict
        Updated in place with ``{key: ndarray}``: what ``model.npz`` stores.
    path : str, default="model"
        Prefix of the keys of ``est``'s arrays.
    references : mapping or None
        ``{id(estimator): shipped model name}``: estimators stored as a
        reference to a shipped model (a fusion does not repeat its members).

    Returns
    -------
    dict
        The node, JSON-serialisable.

    Raises
    ------
    TypeError
        For an estimator, a parameter or a fitted attribute the format cannot
        hold, naming it.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> arrays = {}
    >>> node = dump_estimator(StandardScaler().fit([[0.0], [2.0]]), arrays)
    >>> node["class"], sorted(node["state"])[:3]
    ('sklearn.preprocessing.StandardScaler', ['mean_', 'n_features_in_', 'n_samples_seen_'])
    """
    references = references or {}
    sink = _Sink(arrays)

    def node(value, where: str) -> dict:
        if id(value) in references:
            return {"ref": references[id(value)]}
        name = class_name(type(value), estimator_classes())
        if name is None:
            raise TypeError(
                f"{where}: cannot store a {type(value).__module__}.{type(value).__qualname__} "
                "in a fersk model (the classes it can hold: fersk.models.allowlist); "
                "use joblib.dump for other models"
            )
        pinned = PINNED.get(name, {})
        adapter = _ADAPTERS.get(name)
        fitted = adapter is not None and adapter.fitted(value)
        given = value.get_params(deep=False)
        if fitted and hasattr(adapter, "stored_params"):  # what its state already holds, once
            given = adapter.stored_params(value, given)
        params = {
            k: encode(v, sink.at(f"{where}.{k}"), node, f"{where}.{k}")
            for k, v in given.items()
            if k not in pinned and not k.startswith("_")
        }
        if fitted:
            state = adapter.dump(value, sink, node, where)
        elif adapter is not None:
            state = {}  # an unfitted template (a meta-estimator's estimator=)
        else:
            state = _dump_state(value, sink, node, where)
        return {"class": name, "params": params, "state": state}

    return node(est, path)


def _dump_state(est, sink: _Sink, node, where: str) -> dict:
    params = set(est.get_params(deep=False))
    state = {}
    for key, value in vars(est).items():
        if key in params or key in TRANSIENT or key.startswith("__"):
            continue
        try:
            state[key] = encode(value, sink.at(f"{where}/{key}"), node, f"{where}.{key}")
        except TypeError:
            if key.startswith("_"):  # training state: a random generator, an optimizer, a lock
                continue
            raise
    return state


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_estimator(node, arrays: Mapping[str, np.ndarray], resolve_ref: Callable | None = None):
    """Rebuild a fitted estimator from :func:`dump_estimator`'s node and arrays.

    Parameters
    ----------
    node : dict
        A node, as read back from ``model.json``.
    arrays : mapping of str to ndarray
        The arrays its values name (``model.npz``).
    resolve_ref : callable or None
        ``resolve_ref(name)`` returns the shipped model ``name``; needed only
        for nodes that are references.

    Returns
    -------
    estimator
        Fitted, of the installed scikit-learn, skorch and torch.

    Raises
    ------
    ModelFileError
        For anything but data and allow-listed classes, a malformed node, or
        arrays that do not fit the model (naming the node and the array).

    Examples
    --------
    >>> import json
    >>> from sklearn.preprocessing import StandardScaler
    >>> arrays = {}
    >>> node = json.loads(json.dumps(dump_estimator(StandardScaler().fit([[0.0], [2.0]]), arrays)))
    >>> load_estimator(node, arrays).transform([[4.0]])  # mean 1, scale 1
    array([[3.]])
    """

    def build(node, where: str, depth: int = 0):
        if not isinstance(node, dict):
            raise ModelFileError(f"{where}: an estimator node must be an object, got {node!r:.60}")
        if "ref" in node:
            if resolve_ref is None or not isinstance(node["ref"], str):
                raise ModelFileError(f"{where}: a reference to {node['ref']!r:.60} cannot be read")
            return resolve_ref(node["ref"])
        name = node.get("class")
        cls = estimator_classes().get(name) if isinstance(name, str) else None
        if cls is None:
            raise ModelFileError(f"{where}: refusing to build {name!r:.80}: not a class a fersk "
                                 "model may hold")  # fmt: skip
        params, state = node.get("params", {}), node.get("state", {})
        if not isinstance(params, dict) or not isinstance(state, dict):
            raise ModelFileError(f"{where}: malformed node of {name}")
        pinned = PINNED.get(name, {})
        kwargs = {
            k: decode(v, arrays, build, f"{where}.{k}", depth + 1)
            for k, v in params.items()
            if k not in pinned
        }
        accepted = _accepted(cls)
        # a routed setting (``iterator_train__num_workers``) is dropped, not set: its default holds
        kwargs.update(
            {
                k: v
                for k, v in pinned.items()
                if "__" not in k and (accepted is None or k in accepted)
            }
        )
        try:
            est = cls(**kwargs)
        except TypeError as exc:
            raise ModelFileError(
                f"{where}: {name} does not take these parameters ({exc})"
            ) from None
        adapter = _ADAPTERS.get(name)
        if adapter is not None and state:
            return adapter.load(est, state, arrays, build, where, depth)
        if adapter is not None:
            return est
        return _load_state(est, state, arrays, build, where, depth)

    return build(node, "model")


def _accepted(cls) -> set[str] | None:
    """The keyword parameters of ``cls`` (None: it takes any, through ``**kwargs``)."""
    import inspect

    parameters = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _load_state(est, state: dict, arrays, build, where: str, depth: int):
    params = set(est.get_params(deep=False))
    values = {}
    for key, value in state.items():
        if not key.isidentifier() or key.startswith("__") or key in params:
            raise ModelFileError(f"{where}: the fitted attribute {key!r} is not allowed")
        values[key] = decode(value, arrays, build, f"{where}.{key}", depth + 1)
    _check_weights(values, where)
    est.__dict__.update(values)
    return est


def _check_weights(values: dict, where: str) -> None:
    n_features = values.get("n_features_in_")
    for key in WEIGHTS & set(values):
        for i, array in enumerate(_arrays_in(values[key])):
            label = f"{where}.{key}" + (f"[{i}]" if isinstance(values[key], list) else "")
            if array.dtype.kind != "f":
                raise ModelFileError(f"{label}: weights must be floats, got {array.dtype}")
            if not np.isfinite(array).all():
                raise ModelFileError(f"{label}: holds NaN or infinite weights")
        if isinstance(n_features, int) and key in ("mean_", "scale_", "var_"):
            shape = np.shape(values[key])
            if shape != (n_features,):
                raise ModelFileError(f"{where}.{key}: shape {shape}, expected ({n_features},)")
        if isinstance(n_features, int) and key in ("coef_", "components_"):
            shape = np.shape(values[key])
            if len(shape) != 2 or shape[1] != n_features:
                raise ModelFileError(f"{where}.{key}: shape {shape} does not take {n_features} "
                                     "features")  # fmt: skip


def _arrays_in(value) -> list[np.ndarray]:
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    return [np.asarray(value)]


# --------------------------------------------------------------------------
# Adapters
# --------------------------------------------------------------------------


class _MLP:
    """The weights of an MLP; rebuilt by a one-step fit on dummy rows, then the weights."""

    @staticmethod
    def fitted(est) -> bool:
        return hasattr(est, "coefs_")

    @staticmethod
    def dump(est, sink, node, where):
        return {
            key: encode(getattr(est, key), sink.at(f"{where}/{key}"), None, f"{where}.{key}")
            for key in ("coefs_", "intercepts_", "classes_", "n_features_in_")
        }

    @staticmethod
    def load(est, state, arrays, build, where, depth):
        values = {k: decode(v, arrays, None, f"{where}.{k}", depth + 1) for k, v in state.items()}
        coefs, intercepts = values.get("coefs_"), values.get("intercepts_")
        classes, n_in = values.get("classes_"), values.get("n_features_in_")
        if not (isinstance(coefs, list) and isinstance(intercepts, list) and coefs
                and len(coefs) == len(intercepts) and isinstance(n_in, int)
                and isinstance(classes, np.ndarray) and len(classes) >= 2):  # fmt: skip
            raise ModelFileError(f"{where}: malformed MLP weights")
        _check_weights({"coefs_": coefs, "intercepts_": intercepts}, where)
        width = n_in
        for i, (w, b) in enumerate(zip(coefs, intercepts)):
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                raise ModelFileError(
                    f"{where}.coefs_[{i}]: shape {w.shape} (bias {b.shape}) does not follow a "
                    f"layer of {width} units"
                )
            width = w.shape[1]
        if width != (1 if len(classes) == 2 else len(classes)):
            raise ModelFileError(f"{where}: the last layer has {width} units for "
                                 f"{len(classes)} classes")  # fmt: skip
        params = est.get_params()
        est.set_params(max_iter=1, early_stopping=False, solver="sgd")
        X = np.random.default_rng(0).normal(size=(len(classes), n_in))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, classes)  # the library builds its own internal state
        est.set_params(**{k: params[k] for k in ("max_iter", "early_stopping", "solver")})
        est.coefs_, est.intercepts_ = coefs, intercepts
        return est


class _Voting:
    """A soft vote of fitted members."""

    @staticmethod
    def fitted(est) -> bool:
        return hasattr(est, "estimators_")

    @staticmethod
    def stored_params(est, params: dict) -> dict:
        """The members are stored once, in the state: ``estimators`` keeps their names."""
        return {**params, "estimators": [(name, "drop") for name, _ in est.estimators]}

    @staticmethod
    def dump(est, sink, node, where):
        if est.voting != "soft":
            raise TypeError(f"{where}: only soft-voting VotingClassifier models can be stored")
        if len(est.estimators_) != len(est.estimators):
            raise TypeError(f"{where}: cannot store a VotingClassifier with dropped members")
        return {
            "classes_": encode(est.classes_, sink.at(f"{where}/classes_"), None, where),
            "members": {
                "__list__": [
                    {"__tuple__": [name, {"__estimator__": node(m, f"{where}.{name}")}]}
                    for (name, _), m in zip(est.estimators, est.estimators_)
                ]
            },
        }

    @staticmethod
    def load(est, state, arrays, build, where, depth):
        from sklearn.preprocessing import LabelEncoder

        from .._core.pipeline_tools import combine_fitted

        members = decode(state.get("members"), arrays, build, f"{where}.members", depth + 1)
        if not (isinstance(members, list) and members
                and all(isinstance(m, tuple) and len(m) == 2 for m in members)):  # fmt: skip
            raise ModelFileError(f"{where}: malformed voting members")
        try:
            vote = combine_fitted(members, weights=est.weights)
        except ValueError as exc:
            raise ModelFileError(f"{where}: {exc}") from None
        classes = decode(state.get("classes_"), arrays, None, f"{where}.classes_", depth + 1)
        if not isinstance(classes, np.ndarray) or len(classes) != len(vote.classes_):
            raise ModelFileError(f"{where}: the vote's classes do not match its members'")
        # Fitted by VotingClassifier.fit, the members learned encoded labels 0..k-1.
        vote.le_ = LabelEncoder().fit(classes)
        vote.classes_ = vote.le_.classes_
        return vote


class _CNN:
    """The network's state dict, checked against the network the parameters build."""

    @staticmethod
    def fitted(est) -> bool:
        return bool(getattr(est, "initialized_", False)) and hasattr(est, "label_classes_")

    @staticmethod
    def dump(est, sink, node, where):
        from ..cnn.quantization import QuantizedCNN

        quantized = None
        if isinstance(est.module_, QuantizedCNN):  # int8: the calibrated float model is kept
            weights, quantized = est.module_.observed_state_, est.module_.settings()
        elif getattr(est, "quantized_", False):
            raise TypeError(
                f"{where}: a dynamically quantized CNN cannot be stored (its float weights are "
                "gone); store the float model, or one made by fersk.cnn.quantize_static"
            )
        else:
            weights = {k: v.detach().cpu().numpy() for k, v in est.module_.state_dict().items()}
        return {
            "quantized": encode(quantized, None),
            "state_dict": {
                "__dict__": {
                    k: {"__npz__": sink.at(f"{where}/state_dict/{k}")(v)}
                    for k, v in weights.items()
                }
            },
            "label_classes_": encode(est.classes_, sink.at(f"{where}/classes_"), None, where),
            "input_shape_": encode(tuple(int(d) for d in est.input_shape_), None),
            "module_shape_": encode(dict(est.module_shape_), None),
            "versions_": encode(dict(getattr(est, "versions_", {})), None),
        }

    @classmethod
    def load(cls, est, state, arrays, build, where, depth):
        import torch
        from skorch.dataset import Dataset
        from torch.utils.data import DataLoader

        from ..cnn import nets

        allowed = {
            "module": {c for c in parameter_types().values() if c.__module__ == nets.__name__},
            "criterion": {torch.nn.CrossEntropyLoss, torch.nn.NLLLoss},
            "optimizer": {torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW},
            "dataset": {Dataset},
            "iterator_train": {DataLoader},
            "iterator_valid": {DataLoader},
        }
        for param, classes in allowed.items():
            if getattr(est, param) not in classes:
                raise ModelFileError(
                    f"{where}.{param}: {getattr(est, param)!r} is not allowed here"
                )
        values = {k: decode(v, arrays, None, f"{where}.{k}", depth + 1) for k, v in state.items()}
        weights = values.get("state_dict")
        classes_ = values.get("label_classes_")
        shape, module_shape = values.get("input_shape_"), values.get("module_shape_")
        if not (isinstance(weights, dict) and isinstance(classes_, np.ndarray)
                and isinstance(shape, tuple) and len(shape) == 3
                and isinstance(module_shape, dict)):  # fmt: skip
            raise ModelFileError(f"{where}: malformed CNN state")
        est.label_classes_ = classes_
        est.input_shape_ = tuple(int(d) for d in shape)
        est.module_shape_ = {k: int(v) for k, v in module_shape.items()}
        try:
            est.initialize()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{where}: the network cannot be built ({exc})") from None
        est.versions_ = values.get("versions_") if isinstance(values.get("versions_"), dict) else {}
        if values.get("quantized") is not None:
            return cls._load_quantized(est, values["quantized"], weights, where)
        from ..cnn.nets import state_from_arrays

        try:
            loaded = state_from_arrays(est.module_.state_dict(), weights)
        except ValueError as exc:
            raise ModelFileError(f"{where}: {exc}") from None
        est.module_.load_state_dict(loaded)
        est.module_.eval()
        return est

    @staticmethod
    def _load_quantized(est, settings, weights, where):
        """The int8 network, converted again from its calibrated float model (the same int8)."""
        from ..cnn.quantization import rebuild_quantized

        if not (isinstance(settings, dict) and set(settings) == {"dense", "backend", "reduce_range"}
                and settings["dense"] in ("dynamic", "float")
                and isinstance(settings["reduce_range"], bool)
                and isinstance(settings["backend"], str)):  # fmt: skip
            raise ModelFileError(f"{where}: malformed int8 settings {settings!r:.80}")
        import torch

        if settings["backend"] not in torch.backends.quantized.supported_engines:
            raise ModelFileError(
                f"{where}: int8 backend {settings['backend']!r} is not available here "
                f"({torch.backends.quantized.supported_engines})"
            )
        try:
            est.module_ = rebuild_quantized(est.module_, weights, **settings)
        except ValueError as exc:
            raise ModelFileError(f"{where}: {exc}") from None
        est.device, est.optimizer_, est.quantized_ = "cpu", None, True
        return est


_ADAPTERS = {
    "sklearn.neural_network.MLPClassifier": _MLP,
    "sklearn.ensemble.VotingClassifier": _Voting,
    "fersk.CNNClassifier": _CNN,
}
