"""Trained CNN members: which to ship (chosen on validation rows), and the shipped pipeline.

Shared by the recipes of the FER+ models (:mod:`fersk.recipes.shipped`) and of
FER2013's (:mod:`fersk.recipes.fer2013`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "best_vote",
    "build_cnn",
    "choose",
    "epoch_table",
    "largest_within",
    "nets_of",
    "soft_votes",
    "train_each",
    "war_uar_percent",
]


def nets_of(cnn) -> list:
    """The fitted net(s) at the end of a :func:`build_cnn` pipeline: the net, or the vote's.

    Examples
    --------
    >>> from fersk.models import load_model
    >>> len(nets_of(load_model("cnn-ferplus")))
    1
    """
    head = cnn[-1]
    return list(head.estimators_) if hasattr(head, "estimators_") else [head]


def war_uar_percent(y_true, y_pred) -> dict:
    """``{"war", "uar"}`` in %, to two decimals.

    Examples
    --------
    >>> war_uar_percent(["a", "a", "b"], ["a", "b", "b"])
    {'war': 66.67, 'uar': 75.0}
    """
    from ..evaluation.metrics import war_uar

    r = war_uar(np.asarray(y_true), np.asarray(y_pred))
    return {m: round(100 * float(r[m]), 2) for m in ("war", "uar")}


def largest_within(scores: dict, max_cost: float) -> float:
    """The largest key whose WAR is at most ``max_cost`` points below the first key's.

    ``scores``: ``{setting: {"war": ...}}`` in the order tried, the first the reference.

    Examples
    --------
    >>> largest_within({0.0: {"war": 87.0}, 0.25: {"war": 86.5}, 0.3: {"war": 85.9}}, 1.0)
    0.25
    >>> largest_within({0.0: {"war": 87.06}, 0.1: {"war": 86.96}}, 0.1)  # exactly 0.1 below
    0.1
    """
    reference = next(iter(scores.values()))["war"]
    # the costs are differences of 2-decimal percentages: compared at that precision, so that
    # 87.06 - 86.96 (0.0999999... or 0.1000000...1 in floats) is 0.1
    return max(key for key, r in scores.items() if round(reference - r["war"], 6) <= max_cost)


def build_cnn(nets: list):
    """The shipped CNN pipeline: 48 px gray ``uint8`` input, then one net or a soft vote.

    Parameters
    ----------
    nets : list of fitted CNNClassifier
        Their training settings (validation split, checkpoint folder, verbosity) are
        reset: they are not part of the shipped model.

    Returns
    -------
    Pipeline
        ``CNNPreprocessor(48, dtype="uint8")``, then the net or the soft vote of the nets.

    Examples
    --------
    >>> from fersk.models import load_model
    >>> net = load_model("cnn-ferplus")[-1]
    >>> [name for name, _ in build_cnn([net]).steps]
    ['prep', 'cnn']
    """
    from sklearn.pipeline import Pipeline

    from .._core.pipeline_tools import combine_fitted
    from ..features.preprocess import CNNPreprocessor

    for net in nets:  # training settings are not part of the shipped model
        net.set_params(train_split="auto", checkpoint_dir=None, verbose=0)
    head = nets[0] if len(nets) == 1 else combine_fitted([(f"m{i}", n) for i, n in enumerate(nets)])
    return Pipeline([("prep", CNNPreprocessor(48, dtype="uint8").fit()), ("cnn", head)])


def choose(nets: dict, arrays: dict) -> tuple[list[str], dict]:
    """The members to ship: the soft vote (or single member) with the best validation WAR.

    Every non-empty subset of ``nets`` is scored; a tie goes to fewer members (a vote
    ships only if it beats every smaller one), then to the subset listed first.

    Parameters
    ----------
    nets : dict of name -> fitted classifier
        Names without ``"+"`` (it joins a vote's names in ``scores``).
    arrays : dict
        ``arrays["val"] = (X, y, _, classes)``: the validation rows (FER+ valid, or
        FER2013's PublicTest) and the classes in the order of ``predict_proba``'s columns.

    Returns
    -------
    chosen : list of str
        The names of the best subset, in ``nets``' order.
    scores : dict
        ``{"name" or "name+name...": {"war", "uar"}}`` in %: every subset.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = np.zeros((4, 1)), np.array(["a", "a", "a", "b"])
    >>> prior = DummyClassifier(strategy="prior").fit(X, y)
    >>> choose({"prior": prior}, {"val": (X, y, None, ["a", "b"])})
    (['prior'], {'prior': {'war': 75.0, 'uar': 50.0}})
    """
    from ..evaluation.metrics import war_uar

    Xv, yv, _, classes = arrays["val"]
    classes = np.asarray(classes)
    votes = soft_votes({name: net.predict_proba(Xv) for name, net in nets.items()})
    scores = {key: war_uar(yv, classes[proba.argmax(1)]) for key, proba in votes.items()}
    chosen = best_vote({key: score["war"] for key, score in scores.items()})
    return chosen, {k: {m: round(100 * v[m], 2) for m in ("war", "uar")} for k, v in scores.items()}


def best_vote(wars: dict) -> list[str]:
    """The names of the best vote of :func:`soft_votes`' keys: the highest WAR, a tie going
    to the smaller (earlier) subset.

    Examples
    --------
    >>> best_vote({"a": 70.0, "b": 71.0, "a+b": 71.0})
    ['b']
    """
    return max(wars, key=wars.get).split("+")  # max keeps the first of equals


def train_each(steps: dict, what: str, say=print) -> dict:
    """Run each training step (a checkpointed fit, which resumes); ``{name: fitted net}``.

    Parameters
    ----------
    steps : dict of name -> callable
        Each returns a fitted :class:`~fersk.cnn.CNNClassifier`.
    what : str
        What the nets are, for the messages (``"member"``, ``"cnn-fer2013"``).
    say : callable

    Raises
    ------
    KeyboardInterrupt
        When a net's training was interrupted (its finished epochs are checkpointed: run
        again to resume).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> net = SimpleNamespace(history=[{}, {}], interrupted_=False)
    >>> said = []
    >>> list(train_each({"a": lambda: net}, "member", say=said.append)), said[0][:19]
    (['a'], 'member a: 2 epochs ')
    """
    import time

    nets = {}
    for name, step in steps.items():
        start = time.perf_counter()
        nets[name] = step()
        if nets[name].interrupted_:
            raise KeyboardInterrupt(f"{what} {name} interrupted; run again to resume")
        say(f"{what} {name}: {len(nets[name].history)} epochs "
            f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    return nets


def soft_votes(probas: dict) -> dict:
    """The soft vote (mean probabilities) of every non-empty subset of named members.

    Parameters
    ----------
    probas : dict of name -> ndarray (n_samples, n_classes)
        Names without ``"+"``.

    Returns
    -------
    dict
        ``{"name" or "name+name...": mean probabilities}``, smallest subsets first, each
        in ``probas``' order.

    Examples
    --------
    >>> votes = soft_votes({"a": np.array([[1.0, 0.0]]), "b": np.array([[0.0, 1.0]])})
    >>> {k: v.tolist() for k, v in votes.items()}
    {'a': [[1.0, 0.0]], 'b': [[0.0, 1.0]], 'a+b': [[0.5, 0.5]]}
    """
    from itertools import combinations

    if any("+" in name for name in probas):
        raise ValueError(f"member names may not hold '+': {list(probas)}")
    return {
        "+".join(subset): np.mean([probas[name] for name in subset], axis=0)
        for k in range(1, len(probas) + 1)
        for subset in combinations(probas, k)
    }


def epoch_table(net) -> list[dict]:
    """A trained net's epochs as the training record keeps them (losses, accuracy, seconds).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> epoch_table(SimpleNamespace(history=[{"epoch": 1, "dur": 2.0, "lr": 0.1}]))
    [{'epoch': 1, 'dur': 2.0}]
    """
    keys = ("epoch", "train_loss", "valid_loss", "valid_acc", "dur")
    return [{k: e[k] for k in keys if k in e} for e in net.history]
