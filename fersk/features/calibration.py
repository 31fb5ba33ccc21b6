"""Per-person calibration: a classifier's outputs read relative to each person's own baseline.

People's resting faces differ, and a model trained on many people reads a
person's neutral face as sad, or their smile as a grimace, the same way every
time. :class:`PersonCalibratedClassifier` wraps a fitted classifier (the
shipped CNN, say) and reads its log-probabilities ``z`` of a face relative to
the same person's baselines:

* ``neutral``: the mean ``z`` of the person's neutral reference photos (one is
  enough);
* ``mean``: the mean ``z`` of all the person's photos, pulled towards the
  population's mean by ``shrinkage`` pseudo-photos (the study's subject mean;
  a person seen in a single expression keeps part of it).

A small head learned on people with ids turns ``[z - neutral, z - mean, z]``
into the calibrated probabilities; without a neutral reference, the mean
stands in for it. Two heads are built in: ``"classwise"`` (a conditional
logit: each class's score reads only that class's three numbers, 4 weights a
class, held close to the wrapped model's own answer; what the shipped default
uses, as it carries over to people of other datasets) and, with
``head=None``, standardisation and a multinomial logistic regression on all of
them (it can learn a class the model lacks). Rows of a person with neither (too
few photos) -- or without an id -- keep the wrapped classifier's own
probabilities, or get those of a ``plain_head`` that reads ``z`` alone (the
shipped default's, learned on in-the-wild and posed faces), and
:meth:`calibration` says, per row, which happened. Person
ids and reference flags travel as metadata (``groups=``, ``neutral=``), as
subject ids do for :class:`~fersk.SubjectNeutralizer`.

Leakage: the baselines of a person are computed from that person's rows in
the data being predicted (their unlabelled photos and the photos marked as
neutral references), never from labels; the head is trained on other people.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from .._core._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from .._core.pipeline_tools import predict_proba_with
from .subject import check_groups

__all__ = [
    "CALIBRATIONS",
    "FEW_PHOTOS",
    "PersonCalibratedClassifier",
    "floored_log",
    "person_baselines",
    "reference_log_proba",
]

#: What a row's calibration can be: against neutral references, the person's mean, or none.
CALIBRATIONS: tuple[str, ...] = ("neutral", "mean", "none")
#: The default ``few_photos``: in ``fit``, each person is also seen as if only this many of
#: their photos were known (a seeded random draw, their reference kept), so the head learns
#: baselines as a user with a few photos and one neutral selfie gives them.
FEW_PHOTOS: tuple[int, ...] = (1, 2, 4)
#: Log-probabilities are floored here (log 0 is -inf).
MIN_PROBA = 1e-6


def floored_log(proba) -> np.ndarray:
    """``log(proba)`` floored at ``log(MIN_PROBA)``: the ``z`` the calibration reads.

    Examples
    --------
    >>> floored_log([[1.0, 0.0]]).round(2).tolist()
    [[0.0, -13.82]]
    """
    return np.log(np.clip(np.asarray(proba), MIN_PROBA, 1.0))


def _check_neutral(neutral, n_samples: int) -> np.ndarray:
    if neutral is None:
        return np.zeros(n_samples, dtype=bool)
    flags = np.asarray(neutral)
    if flags.shape != (n_samples,) or flags.dtype.kind not in "biu":
        raise ValueError(
            f"neutral must hold one True/False per sample (True: a neutral reference photo of "
            f"its person); got shape {flags.shape} and dtype {flags.dtype} for {n_samples} samples"
        )
    if flags.dtype.kind != "b" and not np.isin(flags, (0, 1)).all():
        raise ValueError("neutral must hold only True/False (or 1/0)")
    return flags.astype(bool)


def person_baselines(
    Z: np.ndarray,
    groups,
    neutral=None,
    *,
    population: np.ndarray,
    shrinkage: float = 2.0,
    min_photos: int = 2,
    baseline: str = "auto",
) -> dict:
    """Each row's person baselines, and how the row can be calibrated.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Features of every row (NaN rows: failed faces, ignored in baselines).
    groups : array-like of shape (n_samples,)
        Person id of each row (None / NaN / "": no id).
    neutral : array-like of bool of shape (n_samples,) or None
        True for a person's neutral reference photos.
    population : ndarray of shape (n_features,)
        The population's mean, towards which person means shrink.
    shrinkage : float, default=2.0
        Pseudo-photos of the population in every person's mean.
    min_photos : int, default=2
        Photos a person needs for a mean baseline (without references).
    baseline : {"auto", "neutral", "mean"}, default="auto"
        ``"auto"``: neutral references where a person has them, else the mean;
        ``"neutral"``: only references (others uncalibrated); ``"mean"``:
        ignore references.

    Returns
    -------
    dict
        ``reference`` and ``mean`` (each ``(n_samples, n_features)``; NaN
        where none), ``calibration`` (``"neutral"``, ``"mean"`` or
        ``"none"`` per row), ``n_references`` and ``n_photos`` per row.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[0.0, 1.0], [2.0, 1.0], [5.0, 5.0]])
    >>> out = person_baselines(Z, ["a", "a", "b"], [True, False, False],
    ...                        population=np.zeros(2), shrinkage=0.0)
    >>> out["calibration"].tolist(), out["reference"][1].tolist(), out["mean"][1].tolist()
    (['neutral', 'neutral', 'none'], [0.0, 1.0], [1.0, 1.0])
    """
    n, width = Z.shape
    ids, missing = check_groups(groups, n)
    flags = _check_neutral(neutral, n)
    if baseline == "mean":
        flags = np.zeros(n, dtype=bool)
    usable = np.isfinite(Z).all(axis=1)
    reference = np.full((n, width), np.nan)
    mean = np.full((n, width), np.nan)
    calibration = np.full(n, "none", dtype=object)
    n_references = np.zeros(n, dtype=np.int64)
    n_photos = np.zeros(n, dtype=np.int64)
    for person in dict.fromkeys(ids[~missing]):
        rows = ids == person
        good = rows & usable
        refs = good & flags
        count = int(good.sum())
        n_photos[rows] = count
        n_references[rows] = int(refs.sum())
        if count:
            mean[rows] = (Z[good].sum(axis=0) + shrinkage * population) / (count + shrinkage)
        if refs.any():
            reference[rows] = Z[refs].mean(axis=0)
            calibration[rows] = "neutral"
        elif baseline != "neutral" and count >= min_photos:
            calibration[rows] = "mean"
    return {
        "reference": reference,
        "mean": mean,
        "calibration": calibration,
        "n_references": n_references,
        "n_photos": n_photos,
    }


class PersonCalibratedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A fitted classifier calibrated to each person: its outputs read against their baselines.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        The model whose outputs are calibrated. Fitted (a clone) on ``X, y``
        by :meth:`fit`, unless wrapped in :class:`sklearn.frozen.FrozenEstimator`
        (a shipped model, say: only the head is then learned).
    head : classifier, "classwise", "offset" or None, default=None
        Learns the calibrated labels from ``[z - reference, z - mean, z]``;
        None is ``StandardScaler`` + ``LogisticRegression(C=C)`` on all of
        them. ``"classwise"`` scores each class ``k`` from its own numbers
        only: ``w_k . (z_k - reference_k, z_k - mean_k, z_k) + b_k``, the
        weights learned across people and drawn towards the wrapped
        classifier's own answer (``w_k = (0, 0, 1)``, ``b_k = 0``) by an L2
        penalty ``1 / (2 C)``: without evidence it answers as the model. It
        can only answer the wrapped classifier's classes, and with 4 weights a
        class it carries over to people unlike those it was learned on.
        ``"offset"`` learns nothing: the probabilities are ``softmax(z -
        reference)`` (the reference, or the mean where there is none), a plain
        output offset.
    baseline : {"auto", "neutral", "mean"}, default="auto"
        Which baselines to use (see :func:`person_baselines`).
    shrinkage : float, default=2.0
        Pseudo-photos of the population in every person's mean.
    min_photos : int, default=2
        Photos a person without references needs to be calibrated.
    C : float, default=1.0
        Inverse regularisation of the learned head (None or "classwise"; for
        "classwise", how far it may move from the wrapped classifier's answer).
    neutral_label : object, default="neutral"
        The label of neutral faces: in ``fit`` without ``neutral=``, each
        person's neutral photos serve in turn as their reference.
    prior : array-like of shape (n_classes,) or None, default=None
        The class frequencies the wrapped classifier was trained on (in the
        order of its ``classes_``); with ``prior_power``, divided out of the
        rows that are not calibrated.
    few_photos : tuple of int, default=(1, 2, 4)
        In ``fit``, each person is also seen as if only this many of their
        photos were known (a seeded draw; their reference kept, not scored):
        baselines from a few photos, as users often have. ``()``: only whole
        people.
    prior_power : float, default=0.0
        Uncalibrated rows get ``p / prior ** prior_power`` (renormalised): a
        post-hoc logit adjustment that trades some accuracy on data as skewed
        as the training data for recall on rare classes. 0 keeps the wrapped
        classifier's answers. Calibrated rows are not changed.
    plain_head : classifier or None, default=None
        Answers the rows that are not calibrated (no id, too few photos) from
        their ``z`` alone; None: the wrapped classifier's own answers. A
        :class:`~sklearn.frozen.FrozenEstimator` is used as it is (learned
        elsewhere: the shipped default's, on faces without person ids); any
        other classifier is fitted (a clone) on ``z`` of ``fit``'s rows and
        labels. Its classes must be among :attr:`classes_`; it replaces
        ``prior_power`` (which must then be 0: the head learns the classes'
        biases). Like ``prior_power`` it is read at prediction:
        ``set_params(plain_head=None)`` on a fitted model switches it off, and a
        frozen head set after ``fit`` is used as it is (another head is fitted
        only by ``fit``). Rows it answers say ``none`` in :meth:`calibration`.
        Its input width must be the number of the wrapped classifier's classes.

    Attributes
    ----------
    estimator_ : classifier
        The fitted wrapped classifier.
    head_ : classifier, "classwise", "offset" or None
        The fitted head; None when ``fit`` had no person to learn from.
    head_coef_, head_intercept_ : ndarray of shape (n_classes, 3) and (n_classes,)
        The ``"classwise"`` head's weights and biases, per class of the
        wrapped classifier (only with that head).
    classes_ : ndarray
        The wrapped classifier's classes, then any class only ``y`` has (a
        head can learn a class the base model lacks, e.g. contempt).
    population_ : ndarray
        The mean log-probabilities over the training rows.
    plain_head_ : classifier or None
        The fitted ``plain_head``.

    See Also
    --------
    fersk.SubjectNeutralizer : The same idea on any features, inside a pipeline.
    fersk.features.calibration.person_baselines : The baselines, per row.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> people = np.repeat(np.arange(8), 6)
    >>> offset = rng.normal(scale=3, size=(8, 2))[people]  # each person's own bias
    >>> y = np.tile(["neutral", "happy", "sad"], 16)
    >>> X = offset + np.where(y == "happy", 1.5, 0)[:, None] * [1, 0] + rng.normal(size=(48, 2))
    >>> from sklearn.frozen import FrozenEstimator
    >>> base = FrozenEstimator(LogisticRegression().fit(X, y))  # kept as fitted
    >>> model = PersonCalibratedClassifier(base).fit(X, y, groups=people)
    >>> model.calibration(groups=people[:3], neutral=[True, False, False])["calibration"]
    ['neutral', 'neutral', 'neutral']
    """

    __metadata_request__fit = {"groups": True, "neutral": True}
    __metadata_request__predict = {"groups": True, "neutral": True}
    __metadata_request__predict_proba = {"groups": True, "neutral": True}
    __metadata_request__score = {"groups": True, "neutral": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["predict_proba"])],
        "head": [
            None,
            StrOptions({"offset", "classwise"}),
            HasMethods(["fit", "predict_proba"]),
        ],
        "baseline": [StrOptions({"auto", "neutral", "mean"})],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "min_photos": [Interval(Integral, 1, None, closed="left")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "neutral_label": "no_validation",
        "prior": [None, "array-like"],
        "prior_power": [Interval(Real, 0, None, closed="left")],
        "few_photos": [tuple, list],
        "plain_head": [None, HasMethods(["fit", "predict_proba"])],
    }

    def __init__(
        self,
        estimator,
        *,
        head=None,
        baseline: str = "auto",
        shrinkage: float = 2.0,
        min_photos: int = 2,
        C: float = 1.0,
        neutral_label="neutral",
        prior=None,
        prior_power: float = 0.0,
        few_photos: tuple[int, ...] = FEW_PHOTOS,
        plain_head=None,
    ) -> None:
        self.estimator = estimator
        self.head = head
        self.baseline = baseline
        self.shrinkage = shrinkage
        self.min_photos = min_photos
        self.C = C
        self.neutral_label = neutral_label
        self.prior = prior
        self.prior_power = prior_power
        self.few_photos = few_photos
        self.plain_head = plain_head

    @property
    def n_features_in_(self) -> int:
        """Of the wrapped classifier (when its input is a feature matrix)."""
        check_is_fitted(self, "population_")
        return self.estimator_.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        tags.input_tags.sparse = get_tags(self.estimator).input_tags.sparse
        return tags

    # ------------------------------------------------------------------ features

    def log_proba(self, X) -> np.ndarray:
        """The wrapped classifier's log-probabilities (floored at ``log 1e-6``): ``z``."""
        estimator = getattr(self, "estimator_", self.estimator)
        return floored_log(predict_proba_with(estimator, X))

    def _features(self, Z: np.ndarray, parts: dict) -> np.ndarray:
        reference = np.where(np.isnan(parts["reference"]), parts["mean"], parts["reference"])
        return np.hstack([Z - reference, Z - parts["mean"], Z])

    def _baselines(self, Z, groups, neutral, population=None):
        return person_baselines(
            Z,
            groups,
            neutral,
            population=self.population_ if population is None else population,
            shrinkage=float(self.shrinkage),
            min_photos=int(self.min_photos),
            baseline=self.baseline,
        )

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, neutral=None):
        """Fit the wrapped classifier (unless frozen), then learn the head on people with ids.

        Parameters
        ----------
        X : input of the wrapped classifier (face images, say)
        y : array-like of shape (n_samples,)
            Labels.
        groups : array-like of shape (n_samples,) or None
            Person ids: calibration is learned across people. Without them (or
            when no person has enough photos) nothing is learned: the model
            then answers as the wrapped classifier, person ids or not.
        neutral : array-like of bool of shape (n_samples,) or None
            Neutral reference photos. None: each person is seen once without
            any, then each person's photos labelled ``neutral_label`` serve
            as references in turn (at most 3 turns; each turn adds a copy of
            only the people it gives a reference to, so that people without
            neutral photos do not weigh more with every turn). Each of these
            is also seen as if only 1, 2 or 4 photos of each person were known
            (``few_photos``, a seeded draw; the reference kept, not scored;
            a person needs more photos than that, and a mean ``min_photos``).

        Returns
        -------
        self
        """
        y = np.asarray(y)
        self.estimator_ = clone(self.estimator).fit(X, y)  # a FrozenEstimator stays as it is
        Z = self.log_proba(X)
        if len(Z) != len(y):
            raise ValueError(f"X gave {len(Z)} rows for {len(y)} labels")
        self.population_ = np.nanmean(Z[np.isfinite(Z).all(axis=1)], axis=0)
        self.classes_ = np.asarray(self.estimator_.classes_)
        self._prior_shift()  # a bad prior, or prior_power with a plain head: an error now
        self.head_ = None
        self.plain_head_ = None
        features, labels = [], []
        if groups is not None:
            ids, _ = check_groups(groups, len(y))
            for turn, flags in enumerate(self._reference_sets(y, ids, neutral)):
                parts = self._baselines(Z, ids, flags)
                keep = (parts["calibration"] != "none") & np.isfinite(Z).all(axis=1)
                if turn:  # a turn of references copies only the people it gives one to
                    keep &= parts["calibration"] == "neutral"
                features.append(self._features(Z, parts)[keep])
                labels.append(y[keep])
                for few, few_labels in self._few_photos(Z, y, ids, flags, first=not turn):
                    features.append(few)
                    labels.append(few_labels)
        if sum(len(f) for f in features):
            self._fit_head(np.vstack(features), np.concatenate(labels))
        if self.plain_head is not None:
            self._fit_plain_head(Z, y)
        return self

    def _fit_head(self, features: np.ndarray, labels: np.ndarray) -> None:
        """Learn the head on the calibrated rows' features (people with ids)."""
        head = self.head
        if head is None:
            head = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=5000))
        if head == "classwise":
            self.head_coef_, self.head_intercept_ = _fit_classwise(
                features, labels, self.classes_, float(self.C)
            )
        if isinstance(head, str):  # "offset": nothing to learn
            self.head_ = head
            return
        self.head_ = clone(head).fit(features, labels)
        base = self.classes_.tolist()
        self.classes_ = np.asarray(base + [c for c in self.head_.classes_ if c not in base])

    def _fit_plain_head(self, Z: np.ndarray, y: np.ndarray) -> None:
        """The head of the rows that are not calibrated: frozen as given, else fitted on ``z``."""
        usable = np.isfinite(Z).all(axis=1)
        self.plain_head_ = clone(self.plain_head).fit(Z[usable], y[usable])  # frozen: as is
        width = getattr(self.plain_head_, "n_features_in_", Z.shape[1])
        if width != Z.shape[1]:
            raise ValueError(
                f"plain_head reads {width} numbers a row; it is given the wrapped classifier's "
                f"{Z.shape[1]} log-probabilities"
            )
        self._plain_columns()  # its classes checked now, not at prediction

    def _plain(self):
        """The plain head in use: ``plain_head`` itself when frozen (set after ``fit``
        too), else the fitted ``plain_head_``; None without one."""
        head = getattr(self, "plain_head", None)  # (None in a model pickled before it)
        if head is None or isinstance(head, FrozenEstimator):
            return head
        if getattr(self, "plain_head_", None) is None:
            raise ValueError("plain_head was set after fit: fit the model again to use it")
        return self.plain_head_

    def _plain_columns(self, head=None) -> list[int]:
        """The column of :attr:`classes_` of each of the plain head's classes."""
        head = self._plain() if head is None else head
        column = {c: i for i, c in enumerate(self.classes_.tolist())}
        classes = np.asarray(head.classes_).tolist()
        unknown = [c for c in classes if c not in column]
        if unknown:
            raise ValueError(
                f"plain_head answers {unknown}, which are not among the classes "
                f"{self.classes_.tolist()}"
            )
        return [column[c] for c in classes]

    def _prior_shift(self) -> np.ndarray:
        """``prior_power * log(prior)`` per class of the wrapped classifier (0 without).

        Checked here too, not only at ``fit``: a loaded model's parameters may be
        set again without refitting it.
        """
        n_classes = len(self.estimator_.classes_)
        power = self.prior_power
        if isinstance(power, bool) or not isinstance(power, Real) or not 0 <= power < np.inf:
            raise ValueError(f"prior_power must be a finite number >= 0, got {power!r}")
        if power and getattr(self, "plain_head", None) is not None:
            raise ValueError(
                "plain_head replaces prior_power (it learns the classes' biases): give one of them"
            )
        if self.prior is None or power == 0:
            return np.zeros(n_classes)
        try:
            prior = np.asarray(self.prior, dtype=float)
        except (TypeError, ValueError):
            prior = np.full(n_classes, np.nan)  # named below, with the value given
        if prior.shape != (n_classes,) or not (np.isfinite(prior).all() and (prior > 0).all()):
            raise ValueError(
                "prior must hold one positive frequency per class of the wrapped classifier "
                f"({n_classes}), got {self.prior!r}"
            )
        prior = prior / prior.max()  # no overflow in the sum, whatever the scale
        return float(power) * np.log(prior / prior.sum())

    def _few_photos(self, Z, y, ids, flags, first: bool):
        """Each person as if only a few of their photos were known (with their reference):
        ``(features, labels)`` per count of ``few_photos``; ``first``: the turn without
        references (every person), else only the people given one."""
        rng = np.random.default_rng(0)  # the same draws every fit
        usable = np.isfinite(Z).all(axis=1)
        for k in self._few_photo_counts():
            rows = []
            for person in dict.fromkeys(ids.tolist()):
                mine = np.flatnonzero((ids == person) & usable)
                refs = mine[flags[mine]]
                if not first and not len(refs):
                    continue
                pool = np.setdiff1d(mine, refs)
                if len(pool) <= k:
                    continue
                rows.append(np.r_[rng.choice(pool, k, replace=False), refs])
            if not rows:
                continue
            sub = np.concatenate(rows)
            parts = self._baselines(Z[sub], ids[sub], flags[sub])
            keep = (parts["calibration"] != "none") & ~flags[sub]
            yield self._features(Z[sub], parts)[keep], y[sub][keep]

    def _few_photo_counts(self) -> list[int]:
        counts = list(self.few_photos)
        if not all(isinstance(k, Integral) and not isinstance(k, bool) and k >= 1 for k in counts):
            raise ValueError(f"few_photos must hold whole numbers >= 1, got {self.few_photos!r}")
        return [int(k) for k in counts]

    def _reference_sets(self, y, ids, neutral):
        """The reference flags the head is trained under: none first, then turns of references."""
        if neutral is not None:
            yield _check_neutral(neutral, len(y))
            return
        yield np.zeros(len(y), dtype=bool)  # no references: mean baselines only
        if self.baseline == "mean":
            return
        candidates = y == self.neutral_label
        for turn in range(3):  # the 1st, 2nd, 3rd neutral photo of each person as its reference
            flags = np.zeros(len(y), dtype=bool)
            for person in dict.fromkeys(ids[candidates]):
                rows = np.flatnonzero(candidates & (ids == person))
                if turn < len(rows):
                    flags[rows[turn]] = True
            if flags.any():
                yield flags

    # ------------------------------------------------------------------ predict

    def calibration(self, groups=None, neutral=None, n_samples: int | None = None) -> dict:
        """How each row would be calibrated: ``person``, ``calibration``, ``n_references``.

        Only ids and flags are needed (and rows with failed faces count as
        photos here, unlike in :meth:`predict_proba`).
        """
        if groups is None:
            n = 0 if n_samples is None else n_samples
            return {"person": [None] * n, "calibration": ["none"] * n, "n_references": [0] * n}
        ids, _ = check_groups(groups, len(groups))
        Z = np.zeros((len(ids), 1))
        parts = self._baselines(Z, ids, neutral, population=np.zeros(1))
        return {
            "person": ids.tolist(),
            "calibration": parts["calibration"].tolist(),
            "n_references": parts["n_references"].tolist(),
        }

    def calibrate(self, Z: np.ndarray, parts: dict) -> np.ndarray:
        """Calibrated probabilities of rows with features ``Z`` and baselines ``parts``.

        For streams that keep their own running baselines (a video track):
        ``parts`` holds ``reference``, ``mean`` and ``calibration`` per row as
        :func:`person_baselines` returns them; rows calibrated ``"none"`` get
        the wrapped classifier's probabilities (or the ``plain_head``'s).
        """
        if not hasattr(self, "population_"):  # (a video calls this for every face)
            check_is_fitted(self, "population_")
        column = {c: i for i, c in enumerate(self.classes_.tolist())}
        out = np.zeros((len(Z), len(self.classes_)))
        shifted = Z - self._prior_shift()
        finite = np.isfinite(shifted).all(axis=1)
        shifted[finite] -= shifted[finite].max(axis=1, keepdims=True)  # a stable softmax
        raw = np.exp(shifted)
        out[:, [column[c] for c in self.estimator_.classes_.tolist()]] = raw / raw.sum(
            axis=1, keepdims=True
        )
        usable = np.isfinite(Z).all(axis=1)
        calibrated = (np.asarray(parts["calibration"]) != "none") & usable
        calibrated &= self.head_ is not None
        plain_rows = usable & ~calibrated
        plain = self._plain() if plain_rows.any() else None
        if plain is not None:
            rows, columns = np.flatnonzero(plain_rows), self._plain_columns(plain)
            out[rows] = 0.0
            out[np.ix_(rows, columns)] = _head_proba(plain, Z[rows])
        if calibrated.any():
            rows = np.flatnonzero(calibrated)
            features = self._features(Z[rows], _take(parts, calibrated))
            if isinstance(self.head_, str):  # built in: scores of the model's own classes
                if self.head_ == "classwise":
                    shift = _classwise_scores(features, self.head_coef_, self.head_intercept_)
                else:  # "offset": softmax(z - reference)
                    shift = features[:, : Z.shape[1]]
                proba, classes = _softmax(shift), self.estimator_.classes_
            else:
                proba, classes = _head_proba(self.head_, features), self.head_.classes_
            out[rows] = 0.0
            out[np.ix_(rows, [column[c] for c in classes.tolist()])] = proba
        out[~usable] = np.nan
        return out

    def predict_proba(self, X, groups=None, neutral=None) -> np.ndarray:
        """Probabilities, calibrated for every row whose person has a baseline.

        Parameters
        ----------
        X : input of the wrapped classifier
        groups : array-like of shape (n_samples,) or None
            Person id of each row; None: no row is calibrated.
        neutral : array-like of bool or None
            Rows that are neutral reference photos of their person.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "population_")
        Z = self.log_proba(X)
        if groups is None:
            parts = {"calibration": np.full(len(Z), "none", dtype=object)}
        else:
            parts = self._baselines(Z, groups, neutral)
        return self.calibrate(Z, parts)

    def predict(self, X, groups=None, neutral=None) -> np.ndarray:
        """The most probable class of each row (calibrated where possible)."""
        proba = self.predict_proba(X, groups, neutral)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None, groups=None, neutral=None) -> float:
        """Accuracy of :meth:`predict` with the same person ids and reference flags.

        ``GridSearchCV`` routes ``groups=`` here (with metadata routing on), so a
        search over ``head`` or ``C`` scores the calibrated answers, not the
        wrapped model's.
        """
        from sklearn.metrics import accuracy_score

        return float(
            accuracy_score(y, self.predict(X, groups, neutral), sample_weight=sample_weight)
        )


def _take(parts: dict, rows: np.ndarray) -> dict:
    return {k: np.asarray(v)[rows] for k, v in parts.items()}


def _classwise_scores(features: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Each class's score from its own numbers: ``features`` is ``[A | B | C]``, one column
    a class in each block; the score of class ``k`` is ``coef[k] . (A_k, B_k, C_k) + b_k``."""
    n_classes = len(intercept)
    blocks = features.reshape(len(features), -1, n_classes)  # (n, 3, n_classes)
    return np.einsum("nbk,kb->nk", blocks, coef) + intercept


