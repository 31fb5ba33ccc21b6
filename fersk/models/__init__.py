"""Trained models shipped with fersk, and saving your own models the same way.

Each shipped model is a folder here: ``model.json`` (the estimator tree and
its parameters), ``model.npz`` (the fitted arrays), ``card.md`` (its model
card: data, protocol, measured accuracy, limits, licences) and
``reference.json`` (its predictions on built-in inputs, recorded when it was
trained; a test checks that loading reproduces them). No pickle of library
internals is involved, so a scikit-learn, skorch or torch upgrade does not
break them (see :mod:`fersk.models.format`). ``benchmarks/train_models.py``
regenerates them.

Examples
--------
>>> from fersk.models import list_models, load_model
>>> sorted(m["name"] for m in list_models())
['cnn-fer2013', 'fusion-fer2013', 'landmarks-fer2013']
>>> model = load_model()  # the default model: an ordinary fitted scikit-learn estimator
>>> model.classes_.tolist()[:3]
['anger', 'disgust', 'fear']
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from .format import FORMAT_VERSION, digest, load_estimator, save_model_files

__all__ = [
    "DEFAULT_MODEL",
    "MODELS_DIR",
    "list_models",
    "load_model",
    "model_card",
    "reference_inputs",
    "save_model",
]

#: Where the shipped models live (inside the installed package).
MODELS_DIR = Path(__file__).parent

#: The model fersk uses when none is named (``fersk predict``, ``fersk video``).
DEFAULT_MODEL = "fusion-fer2013"


def _folder(name_or_path: str | os.PathLike) -> Path:
    text = os.fspath(name_or_path)
    shipped = MODELS_DIR / text
    if "/" not in text and "\\" not in text and (shipped / "model.json").is_file():
        return shipped
    path = Path(text).expanduser()
    if path.is_file() and path.name == "model.json":
        return path.parent
    if (path / "model.json").is_file():
        return path
    names = ", ".join(m["name"] for m in list_models()) or "none"
    if not path.exists():
        raise ValueError(
            f"no fersk model {text!r}: not a shipped model ({names}), and {str(path)!r} "
            "does not exist"
        )
    raise ValueError(
        f"no fersk model {text!r}: not a shipped model ({names}) nor a folder holding "
        "model.json and model.npz"
    )


def list_models() -> list[dict]:
    """The shipped models: name, description, and the accuracy their card reports.

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
    for path in sorted(MODELS_DIR.glob("*/model.json")):
        document = json.loads(path.read_text())
        models.append(
            {
                "name": path.parent.name,
                "description": document.get("description", ""),
                "classes": document.get("classes", []),
                "metrics": document.get("metrics", {}),
            }
        )
    return models


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """Load a shipped model by name, or a model folder saved with :func:`save_model`.

    Parameters
    ----------
    name_or_path : str or path-like, default=DEFAULT_MODEL
        A shipped model's name (:func:`list_models`), or a folder (or its
        ``model.json``).

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
        An unknown name, or a folder without a fersk model, naming it.

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
    folder = _folder(name_or_path)
    document = json.loads((folder / "model.json").read_text())
    if document.get("format", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{folder} was written by a newer fersk (format {document['format']}); upgrade fersk"
        )
    data = (folder / "model.npz").read_bytes()  # read once: hashed, then loaded
    expected = document.get("arrays_sha256")
    if expected is not None and digest(data) != expected:
        raise ValueError(
            f"{folder}: model.npz does not match model.json (an interrupted save, or files "
            "from two different saves); save the model again"
        )
    arrays = dict(np.load(io.BytesIO(data), allow_pickle=False))

    def resolve(name: str):
        sibling = folder.parent / name  # a model saved beside this one, else a shipped one
        return load_model(sibling if (sibling / "model.json").is_file() else name)

    return load_estimator(document["model"], arrays, resolve_ref=resolve)


def reference_inputs() -> list:
    """The built-in inputs each shipped model's predictions are recorded on (``reference.json``).

    The astronaut's face (scikit-image's public-domain photo), cropped as
    :func:`fersk.predict.face_crop` crops faces, then the 7 sample faces of
    subject 0 (48 px, one per emotion). Loading a shipped model must reproduce
    its recorded predictions on them (``tests/test_models.py``).

    Returns
    -------
    list of ndarray
        The astronaut's face crop (RGB, ``uint8``), then the 7 grayscale
        48 x 48 sample faces.

    See Also
    --------
    fersk.predict.face_crop : How the astronaut's face is cropped.
    fersk.datasets.make_sample_faces : The synthetic sample faces.
    fersk.models.load_model : Loads the models whose predictions are recorded.

    Examples
    --------
    >>> [x.shape for x in reference_inputs()][:2]
    [(117, 117, 3), (48, 48)]
    """
    from skimage.data import astronaut

    from ..datasets import make_sample_faces
    from ..predict import face_crop, find_faces

    photo = astronaut()
    boxes, _ = find_faces(photo)
    faces = make_sample_faces(n_subjects=1, n_intensities=1, blur_sigmas=(0.0,), image_size=48)
    return [face_crop(photo, boxes[0])] + list(faces.data)


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

    Raises
    ------
    ValueError
        An unknown name, or a folder without a fersk model.

    See Also
    --------
    fersk.models.list_models : Every shipped model, with the accuracy its card reports.
    fersk.models.load_model : Load the model itself.

    Examples
    --------
    >>> model_card().startswith("# fusion-fer2013")
    True
    """
    card = _folder(name_or_path) / "card.md"
    return card.read_text() if card.is_file() else ""


def save_model(
    model,
    folder: str | os.PathLike,
    *,
    description: str = "",
    metrics: dict | None = None,
    references: dict | None = None,
) -> Path:
    """Save a fitted model as arrays + JSON (as the shipped ones are), for :func:`load_model`.

    Parameters
    ----------
    model : fitted estimator
        A ``Pipeline`` of supported steps, or a soft ``VotingClassifier`` of
        such pipelines (see :func:`fersk.models.format.dump_estimator`).
    folder : str or path-like
        Created if needed; ``model.json`` and ``model.npz`` are written into
        it atomically.
    description : str
        One line, shown by :func:`list_models`.
    metrics : dict, optional
        Measured accuracy to record (shown by :func:`list_models`).
    references : dict, optional
        ``{id(member): model name}``: members of a voting model stored as a
        reference to another saved model instead of a copy of its arrays.

    Returns
    -------
    Path
        The folder.

    See Also
    --------
    fersk.models.load_model : Load the saved model.
    fersk.models.format.dump_estimator : The JSON description and arrays written.
    fersk.fusion.combine_fitted : A fusion of saved models, to save with ``references``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = np.where(X[:, 0] > 0, "happiness", "sadness")
    >>> mlp = MLPClassifier((8,), max_iter=2000, random_state=0)
    >>> model = make_pipeline(StandardScaler(), mlp).fit(X, y)
    >>> folder = save_model(model, tempfile.mkdtemp(), description="a toy model")
    >>> sorted(p.name for p in folder.iterdir())
    ['model.json', 'model.npz']
    >>> restored = load_model(folder)
    >>> bool(np.allclose(restored.predict_proba(X), model.predict_proba(X)))
    True
    """
    metadata = {
        "description": description,
        "classes": [str(c) for c in getattr(model, "classes_", [])],
        "metrics": metrics or {},
    }
    return save_model_files(model, folder, metadata, references=references)
