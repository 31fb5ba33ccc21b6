"""Structured pruning of fitted classifiers, with a short fine-tuning.

* :func:`prune_channels`: a CNN's convolution filters and dense units: an
  ordinary, narrower :class:`~fersk.CNNClassifier` that fersk's model format stores;
* :func:`prune_mlp_units`: the hidden units of a scikit-learn
  :class:`~sklearn.neural_network.MLPClassifier` (the landmark classifier).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from torch import nn

from .nets import BaselineCNN, feature_side
from .quantization import _check_float_cnn

__all__ = ["PRUNING_CRITERIA", "prune_channels", "prune_mlp_units"]

#: Ways of ranking a convolution's filters (a dense layer's units) for :func:`prune_channels`.
PRUNING_CRITERIA = ("l1", "bn")


def _n_keep(n: int, amount: float) -> int:
    return max(1, int(round(n * (1.0 - amount))))


def _bn_scale(bn: nn.Module) -> torch.Tensor:
    return bn.weight.detach().abs() / torch.sqrt(bn.running_var + bn.eps)


def _keep(scores: torch.Tensor, amount: float) -> torch.Tensor:
    """Indices (ascending) of the ``1 - amount`` highest scores."""
    k = _n_keep(len(scores), amount)
    return torch.sort(torch.topk(scores.cpu(), k).indices).values


def _conv_layers(module: BaselineCNN) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    layers = list(module.features.modules())
    pairs = []
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Conv2d):
            if i + 1 >= len(layers) or not isinstance(layers[i + 1], nn.BatchNorm2d):
                raise TypeError("every convolution of the network must be followed by BatchNorm")
            pairs.append((layer, layers[i + 1]))
    return pairs


def _dense_layers(module: BaselineCNN) -> tuple[list[tuple[nn.Linear, nn.BatchNorm1d]], nn.Linear]:
    layers = list(module.classifier)
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    bns = [m for m in layers if isinstance(m, nn.BatchNorm1d)]
    if len(linears) != len(bns) + 1:
        raise TypeError("every dense layer but the output must be followed by BatchNorm")
    return list(zip(linears[:-1], bns)), linears[-1]


def _scores(weight: torch.Tensor, bn: nn.Module, criterion: str) -> torch.Tensor:
    norm = weight.detach().abs().flatten(1).sum(dim=1)
    return norm * _bn_scale(bn) if criterion == "bn" else norm


@torch.no_grad()
def _copy_pruned(
    old: BaselineCNN,
    new: BaselineCNN,
    conv_keep: list[torch.Tensor],
    dense_keep: list[torch.Tensor],
) -> None:
    """Copy the kept channels and units of ``old`` into the narrower ``new``."""

    def take(t: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor | None = None):
        t = t.detach().index_select(0, rows.to(t.device))
        return t if cols is None else t.index_select(1, cols.to(t.device))

    def take_bn(src: nn.Module, dst: nn.Module, idx: torch.Tensor) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(dst, name).copy_(take(getattr(src, name), idx))
        dst.num_batches_tracked.copy_(src.num_batches_tracked)

    in_idx = torch.arange(old.channels)
    for (conv, bn), (conv2, bn2), idx in zip(_conv_layers(old), _conv_layers(new), conv_keep):
        conv2.weight.copy_(take(conv.weight, idx, in_idx))
        conv2.bias.copy_(take(conv.bias, idx))
        take_bn(bn, bn2, idx)
        in_idx = idx
    # The flattened features are (channel, row, column): each kept channel keeps its block.
    positions = feature_side(old.size) ** 2
    in_idx = (in_idx[:, None] * positions + torch.arange(positions)[None, :]).reshape(-1)
    (old_dense, old_out), (new_dense, new_out) = _dense_layers(old), _dense_layers(new)
    for (lin, bn), (lin2, bn2), idx in zip(old_dense, new_dense, dense_keep):
        lin2.weight.copy_(take(lin.weight, idx, in_idx))
        lin2.bias.copy_(take(lin.bias, idx))
        take_bn(bn, bn2, idx)
        in_idx = idx
    new_out.weight.copy_(take(old_out.weight, torch.arange(old.n_classes), in_idx))
    new_out.bias.copy_(old_out.bias)


@torch.no_grad()
def _recalibrate_batchnorm(net, X, batch_size: int = 128) -> None:
    """Re-estimate every BatchNorm's running statistics on ``X`` (no gradient, no dropout)."""
    module = net.module_
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    module.eval()  # dropout off, whatever mode the module was left in
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over the batches
        bn.train()
    device = next(module.parameters()).device
    try:
        for start in range(0, len(X), batch_size):
            batch = X[start : start + batch_size]
            if len(batch) > 1:  # BatchNorm1d cannot train on one sample
                module(torch.as_tensor(batch).to(device))
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        module.eval()


