"""The emotion on every face of photos: find the faces, crop them as the model saw faces, predict.

fersk's models are trained on face crops (FER2013's 48-pixel faces, CK+48's):
a face filling about 78% of the crop, centred slightly below the middle.
:func:`iter_photos` decodes each photo once, finds every face
(:func:`fersk.landmarks.find_faces`), cuts that framing around each
(:func:`fersk.io.face_crop`) and runs the model on the faces of many photos at
once; :func:`predict_faces` gathers its rows in a DataFrame. One row per face
of each photo (every face, not only the largest), or one row saying why a
photo has none (no face found, unreadable), always in input order.

Calibrated to the person: give ``persons`` (a person id per photo, or a
regular expression on the file name) and optionally ``neutral`` reference
photos, and a model that calibrates (the default model does; see
:class:`fersk.features.calibration.PersonCalibratedClassifier`) reads each
person's faces against their own baselines. Every row says what was done:
``person``, ``calibration`` (``neutral``, ``mean`` or ``none``) and
``n_references``. Only a photo's largest face is taken to be its person;
other faces in it are never calibrated with that person's baseline.

Without ids, ``group_faces=True`` groups every face by who it is (dlib's face
descriptors, :func:`fersk.landmarks.identity.group_faces`) and calibrates each
group to its own mean: a folder of people's photos is read person by person
with nobody named (``person`` is then ``face-0``, ``face-1``, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from ._core.pipeline_tools import class_names, predict_proba_with
from .features.calibration import reference_face, reference_log_proba
from .io import face_crop, source_name
from .landmarks.detection import DEFAULT_DETECTOR, find_in_photo

__all__ = [
    "PhotoResult",
    "check_calibrates",
    "iter_photos",
    "person_ids",
    "photo_columns",
    "predict_faces",
]

BOX = ("x0", "y0", "x1", "y1")


@dataclass
class PhotoResult:
    """One photo's faces: its name, the decoded image (when kept) and a row per face.

    Attributes
    ----------
    file : str
        The photo's path (or a description of an array).
    image : ndarray or None
        The decoded RGB image, when :func:`iter_photos` was asked to keep it
        (None for an unreadable photo).
    rows : list of dict
        One row per face (columns :func:`photo_columns`), or one row with
        ``face_found=False`` and ``error`` saying why there is none.
    """

    file: str
    image: np.ndarray | None = None
    rows: list[dict] = field(default_factory=list)


def photo_columns(model) -> list[str]:
    """The columns of :func:`predict_faces`'s rows for ``model`` (one ``p_<class>`` per class).

    Examples
    --------
    >>> from fersk.models import load_model
    >>> photo_columns(load_model())[:4]
    ['file', 'face', 'face_found', 'error']
    """
    return [
        "file", "face", "face_found", "error", *BOX, "score", "person", "calibration",
        "n_references", "label", "confidence", *(f"p_{n}" for n in class_names(model)),
    ]  # fmt: skip


# --------------------------------------------------------------------------
# Who is who
# --------------------------------------------------------------------------


def person_ids(images: list, persons) -> np.ndarray | None:
    """One person id per photo (None where unknown), from a sequence or a regex on file names.

    A regular expression finds the person in each file name (its first group, or
    the whole match); one that is not valid, or matches no name, is an error.

    Examples
    --------
    >>> person_ids(["ann_1.jpg", "bob_2.jpg", "x.jpg"], r"^([a-z]+)_").tolist()
    ['ann', 'bob', None]
    >>> person_ids(["a.jpg"], "(")
    Traceback (most recent call last):
    ...
    ValueError: the person pattern '(' is not a regular expression: missing ), unterminated \