def _fit_classwise(features: np.ndarray, y: np.ndarray, classes: np.ndarray, C: float) -> tuple:
    """The ``"classwise"`` head's weights: a conditional logit fitted by L-BFGS.

    Minimises the summed negative log-likelihood plus ``(|coef - anchor|^2 +
    |bias|^2) / (2 C)``, where the anchor weighs each class's own
    log-probability 1 and its differences to the baselines 0: the head starts
    from, and is drawn towards, the wrapped model's answer, so a class the
    people it learned from never show (neutral in CK+) keeps the model's
    reading of it. A label that is not one of ``classes`` is an error: this
    head reads each class from the model's own output for it.
    """
    from scipy.optimize import minimize

    classes = np.asarray(classes)
    known = {c: i for i, c in enumerate(classes.tolist())}
    unknown = sorted({repr(v) for v in y.tolist() if v not in known})
    if unknown:
        raise ValueError(
            f"the classwise head answers only the wrapped classifier's classes "
            f"({classes.tolist()}); the labels {', '.join(unknown[:5])} are not among them "
            "(head=None can learn a class the model lacks)"
        )
    target = np.array([known[v] for v in y.tolist()])
    if len(set(target.tolist())) < 2:
        raise ValueError(
            f"the classwise head needs labels of at least 2 classes; got only {y[0]!r}"
        )
    n, n_classes = len(y), len(classes)
    blocks = features.reshape(n, -1, n_classes)
    n_blocks = blocks.shape[1]
    rows = np.arange(n)

    anchor = np.zeros((n_classes, n_blocks))
    anchor[:, -1] = 1.0  # the model's own log-probability, unchanged

    def loss(theta):
        coef = theta[: n_classes * n_blocks].reshape(n_classes, n_blocks)
        bias = theta[-n_classes:]
        scores = _classwise_scores(features, coef, bias)
        scores -= scores.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scores).sum(axis=1))
        moved = coef - anchor
        penalty = ((moved**2).sum() + (bias**2).sum()) / (2 * C)
        value = (log_norm - scores[rows, target]).sum() + penalty
        grad = np.exp(scores - log_norm[:, None])
        grad[rows, target] -= 1.0  # d(-log p_target) / d score
        grad_coef = np.einsum("nk,nbk->kb", grad, blocks) + moved / C
        return value, np.concatenate([grad_coef.ravel(), grad.sum(axis=0) + bias / C])

    start = np.concatenate([anchor.ravel(), np.zeros(n_classes)])
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 5000})
    if not result.success:
        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(
            f"the classwise head's fit did not converge ({result.message}); try a larger C",
            ConvergenceWarning,
            stacklevel=3,
        )
    coef = result.x[: n_classes * n_blocks].reshape(n_classes, n_blocks)
    return coef, result.x[-n_classes:].copy()


