"""The CNN baseline: network shapes, the skorch estimator, preprocessing, persistence, int8."""

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

from fersk._core.batch import SampleError
from fersk.cnn import (
    CONV_BLOCKS,
    DENSE_UNITS,
    BaselineCNN,
    CNNClassifier,
    TrainAugmentation,
    count_parameters,
    make_cnn_pipeline,
    state_dict_nbytes,
)
from fersk.features.preprocess import CNNPreprocessor
from fersk.io import read_image

SIZE = 48


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def sample(cnn_sample):
    return cnn_sample


@pytest.fixture(scope="module")
def fitted(sample):
    """A CNN pipeline fitted for 2 epochs on the training subjects, string labels."""
    pipe = make_cnn_pipeline(SIZE, max_epochs=2, valid_size=0.5, batch_size=8)
    return pipe.fit(sample.X[sample.train], sample.labels[sample.train])


# -- the network --------------------------------------------------------------


@pytest.mark.parametrize("size", [48, 75, 100])
@pytest.mark.parametrize("channels", [1, 3])
def test_layer_output_shapes(size, channels):
    net = BaselineCNN(n_classes=7, size=size, channels=channels).eval()
    x = torch.zeros(2, channels, size, size)
    side = size
    with torch.no_grad():
        for block, (filters, _) in zip(net.features, CONV_BLOCKS):
            x = block(x)
            side //= 2  # 'same' convolution keeps the side, the 2x2 pool halves it
            assert tuple(x.shape) == (2, filters, side, side)
        assert net.classifier[1].in_features == 512 * side * side
        assert tuple(net(torch.zeros(2, channels, size, size)).shape) == (2, 7)
    assert side == {48: 3, 75: 4, 100: 6}[size]


def _expected_parameters(size, channels, n_classes):
    """Count from the layer shapes: conv k*k*in*out + out bias, BN 2*out, dense in*out + out."""
    total, in_ch, side = 0, channels, size
    for filters, kernel in CONV_BLOCKS:
        total += kernel * kernel * in_ch * filters + filters + 2 * filters
        in_ch, side = filters, side // 2
    n_in = in_ch * side * side
    for units in DENSE_UNITS:
        total += n_in * units + units + 2 * units
        n_in = units
    return total + n_in * n_classes + n_classes


@pytest.mark.parametrize("size, channels, n_classes", [(100, 1, 7), (48, 1, 7), (75, 3, 6)])
def test_parameter_count_matches_the_layer_formula(size, channels, n_classes):
    net = BaselineCNN(n_classes=n_classes, size=size, channels=channels)
    assert count_parameters(net) == _expected_parameters(size, channels, n_classes)
    if (size, channels, n_classes) == (100, 1, 7):  # the study's setting: ~8.0 M
        assert 7.95e6 < count_parameters(net) < 8.05e6


def test_network_rejects_too_small_input():
    with pytest.raises(ValueError, match="at least 16"):
        BaselineCNN(size=12)


# -- the preprocessor ---------------------------------------------------------


def test_preprocessor_paths_and_arrays(sample, tmp_path):
    paths = list(sample.X[:5])
    X = CNNPreprocessor(size=32).fit_transform(paths)
    assert X.shape == (5, 1, 32, 32) and X.dtype == np.float32
    np.testing.assert_allclose(X.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=(1, 2, 3)), 1, atol=1e-4)
    arrays = [read_image(p, color="rgb") for p in paths]
    np.testing.assert_allclose(CNNPreprocessor(size=32).fit_transform(arrays), X, atol=1e-5)
    # order, workers and cache do not change the output
    reversed_ = CNNPreprocessor(size=32, n_jobs=2, memory=tmp_path).fit_transform(paths[::-1])
    np.testing.assert_array_equal(reversed_[::-1], X)
    cached = CNNPreprocessor(size=32, memory=tmp_path).fit_transform(paths)
    np.testing.assert_array_equal(cached, X)
    rgb = CNNPreprocessor(size=32, channels=3).fit_transform(paths)
    assert rgb.shape == (5, 3, 32, 32)


def test_preprocessor_errors_name_the_sample(sample, tmp_path):
    bad = tmp_path / "not_an_image.png"
    bad.write_text("nope")
    images = [sample.X[0], str(bad)]
    with pytest.raises(SampleError, match=r"sample 1 .*not_an_image\.png"):
        CNNPreprocessor(size=32, on_failure="raise").fit_transform(images)
    prep = CNNPreprocessor(size=32)  # on_failure="nan" is the default
    with pytest.warns(UserWarning, match="1 of 2 samples"):
        X = prep.fit_transform(images)
    assert prep.n_failures_ == 1 and not X[1].any() and X[0].any()
    with pytest.raises(ValueError):
        CNNPreprocessor(channels=2).fit([])


# -- the estimator --------------------------------------------------------------


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


def test_augmentation_only_in_training(sample):
    seen = []
    augment = TrainAugmentation()

    def collate(batch):
        seen.append(len(batch))
        return augment(batch)

    X_train, y_train = sample.X[sample.train], sample.target[sample.train]
    pipe = make_cnn_pipeline(
        SIZE, max_epochs=2, valid_size=0.5, batch_size=4, iterator_train__collate_fn=collate
    )
    pipe.fit(X_train, y_train)
    n_fit = len(y_train) - math.ceil(0.5 * len(y_train))
    assert sum(seen) == 2 * n_fit  # training batches only, never the validation split
    n_seen = len(seen)
    first = pipe.predict_proba(X_train)
    np.testing.assert_array_equal(pipe.predict_proba(X_train), first)
    assert len(seen) == n_seen  # prediction never goes through the training collate

    # the augmentation itself changes the pixels but not the shapes or labels
    X = CNNPreprocessor(size=SIZE).fit_transform(X_train[:4])
    batch = [(x, np.int64(label)) for x, label in zip(X, y_train[:4])]
    torch.manual_seed(0)
    X_aug, y_aug = augment(batch)
    assert X_aug.shape == (4, 1, SIZE, SIZE) and y_aug.tolist() == list(y_train[:4])
    assert not torch.allclose(X_aug, torch.from_numpy(X))
    X_flip, _ = TrainAugmentation(flip=1.0, max_rotation=0.0)(batch)
    np.testing.assert_array_equal(X_flip.numpy(), X[..., ::-1])


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


