"""The study's CNN baseline as a scikit-learn classifier (skorch).

The compact network of Stoychev & Gunes (2022), 82.46% on the RAF-DB test
set, is the reference the landmark pipeline is compared against:

* :class:`BaselineCNN`: the ``torch.nn.Module`` (four conv blocks, two dense
  blocks, a linear output), for any input size from 16 px and 1 or 3 channels;
* :class:`CNNClassifier`: a :class:`skorch.NeuralNetClassifier` with the
  study's training recipe as defaults (Adam 5e-4, batch 32, cross-entropy,
  ReduceLROnPlateau, early stopping on a stratified validation split carved
  from the *training* data, seeded, train-time augmentation only);
* :class:`TrainAugmentation`: the training ``collate_fn`` (random horizontal
  flip and rotation), so validation and prediction batches are never augmented;
* :func:`make_cnn_pipeline`: ``CNNPreprocessor`` + ``CNNClassifier``, taking
  the same image paths or arrays as the landmark pipeline.

The preprocessor lives in :mod:`fersk.preprocess`, the late-fusion helpers
in :mod:`fersk.fusion`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import io
import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import check_classification_targets
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    LoadInitState,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from skorch.dataset import ValidSplit, unpack_data
from skorch.utils import TeeGenerator, is_dataset, to_numpy
from torch import nn
from torch.utils.data import default_collate

from .environment import environment_info
from .preprocess import CNNPreprocessor

__all__ = [
    "CONV_BLOCKS",
    "DENSE_UNITS",
    "BaselineCNN",
    "CNNClassifier",
    "CompactCNN",
    "OneCycle",
    "TrainAugmentation",
    "augment_batch",
    "count_parameters",
    "make_cnn_pipeline",
    "standardize_images",
    "state_dict_nbytes",
]

#: ``(filters, kernel size)`` of the four convolution blocks.
CONV_BLOCKS: tuple[tuple[int, int], ...] = ((64, 3), (128, 5), (512, 3), (512, 3))
#: Units of the two dense blocks.
DENSE_UNITS: tuple[int, ...] = (256, 512)
#: Smallest input side: four 2x2 poolings must leave at least one pixel.
MIN_SIZE = 2 ** len(CONV_BLOCKS)


def feature_side(size: int) -> int:
    """Side of the last feature map for a ``size x size`` input (floor pooling).

    Examples
    --------
    >>> [feature_side(s) for s in (48, 75, 100)]
    [3, 4, 6]
    """
    for _ in CONV_BLOCKS:
        size //= 2
    return size


def standardize_images(x: torch.Tensor) -> torch.Tensor:
    """Each image to zero mean and unit standard deviation (over channels and pixels).

    The network's first step, so it takes raw ``uint8`` pixels (decoded once,
    augmented as tensors) as well as images standardised beforehand (for which
    it changes nothing). A constant image becomes all zeros.

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, H, W)
        Images of any dtype (``uint8`` pixels or floats).

    Returns
    -------
    torch.Tensor of float32, shape (n, C, H, W)
        Each image minus its mean, divided by its (population) standard
        deviation.

    See Also
    --------
    fersk.BaselineCNN : The network, whose first step this is.
    fersk.preprocess.CNNInput : The same standardisation in NumPy, before the network.

    Examples
    --------
    >>> import torch
    >>> x = standardize_images(torch.arange(8, dtype=torch.uint8).reshape(1, 1, 2, 4))
    >>> abs(round(float(x.mean()), 6)), round(float(x.std(correction=0)), 4)
    (0.0, 1.0)
    """
    x = x.float()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.where(std > 1e-6, std, torch.ones_like(std))


class BaselineCNN(nn.Module):
    """The compact FER network of Stoychev & Gunes (2022), and its family.

    Four convolution blocks (64 filters 3x3, 128 5x5, 512 3x3, 512 3x3), each
    'same' padding, BatchNorm, ReLU, 2x2 max-pool and dropout; flatten; two
    dense blocks (256 then 512 units) with BatchNorm, ReLU and dropout; a
    linear layer to ``n_classes`` logits (the softmax is in the loss). Each
    image is standardised first (:func:`standardize_images`), so raw ``uint8``
    pixels go in.

    ``width`` scales the filters of every block and ``depth`` repeats each
    block's convolution (convolution, BatchNorm, ReLU, ``depth`` times, then
    pooling): ``width=1, depth=1`` is the paper's network, exactly; see
    :class:`CompactCNN` for the CPU member of the family.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output logits (classes); at least 2.
    size : int, default=100
        Side of the square input in pixels (the study: 100; FER2013: 48); at
        least 16.
    channels : int, default=1
        1 for grayscale, 3 for RGB.
    dropout : float, default=0.25
        Dropout rate after every block.
    width : float, default=1.0
        Multiplier of every convolution block's filters (at least 8 filters).
    depth : int, default=1
        Convolutions per block.

    See Also
    --------
    fersk.cnn.CompactCNN : The family's smaller, CPU-friendly member.
    fersk.CNNClassifier : Trains the network as a scikit-learn classifier.
    fersk.cnn.count_parameters : Its number of trainable parameters.

    Examples
    --------
    >>> import torch
    >>> net = BaselineCNN(n_classes=7, size=48).eval()
    >>> net(torch.zeros(2, 1, 48, 48)).shape
    torch.Size([2, 7])
    >>> round(count_parameters(BaselineCNN(size=100)) / 1e6, 2)  # the study's setting
    8.01
    """

    def __init__(
        self,
        n_classes: int = 7,
        size: int = 100,
        channels: int = 1,
        dropout: float = 0.25,
        width: float = 1.0,
        depth: int = 1,
    ) -> None:
        super().__init__()
        if size < MIN_SIZE:
            raise ValueError(f"size must be at least {MIN_SIZE} pixels, got {size}")
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if not width > 0 or int(depth) < 1:
            raise ValueError(f"width must be > 0 and depth >= 1, got {width} and {depth}")
        self.n_classes, self.size, self.channels = n_classes, size, channels
        self.width, self.depth = width, int(depth)
        blocks, in_ch = [], channels
        for filters, kernel in CONV_BLOCKS:
            filters = max(8, int(round(filters * width)))
            layers: list[nn.Module] = []
            for _ in range(self.depth):
                layers += [
                    nn.Conv2d(in_ch, filters, kernel, padding="same"),
                    nn.BatchNorm2d(filters),
                    nn.ReLU(inplace=True),
                ]
                in_ch = filters
            layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
            blocks.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*blocks)
        dense, n_in = [nn.Flatten()], in_ch * feature_side(size) ** 2
        for units in DENSE_UNITS:
            dense += [
                nn.Linear(n_in, units),
                nn.BatchNorm1d(units),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
            ]
            n_in = units
        dense.append(nn.Linear(n_in, n_classes))
        self.classifier = nn.Sequential(*dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = standardize_images(x)
        if x.device.type == "cpu":  # oneDNN's fast convolutions want NHWC on CPUs
            x = x.contiguous(memory_format=torch.channels_last)
        return self.classifier(self.features(x))


class CompactCNN(BaselineCNN):
    """The CPU member of the baseline's family: a quarter of its filters, two convolutions a block.

    The same blocks as :class:`BaselineCNN` (64, 128, 512, 512 filters with
    3x3, 5x5, 3x3, 3x3 kernels, BatchNorm, ReLU, max-pool, dropout; dense 256
    and 512) at ``width=0.25`` (16, 32, 128, 128 filters) and ``depth=2``:
    about 0.95 M parameters at 48 px instead of 4.5 M, and about 5 times
    faster to train on a CPU (250 vs 45 images/s on 2 cores).

    Parameters
    ----------
    n_classes : int, default=7
        Number of output logits (classes); at least 2.
    size : int, default=48
        Side of the square input in pixels; at least 16.
    channels : int, default=1
        1 for grayscale, 3 for RGB.
    dropout : float, default=0.25
        Dropout rate after every block.
    width : float, default=0.25
        Multiplier of every convolution block's filters (at least 8 filters).
    depth : int, default=2
        Convolutions per block.

    See Also
    --------
    fersk.BaselineCNN : The study's network, of which this is a smaller member.
    fersk.CNNClassifier : Trains it, with ``CNNClassifier(module=CompactCNN)``.

    Examples
    --------
    >>> import torch
    >>> net = CompactCNN(size=48)
    >>> round(count_parameters(net) / 1e6, 2), (net.width, net.depth)
    (0.95, (0.25, 2))
    """

    def __init__(
        self,
        n_classes: int = 7,
        size: int = 48,
        channels: int = 1,
        dropout: float = 0.25,
        width: float = 0.25,
        depth: int = 2,
    ) -> None:
        super().__init__(n_classes, size, channels, dropout, width, depth)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of a module.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    int
        The total ``numel()`` of its parameters that require gradients.

    See Also
    --------
    fersk.cnn.state_dict_nbytes : The module's size on disk.
    fersk.BaselineCNN : A network whose size this measures.

    Examples
    --------
    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def state_dict_nbytes(module: nn.Module) -> int:
    """Serialized size in bytes of a module's state dict (``torch.save``).

    This is the model size on disk, and what dynamic int8 quantisation shrinks.

    Examples
    --------
    >>> state_dict_nbytes(nn.Linear(1000, 100)) > 400_000  # 100k float32 weights
    True
    """
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.tell()


# --------------------------------------------------------------------------
# Train-time augmentation
# --------------------------------------------------------------------------


def augment_batch(
    x: torch.Tensor,
    flip: float = 0.5,
    max_rotation: float = 10.0,
    max_scale: float = 0.0,
    max_shift: float = 0.0,
    erase: float = 0.0,
) -> torch.Tensor:
    """Randomly flip, rotate, zoom, shift and erase a batch ``(n, C, H, W)``, in one resampling.

    Each image is mirrored with probability ``flip``, rotated by an angle drawn
    uniformly from ``[-max_rotation, max_rotation]`` degrees, zoomed by a
    factor from ``[1 - max_scale, 1 + max_scale]`` and shifted by up to
    ``max_shift`` of its side, about its centre (the flip exact, the rest in
    one affine warp: bilinear, edge pixels repeated). ``uint8`` input comes back as float
    pixels of the same range. Draws from torch's global RNG, so a seeded fit
    is reproducible.

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, H, W)
        The batch, ``uint8`` or float.
    flip : float, default=0.5
        Probability of a horizontal flip.
    max_rotation : float, default=10.0
        Largest rotation in degrees (either way).
    max_scale : float, default=0.0
        Largest zoom in or out, as a fraction (0.1: 90% to 110%).
    max_shift : float, default=0.0
        Largest shift, as a fraction of the image side.
    erase : float, default=0.0
        Probability of random erasing (Zhong et al. 2020): a rectangle of 2-25%
        of the image, aspect ratio 0.3-3.3, set to the image's mean.

    Returns
    -------
    torch.Tensor of float, shape (n, C, H, W)
        The augmented batch, on the device of ``x``.

    See Also
    --------
    fersk.TrainAugmentation : Applies it to every training batch.
    torch.nn.functional.grid_sample : The resampling behind the warp.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(8.0).reshape(1, 1, 2, 4)
    >>> augment_batch(x, flip=1.0, max_rotation=0.0)[0, 0, 0].tolist()
    [3.0, 2.0, 1.0, 0.0]
    """
    x = x.float()
    n = x.shape[0]
    if flip > 0:  # an exact mirror, not a resampling
        mirror = torch.rand(n) < flip
        x = torch.where(mirror.to(x.device)[:, None, None, None], x.flip(-1), x)
    if max_rotation > 0 or max_scale > 0 or max_shift > 0:
        x = _warp(x, max_rotation, max_scale, max_shift)
    if erase > 0:
        x = _erase(x, erase)
    return x


def _warp(x: torch.Tensor, max_rotation: float, max_scale: float, max_shift: float):
    n = x.shape[0]
    angle = (torch.rand(n) * 2 - 1) * math.radians(max_rotation)
    zoom = 1 + (torch.rand(n) * 2 - 1) * max_scale
    shift = (torch.rand(n, 2) * 2 - 1) * (2 * max_shift)  # grid units: the side is 2
    cos, sin = angle.cos() / zoom, angle.sin() / zoom
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _erase(x: torch.Tensor, p: float) -> torch.Tensor:
    n, _, height, width = x.shape
    chosen = torch.rand(n) < p
    area = torch.empty(n).uniform_(0.02, 0.25) * height * width
    aspect = torch.exp(torch.empty(n).uniform_(math.log(0.3), math.log(1 / 0.3)))
    h = (area * aspect).sqrt().round().clamp(1, height).long()
    w = (area / aspect).sqrt().round().clamp(1, width).long()
    top = (torch.rand(n) * (height - h + 1)).long()
    left = (torch.rand(n) * (width - w + 1)).long()
    rows, cols = torch.arange(height), torch.arange(width)
    inside = (
        chosen[:, None, None]
        & ((rows[None, :] >= top[:, None]) & (rows[None, :] < (top + h)[:, None]))[:, :, None]
        & ((cols[None, :] >= left[:, None]) & (cols[None, :] < (left + w)[:, None]))[:, None, :]
    ).to(x.device)[:, None]
    return torch.where(inside, x.mean(dim=(1, 2, 3), keepdim=True), x)


@dataclass(frozen=True)
class TrainAugmentation:
    """``collate_fn`` of the *training* DataLoader: collate, then augment.

    :class:`CNNClassifier` uses it as ``iterator_train__collate_fn``; the
    validation and prediction DataLoader (``iterator_valid``) keep the
    default collate, so only training batches are ever augmented. Pass
    ``iterator_train__collate_fn=None`` to train without augmentation.

    Parameters
    ----------
    flip : float, default=0.5
        Probability of a horizontal flip.
    max_rotation : float, default=10.0
        Largest rotation in degrees (either way).
    max_scale : float, default=0.0
        Largest zoom in or out, as a fraction (0.1: 90% to 110%).
    max_shift : float, default=0.0
        Largest shift, as a fraction of the image side.
    erase : float, default=0.0
        Probability of erasing a random rectangle (see :func:`augment_batch`).

    See Also
    --------
    fersk.cnn.augment_batch : The augmentation, on a batch tensor.
    fersk.CNNClassifier : Uses it as ``iterator_train__collate_fn``.

    Examples
    --------
    >>> import numpy as np
    >>> batch = [(np.ones((1, 16, 16), np.float32), 0), (np.zeros((1, 16, 16), np.float32), 1)]
    >>> X, y = TrainAugmentation()(batch)
    >>> tuple(X.shape), y.tolist()
    ((2, 1, 16, 16), [0, 1])
    """

    flip: float = 0.5
    max_rotation: float = 10.0
    max_scale: float = 0.0
    max_shift: float = 0.0
    erase: float = 0.0

    def __call__(self, batch):
        X, y = default_collate(batch)
        X = augment_batch(
            X, self.flip, self.max_rotation, self.max_scale, self.max_shift, self.erase
        )
        return X, y


class AtomicCheckpoint(Checkpoint):
    """skorch's ``Checkpoint``, each file written under a temporary name and renamed into place.

    The history goes last, so an epoch counts as saved only once its parameters
    and optimizer state are on disk; an interruption during a save leaves the
    previous epoch's files whole.
    """

    def _save_params(self, f, net, f_name, log_name):
        if not isinstance(f, str):
            return super()._save_params(f, net, f_name, log_name)
        tmp = f"{f}.partial"
        try:
            net.save_params(**{f_name: tmp, "use_safetensors": self.use_safetensors})
            os.replace(tmp, f)
        except Exception as exc:  # noqa: BLE001 - skorch reports and goes on, as it does
            self._sink(f"Unable to save {log_name} to {f}, {type(exc).__name__}: {exc}", True)


class OneCycle(Callback):
    """A one-cycle learning-rate schedule set from the batch count: resumable by design.

    The rate rises from ``max_lr / div`` to ``max_lr`` over the first
    ``pct_start`` of the ``max_epochs`` epochs (cosine), then falls to
    ``max_lr / final_div`` (cosine), per batch. It is a function of how many
    training batches the net's history holds, so training resumed from a
    checkpoint (see ``CNNClassifier(checkpoint_dir=...)``) continues the same
    schedule; nothing else is stored.

    Parameters
    ----------
    max_lr : float or None, default=None
        Peak rate; None uses the net's ``lr``.
    pct_start : float, default=0.2
        Fraction of the training batches spent rising to the peak.
    div : float, default=25.0
        The starting rate is ``max_lr / div``.
    final_div : float, default=1e3
        The last rate is ``max_lr / final_div``.

    See Also
    --------
    fersk.CNNClassifier : Uses it with ``schedule="onecycle"``.
    torch.optim.lr_scheduler.OneCycleLR : torch's one-cycle scheduler, which keeps its
        own step count.

    Examples
    --------
    >>> sched = OneCycle(max_lr=1.0, div=10, final_div=100)
    >>> [round(sched.rate(step, 10), 3) for step in (0, 2, 10)]
    [0.1, 1.0, 0.01]
    """

    def __init__(
        self,
        max_lr: float | None = None,
        pct_start: float = 0.2,
        div: float = 25.0,
        final_div: float = 1e3,
    ) -> None:
        self.max_lr = max_lr
        self.pct_start = pct_start
        self.div = div
        self.final_div = final_div

    def rate(self, step: int, total: int, peak: float | None = None) -> float:
        """The learning rate at batch ``step`` of ``total``."""
        peak = self.max_lr if peak is None else peak
        warm = max(1, int(round(self.pct_start * total)))
        if step < warm:
            start, end, t = peak / self.div, peak, step / warm
        else:
            start, end = peak, peak / self.final_div
            t = min(1.0, (step - warm) / max(1, total - warm))
        return end + (start - end) * (1 + math.cos(math.pi * t)) / 2

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        done = net.history[:, "train_batch_count"] if net.history else []
        self.step_ = int(sum(done))
        self.peak_ = float(net.lr if self.max_lr is None else self.max_lr)
        self.total_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_ is None:  # the training split's real batch count, whatever the split
            batches = len(net.get_iterator(dataset_train, training=True))
            self.total_ = max(1, batches) * net.max_epochs

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        rate = self.rate(self.step_, self.total_, self.peak_)
        for group in net.optimizer_.param_groups:
            group["lr"] = rate
        self.step_ += 1


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------


def _hard_codes(y) -> np.ndarray:
    """Encoded targets as class indices: soft targets ``(n, n_classes)`` by their argmax."""
    y = to_numpy(y)
    return y.argmax(axis=1) if y.ndim == 2 else y


def _valid_accuracy(net, X, y) -> float:
    """WAR on the validation split, against the *encoded* targets."""
    return float(accuracy_score(_hard_codes(y), net.predict_proba(X).argmax(axis=1)))


def _valid_uar(net, X, y) -> float:
    """UAR on the validation split, against the *encoded* targets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class missing from a small split
        return float(
            balanced_accuracy_score(_hard_codes(y), net.predict_proba(X).argmax(axis=1))
        )


