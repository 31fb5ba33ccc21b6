"""How person calibration is learned and measured: faces as ``fersk predict`` sees them, by person.

* :func:`photo_faces`: each photo's largest face, cropped as :func:`fersk.predict.iter_photos`
  crops it (the same detector, upsampling and framing), or None where none is found;
* :func:`fit_calibration`: a :class:`~fersk.features.calibration.PersonCalibratedClassifier`
  around a fitted model, its head learned on people with ids;
* :func:`leave_one_person_out`: for each person, a calibration learned without them, then their
  photos predicted: raw, against the person's mean, against one neutral photo; also with only
  ``k`` photos of the person (how many it takes before calibration pays);
* :func:`across_sets`: a calibration learned on other datasets only, then every person of a
  dataset predicted (people *and* a dataset never seen, as a new user's would be).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch

__all__ = [
    "Remembered",
    "across_sets",
    "fit_calibration",
    "leave_one_person_out",
    "person_faces",
    "photo_faces",
]


def photo_faces(
    files, *, detector: str | None = None, upsample: int = 1, describe: bool = False
) -> tuple[list, np.ndarray] | tuple[list, np.ndarray, np.ndarray]:
    """Each photo's largest face crop, as ``fersk predict`` crops it, and which photos had one.

    Returns
    -------
    crops : list of ndarray or None
    found : ndarray of bool
    descriptors : ndarray of shape (n_photos, 128)
        With ``describe``: the face's :func:`~fersk.landmarks.identity.face_descriptors`
        (NaN without a face).
    """
    from ..io import face_crop
    from ..landmarks.detection import DEFAULT_DETECTOR, find_in_photo
    from ..landmarks.identity import face_descriptors

    detector = DEFAULT_DETECTOR if detector is None else detector
    crops, descriptors = [], np.full((len(files), 128), np.nan)
    for i, source in enumerate(files):
        _, image, found, _ = find_in_photo(source, detector, upsample)
        face = found is not None and len(found[0])
        crops.append(face_crop(image, found[0][0]) if face else None)
        if describe and face:
            descriptors[i] = face_descriptors(image, found[0][:1])[0]
    found = np.array([c is not None for c in crops])
    return (crops, found, descriptors) if describe else (crops, found)


def person_faces(data: Bunch, **options) -> Bunch:
    """A dataset's faces by person: ``crops``, ``y`` (names), ``groups``, ``neutral``, ``found``,
    and ``descriptors`` (who each face is, :func:`photo_faces`).

    ``data`` is a loader's Bunch with subject ids (JAFFE, CK+48). Photos
    without a face are kept out (``found`` says which), as ``fersk predict``
    would give them no calibrated row.
    """
    if data.subject is None:
        raise ValueError("calibration needs person ids: this dataset has no subject ids")
    crops, found, descriptors = photo_faces(data.data, describe=True, **options)
    y = np.asarray(data.target_names)[data.target]
    neutral = np.asarray(getattr(data, "neutral", y == "neutral"), dtype=bool)
    keep = np.flatnonzero(found)
    return Bunch(
        crops=[crops[i] for i in keep],
        y=y[keep],
        groups=np.asarray(data.subject)[keep],
        neutral=neutral[keep],
        found=found,
        files=[data.data[i] for i in keep],
        descriptors=descriptors[keep],
    )


def fit_calibration(model, sets: list[Bunch], **params):
    """A :class:`~fersk.features.calibration.PersonCalibratedClassifier` around ``model``.

    Its head is learned on the people of ``sets`` (each from :func:`person_faces`);
    every person's neutral photos serve in turn as their reference.
    """
    from ..features.calibration import PersonCalibratedClassifier

    crops = [c for s in sets for c in s.crops]
    y = np.concatenate([s.y for s in sets])
    groups = np.concatenate([[f"{i}:{g}" for g in s.groups] for i, s in enumerate(sets)])
    frozen = model if isinstance(model, FrozenEstimator) else FrozenEstimator(model)
    return PersonCalibratedClassifier(frozen, **params).fit(crops, y, groups=groups)


class Remembered(ClassifierMixin, BaseEstimator):
    """``model``'s probabilities of crops it has seen (by identity), computed once: many
    leave-one-person-out folds reuse them. Other inputs go to the model.

    Parameters
    ----------
    model : fitted classifier
    crops : sequence of ndarray
        The faces whose answers are kept, looked up by identity (not by value): pass
        these same objects to ``predict_proba``. Other inputs go to ``model`` (its own
        answers).
    proba : ndarray of shape (len(crops), n_classes) or None
        Their answers, when they are not ``model``'s own: a model's answers on
        faces it learned from are better than on anyone else's, so a
        calibration learns from answers given by models that never saw each
        face (:func:`fersk.recipes.posed.out_of_fold`). None: ``model``'s.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> known = Remembered(cnn, crops[:2], proba=np.eye(8)[[0, 7]])
    >>> known.predict(crops[:2]).tolist()
    ['anger', 'contempt']
    """

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __init__(self, model, crops: list, proba=None):
        self.model = model
        self.crops = list(crops)  # held: an id stays this face's while the list lives
        self.proba = proba
        self.classes_ = model.classes_
        answers = model.predict_proba(self.crops) if proba is None else np.asarray(proba)
        if answers.shape != (len(self.crops), len(self.classes_)):
            raise ValueError(
                f"proba has shape {answers.shape}; {len(crops)} crops and "
                f"{len(self.classes_)} classes need {(len(crops), len(self.classes_))}"
            )
        self._rows = {id(c): p for c, p in zip(self.crops, answers)}

    def fit(self, X, y=None):
        return self

    def __repr__(self) -> str:
        return f"Remembered({self.model!r}, <{len(self.crops)} crops>)"

    def predict_proba(self, X):
        rows = [self._rows.get(id(x)) for x in X]
        if any(r is None for r in rows):
            return self.model.predict_proba(X)
        return np.array(rows).reshape(len(rows), len(self.classes_))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _unnamed(faces: Bunch) -> dict:
    """Person ids found without the dataset's: ``{mode: groups}``.

    ``mean, faces grouped``: :func:`~fersk.landmarks.identity.group_faces` on
    the faces' descriptors (what ``fersk predict --group-faces`` does);
    ``mean, the set as one person``: every face in one group (what grouping
    adds over the set's own mean).
    """
    from ..landmarks.identity import group_faces

    if "descriptors" not in faces:
        return {}
    return {
        "mean, faces grouped": group_faces(faces.descriptors),
        "mean, the set as one person": np.zeros(len(faces.y), dtype=int),
    }


def _subset(faces: Bunch, rows) -> Bunch:
    rows = np.asarray(rows)
    return Bunch(
        crops=[faces.crops[i] for i in rows],
        y=faces.y[rows],
        groups=faces.groups[rows],
        neutral=faces.neutral[rows],
    )


def leave_one_person_out(
    model,
    faces: Bunch,
    *,
    extra: list[Bunch] = (),
    photos: tuple[int, ...] = (),
    repeats: int = 5,
    seed: int = 0,
    **params,
) -> dict:
    """Each person of ``faces`` predicted by a calibration learned without them.

    For every person: the head is learned on the other people of ``faces``
    and on ``extra`` (other datasets), then the person's photos are
    predicted ``raw`` (the model alone), against their ``mean`` (all their
    photos), against the mean of their photos that are not neutral (``mean,
    never neutral``: a person who is never neutral, the hard case for a mean
    baseline; ``mean, scored without neutral photos`` scores the same photos
    against the mean of all, the fair comparison), and against ``neutral``
    (their first neutral photo as the
    reference, when they have one; that photo itself is not scored). Where
    ``faces`` has ``descriptors``, also without the dataset's ids (the
    calibration still learned without the person; :func:`_unnamed`). With
    ``photos=(1, 2, 4, 8)``, also with only ``k`` of their photos known
    (``repeats`` random draws, the reference not among them): ``mean@k`` and
    ``neutral@k``.

    Returns
    -------
    dict
        ``{mode: (y_true, y_pred)}`` over all people.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[list, list]] = {}

    def add(mode, y_true, y_pred):
        truth, pred = out.setdefault(mode, ([], []))
        truth.extend(np.asarray(y_true).tolist())
        pred.extend(np.asarray(y_pred).tolist())

    if not isinstance(model, Remembered):
        model = Remembered(model, [c for s in (faces, *extra) for c in s.crops])
    raw = model.predict(faces.crops)
    unnamed = _unnamed(faces)
    for person in dict.fromkeys(faces.groups.tolist()):
        mine = np.flatnonzero(faces.groups == person)
        others = _subset(faces, np.flatnonzero(faces.groups != person))
        calibrated = fit_calibration(model, [others, *extra], **params)
        me = _subset(faces, mine)
        add("raw", me.y, raw[mine])
        pred = calibrated.predict(me.crops, groups=me.groups)
        add("mean", me.y, pred)
        for mode, groups in unnamed.items():  # the whole set, its people's rows
            add(mode, me.y, calibrated.predict(faces.crops, groups=groups)[mine])
        posed = np.flatnonzero(me.y != calibrated.neutral_label)
        if 0 < len(posed) < len(mine):  # the same photos, scored as if never seen neutral
            add("mean, scored without neutral photos", me.y[posed], pred[posed])
            never = _subset(me, posed)
            pred = calibrated.predict(never.crops, groups=never.groups)
            add("mean, never neutral", never.y, pred)
        references = np.flatnonzero(me.neutral)
        if len(references):  # the reference photo itself is not scored
            flags = np.zeros(len(mine), dtype=bool)
            flags[references[0]] = True
            pred = calibrated.predict(me.crops, groups=me.groups, neutral=flags)
            add("neutral", me.y[~flags], pred[~flags])
        for k in photos:
            pool = np.setdiff1d(np.arange(len(mine)), references[:1])
            if len(pool) < k:
                continue
            for _ in range(repeats):
                pick = rng.choice(pool, size=k, replace=False)
                sub = _subset(me, pick)
                add(f"mean@{k}", sub.y, calibrated.predict(sub.crops, groups=sub.groups))
                if len(references):
                    both = _subset(me, np.r_[pick, references[:1]])
                    flags = np.zeros(k + 1, dtype=bool)
                    flags[-1] = True
                    pred = calibrated.predict(both.crops, groups=both.groups, neutral=flags)
                    add(f"neutral@{k}", sub.y, pred[:k])
    return {mode: (np.asarray(t), np.asarray(p)) for mode, (t, p) in out.items()}