subpattern at position 0
    """
    if persons is None:
        return None
    if isinstance(persons, (str, re.Pattern)):
        try:
            pattern = re.compile(persons) if isinstance(persons, str) else persons
        except re.error as exc:
            raise ValueError(
                f"the person pattern {persons!r} is not a regular expression: {exc}"
            ) from None
        ids = []
        for source in images:
            match = pattern.search(os.path.basename(source_name(source)))
            ids.append(None if match is None else (match.group(1) if pattern.groups else match[0]))
        if all(i is None for i in ids):
            raise ValueError(
                f"the person pattern {pattern.pattern!r} matches none of the {len(images)} file "
                "names; give a regular expression that finds the person in each name (its first "
                "group, or the whole match)"
            )
        return np.array(ids, dtype=object)
    ids = np.array(list(persons), dtype=object)
    if ids.shape != (len(images),):
        raise ValueError(f"persons must hold one id per photo: got {len(ids)} for {len(images)}")
    return ids


def _is_image_like(value) -> bool:
    return isinstance(value, (str, os.PathLike)) or (
        isinstance(value, np.ndarray) and value.ndim in (2, 3) and value.dtype != bool
    )


def _references(neutral, images: list, ids: np.ndarray | None):
    """``(flags over the photos, {person: [reference photos]}, ids)`` from ``neutral``."""
    if neutral is None:
        return None, {}, ids
    if isinstance(neutral, Mapping):
        if ids is None:
            raise ValueError("neutral maps persons to photos: give persons= as well")
        extra = {p: list(v) if isinstance(v, (list, tuple)) else [v] for p, v in neutral.items()}
        unknown = sorted(str(p) for p in set(extra) - set(ids.tolist()))
        if unknown:
            raise ValueError(f"neutral names persons no photo belongs to: {unknown[:5]}")
        return None, extra, ids
    if _is_image_like(neutral) or (
        isinstance(neutral, (list, tuple)) and neutral and all(map(_is_image_like, neutral))
    ):
        photos = [neutral] if _is_image_like(neutral) else list(neutral)
        if ids is None:  # one person: every photo is theirs
            ids = np.full(len(images), "person", dtype=object)
        elif len(set(ids.tolist()) - {None}) > 1:
            raise ValueError(
                "neutral photos were given for one person, but the photos belong to several; "
                "give neutral as {person: photo(s)} or as one True/False per photo"
            )
        person = next((p for p in ids.tolist() if p is not None), "person")
        return None, {person: photos}, ids
    flags = np.asarray(neutral)
    if flags.shape != (len(images),) or flags.dtype != bool:
        raise ValueError(
            "neutral must be a photo, a list of photos, {person: photo(s)}, or one True/False "
            f"per photo (got {type(neutral).__name__} of shape {flags.shape})"
        )
    if ids is None:
        raise ValueError("neutral flags mark reference photos of persons: give persons= as well")
    return flags, {}, ids


# --------------------------------------------------------------------------
# Finding faces (a worker's share) and running the model (in batches)
# --------------------------------------------------------------------------


def _empty(name: str, names: list[str], error: str, person=None) -> dict:
    return {
        "file": name, "face": -1, "face_found": False, "error": error,
        **dict.fromkeys((*BOX, "score", "confidence"), np.nan),
        "person": "" if person is None else person, "calibration": "none", "n_references": 0,
        "label": "", **{f"p_{n}": np.nan for n in names},
    }  # fmt: skip


def _face_row(name, k, box, score, proba, names, person=None) -> dict:
    best = int(np.argmax(proba))
    return {
        "file": name, "face": k, "face_found": True, "error": "",
        **{key: round(float(v), 1) for key, v in zip(BOX, box)},
        "score": round(float(score), 3), "person": "" if person is None else person,
        "calibration": "none", "n_references": 0, "label": names[best],
        "confidence": float(proba[best]), **{f"p_{n}": float(v) for n, v in zip(names, proba)},
    }  # fmt: skip


def _found_batches(images, detector, upsample, batch_size, n_jobs):
    """The photos' decoded images and faces, in order, a batch at a time (workers find faces)."""
    from joblib import Parallel, delayed

    chunks = [images[i : i + batch_size] for i in range(0, len(images), batch_size)]
    if n_jobs in (None, 1) or len(images) < 2 * batch_size:
        for chunk in chunks:
            yield [find_in_photo(s, detector, upsample) for s in chunk]
        return
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    yield from parallel(delayed(_find_in_worker)(chunk, detector, upsample) for chunk in chunks)


def _find_in_worker(chunk, detector: str, upsample: int) -> list:
    """A worker's share: its photos' faces, on one thread (the workers are the parallelism)."""
    import cv2

    cv2.setNumThreads(1)
    return [find_in_photo(source, detector, upsample) for source in chunk]