def _head_proba(head, features: np.ndarray) -> np.ndarray:
    """``head.predict_proba(features)``; the default head (a standard scaler and a
    multinomial logistic regression) and a multinomial logistic regression (frozen or not)
    computed directly, without scikit-learn's per-call checks: a video calls it for every
    face of every frame."""
    if isinstance(head, FrozenEstimator):
        head = head.estimator
    if type(head) is LogisticRegression and head.coef_.shape[0] == len(head.classes_) > 2:
        return _softmax(features @ head.coef_.T + head.intercept_)
    steps = getattr(head, "steps", None)
    if steps is not None and len(steps) == 2:
        scaler, logistic = steps[0][1], steps[1][1]
        if (
            type(scaler) is StandardScaler
            and type(logistic) is LogisticRegression
            and scaler.with_mean
            and scaler.with_std
            and logistic.coef_.shape[0] == len(logistic.classes_) > 2
        ):
            scores = ((features - scaler.mean_) / scaler.scale_) @ logistic.coef_.T
            return _softmax(scores + logistic.intercept_)
    return head.predict_proba(features)


def _softmax(scores: np.ndarray) -> np.ndarray:
    proba = np.exp(scores - scores.max(axis=1, keepdims=True))
    return proba / proba.sum(axis=1, keepdims=True)


