"""Structured pruning (CNN channels, MLP units) and int8 quantisation of fitted classifiers."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk.cnn import (
    BaselineCNN,
    CNNClassifier,
    CompactCNN,
    QuantizedCNN,
    count_parameters,
    prune_channels,
    prune_mlp_units,
    quantize,
    quantize_static,
    state_dict_nbytes,
)
from fersk.models import load_model, save_model


@pytest.fixture(scope="module")
def images():
    """Three classes told apart by where the image is bright (the net standardises brightness)."""
    rng = np.random.default_rng(0)
    y = np.repeat(["top", "left", "corner"], 32)
    X = rng.normal(60, 20, size=(96, 1, 16, 16))
    X[y == "top", :, :8, :] += 120
    X[y == "left", :, :, :8] += 120
    X[y == "corner", :, 8:, 8:] += 120
    return X.clip(0, 255).astype(np.uint8), y


@pytest.fixture(scope="module")
def fitted(images, one_thread):
    """A small CompactCNN (depth 2: every convolution pruned on its own) that learned the task."""
    X, y = images
    net = CNNClassifier(
        CompactCNN,
        max_epochs=8,
        lr=3e-3,
        batch_size=16,
        train_split=None,
        iterator_train__collate_fn=None,
    )
    net.fit(X, y)
    assert (net.predict(X) == y).mean() > 0.9
    return net


# -- the network's explicit widths ---------------------------------------------


def test_filters_and_dense_units_build_the_network_asked():
    net = BaselineCNN(size=32, depth=2, filters=(4, 5, 6, 7, 8, 9, 10, 11), dense_units=(12, 13))
    convs = [m for m in net.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 5, 6, 7, 8, 9, 10, 11]
    assert [c.in_channels for c in convs] == [1, 4, 5, 6, 7, 8, 9, 10]
    linears = [m for m in net.classifier.modules() if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (11 * 2 * 2, 12),
        (12, 13),
        (13, 7),
    ]
    per_block = BaselineCNN(size=32, depth=2, filters=(4, 6, 8, 10))
    assert per_block.conv_filters == (4, 4, 6, 6, 8, 8, 10, 10)
    assert BaselineCNN(size=32).conv_filters == (64, 128, 512, 512)  # width, as before


@pytest.mark.parametrize(
    "params, message",
    [
        ({"filters": (4, 5, 6)}, "filters must be 4 .* or 8"),
        ({"filters": (4, 0, 6, 7)}, "positive"),
        ({"dense_units": (16,)}, "dense_units must be 2 positive numbers"),
    ],
)
def test_bad_widths_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        BaselineCNN(size=32, depth=2, **params)


# -- pruning the CNN ---------------------------------------------------------------


def test_pruned_net_has_the_channels_asked_and_predicts(images, fitted, one_thread):
    X, y = images
    before = fitted.module_.conv_filters
    weights = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    pruned = prune_channels(fitted, 0.5, X, y, fine_tune_epochs=3, fine_tune_lr=2e-3)

    assert pruned is not fitted and type(pruned.module_) is CompactCNN
    assert pruned.module_.conv_filters == tuple(round(f / 2) for f in before)
    assert pruned.get_params()["module__filters"] == pruned.module_.conv_filters
    assert pruned.get_params()["module__dense_units"] == (128, 256)
    assert count_parameters(pruned.module_) < count_parameters(fitted.module_) / 2.5
    assert pruned.predict_proba(X[:5]).shape == (5, 3)
    assert pruned.classes_.tolist() == fitted.classes_.tolist()
    # Fine-tuned, it still tells the training images apart.
    assert (pruned.predict(X) == y).mean() > 0.85
    assert len(pruned.history) == 3 and pruned.pruning_["fine_tune_epochs"] == 3
    # The training recipe is the original's; the original is untouched.
    assert (pruned.lr, pruned.max_epochs, pruned.train_split) == (3e-3, 8, None)
    assert fitted.module_.conv_filters == before
    for key, value in fitted.module_.state_dict().items():
        assert torch.equal(value, weights[key])


def test_pruning_keeps_the_strongest_filters_and_their_feature_columns(fitted):
    """Without fine-tuning, the kept weights are exactly the original ones, sliced."""
    pruned = prune_channels(fitted, 0.5, dense=False)
    old, new = fitted.module_, pruned.module_
    old_conv = [m for m in old.features.modules() if isinstance(m, torch.nn.Conv2d)]
    new_conv = [m for m in new.features.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = old_conv[-1].weight.detach().abs().sum(dim=(1, 2, 3))
    kept = torch.sort(torch.topk(norms, new_conv[-1].out_channels).indices).values
    assert torch.equal(new_conv[-1].bias, old_conv[-1].bias[kept])
    # The first dense layer keeps each kept channel's block of (row, column) columns.
    positions = 1  # 16 px: one pixel left after four poolings
    old_first, new_first = old.classifier[1], new.classifier[1]
    assert new_first.in_features == len(kept) * positions
    assert torch.equal(new_first.weight, old_first.weight[:, kept])
    assert pruned.module_.dense_units == (256, 512)


def test_first_dense_columns_follow_the_channels_at_larger_sizes(one_thread):
    """At 32 px the features are 2x2 per channel: slicing columns must keep the networks equal."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(40, 1, 32, 32), dtype=np.uint8)
    y = np.array([0, 1] * 20)
    net = CNNClassifier(
        BaselineCNN, module__width=0.0625, max_epochs=1, train_split=None, batch_size=20
    ).fit(X, y)
    # Zero the filters that pruning will remove: the pruned net must then compute the same.
    pruned = prune_channels(net, 0.5, dense=False)
    module = net.module_
    with torch.no_grad():
        convs = [m for m in module.features.modules() if isinstance(m, torch.nn.Conv2d)]
        bns = [m for m in module.features.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for conv, bn in zip(convs, bns):
            norms = conv.weight.abs().sum(dim=(1, 2, 3))
            drop = torch.topk(norms, conv.out_channels // 2, largest=False).indices
            conv.weight[drop] = 0
            conv.bias[drop] = 0
            bn.bias[drop] = 0
            bn.running_mean[drop] = 0
    exact = prune_channels(net, 0.5, dense=False)
    assert exact.module_.conv_filters == pruned.module_.conv_filters == (4, 4, 16, 16)
    np.testing.assert_allclose(exact.predict_proba(X), net.predict_proba(X), atol=1e-5)


def test_pruned_net_round_trips_through_the_model_format_and_joblib(
    images, fitted, tmp_path, one_thread
):
    X, y = images
    pruned = prune_channels(fitted, 0.25, X, y, fine_tune_epochs=1)
    expected = pruned.predict_proba(X)

    folder = save_model(pruned, tmp_path / "pruned")
    loaded = load_model(folder)
    assert loaded.module_.conv_filters == pruned.module_.conv_filters
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)

    joblib.dump(pruned, tmp_path / "pruned.joblib")
    unpickled = joblib.load(tmp_path / "pruned.joblib")
    np.testing.assert_array_equal(unpickled.predict_proba(X), expected)
    # And it trains again like any CNNClassifier, at its new width.
    again = loaded.set_params(max_epochs=1).fit(X, y)
    assert again.module_.conv_filters == pruned.module_.conv_filters


def test_soft_targets_fine_tune(images, fitted, one_thread):
    X, y = images
    votes = np.where(fitted.classes_[None, :] == y[:, None], 0.8, 0.1)
    pruned = prune_channels(fitted, 0.5, X, y, soft_targets=votes, fine_tune_epochs=2)
    assert (pruned.predict(X) == y).mean() > 0.8


def test_bn_criterion_and_no_data(images, fitted):
    X, _ = images
    pruned = prune_channels(fitted, 0.75, criterion="bn")
    assert pruned.module_.conv_filters == tuple(
        max(1, round(f / 4)) for f in fitted.module_.conv_filters
    )
    assert pruned.pruning_["criterion"] == "bn" and not pruned.pruning_["recalibrated"]
    assert pruned.predict_proba(X[:3]).shape == (3, 3)


def test_pruning_refuses_what_it_cannot_prune(images, fitted):
    X, y = images
    with pytest.raises(ValueError, match=r"amount must be in \[0, 1\)"):
        prune_channels(fitted, 1.0)
    with pytest.raises(ValueError, match="criterion must be one of"):
        prune_channels(fitted, 0.5, criterion="l2")
    with pytest.raises(ValueError, match="need their labels y"):
        prune_channels(fitted, 0.5, X)
    with pytest.raises(ValueError, match="at least 2 images, got 1"):
        prune_channels(fitted, 0.5, X[:1], y[:1])
    with pytest.raises(ValueError, match="quantized already"):
        prune_channels(quantize(fitted), 0.5)
    with pytest.raises(Exception, match="not initialized"):
        prune_channels(CNNClassifier(CompactCNN), 0.5)
    other = CNNClassifier(Tiny, max_epochs=1, train_split=None).fit(X, y)
    with pytest.raises(TypeError, match="module is a class from fersk.cnn.nets"):
        prune_channels(other, 0.5)
    with pytest.raises(TypeError, match="BaselineCNN or CompactCNN; its module is a Tiny"):
        quantize_static(other, X)


class Tiny(torch.nn.Module):
    """Not one of fersk's networks."""

    def __init__(self, n_classes: int = 3, size: int = 16, channels: int = 1) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(channels * size * size, n_classes)

    def forward(self, x):
        return self.linear(x.float().flatten(1))


# -- pruning the MLP -------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    y = np.select([X[:, 0] > 0.5, X[:, 1] > 0], ["a", "b"], "c")
    return X, y


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pruned_mlp_is_an_ordinary_fitted_mlp(mlp_data, solver, tmp_path):
    X, y = mlp_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(
            (40, 20), solver=solver, max_iter=400, early_stopping=solver == "adam", random_state=0
        ).fit(X, y)  # early stopping, as the study's MLP
    coefs = [w.copy() for w in mlp.coefs_]
    pruned = prune_mlp_units(mlp, 0.5, X, y, fine_tune_iter=60)

    assert pruned.hidden_layer_sizes == (20, 10)
    assert [w.shape for w in pruned.coefs_] == [(12, 20), (20, 10), (10, 3)]
    assert [b.shape for b in pruned.intercepts_] == [(20,), (10,), (3,)]
    assert mlp.hidden_layer_sizes == (40, 20)
    assert all(np.array_equal(a, b) for a, b in zip(mlp.coefs_, coefs))
    assert pruned.predict_proba(X).shape == (300, 3)
    # Half the units gone, fine-tuned: about as good as before on the training data.
    assert pruned.score(X, y) > min(0.9, mlp.score(X, y) - 0.05)

    model = make_pipeline(StandardScaler().fit(X), pruned)
    expected = model.predict_proba(X)
    loaded = load_model(save_model(model, tmp_path / "mlp"))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    joblib.dump(model, tmp_path / "mlp.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "mlp.joblib").predict_proba(X), expected)


def test_mlp_pruning_keeps_the_units_that_matter(mlp_data):
    X, y = mlp_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, y)
    mlp.coefs_[0][:, 3] = 0.0  # a dead unit: no incoming weights
    pruned = prune_mlp_units(mlp, 1 / 8)  # no data: prune only
    assert pruned.hidden_layer_sizes == (7,)
    kept = [i for i in range(8) if i != 3]
    np.testing.assert_array_equal(pruned.coefs_[0], mlp.coefs_[0][:, kept])
    np.testing.assert_array_equal(pruned.coefs_[1], mlp.coefs_[1][kept])
    # Removing a unit that contributes nothing changes nothing.
    np.testing.assert_allclose(pruned.predict_proba(X), mlp.predict_proba(X))
    # And it keeps training (partial_fit) at its new size.
    pruned.partial_fit(X, y)
    assert pruned.coefs_[0].shape == (12, 7)


def test_mlp_pruning_refuses_what_it_cannot_prune(mlp_data):
    X, y = mlp_data
    with pytest.raises(TypeError, match="takes an MLPClassifier"):
        prune_mlp_units(make_pipeline(MLPClassifier()), 0.5)
    with pytest.raises(Exception, match="not fitted"):
        prune_mlp_units(MLPClassifier(), 0.5)
    mlp = MLPClassifier((8,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X, y)
    with pytest.raises(ValueError, match="amount"):
        prune_mlp_units(mlp, -0.1)
    with pytest.raises(ValueError, match="needs its labels y"):
        prune_mlp_units(mlp, 0.5, X)


# -- int8 ----------------------------------------------------------------------------


@pytest.mark.parametrize("reduce_range", [True, False])
def test_static_int8_predicts_like_float(images, fitted, reduce_range, one_thread):
    X, y = images
    q = quantize_static(fitted, X, n_calibration=64, reduce_range=reduce_range)
    assert isinstance(q.module_, QuantizedCNN) and q.quantized_
    assert fitted.module_.training is False and not getattr(fitted, "quantized_", False)
    convs = [m for m in q.module_.features.modules() if "Conv" in type(m).__name__]
    assert convs and all("quantized" in type(m).__module__ for m in convs)
    proba, float_proba = q.predict_proba(X), fitted.predict_proba(X)
    assert proba.shape == float_proba.shape
    assert np.abs(proba - float_proba).max() < 0.15
    assert (q.predict(X) == fitted.predict(X)).mean() > 0.95
    assert state_dict_nbytes(q.module_) < state_dict_nbytes(fitted.module_) / 2
    with pytest.raises(RuntimeError, match="prediction only"):
        q.fit(X, y)


def test_static_int8_of_a_pruned_net_and_in_a_pickle(images, fitted, tmp_path, one_thread):
    X, _ = images
    q = quantize_static(prune_channels(fitted, 0.5), X, dense="float")
    expected = q.predict_proba(X)
    joblib.dump(q, tmp_path / "q.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "q.joblib").predict_proba(X), expected)


def test_dynamic_int8_predicts_like_float(images, fitted):
    X, _ = images
    q = quantize(fitted)
    assert np.abs(q.predict_proba(X) - fitted.predict_proba(X)).max() < 0.05


def test_static_int8_refuses_other_networks(images, fitted):
    X, _ = images
    with pytest.raises(ValueError, match="quantized already"):
        quantize_static(quantize(fitted), X)
    with pytest.raises(ValueError, match="backend 'nope' is not available"):
        quantize_static(fitted, X, backend="nope")
    with pytest.raises(ValueError, match="dense must be"):
        quantize_static(fitted, X, dense="static")


def test_an_int8_cnn_round_trips_through_the_model_format(tmp_path):
    """Stored as its calibrated float model, converted again on load: the same int8 answers."""
    from sklearn.pipeline import Pipeline

    from fersk import CNNPreprocessor
    from fersk.cnn import CNNClassifier, quantize_static
    from fersk.models import load_model, save_model

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(48, 1, 16, 16), dtype=np.uint8)
    net = CNNClassifier(max_epochs=2, train_split=None, module__width=0.125).fit(X, [0, 1, 2] * 16)
    model = Pipeline(
        [("prep", CNNPreprocessor(16, dtype="uint8").fit()), ("cnn", quantize_static(net, X))]
    )
    images = [x[0] for x in X[:8]]
    again = load_model(save_model(model, tmp_path / "int8"))
    assert type(again[1].module_).__name__ == "QuantizedCNN" and again[1].quantized_
    np.testing.assert_array_equal(again.predict_proba(images), model.predict_proba(images))
    with pytest.raises(TypeError, match="dynamically quantized"):
        save_model(Pipeline([("prep", model[0]), ("cnn", net.quantized())]), tmp_path / "dyn")