def _as_labels(y) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per image), got shape {y.shape}")
    return y


def _auto_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _package_versions() -> dict:
    env = environment_info()
    return {"python": env["python"], **env["packages"]}


class CNNClassifier(NeuralNetClassifier):
    """The study's CNN baseline: a skorch classifier with the training recipe as defaults.

    Input is an array ``(n_samples, channels, size, size)``, as produced by
    :class:`~fersk.preprocess.CNNPreprocessor` (use :func:`make_cnn_pipeline`
    to start from image paths): raw ``uint8`` pixels (decoded once, kept in
    memory at a quarter of float32's size, augmented as tensors; the network
    standardises each image itself) or float32 images. The network's size,
    channels and number of classes are read from ``X`` and ``y`` at ``fit``;
    ``y`` may hold any labels (ints, strings): they are encoded internally and
    ``predict`` returns them.

    Parameters
    ----------
    module : nn.Module class, default=BaselineCNN
        Built with ``n_classes``, ``size`` and ``channels`` from the data
        (unless given as ``module__n_classes`` etc.) plus any ``module__*``.
    criterion : default=torch.nn.CrossEntropyLoss
    optimizer : default=torch.optim.Adam
        ``torch.optim.SGD`` (with ``optimizer__momentum=0.9``), ``Adam`` or
        ``AdamW`` are the study's choices for ``GridSearchCV``.
    lr : float, default=5e-4
    max_epochs : int, default=100
        Upper bound; early stopping usually ends training sooner.
    batch_size : int, default=32
    train_split : "auto", None or callable, default="auto"
        ``"auto"``: a stratified ``ValidSplit`` of ``valid_size`` of the data
        given to ``fit`` (the training data: the test set is never used for
        model selection), seeded by ``random_state``. ``None``: no
        validation; the scheduler and early stopping then watch the training
        loss. Or any skorch ``train_split``.
    valid_size : float, default=0.1
        Fraction of the training data held out for validation.
    random_state : int or None, default=0
        Seeds torch (weights, shuffling, dropout, augmentation) at the start of
        ``fit`` without touching the caller's global RNG state, and the
        validation split.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        ``"auto"`` becomes ``"cuda"`` when available, else ``"cpu"``, when
        the net is initialized (``fit``); ``device`` then holds the resolved value.
    classes : array-like or None, default=None
        All labels, if ``fit`` may see only some of them.
    verbose : int, default=0
        1 prints one line per epoch (skorch's table).
    schedule : {"plateau", "onecycle"}, default="plateau"
        ``"plateau"``: the study's recipe (ReduceLROnPlateau and early
        stopping on the validation loss, the best epoch's weights restored).
        ``"onecycle"``: a fixed ``max_epochs`` with a one-cycle learning rate
        peaking at ``lr`` (:class:`OneCycle`), no early stopping: how the
        compact network reaches its accuracy in a fixed CPU budget.
    checkpoint_dir : str or None, default=None
        Save the parameters, optimizer state and history after every epoch
        (skorch's ``Checkpoint``) in this folder; a later ``fit`` with the same
        folder resumes from there (``LoadInitState``) and trains the epochs
        still missing to ``max_epochs``. An interrupted run (Ctrl-C) loses at
        most the epoch in progress.
    tta : bool, default=False
        Average ``predict_proba`` over each image and its mirror image.
    amp : bool, default=True
        Mixed precision (float16 autocast with gradient scaling) when the
        device is CUDA; no effect on a CPU.
    mixup, cutmix : float, default=0.0
        Alpha of the Beta distribution of mixup (blend two training images and
        their targets) and of CutMix (paste a rectangle of one into the other,
        targets mixed by area); 0 turns each off; with both on, each batch
        uses one of them, chosen at random. Training batches only.
    **kwargs
        Any other skorch argument. Defaults set here:
        ``iterator_train__shuffle=True`` and
        ``iterator_train__collate_fn=TrainAugmentation()`` (flip, +-10 deg).

    Default callbacks (tune with ``callbacks__<name>__<param>``, disable with
    ``callbacks__<name>=None``): ``valid_acc`` and ``valid_uar`` (scores),
    ``lr_scheduler`` (``ReduceLROnPlateau`` on ``valid_loss``, factor 0.1,
    patience 2, min_lr 1e-5), ``early_stopping`` (``valid_loss``, patience 6,
    restoring the best epoch's weights).

    Attributes
    ----------
    classes_ : ndarray
        The labels, in the order of ``predict_proba``'s columns.
    interrupted_ : bool
        With ``schedule="onecycle"``: the last ``fit`` stopped before
        ``max_epochs`` (Ctrl-C; skorch ends the run quietly). With a
        ``checkpoint_dir``, fitting again resumes it.
    input_shape_ : tuple
        ``(channels, size, size)`` of the training images.
    versions_ : dict
        Python, fersk, torch, skorch, sklearn and numpy versions used in ``fit``.
    history : skorch History
        Per-epoch losses, scores, durations and batch sizes.

    See Also
    --------
    fersk.make_cnn_pipeline : The preprocessor and this classifier, on image paths or arrays.
    fersk.BaselineCNN : The default network.
    fersk.cnn.CompactCNN : A smaller network for CPU training (``module=CompactCNN``).
    fersk.make_fusion : Late fusion with the landmark pipeline.

    Notes
    -----
    Pickled (``joblib.dump``) nets keep their device: a net trained on a GPU
    loads on a CPU-only machine with a ``DeviceWarning`` and ``device="cpu"``
    (skorch maps the tensors).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(24, 1, 16, 16)).astype(np.float32)
    >>> y = np.array(["happy", "sad", "surprise"] * 8)
    >>> net = CNNClassifier(max_epochs=1, valid_size=0.25).fit(X, y)
    >>> net.classes_.tolist(), net.predict_proba(X[:2]).shape, net.predict(X[:2]).dtype.kind
    (['happy', 'sad', 'surprise'], (2, 3), 'U')
    >>> net.versions_["torch"] == torch.__version__
    True
    """

    def __init__(
        self,
        module: type[nn.Module] = BaselineCNN,
        *,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr: float = 5e-4,
        max_epochs: int = 100,
        batch_size: int = 32,
        train_split="auto",
        valid_size: float = 0.1,
        random_state: int | None = 0,
        device: str | None = "auto",
        classes: Sequence | None = None,
        verbose: int = 0,
        schedule: str = "plateau",
        checkpoint_dir: str | None = None,
        tta: bool = False,
        amp: bool = True,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        **kwargs,
    ) -> None:
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("iterator_train__collate_fn", TrainAugmentation())
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            classes=classes,
            verbose=verbose,
            **kwargs,
        )
        self.valid_size = valid_size
        self.random_state = random_state
        self.schedule = schedule
        self.checkpoint_dir = checkpoint_dir
        self.tta = tta
        self.amp = amp
        self.mixup = mixup
        self.cutmix = cutmix

    # -- callbacks and split ------------------------------------------------

    @property
    def _default_callbacks(self):
        if self.schedule not in ("plateau", "onecycle"):
            raise ValueError(f"schedule must be 'plateau' or 'onecycle', got {self.schedule!r}")
        has_valid = self.train_split is not None
        monitor = "valid_loss" if has_valid else "train_loss"
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]
        if has_valid:
            callbacks += [
                ("valid_loss", PassthroughScoring(name="valid_loss")),
                (
                    "valid_acc",
                    EpochScoring(_valid_accuracy, name="valid_acc", lower_is_better=False),
                ),
                ("valid_uar", EpochScoring(_valid_uar, name="valid_uar", lower_is_better=False)),
            ]
        if self.schedule == "onecycle":
            callbacks += [("lr_scheduler", OneCycle())]
        else:
            callbacks += [
                (
                    "lr_scheduler",
                    LRScheduler(
                        torch.optim.lr_scheduler.ReduceLROnPlateau,
                        monitor=monitor,
                        factor=0.1,
                        patience=2,
                        min_lr=1e-5,
                    ),
                ),
                ("early_stopping", EarlyStopping(monitor=monitor, patience=6, load_best=True)),
            ]
        if self.checkpoint_dir is not None:
            checkpoint = AtomicCheckpoint(
                monitor=None, dirname=str(self.checkpoint_dir), f_pickle=None, load_best=False
            )
            # The state is loaded first (the schedule then counts the epochs done) and
            # saved last (with the epoch's scores in the history).
            callbacks = [("resume", LoadInitState(checkpoint)), *callbacks]
            callbacks += [("checkpoint", checkpoint)]
        callbacks += [("print_log", PrintLog())]
        return callbacks

    _CHECKPOINT_FILES = ("params.pt", "optimizer.pt", "criterion.pt", "history.json")

    def _epochs_done(self, X, y, soft_targets=None) -> int:
        """Epochs of this training saved in ``checkpoint_dir`` (0 without a checkpoint).

        A folder holding another training (other data or settings, recorded in
        ``fersk-run.json``) is refused: resuming it would return the wrong model.
        """
        if self.checkpoint_dir is None:
            return 0
        if self.schedule != "onecycle":
            raise ValueError(
                "checkpoint_dir resumes a fixed-length schedule: use schedule='onecycle' (the "
                "plateau schedule's early stopping and learning-rate state are not saved)"
            )
        folder = str(self.checkpoint_dir)
        run = {
            "n_samples": int(len(X)),
            "input_shape": [int(d) for d in np.shape(X)[1:]],
            "classes": [str(c) for c in self.label_classes_],
            "y_digest": hashlib.sha1(np.asarray(y).astype(str).tobytes()).hexdigest(),
            "soft_targets_digest": None
            if soft_targets is None
            else hashlib.sha1(np.ascontiguousarray(soft_targets, np.float64)).hexdigest(),
            "max_epochs": int(self.max_epochs),
            "lr": float(self.lr),
            "batch_size": int(self.batch_size),
            "module": getattr(self.module, "__name__", str(self.module)),
        }
        marker = os.path.join(folder, "fersk-run.json")
        if os.path.isfile(marker):
            with open(marker) as fh:
                recorded = json.load(fh)
            differ = sorted(k for k in run if recorded.get(k) != run[k])
            if differ:
                raise ValueError(
                    f"checkpoint_dir {folder!r} holds another training (it differs in "
                    f"{', '.join(differ)}); give another folder, or delete it to start over"
                )
        else:
            os.makedirs(folder, exist_ok=True)
            with open(marker + ".partial", "w") as fh:
                json.dump(run, fh, indent=1)
            os.replace(marker + ".partial", marker)
        if not all(os.path.isfile(os.path.join(folder, f)) for f in self._CHECKPOINT_FILES):
            return 0
        try:
            with open(os.path.join(folder, "history.json")) as fh:
                return len(json.load(fh))
        except (OSError, ValueError):
            return 0

    def get_split_datasets(self, X, y=None, **fit_params):
        """Carve the validation split from the data given to ``fit``."""
        if not (isinstance(self.train_split, str) and self.train_split == "auto"):
            return super().get_split_datasets(X, y, **fit_params)
        if not 0.0 < float(self.valid_size) < 1.0:
            raise ValueError(f"valid_size must be in (0, 1), got {self.valid_size}")
        dataset = self.get_dataset(X, y)
        split = ValidSplit(float(self.valid_size), stratified=True, random_state=self.random_state)
        strata = _hard_codes(y) if y is not None else y  # soft targets: by their top class
        try:
            return split(dataset, strata, **fit_params)
        except ValueError as exc:  # too few samples per class to stratify
            warnings.warn(
                f"{type(self).__name__}: stratified validation split impossible "
                f"({exc}); using a random split",
                UserWarning,
                stacklevel=2,
            )
            split = ValidSplit(
                float(self.valid_size), stratified=False, random_state=self.random_state
            )
            return split(dataset, strata, **fit_params)

    # -- device, module shape, labels ---------------------------------------

    def initialize(self):
        """Resolve ``device="auto"``, then initialize as skorch does."""
        if isinstance(self.device, str) and self.device == "auto":
            self.device = _auto_device()
        return super().initialize()

    def initialize_module(self):
        """Build the network; on a CPU its weights go channels-last (NHWC), as its input does."""
        super().initialize_module()
        self.grad_scaler_ = None  # a new network starts a new loss scale (mixed precision)
        if str(self.device) == "cpu":
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def __setstate__(self, state):
        if state.get("device") == "auto":  # pickled before initialization
            state["device"] = _auto_device()
        super().__setstate__(state)

    def get_params_for(self, prefix):
        """As skorch's, plus the network's shape (from the data seen by ``fit``)."""
        params = super().get_params_for(prefix)
        if prefix == "module" and isinstance(self.module, type):
            accepted = inspect.signature(self.module).parameters
            for key, value in getattr(self, "module_shape_", {}).items():
                if key in accepted:
                    params.setdefault(key, value)
        return params

    @property
    def classes_(self) -> np.ndarray:
        try:
            return self.label_classes_
        except AttributeError:
            raise AttributeError(
                f"{type(self).__name__} is not fitted yet: classes_ is set by fit"
            ) from None

    def _check_images(self, X):
        if is_dataset(X):
            return X
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        if not isinstance(X, np.ndarray) or X.dtype.kind not in "fiu" or X.ndim != 4:
            shape = getattr(X, "shape", None)
            raise ValueError(
                f"{type(self).__name__} takes images as a numeric array (n_samples, channels, "
                f"height, width); got {type(X).__name__}"
                + (f" of shape {shape}" if shape is not None else "")
                + ". Put a fersk.preprocess.CNNPreprocessor before it (see make_cnn_pipeline) "
                "to start from image paths or arrays."
            )
        expected = getattr(self, "input_shape_", None)
        if expected is not None and tuple(X.shape[1:]) != tuple(expected):
            raise ValueError(
                f"{type(self).__name__} was fitted on images of shape {tuple(expected)} "
                f"(channels, height, width), got {tuple(X.shape[1:])}; preprocess with the "
                "same size and channels"
            )
        if X.dtype == np.uint8:  # raw pixels: the network standardises them
            return np.ascontiguousarray(X)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _set_classes(self, y, classes=None) -> None:
        if y is None:
            raise ValueError(f"{type(self).__name__} needs labels y to fit")
        if not isinstance(y, (np.ndarray, torch.Tensor)) or y.dtype == object:
            values = np.asarray(y, dtype=object).ravel().tolist()
            if any(v is None for v in values):
                raise ValueError(
                    f"{type(self).__name__}: y holds None labels; every image needs one"
                )
            if len({isinstance(v, str) for v in values}) > 1:  # numpy would make 1 into "1"
                raise ValueError(
                    f"{type(self).__name__}: y mixes string and number labels; use one type"
                )
        y = _as_labels(y)
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise ValueError(f"{type(self).__name__}: y holds NaN labels; every image needs one")
        check_classification_targets(y)  # refuses mixed label types, continuous values
        if classes is None:
            classes = self.classes
        labels = np.unique(y) if classes is None else np.asarray(classes)
        if len(np.unique(labels)) != len(labels):
            raise ValueError(f"{type(self).__name__}: classes has repeated labels: {labels}")
        if len(labels) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes, got {labels}")
        self.label_classes_ = labels

    def _encode(self, y) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.label_classes_.tolist())}
        try:
            return np.fromiter(
                (index[v] for v in _as_labels(y).tolist()), dtype=np.int64, count=len(y)
            )
        except KeyError as exc:
            raise ValueError(
                f"y contains the label {exc.args[0]!r}, which is not among "
                f"the classes {self.label_classes_.tolist()}"
            ) from None

    def _targets(self, y, soft_targets=None) -> np.ndarray:
        """What the loss sees: class indices, or each row of ``soft_targets`` normalised."""
        codes = self._encode(y)
        if soft_targets is None:
            return codes
        soft = np.asarray(soft_targets, dtype=np.float64)
        shape = (len(codes), len(self.label_classes_))
        if soft.shape != shape:
            raise ValueError(
                f"soft_targets must have shape (n_samples, n_classes) = {shape}, one column "
                f"per class in the order {self.label_classes_.tolist()}; got {soft.shape}"
            )
        bad = ~np.isfinite(soft).all(axis=1) | (soft < 0).any(axis=1) | ~(soft.sum(axis=1) > 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"soft_targets row {i} is {soft[i].tolist()}: every row must be finite and "
                f"non-negative with a positive sum ({int(bad.sum())} rows are not)"
            )
        return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)

    def _prepare(self, X, y, classes=None) -> None:
        """Set the classes and the network's shape from the training data."""
        self._set_classes(y, classes)
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        channels, height, width = self.input_shape_
        if height != width:
            raise ValueError(f"images must be square, got {height}x{width}")
        self.module_shape_ = {
            "n_classes": len(self.label_classes_),
            "size": height,
            "channels": channels,
        }
        explicit = super().get_params_for("module")
        for key, value in self.module_shape_.items():
            if key in explicit and explicit[key] != value:
                raise ValueError(
                    f"module__{key}={explicit[key]} does not match the data ({key} = {value}); "
                    "leave it out: CNNClassifier reads it from X and y"
                )

    @contextlib.contextmanager
    def _seeded(self):
        if self.random_state is None:
            yield
            return
        devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(self.random_state))
            yield

    def _check_trainable(self) -> None:
        if getattr(self, "quantized_", False):
            raise RuntimeError(
                "a quantized CNNClassifier is for prediction only; "
                "train the float model, then call quantized() again"
            )

    # -- sklearn API --------------------------------------------------------

    def fit(self, X, y, soft_targets=None, **fit_params):
        """Initialize the network for ``X``'s shape and ``y``'s classes, and train it.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, size, size)
        y : array-like of shape (n_samples,)
            Labels of any type. With ``soft_targets``, the hard label of each
            image (say, the annotators' majority): it fixes the classes, the
            stratified validation split and the validation scores.
        soft_targets : array-like of shape (n_samples, n_classes) or None
            Train against these class distributions (cross-entropy to, say,
            the annotators' vote shares) instead of ``y``; one column per
            class, in the order of ``classes_`` (``classes`` if given, else
            the sorted labels of ``y``), rows non-negative with a positive sum
            (normalised here). A sample-aligned fit parameter: ``GridSearchCV``
            and ``cross_validate`` slice it with ``X`` (with metadata routing on,
            request it with ``set_fit_request(soft_targets=True)``).
        **fit_params
            Passed to skorch.

        Returns
        -------
        self
        """
        self._check_trainable()
        keep = self.warm_start and self.initialized_ and hasattr(self, "label_classes_")
        if not keep:
            self.__dict__.pop("input_shape_", None)
        X = self._check_images(X)
        if not keep:
            self._prepare(X, y)
        done = self._epochs_done(X, y, soft_targets)
        if done:  # LoadInitState restores the net; train only what is missing
            fit_params.setdefault("epochs", max(0, int(self.max_epochs) - done))
        if soft_targets is not None:
            fit_params["soft_targets"] = soft_targets
        with self._seeded():
            super().fit(X, y, **fit_params)
        # skorch ends a run quietly on Ctrl-C: say so (a fixed-length run stopped short).
        self.interrupted_ = self.schedule == "onecycle" and len(self.history) < self.max_epochs
        self.module_.eval()
        self.versions_ = _package_versions()
        return self

    def partial_fit(self, X, y=None, classes=None, soft_targets=None, **fit_params):
        """Train for ``max_epochs`` more epochs (initializing first if needed).

        ``soft_targets`` as in :meth:`fit`.
        """
        self._check_trainable()
        X = self._check_images(X)
        if not self.initialized_ or not hasattr(self, "label_classes_"):
            self._prepare(X, y, classes)
            self.initialize()
        super().partial_fit(X, self._targets(y, soft_targets), **fit_params)
        self.module_.eval()
        self.versions_ = _package_versions()
        return self

    def get_dataset(self, X, y=None):
        return super().get_dataset(self._check_images(X), y)

    # -- mixed precision on CUDA, mirror-image averaging -------------------

    def _amp(self) -> bool:
        return bool(self.amp) and str(self.device).startswith("cuda")

    def _mixed(self, batch):
        """Mixup or CutMix of a training batch (targets become class distributions)."""
        alphas = [a for a in (float(self.mixup), float(self.cutmix)) if a > 0]
        if not alphas:
            return batch
        Xi, yi = unpack_data(batch)
        use_cutmix = self.cutmix > 0 and (self.mixup <= 0 or bool(torch.rand(()) < 0.5))
        alpha = float(self.cutmix if use_cutmix else self.mixup)
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        order = torch.randperm(len(Xi))
        Xi = Xi.float()
        if use_cutmix:
            height, width = Xi.shape[-2:]
            h, w = int(round(height * math.sqrt(1 - lam))), int(round(width * math.sqrt(1 - lam)))
            top = int(torch.randint(0, height - h + 1, ()))
            left = int(torch.randint(0, width - w + 1, ()))
            Xi = Xi.clone()
            Xi[..., top : top + h, left : left + w] = Xi[order][..., top : top + h, left : left + w]
            lam = 1 - h * w / (height * width)
        else:
            Xi = lam * Xi + (1 - lam) * Xi[order]
        if yi.ndim == 1:
            yi = F.one_hot(yi.long(), len(self.label_classes_)).float()
        return Xi, lam * yi + (1 - lam) * yi[order]

    def train_step(self, batch, **fit_params):
        """One optimisation step; float16 autocast with gradient scaling on CUDA (``amp``)."""
        batch = self._mixed(batch)
        if not self._amp():
            return super().train_step(batch, **fit_params)
        if self.grad_scaler_ is None:
            self.grad_scaler_ = torch.amp.GradScaler("cuda")
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        self.optimizer_.zero_grad()
        with torch.autocast("cuda", dtype=torch.float16):
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.grad_scaler_.scale(loss).backward()
        self.grad_scaler_.unscale_(self.optimizer_)  # callbacks see (and clip) true gradients
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self.grad_scaler_.step(self.optimizer_)
        self.grad_scaler_.update()
        return {"loss": loss.detach().float(), "y_pred": y_pred.detach().float()}

    def evaluation_step(self, batch, training=False):
        if not self._amp():
            return super().evaluation_step(batch, training=training)
        with torch.autocast("cuda", dtype=torch.float16):
            out = super().evaluation_step(batch, training=training)
        return out.float()  # probabilities in float32, whatever autocast computed in

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities; with ``tta=True`` averaged over each image and its mirror.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, size, size)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        proba = super().predict_proba(X)
        if self.tta and not is_dataset(X):
            mirrored = np.ascontiguousarray(self._check_images(X)[..., ::-1])
            proba = (proba + super().predict_proba(mirrored)) / 2
        return proba

    def predict(self, X) -> np.ndarray:
        """Predict labels (of the type given to ``fit``).

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, size, size)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # -- compression --------------------------------------------------------

    def quantized(self, dtype: torch.dtype = torch.qint8) -> CNNClassifier:
        """A copy whose dense layers are dynamically quantised to int8 (CPU only).

        Post-training dynamic quantisation
        (:func:`torch.ao.quantization.quantize_dynamic`) stores the weights of
        every ``nn.Linear`` as int8 and quantises their inputs on the fly; the
        convolutions stay float32. The copy predicts like the original
        (``predict``, ``predict_proba``, inside a pipeline) on the CPU but
        cannot be trained. ``self`` is not changed.

        Returns
        -------
        CNNClassifier
            A fitted copy with ``quantized_ = True`` and ``device="cpu"``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(12, 1, 16, 16)).astype(np.float32)
        >>> net = CNNClassifier(max_epochs=1, train_split=None).fit(X, [0, 1, 2] * 4)
        >>> q = net.quantized()
        >>> q.predict_proba(X).shape, state_dict_nbytes(q.module_) < state_dict_nbytes(net.module_)
        ((12, 3), True)
        """
        self.check_is_fitted()
        from torch.ao.quantization import quantize_dynamic

        net = copy.deepcopy(self)
        net.device = "cpu"
        module = net.module_.to("cpu").eval()
        with warnings.catch_warnings():
            # torch >= 2.10 announces the move of quantized tensors to torchao
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor", category=UserWarning)
            net.module_ = quantize_dynamic(module, {nn.Linear}, dtype=dtype)
        if getattr(net, "criterion_", None) is not None:
            net.criterion_ = net.criterion_.to("cpu")
        net.optimizer_ = None  # the float weights it held are gone
        net.quantized_ = True
        return net


def make_cnn_pipeline(
    size: int = 100,
    channels: int = 1,
    *,
    memory=None,
    n_jobs: int | None = None,
    channel_order: str = "rgb",
    **cnn_params,
) -> Pipeline:
    """``Pipeline([("prep", CNNPreprocessor), ("cnn", CNNClassifier)])`` on image paths or arrays.

    Parameters
    ----------
    size : int, default=100
        Input side in pixels (the study: 100; FER2013: 48).
    channels : {1, 3}, default=1
        Grayscale or RGB.
    memory, n_jobs, channel_order
        Of the :class:`~fersk.preprocess.CNNPreprocessor` (cache, workers,
        channel order of colour arrays).
    **cnn_params
        Passed to :class:`CNNClassifier` (``lr``, ``max_epochs``, ...).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted, with the steps ``"prep"`` and ``"cnn"``.

    See Also
    --------
    fersk.CNNPreprocessor : The first step.
    fersk.CNNClassifier : The second step.
    fersk.make_fusion : This pipeline fused with the landmark pipeline.

    Examples
    --------
    >>> pipe = make_cnn_pipeline(48, max_epochs=20)
    >>> [name for name, _ in pipe.steps], pipe.get_params()["cnn__max_epochs"]
    (['prep', 'cnn'], 20)
    """
    prep = CNNPreprocessor(
        size=size, channels=channels, memory=memory, n_jobs=n_jobs, channel_order=channel_order
    )
    return Pipeline([("prep", prep), ("cnn", CNNClassifier(**cnn_params))])
