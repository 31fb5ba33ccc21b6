"""Loader for CK+ (Extended Cohn-Kanade), in its original layout or as CK+48.

CK+ has posed sequences going from a neutral onset to the expression's apex.
Two layouts are read:

- the original distribution: ``cohn-kanade-images/S005/001/S005_001_00000001.png``
  (from ``extended-cohn-kanade-images.zip``) and
  ``Emotion/S005/001/S005_001_00000011_emotion.txt`` (from
  ``Emotion_labels.zip``; one float label ``0..7``, only for the labelled
  sequences, named after the apex frame);
- CK+48: ``<class>/S005_001_00000011.png``, the last three frames of each
  labelled sequence, in one folder per emotion class.

CK+ has no official split; evaluate subject-independently with
:class:`sklearn.model_selection.GroupKFold` on ``subject``.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..io import IMAGE_EXTENSIONS, list_image_files, natural_sort_key
from ._base import (
    EMOTION_ALIASES,
    UNKNOWN_SPLIT,
    canonical_emotion,
    check_subset,
    compile_pattern,
    first_examples,
    make_bunch,
    resolve_dir,
)

CKPLUS_LABELS: tuple[str, ...] = (
    "neutral",
    "anger",
    "contempt",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)
"""CK+ emotion codes ``0..7`` (index = code) as canonical emotion names."""

DEFAULT_PATTERN = r"^(?P<subject>S\d+)_(?P<sequence>\d+)_(?P<frame>\d+)"
"""File-name pattern giving the subject, sequence and frame of a CK+ image."""

_GROUPS = ("subject", "sequence", "frame")
_EMOTION_SUFFIX = "_emotion.txt"
_ORIGINAL = "cohn-kanade-images/<subject>/<sequence>/<image> + Emotion/<subject>/<sequence>/"
_CK48 = "<class>/<image>"


@dataclass(frozen=True)
class _Frame:
    """One image: absolute path, parsed ids and (CK+48) its class folder's emotion."""

    path: str
    subject: str
    sequence: str
    frame: int
    label: str = ""


def _child(parent: Path, name: str) -> Path | None:
    """The sub-folder of ``parent`` called ``name``, ignoring case."""
    exact = parent / name
    if exact.is_dir():
        return exact
    for entry in parent.iterdir() if parent.is_dir() else ():
        if entry.is_dir() and entry.name.lower() == name.lower():
            return entry
    return None


def _original_dirs(root: Path) -> tuple[Path, Path] | None:
    """``(images, emotions)`` folders of the original layout, or None if not that layout."""
    images = _child(root, "cohn-kanade-images")
    if images is None:
        outer = _child(root, "extended-cohn-kanade-images")
        images = None if outer is None else _child(outer, "cohn-kanade-images")
    if images is None:
        return None
    emotions = _child(root, "Emotion")
    if emotions is None:
        outer = _child(root, "Emotion_labels")
        emotions = None if outer is None else _child(outer, "Emotion")
    if emotions is None:
        raise FileNotFoundError(
            f"CK+ images found in {images} but no emotion labels: expected "
            f"{root}/Emotion/<subject>/<sequence>/<subject>_<sequence>_<frame>_emotion.txt "
            "(the Emotion folder of Emotion_labels.zip, also accepted as "
            "Emotion_labels/Emotion)"
        )
    return images, emotions


def _compile(pattern: str | re.Pattern[str] | None) -> re.Pattern[str]:
    regex = compile_pattern(DEFAULT_PATTERN if pattern is None else pattern, "pattern")
    missing = [g for g in _GROUPS if g not in regex.groupindex]
    if missing:
        raise ValueError(
            f"pattern {regex.pattern!r} lacks the named group(s) "
            f"{', '.join(missing)}; it needs (?P<subject>...), (?P<sequence>...) and "
            "(?P<frame>...)"
        )
    return regex


def _parse(regex: re.Pattern[str], path: Path, name: str | None = None) -> tuple[str, str, int]:
    """Subject, sequence and frame number parsed from a file name, or a clear error."""
    name = path.name if name is None else name
    match = regex.search(name)
    if match is None or any(match.group(g) is None for g in _GROUPS):
        raise ValueError(
            f"file name {name!r} ({path}) does not match the CK+ pattern {regex.pattern!r}; "
            "pass pattern= with named groups subject, sequence and frame"
        )
    frame = match.group("frame")
    if not frame.isdecimal():
        raise ValueError(f"frame {frame!r} parsed from {path} is not a number")
    return match.group("subject"), match.group("sequence"), int(frame)


