"""The recipe ``fersk train`` runs: the study's landmark pipeline, optionally tuned, then fitted.

:func:`train_study_model` builds :func:`fersk.study.make_study_pipeline`,
optionally tunes the MLP's optimizer and learning rate with
:func:`fersk.study.tune` (a bar of the search's fits), or fits it with a bar
of the MLP's epochs, and refuses a model that found nothing usable in any
training image. Save the result with :func:`fersk.models.save_model`.
"""

from __future__ import annotations

from collections.abc import Callable

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

__all__ = ["TUNE_FOLDS", "NothingUsableError", "check_some_faces", "train_study_model"]

#: Folds of the tuning ``GridSearchCV``.
TUNE_FOLDS = 3


class NothingUsableError(ValueError):
    """Every training image failed (no face found, or unreadable): the model would be noise."""


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
