"""The default's plain head: how it answers a face with no person baseline (no person id).

The default, ``calibrated-ferplus``, reads a person's faces against their own
baselines. A face without one (a photo alone, no ``--person``) was answered as
``cnn-ferplus`` answers it: 59.6% WAR on CK+48 through ``fersk predict``, whose
posed anger and contempt it reads as neutral.

:func:`fit_plain_head` learns, for those faces, a multinomial logistic
regression on the network's 8 log-probabilities ``z`` (the numbers the
calibration reads too): on FER+'s training faces and on the posed faces of
CK+48 and JAFFE, the posed faces weighing a share of the whole
(:func:`fersk.recipes.posed.layer_inputs`' sets, the same weighting as the
posed output layer's). It is
:class:`~fersk.features.calibration.PersonCalibratedClassifier`'s
``plain_head``: faces calibrated to their person are not changed. The share is
the largest of :data:`PLAIN_SHARES` whose FER+ valid WAR is within
:data:`MAX_PLAIN_COST` points of the network's own (:func:`choose_plain_share`):
the default must not read faces in the wild worse than its member.

:func:`plain_out_of_fold` measures it on people it never saw: each posed set's
people in :data:`~fersk.recipes.posed.N_FOLDS` folds, each fold answered by a
head learned without them. Those are the CK+48 and JAFFE numbers reported for
the default.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn.utils import Bunch

from ..features.calibration import floored_log
from .members import largest_within, war_uar_percent
from .posed import N_FOLDS, _weighted, by_person_folds

__all__ = [
    "MAX_PLAIN_COST",
    "PLAIN_C",
    "PLAIN_SHARES",
    "choose_plain_share",
    "fit_plain_head",
    "plain_inputs",
    "plain_out_of_fold",
]

#: The posed faces' shares of the plain head's training weight that :func:`choose_plain_share`
#: tries (0, the reference: no head, the network's own answers).
PLAIN_SHARES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
#: How many points of WAR on FER+ valid the plain head may cost against the network's own
#: answers: about 3 of FER+ valid's 3,191 faces (its noise, not a trade).
MAX_PLAIN_COST = 0.1
#: The plain head's inverse regularisation: scikit-learn's default (0.01 and 100 were within
#: 0.3 points of it on FER+ valid in an exploratory run, not kept).
PLAIN_C = 1.0


def _z(cnn, X) -> np.ndarray:
    """``cnn``'s log-probabilities, floored as the calibration floors them."""
    return floored_log(cnn.predict_proba(X))


def plain_inputs(cnn, X_train, y_train, posed: list[Bunch], z_posed=None) -> Bunch:
    """What the plain head learns from: ``z`` of FER+'s training faces and of posed faces.

    Parameters
    ----------
    cnn : Pipeline
        The fitted CNN pipeline (face crops in).
    X_train : sequence of ndarray
        FER+'s training faces (crops, or 48 px images as the pipeline takes them).
    y_train : array-like of shape (n,)
    posed : list of Bunch
        Posed sets from :func:`fersk.recipes.calibration.person_faces` (``crops``, ``y``,
        ``groups``).
    z_posed : list of ndarray or None
        Their ``z`` when already known; None: computed.

    Returns
    -------
    Bunch
        ``train``: ``[(z, labels)]``; ``posed``: ``[[(z, labels) per set]]``; ``sets``:
        ``posed`` (the shapes :func:`fersk.recipes.posed.layer_inputs` gives, for one model).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops[:3], y=np.array(["anger", "fear", "neutral"]))
    >>> inputs = plain_inputs(cnn, crops, np.array(cnn.classes_), [posed])
    >>> inputs.train[0][0].shape, inputs.posed[0][0][0].shape
    ((8, 8), (3, 8))
    """
    if z_posed is None:
        z_posed = [_z(cnn, s.crops) for s in posed]
    return Bunch(
        train=[(_z(cnn, X_train), np.asarray(y_train))],
        posed=[[(z, np.asarray(s.y)) for z, s in zip(z_posed, posed)]],
        sets=list(posed),
    )


def _fit(train: tuple, posed: list, share: float, C: float):
    from sklearn.linear_model import LogisticRegression

    Z, y, weights = _weighted(train, posed, share)
    return LogisticRegression(C=C, max_iter=3000).fit(Z, y, sample_weight=weights)


