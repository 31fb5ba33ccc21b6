"""``fersk predict``'s photos on disk and its outputs.

The command line's side of :mod:`fersk.predict`: every image under some inputs
once (:func:`photo_inputs`), a persons file (:func:`read_persons_file`), the
model a command may read photos with (:func:`load_image_model`), annotated
copies (:func:`check_annotate_folder`, :func:`write_annotated`), and the rows
on screen or in a resumable CSV (:func:`write_predictions`,
:func:`predict_to_rows`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..features.calibration import reference_face
from ..io import read_image
from ..landmarks.detection import DEFAULT_DETECTOR
from ..predict import PhotoResult, check_calibrates, iter_photos, person_ids, photo_columns

__all__ = [
    "check_annotate_folder",
    "describe_skipped",
    "load_image_model",
    "photo_inputs",
    "predict_to_rows",
    "read_persons_file",
    "row_values",
    "screen_columns",
    "write_annotated",
    "write_predictions",
]


# --------------------------------------------------------------------------
# Photos on disk: every image under some inputs once, persons files, annotated copies
# --------------------------------------------------------------------------


def photo_inputs(
    items: Sequence[str | os.PathLike],
    skipped: list | None = None,
    *,
    say: Callable[[str], object] | None = None,
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
    say : callable or None, default=None
        Called with one line naming those entries (:func:`describe_skipped`),
        when there are any.

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
    >>> _ = photo_inputs([root], say=lambda line: print(line.split(":")[0]))
    1 skipped
    """
    from ..io import scan_image_files

    skipped = [] if skipped is None else skipped
    first = len(skipped)
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
    if say is not None and len(skipped) > first:
        say(describe_skipped(skipped[first:]))
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
    import io

    base = Path(path).resolve().parent
    by_path = {os.path.abspath(f): i for i, f in enumerate(files)}
    by_name: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        by_name.setdefault(os.path.basename(f), []).append(i)
    persons: list = [None] * len(files)
    neutral = [False] * len(files)
    seen: set[int] = set()
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})"
        ) from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "person"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: needs the columns file,person[,neutral]; lacks {missing}")
        for line, row in enumerate(reader, start=2):
            if None in row:  # more fields than the header names
                raise ValueError(f"{path}: line {line}: more fields than the header's")
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
    from ..io import AtomicOutput, write_image
    from ..video.annotate import annotate_frame

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
        Counts of ``faces``, ``no face`` and ``unreadable``, ``people`` (the
        person ids among the rows written, when calibrating), and ``images/s``.
    """
    import time

    calibrating = options.get("persons") is not None or options.get("neutral") is not None
    calibrating = calibrating or bool(options.get("group_faces"))
    if not calibrating:
        files = [f for f in files if f in todo]
    counts = {"faces": 0, "no face": 0, "unreadable": 0}
    people: set = set()
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
        people.update(r["person"] for r in photo.rows if r["person"])
    if calibrating:
        counts["people"] = len(people)
    counts["images/s"] = len(todo) / max(time.perf_counter() - start, 1e-9)
    return counts


# --------------------------------------------------------------------------
# The model the photo commands run, and what they show
# --------------------------------------------------------------------------


def load_image_model(
    name: str | os.PathLike | None = None,
    *,
    what: str = "model",
    note: Callable[[str], object] | None = None,
) -> tuple[object, str]:
    """A model that reads images (:func:`fersk.models.load_model`), and how records name it.

    Parameters
    ----------
    name : str, path-like or None, default=None
        A shipped model's name, a model folder or a ``.joblib`` pickle; None
        is :data:`fersk.models.DEFAULT_MODEL`.
    what : str, default="model"
        How messages name it (``"--model"`` for a command line).
    note : callable or None, default=None
        Called with one line saying that a pickle runs the code it names, in
        place of the :class:`fersk.models.PickleWarning` (other warnings are
        issued as they come); None: the warning is issued.

    Returns
    -------
    model : fitted estimator
        With a step that reads images: a landmark extractor, a clarity
        binner or a CNN input.
    model_id : str
        Its name in records (:func:`fersk.models.model_id`): a shipped
        model's name, else the absolute path.

    Raises
    ------
    ValueError
        Naming ``what`` and ``name``: not a model (why, from
        :func:`fersk.models.load_model`), or a model that reads no images (a
        classifier of features, which the photo commands cannot give images).

    Examples
    --------
    >>> from fersk.models import DEFAULT_MODEL
    >>> model, name = load_image_model()
    >>> name == DEFAULT_MODEL
    True
    >>> load_image_model("no-such-model", what="--model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --model 'no-such-model': no fersk model 'no-such-model': ...
    """
    import warnings

    from .._core.base import ImageInputMixin
    from .._core.pipeline_tools import find_steps
    from ..models import DEFAULT_MODEL, PickleWarning, load_model, model_id

    name = DEFAULT_MODEL if name is None else name
    shown = f"{what} {os.fspath(name)!r}"
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PickleWarning)
            model = load_model(name)
    except ValueError as exc:
        raise ValueError(f"{shown}: {exc}") from None
    finally:  # the pickle note once, in one line; other warnings go on as they were
        for w in caught:
            if note is None or not issubclass(w.category, PickleWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if note is not None and any(issubclass(w.category, PickleWarning) for w in caught):
            note(f"{shown} is a pickle: loading it runs the code it names, so load only files you "
                 "trust")  # fmt: skip
    if not find_steps(model, ImageInputMixin):
        raise ValueError(
            f"{shown} holds a {type(model).__name__} that does not read images (no landmark "
            "extractor, clarity binner or CNN input step); fersk commands give it images"
        )
    return model, model_id(name)


def describe_skipped(skipped: Sequence[tuple[str, str]], shown: int = 3) -> str:
    """One line naming the entries :func:`photo_inputs` passed over (the first ``shown``).

    Parameters
    ----------
    skipped : sequence of (path, reason)
        As :func:`photo_inputs` collects them.
    shown : int, default=3
        How many are named; the rest are counted.

    Returns
    -------
    str
        ``"<n> skipped: <name>: <reason>; ... (and <k> more)"``, or ``""`` for none.

    Examples
    --------
    >>> passed = [("/p/IMG_1.heic", "a HEIC photo"), ("/p/pipe", "not a regular file")]
    >>> describe_skipped(passed, shown=1)
    '2 skipped: IMG_1.heic: a HEIC photo (and 1 more)'
    >>> describe_skipped([])
    ''
    """
    if not skipped:
        return ""
    named = "; ".join(f"{os.path.basename(p.rstrip('/'))}: {why}" for p, why in skipped[:shown])
    more = f" (and {len(skipped) - shown} more)" if len(skipped) > shown else ""
    return f"{len(skipped)} skipped: {named}{more}"


def screen_columns(calibrated: bool = False) -> list[str]:
    """The columns ``fersk predict`` shows on the screen: each face's label, not every probability.

    Parameters
    ----------
    calibrated : bool, default=False
        Calibrating to persons: the ``person`` and ``calibration`` columns too.

    Examples
    --------
    >>> screen_columns()
    ['file', 'face', 'label', 'confidence', 'error']
    >>> screen_columns(calibrated=True)
    ['file', 'face', 'person', 'calibration', 'label', 'confidence', 'error']
    """
    people = ["person", "calibration"] if calibrated else []
    return ["file", "face", *people, "label", "confidence", "error"]


def row_values(row: Mapping, columns: Sequence[str], *, screen: bool = False) -> list:
    """A row of :func:`iter_photos` as a CSV line: its values under ``columns`` ('' if missing).

    Parameters
    ----------
    row : mapping
        One face's row (columns :func:`photo_columns`).
    columns : sequence of str
        The columns written, in order.
    screen : bool, default=False
        For the screen: the confidence with 3 decimals, '' where no face was found.

    Examples
    --------
    >>> row = {"file": "a.jpg", "face": 0, "label": "happiness", "confidence": 0.91234}
    >>> row_values(row, ["file", "label", "confidence", "person"])
    ['a.jpg', 'happiness', 0.91234, '']
    >>> row_values(row, ["label", "confidence"], screen=True)
    ['happiness', '0.912']
    >>> row_values({"confidence": float("nan")}, ["confidence"], screen=True)
    ['']
    """
    values = [row.get(k, "") for k in columns]
    if screen and "confidence" in columns:
        i = list(columns).index("confidence")
        confidence = values[i]
        missing = confidence in ("", None) or confidence != confidence
        values[i] = "" if missing else f"{confidence:.3f}"
    return values


def _flags_among(files: Sequence[str], neutral: Sequence) -> list[bool]:
    """One True/False per file: whether it is one of the ``neutral`` photos (each among them)."""
    odd = [n for n in neutral if not isinstance(n, (str, os.PathLike))]
    if odd:
        raise ValueError(f"neutral must name photos (paths), got {odd[0]!r}")
    wanted = {os.path.realpath(n): n for n in neutral}
    found = {os.path.realpath(f) for f in files}
    missing = [n for path, n in wanted.items() if path not in found]
    if missing:
        raise ValueError(
            f"the neutral photo {os.fspath(missing[0])} is not among the photos: with faces "
            "grouped by who they are, a reference joins the group of its face, so give it as "
            "an input too"
        )
    return [os.path.realpath(f) in wanted for f in files]


def write_predictions(
    photos: Mapping[str, str] | Sequence[str | os.PathLike],
    model=None,
    csv_path: str | os.PathLike | None = None,
    *,
    model_name: str | None = None,
    annotate: str | os.PathLike | None = None,
    person: str | None = None,
    persons_file: str | os.PathLike | None = None,
    neutral: Sequence | None = None,
    group_faces: bool = False,
    detector: str = DEFAULT_DETECTOR,
    upsample: int = 1,
    batch_size: int = 32,
    n_jobs: int | None = 1,
    what: str = "csv_path",
    stream=None,
    say: Callable[[str], object] | None = None,
) -> dict:
    """``fersk predict``: every face of the photos, to a resumable CSV or as a short table.

    With ``csv_path``, every column of :func:`photo_columns` goes to a
    :class:`fersk.io.ResumableCSV` keyed on the file, with the settings of
    ``fersk predict`` (a rerun with the same settings, from the command line
    or from Python, does only the photos not done yet); without, the columns
    of :func:`screen_columns` go to ``stream``. Each photo's rows are written
    at once.

    Parameters
    ----------
    photos : mapping or sequence
        :func:`photo_inputs`'s ``{path: annotated copy's name}``, or image
        files and folders (listed with it).
    model : fitted estimator, str or None, default=None
        A fitted model that reads images, or its name for
        :func:`load_image_model` (None: the default model).
    csv_path : str, path-like or None, default=None
        The CSV (checked beforehand, e.g. with :func:`fersk.io.check_output_path`).
    model_name : str or None, default=None
        How the CSV's settings name the model (default: the name it was
        loaded by, or its class name).
    annotate : path or None, default=None
        A folder (:func:`check_annotate_folder`) for copies of the photos with
        each face's box and label.
    person : str or None, default=None
        A regular expression finding the person in each file name.
    persons_file : path or None, default=None
        A CSV of ``file,person,neutral`` (:func:`read_persons_file`).
    neutral : sequence of paths or None, default=None
        Neutral photos of the person (of the one person, unless ``person``;
        with ``group_faces``, photos among ``photos``, each the reference of
        its face's group).
    group_faces : bool, default=False
        Without ids: group the faces by who they are and calibrate each group
        to itself (:func:`fersk.predict.iter_photos`).
    detector, upsample, batch_size, n_jobs
        Of :func:`iter_photos`.
    what : str, default="csv_path"
        How messages name the CSV (``"--csv"`` for a command line).
    stream : file or None, default=None
        Where the short table goes without ``csv_path`` (None: ``sys.stdout``).
    say : callable or None, default=None
        Called with a line before the work (how many photos, how many done
        already) and one after (the counts and speed).

    Returns
    -------
    dict
        :func:`predict_to_rows`'s counts, for the photos done by this run.

    Examples
    --------
    >>> import io, tempfile
    >>> from skimage.data import astronaut
    >>> from fersk.io import write_image
    >>> photo = write_image(tempfile.mkdtemp() + "/astronaut.png", astronaut())
    >>> table = io.StringIO()
    >>> counts = write_predictions([photo], stream=table)
    >>> print(table.getvalue().splitlines()[0])
    file,face,label,confidence,error
    >>> counts["faces"]
    1
    """
    import contextlib
    import csv
    import functools
    import sys

    from ..io import resumed_csv

    say = say or (lambda text: None)
    if model is None or isinstance(model, (str, os.PathLike)):
        model, model_name = load_image_model(model)
    marked = photos if isinstance(photos, Mapping) else photo_inputs(photos)
    files = list(marked)
    if isinstance(neutral, (str, os.PathLike)):  # one photo
        neutral = [neutral]
    persons, flags, marks = person, neutral, []
    if persons_file is not None:
        persons, marks = read_persons_file(persons_file, files)
        flags = neutral or (marks if any(marks) else None)
    calibrated = persons is not None or flags is not None or group_faces
    persons = person_ids(files, persons)  # a bad pattern: an error before any output
    if group_faces and neutral:
        flags = _flags_among(files, neutral)
    if calibrated:  # before the CSV is opened: the model, then every reference's face
        check_calibrates(model)
        for source in neutral or [f for f, mark in zip(files, marks) if mark]:
            reference_face(source, None, detector, upsample)
    options = {"detector": detector, "upsample": upsample, "persons": persons, "neutral": flags}
    options["group_faces"] = group_faces
    options.update(batch_size=batch_size, n_jobs=n_jobs)
    if annotate is not None:
        options["annotate"] = {f: Path(annotate) / name for f, name in marked.items()}
    with contextlib.ExitStack() as stack:
        if csv_path is None:
            columns, todo = screen_columns(calibrated), set(files)
            screen = csv.writer(sys.stdout if stream is None else stream)
            screen.writerow(columns)
            write = screen.writerows
        else:
            settings = {"command": "fersk predict", "model": model_name or type(model).__name__}
            settings.update(detector=detector, upsample=upsample, person=person)
            if group_faces:  # absent otherwise: CSVs of earlier versions resume
                settings["group_faces"] = True
            settings["persons"] = None if persons_file is None else os.fspath(persons_file)
            settings["neutral"] = [os.path.abspath(n) for n in neutral or []]
            if calibrated:  # a person's rows depend on all their photos
                settings["inputs"] = files
            columns, out = photo_columns(model), Path(csv_path)
            opened = resumed_csv(out, columns, settings, key="file", what=what, say=say)
            table, done = stack.enter_context(opened)
            todo, write = {f for f in files if f not in done}, table.write_rows
            say(f"{len(files)} images; {len(done)} already in {out}; {len(todo)} to do")
        line = functools.partial(row_values, columns=columns, screen=csv_path is None)
        counts = predict_to_rows(files, todo, model, write, line=line, **options)
        people = f" of {counts['people']} people" if "people" in counts else ""
        say(f"{len(todo)} images: {counts['faces']} faces{people}, {counts['no face']} without "
            f"a face, {counts['unreadable']} unreadable (skipped); {counts['images/s']:.1f} "
            "images/s"
            + (f"; rows in {csv_path}" if csv_path is not None else ""))  # fmt: skip
    return counts
