"""fersk.cnn.estimator: CNNClassifier -- a scikit-learn classifier on image tensors: any labels,
a validation split from the training data, seeded fits, searches, persistence, int8 copies."""

from __future__ import annotations

import io
import math
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from torch import nn

from fersk.cnn import (
    DENSE_UNITS,
    CNNClassifier,
    TrainAugmentation,
    make_cnn_pipeline,
    state_dict_nbytes,
)
from fersk.features.preprocess import CNNPreprocessor
from tests.cnn.conftest import SIZE

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fitted(sample):
    """A CNN pipeline fitted for 2 epochs on the training subjects, string labels, on the CPU
    on any machine (the tests compare its results with CPU results)."""
    pipe = make_cnn_pipeline(SIZE, max_epochs=2, valid_size=0.5, batch_size=8, device="cpu")
    return pipe.fit(sample.X[sample.train], sample.labels[sample.train])


def test_pipeline_on_paths_with_string_labels(sample, fitted):
    X_test = sample.X[~sample.train]
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert list(fitted.classes_) == sorted(sample.target_names)
    pred = fitted.predict(X_test)
    assert set(pred) <= set(sample.target_names)
    np.testing.assert_array_equal(pred, fitted.classes_[proba.argmax(axis=1)])
    cnn = fitted.named_steps["cnn"]
    assert cnn.input_shape_ == (1, SIZE, SIZE) and cnn.device == "cpu"
    assert cnn.module_.classifier[-1].out_features == 7
    assert {"fersk", "torch", "skorch", "scikit-learn"} <= set(cnn.versions_)
    assert cnn.versions_["torch"].startswith(torch.__version__.split("+")[0])


def test_non_contiguous_int_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 1, 16, 16)).astype(np.float32)
    y = np.array([10, 20, 40] * 4)
    net = CNNClassifier(max_epochs=1, train_split=None).fit(X, y)
    assert net.classes_.tolist() == [10, 20, 40]
    assert set(net.predict(X)) <= {10, 20, 40}
    assert net.module_.classifier[-1].out_features == 3


def test_validation_split_comes_from_the_training_data(sample):
    X_train, y_train = sample.X[sample.train], sample.target[sample.train]
    n_train = len(y_train)  # 14: 2 training subjects x 7 emotions
    pipe = make_cnn_pipeline(SIZE, max_epochs=2, valid_size=0.5, batch_size=4)
    pipe.fit(X_train, y_train)
    history = pipe.named_steps["cnn"].history
    assert len(history) == 2
    n_valid = math.ceil(0.5 * n_train)
    for epoch in history:
        assert np.isfinite(epoch["valid_loss"]) and "valid_acc" in epoch
        valid = sum(b.get("valid_batch_size", 0) for b in epoch["batches"])
        train = sum(b.get("train_batch_size", 0) for b in epoch["batches"])
        # the validation samples are a fraction of the training set, which is all it saw
        assert valid == n_valid and train + valid == n_train


