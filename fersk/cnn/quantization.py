"""int8 quantisation of a fitted CNN: dynamic (dense layers) or static (the convolutions too).

* :func:`quantize`: dynamic int8 of a CNN's dense layers (``CNNClassifier.quantized()``);
* :func:`quantize_static`: static post-training int8 of its convolutions too,
  calibrated on a few hundred images. fersk's model format stores the result:
  the observed float model (its calibrated activation ranges included) is kept
  in :attr:`QuantizedCNN.observed_state_`, and converting it again on load gives
  the same int8 network.

The quantised CNNs predict on a CPU (``predict``, ``predict_proba``, inside a
pipeline); they cannot be trained.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from .nets import BaselineCNN, standardize_images, state_from_arrays

__all__ = ["QuantizedCNN", "quantize", "quantize_static", "rebuild_quantized"]


@contextlib.contextmanager
def _quiet_quantization() -> Iterator[None]:
    with warnings.catch_warnings():
        # torch >= 2.10 announces the move of quantized tensors to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantiz", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*observer", category=UserWarning)
        warnings.filterwarnings("ignore", message="TypedStorage", category=UserWarning)
        yield


def _check_float_cnn(net, what: str) -> None:
    net.check_is_fitted()
    if getattr(net, "quantized_", False):
        raise ValueError(f"{what} takes the float network; this one is quantized already")


def _cpu_copy(net):
    net = copy.deepcopy(net)
    net.device = "cpu"
    module = net.module_.to("cpu").eval()
    if getattr(net, "criterion_", None) is not None:
        net.criterion_ = net.criterion_.to("cpu")
    return net, module


def quantize(net, dtype: torch.dtype = torch.qint8):
    """A copy of a fitted :class:`~fersk.CNNClassifier` with int8 dense layers (CPU only).

    Post-training dynamic quantisation
    (:func:`torch.ao.quantization.quantize_dynamic`) stores the weights of
    every ``nn.Linear`` as int8 and quantises their inputs on the fly; the
    convolutions stay float32 (see :func:`quantize_static` for those). The
    copy predicts like the original on the CPU but cannot be trained; ``net``
    is not changed.

    Parameters
    ----------
    net : CNNClassifier
        Fitted.
    dtype : torch.dtype, default=torch.qint8
        The weights' type (``torch.float16`` also works).

    Returns
    -------
    CNNClassifier
        A fitted copy with ``quantized_ = True`` and ``device="cpu"``.

    See Also
    --------
    fersk.cnn.quantize_static : The convolutions in int8 too.
    fersk.CNNClassifier.quantized : The same, as a method.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.cnn import CNNClassifier, state_dict_nbytes
    >>> X = np.random.default_rng(0).normal(size=(12, 1, 16, 16)).astype(np.float32)
    >>> net = CNNClassifier(max_epochs=1, train_split=None).fit(X, [0, 1, 2] * 4)
    >>> q = quantize(net)
    >>> q.predict_proba(X).shape, state_dict_nbytes(q.module_) < state_dict_nbytes(net.module_)
    ((12, 3), True)
    """
    net.check_is_fitted()
    from torch.ao.quantization import quantize_dynamic

    net, module = _cpu_copy(net)
    with _quiet_quantization():
        net.module_ = quantize_dynamic(module, {nn.Linear}, dtype=dtype)
    net.optimizer_ = None  # the float weights it held are gone
    net.quantized_ = True
    return net


# -- static int8 ---------------------------------------------------------------


class QuantizedCNN(nn.Module):
    """A :class:`~fersk.BaselineCNN` with int8 convolutions (static post-training quantisation).

    Built by :func:`quantize_static` from a fitted float network: each image
    is standardised in float32 (:func:`~fersk.cnn.standardize_images`), then
    quantised (one scale for the input, calibrated), and runs through the
    fused int8 Conv-BN-ReLU blocks; the flattened features are dequantised
    for the dense layers (float32, or dynamically quantised int8 weights).

    Parameters
    ----------
    net : BaselineCNN
        The float network, in eval mode; it is not changed (its layers are copied).
    dense : {"float", "dynamic"}, default="dynamic"
        The dense layers in float32, or with dynamic int8 weights.

    Notes
    -----
    Call :meth:`prepare`, run calibration images through it, then
    :meth:`convert` (what :func:`quantize_static` does). CPU only.
    """

    def __init__(self, net: BaselineCNN, dense: str = "dynamic") -> None:
        super().__init__()
        from torch.ao.quantization import DeQuantStub, QuantStub

        if dense not in ("float", "dynamic"):
            raise ValueError(f"dense must be 'float' or 'dynamic', got {dense!r}")
        self.dense = dense
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.features = copy.deepcopy(net.features).to("cpu").eval()
        for conv in self.features.modules():
            if isinstance(conv, nn.Conv2d) and conv.padding == "same":
                # int8 convolutions take explicit padding: 'same' is k // 2 for odd kernels
                if any(k % 2 == 0 for k in conv.kernel_size) or conv.stride != (1, 1):
                    raise ValueError(f"cannot quantize {conv}: 'same' padding of an even kernel")
                conv.padding = tuple(
                    (k - 1) // 2 * d for k, d in zip(conv.kernel_size, conv.dilation)
                )
        self.classifier = copy.deepcopy(net.classifier).to("cpu").eval()
        self.n_classes, self.size, self.channels = net.n_classes, net.size, net.channels
        units = tuple(m.out_features for m in net.classifier if isinstance(m, nn.Linear))[:-1]
        # What rebuilds it when unpickled (quantized layers pickle as a state dict only).
        self._spec = (
            type(net),
            {
                "n_classes": net.n_classes,
                "size": net.size,
                "channels": net.channels,
                "depth": net.depth,
                "filters": tuple(net.conv_filters),
                "dense_units": units,
            },
        )
        self.backend = torch.backends.quantized.engine
        self.reduce_range = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = standardize_images(x).contiguous(memory_format=torch.channels_last)
        x = self.dequant(self.features(self.quant(x)))
        return self.classifier(x)

    def __reduce__(self):
        settings = self.settings()
        return (_unpickle_quantized, (self._spec, self.observed_state_, settings))

    def settings(self) -> dict:
        """What :func:`rebuild_quantized` needs besides the observed state (plain data)."""
        return {"dense": self.dense, "backend": self.backend, "reduce_range": self.reduce_range}

    def _fuse_groups(self) -> list[list[str]]:
        groups, names = [], [name for name, _ in self.features.named_modules()]
        modules = dict(self.features.named_modules())
        for name in names:
            if isinstance(modules[name], nn.Conv2d):
                parent, _, index = name.rpartition(".")
                prefix = f"{parent}." if parent else ""
                bn, relu = f"{prefix}{int(index) + 1}", f"{prefix}{int(index) + 2}"
                if isinstance(modules.get(bn), nn.BatchNorm2d) and isinstance(
                    modules.get(relu), nn.ReLU
                ):
                    groups.append([name, bn, relu])
        return groups

    def prepare(self, backend: str = "x86", reduce_range: bool = True) -> QuantizedCNN:
        """Fuse Conv-BN-ReLU and insert the observers (eager mode); returns ``self``.

        ``reduce_range=False`` gives the activations all 8 bits instead of 7
        (see :func:`quantize_static`).
        """
        from torch.ao.quantization import (
            HistogramObserver,
            QConfig,
            fuse_modules,
            get_default_qconfig,
            prepare,
        )

        if backend not in torch.backends.quantized.supported_engines:
            raise ValueError(
                f"quantized backend {backend!r} is not available here; torch supports "
                f"{torch.backends.quantized.supported_engines}"
            )
        self.backend, self.reduce_range = backend, bool(reduce_range)
        self.eval()
        with _quiet_quantization():
            self.features = fuse_modules(self.features, self._fuse_groups())
            qconfig = get_default_qconfig(backend)
            if not reduce_range:
                activation = HistogramObserver.with_args(reduce_range=False)
                qconfig = QConfig(activation=activation, weight=qconfig.weight)
            for part in (self.quant, self.features, self.dequant):
                part.qconfig = qconfig
            prepare(self, inplace=True)
        return self

    def convert(self) -> QuantizedCNN:
        """Replace the observed float layers by int8 ones; returns ``self``."""
        from torch.ao.quantization import convert, quantize_dynamic

        # The calibrated float model, kept as plain arrays: converting it again gives
        # this int8 network (how fersk's model format and pickles store it).
        self.observed_state_ = {k: v.detach().cpu().numpy() for k, v in self.state_dict().items()}
        with _quiet_quantization():
            if torch.backends.quantized.engine != self.backend:  # it packs the weights
                torch.backends.quantized.engine = self.backend
            convert(self, inplace=True)
            if self.dense == "dynamic":
                self.classifier = quantize_dynamic(self.classifier, {nn.Linear})
        return self


def _has_vnni() -> bool:
    """Whether this CPU has 8-bit dot-product instructions (x86 VNNI or AMX; ARM: yes)."""
    import platform

    if platform.machine().lower() in ("arm64", "aarch64"):
        return True
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:  # not Linux: assume the worst
        return False
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags))


def rebuild_quantized(
    module: BaselineCNN, observed_state: dict, *, dense: str, backend: str, reduce_range: bool
) -> QuantizedCNN:
    """The int8 network of a float one and its calibrated observers' state (plain arrays).

    ``module`` gives the architecture (its weights are replaced by those in
    ``observed_state``, the state dict :meth:`QuantizedCNN.convert` recorded);
    the result is the int8 network :func:`quantize_static` made.

    Raises
    ------
    ValueError
        If ``observed_state`` does not fit the network (naming the first array that does not).
    """
    quantized = QuantizedCNN(module.eval(), dense).prepare(backend, reduce_range=reduce_range)
    state = state_from_arrays(
        quantized.state_dict(),
        observed_state,
        what="int8 state",
        must_be_finite=lambda key: "histogram" not in key,  # observers' empty bins
    )
    with _quiet_quantization():
        quantized.load_state_dict(state)
    return quantized.convert().eval()


def _unpickle_quantized(spec: tuple, observed_state: dict, settings: dict) -> QuantizedCNN:
    """Unpickle a :class:`QuantizedCNN`: its architecture, converted from the observed state."""
    cls, params = spec
    if not (isinstance(cls, type) and issubclass(cls, BaselineCNN)):
        raise TypeError(f"a QuantizedCNN wraps a fersk BaselineCNN, not {cls!r}")
    return rebuild_quantized(cls(**params), observed_state, **settings)


def quantize_static(
    net,
    X,
    *,
    n_calibration: int = 256,
    dense: str = "dynamic",
    backend: str = "x86",
    reduce_range: bool | None = None,
    random_state: int | None = 0,
):
    """A copy of a fitted CNN classifier with int8 convolutions (static quantisation, CPU).

    Post-training static quantisation in eager mode
    (:mod:`torch.ao.quantization`): every Conv-BatchNorm-ReLU is fused into one
    int8 convolution whose activations' scales are calibrated on
    ``n_calibration`` images of ``X``; the dense layers get dynamic int8
    weights (``dense="dynamic"``, as :func:`quantize`) or stay float32.
    ``net`` is not changed. Whether this is faster than float32 depends on the
    CPU and the batch size (``benchmarks/compression.py`` measures it).

    Parameters
    ----------
    net : CNNClassifier
        Fitted, its module a :class:`~fersk.BaselineCNN` or :class:`~fersk.cnn.CompactCNN`.
    X : ndarray of shape (n_samples, channels, size, size)
        Calibration images, like the training images (raw ``uint8`` pixels or
        float32); a random subset of ``n_calibration`` is used.
    n_calibration : int, default=256
    dense : {"dynamic", "float"}, default="dynamic"
    backend : str, default="x86"
        A :data:`torch.backends.quantized.supported_engines` entry ("x86",
        "fbgemm", "qnnpack", "onednn").
    reduce_range : bool or None, default=None
        Quantise the activations to 7 bits (``True``), which keeps int8
        convolutions from saturating on x86 CPUs without VNNI instructions,
        or to all 8 bits (``False``: more accurate, for CPUs with AVX512-VNNI,
        AVX-VNNI or AMX, and ARM). None: ``False`` where this CPU has VNNI,
        else ``True``. On the shipped FER2013 CNN (FER2013 test, 7,178 faces)
        7 bits cost 0.2 points of accuracy, 8 bits none.
    random_state : int or None, default=0
        Seed of the calibration subset.

    Returns
    -------
    CNNClassifier
        A fitted copy on the CPU whose ``module_`` is a :class:`QuantizedCNN`,
        ``quantized_ = True``: it predicts, it cannot be trained.

    Raises
    ------
    TypeError
        If the network is not one of fersk's CNNs.
    ValueError
        If ``net`` is quantized already, or ``X`` does not fit it.

    See Also
    --------
    fersk.cnn.quantize : Dynamic int8 of the dense layers only.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.cnn import CNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(32, 1, 16, 16), dtype=np.uint8)
    >>> net = CNNClassifier(max_epochs=2, train_split=None).fit(X, [0, 1] * 16)
    >>> q = quantize_static(net, X)
    >>> type(q.module_).__name__, q.predict_proba(X).shape
    ('QuantizedCNN', (32, 2))
    >>> bool(np.abs(q.predict_proba(X) - net.predict_proba(X)).max() < 0.1)
    True
    """
    _check_float_cnn(net, "quantize_static")
    if not isinstance(net.module_, BaselineCNN):
        raise TypeError(
            "quantize_static takes a CNNClassifier built on fersk.BaselineCNN or CompactCNN; "
            f"its module is a {type(net.module_).__name__}"
        )
    X = net._check_images(X)
    rng = np.random.default_rng(random_state)
    pick = rng.permutation(len(X))[: max(1, int(n_calibration))]
    net, module = _cpu_copy(net)
    if reduce_range is None:
        reduce_range = not _has_vnni()
    quantized = QuantizedCNN(module, dense=dense).prepare(backend, reduce_range=reduce_range)
    with torch.inference_mode():
        for start in range(0, len(pick), 64):
            quantized(torch.from_numpy(X[np.sort(pick[start : start + 64])]))
    net.module_ = quantized.convert().eval()
    net.optimizer_ = None
    net.quantized_ = True
    return net
