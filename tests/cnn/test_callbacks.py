"""fersk.cnn.callbacks: the one-cycle learning-rate schedule, and checkpoints that resume an
interrupted training where it stopped and refuse another training's folder."""

from __future__ import annotations

import numpy as np
import pytest

from fersk.cnn import CNNClassifier
from fersk.features.preprocess import CNNPreprocessor
from tests.cnn.conftest import SIZE

pytestmark = pytest.mark.usefixtures("one_thread")


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