def _read_emotion(path: Path) -> str:
    """Canonical emotion of a CK+ ``*_emotion.txt`` file (one float ``0..7``)."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    fields = text.split()
    try:
        code = float(fields[0]) if len(fields) == 1 else None
    except ValueError:
        code = None
    if code is None or not code.is_integer() or not 0 <= code < len(CKPLUS_LABELS):
        raise ValueError(
            f"{path}: expected one emotion code 0..7 (0 neutral, 1 anger, 2 contempt, "
            f"3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise), got {text.strip()!r}"
        )
    return CKPLUS_LABELS[int(code)]


def _emotion_files(emotions: Path) -> dict[tuple[str, str], Path]:
    """``{(subject folder, sequence folder): emotion file}`` for the labelled sequences."""
    found: dict[tuple[str, str], Path] = {}
    for dirpath, dirnames, filenames in os.walk(emotions):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in filenames:
            if name.startswith(".") or not name.endswith(_EMOTION_SUFFIX):
                continue
            path = Path(dirpath) / name
            parts = path.relative_to(emotions).parts
            if len(parts) != 3:
                raise ValueError(
                    f"emotion file {path} is in an unexpected place; expected "
                    f"{emotions}/<subject>/<sequence>/<name>{_EMOTION_SUFFIX}"
                )
            key = (parts[0], parts[1])
            if key in found:
                raise ValueError(
                    f"sequence {emotions / parts[0] / parts[1]} has several emotion files: "
                    f"{found[key].name}, {name}"
                )
            found[key] = path
    if not found:
        raise ValueError(
            f"no *{_EMOTION_SUFFIX} file under {emotions}; expected "
            f"{emotions}/<subject>/<sequence>/<subject>_<sequence>_<frame>{_EMOTION_SUFFIX}"
        )
    return found


def _sequence_frames(
    regex: re.Pattern[str], folder: Path, subject: str, sequence: str
) -> list[_Frame]:
    """The images of one sequence folder, parsed and sorted by frame number."""
    names = list_image_files(folder, recursive=False)
    if not names:
        raise ValueError(
            f"sequence folder {folder} has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    frames = []
    for name in names:
        path = folder / name
        subj, seq, number = _parse(regex, path)
        if (subj, seq) != (subject, sequence):
            raise ValueError(
                f"{path} is named for subject {subj!r}, sequence {seq!r} but lies in the "
                f"folder of subject {subject!r}, sequence {sequence!r}"
            )
        frames.append(_Frame(str(path), subj, seq, number))
    return _sorted_sequence(frames, str(folder))


def _sorted_sequence(frames: list[_Frame], where: str) -> list[_Frame]:
    frames = sorted(frames, key=lambda f: f.frame)
    numbers = [f.frame for f in frames]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        paths = [f.path for f in frames if f.frame in repeated]
        raise ValueError(
            f"frame number(s) {repeated} occur twice in {where}: {first_examples(paths)}"
        )
    return frames


def _load_original(
    images: Path,
    emotions: Path,
    regex: re.Pattern[str],
    as_clips: bool,
    neutral_frames: bool,
) -> tuple[list, list[str], list[str], list[str], list[int]]:
    data: list = []
    labels: list[str] = []
    subjects: list[str] = []
    sequences: list[str] = []
    frame_numbers: list[int] = []

    def add(item: object, label: str, frame: _Frame) -> None:
        data.append(item)
        labels.append(label)
        subjects.append(frame.subject)
        sequences.append(frame.sequence)
        frame_numbers.append(frame.frame)

    labelled = _emotion_files(emotions)
    for key in sorted(labelled, key=lambda k: natural_sort_key("/".join(k))):
        emotion_file = labelled[key]
        subject, sequence, apex = _parse(
            regex, emotion_file, emotion_file.name[: -len(_EMOTION_SUFFIX)]
        )
        if (subject, sequence) != key:
            raise ValueError(
                f"{emotion_file} is named for subject {subject!r}, sequence {sequence!r} but "
                f"lies in the folder of subject {key[0]!r}, sequence {key[1]!r}"
            )
        label = _read_emotion(emotion_file)
        folder = images / subject / sequence
        if not folder.is_dir():
            raise FileNotFoundError(
                f"labelled sequence {subject}/{sequence} ({emotion_file}) has no image "
                f"folder: {folder} does not exist"
            )
        frames = _sequence_frames(regex, folder, subject, sequence)
        by_number = {f.frame: f for f in frames}
        if apex not in by_number:
            raise FileNotFoundError(
                f"apex frame {apex} named by {emotion_file} is not in {folder} (frames "
                f"{frames[0].frame}..{frames[-1].frame})"
            )
        if as_clips:
            add(str(folder), label, by_number[apex])
            continue
        if neutral_frames:
            if frames[0].frame == apex:
                raise ValueError(
                    f"sequence {folder} starts at its apex frame {apex}: it has no neutral "
                    "onset frame for neutral_frames=True"
                )
            add(frames[0].path, "neutral", frames[0])
        add(by_number[apex].path, label, by_number[apex])
    return data, labels, subjects, sequences, frame_numbers


def _load_ck48(
    root: Path, regex: re.Pattern[str], as_clips: bool
) -> tuple[list, list[str], list[str], list[str], list[int]]:
    files = list_image_files(root)
    if not files:
        raise ValueError(
            f"no CK+ images under {root}; expected {root}/{_ORIGINAL} (original CK+) or "
            f"{root}/{_CK48} (CK+48)"
        )
    for rel in files:
        if rel.count("/") != 1:
            raise ValueError(
                f"image file {root / rel} is in an unexpected place; expected "
                f"{root}/{_ORIGINAL} (original CK+) or {root}/{_CK48} (CK+48)"
            )
    folders = sorted({rel.split("/")[0] for rel in files}, key=natural_sort_key)
    unknown = [f for f in folders if f.strip().lower() not in EMOTION_ALIASES]
    if unknown:
        raise ValueError(
            f"unknown class folder names under {root}: {unknown}; known names: "
            f"{', '.join(sorted(EMOTION_ALIASES))}"
        )
    frames = []
    for rel in files:
        folder, name = rel.split("/")
        subject, sequence, number = _parse(regex, root / rel, name)
        frames.append(_Frame(str(root / rel), subject, sequence, number, canonical_emotion(folder)))

    if not as_clips:
        return (
            [f.path for f in frames],
            [f.label for f in frames],
            [f.subject for f in frames],
            [f.sequence for f in frames],
            [f.frame for f in frames],
        )

    groups: dict[tuple[str, str], list[_Frame]] = defaultdict(list)
    for f in frames:
        groups[f.subject, f.sequence].append(f)
    data, labels, subjects, sequences, frame_numbers = [], [], [], [], []
    for (subject, sequence), members in sorted(
        groups.items(), key=lambda item: natural_sort_key("/".join(item[0]))
    ):
        classes = sorted({f.label for f in members})
        if len(classes) > 1:
            raise ValueError(
                f"sequence {subject}_{sequence} has frames in several class folders "
                f"({', '.join(classes)}): {first_examples([f.path for f in members])}"
            )
        members = _sorted_sequence(members, f"sequence {subject}_{sequence}")
        data.append([f.path for f in members])
        labels.append(classes[0])
        subjects.append(subject)
        sequences.append(sequence)
        frame_numbers.append(members[-1].frame)
    return data, labels, subjects, sequences, frame_numbers


def load_ck_plus(
    root: str | os.PathLike[str],
    *,
    subset: str = "all",
    as_clips: bool = False,
    neutral_frames: bool = False,
    pattern: str | re.Pattern[str] | None = None,
) -> Bunch:
    """Load CK+ from its original layout or from a CK+48 folder tree.

    The layout is detected:

    1. **Original CK+** when ``root`` has ``cohn-kanade-images`` (or
       ``extended-cohn-kanade-images/cohn-kanade-images``)::

           root/cohn-kanade-images/S005/001/S005_001_00000001.png ...
           root/Emotion/S005/001/S005_001_00000011_emotion.txt   # or Emotion_labels/Emotion

       Only sequences with an emotion file are loaded. The file holds one
       float code ``0..7`` (neutral, anger, contempt, disgust, fear, happy,
       sadness, surprise; see :data:`CKPLUS_LABELS`) and is named after the
       apex frame.
    2. **CK+48** otherwise: ``root/<class>/S005_001_00000011.png`` with class
       folders named by emotion (``anger``, ``contempt``, ``happy``...).

    Subject, sequence and frame number come from each file name through
    ``pattern``.

    Parameters
    ----------
    root : str or path-like
        The CK+ folder (holding ``cohn-kanade-images`` and ``Emotion``) or
        the CK+48 folder (holding the class folders).
    subset : {"all"}, default="all"
        CK+ has no official split: every ``split`` is ``"unknown"``, so only
        ``"all"`` selects anything.
    as_clips : bool, default=False
        If false, one sample per image: for the original layout the apex
        frame of each labelled sequence; for CK+48 every image. If true, one
        sample per (subject, sequence): ``data`` is the sequence folder (the
        original layout; its frames, naturally sorted, go from the neutral
        onset to the apex) or the list of the sequence's frame paths in frame
        order (CK+48).
    neutral_frames : bool, default=False
        Original layout, ``as_clips=False`` only: also add the first frame of
        each labelled sequence as a ``"neutral"`` sample (the common 8-class
        CK+ protocol), just before its apex sample.
    pattern : str or compiled pattern, optional
        Regular expression searched in each file name, with named groups
        ``subject``, ``sequence`` and ``frame`` (digits). Defaults to
        :data:`DEFAULT_PATTERN`, ``^(?P<subject>S\\d+)_(?P<sequence>\\d+)_(?P<frame>\\d+)``.

    Returns
    -------
    Bunch
        ``data`` and ``filenames`` (absolute paths, or lists of them for
        CK+48 clips), ``target`` (int64 index into ``target_names``),
        ``target_names`` (canonical names of the classes present, in
        :data:`~fersk.datasets.EMOTIONS` order), ``split`` (``"unknown"``),
        ``subject`` (``"S005"``), ``sequence`` (``"001"``), ``frame`` (the
        image's frame number; for clips the apex or last frame), ``DESCR``.
        Images are ordered by path relative to ``root`` (CK+48) or by
        subject and sequence (original layout, and clips).

    Raises
    ------
    FileNotFoundError
        If ``root`` or the emotion folder is missing, a labelled sequence has
        no image folder, or its apex frame image is missing.
    ValueError
        If a file name does not match ``pattern`` (the message names it),
        ``pattern`` lacks a group, an emotion file is malformed, an image is
        in an unexpected place, a class folder is unknown, a CK+48 sequence
        spans several classes or repeats a frame, ``neutral_frames`` is used
        where it does not apply, or ``subset`` selects nothing.

    See Also
    --------
    fersk.datasets.load_dataset : Detect a dataset's layout and load it.
    fersk.datasets.load_image_folder : CK+48 as plain class folders.
    fersk.ClipLandmarkExtractor : Landmarks of the ``as_clips=True`` sequences.
    fersk.SubjectNeutralizer : Per-subject baselines, with ``subject`` as ``groups``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for seq, code in [("001", 5), ("002", 7)]:
    ...     folder = root / "cohn-kanade-images" / "S010" / seq
    ...     folder.mkdir(parents=True)
    ...     for frame in range(1, 4):
    ...         _ = cv2.imwrite(str(folder / f"S010_{seq}_{frame:08d}.png"),
    ...                         np.zeros((8, 8), np.uint8))
    ...     labels = root / "Emotion" / "S010" / seq
    ...     labels.mkdir(parents=True)
    ...     _ = (labels / f"S010_{seq}_00000003_emotion.txt").write_text(f"   {code:.7e}\\n")
    >>> faces = load_ck_plus(root, neutral_frames=True)
    >>> [pathlib.Path(p).name for p in faces.data]  # doctest: +NORMALIZE_WHITESPACE
    ['S010_001_00000001.png', 'S010_001_00000003.png',
     'S010_002_00000001.png', 'S010_002_00000003.png']
    >>> [faces.target_names[t] for t in faces.target]
    ['neutral', 'happiness', 'neutral', 'surprise']
    >>> faces.subject.tolist(), faces.sequence.tolist(), faces.frame.tolist()
    (['S010', 'S010', 'S010', 'S010'], ['001', '001', '002', '002'], [1, 3, 1, 3])
    >>> clips = load_ck_plus(root, as_clips=True)
    >>> [pathlib.Path(p).relative_to(root).as_posix() for p in clips.data]
    ['cohn-kanade-images/S010/001', 'cohn-kanade-images/S010/002']
    """
    check_subset(subset)
    regex = _compile(pattern)
    root_path = resolve_dir(root)
    original = _original_dirs(root_path)
    if neutral_frames and as_clips:
        raise ValueError("neutral_frames=True applies to images (as_clips=False), not to clips")
    if original is not None:
        images, emotions = original
        data, labels, subjects, sequences, frames = _load_original(
            images, emotions, regex, as_clips, neutral_frames
        )
        layout = f"CK+ original ({'sequences' if as_clips else 'images'})"
    else:
        if neutral_frames:
            raise ValueError(
                f"neutral_frames=True needs the original CK+ layout ({_ORIGINAL}); "
                f"{root_path} is read as CK+48, which holds only the last frames of each "
                "sequence"
            )
        data, labels, subjects, sequences, frames = _load_ck48(root_path, regex, as_clips)
        layout = f"CK+48 ({'sequences' if as_clips else 'images'})"
    return make_bunch(
        data=data,
        labels=labels,
        split=np.full(len(data), UNKNOWN_SPLIT),
        subject=np.array(subjects, dtype=str),
        layout=layout,
        root=root_path,
        subset=subset,
        file_based=True,
        sequence=np.array(sequences, dtype=str),
        frame=np.array(frames, dtype=np.int64),
    )
