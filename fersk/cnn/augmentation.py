"""Train-time augmentation of image batches (flip, rotation, zoom, shift, erasing).

Applied only to training batches: :class:`TrainAugmentation` is the training
DataLoader's ``collate_fn``; validation and prediction batches are never
augmented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

__all__ = ["TrainAugmentation", "augment_batch", "mix_batch"]


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


def mix_batch(
    X: torch.Tensor, y: torch.Tensor, n_classes: int, mixup: float = 0.0, cutmix: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup or CutMix of a training batch; the targets become class distributions.

    A ratio ``lam`` is drawn from Beta(alpha, alpha) and each image is paired
    with another of the batch (a random permutation): mixup blends the two
    images, CutMix pastes a rectangle of ``1 - lam`` of the area of one into
    the other; the targets (class indices, made one-hot, or distributions) mix
    in the same ratio. With both on, each batch uses one of them at random.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W)
    y : torch.Tensor of shape (n,) or (n, n_classes)
        Class indices or class distributions.
    n_classes : int
    mixup, cutmix : float, default=0.0
        The alpha of each; 0 turns it off.

    Returns
    -------
    X : torch.Tensor of float, shape (n, C, H, W)
    y : torch.Tensor of float, shape (n, n_classes)
        Rows summing to 1.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> X, y = mix_batch(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 0]), 3, mixup=0.4)
    >>> tuple(y.shape), torch.allclose(y.sum(1), torch.ones(4))
    ((4, 3), True)
    """
    use_cutmix = cutmix > 0 and (mixup <= 0 or bool(torch.rand(()) < 0.5))
    alpha = float(cutmix if use_cutmix else mixup)
    if alpha <= 0:
        raise ValueError("mix_batch needs mixup > 0 or cutmix > 0")
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    order = torch.randperm(len(X))
    X = X.float()
    if use_cutmix:
        height, width = X.shape[-2:]
        h, w = int(round(height * math.sqrt(1 - lam))), int(round(width * math.sqrt(1 - lam)))
        top = int(torch.randint(0, height - h + 1, ()))
        left = int(torch.randint(0, width - w + 1, ()))
        X = X.clone()
        X[..., top : top + h, left : left + w] = X[order][..., top : top + h, left : left + w]
        lam = 1 - h * w / (height * width)
    else:
        X = lam * X + (1 - lam) * X[order]
    if y.ndim == 1:
        y = F.one_hot(y.long(), n_classes).float()
    return X, lam * y + (1 - lam) * y[order]