# -- persistence and compression ------------------------------------------------


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


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_gpu_trained_net_loads_on_cpu(fitted, sample):
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


# -- the CPU member, efficient training, resumable runs -------------------------


def test_compact_cnn_is_the_baseline_family_at_a_quarter_width_and_double_depth():
    from fersk.cnn import BaselineCNN, CompactCNN, count_parameters

    compact = CompactCNN(size=48)
    assert (compact.width, compact.depth) == (0.25, 2)
    convs = [m for m in compact.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 32, 32, 128, 128, 128, 128]
    assert [c.kernel_size[0] for c in convs] == [3, 3, 5, 5, 3, 3, 3, 3]
    assert count_parameters(compact) < count_parameters(BaselineCNN(size=48)) / 4
    # width=1, depth=1 is the paper's network, parameter for parameter.
    assert count_parameters(BaselineCNN(size=100, width=1.0, depth=1)) == 8_013_703


def test_raw_uint8_pixels_and_standardised_images_predict_alike(sample, one_thread):
    from fersk.cnn import CompactCNN

    raw = CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X)
    scaled = CNNPreprocessor(size=SIZE).fit_transform(sample.X)
    assert raw.dtype == np.uint8 and raw.nbytes * 4 == scaled.nbytes
    net = CNNClassifier(CompactCNN, max_epochs=1, train_split=None).fit(raw, sample.target)
    np.testing.assert_allclose(net.predict_proba(raw), net.predict_proba(scaled), atol=1e-5)


def test_one_cycle_schedule_and_mirror_averaging(sample, one_thread):
    from fersk.cnn import CompactCNN, OneCycle

    schedule = OneCycle(max_lr=1e-2, pct_start=0.25, div=10, final_div=100)
    rates = [schedule.rate(step, 100) for step in range(101)]
    assert rates[0] == pytest.approx(1e-3) and max(rates) == pytest.approx(1e-2)
    assert int(np.argmax(rates)) == 25 and rates[100] == pytest.approx(1e-4)
    X = CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X)
    net = CNNClassifier(
        CompactCNN, max_epochs=2, batch_size=8, lr=1e-2, schedule="onecycle", train_split=None
    ).fit(X, sample.target)
    assert [h["train_batch_count"] for h in net.history] == [3, 3]
    # The last batch ran at the schedule's rate for its step (5 of 6 batches).
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(OneCycle().rate(5, 6, 1e-2))
    plain = net.predict_proba(X)
    mirrored = net.predict_proba(np.ascontiguousarray(X[..., ::-1]))
    net.tta = True
    np.testing.assert_allclose(net.predict_proba(X), (plain + mirrored) / 2, atol=1e-6)


def test_checkpoints_resume_an_interrupted_training(sample, tmp_path, one_thread):
    from skorch.callbacks import Callback

    from fersk.cnn import CompactCNN

    class StopAfter(Callback):
        def __init__(self, n):
            self.n = n

        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == self.n:
                raise KeyboardInterrupt  # skorch stops cleanly, as on Ctrl-C

    X = CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X)
    folder = tmp_path / "checkpoint"
    settings = dict(max_epochs=4, schedule="onecycle", train_split=None, checkpoint_dir=folder)
    first = CNNClassifier(CompactCNN, callbacks=[("stop", StopAfter(2))], **settings)
    first.fit(X, sample.target)
    assert len(first.history) == 2 and (folder / "params.pt").is_file()
    resumed = CNNClassifier(CompactCNN, **settings).fit(X, sample.target)
    assert len(resumed.history) == 4  # the two missing epochs, not four more
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    # The resumed run continued the learning-rate schedule where it stopped.
    assert resumed.optimizer_.param_groups[0]["lr"] < first.optimizer_.param_groups[0]["lr"]


def test_mixed_precision_only_on_cuda(sample, one_thread):
    from fersk.cnn import CompactCNN

    net = CNNClassifier(CompactCNN, max_epochs=1, train_split=None, amp=True, device="cpu")
    assert not net._amp()
    net.fit(CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X), sample.target)
    assert getattr(net, "grad_scaler_", None) is None


def test_a_checkpoint_folder_of_another_training_is_refused(sample, tmp_path, one_thread):
    from fersk.cnn import CompactCNN

    X = CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X)
    folder = tmp_path / "cp"
    settings = dict(max_epochs=1, schedule="onecycle", train_split=None, checkpoint_dir=folder)
    CNNClassifier(CompactCNN, **settings).fit(X, sample.target)
    with pytest.raises(ValueError, match="holds another training .*lr"):
        CNNClassifier(CompactCNN, lr=1e-2, **settings).fit(X, sample.target)
    with pytest.raises(ValueError, match="holds another training .*y_digest"):
        CNNClassifier(CompactCNN, **settings).fit(X, sample.target[::-1])
    with pytest.raises(ValueError, match="schedule='onecycle'"):
        CNNClassifier(CompactCNN, checkpoint_dir=tmp_path / "other", max_epochs=1).fit(
            X, sample.target
        )
