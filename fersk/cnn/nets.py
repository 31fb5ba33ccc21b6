"""The study's CNN family as plain ``torch.nn.Module`` networks.

* :class:`BaselineCNN`: the compact FER network of Stoychev & Gunes (2022),
  82.46% on the RAF-DB test set (four conv blocks, two dense blocks, a linear
  output), for any input size from 16 px and 1 or 3 channels;
* :class:`CompactCNN`: its CPU member (a quarter of the filters, two
  convolutions a block);
* :func:`standardize_images`, the networks' first step, and two size
  measures (:func:`count_parameters`, :func:`state_dict_nbytes`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import torch
from torch import nn

__all__ = [
    "CONV_BLOCKS",
    "DENSE_UNITS",
    "BaselineCNN",
    "CompactCNN",
    "count_parameters",
    "feature_side",
    "standardize_images",
    "state_dict_nbytes",
    "state_from_arrays",
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
    fersk.features.preprocess.CNNInput : The same standardisation in NumPy, before the network.

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
    filters : tuple of int or None, default=None
        The filters of every convolution, explicitly (overriding ``width``):
        one number per block (each of its ``depth`` convolutions gets it) or
        one per convolution (``depth`` per block, block by block), each at
        least 1. What a structurally pruned network
        (:func:`fersk.cnn.prune_channels`) is built with.
    dense_units : tuple of int or None, default=None
        Units of the two dense blocks (default :data:`DENSE_UNITS`), each at
        least 1.

    See Also
    --------
    fersk.cnn.CompactCNN : The family's smaller, CPU-friendly member.
    fersk.cnn.prune_channels : A narrower copy of a fitted network (``filters``).
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
    >>> slim = BaselineCNN(size=48, filters=(32, 64, 256, 256), dense_units=(128, 256)).eval()
    >>> slim.conv_filters, slim(torch.zeros(1, 1, 48, 48)).shape
    ((32, 64, 256, 256), torch.Size([1, 7]))
    """

    def __init__(
        self,
        n_classes: int = 7,
        size: int = 100,
        channels: int = 1,
        dropout: float = 0.25,
        width: float = 1.0,
        depth: int = 1,
        filters: tuple[int, ...] | None = None,
        dense_units: tuple[int, ...] | None = None,
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
        self.filters = None if filters is None else tuple(int(f) for f in filters)
        self.dense_units = None if dense_units is None else tuple(int(u) for u in dense_units)
        #: Output channels of every convolution, in order.
        self.conv_filters = _conv_filters(width, self.depth, self.filters)
        units_list = DENSE_UNITS if self.dense_units is None else self.dense_units
        if len(units_list) != len(DENSE_UNITS) or min(units_list) < 1:
            raise ValueError(
                f"dense_units must be {len(DENSE_UNITS)} positive numbers, got {dense_units!r}"
            )
        blocks, in_ch, convs = [], channels, iter(self.conv_filters)
        for _, kernel in CONV_BLOCKS:
            layers: list[nn.Module] = []
            for _ in range(self.depth):
                out_ch = next(convs)
                layers += [
                    nn.Conv2d(in_ch, out_ch, kernel, padding="same"),
                    nn.BatchNorm2d(out_ch),
                    nn.ReLU(inplace=True),
                ]
                in_ch = out_ch
            layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
            blocks.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*blocks)
        dense, n_in = [nn.Flatten()], in_ch * feature_side(size) ** 2
        for units in units_list:
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


def _conv_filters(width: float, depth: int, filters: tuple[int, ...] | None) -> tuple[int, ...]:
    """Output channels of every convolution: from ``filters`` if given, else from ``width``."""
    n_blocks = len(CONV_BLOCKS)
    if filters is None:
        per_block = [max(8, int(round(f * width))) for f, _ in CONV_BLOCKS]
        return tuple(f for f in per_block for _ in range(depth))
    if len(filters) == n_blocks:
        filters = tuple(f for f in filters for _ in range(depth))
    if len(filters) != n_blocks * depth or min(filters) < 1:
        raise ValueError(
            f"filters must be {n_blocks} (one per block) or {n_blocks * depth} (one per "
            f"convolution, depth={depth}) positive numbers, got {filters!r}"
        )
    return tuple(filters)


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
    filters : tuple of int or None, default=None
        Every convolution's filters, explicitly (see :class:`BaselineCNN`).
    dense_units : tuple of int or None, default=None
        Units of the two dense blocks (see :class:`BaselineCNN`).

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
        filters: tuple[int, ...] | None = None,
        dense_units: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(n_classes, size, channels, dropout, width, depth, filters, dense_units)


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


def state_from_arrays(
    expected: Mapping[str, torch.Tensor],
    arrays: Mapping,
    *,
    what: str = "weights",
    must_be_finite: Callable[[str], bool] = lambda key: True,
) -> dict[str, torch.Tensor]:
    """Tensors for a network's state dict from plain arrays, checked key by key.

    Parameters
    ----------
    expected : mapping of str to Tensor
        The network's own ``state_dict()``: the keys, shapes and dtypes wanted.
    arrays : mapping of str to array-like
        The stored arrays (from a model file, say).
    what : str, default="weights"
        What the arrays are, for messages.
    must_be_finite : callable, default=every key
        Which float arrays may hold no NaN or infinite value.

    Returns
    -------
    dict of str to Tensor

    Raises
    ------
    ValueError
        Naming the first array that does not fit: missing or unexpected keys,
        another shape or dtype, NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> layer = nn.Linear(2, 1)
    >>> arrays = {k: v.numpy() for k, v in layer.state_dict().items()}
    >>> sorted(state_from_arrays(layer.state_dict(), arrays))
    ['bias', 'weight']
    >>> state_from_arrays(layer.state_dict(), {**arrays, "bias": np.zeros(2, np.float32)})
    Traceback (most recent call last):
    ...
    ValueError: weights array 'bias' is float32[2], the network needs float32[1]
    """
    import numpy as np

    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise ValueError(
            f"the {what} do not fit the network (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    state = {}
    for key, tensor in expected.items():
        array = np.asarray(arrays[key])
        want = str(tensor.dtype).replace("torch.", "")
        if array.shape != tuple(tensor.shape) or array.dtype != np.dtype(want):
            raise ValueError(
                f"{what} array {key!r} is {array.dtype}{list(array.shape)}, the network "
                f"needs {want}{list(tensor.shape)}"
            )
        if array.dtype.kind == "f" and must_be_finite(key) and not np.isfinite(array).all():
            raise ValueError(f"{what} array {key!r} holds NaN or infinite values")
        state[key] = torch.from_numpy(np.array(array))
    return state