def fit_plain_head(inputs: Bunch, share: float, *, C: float = PLAIN_C):
    """The plain head: a logistic regression of ``z``, the posed faces weighing ``share``.

    Parameters
    ----------
    inputs : Bunch
        From :func:`plain_inputs`.
    share : float
        The posed faces' share of the training weight, in [0, 1).
    C : float, default=PLAIN_C

    Returns
    -------
    LogisticRegression
        Fitted on ``z``: a ``plain_head`` for
        :class:`~fersk.features.calibration.PersonCalibratedClassifier` (frozen).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops, y=np.array(cnn.classes_))
    >>> head = fit_plain_head(plain_inputs(cnn, crops, posed.y, [posed]), share=0.1)
    >>> head.coef_.shape
    (8, 8)
    """
    if not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share!r}")
    return _fit(inputs.train[0], inputs.posed[0], share, C)


def _in_order(head, Z: np.ndarray, classes) -> np.ndarray:
    proba = head.predict_proba(Z)
    return proba[:, [list(head.classes_).index(c) for c in classes]]


def plain_out_of_fold(
    cnn, inputs: Bunch, share: float, *, C: float = PLAIN_C, n_folds: int = N_FOLDS
) -> list[np.ndarray]:
    """Each posed face's answer by a plain head learned without its person.

    Parameters
    ----------
    cnn : Pipeline
        The network (its classes give the columns' order).
    inputs : Bunch
        From :func:`plain_inputs`; its sets need ``groups``.
    share : float
        The posed faces' share; 0: the network's own answers.
    C : float, default=PLAIN_C
    n_folds : int, default=N_FOLDS

    Returns
    -------
    list of ndarray
        Per set, ``(n_faces, n_classes)`` in ``cnn.classes_`` order.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops, y=np.array(cnn.classes_), groups=np.array(["p", "q"] * 4))
    >>> inputs = plain_inputs(cnn, crops, posed.y, [posed])
    >>> [a.shape for a in plain_out_of_fold(cnn, inputs, 0.1, n_folds=2)]
    [(8, 8)]
    """
    classes = list(cnn.classes_)
    if not share:
        return [softmax(z, axis=1) for z, _ in inputs.posed[0]]

    def answer(posed: list, k: int, held: np.ndarray) -> np.ndarray:
        head = _fit(inputs.train[0], posed[0], share, C)
        return _in_order(head, inputs.posed[0][k][0][held], classes)

    return by_person_folds(inputs, len(classes), answer, n_folds)


def choose_plain_share(
    cnn, inputs: Bunch, X_val, y_val, *, shares=PLAIN_SHARES,
    max_cost: float = MAX_PLAIN_COST, C: float = PLAIN_C,
) -> tuple[float, dict]:  # fmt: skip
    """The largest share whose plain head is within ``max_cost`` points of WAR of the
    network's own answers (the first of ``shares``, 0: no head) on FER+ valid.

    Parameters
    ----------
    cnn : Pipeline
    inputs : Bunch
        From :func:`plain_inputs`.
    X_val : sequence of ndarray
        FER+'s validation faces.
    y_val : array-like of shape (n,)
    shares : tuple of float, default=PLAIN_SHARES
    max_cost : float, default=MAX_PLAIN_COST
    C : float, default=PLAIN_C

    Returns
    -------
    share : float
        0.0: no head.
    scores : dict
        ``{share: {"war", "uar"}}`` on FER+ valid (in %).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from fersk.models import load_model, reference_inputs
    >>> cnn, crops = load_model("cnn-ferplus"), reference_inputs()
    >>> posed = Bunch(crops=crops, y=np.array(cnn.classes_))
    >>> inputs = plain_inputs(cnn, crops, posed.y, [posed])
    >>> share, scores = choose_plain_share(cnn, inputs, crops, posed.y, shares=(0.0, 0.5))
    >>> sorted(scores)
    [0.0, 0.5]
    """
    Z_val, classes = _z(cnn, X_val), np.asarray(cnn.classes_)
    scores = {}
    for share in shares:
        if share:
            answers = fit_plain_head(inputs, share, C=C).predict(Z_val)
        else:
            answers = classes[Z_val.argmax(axis=1)]
        scores[float(share)] = war_uar_percent(y_val, answers)
    return largest_within(scores, max_cost), scores
