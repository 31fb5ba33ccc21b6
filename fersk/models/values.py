"""Plain data to JSON and back: the values a model file may hold.

:func:`encode` turns a constructor parameter or a fitted attribute into JSON:
numbers, strings, lists, tuples, dicts, slices, NumPy dtypes and arrays (large
numeric arrays go to ``model.npz``; never object arrays of anything but plain
scalars), classes and dataclass instances *by their allow-listed name only*
(:mod:`fersk.models.allowlist`), and nested estimators through a callback.
:func:`decode` is its inverse and refuses anything else, so reading a model
file can only ever produce data, the allow-listed classes, and the
allow-listed estimators built from data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from .allowlist import class_name, dataclass_types, parameter_types

__all__ = ["MAX_DEPTH", "ModelFileError", "decode", "encode"]

#: Deepest nesting of values a model file may have (a model is a few levels deep).
MAX_DEPTH = 64
#: Arrays up to this many elements are written inline in the JSON.
INLINE_SIZE = 64


class ModelFileError(ValueError):
    """A model file that fersk refuses to read: it says which value and why."""


def _plain_scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def encode(value, sink: Callable[[np.ndarray], str], estimator: Callable | None = None, where=""):
    """A value as JSON data; big numeric arrays are handed to ``sink`` (which returns their key).

    ``estimator(value, where)`` describes a nested estimator; without it an
    estimator is refused.

    Raises
    ------
    TypeError
        For a value the format cannot hold (a function, an object of another
        class), naming where it is.

    Examples
    --------
    >>> encode((1, [2.5, "a"]), sink=None)
    {'__tuple__': [1, {'__list__': [2.5, 'a']}]}
    """
    if _plain_scalar(value):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        tag = "__tuple__" if isinstance(value, tuple) else "__list__"
        return {tag: [encode(v, sink, estimator, f"{where}[{i}]") for i, v in enumerate(value)]}
    if hasattr(value, "get_params") and not isinstance(value, type):
        if estimator is None:
            raise TypeError(f"{where}: an estimator cannot be stored here")
        return {"__estimator__": estimator(value, where)}
    if isinstance(value, Mapping):
        kind = "__bunch__" if type(value).__name__ == "Bunch" else "__dict__"
        if all(isinstance(k, str) for k in value):
            items = {k: encode(v, sink, estimator, f"{where}.{k}") for k, v in value.items()}
            return {kind: items}
        return {
            "__items__": [
                [encode(k, sink, estimator, where), encode(v, sink, estimator, f"{where}[{k!r}]")]
                for k, v in value.items()
            ]
        }
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.str}
    if isinstance(value, np.ndarray):
        return _encode_array(value, sink, where)
    if isinstance(value, type):
        name = class_name(value, parameter_types())
        if name is None:
            raise TypeError(
                f"{where}: the class {value.__module__}.{value.__qualname__} is not one a "
                "fersk model may name (see fersk.models.allowlist)"
            )
        return {"__type__": name}
    if dataclasses.is_dataclass(value):
        name = class_name(type(value), dataclass_types())
        if name is None:
            raise TypeError(f"{where}: a {type(value).__name__} cannot be stored")
        fields = {
            f.name: encode(getattr(value, f.name), sink, None, f"{where}.{f.name}")
            for f in dataclasses.fields(value)
        }
        return {"__dataclass__": name, "fields": fields}
    raise TypeError(f"{where}: cannot store a value of type {type(value).__name__}")


def _encode_array(value: np.ndarray, sink, where: str):
    kind = value.dtype.kind
    if kind in "biuf" and (value.size > INLINE_SIZE) and sink is not None:
        return {"__npz__": sink(value)}
    if kind in "biufUS":
        return {"__array__": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if kind == "O":
        items = value.ravel().tolist()
        if all(_plain_scalar(v) for v in items):
            return {"__objects__": items, "shape": list(value.shape)}
    raise TypeError(f"{where}: cannot store an array of dtype {value.dtype}")


def decode(
    value,
    arrays: Mapping[str, np.ndarray],
    estimator: Callable | None = None,
    where: str = "",
    depth: int = 0,
):
    """The inverse of :func:`encode`; ``estimator(node, where)`` builds a nested estimator.

    Raises
    ------
    ModelFileError
        For anything :func:`encode` does not write: an unknown tag, a class
        outside the allow-lists, a missing or non-numeric array, nesting
        deeper than :data:`MAX_DEPTH`.

    Examples
    --------
    >>> decode({"__tuple__": [1, {"__list__": [2.5, "a"]}]}, {})
    (1, [2.5, 'a'])
    >>> decode({"__type__": "os.system"}, {})
    Traceback (most recent call last):
    ...
    fersk.models.values.ModelFileError: : 'os.system' is not a class a fersk model may name
    """
    if depth > MAX_DEPTH:
        raise ModelFileError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if _plain_scalar(value):
        return value
    if isinstance(value, list):  # JSON lists only appear inside the tags below
        raise ModelFileError(f"{where}: an untagged list")
    if not isinstance(value, dict) or len(value) == 0:
        raise ModelFileError(f"{where}: unexpected value {value!r:.80}")

    def sub(v, at):
        return decode(v, arrays, estimator, at, depth + 1)

    tag = next(iter(value))
    body = value[tag]
    if tag in ("__tuple__", "__list__"):
        _expect(isinstance(body, list), where, tag)
        items = [sub(v, f"{where}[{i}]") for i, v in enumerate(body)]
        return tuple(items) if tag == "__tuple__" else items
    if tag in ("__dict__", "__bunch__"):
        _expect(isinstance(body, dict), where, tag)
        items = {k: sub(v, f"{where}.{k}") for k, v in body.items()}
        if tag == "__bunch__":
            from sklearn.utils import Bunch

            return Bunch(**items)
        return items
    if tag == "__items__":
        _expect(isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body),
                where, tag)  # fmt: skip
        return {sub(k, where): sub(v, f"{where}[{i}]") for i, (k, v) in enumerate(body)}
    if tag == "__slice__":
        _expect(isinstance(body, list) and len(body) == 3, where, tag)
        _expect(all(v is None or type(v) is int for v in body), where, tag)
        return slice(*body)
    if tag == "__dtype__":
        _expect(isinstance(body, str), where, tag)
        dtype = _dtype(body, where)
        return dtype
    if tag == "__npz__":
        _expect(isinstance(body, str), where, tag)
        if body not in arrays:
            raise ModelFileError(f"{where}: the array {body!r} is missing from model.npz")
        array = arrays[body]
        if array.dtype.kind not in "biuf":
            raise ModelFileError(
                f"{where}: the array {body!r} has dtype {array.dtype}, not numbers"
            )
        return array
    if tag == "__array__":
        dtype = _dtype(value.get("dtype"), where)
        if dtype.kind not in "biufUS":
            raise ModelFileError(f"{where}: arrays of dtype {dtype} are not stored inline")
        try:
            array = np.asarray(body, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: not an array of {dtype}: {exc}") from None
        return array.reshape(_shape(value.get("shape", array.shape), where))
    if tag == "__objects__":
        _expect(isinstance(body, list) and all(_plain_scalar(v) for v in body), where, tag)
        array = np.empty(len(body), dtype=object)
        array[:] = body
        return array.reshape(_shape(value.get("shape", [len(body)]), where))
    if tag == "__type__":
        cls = parameter_types().get(body) if isinstance(body, str) else None
        if cls is None:
            raise ModelFileError(f"{where}: {body!r} is not a class a fersk model may name")
        return cls
    if tag == "__dataclass__":
        cls = dataclass_types().get(body) if isinstance(body, str) else None
        if cls is None:
            raise ModelFileError(f"{where}: {body!r} is not a record a fersk model may hold")
        fields = value.get("fields")
        _expect(isinstance(fields, dict), where, tag)
        known = {f.name for f in dataclasses.fields(cls)}
        if set(fields) - known:
            raise ModelFileError(f"{where}: {body} has no field(s) {sorted(set(fields) - known)}")
        decoded = {k: decode(v, arrays, None, f"{where}.{k}", depth + 1) for k, v in fields.items()}
        if not all(_plain_scalar(v) for v in decoded.values()):
            raise ModelFileError(f"{where}: {body}'s fields must be plain numbers or strings")
        return cls(**decoded)
    if tag == "__estimator__":
        if estimator is None:
            raise ModelFileError(f"{where}: an estimator is not expected here")
        return estimator(body, where, depth + 1)
    raise ModelFileError(f"{where}: unknown value tag {tag!r}")


def _expect(ok: bool, where: str, tag: str) -> None:
    if not ok:
        raise ModelFileError(f"{where}: malformed {tag}")


def _dtype(text, where: str) -> np.dtype:
    if not isinstance(text, str) or len(text) > 16:
        raise ModelFileError(f"{where}: malformed dtype {text!r:.40}")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ModelFileError(f"{where}: unknown dtype {text!r}") from None
    if dtype.kind not in "biufUS":
        raise ModelFileError(f"{where}: dtype {text!r} is not numbers or text")
    return dtype


def _shape(shape, where: str) -> tuple[int, ...]:
    if not (isinstance(shape, (list, tuple)) and all(type(d) is int and d >= 0 for d in shape)):
        raise ModelFileError(f"{where}: malformed shape {shape!r:.40}")
    return tuple(shape)
