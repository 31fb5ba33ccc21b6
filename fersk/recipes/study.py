"""The recipe ``fersk train`` runs: the study's landmark pipeline, optionally tuned, then fitted.

:func:`train_study_model` builds :func:`fersk.study.make_study_pipeline`,
optionally tunes the MLP's optimizer and learning rate with
:func:`fersk.study.tune` (a bar of the search's fits), or fits it with a bar
of the MLP's epochs, and refuses a model that found nothing usable in any
training image. Save the result with :func:`fersk.models.save_model`.
:func:`load_split` gives the images ``fersk train`` fits and ``fersk evaluate``
scores; :func:`evaluate_model` scores a model on them, :func:`class_notes` and
:func:`write_evaluation_report` tell the results.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from .._core.base import ImageInputMixin
from .._core.fit_progress import (
    MLP_EPOCH,
    MLP_QUIET,
    SEARCH_FIT,
    printed_progress,
    verbose_mlps,
)
from .._core.pipeline_tools import find_steps
from ..study import make_study_pipeline, param_grid
from ..study import tune as grid_search

__all__ = [
    "TUNE_FOLDS",
    "NothingUsableError",
    "check_some_faces",
    "class_notes",
    "evaluate_model",
    "load_split",
    "train_and_save",
    "train_study_model",
    "write_evaluation_report",
]

#: Folds of the tuning ``GridSearchCV``.
TUNE_FOLDS = 3


class NothingUsableError(ValueError):
    """Every training image failed (no face found, or unreadable): the model would be noise."""


def load_split(
    root: str | os.PathLike,
    subset: str,
    *,
    test_size: float | None = None,
    seed: int = 0,
    max_samples: int | None = None,
    names: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str], str]:
    """The train or test images of the dataset at ``root``: what ``fersk train``/``evaluate`` use.

    :func:`fersk.datasets.load_dataset`, then :func:`fersk.datasets.split_dataset`;
    a dataset of video clips (a folder per clip) is refused: this recipe fits
    and scores image models.

    Parameters
    ----------
    root : str or path-like
        A dataset folder (RAF-DB, a folder per class, ...) or FER2013's csv.
    subset : {"train", "test"}
        The part to return.
    test_size, seed, max_samples, names
        As for :func:`fersk.datasets.split_dataset`.

    Returns
    -------
    X, y, groups, target_names, description
        As :func:`fersk.datasets.split_dataset` returns them.

    Raises
    ------
    ValueError
        ``root`` does not exist or holds clips; or the split cannot be made
        (its reason, after ``root``).

    Examples
    --------
    >>> import tempfile
    >>> from fersk.datasets import make_sample_faces
    >>> root = tempfile.mkdtemp()
    >>> _ = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,), out_dir=root)
    >>> X, y, groups, target_names, how = load_split(root, "test", test_size=0.5)
    >>> len(X), target_names[:2], how.split(",")[0]
    (7, ['anger', 'disgust'], '7 images')
    """
    from ..datasets import load_dataset, split_dataset

    if not Path(root).exists():
        raise ValueError(f"dataset {os.fspath(root)!r} does not exist")
    root = Path(root)
    data = load_dataset(root)
    first = data.data[0] if len(data.target) else None
    if isinstance(first, (str, os.PathLike)) and os.path.isdir(first):
        raise ValueError(
            f"{root} holds video clips (one folder per clip); fersk train/evaluate fit and score "
            "image models. Use fersk.study.make_clip_pipeline in Python for clips"
        )
    options = {"test_size": test_size, "seed": seed, "max_samples": max_samples, "names": names}
    try:
        return split_dataset(data, subset, **options)
    except ValueError as exc:
        raise ValueError(f"{root}: {exc}") from None


def check_some_faces(model, n_samples: int) -> None:
    """Refuse a fitted model whose image-reading steps failed on every one of ``n_samples``.

    Parameters
    ----------
    model : fitted estimator
        Its image-reading steps (landmark extractors, clarity binners, CNN
        inputs) report their failures in ``failures_``.
    n_samples : int
        The number of training samples.

    Raises
    ------
    NothingUsableError
        Naming the step and its first failure.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk import LandmarkExtractor
    >>> extractor = LandmarkExtractor(5).fit()
    >>> _ = extractor.transform([np.zeros((64, 64), np.uint8)])  # no face in a black square
    >>> check_some_faces(extractor, 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fersk.recipes.study.NothingUsableError: LandmarkExtractor found nothing usable in any of ...
    """
    for step in find_steps(model, ImageInputMixin):
        failures = getattr(step, "failures_", [])
        if n_samples and len(failures) >= n_samples:
            raise NothingUsableError(
                f"{type(step).__name__} found nothing usable in any of the {n_samples} training "
                f"images (first: {failures[0].source}: {failures[0].message})"
            )


def train_study_model(
    X,
    y,
    groups=None,
    *,
    n_landmarks: int = 68,
    routed: bool = True,
    detector: str = "hog",
    memory=None,
    n_jobs: int | None = None,
    tune: bool = False,
    on_cluster: bool = False,
    say: Callable[[str], object] = print,
) -> Pipeline:
    """Fit the study's pipeline on training images, optionally tuning its classifier first.

    Parameters
    ----------
    X : sequence of image paths or arrays
        The training images.
    y : array-like of shape (n_samples,)
        Their labels; emotion names make a model whose ``classes_`` are names.
    groups : array-like of shape (n_samples,) or None, default=None
        Subject ids: the tuning folds are then subject-independent.
    n_landmarks : {68, 5}, default=68
    routed : bool, default=True
        One classifier per clarity level, or one for all.
    detector : {"hog", "mmod", "none"}, default="hog"
        ``"none"`` for aligned face crops.
    memory : None, str or joblib.Memory, default=None
        Feature cache shared by the extractor and the binner.
    n_jobs : int or None, default=None
        Workers of the landmark extraction.
    tune : bool, default=False
        Choose the MLP's solver and learning rate first with a
        ``GridSearchCV`` (:func:`fersk.study.tune`, :data:`TUNE_FOLDS` folds,
        WAR and UAR scored, refit on UAR), shown as a bar of its fits.
    on_cluster : bool, default=False
        Running inside :func:`fersk._core.distributed.cluster`: the search's
        fits run in parallel on its workers (and print there).
    say : callable, default=print
        Called with one line per phase (what is being done, the best
        parameters found).

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline, its MLPs as quiet as they were built.

    Raises
    ------
    NothingUsableError
        When no training image gave a face (:func:`check_some_faces`).

    See Also
    --------
    fersk.study.make_study_pipeline : The pipeline fitted.
    fersk.models.save_model : Save it for ``fersk predict`` and :func:`fersk.models.load_model`.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.datasets import make_sample_faces
    >>> faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    >>> labels = np.asarray(faces.target_names)[faces.target]
    >>> model = train_study_model(
    ...     faces.data, labels, n_landmarks=5, routed=False, detector="none", say=lambda text: None
    ... )
    >>> model.classes_.tolist() == sorted(faces.target_names)
    True
    """
    pipe = make_study_pipeline(
        n_landmarks, routed=routed, detector=detector, memory=memory, n_jobs=n_jobs
    )
    if tune:
        return _tuned(pipe, X, y, groups, on_cluster, say)
    say("fitting: landmarks of every image (a bar for long runs), then the classifier")
    try:
        with (
            verbose_mlps(pipe),
            printed_progress(MLP_EPOCH, desc="classifier", unit="epoch", drop=MLP_QUIET),
        ):
            pipe.fit(X, y)
    except ValueError:
        check_some_faces(pipe, len(y))  # the likely cause, named
        raise
    check_some_faces(pipe, len(y))
    return pipe


def train_and_save(
    X,
    y,
    groups,
    target_names: Sequence[str],
    folder: str | os.PathLike,
    *,
    n_landmarks: int = 68,
    routed: bool = True,
    tune: bool = False,
    scheduler: str | None = None,
    n_workers: int | None = None,
    source: str | os.PathLike = "",
    what: str = "folder",
    say: Callable[[str], object] = print,
    **options,
) -> Pipeline:
    """``fersk train``: fit the study's pipeline on training images and save it as a model folder.

    Parameters
    ----------
    X : sequence of image paths or arrays
        The training images.
    y : array-like of int
        Their class codes, indices into ``target_names`` (as :func:`load_split`
        returns them).
    groups : array-like or None
        Their subject ids (subject-independent tuning folds), or None.
    target_names : sequence of str
        The class names: the model's ``classes_`` are names.
    folder : str or path-like
        The model folder, checked beforehand with
        :func:`fersk.models.check_model_folder`.
    n_landmarks, routed, tune
        As for :func:`train_study_model`.
    scheduler, n_workers
        Fit on a Dask cluster
        (:func:`fersk._core.distributed.optional_cluster`): an address, or a
        local cluster's workers; neither fits here.
    source : str or path-like, default=""
        The training data, named in the model's description.
    what : str, default="folder"
        How messages name the folder (``"--model"`` for a command line).
    say : callable, default=print
        Called with one line per phase (the training set, the fit's phases,
        the folder saved), after the seconds since the start: ``[   1.2 s] ...``.
    **options
        Of :func:`train_study_model`: ``detector``, ``memory``, ``n_jobs``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline, as saved.

    Raises
    ------
    NothingUsableError
        When no training image gave a face; nothing is saved.
    ValueError
        When the fitted pipeline cannot be saved as a model folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from fersk.datasets import make_sample_faces
    >>> faces = make_sample_faces(n_subjects=2, n_intensities=1, blur_sigmas=(0.0,))
    >>> folder = os.path.join(tempfile.mkdtemp(), "fer-model")
    >>> model = train_and_save(faces.data, faces.target, None, faces.target_names, folder,
    ...                        n_landmarks=5, routed=False, detector="none", say=print)
    ... # doctest: +ELLIPSIS
    [    0.0 s] training on 14 images (anger, disgust, fear, happiness, sadness, surprise, neutral)
    ...
    [...] saved .../fer-model
    >>> "model.json" in os.listdir(folder)
    True
    """
    import time

    from .._core.distributed import optional_cluster
    from ..models import save_model

    start = time.perf_counter()

    def phase(text: str) -> None:
        say(f"[{time.perf_counter() - start:7.1f} s] {text}")

    phase(f"training on {len(y)} images ({', '.join(target_names)})")
    on_cluster = scheduler is not None or n_workers is not None
    options.update(n_landmarks=n_landmarks, routed=routed, tune=tune, on_cluster=on_cluster)
    with optional_cluster(scheduler, n_workers=n_workers):
        model = train_study_model(X, np.asarray(target_names)[y], groups, say=phase, **options)
    kind = "an MLP per clarity level" if routed else "one MLP"
    about = f"fersk train on {source}: {len(y)} images, {n_landmarks} landmarks, {kind}"
    try:
        save_model(model, folder, description=about + (", tuned" if tune else ""))
    except TypeError as exc:
        raise ValueError(
            f"{what} {folder!r}: the fitted pipeline cannot be saved ({exc})"
        ) from None
    phase(f"saved {folder}")
    return model


def _tuned(pipe: Pipeline, X, y, groups, on_cluster: bool, say) -> Pipeline:
    from sklearn.model_selection import ParameterGrid

    n_fits = len(ParameterGrid(param_grid(pipe))) * TUNE_FOLDS
    say(
        f"tuning: a GridSearchCV over the MLP's solver and learning rate ({n_fits} fits, "
        "then a refit of the best)"
    )
    # On a cluster the fits print on the workers: the scheduler's dashboard shows them.
    with printed_progress(SEARCH_FIT, desc="GridSearchCV", total=n_fits, unit="fit"):
        search = grid_search(
            pipe,
            X,
            np.asarray(y),
            groups=groups,
            cv=TUNE_FOLDS,
            n_jobs=-1 if on_cluster else 1,
            verbose=2,
        )
    say(f"best: {search.best_params_} (CV UAR {search.best_score_:.3f})")
    check_some_faces(search.best_estimator_, len(y))
    return search.best_estimator_


def evaluate_model(model, X, y, target_names) -> tuple[dict, np.ndarray, np.ndarray]:
    """WAR/UAR of a fitted image model on labelled test images, whatever classes each side has.

    The model may know classes the data lacks (answering one is an error), and
    the data may hold classes the model does not know (their images are all
    errors); the report lists both. Only a model and data that share no class
    at all are refused.

    Parameters
    ----------
    model : fitted estimator
        Its ``classes_`` are emotion names (or, for fersk 0.1 models, the
        data's integer codes, with ``target_names_``).
    X : sequence of image paths or arrays
        The test images.
    y : array-like of int
        Their class codes, indices into ``target_names`` (as
        :func:`fersk.datasets.split_dataset` returns them).
    target_names : sequence of str
        The data's class names.

    Returns
    -------
    report : dict
        :func:`fersk.study.evaluate`'s report (per clarity level when the
        model routes by clarity, per data class), plus
        ``model_classes_not_in_data`` and ``data_classes_not_in_model`` when
        not empty.
    y_true, y_pred : ndarray of str
        The true and predicted class names.

    Raises
    ------
    ValueError
        When the model and the data share no class, or a fersk 0.1 model's
        codes name other classes than the data's.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier(strategy="most_frequent")
    >>> model = model.fit([[0]] * 3, ["happiness", "happiness", "neutral"])
    >>> data_names = ["contempt", "happiness"]  # no neutral; contempt, which the model lacks
    >>> report, y_true, y_pred = evaluate_model(model, [[0]] * 4, [0, 0, 1, 1], data_names)
    >>> report["overall"]["war"], report["per_class_recall"]
    (0.5, {'contempt': 0.0, 'happiness': 1.0})
    >>> report["model_classes_not_in_data"], report["data_classes_not_in_model"]
    (['neutral'], ['contempt'])
    """
    from .._core.pipeline_tools import class_names
    from ..features.clarity import ClarityBinner
    from ..study import evaluate

    data_names = [str(n) for n in target_names]
    names = class_names(model, getattr(model, "target_names_", None))
    codes = not all(isinstance(c, str) for c in model.classes_)
    if codes and list(getattr(model, "target_names_", [])) != data_names:
        raise ValueError(f"the model's class codes do not match the data's {data_names}")
    if not set(names) & set(data_names):
        raise ValueError(
            f"the model's classes ({', '.join(names)}) and the data's ({', '.join(data_names)}) "
            "share none: evaluate it on data labelled with its classes"
        )
    y = np.asarray(y) if codes else np.asarray(data_names)[y]
    binners = find_steps(model, ClarityBinner)
    levels = binners[0].transform(X).ravel() if binners else None
    y_pred = model.predict(X)
    with warnings.catch_warnings():  # the model's extra classes: errors, reported below
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        report = evaluate(
            model, X, y, clarity_levels=levels, target_names=data_names, y_pred=y_pred
        )
    for key, extra in [
        ("model_classes_not_in_data", [n for n in names if n not in data_names]),
        ("data_classes_not_in_model", [n for n in data_names if n not in names]),
    ]:
        if extra:
            report[key] = extra
    if codes:  # a fersk 0.1 model: codes index the names
        y, y_pred = np.asarray(data_names)[y], np.asarray(data_names)[y_pred]
    return report, y, np.asarray(y_pred)


#: What :func:`class_notes` says of each list of classes that only one side has.
_CLASS_NOTES = {
    "model_classes_not_in_data": "the model's classes {} are not in the data (answering one is "
    "an error)",
    "data_classes_not_in_model": "the data's classes {} are not the model's (their images are "
    "all errors)",
}


def class_notes(report: Mapping) -> list[str]:
    """A line for each list of classes that only the model or only the data has.

    Parameters
    ----------
    report : mapping
        :func:`evaluate_model`'s report.

    Returns
    -------
    list of str
        Notes on ``model_classes_not_in_data`` and ``data_classes_not_in_model``,
        where the report has them.

    Examples
    --------
    >>> class_notes({"model_classes_not_in_data": ["neutral", "fear"]})
    ["the model's classes neutral, fear are not in the data (answering one is an error)"]
    >>> class_notes({"overall": {}})
    []
    """
    return [note.format(", ".join(report[k])) for k, note in _CLASS_NOTES.items() if k in report]


def write_evaluation_report(
    folder: str | os.PathLike, title: str, report: dict, y_true, y_pred, model_name: str
) -> Path:
    """Write :func:`evaluate_model`'s results as Markdown with pictures and one HTML file.

    Parameters
    ----------
    folder : str or path-like
        The report folder (written whole, then swapped in).
    title : str
        The report's title.
    report, y_true, y_pred
        As :func:`evaluate_model` returns them.
    model_name : str
        How the recall figure names the model.

    Returns
    -------
    Path
        The folder, holding ``report.md``, ``report.html`` and the pictures.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier(strategy="most_frequent").fit([[0]] * 2, ["happiness"] * 2)
    >>> results = evaluate_model(model, [[0]] * 4, [0, 0, 1, 1], ["happiness", "sadness"])
    >>> folder = os.path.join(tempfile.mkdtemp(), "report")
    >>> sorted(p.name for p in write_evaluation_report(folder, "toy", *results, "dummy").iterdir())
    ['confusion.png', 'recall.png', 'report.html', 'report.md']
    """
    from ..evaluation.plot import plot_confusion_matrix, plot_groups, plot_recall
    from ..evaluation.report import Report

    overall = report["overall"]
    page = Report(title)
    page.table(
        ["test images", "WAR", "UAR", "faces not found", "unreadable"],
        [
            [
                overall["n"],
                f"{overall['war']:.3f}",
                f"{overall['uar']:.3f}",
                report["faces_not_found"],
                report["unreadable"],
            ]
        ],
    )
    for key in ("model_classes_not_in_data", "data_classes_not_in_model"):
        if key in report:
            page.text(f"{key.replace('_', ' ').capitalize()}: {', '.join(report[key])}.")
    seen = set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist())
    known = [*report.get("per_class_recall", {}), *report.get("model_classes_not_in_data", [])]
    labels = [n for n in known if n in seen]
    page.figure("confusion", plot_confusion_matrix(y_true, y_pred, labels=labels), "where it fails")
    page.figure("recall", plot_recall({model_name: report.get("per_class_recall", {})}))
    if "levels" in report:
        page.figure(
            "levels",
            plot_groups(report["levels"], xlabel="clarity level (0 = blurriest)"),
            "WAR and UAR per clarity level",
        )
    return page.write(folder)