def iter_photos(
    images,
    model=None,
    *,
    detector: str = DEFAULT_DETECTOR,
    upsample: int = 1,
    persons=None,
    neutral=None,
    group_faces: bool = False,
    batch_size: int = 32,
    n_jobs: int | None = 1,
    keep_images: bool = False,
    progress: bool | str = "auto",
) -> Iterator[PhotoResult]:
    """Each photo's faces and their emotions, in input order, the model run on batches of faces.

    Parameters
    ----------
    images : sequence of image paths or arrays (or one path)
        Photos, with faces anywhere and of any number.
    model : fitted estimator, str or None, default=None
        A model taking face crops (a shipped model's name, a model folder, a
        ``.joblib`` file, or a fitted estimator); None is the default model.
    detector : {"yunet", "hog", "mmod"}, default="yunet"
        The face detector (:data:`fersk.landmarks.detection.DETECTORS`).
    upsample : int, default=1
        Times the image is doubled before detection (finds faces from ~40 px).
    persons : sequence, str or None, default=None
        A person id per photo (None for unknown), or a regular expression
        finding the person in each file name (its first group, or the whole
        match). Needs a model that calibrates.
    neutral : photo, list of photos, mapping, sequence of bool, or None
        Neutral reference photos: of the one person (a photo or a list; then
        ``persons`` may be left out: every photo is that person's), per
        person (``{person: photo(s)}``), or flags marking which of ``images``
        are references (one True/False per photo).
    group_faces : bool, default=False
        Without ``persons``: group every face (not only each photo's
        largest) by who it is, and calibrate each group to its mean (and
        to the ``neutral`` photos flagged in it). Needs a model that
        calibrates; about 80 ms more per face on one core.
    batch_size : int, default=32
        Photos whose faces go through the model together.
    n_jobs : int or None, default=1
        Worker processes decoding photos and finding faces.
    keep_images : bool, default=False
        Keep each decoded image in its :class:`PhotoResult` (to draw on it).
    progress : bool or "auto", default="auto"
        A progress bar over the photos.

    Yields
    ------
    PhotoResult
        One per photo, in the order of ``images``.

    Raises
    ------
    ValueError
        Bad ``persons``/``neutral`` (a pattern matching no file name, a
        reference without a face), or calibration asked of a model that
        cannot calibrate: before any photo is read.

    See Also
    --------
    fersk.predict.predict_faces : The same rows, as one DataFrame.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> [r["label"] for photo in iter_photos([astronaut()], progress=False) for r in photo.rows]
    ['happiness']
    """
    from ._core.batch import as_image_list, progress_bar
    from .models import load_model

    if isinstance(images, (str, os.PathLike)):
        images = [images]
    images = as_image_list(images, name="images")
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model() if model is None else load_model(model)
    names = class_names(model)
    ids = person_ids(images, persons)
    if group_faces and ids is not None:
        raise ValueError("group_faces finds the persons itself: give it or persons, not both")
    if group_faces:
        flags, extra, ids = _group_references(neutral, images)
    else:
        flags, extra, ids = _references(neutral, images, ids)
    calibrating = ids is not None
    if calibrating:
        check_calibrates(model)
    for i in np.flatnonzero(flags) if flags is not None else ():  # no face: an error, now
        reference_face(images[i], None if ids is None else ids[i], detector, upsample)
    references = reference_log_proba(extra, model, detector, upsample) if extra else {}
    with progress_bar(len(images), progress, desc="photos", unit="img") as bar:
        batches = _counted(_found_batches(images, detector, upsample, batch_size, n_jobs), bar)
        if not calibrating:
            for batch in batches:
                yield from _predict_batch(batch, model, names, keep_images)
            return
        yield from _calibrated(
            batches, model, names, ids, flags, references, keep_images, group_faces
        )


def check_calibrates(model) -> None:
    """An error unless ``model`` calibrates to the person (what persons and neutral need).

    Examples
    --------
    >>> from fersk.models import load_model
    >>> check_calibrates(load_model())  # the default model does
    >>> check_calibrates(load_model("cnn-ferplus"))
    Traceback (most recent call last):
    ...
    ValueError: persons, neutral and group_faces need a model that calibrates to the person; \
this Pipeline does not (the default model does, or wrap yours in \
fersk.features.calibration.PersonCalibratedClassifier)
    """
    if not (hasattr(model, "calibrate") and hasattr(model, "log_proba")):
        raise ValueError(
            f"persons, neutral and group_faces need a model that calibrates to the person; this "
            f"{type(model).__name__} does not (the default model does, or wrap yours in "
            "fersk.features.calibration.PersonCalibratedClassifier)"
        )


def _group_references(neutral, images: list):
    """``_references`` for group_faces: only flags among the photos (a group has no name)."""
    flags = None if neutral is None else np.asarray(neutral)
    if flags is not None and (flags.shape != (len(images),) or flags.dtype != bool):
        raise ValueError(
            "with group_faces, mark the neutral references among the photos (one "
            "True/False per photo): a photo outside them, or a named person, has no group"
        )
    return flags, {}, np.full(len(images), None, dtype=object)


def _counted(batches, bar):
    for batch in batches:
        yield batch
        bar.update(len(batch))


