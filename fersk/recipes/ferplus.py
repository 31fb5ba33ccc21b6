"""Recipes that train fersk's shipped CNNs on FER+ vote distributions.

A recipe is plain fersk API: :func:`fersk.datasets.load_ferplus`, a
:class:`~fersk.features.preprocess.CNNPreprocessor` that decodes every image once into
``uint8``, and a :class:`~fersk.cnn.CNNClassifier` trained against the
annotators' vote shares (``soft_targets``), checkpointed every epoch so an
interrupted run resumes where it stopped. Everything is chosen on FER+'s
validation folder; its test folder is only ever scored.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["MEMBERS", "CNNRecipe", "ferplus_arrays", "train_member"]


@dataclass(frozen=True)
class CNNRecipe:
    """The settings of one CNN trained on FER+ (network, input, schedule, augmentation).

    Parameters
    ----------
    width, depth : float, int
        Of :class:`fersk.cnn.CompactCNN` (0.25 and 2: 0.95 M parameters at 48 px).
    size : int
        Input side in pixels.
    epochs : int
        One-cycle epochs.
    lr : float
        Peak learning rate (AdamW, weight decay ``weight_decay``).
    batch_size : int
    seed : int
    augment : dict
        :class:`fersk.cnn.TrainAugmentation` settings.
    mixup, cutmix : float
        :class:`fersk.cnn.CNNClassifier` settings.
    label_smoothing : float
    dropout : float
    workers : int
        Processes that augment the training batches (0: the training process; on a GPU
        the augmentation runs on the CPU, and workers keep the GPU fed).

    Examples
    --------
    >>> MEMBERS["a"].width, MEMBERS["a"].size
    (0.25, 48)
    """

    width: float = 0.25
    depth: int = 2
    size: int = 48
    epochs: int = 50
    lr: float = 2e-3
    weight_decay: float = 5e-4
    batch_size: int = 64
    seed: int = 0
    augment: dict = field(
        default_factory=lambda: {
            "flip": 0.5,
            "max_rotation": 15.0,
            "max_scale": 0.1,
            "max_shift": 0.1,
            "erase": 0.25,
        }
    )
    mixup: float = 0.0
    cutmix: float = 0.0
    label_smoothing: float = 0.0
    dropout: float = 0.25
    workers: int = 0

    def classifier(self, valid=None, checkpoint_dir=None, verbose: int = 1):
        """An unfitted :class:`~fersk.cnn.CNNClassifier` with these settings.

        ``valid``: ``(X, codes)`` watched every epoch (encoded in the order of
        the training ``classes``), or None.
        """
        import torch
        from skorch.dataset import Dataset
        from skorch.helper import predefined_split

        from ..cnn import CNNClassifier, CompactCNN, TrainAugmentation

        return CNNClassifier(
            CompactCNN,
            module__width=self.width,
            module__depth=self.depth,
            module__dropout=self.dropout,
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            criterion__label_smoothing=self.label_smoothing,
            batch_size=self.batch_size,
            max_epochs=self.epochs,
            schedule="onecycle",
            train_split=None if valid is None else predefined_split(Dataset(*valid)),
            iterator_train__collate_fn=TrainAugmentation(**self.augment),
            mixup=self.mixup,
            cutmix=self.cutmix,
            tta=True,
            iterator_train__num_workers=self.workers,
            checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
            random_state=self.seed,
            verbose=verbose,
        )


MEMBERS: dict[str, CNNRecipe] = {
    "a": CNNRecipe(epochs=60),
    "b": CNNRecipe(epochs=60, seed=1, mixup=0.2),
    # For a GPU (``python -m fersk.recipes.shipped --gpu``): the same network (the shipped size
    # stays within budget), 200 epochs instead of 60, larger batches, augmentation in workers.
    # Not run on this project's CPUs (about 4 hours a member there).
    "gpu-a": CNNRecipe(epochs=200, lr=3e-3, batch_size=128, workers=4),
    "gpu-b": CNNRecipe(epochs=200, lr=3e-3, batch_size=128, workers=4, seed=1, mixup=0.2),
}  # fmt: skip
"""Candidate members of the shipped FER+ CNN, by name (``gpu-*``: the GPU recipe)."""


def ferplus_arrays(root, size: int = 48, memory=None, n_jobs: int | None = None) -> dict:
    """FER+ decoded once: per split ``(X uint8 (n, 1, size, size), y names, soft, classes)``.

    ``train`` uses the plurality labels (more images) and the vote
    distribution as targets; ``val`` and ``test`` the majority labels, as the
    FER+ paper scores them.
    """
    from ..datasets import load_ferplus
    from ..features.preprocess import CNNPreprocessor

    prep = CNNPreprocessor(size, dtype="uint8", memory=memory, n_jobs=n_jobs)
    out = {}
    for split, rule in [("train", "plurality"), ("val", "majority"), ("test", "majority")]:
        data = load_ferplus(root, subset=split, rule=rule)
        names = np.asarray(data.target_names)
        out[split] = (
            prep.fit_transform(data.data),
            names[data.target],
            data.distribution.astype(np.float32),
            list(data.target_names),
        )
    return out


def train_member(recipe: CNNRecipe, arrays: dict, work: str | os.PathLike, verbose: int = 1):
    """Train (or resume) one member in ``work``; returns the fitted classifier."""
    X, y, soft, classes = arrays["train"]
    Xv, yv, _, classes_v = arrays["val"]
    if classes_v != classes:
        raise ValueError(f"FER+ val classes {classes_v} differ from train's {classes}")
    codes = np.array([classes.index(label) for label in yv], dtype=np.int64)
    folder = Path(work)
    folder.mkdir(parents=True, exist_ok=True)
    net = recipe.classifier((Xv, codes), folder / "checkpoint", verbose)
    net.set_params(classes=classes)
    (folder / "recipe.json").write_text(_json(asdict(recipe)))
    return net.fit(X, y, soft_targets=soft)


def _json(obj) -> str:
    import json

    return json.dumps(obj, indent=1, sort_keys=True) + "\n"
