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

from .io import CROP_SCALE, CROP_SHIFT, ImageReadError, describe_source, face_crop, read_image
from .landmarks.detection import MIN_RELATIVE_SCORE, detect_faces
from .pipeline_tools import predict_proba_with

__all__ = ["CROP_SCALE", "CROP_SHIFT", "face_crop", "find_faces", "predict_faces"]

#: A detection this confident is a face whatever the best score (group photos).
SURE_FACE_SCORE = 0.3


def find_faces(image: np.ndarray, *, detector: str = "hog", upsample: int = 1):
    """Every face in an image: boxes ``(n, 4)`` and detector scores, largest first.

    Boxes scoring under :data:`~fersk.landmarks.detection.MIN_RELATIVE_SCORE`
    of the best one are dropped, unless they score above 0.3 (a sure face:
    the faces of a group photo differ in confidence).

    Parameters
    ----------
    image : path or ndarray
        A photo, gray or colour (read as gray for the detector).
    detector : {"hog", "mmod", "none"}, default="hog"
        The face detector (see :data:`fersk.landmarks.DETECTORS`).
    upsample : int, default=1
        Times the image is doubled before detection (finds smaller faces,
        about 4 times slower each).

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4)
        ``left, top, right, bottom`` in the image's pixels, the largest box first.
    scores : ndarray of shape (n_faces,)
        The detector's score of each box.

    See Also
    --------
    fersk.predict.face_crop : The crop of a box that the models take.
    fersk.predict.predict_faces : Finds, crops and classifies every face of photos.
    fersk.landmarks.detect_faces : The detector, without the filtering and ordering.

    Examples
    --------
    >>> import numpy as np
    >>> boxes, scores = find_faces(np.zeros((80, 80), np.uint8))
    >>> boxes.shape
    (0, 4)
    >>> from skimage.data import astronaut
    >>> boxes, scores = find_faces(astronaut())
    >>> boxes.shape, face_crop(astronaut(), boxes[0]).shape
    ((1, 4), (117, 117, 3))
    """
    gray = read_image(image, color="gray")
    boxes, scores = detect_faces(gray, detector, upsample, 0.0)
    if len(boxes):
        keep = (scores >= MIN_RELATIVE_SCORE * scores.max()) | (scores >= SURE_FACE_SCORE)
        boxes, scores = boxes[keep], scores[keep]
        order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        boxes, scores = boxes[order], scores[order]
    return boxes, scores


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
    fersk.predict.find_faces : The face boxes of one photo.
    fersk.predict.face_crop : How each face is cropped for the model.
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

    from .batch import as_image_list, progress_bar
    from .models import load_model
    from .pipeline_tools import class_names

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
