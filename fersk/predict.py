"""The emotion on every face of a photo: find the faces, crop them as the model saw faces, predict.

fersk's models are trained on face crops (FER2013's 48-pixel faces, CK+48's):
a face filling about 78% of the crop, centred slightly below the middle
(measured on both datasets with the HOG detector). :func:`face_crop` cuts
that framing around a detected face, and :func:`predict_faces` returns one
row per face of each image (every face, not only the largest; a row that
says so for an image without a face, or one that cannot be read), with the
box, the label and every class probability.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ._core.pipeline_tools import predict_proba_with
from .io import ImageReadError, describe_source, face_crop, read_image
from .landmarks.detection import find_faces

__all__ = ["predict_faces"]


def _rows_of(source, model, names, detector, upsample) -> Iterator[dict]:
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else describe_source(source)
    base = {"file": name, "face": -1, "face_found": False, "error": ""}
    empty = {
        **{k: np.nan for k in ("x0", "y0", "x1", "y1", "score", "confidence")},
        "label": "",
        **{f"p_{n}": np.nan for n in names},
    }
    try:
        image = read_image(source, color="rgb")
    except ImageReadError as exc:
        yield {**base, **empty, "error": f"unreadable: {exc}"}
        return
    boxes, scores = find_faces(image, detector=detector, upsample=upsample)
    if not len(boxes):
        yield {**base, **empty, "error": "no face found"}
        return
    crops = [face_crop(image, box) for box in boxes]
    proba = predict_proba_with(model, crops)  # a predict-only model gives one-hot rows
    for k, (box, score, p) in enumerate(zip(boxes, scores, proba)):
        best = int(np.argmax(p))
        yield {
            **base,
            "face": k,
            "face_found": True,
            **{key: round(float(v), 1) for key, v in zip(("x0", "y0", "x1", "y1"), box)},
            "score": round(float(score), 3),
            "label": names[best],
            "confidence": float(p[best]),
            **{f"p_{n}": float(v) for n, v in zip(names, p)},
        }


def predict_faces(
    images,
    model=None,
    *,
    detector: str = "hog",
    upsample: int = 1,
    progress: bool | str = "auto",
):
    """The emotion of every face in each image: one row per face, in image order.

    Parameters
    ----------
    images : sequence of image paths or arrays (or one path)
        Photos, with faces anywhere and of any number.
    model : fitted estimator, str or None, default=None
        A model taking face crops (a shipped model's name, a saved model's
        folder, or a fitted estimator); None is the default shipped model
        (:data:`fersk.models.DEFAULT_MODEL`).
    detector : {"hog", "mmod"}, default="hog"
    upsample : int, default=1
        Times the image is doubled before detection (finds faces from ~40 px).
    progress : bool or "auto"
        A progress bar over the images.

    Returns
    -------
    pandas.DataFrame
        ``file, face, face_found, error, x0, y0, x1, y1, score, label,
        confidence, p_<class>...``: a face per row (``face`` counts from 0,
        largest first); an image without a face, or that cannot be read, gets
        one row with ``face=-1``, ``face_found=False`` and ``error`` saying why.

    See Also
    --------
    fersk.landmarks.find_faces : The face boxes of one photo.
    fersk.io.face_crop : How each face is cropped for the model.
    fersk.models.load_model : The shipped models.
    fersk.video.VideoAnalyzer : Emotions of the faces of a video, frame after frame.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> rows = predict_faces([astronaut()], progress=False)
    >>> rows[["face", "label"]].values.tolist()
    [[0, 'happiness']]
    """
    import pandas as pd

    from ._core.batch import as_image_list, progress_bar
    from ._core.pipeline_tools import class_names
    from .models import load_model

    if isinstance(images, (str, os.PathLike)):
        images = [images]
    images = as_image_list(images, name="images")
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model() if model is None else load_model(model)
    names = class_names(model)
    rows = []
    with progress_bar(len(images), progress, desc="photos", unit="img") as bar:
        for source in images:
            rows.extend(_rows_of(source, model, names, detector, upsample))
            bar.update(1)
    return pd.DataFrame(rows)
