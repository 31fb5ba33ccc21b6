"""Recipes for the models of FER2013's own labels: ``cnn-fer2013`` and ``landmarks-fer2013``.

* ``cnn-fer2013``: FER2013's labels (7 classes), for comparisons on FER2013's own
  protocol: a CNN trained from scratch (:data:`SCRATCH`) and a FER+ member
  (:mod:`fersk.recipes.ferplus`) fine-tuned (:data:`FINE_TUNE`); their soft vote
  is shipped if it beats both on PublicTest, else the better one, averaged over
  12 crops (``tta="crops"``) if that beats the mirror alone there.
* ``landmarks-fer2013``: the study's landmark path: 68 dlib points (the crop is
  the face box), pairwise distances, a
  :class:`~fersk.features.subject.SubjectNeutralizer` (online in the video
  stream, an identity on FER2013, which has no person ids) and the study's MLP.

Both learn on FER2013's training split less a stratified 5% (seed 0) that the
CNNs are watched on each epoch. Every choice is made on FER2013's PublicTest
images (the images of FER+'s validation folder, on which the FER+ models' choices
are made: the training split's rows were the FER+ member's training images);
PrivateTest is only ever scored. The CNNs are checkpointed every epoch: a rerun
resumes.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

__all__ = [
    "FINE_TUNE",
    "SCRATCH",
    "fer2013_arrays",
    "fer2013_models",
    "fer2013_usage",
    "fine_tune",
    "held_out",
    "source_digest",
    "train_on_labels",
    "landmark_model",
]

#: How ``cnn-fer2013`` is fine-tuned from a FER+ member: one-cycle epochs, peak learning rate,
#: label smoothing (FER2013's labels are noisy).
FINE_TUNE = {"epochs": 12, "lr": 1e-3, "label_smoothing": 0.1}


def _scratch():
    from .ferplus import MEMBERS

    return dataclasses.replace(MEMBERS["a"], epochs=50, label_smoothing=0.1)


#: How the from-scratch member of ``cnn-fer2013`` is trained: member ``"a"``'s network and
#: augmentation, 50 one-cycle epochs, label smoothing 0.1.
SCRATCH = _scratch()


def fer2013_arrays(
    root, size: int = 48, memory=None, n_jobs: int | None = None, splits=("train", "test")
) -> dict:
    """FER2013 decoded once: per split ``(X uint8 (n, 1, size, size), y names, files)``.

    Parameters
    ----------
    root : path-like
        FER2013 as class folders under ``train/`` and ``test/``.
    size : int, default=48
    memory : path-like or None
        A cache folder for the decoded images.
    n_jobs : int or None
    splits : tuple of str
        Which of ``"train"`` and ``"test"`` to decode.

    Returns
    -------
    dict
        ``{split: (X, y, files)}``.
    """
    from ..datasets import load_dataset
    from ..features.preprocess import CNNPreprocessor

    prep = CNNPreprocessor(size, dtype="uint8", memory=memory, n_jobs=n_jobs)
    out = {}
    for split in splits:
        data = load_dataset(root, subset=split)
        out[split] = (
            prep.fit_transform(data.data),
            np.asarray(data.target_names)[data.target],
            list(data.data),
        )
    return out


_USAGES = ("Training_", "PublicTest_", "PrivateTest_")


def fer2013_usage(files) -> np.ndarray:
    """FER2013's ``Usage`` of each file of its folder layout, from the name's prefix.

    Examples
    --------
    >>> fer2013_usage(["test/happy/PublicTest_1.jpg", "PrivateTest_2.jpg", "x.png"]).tolist()
    ['PublicTest', 'PrivateTest', '']
    """
    names = [Path(f).name for f in files]
    return np.array([n.split("_")[0] if n.startswith(_USAGES) else "" for n in names])


def _net_paths(pipeline) -> list[str]:
    """``set_params`` prefixes of the CNN(s) at the end of a :func:`build_cnn` pipeline."""
    head = pipeline[-1]
    if hasattr(head, "estimators_"):
        return [f"cnn__{name}__" for name, _ in head.estimators]
    return ["cnn__"]


def held_out(y, fraction: float = 0.05, seed: int = 0) -> np.ndarray:
    """The rows of FER2013's training split the CNNs are watched on (stratified ``fraction``).

    Examples
    --------
    >>> mask = held_out(np.array(["a"] * 40 + ["b"] * 20), fraction=0.25)
    >>> int(mask.sum()), int(mask[:40].sum())
    (15, 10)
    """
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    _, held = train_test_split(index, test_size=fraction, stratify=y, random_state=seed)
    return np.isin(index, held)


def _last_linear(module) -> str:
    """The state-dict prefix of ``module``'s output layer (its last ``nn.Linear``)."""
    import torch

    names = [n for n, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    if not names:
        raise ValueError(f"{type(module).__name__} has no linear output layer to adapt")
    return names[-1]


def fine_tune(source, arrays: dict, work: str | os.PathLike, recipe=None, verbose: int = 1):
    """A CNN of FER2013's labels started from ``source``'s weights (fine-tuned, resumable).

    Parameters
    ----------
    source : fitted CNNClassifier
        A FER+ member; every class of FER2013 must be one of its classes (the output
        layer keeps those rows).
    arrays : dict
        :func:`fer2013_arrays`.
    work : path-like
        Checkpoints (every epoch; a rerun resumes).
    recipe : CNNRecipe or None
        The training settings (default: member ``"a"``'s, with :data:`FINE_TUNE`); the
        network is ``source``'s.
    verbose : int

    Returns
    -------
    CNNClassifier
        Fitted on FER2013's training split less :func:`held_out`, which it watches.
    """
    from .ferplus import MEMBERS

    recipe = recipe or dataclasses.replace(MEMBERS["a"], **FINE_TUNE)
    # one folder per source: a checkpoint fine-tuned from another net is never resumed
    folder = Path(work) / f"from-{source_digest(source)[:12]}"
    return train_on_labels(arrays, folder, recipe, source=source, verbose=verbose)


def source_digest(net) -> str:
    """SHA-1 of a fitted CNN's classes and weights (names the fine-tuning's checkpoint folder).

    Examples
    --------
    >>> from fersk.recipes.ferplus import MEMBERS
    >>> import numpy as np
    >>> net = MEMBERS["a"].classifier(verbose=0).set_params(train_split=None, max_epochs=1)
    >>> X = np.zeros((4, 1, 48, 48), np.uint8)
    >>> len(source_digest(net.fit(X, np.array(["a", "b"] * 2))))
    40
    """
    import hashlib

    digest = hashlib.sha1(repr([str(c) for c in net.classes_]).encode())
    for key, value in sorted(net.module_.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def train_on_labels(
    arrays: dict, work: str | os.PathLike, recipe=None, source=None, verbose: int = 1
):
    """A CNN trained on FER2013's labels, from scratch or from ``source`` (resumable).

    Parameters
    ----------
    arrays : dict
        :func:`fer2013_arrays`.
    work : path-like
        Checkpoints (every epoch; a rerun resumes).
    recipe : CNNRecipe or None
        The settings (default: :data:`SCRATCH`).
    source : fitted CNNClassifier or None
        Start from its weights (see :func:`fine_tune`).
    verbose : int

    Returns
    -------
    CNNClassifier
        Fitted on FER2013's training split less :func:`held_out`, which it watches.
    """
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, y, _ = arrays["train"]
    held = held_out(y)
    recipe = recipe or SCRATCH
    folder = Path(work)
    folder.mkdir(parents=True, exist_ok=True)
    X_fit, y_fit = X[~held], y[~held]
    net = recipe.classifier(None, folder / "checkpoint", verbose)
    net._prepare(X_fit, y_fit)  # the classes, to encode the watched rows
    net.set_params(
        train_split=predefined_split(Dataset(X[held], net._encode(y[held]))),
        warm_start=source is not None,
    )
    if source is not None:
        _start_from(net, source)
    return net.fit(X_fit, y_fit)


def _start_from(net, source) -> None:
    """Initialize ``net`` as ``source``'s network with its weights, the output rows picked by
    class name."""
    if getattr(source, "quantized_", False):
        raise ValueError("the source CNN is quantized: fine-tune its float model")
    missing = sorted(set(map(str, net.classes_)) - set(map(str, source.classes_)))
    if missing:
        raise ValueError(f"the source CNN has no output for {missing}: it cannot be fine-tuned")
    net.set_params(  # the source's network, not the recipe's
        module=source.module,
        **{k: v for k, v in source.get_params().items() if k.startswith("module__")},
    )
    net.initialize()
    state = {k: v.clone() for k, v in source.module_.state_dict().items()}
    rows = [list(map(str, source.classes_)).index(str(c)) for c in net.classes_]
    last = _last_linear(source.module_)
    for key in (f"{last}.weight", f"{last}.bias"):
        state[key] = state[key][rows]
    net.module_.load_state_dict(state)


def landmark_model(random_state: int = 0):
    """The unfitted ``landmarks-fer2013`` pipeline (face crops in, 68 points, distances, MLP).

    Examples
    --------
    >>> [name for name, _ in landmark_model().steps]
    ['landmarks', 'distances', 'subject', 'impute', 'scale', 'clf']
    """
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from ..features.geometry import PairwiseDistance
    from ..features.subject import SubjectNeutralizer
    from ..landmarks.extractor import LandmarkExtractor
    from ..study import default_classifier

    return Pipeline(
        [
            ("landmarks", LandmarkExtractor(68, detector="none")),
            ("distances", PairwiseDistance()),
            (
                "subject",
                SubjectNeutralizer(
                    "neutral", method="recenter", shrinkage=30.0, missing_groups="population"
                ),
            ),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clf", default_classifier(random_state)),
        ]
    )


def fer2013_models(data: Path, work: Path, source, n_jobs: int = 1, say=print) -> dict:
    """Train (or resume) both FER2013 models; returns ``{"models": {...}, "record": {...}}``.

    Parameters
    ----------
    data : Path
        Holds ``fer2013/`` (class folders under ``train/`` and ``test/``).
    work : Path
        Checkpoints (``fer2013-scratch/``, ``fer2013-finetune/``) and the decoded-image
        and landmark cache.
    source : fitted CNNClassifier
        The FER+ member ``cnn-fer2013`` starts from (:func:`fine_tune`).
    n_jobs : int
        Processes for decoding images and finding landmarks.
    say : callable

    Returns
    -------
    dict
        ``models``: ``{"cnn-fer2013": pipeline, "landmarks-fer2013": pipeline}``
        (both take face crops); ``record``: their accuracy on PublicTest, the CNNs
        chosen, their test-time views and epochs; ``test``: FER2013's test split as
        :func:`fer2013_arrays` decoded it.
    """
    from ..landmarks.extractor import LandmarkExtractor
    from .members import build_cnn, choose, epoch_table, train_each

    arrays = fer2013_arrays(data / "fer2013", memory=work / "cache", n_jobs=n_jobs)
    X, y, files = arrays["train"]
    held = held_out(y)
    nets = train_each(
        {
            "scratch": lambda: train_on_labels(arrays, work / "fer2013-scratch"),
            "fine-tuned": lambda: fine_tune(source, arrays, work / "fer2013-finetune"),
        },
        "cnn-fer2013",
        say=say,
    )
    # choices on FER2013's PublicTest images (as FER+'s valid folder, the same images): its
    # training split was the FER+ member's, held-out rows included
    X_test, y_test, test_files = arrays["test"]
    public = fer2013_usage(test_files) == "PublicTest"
    X_pub, y_pub = X_test[public], y_test[public]
    classes = list(nets["scratch"].classes_)
    chosen, scores = choose(nets, {"val": (X_pub, y_pub, None, classes)})
    say(f"cnn-fer2013, FER2013 PublicTest: {scores}; shipping {chosen}")
    cnn = build_cnn([nets[n] for n in chosen])
    # the mirror (every net's tta=True: scored by choose), or 12 views (tta_views)
    views = {"True": scores["+".join(chosen)]["war"]}
    cnn.set_params(**{f"{path}tta": "crops" for path in _net_paths(cnn)})
    views["crops"] = round(100 * float(np.mean(cnn.predict(X_pub[:, 0]) == y_pub)), 2)
    best = "crops" if views["crops"] > views["True"] else True
    cnn.set_params(**{f"{path}tta": best for path in _net_paths(cnn)})
    say(f"cnn-fer2013, FER2013 PublicTest by test-time views: {views}")
    landmarks = landmark_model()
    extractor = LandmarkExtractor(68, detector="none", memory=work / "cache", n_jobs=n_jobs)
    points = extractor.fit_transform(files)
    landmarks[1:].fit(points[~held], y[~held])  # the steps after the (stateless) extractor
    public_points = extractor.transform([f for f, k in zip(test_files, public) if k])
    record = {
        "public_test": {
            **{f"cnn-fer2013 {k}": v["war"] for k, v in scores.items()},
            "landmarks-fer2013": round(
                100 * float(np.mean(landmarks[1:].predict(public_points) == y_pub)), 2
            ),
            "n": int(public.sum()),
        },
        "chosen": chosen,
        "views": views,
        "tta": best,
        "fine_tune": {**FINE_TUNE, "from": "the shipped FER+ member"},
        "history": {name: epoch_table(net) for name, net in nets.items()},
    }
    say(f"FER2013 PublicTest: {record['public_test']}")
    models = {"cnn-fer2013": cnn, "landmarks-fer2013": landmarks}
    return {"models": models, "record": record, "test": arrays["test"]}
