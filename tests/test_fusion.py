"""Late fusion of the CNN and landmark pipelines with sklearn's voting and stacking."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from fersk.cnn import CNNClassifier
from fersk.fusion import make_fusion
from fersk.study import make_study_pipeline

SIZE = 48


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def sample(cnn_sample):
    return cnn_sample


def _landmarks(tmp_path):
    # 14 training images are too few for the default MLP's early-stopping split
    return make_study_pipeline(
        68,
        routed=False,
        detector="none",
        memory=tmp_path,
        classifier=LogisticRegression(max_iter=300),
    )


def test_default_members():
    fusion = make_fusion("soft", size=SIZE, max_epochs=5)
    cnn, landmarks = (est for _, est in fusion.estimators)
    assert isinstance(cnn, Pipeline) and isinstance(cnn[-1], CNNClassifier)
    assert cnn.get_params()["prep__size"] == SIZE and cnn[-1].max_epochs == 5
    assert landmarks.get_params()["features__landmarkextractor__detector"] == "none"
    assert landmarks.get_params()["features__landmarkextractor__n_landmarks"] == 68
    clone(fusion)
    stacking = make_fusion("stacking", size=SIZE, cv=4)
    assert isinstance(stacking, StackingClassifier) and stacking.cv.n_splits == 4
    with pytest.raises(ValueError, match="kind"):
        make_fusion("hard")
    with pytest.raises(ValueError, match="not both"):
        make_fusion(cnn=cnn, lr=1e-3)


def test_soft_voting_with_the_net(sample, tmp_path):
    fusion = make_fusion(
        "soft",
        size=SIZE,
        landmarks=_landmarks(tmp_path),
        max_epochs=1,
        valid_size=0.5,
        batch_size=8,
        weights=[2, 1],
    )
    assert isinstance(fusion, VotingClassifier)
    X_train, X_test = sample.X[sample.train], sample.X[~sample.train]
    fusion.fit(X_train, sample.labels[sample.train])  # string labels
    proba = fusion.predict_proba(X_test)
    assert proba.shape == (len(X_test), len(sample.target_names))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(fusion.predict(X_test)) <= set(sample.target_names)
    members = [est.predict_proba(X_test) for est in fusion.estimators_]
    np.testing.assert_allclose(proba, (2 * members[0] + members[1]) / 3, rtol=1e-5)


def test_stacking_with_the_net(sample, tmp_path):
    fusion = make_fusion(
        "stacking",
        size=SIZE,
        landmarks=_landmarks(tmp_path),
        cv=2,
        max_epochs=1,
        train_split=None,
        batch_size=8,
    )
    X_train, X_test = sample.X[sample.train], sample.X[~sample.train]
    y_train = sample.target[sample.train]
    fusion.fit(X_train, y_train)
    proba = fusion.predict_proba(X_test)
    assert proba.shape == (len(X_test), 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert fusion.classes_.tolist() == list(range(7))
    # the meta-classifier sees 7 probabilities from each member
    assert fusion.final_estimator_.coef_.shape == (7, 14)
    assert fusion.predict(X_test).shape == (len(X_test),)
