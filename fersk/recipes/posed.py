"""The CNN's output layer relearned on FER+ and on posed faces of known people (CK+48, JAFFE).

FER+ is faces in the wild. A CNN trained on it reads most of CK+48's posed
anger (lowered brows, pressed lips) and contempt as neutral: 59.6% WAR on
CK+48 through ``fersk predict``, against 86.4 on FER+ test. The network's
convolutions describe those faces well enough; its output layer (a linear map
of the 512 numbers the network ends with) was never shown one.

:func:`fit_output_layer` relearns that layer as a multinomial logistic
regression on FER+'s training faces and on posed sets' faces, cropped as
``fersk predict`` crops them, the posed faces weighing a share of the whole:
:data:`POSED_SHARE`, the largest that costs FER+ valid at most
:data:`MAX_VALID_COST` points (:func:`choose_share`). The convolutions, the
size and the speed stay as they were. It is shipped as ``cnn-ferplus-posed``,
for posed photos without person ids; not under the default's calibration to
the person, which gains far less on this layer's answers
(``benchmarks/posed_faces.py``).

:func:`out_of_fold` measures it on people it never saw: each posed set's
people split into :data:`N_FOLDS` folds, each fold's faces predicted by a
layer learned without them (the other sets whole). These are the CK+48 and
JAFFE numbers reported for a model with such a layer, never the faces it
learned from.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.utils import Bunch

from .members import largest_within, nets_of, war_uar_percent

__all__ = [
    "MAX_VALID_COST",
    "N_FOLDS",
    "OUTPUT_C",
    "POSED_SHARE",
    "SHARES",
    "by_person_folds",
    "choose_share",
    "fit_output_layer",
    "layer_inputs",
    "out_of_fold",
    "penultimate",
]

#: The shipped share of the posed faces in the output layer's training weight: what
#: :func:`choose_share` chose (``benchmarks/posed_faces.py``: FER+ valid WAR 87.03 with FER+
#: alone, 86.46 at 0.25, 85.99 at 0.3: 1.04 points, about 33 of 3,191 images, over the budget).
POSED_SHARE = 0.25
#: The posed faces' shares of the output layer's training weight (FER+'s faces the rest) that
#: :func:`choose_share` tries.
SHARES = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3)
#: How many points of WAR on FER+ valid the posed faces may cost, against the layer learned on
#: FER+ alone: :func:`choose_share` takes the largest share within it.
MAX_VALID_COST = 1.0
#: The output layer's inverse regularisation (scikit-learn's ``C``): scikit-learn's default,
#: not tuned (0.3 and 3 were within a point of it on CK+48 and FER+ test in an exploratory
#: run, not kept).
OUTPUT_C = 1.0
#: Person folds of :func:`out_of_fold`.
N_FOLDS = 5


def _output_layer(module):
    """``module``'s output layer: its last ``nn.Linear``."""
    from .fer2013 import _last_linear

    return dict(module.named_modules())[_last_linear(module)]