def prune_channels(
    net,
    amount: float,
    X=None,
    y=None,
    *,
    soft_targets=None,
    criterion: str = "l1",
    dense: bool = True,
    fine_tune_epochs: int = 3,
    fine_tune_lr: float | None = None,
    recalibrate: bool = True,
    random_state: int | None = 0,
):
    """A copy of a fitted CNN classifier with a fraction of every layer's filters removed.

    Structured pruning: every convolution loses ``amount`` of its output
    channels (the filters with the lowest score; see ``criterion``), with the
    matching input channels of the next convolution, the BatchNorm entries,
    and the columns of the first dense layer (the flattened features are
    channel x position: each channel's block of columns goes with it); with
    ``dense=True`` the two dense blocks lose ``amount`` of their units too.
    The result is an ordinary, narrower network of the same class, built with
    explicit ``module__filters`` (and ``module__dense_units``), so it trains,
    pickles and saves (:func:`fersk.models.save_model`) like any
    :class:`~fersk.CNNClassifier`.

    Given training data, the BatchNorm statistics are first re-estimated on
    ``X`` (``recalibrate``), then the network is fine-tuned for
    ``fine_tune_epochs`` on all of ``X`` (no validation split) with a
    one-cycle learning rate peaking at ``fine_tune_lr``, the net's own
    augmentation, loss and optimizer. The returned classifier keeps ``net``'s
    training parameters (``lr``, ``max_epochs``, the schedule: what ``fit``
    would use) and the fine-tuning's history.

    Parameters
    ----------
    net : CNNClassifier
        Fitted, float (not quantized), its module a class from
        :mod:`fersk.cnn.nets` (:class:`~fersk.BaselineCNN`, :class:`~fersk.cnn.CompactCNN`).
    amount : float in [0, 1)
        Fraction of every layer's channels (units) to remove; each keeps at least one.
    X : ndarray of shape (n_samples, channels, size, size) or None
        Fine-tuning images (the training images, or a subsample); None: no
        fine-tuning (the pruned network as it is).
    y : array-like of shape (n_samples,) or None
        Their labels (among ``net.classes_``); required with ``X``.
    soft_targets : array-like of shape (n_samples, n_classes) or None
        Train against these class distributions instead (see :meth:`~fersk.CNNClassifier.fit`).
    criterion : {"l1", "bn"}, default="l1"
        Rank filters by the L1 norm of their weights (``"l1"``), or by the L1
        norm of the filter as the BatchNorm after it scales it,
        ``|gamma| / sqrt(var + eps) * ||w||_1`` (``"bn"``). Dense units
        likewise (their incoming weights).
    dense : bool, default=True
        Prune the dense blocks' units too (they hold most of the parameters
        of :class:`~fersk.cnn.CompactCNN`).
    fine_tune_epochs : int, default=3
        Epochs over ``X``; 0: only the BatchNorm recalibration.
    fine_tune_lr : float or None, default=None
        Peak learning rate of the fine-tuning; None: half of ``net.lr`` (on
        the shipped FER2013 CNN, 25% pruned and fine-tuned 3 epochs on 8,000
        images, half the training peak kept 1 point more accuracy than a tenth).
    recalibrate : bool, default=True
        Re-estimate the BatchNorm statistics on ``X`` before fine-tuning.
    random_state : int or None, default=0
        Seeds the fine-tuning (shuffling, augmentation, dropout).

    Returns
    -------
    CNNClassifier
        The pruned (and fine-tuned) copy; ``pruning_`` records ``amount``,
        ``criterion``, the channels before and after, and the fine-tuning.
        ``net`` is not changed.

    Raises
    ------
    TypeError
        If the network is not one of fersk's CNNs.
    ValueError
        If ``amount`` is outside [0, 1), the criterion unknown, ``net``
        quantized, or ``X`` given without ``y``.

    See Also
    --------
    fersk.cnn.prune_mlp_units : The same for the landmark MLP.
    fersk.cnn.quantize : Int8 dense layers, after pruning or instead.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.cnn import CNNClassifier, CompactCNN, count_parameters
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(48, 1, 16, 16), dtype=np.uint8)
    >>> y = np.array(["happy", "sad"] * 24)
    >>> net = CNNClassifier(CompactCNN, max_epochs=2, train_split=None).fit(X, y)
    >>> small = prune_channels(net, 0.5, X, y, fine_tune_epochs=1)
    >>> small.module_.conv_filters
    (8, 8, 16, 16, 64, 64, 64, 64)
    >>> count_parameters(small.module_) < count_parameters(net.module_) / 2
    True
    >>> small.get_params()["module__filters"], small.predict(X[:2]).shape
    ((8, 8, 16, 16, 64, 64, 64, 64), (2,))
    """
    _check_float_cnn(net, "prune_channels")
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"amount must be in [0, 1), got {amount}")
    if criterion not in PRUNING_CRITERIA:
        raise ValueError(f"criterion must be one of {PRUNING_CRITERIA}, got {criterion!r}")
    if X is not None and y is None:
        raise ValueError("prune_channels: fine-tuning images X need their labels y")
    module = net.module_
    if not (isinstance(net.module, type) and isinstance(module, BaselineCNN)):
        raise TypeError(
            "prune_channels takes a CNNClassifier whose module is a class from fersk.cnn.nets "
            f"(BaselineCNN, CompactCNN); got module={net.module!r}"
        )
    was_training = module.training
    module.eval()
    conv_keep = [_keep(_scores(c.weight, bn, criterion), amount) for c, bn in _conv_layers(module)]
    dense_layers, _ = _dense_layers(module)
    dense_keep = [
        _keep(_scores(lin.weight, bn, criterion), amount if dense else 0.0)
        for lin, bn in dense_layers
    ]
    filters = tuple(len(k) for k in conv_keep)
    units = tuple(len(k) for k in dense_keep)

    pruned = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch: "Re-initializing module ..."
        verbose, pruned.verbose = pruned.verbose, 0
        pruned.set_params(module__filters=filters, module__dense_units=units)
        pruned.verbose = verbose
    _copy_pruned(module, pruned.module_, conv_keep, dense_keep)
    module.train(was_training)
    pruned.module_.eval()

    epochs = int(fine_tune_epochs) if X is not None else 0
    lr = float(net.lr) / 2 if fine_tune_lr is None else float(fine_tune_lr)
    if X is not None:
        X = pruned._check_images(X)
        if len(X) < 2:
            raise ValueError(f"prune_channels fine-tunes on at least 2 images, got {len(X)}")
        if recalibrate:
            _recalibrate_batchnorm(pruned, X)
        if epochs > 0:
            _fine_tune(pruned, X, y, soft_targets, epochs, lr, random_state)
    pruned.pruning_ = {
        "amount": float(amount),
        "criterion": criterion,
        "filters_before": tuple(module.conv_filters),
        "filters": filters,
        "dense_units_before": tuple(len(lin.bias) for lin, _ in dense_layers),
        "dense_units": units,
        "recalibrated": bool(X is not None and recalibrate),
        "fine_tune_epochs": epochs,
        "fine_tune_lr": lr if epochs else None,
        "fine_tune_samples": 0 if X is None else int(len(X)),
    }
    return pruned


