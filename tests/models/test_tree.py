"""The estimator tree: every estimator fersk composes with reloads with identical predictions."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.svm import SVC, LinearSVC

from fersk.datasets import make_sample_clips
from fersk.models import load_model, save_model
from fersk.models.tree import dump_estimator, load_estimator
from fersk.study import make_clip_pipeline, make_study_pipeline

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 5))
Y = np.where(X[:, 0] + X[:, 1] > 0, "happiness", "sadness")
Y[:10] = "surprise"

NUMERIC = {
    "svc": make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)),
    "linear-svc": make_pipeline(MinMaxScaler(), LinearSVC()),
    "pca-logistic": make_pipeline(RobustScaler(), PCA(3), LogisticRegression()),
    "ridge": RidgeClassifier(),
    "sgd": SGDClassifier(random_state=0),
    "mlp": MLPClassifier((8,), max_iter=300, random_state=0),
    "union": make_pipeline(
        FeatureUnion([("a", StandardScaler()), ("b", PCA(2))]), LogisticRegression()
    ),
    "columns": make_pipeline(
        ColumnTransformer([("s", StandardScaler(), [0, 1]), ("p", PCA(1), [2, 3, 4])]),
        LogisticRegression(),
    ),
    "vote": VotingClassifier(
        [("l", LogisticRegression()), ("d", DummyClassifier())], voting="soft", weights=[2, 1]
    ),
    "imputer-indicator": make_pipeline(SimpleImputer(add_indicator=True), LogisticRegression()),
}


def _same_predictions(model, again, X, **kw):
    np.testing.assert_array_equal(again.predict(X, **kw), model.predict(X, **kw))
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(again.predict_proba(X, **kw), model.predict_proba(X, **kw))


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_scikit_learn_pieces_reload_with_identical_predictions(name, tmp_path):
    X_ = X.copy()
    X_[3, 2] = np.nan if name == "imputer-indicator" else X_[3, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sklearn.clone(NUMERIC[name]).fit(X_, Y)
    again = load_model(save_model(model, tmp_path / name))
    _same_predictions(model, again, X_)
    assert type(again) is type(model)


@pytest.mark.parametrize("routed", [True, False])
def test_the_study_pipeline_reloads(routed, faces, tmp_path, one_thread):
    model = make_study_pipeline(68, routed=routed, detector="none", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(faces.data, faces.y)
    _same_predictions(model, load_model(save_model(model, tmp_path / "study")), faces.data)


def test_a_clip_pipeline_with_subject_conditioning_reloads(tmp_path, one_thread):
    clips = make_sample_clips(n_subjects=3, n_frames=8, image_size=96)
    y = np.asarray(clips.target_names)[clips.target]
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_clip_pipeline(
            68, n_frames=8, frame="last", motion=True, subject=True, detector="none"
        ).fit(clips.data, y, groups=clips.subject)
        again = load_model(save_model(model, tmp_path / "clips"))
        _same_predictions(model, again, clips.data, groups=clips.subject)


@pytest.mark.parametrize("name", ["geometry", "cnn", "fusion"])
def test_the_shipped_kinds_reload_exactly(name, small_models, faces, tmp_path):
    model = small_models[name]
    folder = save_model(model, tmp_path / name, description="test", metrics={"x": 1})
    document = json.loads((folder / "model.json").read_text())
    assert document["classes"] == [str(c) for c in model.classes_]
    assert document["metrics"] == {"x": 1} and document["description"] == "test"
    np.testing.assert_array_equal(
        load_model(folder).predict_proba(faces.data), model.predict_proba(faces.data)
    )


def test_a_fitted_vote_keeps_its_labels(tmp_path):
    """VotingClassifier.fit trains its members on codes 0..k-1: the reload predicts labels."""
    vote = sklearn.clone(NUMERIC["vote"]).fit(X, Y)
    again = load_model(save_model(vote, tmp_path / "vote"))
    assert set(again.predict(X)) <= {"happiness", "sadness", "surprise"}
    assert again.classes_.tolist() == vote.classes_.tolist()


def test_a_vote_of_fitted_members_stores_each_member_once(tmp_path):
    from fersk._core.pipeline_tools import combine_fitted

    a = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    b = make_pipeline(MinMaxScaler(), LogisticRegression(C=0.1)).fit(X, Y)
    vote = combine_fitted([("a", a), ("b", b)], weights=[2, 1])
    folder = save_model(vote, tmp_path / "vote")
    assert (folder / "model.json").read_text().count('"coef_"') == 2  # not again in its params
    again = load_model(folder)
    assert [name for name, _ in again.estimators] == ["a", "b"] and again.weights == [2, 1]
    np.testing.assert_array_equal(again.predict_proba(X), vote.predict_proba(X))


def test_an_unfitted_template_inside_a_meta_estimator_stays_unfitted():
    from fersk import ClarityRoutedClassifier

    routed = ClarityRoutedClassifier(MLPClassifier((4,)))
    arrays = {}
    node = dump_estimator(routed, arrays)
    again = load_estimator(json.loads(json.dumps(node)), arrays)
    assert not hasattr(again.estimator, "coefs_") and again.estimator.hidden_layer_sizes == (4,)


def test_a_class_outside_the_allow_list_is_refused_by_name(tmp_path):
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=2)).fit(X, Y)
    with pytest.raises(TypeError, match="RandomForestClassifier"):
        save_model(forest, tmp_path / "forest")
    assert not (tmp_path / "forest").exists()


def test_a_subclass_of_an_allowed_class_is_not_allowed(tmp_path):
    class MyScaler(StandardScaler):
        pass

    with pytest.raises(TypeError, match="MyScaler"):
        save_model(make_pipeline(MyScaler(), LogisticRegression()).fit(X, Y), tmp_path / "m")


def test_a_public_fitted_attribute_the_format_cannot_hold_is_refused(tmp_path):
    model = LogisticRegression().fit(X, Y)
    model.fitted_function_ = print  # a public attribute that is code
    with pytest.raises(TypeError, match="fitted_function_"):
        save_model(model, tmp_path / "m")


def test_pinned_parameters_are_not_stored(tmp_path, faces):
    from fersk import LandmarkExtractor

    extractor = LandmarkExtractor(68, detector="none", memory=str(tmp_path / "cache"), n_jobs=2)
    node = dump_estimator(extractor.fit(), {})
    assert not {"memory", "n_jobs", "weights", "predictor_path"} & set(node["params"])


def test_integer_subject_ids_keep_their_type(tmp_path):
    from fersk import SubjectNeutralizer

    X_ = RNG.normal(size=(6, 3))
    sn = SubjectNeutralizer(missing_groups="population").fit(X_, groups=[1, 2, 3, 1, 2, 3])
    model = make_pipeline(sn, LogisticRegression().fit(X_, ["a", "b"] * 3))  # fitted parts
    restored = load_model(save_model(model, tmp_path / "sn"))[0]
    assert restored.subjects_.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(
        restored.transform(X_[:1], groups=[1]), sn.transform(X_[:1], groups=[1])
    )
