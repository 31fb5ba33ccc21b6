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
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._core.pipeline_tools import class_names, predict_proba_with
from .io import ImageReadError, describe_source, face_crop, read_image
from .landmarks.detection import DEFAULT_DETECTOR, find_faces

__all__ = [
    "PhotoResult",
    "check_annotate_folder",
    "iter_photos",
    "photo_columns",
    "photo_inputs",
    "predict_faces",
    "predict_to_rows",
    "read_persons_file",
    "write_annotated",
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


def _name(source) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else describe_source(source)


def _person_ids(images: list, persons) -> np.ndarray | None:
    """One person id per photo (None where unknown), from a sequence or a regex on file names."""
    if persons is None:
        return None
    if isinstance(persons, (str, re.Pattern)):
        pattern = re.compile(persons) if isinstance(persons, str) else persons
        ids = []
        for source in images:
            match = pattern.search(os.path.basename(_name(source)))
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


def _find(source, detector: str, upsample: int) -> tuple[str, np.ndarray | None, object, str]:
    """``(name, image, (boxes, scores), error)`` of one photo."""
    name = _name(source)
    try:
        image = read_image(source, color="rgb")
    except ImageReadError as exc:
        return name, None, None, f"unreadable: {exc}"
    return name, image, find_faces(image, detector=detector, upsample=upsample), ""


def _reference_features(photos: dict, model, detector: str, upsample: int) -> dict:
    """Each person's reference photos as model features; a bad reference is an error now."""
    out = {}
    for person, sources in photos.items():
        crops = []
        for source in sources:
            name, image, found, error = _find(source, detector, upsample)
            if error or not len(found[0]):
                raise ValueError(
                    f"the neutral photo {name} of person {person!r} "
                    + (f"cannot be read ({error})" if error else "has no face that can be found")
                )
            crops.append(face_crop(image, found[0][0]))
        out[person] = model.log_proba(crops)
    return out


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
            yield [_find(s, detector, upsample) for s in chunk]
        return
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    yield from parallel(delayed(_find_in_worker)(chunk, detector, upsample) for chunk in chunks)


def _find_in_worker(chunk, detector: str, upsample: int) -> list:
    """A worker's share: its photos' faces, on one thread (the workers are the parallelism)."""
    import cv2

    cv2.setNumThreads(1)
    return [_find(source, detector, upsample) for source in chunk]


def iter_photos(
    images,
    model=None,
    *,
    detector: str = DEFAULT_DETECTOR,
    upsample: int = 1,
    persons=None,
    neutral=None,
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
    ids = _person_ids(images, persons)
    flags, extra, ids = _references(neutral, images, ids)
    calibrating = ids is not None
    if calibrating and not (hasattr(model, "calibrate") and hasattr(model, "log_proba")):
        raise ValueError(
            f"persons/neutral need a model that calibrates to the person; this "
            f"{type(model).__name__} does not (the default model does, or wrap yours in "
            "fersk.features.calibration.PersonCalibratedClassifier)"
        )
    references = _reference_features(extra, model, detector, upsample) if extra else {}
    with progress_bar(len(images), progress, desc="photos", unit="img") as bar:
        batches = _counted(_found_batches(images, detector, upsample, batch_size, n_jobs), bar)
        if not calibrating:
            for batch in batches:
                yield from _predict_batch(batch, model, names, keep_images)
            return
        yield from _calibrated(batches, model, names, ids, flags, references, keep_images)


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


def _calibrated(batches, model, names, ids, flags, references, keep_images) -> list[PhotoResult]:
    """Calibrated rows: every photo's faces first (features), then each person's baselines."""
    from .features.calibration import person_baselines

    results, faces = [], []  # faces: (result index, row index, features, person, is reference)
    for batch in batches:
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
        ``neutral``, ``batch_size``, ``n_jobs``, ``progress``.

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


# --------------------------------------------------------------------------
# Photos on disk: every image under some inputs once, persons files, annotated copies
# --------------------------------------------------------------------------


def photo_inputs(
    items: Sequence[str | os.PathLike], skipped: list | None = None
) -> dict[str, str]:
    """Every image file under ``items`` once (by resolved path), with a unique annotated name.

    Folders are searched recursively (hidden files skipped) and resolved; a
    file keeps its own name. The annotated copy's name is the path below its
    input with ``/`` as ``__``, ``.jpg`` appended unless it ends in ``.jpg``
    (``p/q.png`` -> ``p__q.png.jpg``); a name already taken, also in another
    case, gets a counter (``p__q.png-2.jpg``).

    Parameters
    ----------
    items : sequence of path
        Image files and folders.
    skipped : list or None
        Gets ``(path, reason)`` for every entry of a folder that looks like a
        photo but is not read (a HEIC photo, a FIFO, an unreadable sub-folder:
        :func:`fersk.io.scan_image_files`).

    Returns
    -------
    dict
        ``{absolute path: annotated copy's name}``, in input order.

    Raises
    ------
    ValueError
        For an input that does not exist, or when no image is found.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["x.png", "x.jpg", "p/q.png", "p__q.png", "IMG_1.heic"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     _ = (root / name).write_bytes(b"")
    >>> skipped = []
    >>> sorted(photo_inputs([root, root / "x.png"], skipped).values())
    ['p__q.png-2.jpg', 'p__q.png.jpg', 'x.jpg', 'x.png.jpg']
    >>> [(pathlib.Path(p).name, why.split(":")[0]) for p, why in skipped]
    [('IMG_1.heic', 'a HEIC photo')]
    """
    from .io import scan_image_files

    names: dict[str, str] = {}
    taken: set[str] = set()
    for item in items:
        root = Path(item)
        if not root.exists():
            raise ValueError(f"input {os.fspath(item)!r} does not exist")
        if root.is_file():
            paths, below = [root.parent.resolve() / root.name], [root.name]
        else:
            below, passed = scan_image_files(root.resolve())
            paths = [root.resolve() / rel for rel in below]
            if skipped is not None:
                skipped.extend((str(root.resolve() / rel), why) for rel, why in passed)
        for path, rel in zip(paths, below):
            if str(path) in names:
                continue
            stem = str(rel).replace(os.sep, "__")
            stem = stem[:-4] if stem.lower().endswith(".jpg") else stem
            name, k = f"{stem}.jpg", 1
            while name.casefold() in taken:
                k += 1
                name = f"{stem}-{k}.jpg"
            taken.add(name.casefold())
            names[str(path)] = name
    if not names:
        raise ValueError("no image files in " + ", ".join(map(os.fspath, items)))
    return names


def read_persons_file(path: str | os.PathLike, files: Sequence[str]) -> tuple[list, list]:
    """Person ids and neutral flags for ``files`` from a CSV with columns ``file,person,neutral``.

    ``file`` is a path, absolute or relative to the CSV's folder (or a file
    name, matched against the files' names when unique); ``neutral`` is 1 for
    a neutral reference photo, else 0 (empty: 0). Files the CSV does not name
    get no person (they are not calibrated).

    Returns
    -------
    persons : list
        One id per file (None where unnamed).
    neutral : list of bool
        One flag per file.

    Raises
    ------
    ValueError
        A missing column, a neutral value other than 0/1, a file named twice or
        that is not among ``files`` (naming it and the line).
    """
    import csv

    base = Path(path).resolve().parent
    by_path = {os.path.abspath(f): i for i, f in enumerate(files)}
    by_name: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        by_name.setdefault(os.path.basename(f), []).append(i)
    persons: list = [None] * len(files)
    neutral = [False] * len(files)
    seen: set[int] = set()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "person"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: needs the columns file,person[,neutral]; lacks {missing}")
        for line, row in enumerate(reader, start=2):
            name = (row.get("file") or "").strip()
            full = os.path.abspath(base / name)
            hits = [by_path[full]] if full in by_path else by_name.get(os.path.basename(name), [])
            if len(hits) != 1:
                problem = "is not among the photos" if not hits else "matches several photos"
                raise ValueError(f"{path}: line {line}: the file {name!r} {problem}")
            (i,) = hits
            if i in seen:
                raise ValueError(f"{path}: line {line}: the file {name!r} is named twice")
            seen.add(i)
            flag = (row.get("neutral") or "0").strip()
            if flag not in ("0", "1"):
                raise ValueError(f"{path}: line {line}: neutral must be 0 or 1, got {flag!r}")
            persons[i] = (row.get("person") or "").strip() or None
            neutral[i] = flag == "1"
    return persons, neutral


def write_annotated(photo: PhotoResult, target: str | os.PathLike) -> None:
    """A copy of the photo with each face's box and label, written to ``target`` atomically.

    The image kept in ``photo`` is drawn on (else the file is read again).
    """
    from .io import AtomicOutput, write_image
    from .video.annotate import annotate_frame

    image = photo.image if photo.image is not None else read_image(photo.file, color="rgb")
    marked = annotate_frame(image, [{**r, "track": r["face"]} for r in photo.rows])
    with AtomicOutput(target) as tmp:
        write_image(tmp, marked)


def check_annotate_folder(folder: str | os.PathLike, inputs: Sequence) -> Path:
    """The folder for annotated copies, made now: refused if it is a file or overlaps the inputs.

    Raises
    ------
    ValueError
        When ``folder`` is a file, or is (or is inside, or holds) an input folder:
        the copies must never land among, or replace, the photos.
    """
    target = Path(folder).resolve()
    if target.exists() and not target.is_dir():
        raise ValueError(f"--annotate {os.fspath(folder)!r} is a file; give a folder")
    for item in inputs:
        source = Path(item).resolve()
        source = source if source.is_dir() else source.parent
        if target.is_relative_to(source) or source.is_relative_to(target):
            raise ValueError(
                f"--annotate {os.fspath(folder)!r} overlaps the input folder {str(source)!r}; "
                "give a folder apart from the photos"
            )
    target.mkdir(parents=True, exist_ok=True)
    return target


def predict_to_rows(
    files: Sequence[str],
    todo,
    model,
    write,
    *,
    line=lambda row: row,
    annotate: Mapping | None = None,
    **options,
) -> dict:
    """Predict photos and hand each photo's rows to ``write`` in one call (``fersk predict``).

    Parameters
    ----------
    files : sequence of str
        The photos, in order.
    todo : set of str
        Those whose rows are written (the rest are done already). Calibrated to
        persons, every photo is still read (a person's baseline is all their
        photos); otherwise only these.
    model : fitted model
    write : callable
        Called with the list of one photo's lines (e.g. a CSV writer's ``writerows``).
    line : callable, default=identity
        Turns a row (dict) into what ``write`` takes.
    annotate : mapping or None
        ``{photo: path}``: where to write each photo's annotated copy.
    **options
        Of :func:`iter_photos`.

    Returns
    -------
    dict
        Counts of ``faces``, ``no face`` and ``unreadable``, and ``images/s``.
    """
    import time

    calibrating = options.get("persons") is not None or options.get("neutral") is not None
    if not calibrating:
        files = [f for f in files if f in todo]
    counts = {"faces": 0, "no face": 0, "unreadable": 0}
    start = time.perf_counter()
    options.setdefault("progress", len(todo) > 1)
    for photo in iter_photos(files, model, keep_images=annotate is not None, **options):
        if photo.file not in todo:
            continue
        if annotate is not None and photo.rows[0]["face_found"]:
            write_annotated(photo, annotate[photo.file])
        write([line(row) for row in photo.rows])
        counts["faces"] += sum(bool(r["face_found"]) for r in photo.rows)
        counts["no face"] += sum(r["error"] == "no face found" for r in photo.rows)
        counts["unreadable"] += sum(r["error"].startswith("unreadable") for r in photo.rows)
    counts["images/s"] = len(todo) / max(time.perf_counter() - start, 1e-9)
    return counts
