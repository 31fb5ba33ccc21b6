"""The CNN as a scikit-learn classifier (skorch), with the study's training recipe as defaults.

* :class:`CNNClassifier`: a :class:`skorch.NeuralNetClassifier` (Adam 5e-4,
  batch 32, cross-entropy, ReduceLROnPlateau, early stopping on a stratified
  validation split carved from the *training* data, seeded, train-time
  augmentation only), or a fixed one-cycle schedule with resumable
  checkpoints; hard labels or soft targets (vote distributions);
* :func:`make_cnn_pipeline`: ``CNNPreprocessor`` + ``CNNClassifier``, taking
  the same image paths or arrays as the landmark pipeline.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.pipeline import Pipeline
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    LoadInitState,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from skorch.dataset import ValidSplit, unpack_data
from skorch.utils import TeeGenerator, is_dataset
from torch import nn
from torch.nn import functional as F

from .._core.environment import environment_info
from ..features.preprocess import CNNPreprocessor
from .augmentation import TrainAugmentation, mix_batch
from .callbacks import AtomicCheckpoint, OneCycle, checkpoint_epochs
from .labels import check_classes, check_soft_targets, encode_labels, hard_codes
from .nets import BaselineCNN, state_dict_nbytes  # noqa: F401  (state_dict_nbytes: doctest)
from .quantization import quantize

__all__ = ["CNNClassifier", "make_cnn_pipeline", "tta_views"]


def check_tta(tta):
    """``tta`` as given if it is a truth value or ``"crops"``, else a ValueError.

    Examples
    --------
    >>> check_tta("crops"), check_tta(1)
    ('crops', 1)
    """
    if (isinstance(tta, str) and tta != "crops") or not isinstance(
        tta, (str, bool, int, np.bool_, np.integer, type(None))
    ):
        raise ValueError(f"tta must be False, True or 'crops', got {tta!r}")
    return tta


def tta_views(batch: torch.Tensor, tta: bool | str) -> list[torch.Tensor]:
    """The views of a batch of images that ``CNNClassifier(tta=...)`` averages over.

    Parameters
    ----------
    batch : torch.Tensor of shape (n, channels, size, size)
    tta : bool or "crops"
        False: the batch; True: and its mirror; ``"crops"``: the batch and its four
        corner and its centre crops of 7/8 the side, zoomed back (bilinear), and the
        mirror of each (12 views).

    Returns
    -------
    list of torch.Tensor
        Each of ``batch``'s shape (floats for the crops).

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    >>> [len(tta_views(x, t)) for t in (False, True, "crops")]
    [1, 2, 12]
    """
    if not isinstance(check_tta(tta), str):
        return [batch, batch.flip(-1)] if tta else [batch]
    side = batch.shape[-1]
    if batch.shape[-2] != side:
        raise ValueError(f"tta='crops' takes square images, got {tuple(batch.shape[-2:])}")
    crop, whole = side - max(1, side // 8), batch.float()
    views = [whole]
    for top, left in [(0, 0), (0, side - crop), (side - crop, 0), (side - crop, side - crop),
                      ((side - crop) // 2, (side - crop) // 2)]:  # fmt: skip
        part = whole[..., top : top + crop, left : left + crop]
        views.append(F.interpolate(part, size=(side, side), mode="bilinear", align_corners=False))
    return views + [v.flip(-1) for v in views]


def _valid_accuracy(net, X, y) -> float:
    """WAR on the validation split, against the *encoded* targets."""
    return float(accuracy_score(hard_codes(y), net.predict_proba(X).argmax(axis=1)))


def _valid_uar(net, X, y) -> float:
    """UAR on the validation split, against the *encoded* targets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class missing from a small split
        return float(balanced_accuracy_score(hard_codes(y), net.predict_proba(X).argmax(axis=1)))


def _auto_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _package_versions() -> dict:
    env = environment_info()
    return {"python": env["python"], **env["packages"]}


class CNNClassifier(NeuralNetClassifier):
    """The study's CNN baseline: a skorch classifier with the training recipe as defaults.

    Input is an array ``(n_samples, channels, size, size)``, as produced by
    :class:`~fersk.features.preprocess.CNNPreprocessor` (use :func:`make_cnn_pipeline`
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
    tta : bool or "crops", default=False
        Average ``predict_proba`` over each image and its mirror image (True),
        or over 12 views (``"crops"``: the image, its four corners and its
        centre, each 7/8 of its side zoomed back to full size, and the mirror
        of each: the multi-crop protocol of FER2013 papers, 6 times the cost).
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
        tta: bool | str = False,
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
        return checkpoint_epochs(str(self.checkpoint_dir), run)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Carve the validation split from the data given to ``fit``."""
        if not (isinstance(self.train_split, str) and self.train_split == "auto"):
            return super().get_split_datasets(X, y, **fit_params)
        if not 0.0 < float(self.valid_size) < 1.0:
            raise ValueError(f"valid_size must be in (0, 1), got {self.valid_size}")
        dataset = self.get_dataset(X, y)
        split = ValidSplit(float(self.valid_size), stratified=True, random_state=self.random_state)
        strata = hard_codes(y) if y is not None else y  # soft targets: by their top class
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
                + ". Put a fersk.CNNPreprocessor before it (see make_cnn_pipeline) "
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
        self.label_classes_ = check_classes(
            y, self.classes if classes is None else classes, type(self).__name__
        )

    def _encode(self, y) -> np.ndarray:
        return encode_labels(y, self.label_classes_)

    def _targets(self, y, soft_targets=None) -> np.ndarray:
        """What the loss sees: class indices, or each row of ``soft_targets`` normalised."""
        codes = self._encode(y)
        if soft_targets is None:
            return codes
        return check_soft_targets(soft_targets, len(codes), self.label_classes_)

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
        check_tta(self.tta)  # a typo is an error now, not after the training
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
        """Mixup or CutMix of a training batch (:func:`~fersk.cnn.augmentation.mix_batch`)."""
        if not (self.mixup > 0 or self.cutmix > 0):
            return batch
        Xi, yi = unpack_data(batch)
        return mix_batch(Xi, yi, len(self.label_classes_), self.mixup, self.cutmix)

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
        """Class probabilities; with ``tta`` averaged over each image's views (its mirror...).

        Arrays take a direct path (``torch.inference_mode``, each batch and its
        mirror in one forward pass, no per-call training-mode switching), the
        same numbers as skorch's own loop, which a ``Dataset`` still goes through.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, size, size)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        if is_dataset(X):
            return super().predict_proba(X)
        self.check_is_fitted()
        X = self._check_images(X)
        module, nonlinearity = self.module_, self._get_predict_nonlinearity()
        if module.training:
            module.eval()
        size = self.get_params_for("iterator_valid").get("batch_size", self.batch_size)
        size = len(X) if size in (None, -1) else max(1, int(size))
        out = []
        autocast = (
            torch.autocast("cuda", dtype=torch.float16) if self._amp() else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            for start in range(0, len(X), size):
                batch = torch.as_tensor(X[start : start + size], device=self.device)
                views = tta_views(batch, self.tta)
                proba = nonlinearity(module(torch.cat(views))).float()
                out.append(proba.reshape(len(views), len(batch), -1).mean(0).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, len(self.classes_)), np.float32)

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
        return quantize(self, dtype)


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
        Of the :class:`~fersk.features.preprocess.CNNPreprocessor` (cache, workers,
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
