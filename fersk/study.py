"""The study's image pipelines, ready-made: build, tune, evaluate.

The study compares landmark geometry from 5 vs 68 points, and one classifier
vs one per clarity level. :func:`make_study_pipeline` builds each variant as an
ordinary :class:`~sklearn.pipeline.Pipeline`; :func:`tune` wraps it in
``GridSearchCV`` over the MLP's optimizer and learning rate;
:func:`evaluate` reports WAR/UAR overall and per clarity level, with the count
of faces not found. The CLI, the demo and ``benchmarks/study_images.py`` all
use these, so the numbers they print come from the same code.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ._core.base import ImageInputMixin
from ._core.pipeline_tools import find_steps
from .evaluation.metrics import SCORING, grouped_war_uar
from .features.clarity import ClarityBinner
from .features.geometry import PairwiseDistance
from .features.routing import ClarityRoutedClassifier
from .features.subject import SubjectNeutralizer
from .features.temporal import MotionDelta, SelectFrames
from .landmarks import ClipLandmarkExtractor, LandmarkExtractor

__all__ = [
    "default_classifier",
    "evaluate",
    "find_steps",
    "make_clip_pipeline",
    "make_study_pipeline",
    "param_grid",
    "tune",
]


def default_classifier(random_state: int | None = 0) -> MLPClassifier:
    """The study's classifier: an MLP on standardised distances.

    Parameters
    ----------
    random_state : int or None, default=0
        Seed of the MLP's weights and of its early-stopping split.

    Returns
    -------
    sklearn.neural_network.MLPClassifier
        Unfitted: one hidden layer of 256 units, ``alpha=1e-3``,
        ``learning_rate_init=1e-3``, at most 300 epochs, early stopping after
        15 epochs without improvement.

    See Also
    --------
    fersk.study.make_study_pipeline : The image pipeline it ends.
    fersk.study.make_clip_pipeline : The clip pipeline it ends.
    sklearn.neural_network.MLPClassifier : The classifier.

    Examples
    --------
    >>> default_classifier().hidden_layer_sizes
    (256,)
    """
    return MLPClassifier(
        hidden_layer_sizes=(256,),
        alpha=1e-3,
        learning_rate_init=1e-3,
        max_iter=300,
        early_stopping=True,
        n_iter_no_change=15,
        random_state=random_state,
    )


def make_study_pipeline(
    n_landmarks: int = 68,
    routed: bool = True,
    *,
    classifier: BaseEstimator | None = None,
    detector: str = "hog",
    n_levels: int = 3,
    memory=None,
    n_jobs: int | None = None,
    random_state: int | None = 0,
) -> Pipeline:
    """Build the study's pipeline on image paths or arrays.

    Routed (``routed=True``)::

        Pipeline([
            ("features", FeatureUnion([
                ("geometry", make_pipeline(LandmarkExtractor(), PairwiseDistance(),
                                           SimpleImputer(), StandardScaler())),
                ("clarity", ClarityBinner()),
            ])),
            ("clf", ClarityRoutedClassifier(MLPClassifier())),
        ])

    Single model (``routed=False``): the geometry branch, then the classifier.
    The imputer turns the NaN rows of faces not found into the training median
    (those samples are still predicted and scored, never dropped).

    Parameters
    ----------
    n_landmarks : {68, 5}
    routed : bool
        One classifier per clarity level, or one for all.
    classifier : classifier or None
        Defaults to :func:`default_classifier`.
    detector : {"hog", "mmod", "none"}
        ``"none"`` for aligned face crops.
    n_levels : int
        Clarity levels (the study: 3).
    memory : None, str or joblib.Memory
        Feature cache shared by the extractor and the binner.
    n_jobs : int or None
        Workers for landmark extraction.
    random_state : int or None
        Seed of the default classifier.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted, with the steps ``"features"`` and ``"clf"``.

    See Also
    --------
    fersk.study.tune : Grid search over the classifier's optimizer and learning rate.
    fersk.study.evaluate : WAR/UAR overall and per clarity level.
    fersk.study.make_clip_pipeline : The pipeline for clips.
    fersk.make_fusion : This pipeline's geometry fused with the CNN.

    Examples
    --------
    >>> pipe = make_study_pipeline(5, routed=True)
    >>> [name for name, _ in pipe.steps]
    ['features', 'clf']
    >>> "clf__estimator__learning_rate_init" in pipe.get_params()
    True
    """
    clf = default_classifier(random_state) if classifier is None else clone(classifier)
    geometry = make_pipeline(
        LandmarkExtractor(n_landmarks, detector=detector, memory=memory, n_jobs=n_jobs),
        PairwiseDistance(),
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
    )
    if not routed:
        return Pipeline([("features", geometry), ("clf", clf)])
    features = FeatureUnion(
        [("geometry", geometry), ("clarity", ClarityBinner(n_levels, memory=memory))]
    )
    return Pipeline([("features", features), ("clf", ClarityRoutedClassifier(clf))])


FRAMES = ("first", "middle", "last")


def make_clip_pipeline(
    n_landmarks: int = 68,
    n_frames: int = 16,
    *,
    frame: str | None = "last",
    motion: bool = True,
    subject: bool = False,
    classifier: BaseEstimator | None = None,
    detector: str = "hog",
    memory=None,
    n_jobs: int | None = None,
    extract: bool = True,
    random_state: int | None = 0,
) -> Pipeline:
    """Build a clip pipeline: per-frame landmarks -> geometry and motion -> classifier.

    ::

        Pipeline([
            ("landmarks", ClipLandmarkExtractor(LandmarkExtractor(), n_frames=16)),
            ("features", FeatureUnion([
                ("frame", make_pipeline(SelectFrames([-1]), PairwiseDistance(),
                                        SubjectNeutralizer())),     # subject=True
                ("motion", MotionDelta()),
            ])),
            ("impute", SimpleImputer()), ("scale", StandardScaler()), ("clf", MLPClassifier()),
        ])

    With ``subject=True`` it needs subject ids in ``fit`` and ``predict``
    (``groups=``, with metadata routing enabled; see
    :class:`~fersk.SubjectNeutralizer`).

    Parameters
    ----------
    n_landmarks : {68, 5}
    n_frames : int
        Frames sampled per clip.
    frame : {"first", "middle", "last"} or None
        The frame whose landmark distances are used (the apex of an
        onset-to-apex clip is the last); None for motion features only.
    motion : bool
        Add :class:`~fersk.MotionDelta` features.
    subject : bool
        Condition the frame distances on the subject (mean baseline).
    classifier : classifier or None
        Defaults to :func:`default_classifier`.
    detector : {"hog", "mmod", "none"}
    memory : None, str or joblib.Memory
        Landmark cache.
    n_jobs : int or None
        Workers for landmark extraction.
    extract : bool
        Start with the landmark extractor (clips in); False for rows of clip
        landmarks already extracted (``ClipLandmarkExtractor`` output).
    random_state : int or None
        Seed of the default classifier.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted, with the steps ``"landmarks"`` (when ``extract``),
        ``"features"``, ``"impute"``, ``"scale"`` and ``"clf"``.

    See Also
    --------
    fersk.ClipLandmarkExtractor : The first step: clips to landmark rows.
    fersk.MotionDelta : The motion features.
    fersk.SubjectNeutralizer : The subject conditioning of ``subject=True``.
    fersk.evaluation.crossval.cross_val_war_uar : Cross-validation passing subject ids along.

    Examples
    --------
    >>> pipe = make_clip_pipeline(5, 8, subject=True)
    >>> [name for name, _ in pipe.steps]
    ['landmarks', 'features', 'impute', 'scale', 'clf']
    >>> make_clip_pipeline(extract=False, frame=None).steps[0][0]
    'features'
    """
    if frame is not None and frame not in FRAMES:
        raise ValueError(f"frame must be one of {FRAMES} or None, got {frame!r}")
    if frame is None and not motion:
        raise ValueError("a clip pipeline needs frame distances, motion features, or both")
    if subject and frame is None:
        raise ValueError("subject=True conditions the frame distances: give a frame")
    parts = []
    # The clip layout is named once, at the extractor; the clip steps read it from
    # their input (rows of landmarks already extracted carry no layout: named here).
    layout = None if extract else n_landmarks
    if frame is not None:
        index = {"first": 0, "middle": n_frames // 2, "last": n_frames - 1}[frame]
        branch = [
            ("select", SelectFrames([index], n_landmarks=layout)),
            ("distances", PairwiseDistance()),
        ]
        if subject:
            branch.append(("subject", SubjectNeutralizer()))
        parts.append(("frame", Pipeline(branch)))
    if motion:
        parts.append(("motion", MotionDelta(layout)))
    steps = []
    if extract:
        extractor = LandmarkExtractor(n_landmarks, detector=detector, memory=memory, n_jobs=n_jobs)
        steps.append(("landmarks", ClipLandmarkExtractor(extractor, n_frames=n_frames)))
    clf = default_classifier(random_state) if classifier is None else clone(classifier)
    steps += [
        ("features", FeatureUnion(parts)),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("clf", clf),
    ]
    return Pipeline(steps)


def param_grid(pipeline: Pipeline, grid: dict | None = None) -> dict:
    """Prefix a classifier grid with the pipeline's path to the classifier.

    Examples
    --------
    >>> param_grid(make_study_pipeline(5, routed=True), {"solver": ["adam"]})
    {'clf__estimator__solver': ['adam']}
    >>> param_grid(make_study_pipeline(5, routed=False), {"solver": ["adam"]})
    {'clf__solver': ['adam']}
    """
    if grid is None:
        grid = {"solver": ["adam", "sgd"], "learning_rate_init": [1e-3, 1e-2]}
    prefix = "clf__estimator__" if isinstance(pipeline[-1], ClarityRoutedClassifier) else "clf__"
    return {prefix + key: list(values) for key, values in grid.items()}


def tune(
    pipeline: Pipeline,
    X,
    y,
    *,
    groups=None,
    grid: dict | None = None,
    cv: int = 3,
    n_jobs: int | None = None,
    verbose: int = 0,
) -> GridSearchCV:
    """Fit ``GridSearchCV`` over the classifier's optimizer and learning rate.

    Scores WAR and UAR, refits on UAR. With ``groups`` (subject ids) the folds
    are subject-independent (``GroupKFold``), else stratified.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A pipeline whose last step, named ``"clf"``, is the classifier or a
        :class:`~fersk.ClarityRoutedClassifier` (the grid then reaches its
        ``estimator``), as :func:`make_study_pipeline` builds.
    X : array-like or list
        Training samples (image paths or arrays, or feature rows).
    y : array-like of shape (n_samples,)
        Labels.
    groups : array-like of shape (n_samples,) or None, default=None
        Subject ids: ``GroupKFold`` folds; None: ``StratifiedKFold``
        (shuffled, seeded).
    grid : dict or None, default=None
        The classifier's parameters to search, without the pipeline's prefix;
        default ``{"solver": ["adam", "sgd"], "learning_rate_init": [1e-3, 1e-2]}``.
    cv : int, default=3
        Number of folds.
    n_jobs : int or None, default=None
        Fits run in parallel (``GridSearchCV``'s ``n_jobs``).
    verbose : int, default=0
        ``GridSearchCV``'s verbosity.

    Returns
    -------
    GridSearchCV
        Fitted; ``best_estimator_`` is the refitted pipeline.

    See Also
    --------
    fersk.study.param_grid : The classifier grid prefixed with the pipeline's path.
    fersk.study.evaluate : WAR/UAR of the tuned pipeline on a test set.
    sklearn.model_selection.GridSearchCV : The search.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    >>> search = tune(pipe, X, y, grid={"C": [0.001, 1.0]})
    >>> search.best_params_
    {'clf__C': 1.0}
    >>> sorted(key for key in search.cv_results_ if key.startswith("mean_test"))
    ['mean_test_uar', 'mean_test_war']
    """
    splitter = (
        GroupKFold(n_splits=cv)
        if groups is not None
        else StratifiedKFold(n_splits=cv, shuffle=True, random_state=0)
    )
    search = GridSearchCV(
        pipeline,
        param_grid(pipeline, grid),
        scoring=SCORING,
        refit="uar",
        cv=splitter,
        n_jobs=n_jobs,
        verbose=verbose,
        error_score="raise",
    )
    return search.fit(X, y, groups=groups)


def evaluate(pipeline, X, y, *, clarity_levels=None, target_names=None, y_pred=None) -> dict:
    """WAR/UAR of a fitted pipeline, overall and per clarity level.

    Parameters
    ----------
    pipeline : fitted estimator
    X, y : test images and labels
    clarity_levels : array-like or None
        Level of each test image (e.g. from a :class:`~fersk.ClarityBinner`
        fitted on the training images); adds a per-level breakdown.
    target_names : list of str or None
        Adds per-class recall under these names.
    y_pred : array-like or None
        The pipeline's predictions for ``X``, when already computed.

    Returns
    -------
    dict
        ``{"overall": {"war", "uar", "n"}, "levels": {level: {...}},
        "faces_not_found": int, "unreadable": int, "per_class_recall": {...}}``.
        Failed samples are still predicted (from imputed features) and scored.
        ``faces_not_found`` counts images (clip frames, for clip models) without
        a face and ``unreadable`` samples that could not be read, over every
        image-reading step of the model however nested (fusions, searches).

    See Also
    --------
    fersk.evaluation.metrics.grouped_war_uar : WAR/UAR overall and per group.
    fersk.evaluation.crossval.cross_val_war_uar : WAR/UAR per cross-validation fold.
    fersk.study.tune : Fit the pipeline with a grid search first.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier(strategy="most_frequent").fit([[0]] * 4, [0, 0, 0, 1])
    >>> r = evaluate(model, [[0]] * 4, [0, 1, 0, 1], clarity_levels=[0, 0, 1, 1])
    >>> r["overall"], r["levels"]["1"], r["faces_not_found"]
    ({'war': 0.5, 'uar': 0.5, 'n': 4}, {'war': 0.5, 'uar': 0.5, 'n': 2}, 0)
    """
    y = np.asarray(y)
    y_pred = pipeline.predict(X) if y_pred is None else np.asarray(y_pred)
    groups = np.zeros(len(y)) if clarity_levels is None else np.asarray(clarity_levels)
    report = grouped_war_uar(y, y_pred, groups)
    result = {"overall": report["overall"]}
    if clarity_levels is not None:
        result["levels"] = {
            str(int(k)) if k == k else "nan": v for k, v in report["groups"].items()
        }
    # Every image-reading step of any nesting (extractors, clip extractors, clarity
    # binners, CNN inputs) reports its failures; a sample counts once per reason.
    no_face, unreadable = set(), set()
    for step in find_steps(pipeline, ImageInputMixin):
        for f in getattr(step, "failures_", []):
            key = (f.index, getattr(f, "frame", None))
            (unreadable if f.reason == "unreadable" else no_face).add(key)
    result["faces_not_found"] = len(no_face)
    result["unreadable"] = len({index for index, _ in unreadable})
    if target_names is not None:
        from .evaluation.metrics import per_class_recall

        codes = y.dtype.kind in "iu"  # integer codes index target_names; else labels name
        labels = np.arange(len(target_names)) if codes else np.asarray(target_names, object)
        recalls = per_class_recall(y, y_pred, labels=labels)
        result["per_class_recall"] = {
            (target_names[k] if codes else str(k)): v for k, v in recalls.items()
        }
    return result
