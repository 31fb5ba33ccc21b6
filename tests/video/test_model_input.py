"""fersk.video.model_input: where landmarks enter a model -- the tracker's landmarks, a clip of
them, or the face's pixels."""

from __future__ import annotations

from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk import ClipLandmarkExtractor, LandmarkExtractor, PairwiseDistance
from fersk.study import make_clip_pipeline
from fersk.video import model_kind
from fersk.video.model_input import landmark_step


def _classifier():
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0)


def test_model_kinds(landmark_model):
    assert model_kind(landmark_model) == "landmarks"
    assert model_kind(make_clip_pipeline(68, 8)) == "clip"
    assert model_kind(make_pipeline(StandardScaler(), _classifier())) == "image"


def test_landmark_step_finds_the_one_extractor_wherever_it_is_nested():
    extractor = LandmarkExtractor(5)
    nested = make_pipeline(
        FeatureUnion([("geometry", make_pipeline(extractor, PairwiseDistance()))]), _classifier()
    )
    assert landmark_step(nested) == ("landmarks", extractor)
    clip = ClipLandmarkExtractor(LandmarkExtractor(5), n_frames=4)
    kind, step = landmark_step(make_pipeline(clip, StandardScaler(), _classifier()))
    assert kind == "clip" and step is clip  # the clip step, not the extractor inside it
    two = FeatureUnion([("a", LandmarkExtractor(5)), ("b", LandmarkExtractor(68))])
    assert landmark_step(make_pipeline(two, _classifier())) == ("image", None)  # which one?