def test_fit_is_seeded_and_leaves_the_global_rng_alone():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 1, 16, 16)).astype(np.float32)
    y = np.array([0, 1] * 8)
    state = torch.random.get_rng_state()
    a = CNNClassifier(max_epochs=2, valid_size=0.25, random_state=3).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = CNNClassifier(max_epochs=2, valid_size=0.25, random_state=3).fit(X, y)
    c = CNNClassifier(max_epochs=2, valid_size=0.25, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_grid_search_over_optimizer_and_lr_selects_and_refits(sample):
    X_train, y_train = sample.X[sample.train], sample.target[sample.train]
    pipe = make_cnn_pipeline(SIZE, max_epochs=1, batch_size=8, train_split=None)
    grid = [
        {
            "cnn__optimizer": [torch.optim.SGD],
            "cnn__optimizer__momentum": [0.9],
            "cnn__lr": [1e-3, 1e-2],
        },
        {"cnn__optimizer": [torch.optim.Adam], "cnn__lr": [1e-3, 1e-2]},
    ]
    search = GridSearchCV(
        pipe,
        grid,
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
        error_score="raise",
    )
    search.fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_.named_steps["cnn"]
    assert best.optimizer is search.best_params_["cnn__optimizer"]
    assert best.lr == search.best_params_["cnn__lr"]
    assert type(best.optimizer_) is search.best_params_["cnn__optimizer"]
    assert best.optimizer_.param_groups[0]["lr"] == search.best_params_["cnn__lr"]
    # refitted on the whole training set (no internal split here)
    assert sum(b["train_batch_size"] for b in best.history[-1]["batches"]) == len(y_train)
    assert search.predict(sample.X[~sample.train]).shape == (int((~sample.train).sum()),)


def test_clone_keeps_settings_and_device_auto():
    pipe = make_cnn_pipeline(48, lr=1e-3, optimizer=torch.optim.AdamW)
    copy = clone(pipe)
    params = copy.get_params()
    assert params["cnn__lr"] == 1e-3 and params["cnn__optimizer"] is torch.optim.AdamW
    assert params["cnn__device"] == "auto" and params["prep__size"] == 48
    assert isinstance(params["cnn__iterator_train__collate_fn"], TrainAugmentation)


def test_classifier_needs_image_tensors(fitted, sample):
    with pytest.raises(ValueError, match="CNNPreprocessor"):
        CNNClassifier(max_epochs=1).fit(list(sample.X[:4]), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="module__size=32 does not match"):
        CNNClassifier(module__size=32).fit(np.zeros((4, 1, 16, 16), np.float32), [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 48, 48\)"):
        fitted.named_steps["cnn"].predict(np.zeros((2, 1, 32, 32), np.float32))


def test_mixed_precision_only_on_cuda(sample, one_thread):
    from fersk.cnn import CompactCNN

    net = CNNClassifier(CompactCNN, max_epochs=1, train_split=None, amp=True, device="cpu")
    assert not net._amp()
    net.fit(CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X), sample.target)
    assert getattr(net, "grad_scaler_", None) is None


# --------------------------------------------------------------------------
# Persistence and int8 copies
# --------------------------------------------------------------------------


def test_joblib_round_trip_is_identical(fitted, sample, tmp_path):
    X_test = sample.X[~sample.train]
    proba = fitted.predict_proba(X_test)
    joblib.dump(fitted, tmp_path / "cnn.joblib")
    loaded = joblib.load(tmp_path / "cnn.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), proba)
    np.testing.assert_array_equal(loaded.predict(X_test), fitted.predict(X_test))
    cnn = loaded.named_steps["cnn"]
    assert not cnn.module_.training
    assert cnn.versions_ == fitted.named_steps["cnn"].versions_


def test_a_gpu_trained_net_loads_on_cpu(fitted, sample, monkeypatch):
    from skorch.exceptions import DeviceWarning

    cnn = fitted.named_steps["cnn"]
    X = CNNPreprocessor(size=SIZE).fit_transform(sample.X[:4])
    proba = cnn.predict_proba(X)
    buffer = io.BytesIO()
    cnn.device = "cuda"  # as if it had been trained on a GPU
    try:
        joblib.dump(cnn, buffer)
    finally:
        cnn.device = "cpu"
    buffer.seek(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # loaded where CUDA is not
    with pytest.warns(DeviceWarning, match="cuda"):
        loaded = joblib.load(buffer)
    assert str(loaded.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_quantized_copy(fitted, sample):
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    cnn = fitted.named_steps["cnn"]
    q = cnn.quantized()
    assert q.quantized_ and q is not cnn
    dense = [m for m in q.module_.modules() if isinstance(m, DynamicLinear)]
    assert len(dense) == len(DENSE_UNITS) + 1
    assert not any(type(m) is nn.Linear for m in q.module_.modules())
    assert sum(type(m) is nn.Linear for m in cnn.module_.modules()) == 3  # original intact
    assert state_dict_nbytes(q.module_) < 0.85 * state_dict_nbytes(cnn.module_)

    X_test = sample.X[~sample.train]
    q_pipe = Pipeline([fitted.steps[0], ("cnn", q)])
    proba, q_proba = fitted.predict_proba(X_test), q_pipe.predict_proba(X_test)
    assert q_proba.shape == proba.shape
    np.testing.assert_allclose(q_proba.sum(axis=1), 1, rtol=1e-5)
    assert np.abs(q_proba - proba).mean() < 0.05
    assert q_pipe.predict(X_test).shape == (len(X_test),)
    with pytest.raises(RuntimeError, match="prediction only"):
        q.fit(np.zeros((4, 1, SIZE, SIZE), np.float32), [0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buffer = io.BytesIO()
        joblib.dump(q, buffer)
        buffer.seek(0)
        np.testing.assert_array_equal(
            joblib.load(buffer).predict_proba(CNNPreprocessor(size=SIZE).fit_transform(X_test)),
            q.predict_proba(CNNPreprocessor(size=SIZE).fit_transform(X_test)),
        )


def test_test_time_views_average_the_mirror_or_twelve_crops(fitted, sample):
    import copy

    import cv2

    from fersk.cnn.estimator import tta_views

    net = copy.deepcopy(fitted[-1]).set_params(tta=False)
    X = fitted[0].transform(sample.X[~sample.train][:5])
    module = fitted[-1].module_.eval()

    def proba(images):
        with torch.inference_mode():
            return torch.softmax(module(torch.as_tensor(images).float()), dim=1).numpy()

    plain = net.predict_proba(X)
    np.testing.assert_allclose(plain, proba(X), atol=1e-5)
    mirrored = (proba(X) + proba(X[..., ::-1].copy())) / 2
    np.testing.assert_allclose(net.set_params(tta=True).predict_proba(X), mirrored, atol=1e-5)
    np.testing.assert_allclose(net.set_params(tta=np.True_).predict_proba(X), mirrored, atol=1e-5)
    # 12 views: the image, its corners and centre at 7/8 of the side zoomed back, each mirrored
    side = X.shape[-1]
    c = side - side // 8  # 42 of 48
    windows = [(0, 0), (0, side - c), (side - c, 0), (side - c, side - c), (3, 3)]
    views = [X.astype(np.float32)]
    for top, left in windows:
        crop = X[:, :, top : top + c, left : left + c].astype(np.float32)
        views.append(np.stack([[cv2.resize(im[0], (side, side))] for im in crop]))
    views += [v[..., ::-1] for v in views]
    built = tta_views(torch.as_tensor(X), "crops")
    assert len(built) == 12
    for mine, theirs in zip(views, built):  # bilinear, half-pixel centres: OpenCV's resize
        np.testing.assert_allclose(theirs.numpy(), mine, atol=0.05)
    crops = np.mean([proba(v.copy()) for v in views], axis=0)
    np.testing.assert_allclose(net.set_params(tta="crops").predict_proba(X), crops, atol=1e-4)
    with pytest.raises(ValueError, match="tta must be False, True or 'crops', got 'ten'"):
        net.set_params(tta="ten").predict_proba(X)
    with pytest.raises(ValueError, match="got 'ten'"):  # before any training
        clone(net).fit(X, np.arange(5) % 2)
    with pytest.raises(ValueError, match="square images"):
        tta_views(torch.zeros(1, 1, 48, 40), "crops")
