"""skorch callbacks of fersk's training: atomic checkpoints and a resumable one-cycle schedule."""

from __future__ import annotations

import json
import math
import os

from skorch.callbacks import Callback, Checkpoint

__all__ = ["CHECKPOINT_FILES", "AtomicCheckpoint", "OneCycle", "checkpoint_epochs"]

#: What a checkpoint holds; an epoch counts as saved once all are written.
CHECKPOINT_FILES = ("params.pt", "optimizer.pt", "criterion.pt", "history.json")


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


def checkpoint_epochs(folder: str, run: dict) -> int:
    """Epochs of the training ``run`` saved in ``folder`` (0 when none are).

    The first call records ``run`` (the data's digest and the settings) in
    ``fersk-run.json``; a later call with another ``run`` is refused, since
    resuming another training would return the wrong model.

    Raises
    ------
    ValueError
        When ``folder`` holds another training, naming what differs.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> checkpoint_epochs(folder, {"lr": 0.01}), checkpoint_epochs(folder, {"lr": 0.01})
    (0, 0)
    >>> checkpoint_epochs(folder, {"lr": 0.1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: checkpoint_dir ... holds another training (it differs in lr); ...
    """
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
    if not all(os.path.isfile(os.path.join(folder, f)) for f in CHECKPOINT_FILES):
        return 0
    try:
        with open(os.path.join(folder, "history.json")) as fh:
            return len(json.load(fh))
    except (OSError, ValueError):
        return 0
