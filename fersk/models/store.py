"""Model folders: ``model.json`` + ``model.npz`` written whole, read with every check.

A model folder holds

* ``model.json``: the format version, the estimator tree
  (:mod:`fersk.models.tree`), the versions that wrote it, free metadata
  (description, classes, metrics) and the integrity record: the SHA-256 of
  the tree (as canonical JSON) and of ``model.npz``;
* ``model.npz``: the fitted arrays (numbers only; read with
  ``allow_pickle=False``);
* optionally ``card.md`` (the model card) and ``reference.json`` (recorded
  predictions).

:func:`write_model_folder` writes all of them into a sibling folder and swaps
it into place (:class:`fersk.io.AtomicFolder`): a kill at any moment leaves
the old model or the new one. :func:`read_model_folder` refuses, with one
message naming the folder, anything malformed: JSON that is not an object, too
deep or too big, a missing part, a tree or arrays that do not match their
record.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .values import ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "MAX_JSON_BYTES",
    "ModelFileError",
    "read_model_folder",
    "replacing_problem",
    "tree_digest",
    "write_model_folder",
]

#: The layout this fersk writes and reads.
FORMAT_VERSION = 2
#: Files a model folder may hold beside its data (replaced with the model).
COMPANION_FILES = ("card.md", "reference.json")
#: model.json larger than this is refused before parsing.
MAX_JSON_BYTES = 16 * 2**20
#: model.npz larger than this is refused before reading (the shipped total is 25 MB).
MAX_NPZ_BYTES = 512 * 2**20


def sha256(data: bytes) -> str:
    """SHA-256 of bytes, as hex."""
    return hashlib.sha256(data).hexdigest()


def tree_digest(tree) -> str:
    """SHA-256 of an estimator tree as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(tree, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return sha256(text.encode())


def replacing_problem(folder: Path, files=()) -> str | None:
    """Why a model may not be written as ``folder`` (None: it may).

    A model is written as a new folder, into an empty one, or over a model
    folder holding nothing but a model's files (``model.json``, ``model.npz``,
    :data:`COMPANION_FILES` and ``files``): it is replaced whole, so nothing
    else may be lost with it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> replacing_problem(folder) is None
    True
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> replacing_problem(folder).startswith("is a folder of other files")
    True
    """
    if folder.is_symlink():
        return "is a symbolic link; a model is saved as a real folder, give its own path"
    if not folder.exists():
        return None
    if not folder.is_dir():
        return "is a file; a model is saved as a folder (model.json, model.npz)"
    entries = sorted(folder.iterdir())
    if entries and not (folder / "model.json").is_file():
        return (
            "is a folder of other files, not a fersk model folder (which it would replace); "
            "give a new or empty folder"
        )
    ours = {"model.json", "model.npz", *COMPANION_FILES, *(files or ())}
    # the model's own names count only as plain files: a folder named card.md is not one
    others = [e.name for e in entries if e.name not in ours or e.is_dir() or e.is_symlink()]
    if others:
        return (
            f"holds a model and other files ({', '.join(others[:5])}), which replacing the "
            "model would delete; move them, or save into a new folder"
        )
    return None


def write_model_folder(
    folder: str | os.PathLike,
    tree: dict,
    arrays: dict,
    metadata: dict | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """Write a model folder whole: ``model.json``, ``model.npz`` and ``files`` (name -> text).

    An existing folder is replaced only if it is a model folder (it holds
    ``model.json``) or empty; the new one is swapped in once complete.

    Returns
    -------
    Path
        The folder.
    """
    from .._core.environment import environment_info
    from ..io import AtomicFolder

    folder = Path(folder)
    problem = replacing_problem(folder, files)
    if problem:
        raise ValueError(f"{folder} {problem}")
    if not folder.parent.is_dir():
        raise ValueError(f"{folder}: folder {folder.parent} does not exist")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    env = environment_info()
    document = {
        "format": FORMAT_VERSION,
        "written_by": {"python": env["python"], **env["packages"]},
        **(metadata or {}),
        "integrity": {"model": tree_digest(tree), "model.npz": sha256(data)},
        "model": tree,
    }
    with AtomicFolder(folder) as tmp:
        Path(tmp, "model.npz").write_bytes(data)
        Path(tmp, "model.json").write_text(json.dumps(document, indent=1) + "\n")
        for name, text in (files or {}).items():
            Path(tmp, name).write_text(text)
    return folder


def read_model_folder(folder: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """``model.json`` (checked) and the arrays of ``model.npz`` (checked) of a model folder.

    Raises
    ------
    ModelFileError
        For anything malformed, naming the folder and the problem.
    """
    folder = Path(folder)

    def fail(problem: str) -> ModelFileError:
        return ModelFileError(f"{folder}: {problem}")

    document = _read_json(folder / "model.json", fail)
    version = document.get("format")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise fail(
            f"model format {version!r}: "
            + ("written by a newer fersk; upgrade fersk" if newer else "not one this fersk reads")
        )
    tree, record = document.get("model"), document.get("integrity")
    if not isinstance(tree, dict):
        raise fail("model.json has no model tree ('model')")
    if not (isinstance(record, dict) and isinstance(record.get("model"), str)):
        raise fail("model.json has no integrity record")
    if tree_digest(tree) != record["model"]:
        raise fail("model.json's tree does not match its integrity record (edited or damaged)")
    path = folder / "model.npz"
    if not path.is_file():
        raise fail("model.npz is missing")
    if path.stat().st_size > MAX_NPZ_BYTES:
        raise fail(f"model.npz is larger than {MAX_NPZ_BYTES >> 20} MB")
    data = path.read_bytes()  # read once: hashed, then loaded
    if sha256(data) != record.get("model.npz"):
        raise fail(
            "model.npz does not match model.json (files from two different saves, edited or "
            "damaged); save the model again"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise fail(f"model.npz cannot be read: {exc}") from None
    return document, arrays


def _read_json(path: Path, fail) -> dict:
    if not path.is_file():
        raise fail("model.json is missing")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise fail(f"model.json is larger than {MAX_JSON_BYTES >> 20} MB")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise fail("model.json is nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"model.json is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise fail(f"model.json holds a {type(document).__name__}, not a model description")
    return document