def _fine_tune(net, X, y, soft_targets, epochs: int, lr: float, random_state) -> None:
    """Train ``net`` in place for ``epochs`` on all of ``X`` (one-cycle, peak ``lr``)."""
    keep = ("lr", "max_epochs", "train_split", "schedule", "checkpoint_dir")
    saved = {name: getattr(net, name) for name in keep}
    net.lr, net.max_epochs, net.train_split = lr, epochs, None
    net.schedule, net.checkpoint_dir = "onecycle", None
    try:
        net.initialize_callbacks()
        net.initialize_optimizer()
        net.initialize_history()
        with torch.random.fork_rng(devices=[]):
            if random_state is not None:
                torch.manual_seed(int(random_state))
            net.partial_fit(X, y, soft_targets=soft_targets)
    finally:
        for name, value in saved.items():
            setattr(net, name, value)
        net.initialize_callbacks()
        net.initialize_optimizer()
        net.module_.eval()


# -- structured pruning of a scikit-learn MLP ---------------------------------


def prune_mlp_units(
    mlp,
    amount: float,
    X=None,
    y=None,
    *,
    fine_tune_iter: int = 10,
    fine_tune_lr: float | None = None,
):
    """A copy of a fitted :class:`~sklearn.neural_network.MLPClassifier` with fewer hidden units.

    Every hidden layer loses ``amount`` of its units: those whose incoming
    and outgoing weights matter least (the product of the L1 norms of the
    unit's column in the layer's weights and its row in the next layer's).
    The copy's ``hidden_layer_sizes`` are the new sizes, its ``coefs_`` and
    ``intercepts_`` the kept weights: an ordinary fitted MLPClassifier
    (``joblib``, :func:`fersk.models.save_model`). Given data, it is then
    fine-tuned: ``fine_tune_iter`` epochs of ``partial_fit`` (adam, sgd) or
    ``fine_tune_iter`` more L-BFGS iterations (warm start).

    Parameters
    ----------
    mlp : MLPClassifier
        Fitted (not a pipeline: prune its last step and pass the features it sees).
    amount : float in [0, 1)
        Fraction of every hidden layer's units to remove; each keeps at least one.
    X : array-like of shape (n_samples, n_features) or None
        Fine-tuning data, as the MLP sees it (after the pipeline's
        transformers); None: no fine-tuning.
    y : array-like of shape (n_samples,) or None
        Its labels (among ``mlp.classes_``); required with ``X``.
    fine_tune_iter : int, default=10
        Epochs (adam, sgd) or iterations (lbfgs).
    fine_tune_lr : float or None, default=None
        Learning rate of the fine-tuning (adam, sgd); None: the MLP's
        ``learning_rate_init``. The copy keeps its own ``learning_rate_init``.

    Returns
    -------
    MLPClassifier
        The pruned (and fine-tuned) copy; ``mlp`` is not changed.

    Raises
    ------
    ValueError
        If ``amount`` is outside [0, 1), or ``X`` is given without ``y``.
    TypeError
        If ``mlp`` is not a fitted MLPClassifier.

    See Also
    --------
    fersk.cnn.prune_channels : The same for the CNN.
    fersk.study.default_classifier : The study's MLP.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10))
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> mlp = MLPClassifier((64, 32), max_iter=300, random_state=0).fit(X, y)
    >>> small = prune_mlp_units(mlp, 0.5, X, y)
    >>> small.hidden_layer_sizes, [w.shape for w in small.coefs_]
    ((32, 16), [(10, 32), (32, 16), (16, 1)])
    >>> bool(small.score(X, y) > 0.9)
    True
    """
    from sklearn.neural_network import MLPClassifier
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(mlp, MLPClassifier):
        raise TypeError(
            f"prune_mlp_units takes an MLPClassifier, got {type(mlp).__name__}; "
            "for a pipeline, prune its last step"
        )
    check_is_fitted(mlp)
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"amount must be in [0, 1), got {amount}")
    if X is not None and y is None:
        raise ValueError("prune_mlp_units: fine-tuning data X needs its labels y")
    coefs = [np.array(w) for w in mlp.coefs_]
    intercepts = [np.array(b) for b in mlp.intercepts_]
    sizes = []
    for layer in range(len(coefs) - 1):
        w_in, w_out = coefs[layer], coefs[layer + 1]
        scores = np.abs(w_in).sum(axis=0) * np.abs(w_out).sum(axis=1)
        keep = np.sort(np.argsort(-scores, kind="stable")[: _n_keep(len(scores), amount)])
        coefs[layer] = w_in[:, keep]
        intercepts[layer] = intercepts[layer][keep]
        coefs[layer + 1] = w_out[keep]
        sizes.append(len(keep))

    pruned = copy.deepcopy(mlp)
    pruned.hidden_layer_sizes = tuple(sizes)
    # C order, as fit leaves them (and as a saved model reloads them: the same BLAS sums).
    pruned.coefs_ = [np.ascontiguousarray(w) for w in coefs]
    pruned.intercepts_ = [np.ascontiguousarray(b) for b in intercepts]
    # Optimizer moments and early stopping's best weights have the old shapes.
    for name in ("_optimizer", "_best_coefs", "_best_intercepts"):
        pruned.__dict__.pop(name, None)
    if X is not None and int(fine_tune_iter) > 0:
        _fine_tune_mlp(pruned, X, y, int(fine_tune_iter), fine_tune_lr)
    return pruned


def _fine_tune_mlp(mlp, X, y, n_iter: int, lr: float | None) -> None:
    with warnings.catch_warnings():
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        if mlp.solver == "lbfgs":
            saved = mlp.warm_start, mlp.max_iter
            mlp.warm_start, mlp.max_iter = True, n_iter
            try:
                mlp.fit(X, y)
            finally:
                mlp.warm_start, mlp.max_iter = saved
            return
        saved = mlp.learning_rate_init, mlp.early_stopping, getattr(mlp, "best_loss_", None)
        if lr is not None:
            mlp.learning_rate_init = float(lr)
        # partial_fit refuses early stopping (the epochs are fixed here) and tracks the loss
        mlp.early_stopping = False
        if getattr(mlp, "best_loss_", None) is None:
            mlp.best_loss_ = np.inf
        try:
            for _ in range(n_iter):
                mlp.partial_fit(X, y)
        finally:
            mlp.learning_rate_init, mlp.early_stopping = saved[:2]
            if saved[1]:  # as fit with early stopping leaves it
                mlp.best_loss_ = saved[2]
            mlp.__dict__.pop("_optimizer", None)  # the next partial_fit starts afresh