def across_sets(model, learned_on: list[Bunch], faces: Bunch, **params) -> dict:
    """Every person of ``faces`` predicted by a calibration learned only on ``learned_on``.

    Modes as in :func:`leave_one_person_out`: ``raw``, ``mean`` and, for people with
    a neutral photo, ``neutral`` (their first neutral photo the reference, not scored).

    Returns
    -------
    dict
        ``{mode: (y_true, y_pred)}``.
    """
    calibrated = fit_calibration(model, list(learned_on), **params)
    out = {
        "raw": (faces.y, calibrated.estimator_.predict(faces.crops)),
        "mean": (faces.y, calibrated.predict(faces.crops, groups=faces.groups)),
    }
    for mode, groups in _unnamed(faces).items():
        out[mode] = (faces.y, calibrated.predict(faces.crops, groups=groups))
    flags = np.zeros(len(faces.y), dtype=bool)
    scored = np.zeros(len(faces.y), dtype=bool)  # people with a reference, but not it
    for person in dict.fromkeys(faces.groups.tolist()):
        mine = faces.groups == person
        references = np.flatnonzero(mine & faces.neutral)
        if len(references):
            flags[references[0]] = True
            scored |= mine
    scored &= ~flags
    if flags.any():
        pred = calibrated.predict(faces.crops, groups=faces.groups, neutral=flags)
        out["neutral"] = (faces.y[scored], pred[scored])
    return out