def penultimate(net, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """What ``net``'s output layer reads, for each image: averaged over the views its ``tta``
    averages (the image and its mirror).

    The layer is learned on these averaged inputs (one row per image) while
    ``predict_proba`` averages each view's probabilities: the two differ a
    little (rarely in the class). Every number reported is the net's own
    ``predict_proba``.

    Parameters
    ----------
    net : fitted CNNClassifier
    X : ndarray of shape (n_images, channels, size, size)
        As the net takes them (``CNNPreprocessor``'s output).
    batch_size : int, default=512

    Returns
    -------
    ndarray of shape (n_images, n_inputs of the output layer)

    Examples
    --------
    >>> import numpy as np
    >>> from fersk.models import load_model
    >>> cnn = load_model("cnn-ferplus")
    >>> penultimate(cnn[-1], cnn[0].transform(np.zeros((2, 48, 48), np.uint8))).shape
    (2, 512)
    """
    import torch

    from ..cnn.estimator import tta_views

    module = net.module_.eval()
    device = next(module.parameters()).device
    seen = []
    hook = _output_layer(module).register_forward_hook(lambda m, i, o: seen.append(i[0]))
    out = []
    try:
        with torch.inference_mode():
            for start in range(0, len(X), batch_size):
                batch = torch.as_tensor(np.asarray(X[start : start + batch_size]), device=device)
                views = tta_views(batch, net.tta)
                seen.clear()
                module(torch.cat(views))
                inputs = seen[0].float().reshape(len(views), len(batch), -1).mean(0)
                out.append(inputs.cpu().numpy())
    finally:
        hook.remove()
    return np.concatenate(out) if out else np.empty((0, _output_layer(module).in_features))


def _weighted(train: tuple, posed: list, share: float) -> tuple:
    """Rows, labels and weights: FER+'s rows weigh 1 each, the posed rows ``share`` of all."""
    F, y = train
    if not posed:
        return F, np.asarray(y), np.ones(len(y))
    F_posed = np.vstack([f for f, _ in posed])
    y_posed = np.concatenate([np.asarray(labels) for _, labels in posed])
    each = share / (1 - share) * len(y) / len(y_posed)
    weights = np.r_[np.ones(len(y)), np.full(len(y_posed), each)]
    return np.vstack([F, F_posed]), np.r_[np.asarray(y), y_posed], weights


def _fit_layers(cnn, features: list, posed: list[list], share: float, C: float):
    """A copy of ``cnn`` whose nets' output layers are relearned (``features[i]``: net i's
    ``(F, y)`` on FER+, ``posed[i]``: its ``(F, y)`` per posed set)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    if not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share!r}")
    out = copy.deepcopy(cnn)
    for net, train, extra in zip(nets_of(out), features, posed):
        F, y, weights = _weighted(train, extra, share)
        missing = sorted(set(map(str, net.classes_)) - set(map(str, y)))
        if missing:
            raise ValueError(f"no training face of the classes {missing}: the layer needs them")
        unknown = sorted(set(map(str, y)) - set(map(str, net.classes_)))
        if unknown:
            raise ValueError(
                f"labels {unknown} are not among the network's classes {list(net.classes_)}"
            )
        lr = LogisticRegression(C=C, max_iter=2000).fit(F, y, sample_weight=weights)
        order = [list(lr.classes_).index(c) for c in net.classes_]
        layer = _output_layer(net.module_)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(lr.coef_[order], dtype=layer.weight.dtype))
            layer.bias.copy_(torch.as_tensor(lr.intercept_[order], dtype=layer.bias.dtype))
    return out


def layer_inputs(cnn, X_train: np.ndarray, y_train, posed: list[Bunch]) -> Bunch:
    """What the output layers of ``cnn`` learn from: computed once, for many fits.

    Parameters
    ----------
    cnn : Pipeline
        A fitted CNN pipeline (:func:`fersk.recipes.members.build_cnn`): each of its nets
        gets its own layer.
    X_train : ndarray of shape (n, 1, size, size)
        FER+'s training images, as the nets take them.
    y_train : array-like of shape (n,)
        Their labels.
    posed : list of Bunch
        Posed sets from :func:`fersk.recipes.calibration.person_faces` (``crops``, ``y``;
        ``groups`` for :func:`out_of_fold`).

    Returns
    -------
    Bunch
        ``train``: per net, ``(features, labels)`` of FER+'s faces; ``posed``: per net, a
        list with each set's ``(features, labels)`` (``inputs.posed[net][set]``); ``sets``:
        ``posed``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops[:3], y=np.array(["anger", "fear", "neutral"]))
    >>> inputs = layer_inputs(cnn, cnn[0].transform(crops), np.array(cnn.classes_), [posed])
    >>> inputs.train[0][0].shape, inputs.posed[0][0][0].shape
    ((8, 512), (3, 512))
    """
    X_train, y_train = np.asarray(X_train), np.asarray(y_train)
    images = [cnn[0].transform(s.crops) for s in posed]
    nets = nets_of(cnn)
    return Bunch(
        train=[(penultimate(net, X_train), y_train) for net in nets],
        posed=[[(penultimate(net, X), np.asarray(s.y)) for X, s in zip(images, posed)]
               for net in nets],
        sets=list(posed),
    )  # fmt: skip


def fit_output_layer(cnn, inputs: Bunch, share: float, *, C: float = OUTPUT_C):
    """A copy of ``cnn`` whose output layer is learned on FER+'s faces and on posed faces.

    Parameters
    ----------
    cnn : Pipeline
        The fitted CNN pipeline; not changed.
    inputs : Bunch
        From :func:`layer_inputs` (for this ``cnn``).
    share : float
        The posed faces' share of the training weight, in [0, 1) (0: FER+ alone).
    C : float, default=OUTPUT_C

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn = load_model("cnn-ferplus")
    >>> crops = reference_inputs()  # 8 faces: here, one per class
    >>> posed = Bunch(crops=crops, y=np.array(cnn.classes_))
    >>> inputs = layer_inputs(cnn, cnn[0].transform(crops), posed.y, [posed])
    >>> refit = fit_output_layer(cnn, inputs, share=0.25)
    >>> refit.predict_proba(crops[:2]).shape
    (2, 8)
    """
    return _fit_layers(cnn, inputs.train, inputs.posed, share, C)


def out_of_fold(
    cnn, inputs: Bunch, share: float, *, C: float = OUTPUT_C,
    n_folds: int = N_FOLDS,
) -> list[np.ndarray]:  # fmt: skip
    """Each posed face's probabilities from an output layer learned without its person.

    For each posed set of ``inputs`` (each needs ``groups``, its person ids), its
    people are split into ``n_folds`` folds (:class:`~sklearn.model_selection.GroupKFold`);
    each fold's faces are predicted by :func:`fit_output_layer` learned on FER+, the other
    folds and the other sets. A person's own faces never reach their answers; a
    calibration measured on these answers (:class:`~fersk.recipes.calibration.Remembered`)
    still learns, for person P, from other people's answers given by layers that saw P.

    Parameters
    ----------
    cnn : Pipeline
        The fitted CNN pipeline; not changed.
    inputs : Bunch
        From :func:`layer_inputs`; its sets need ``groups``.
    share : float
        The posed faces' share of the training weight, in [0, 1).
    C : float, default=OUTPUT_C
    n_folds : int, default=N_FOLDS
        Person folds per set (fewer where a set has fewer people).

    Returns
    -------
    list of ndarray
        Per set, ``(n_faces, n_classes)`` probabilities in ``cnn.classes_`` order.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops, y=np.array(cnn.classes_), groups=np.array(["p", "q"] * 4))
    >>> inputs = layer_inputs(cnn, cnn[0].transform(crops), posed.y, [posed])
    >>> [a.shape for a in out_of_fold(cnn, inputs, 0.25, n_folds=2)]
    [(8, 8)]
    """

    def answer(posed: list, k: int, held: np.ndarray) -> np.ndarray:
        model = _fit_layers(cnn, inputs.train, posed, share, C)
        return model.predict_proba([inputs.sets[k].crops[i] for i in held])

    return by_person_folds(inputs, len(cnn.classes_), answer, n_folds)


def by_person_folds(inputs: Bunch, n_classes: int, answer, n_folds: int = N_FOLDS) -> list:
    """Each posed face answered by a model learned without its person: ``answer(posed, k,
    held)`` learns on ``posed`` (``inputs.posed`` less set ``k``'s ``held`` rows) and answers
    those rows.

    Parameters
    ----------
    inputs : Bunch
        ``sets`` (each with ``y`` and ``groups``) and ``posed`` (per model, per set,
        ``(features, labels)``), as :func:`layer_inputs` returns them.
    n_classes : int
    answer : callable
    n_folds : int, default=N_FOLDS
        Person folds per set (fewer where a set has fewer people).

    Returns
    -------
    list of ndarray
        Per set of ``inputs.sets``, ``(n_faces, n_classes)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> s = Bunch(y=np.array(["a", "b"] * 3), groups=np.repeat(["p", "q", "r"], 2))
    >>> inputs = Bunch(sets=[s], posed=[[(np.zeros((6, 1)), s.y)]])
    >>> rows_learned = lambda posed, k, held: np.full((len(held), 1), len(posed[0][k][1]))
    >>> by_person_folds(inputs, 1, rows_learned)[0].ravel().tolist()  # 2 people of 3 each time
    [4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    """
    from sklearn.model_selection import GroupKFold

    out = []
    for k, s in enumerate(inputs.sets):
        proba = np.full((len(s.y), n_classes), np.nan)
        folds = GroupKFold(min(n_folds, len(set(s.groups))))
        for learn, held in folds.split(s.y, s.y, s.groups):
            posed = [
                [(F[learn], y[learn]) if j == k else (F, y) for j, (F, y) in enumerate(sets)]
                for sets in inputs.posed
            ]
            proba[held] = answer(posed, k, held)
        out.append(proba)
    return out


def choose_share(
    cnn, inputs: Bunch, X_val: np.ndarray, y_val, *, shares=SHARES,
    max_valid_cost: float = MAX_VALID_COST, C: float = OUTPUT_C,
) -> tuple[float, dict]:  # fmt: skip
    """The largest posed share whose layer is within ``max_valid_cost`` points of WAR of the
    layer learned on FER+ alone (the first of ``shares``), on FER+ valid.

    Parameters
    ----------
    cnn : Pipeline
        The fitted CNN pipeline; not changed.
    inputs : Bunch
        From :func:`layer_inputs`.
    X_val : ndarray of shape (n, size, size) or (n, 1, size, size)
        FER+'s validation images.
    y_val : array-like of shape (n,)
    shares : tuple of float, default=SHARES
        The first is the reference (0: FER+ alone).
    max_valid_cost : float, default=MAX_VALID_COST
    C : float, default=OUTPUT_C

    Returns
    -------
    share : float
    scores : dict
        ``{share: {"war", "uar"}}`` on FER+ valid (in %).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops, y=np.array(cnn.classes_))
    >>> X = cnn[0].transform(crops)
    >>> inputs = layer_inputs(cnn, X, posed.y, [posed])
    >>> share, scores = choose_share(cnn, inputs, X[:, 0], posed.y, shares=(0.0, 0.5))
    >>> sorted(scores)
    [0.0, 0.5]
    """
    scores = {
        float(share): war_uar_percent(
            y_val, fit_output_layer(cnn, inputs, share, C=C).predict(np.asarray(X_val))
        )
        for share in shares
    }
    return largest_within(scores, max_valid_cost), scores
