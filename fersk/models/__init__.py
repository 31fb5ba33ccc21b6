"""fersk's one model format, and the models shipped inside the package.

A model is saved as a folder (:func:`save_model`) that :func:`load_model`,
``fersk predict``, ``fersk video`` and ``fersk evaluate`` read: ``model.json``
(the estimator tree, data only), ``model.npz`` (the fitted arrays), and
optionally a model card and recorded predictions. Reading one never runs
code: it may only name classes from a fixed allow-list
(:mod:`fersk.models.allowlist`), parameters that touch files or processes are
pinned, and every array is checked against the model before use
(:mod:`fersk.models.tree`, :mod:`fersk.models.store`).

The shipped models live in ``fersk/models/shipped/``, each with its card
(:func:`model_card`); :mod:`fersk.recipes` regenerates them. A pickle
(``joblib.dump``) of any fitted pipeline keeps working as scikit-learn users
expect, but loading one runs code: :func:`load_model` unpickles only a file
whose name ends in ``.joblib`` or ``.pkl``, and warns.

Examples
--------
>>> from fersk.models import list_models, load_model
>>> "cnn-fer2013" in [m["name"] for m in list_models()]
True
>>> model = load_model()  # the default model: an ordinary fitted scikit-learn estimator
>>> model.classes_.tolist()[:3]
['anger', 'disgust', 'fear']
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from .store import ModelFileError, read_model_folder, replacing_problem, write_model_folder
from .tree import dump_estimator, load_estimator

__all__ = [
    "DEFAULT_MODEL",
    "MODELS_DIR",
    "PICKLE_SUFFIXES",
    "ModelFileError",
    "PickleWarning",
    "check_model_folder",
    "list_models",
    "load_model",
    "model_card",
    "model_id",
    "reference_inputs",
    "save_model",
]

#: Where the shipped models live (inside the installed package).
MODELS_DIR = Path(__file__).parent / "shipped"

#: The model fersk uses when none is named (``fersk predict``, ``fersk video``).
DEFAULT_MODEL = "calibrated-ferplus"

#: The only file names :func:`load_model` unpickles (explicitly given paths only).
PICKLE_SUFFIXES = (".joblib", ".pkl")


class PickleWarning(UserWarning):
    """Loading a pickle runs the code it names: load only files you trust."""


def _shipped_names() -> list[str]:
    return sorted(p.parent.name for p in MODELS_DIR.glob("*/model.json"))


def _is_bare_name(text: str) -> bool:
    return text not in ("", ".", "..") and "/" not in text and os.sep not in text


def _locate(name_or_path) -> tuple[str, Path]:
    """``("shipped" | "folder" | "pickle", path)`` for a model name or path, or a clear error."""
    text = os.fspath(name_or_path)
    if _is_bare_name(text) and (MODELS_DIR / text / "model.json").is_file():
        return "shipped", MODELS_DIR / text  # a shipped name is always the shipped model
    path = Path(text).expanduser()
    if path.suffix.lower() in PICKLE_SUFFIXES:
        if not path.is_file():
            raise ValueError(f"no fersk model {text!r}: {str(path)!r} does not exist")
        return "pickle", path
    if path.name == "model.json" and path.is_file():
        return "folder", path.parent
    if path.is_dir() and (path / "model.json").is_file():
        return "folder", path
    names = ", ".join(_shipped_names()) or "none"
    if not path.exists():
        where = "does not exist"
    elif path.is_dir():
        where = "is a folder without model.json"
    else:
        where = (
            "is a file that is not a fersk model folder (pickles load only from files named "
            f"{' or '.join('*' + s for s in PICKLE_SUFFIXES)})"
        )
    raise ValueError(f"no fersk model {text!r}: not a shipped model ({names}), and {str(path)!r} "
                     f"{where}")  # fmt: skip


def model_id(name_or_path: str | os.PathLike) -> str:
    """How a model is named in records: a shipped model's name, else the absolute path.

    Examples
    --------
    >>> model_id(DEFAULT_MODEL) == DEFAULT_MODEL
    True
    """
    kind, path = _locate(name_or_path)
    return path.name if kind == "shipped" else os.path.abspath(path)


def check_model_folder(path: str | os.PathLike, *, inputs: tuple = ()) -> str:
    """Check, before any work, that a model can be saved as the folder ``path``.

    Refuses (``ValueError`` naming the problem and the fix): an existing file, a
    name ending in ``.joblib``/``.pkl`` (it would be read as a pickle), a folder of
    other files (it would be replaced), a missing or read-only parent folder, and
    a path that is one of ``inputs`` or inside one.

    Examples
    --------
    >>> import os, tempfile
    >>> check_model_folder(os.path.join(tempfile.mkdtemp(), "fer-model")).endswith("fer-model")
    True
    """
    folder = Path(path)
    where = folder.resolve()
    for item in inputs:
        source = Path(item).resolve()
        if where == source or source in where.parents:
            what = "is the input" if where == source else "is inside the input"
            raise ValueError(f"{os.fspath(path)!r} {what} {os.fspath(item)!r}; give a folder "
                             "apart from the data")  # fmt: skip
    if not where.parent.is_dir() or not os.access(where.parent, os.W_OK):
        raise ValueError(f"{os.fspath(path)!r}: its folder {str(where.parent)!r} does not exist "
                         "or is not writable")  # fmt: skip
    if folder.suffix.lower() in PICKLE_SUFFIXES and not folder.is_file():
        problem = f"ends in {folder.suffix}, so it would be read as a pickle; give another name"
    else:
        problem = replacing_problem(folder)
    if problem:
        raise ValueError(f"{os.fspath(path)!r} {problem}")
    return os.fspath(path)


def list_models() -> list[dict]:
    """The shipped models: name, description, classes, and the accuracy their card reports.

    Returns
    -------
    list of dict
        ``name``, ``description``, ``classes``, ``metrics`` per model, sorted by name.

    See Also
    --------
    fersk.models.load_model : Load one of them.
    fersk.models.model_card : A model's card: data, protocol, accuracy, limits.

    Examples
    --------
    >>> all("name" in m and "description" in m for m in list_models())
    True
    """
    models = []
    for name in _shipped_names():
        document = json.loads((MODELS_DIR / name / "model.json").read_text())
        models.append(
            {
                "name": name,
                "description": document.get("description", ""),
                "classes": document.get("classes", []),
                "metrics": document.get("metrics", {}),
            }
        )
    return models


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """Load a shipped model by name, a model folder, or (explicitly) a pickle.

    Parameters
    ----------
    name_or_path : str or path-like, default=DEFAULT_MODEL
        A shipped model's name (:func:`list_models`; a bare name always means
        the shipped model, never a file in the working folder), a folder
        written by :func:`save_model` or ``fersk train`` (or its
        ``model.json``), or a path ending in ``.joblib`` / ``.pkl``: a pickle,
        which runs the code it names when loaded, so load only files you
        trust (a :class:`PickleWarning` says so).

    Returns
    -------
    estimator
        An ordinary fitted scikit-learn estimator taking face images (paths or
        arrays of face crops, like FER2013's): ``predict``, ``predict_proba``,
        refitting its last steps on your own data and ``joblib.dump`` all
        work. For whole photos (faces anywhere, several per photo), use
        :func:`fersk.predict.predict_faces`, which finds and crops the faces.

    Raises
    ------
    ValueError
        An unknown name, or a path that is not a model, naming it;
        :class:`ModelFileError` (a ``ValueError``) for a model folder that is
        malformed, naming the folder and the problem.

    See Also
    --------
    fersk.models.list_models : The shipped models' names.
    fersk.models.save_model : Save a fitted model for this function.
    fersk.predict.predict_faces : A model's predictions for every face of whole photos.

    Examples
    --------
    >>> load_model("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: no fersk model 'no-such-model': ...
    """
    kind, path = _locate(name_or_path)
    if kind == "pickle":
        return _load_pickle(path)
    return _load_folder(path, loading=())


def _load_pickle(path: Path):
    import joblib

    warnings.warn(
        f"{path} is a pickle: loading it runs the code it names. Load only files you trust; "
        "fersk's own format (save_model, fersk train) holds data only",
        PickleWarning,
        stacklevel=3,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # version notes of pickled estimators
            model = joblib.load(path)
    except Exception as exc:  # joblib raises anything from IndexError to UnpicklingError
        raise ValueError(f"{path} cannot be unpickled ({type(exc).__name__}: {exc})") from None
    if not (hasattr(model, "predict") and hasattr(model, "classes_")):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a fitted classifier")
    return model


def _load_folder(folder: Path, loading: tuple[str, ...]):
    document, arrays = read_model_folder(folder)

    def resolve(name: str):
        if name in loading or not (_is_bare_name(name) and name in _shipped_names()):
            raise ModelFileError(
                f"{folder}: refers to {name!r}, which is not a shipped model"
                + (" (a circle of references)" if name in loading else "")
            )
        return _load_folder(MODELS_DIR / name, (*loading, name))

    try:
        return load_estimator(document["model"], arrays, resolve_ref=resolve)
    except ModelFileError as exc:
        if str(exc).startswith(str(folder)):
            raise
        raise ModelFileError(f"{folder}: {exc}") from None


def save_model(
    model,
    folder: str | os.PathLike,
    *,
    description: str = "",
    metrics: dict | None = None,
    references: dict | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """Save a fitted model as a folder (arrays + JSON, no pickle) for :func:`load_model`.

    Parameters
    ----------
    model : fitted estimator
        Any composition of fersk's estimators and the scikit-learn pieces they
        compose with (see :mod:`fersk.models.allowlist`).
    folder : str or path-like
        The model folder: new, empty, or holding a model (which is replaced
        only once the new one is complete).
    description : str
        One line, shown by :func:`list_models`.
    metrics : dict, optional
        Measured accuracy to record (shown by :func:`list_models`).
    references : dict, optional
        ``{id(member): shipped model name}``: members stored as a reference to
        a shipped model instead of a copy of its arrays.
    files : dict, optional
        ``{file name: text}`` written beside it (a model card, ``card.md``).

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    TypeError
        A part the format cannot hold, naming it.

    See Also
    --------
    fersk.models.load_model : Load the saved model.
    fersk.models.tree.dump_estimator : The JSON description and arrays written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = np.where(X[:, 0] > 0, "happiness", "sadness")
    >>> mlp = MLPClassifier((8,), max_iter=2000, random_state=0)
    >>> model = make_pipeline(StandardScaler(), mlp).fit(X, y)
    >>> folder = save_model(model, os.path.join(tempfile.mkdtemp(), "toy"))
    >>> sorted(p.name for p in folder.iterdir())
    ['model.json', 'model.npz']
    >>> bool(np.allclose(load_model(folder).predict_proba(X), model.predict_proba(X)))
    True
    """
    arrays: dict = {}
    tree = dump_estimator(model, arrays, references=references)
    metadata = {
        "description": description,
        "classes": [str(c) for c in getattr(model, "classes_", [])],
        "metrics": metrics or {},
    }
    return write_model_folder(folder, tree, arrays, metadata, files)


def model_card(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> str:
    """The model card (Markdown) of a shipped or saved model.

    Parameters
    ----------
    name_or_path : str or path-like, default=DEFAULT_MODEL
        A shipped model's name, or a saved model's folder (or its
        ``model.json``), as for :func:`load_model`.

    Returns
    -------
    str
        The text of the model's ``card.md``; ``""`` when its folder has none.

    Examples
    --------
    >>> model_card().startswith(f"# {DEFAULT_MODEL}")
    True
    """
    kind, path = _locate(name_or_path)
    if kind == "pickle":
        return ""
    card = path / "card.md"
    return card.read_text() if card.is_file() else ""


def reference_inputs() -> list:
    """The built-in inputs each shipped model's predictions are recorded on (``reference.json``).

    The astronaut's face (scikit-image's public-domain photo, found by the HOG
    detector), cropped as :func:`fersk.io.face_crop` crops faces, then the 7 sample faces of
    subject 0 (48 px, one per emotion). Loading a shipped model must reproduce
    its recorded predictions on them.

    Returns
    -------
    list of ndarray
        The astronaut's face crop (RGB, ``uint8``), then the 7 grayscale
        48 x 48 sample faces.

    Examples
    --------
    >>> [x.shape for x in reference_inputs()][:2]
    [(117, 117, 3), (48, 48)]
    """
    from skimage.data import astronaut

    from ..datasets import make_sample_faces
    from ..io import face_crop
    from ..landmarks.detection import find_faces

    photo = astronaut()
    boxes, _ = find_faces(photo, detector="hog")  # pinned: the inputs never change
    faces = make_sample_faces(n_subjects=1, n_intensities=1, blur_sigmas=(0.0,), image_size=48)
    return [face_crop(photo, boxes[0])] + list(faces.data)