def _predict_batch(batch, model, names, keep_images) -> list[PhotoResult]:
    crops = [face_crop(image, box) for _, image, found, _ in batch if found for box in found[0]]
    proba = predict_proba_with(model, crops) if crops else np.empty((0, len(names)))
    results, k = [], 0
    for name, image, found, error in batch:
        result = PhotoResult(name, image if keep_images else None)
        if error or not len(found[0]):
            result.rows.append(_empty(name, names, error or "no face found"))
        for j, (box, score) in enumerate(zip(*found) if found else ()):
            result.rows.append(_face_row(name, j, box, score, proba[k], names))
            k += 1
        results.append(result)
    return results


def _calibrated(
    batches, model, names, ids, flags, references, keep_images, grouping=False
) -> list[PhotoResult]:
    """Calibrated rows: every photo's faces first (features), then each person's baselines."""
    from .features.calibration import person_baselines
    from .landmarks.identity import face_descriptors, group_faces

    results, faces = [], []  # faces: (result index, row index, features, person, is reference)
    descriptors = []  # grouping: every face's
    for batch in batches:
        if grouping:
            descriptors += [face_descriptors(image, found[0]) for _, image, found, _ in batch
                            if found and len(found[0])]  # fmt: skip
        crops = [face_crop(image, box) for _, image, found, _ in batch if found for box in found[0]]
        Z = model.log_proba(crops) if crops else np.empty((0, len(model.estimator_.classes_)))
        k = 0
        for name, image, found, error in batch:
            index = len(results)
            person = ids[index]
            result = PhotoResult(name, image if keep_images else None)
            if error or not len(found[0]):
                result.rows.append(_empty(name, names, error or "no face found", person))
            for j, (box, score) in enumerate(zip(*found) if found else ()):
                mine = person if j == 0 else None  # only the largest face is the photo's person
                result.rows.append(_face_row(name, j, box, score, np.exp(Z[k]), names, mine))
                ref = bool(flags[index]) if flags is not None and j == 0 else False
                faces.append((index, j, Z[k], mine, ref))
                k += 1
            results.append(result)
    if faces and grouping:  # every face is its group's, not only a photo's largest
        groups = group_faces(np.vstack(descriptors))
        faces = [(*f[:3], f"face-{groups[i]}", f[4]) for i, f in enumerate(faces)]
        for index, j, _, person, _ in faces:
            results[index].rows[j]["person"] = person
    if faces:
        Z = np.array([f[2] for f in faces])
        people = [f[3] for f in faces]
        marked = np.array([f[4] for f in faces], dtype=bool)
        for person, rows in references.items():  # reference photos not among the inputs
            Z = np.vstack([Z, rows])
            people += [person] * len(rows)
            marked = np.concatenate([marked, np.ones(len(rows), dtype=bool)])
        parts = person_baselines(
            Z, people, marked, population=model.population_, shrinkage=float(model.shrinkage),
            min_photos=int(model.min_photos), baseline=model.baseline,
        )  # fmt: skip
        proba = model.calibrate(Z, parts)
        for i, (index, j, _, _, _) in enumerate(faces):
            row = results[index].rows[j]
            best = int(np.nanargmax(proba[i]))
            row.update(
                calibration=parts["calibration"][i], n_references=int(parts["n_references"][i]),
                label=names[best], confidence=float(proba[i, best]),
                **{f"p_{n}": float(v) for n, v in zip(names, proba[i])},
            )  # fmt: skip
    return results


def predict_faces(images, model=None, **options):
    """The emotion of every face in each photo: one row per face, in photo order.

    Parameters
    ----------
    images : sequence of image paths or arrays (or one path)
    model : fitted estimator, str or None, default=None
        As for :func:`iter_photos`.
    **options
        Of :func:`iter_photos`: ``detector``, ``upsample``, ``persons``,
        ``neutral``, ``group_faces``, ``batch_size``, ``n_jobs``, ``progress``.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`photo_columns`: a face per row (``face`` counts from
        0, largest first); a photo without a face, or that cannot be read,
        gets one row with ``face=-1``, ``face_found=False`` and ``error``
        saying why; ``person``, ``calibration`` and ``n_references`` say how
        each row was calibrated.

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
    >>> rows[["face", "label", "calibration"]].values.tolist()
    [[0, 'happiness', 'none']]
    """
    import pandas as pd

    from .models import load_model

    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model() if model is None else load_model(model)
    rows = [row for photo in iter_photos(images, model, **options) for row in photo.rows]
    return pd.DataFrame(rows, columns=photo_columns(model))
