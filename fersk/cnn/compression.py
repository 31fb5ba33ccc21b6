"""Smaller, faster CNNs: int8 quantisation (and structured pruning) of a fitted classifier."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

__all__ = ["quantize"]


def quantize(net, dtype: torch.dtype = torch.qint8):
    """A copy of a fitted :class:`~fersk.CNNClassifier` with int8 dense layers (CPU only).

    Post-training dynamic quantisation
    (:func:`torch.ao.quantization.quantize_dynamic`) stores the weights of
    every ``nn.Linear`` as int8 and quantises their inputs on the fly; the
    convolutions stay float32. The copy predicts like the original on the CPU
    but cannot be trained; ``net`` is not changed.

    Returns
    -------
    CNNClassifier
        A fitted copy with ``quantized_ = True`` and ``device="cpu"``.
    """
    net.check_is_fitted()
    from torch.ao.quantization import quantize_dynamic

    net = copy.deepcopy(net)
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
