"""What a model takes in a video: landmarks, a clip of landmarks, or the face's pixels."""

from __future__ import annotations

from .._core.pipeline_tools import find_steps
from ..landmarks import ClipLandmarkExtractor, LandmarkExtractor

__all__ = ["landmark_step", "model_kind"]


def landmark_step(model) -> tuple[str, object]:
    """Where landmarks enter a fitted model: ``(kind, step)``.

    ``kind`` is ``"clip"`` when the model holds one
    :class:`~fersk.ClipLandmarkExtractor` (``step``), ``"landmarks"`` when it
    holds one :class:`~fersk.LandmarkExtractor` (``step``; at the head of the
    pipeline or nested in pipelines and feature unions, as
    :func:`fersk.study.make_study_pipeline` builds it), else ``"image"``
    (``step`` None: the model reads the face crop, e.g. the CNN; also a model
    with several extractors, which then run on the crop).

    Examples
    --------
    >>> from fersk.study import make_study_pipeline
    >>> kind, step = landmark_step(make_study_pipeline(5, routed=True))
    >>> kind, type(step).__name__, step.n_landmarks
    ('landmarks', 'LandmarkExtractor', 5)
    """
    clips = find_steps(model, ClipLandmarkExtractor)
    if len(clips) == 1:
        return "clip", clips[0]
    extractors = find_steps(model, LandmarkExtractor)
    if not clips and len(extractors) == 1:
        return "landmarks", extractors[0]
    return "image", None


def model_kind(model) -> str:
    """What a fitted pipeline eats: ``"landmarks"``, ``"clip"`` or ``"image"``.

    See :func:`landmark_step`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from fersk import LandmarkExtractor, PairwiseDistance
    >>> model_kind(make_pipeline(LandmarkExtractor(), PairwiseDistance(), DecisionTreeClassifier()))
    'landmarks'
    """
    return landmark_step(model)[0]