def reference_log_proba(photos: dict, model, detector: str = "yunet", upsample: int = 1) -> dict:
    """Each person's reference (neutral) photos as ``model``'s log-probabilities.

    The largest face of each photo is cropped as ``fersk predict`` crops it.
    A reference that cannot be read or has no face is an error, named.

    Parameters
    ----------
    photos : dict
        ``{person: [photo, ...]}``, paths or arrays (person None: one unnamed
        person, a video's, say).
    model : PersonCalibratedClassifier
        A fitted calibrator (its ``log_proba`` gives the base model's view).
    detector, upsample
        As in :func:`fersk.landmarks.find_faces`.

    Returns
    -------
    dict
        ``{person: ndarray of shape (n_photos, n_classes)}``.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> from fersk.models import load_model
    >>> model = load_model("calibrated-ferplus")
    >>> reference_log_proba({"eileen": [astronaut()]}, model)["eileen"].shape
    (1, 8)
    """
    from ..io import face_crop

    out = {}
    for person, sources in photos.items():
        crops = []
        for source in sources:
            image, box = reference_face(source, person, detector, upsample)
            crops.append(face_crop(image, box))
        out[person] = model.log_proba(crops)
    return out


def reference_face(source, person=None, detector: str = "yunet", upsample: int = 1) -> tuple:
    """A neutral reference photo's image and largest face box; an error naming it if it has none.

    Examples
    --------
    >>> import numpy as np
    >>> reference_face(np.zeros((60, 60), np.uint8), "ann")
    Traceback (most recent call last):
    ...
    ValueError: the neutral photo array(shape=(60, 60), dtype=uint8) of person 'ann' has no \
face that can be found
    """
    from ..landmarks.detection import find_in_photo

    name, image, found, error = find_in_photo(source, detector, upsample)
    if error or not len(found[0]):
        whose = "" if person is None else f" of person {person!r}"
        raise ValueError(
            f"the neutral photo {name}{whose} "
            + (f"cannot be read ({error})" if error else "has no face that can be found")
        )
    return image, found[0][0]
