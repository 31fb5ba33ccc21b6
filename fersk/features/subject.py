"""SubjectNeutralizer: read each person's features relative to their own neutral face.

People's resting faces differ (wide-set eyes, a low brow, a mouth that turns
down), and a classifier trained on absolute geometry partly learns *who* a
face is instead of *what it expresses*. Subtracting a per-subject baseline
removes that offset.

Subject ids reach the transformer through scikit-learn's metadata routing,
as ``groups`` -- the same array that drives ``GroupKFold``:

>>> import sklearn
>>> sklearn.set_config(enable_metadata_routing=True)  # doctest: +SKIP
>>> search = GridSearchCV(pipe, grid, cv=GroupKFold(5), scoring=GROUP_SCORING)  # doctest: +SKIP
>>> search.fit(X, y, groups=subjects)  # doctest: +SKIP
>>> search.predict(X_new, groups=new_subjects)  # doctest: +SKIP

Leakage
-------
Inside cross-validation every baseline is computed from data the model is
allowed to see: ``fit`` only sees the training fold (its labels are used only
by ``baseline="neutral"``), and ``transform`` never sees a label. The
``"mean"``/``"median"``/``"onset"`` baselines of a test subject are computed
from that subject's *unlabelled* test samples (transductive, like per-speaker
normalisation in speech recognition: at deployment you collect some of a
person's frames first). ``"neutral"`` needs labels, so it only exists for
subjects seen in training; an unseen subject gets the population baseline
(or an error, ``unseen="error"``).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core._sklearn_compat import Interval, StrOptions, _fit_context
from .._core.layout import ClipLayout, onset_mean

__all__ = ["DIVIDE_FLOOR", "SubjectNeutralizer", "check_groups"]

#: ``method="divide"``: the smallest baseline magnitude, as a fraction of the
#: population baseline of the same feature.
DIVIDE_FLOOR = 0.1

_NO_GROUPS = (
    "SubjectNeutralizer.{method} needs subject ids: pass groups=<one id per sample>. In a "
    "Pipeline or GridSearchCV, enable metadata routing first "
    "(sklearn.set_config(enable_metadata_routing=True)); to score test folds inside "
    "GridSearchCV/cross_validate use scoring=fersk.evaluation.metrics.GROUP_SCORING, which "
    "passes the "
    "fold's ids to predict. Or set missing_groups='population' to use the training "
    "population's baseline for samples without ids."
)


def check_groups(groups, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate subject ids; return ``(ids, missing)``.

    ``ids`` is an object array of the ids (``None`` where missing), ``missing``
    a boolean mask of samples without an id (``None``, NaN, ``pd.NA`` or an
    empty string).

    Examples
    --------
    >>> ids, missing = check_groups(["s1", None, "s1"], 3)
    >>> missing.tolist()
    [False, True, False]
    """
    if isinstance(groups, (str, bytes)):
        raise TypeError(f"groups must be a sequence of subject ids, got the string {groups!r}")
    if isinstance(groups, (set, frozenset, dict)) or (
        hasattr(groups, "keys") and not hasattr(groups, "iloc")
    ):
        raise TypeError(
            f"groups is a {type(groups).__name__}, which has no order: ids could not be matched "
            "to samples. Pass a list or array with one subject id per sample"
        )
    ids = np.asarray(list(groups) if not hasattr(groups, "__array__") else groups, dtype=object)
    if ids.ndim != 1:
        ids = ids.reshape(-1) if ids.ndim == 2 and 1 in ids.shape else ids
    if ids.ndim != 1 or len(ids) != n_samples:
        raise ValueError(
            f"groups must have one subject id per sample: got shape {np.shape(groups)} for "
            f"{n_samples} samples"
        )
    missing = np.array([_is_missing(g) for g in ids], dtype=bool)
    ids = ids.copy()
    ids[missing] = None
    return ids, missing


def _is_missing(value) -> bool:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class SubjectNeutralizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Express each sample's features relative to its subject's baseline.

    ``transform(X, groups=subject_ids)`` returns ``X - b_s`` (or ``X / b_s``,
    or ``(X - b_s) / sd_s``) where ``b_s`` is the baseline of the sample's
    subject ``s``. Subject ids come through scikit-learn metadata routing:
    ``fit`` and ``transform`` request ``groups`` by default, so with
    ``sklearn.set_config(enable_metadata_routing=True)``,
    ``pipe.fit(X, y, groups=ids)``, ``pipe.predict(X, groups=ids)`` and
    ``GridSearchCV(pipe, cv=GroupKFold()).fit(X, y, groups=ids)`` reach it
    (score the test folds with :data:`fersk.evaluation.metrics.GROUP_SCORING`, which
    passes each fold's ids on to ``predict``). Without routing,
    ``pipe.fit(X, y, <step>__groups=ids)`` works for fitting.

    Parameters
    ----------
    baseline : {"mean", "median", "neutral", "onset"}, default="mean"
        What a subject's baseline is:

        - ``"mean"`` / ``"median"``: of the subject's samples in the data
          being transformed (label-free, so legitimate at test time). A
          subject with fewer than ``min_samples`` usable samples there uses
          its baseline from ``fit`` if it was seen, else the population's.
        - ``"neutral"``: mean of the subject's samples labelled
          ``neutral_label`` at ``fit``; only subjects seen in training with
          a neutral sample have one.
        - ``"onset"``: X holds clips in the frame-major layout
          ``(n, n_frames * F)``; the baseline is the mean of the first
          ``onset_frames`` valid frames of the subject's clips (of the clip
          itself when its id is missing or ``groups`` is not given), and is
          removed from every frame.
    method : {"subtract", "divide", "standardize", "recenter"}, default="subtract"
        ``X - b``; ``X / b`` (for positive features such as distances; a
        baseline smaller than :data:`DIVIDE_FLOOR` times the population's is
        raised to it, so a distance that is zero for one person -- lips
        closed -- gives a large but finite ratio); ``(X - b) / sd`` with the standard
        deviation of the same samples (the population's where a subject has
        fewer than two samples or zero spread); or ``X - b + p`` with ``p`` the
        population baseline: the subject's offset from the population is
        removed and the features stay in the population's units, so a
        classifier trained without subject ids (FER2013: every sample gets
        ``p``, nothing changes) can be conditioned online on a person it
        meets (their resting face mapped onto the population's). The shipped
        landmark model uses ``baseline="neutral", method="recenter"``.
    neutral_label : object, default="neutral"
        The value of ``y`` that marks neutral samples, for
        ``baseline="neutral"`` (e.g. the integer code of neutral when ``y``
        is encoded).
    n_frames : int or None, default=None
        Frames per clip, for ``baseline="onset"``.
    onset_frames : int, default=1
        Frames at the start of a clip averaged into the onset baseline.
    shrinkage : float, default=0.0
        Pseudo-count of population samples mixed into every subject's
        baseline: a subject with ``n`` samples gets
        ``(n * b_s + shrinkage * b_pop) / (n + shrinkage)`` (and likewise for
        the variance). A subject seen in few samples -- or showing a single
        expression, whose mean is that expression rather than a resting
        face -- then keeps part of its expression signal.
    min_samples : int, default=2
        Usable samples a subject needs in the transformed data for a
        ``"mean"``/``"median"`` baseline of its own there.
    unseen : {"population", "error"}, default="population"
        A sample whose subject has no baseline (unseen at fit for
        ``"neutral"``; too few samples and unseen for ``"mean"``/``"median"``;
        a missing id): use the training population's baseline, or raise an
        error naming the sample.
    missing_groups : {"error", "population"}, default="error"
        What happens when ``groups`` is not given at all (except for
        ``baseline="onset"``, where each clip then uses its own onset):
        raise an error explaining how to pass ids, or treat every sample as
        having no id.

    Attributes
    ----------
    subjects_ : ndarray of object
        Subjects with a baseline learned at ``fit`` (and ``partial_fit``), in
        order of first appearance.
    baselines_ : ndarray of shape (n_subjects, n_baseline_features)
        Their baselines (per frame feature for ``"onset"``).
    scales_ : ndarray of shape (n_subjects, n_baseline_features)
        Their standard deviations (used by ``method="standardize"``).
    counts_ : ndarray of shape (n_subjects,)
        Samples behind each baseline (``shrinkage`` weighs them at use).
    population_baseline_ : ndarray of shape (n_baseline_features,)
        The baseline of samples without a subject baseline: the same
        statistic over all training samples (all neutral ones for
        ``"neutral"``, all clip onsets for ``"onset"``).
    population_scale_ : ndarray of shape (n_baseline_features,)
        Training standard deviation (1 where it is 0 or undefined).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.

    See Also
    --------
    fersk.evaluation.metrics.GroupScorer : Scores test folds, subject ids passed to ``predict``.
    fersk.evaluation.crossval.cross_val_war_uar : Cross-validation passing subject ids to
        ``fit`` and ``predict``.
    fersk.study.make_clip_pipeline : A clip pipeline with this step (``subject=True``).
    sklearn.model_selection.GroupKFold : Subject-independent folds from the same ids.

    Examples
    --------
    >>> import numpy as np
    >>> from fersk import SubjectNeutralizer
    >>> X = np.array([[1.0, 10.0], [3.0, 10.0], [11.0, 0.0], [13.0, 2.0]])
    >>> ids = ["ann", "ann", "bob", "bob"]
    >>> SubjectNeutralizer().fit_transform(X, groups=ids)
    array([[-1.,  0.],
           [ 1.,  0.],
           [-1., -1.],
           [ 1.,  1.]])

    With labels, the baseline can be each subject's neutral face:

    >>> y = ["neutral", "happy", "neutral", "happy"]
    >>> SubjectNeutralizer("neutral").fit_transform(X, y, groups=ids)
    array([[0., 0.],
           [2., 0.],
           [0., 0.],
           [2., 2.]])
    """

    __metadata_request__fit = {"groups": True}
    __metadata_request__partial_fit = {"groups": True}
    __metadata_request__transform = {"groups": True}

    _parameter_constraints: dict = {
        "baseline": [StrOptions({"mean", "median", "neutral", "onset"})],
        "method": [StrOptions({"subtract", "divide", "standardize", "recenter"})],
        "neutral_label": "no_validation",
        "n_frames": [None, Interval(Integral, 1, None, closed="left")],
        "onset_frames": [Interval(Integral, 1, None, closed="left")],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "min_samples": [Interval(Integral, 1, None, closed="left")],
        "unseen": [StrOptions({"population", "error"})],
        "missing_groups": [StrOptions({"error", "population"})],
    }

    def __init__(
        self,
        baseline: str = "mean",
        *,
        method: str = "subtract",
        neutral_label="neutral",
        n_frames: int | None = None,
        onset_frames: int = 1,
        shrinkage: float = 0.0,
        min_samples: int = 2,
        unseen: str = "population",
        missing_groups: str = "error",
    ) -> None:
        self.baseline = baseline
        self.method = method
        self.neutral_label = neutral_label
        self.n_frames = n_frames
        self.onset_frames = onset_frames
        self.shrinkage = shrinkage
        self.min_samples = min_samples
        self.unseen = unseen
        self.missing_groups = missing_groups

    # ------------------------------------------------------------------ helpers

    def _ids(self, groups, n_samples: int, method: str) -> tuple[np.ndarray, np.ndarray]:
        if groups is None:
            if self.missing_groups == "error" and self.baseline != "onset":
                raise ValueError(_NO_GROUPS.format(method=method))
            return np.full(n_samples, None, dtype=object), np.ones(n_samples, dtype=bool)
        return check_groups(groups, n_samples)

    def _selection(self, y, n_samples: int, method: str) -> np.ndarray:
        """The samples that feed the baselines: all, or the neutral ones for ``"neutral"``."""
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != n_samples:
                raise ValueError(
                    f"SubjectNeutralizer.{method}: y has shape {y.shape} for {n_samples} "
                    "samples; give one label per sample"
                )
        if self.baseline != "neutral":
            return np.ones(n_samples, dtype=bool)
        if y is None:
            raise ValueError(f"baseline='neutral' needs y in {method}, to find neutral samples")
        return y == self.neutral_label

    def _units(self, X: np.ndarray) -> np.ndarray:
        """The rows the baseline statistics run over: samples, or clip onsets."""
        if self.baseline != "onset":
            return X
        frames = self._frames(X)
        return onset_mean(frames, np.all(np.isfinite(frames), axis=2), self.onset_frames)

    def _frames(self, X: np.ndarray) -> np.ndarray:
        """Clip rows as ``(n, T, features per frame)``, by ``n_frames`` or the column names."""
        names = getattr(self, "feature_names_in_", None)
        if self.n_frames is None:
            layout = None if names is None else ClipLayout.from_feature_names(names)
            if layout is None:
                raise ValueError(
                    "baseline='onset' needs n_frames (the number of frames per clip) or "
                    "a DataFrame with the clip column names t0_x0, t0_y0, ..."
                )
            return layout.frames(X)
        if X.shape[1] % self.n_frames:
            raise ValueError(
                f"baseline='onset': X has {X.shape[1]} columns, not a multiple of "
                f"n_frames={self.n_frames} (expected the frame-major clip layout "
                "(n, n_frames * n_features_per_frame))"
            )
        return X.reshape(len(X), self.n_frames, -1)

    def _statistic(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Centre, spread and number of usable rows of a block of samples."""
        usable = rows[~np.all(np.isnan(rows), axis=1)]
        if len(usable) == 0:
            nan = np.full(rows.shape[1], np.nan)
            return nan, nan, 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            centre = (
                np.nanmedian(usable, axis=0)
                if self.baseline == "median"
                else np.nanmean(usable, axis=0)
            )
            spread = np.nanstd(usable, axis=0) if len(usable) > 1 else np.full(len(centre), np.nan)
        return centre, spread, len(usable)

    def _shrink(self, centre, spread, count) -> tuple[np.ndarray, np.ndarray]:
        """Pull a subject's statistics towards the population's (pseudo-count shrinkage)."""
        k = float(self.shrinkage)
        if k == 0:
            return centre, spread
        w = count / (count + k)
        centre = w * centre + (1 - w) * self.population_baseline_
        variance = w * np.nan_to_num(spread, nan=0.0) ** 2 + (1 - w) * self.population_scale_**2
        return centre, np.sqrt(variance)

    # -------------------------------------------------------------------- API

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Learn the population baseline and the training subjects' baselines.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN rows (failed samples) are ignored.
        y : array-like of shape (n_samples,), optional
            Labels; only used by ``baseline="neutral"``.
        groups : array-like of shape (n_samples,), optional
            Subject id of each sample (see ``missing_groups``).

        Returns
        -------
        self
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        ids, missing = self._ids(groups, len(X), "fit")
        units = self._units(X)
        select = self._selection(y, len(X), "fit")
        if not select.any():
            raise ValueError(
                f"baseline='neutral': no sample of y equals neutral_label="
                f"{self.neutral_label!r}; labels present: {np.unique(np.asarray(y)).tolist()[:10]}"
            )
        centre, spread, _ = self._statistic(units[select])
        if np.all(np.isnan(centre)):
            raise ValueError("SubjectNeutralizer.fit: no usable sample (every row is NaN)")
        self.population_baseline_ = centre
        self.population_scale_ = _safe_scale(spread)
        width = units.shape[1]
        self.subjects_ = np.array([], dtype=object)
        self.baselines_ = np.empty((0, width))
        self.scales_ = np.empty((0, width))
        self.counts_ = np.empty(0, dtype=np.int64)
        self._add_samples(units[select], ids[select], missing[select])
        return self

    def _add_samples(self, units, ids, missing) -> None:
        """Merge samples into the subjects' stored statistics (running mean and variance)."""
        subjects = list(self.subjects_)
        baselines, scales, counts = list(self.baselines_), list(self.scales_), list(self.counts_)
        index = {s: i for i, s in enumerate(subjects)}
        for subject in _unique(ids[~missing]):
            centre, spread, count = self._statistic(units[ids == subject])
            if not count:
                continue
            if subject not in index:
                index[subject] = len(subjects)
                subjects.append(subject)
                baselines.append(centre)
                scales.append(spread)
                counts.append(count)
                continue
            k = index[subject]
            m1, m2 = baselines[k], centre
            # Per column: a side whose mean is NaN (no finite value yet) has no weight.
            n1 = np.where(np.isnan(m1), 0.0, counts[k])
            n2 = np.where(np.isnan(m2), 0.0, count)
            m1, m2 = np.nan_to_num(m1), np.nan_to_num(m2)
            v1 = np.nan_to_num(scales[k], nan=0.0) ** 2
            v2 = np.nan_to_num(spread, nan=0.0) ** 2
            with np.errstate(invalid="ignore", divide="ignore"):
                n = n1 + n2
                mean = np.where(n > 0, (n1 * m1 + n2 * m2) / n, np.nan)
                variance = (n1 * v1 + n2 * v2 + n1 * n2 / n * (m1 - m2) ** 2) / n
            baselines[k], scales[k] = mean, np.sqrt(variance)
            counts[k] = counts[k] + count
        width = units.shape[1]
        self.subjects_ = np.array(subjects, dtype=object)
        self.baselines_ = np.array(baselines, dtype=float).reshape(len(subjects), width)
        self.scales_ = np.array(scales, dtype=float).reshape(len(subjects), width)
        self.counts_ = np.array(counts, dtype=np.int64)

    def partial_fit(self, X, y=None, groups=None):
        """Add samples to their subjects' baselines (online); fit on the first call.

        For a live stream: feed each person's resting frames as they come.
        Baselines become running means (also for ``baseline="median"``) and
        spreads running standard deviations; the population baseline stays
        as the first fit learned it. With ``baseline="neutral"`` only samples
        whose ``y`` is ``neutral_label`` count.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
        groups : array-like of shape (n_samples,)
            Subject ids.

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> sn = SubjectNeutralizer().fit([[0.0], [10.0]], groups=["a", "b"])
        >>> _ = sn.partial_fit([[2.0], [4.0]], groups=["a", "a"])
        >>> sn.baselines_[0].tolist(), sn.counts_.tolist()  # a: mean of 0, 2, 4
        ([2.0], [3, 1])
        """
        if not hasattr(self, "population_baseline_"):
            return self.fit(X, y, groups=groups)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        ids, missing = self._ids(groups, len(X), "partial_fit")
        units = self._units(X)
        select = self._selection(y, len(X), "partial_fit")
        self._add_samples(units[select], ids[select], missing[select])
        return self

    def fit_transform(self, X, y=None, groups=None):
        """Fit, then transform the same samples with their ids.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
        groups : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        return self.fit(X, y, groups=groups).transform(X, groups=groups)

    def transform(self, X, groups=None):
        """Remove each sample's subject baseline.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional
            Subject id of each sample.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            NaN rows stay NaN.
        """
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        ids, missing = self._ids(groups, len(X), "transform")
        units = self._units(X)
        centres = np.empty_like(units)
        scales = np.empty_like(units)
        known = {s: i for i, s in enumerate(self.subjects_)}
        per_sample = self.baseline == "onset"
        has_own = np.zeros(len(X), dtype=bool)
        if self.baseline in ("mean", "median", "onset"):
            for subject in _unique(ids[~missing]):
                rows = np.flatnonzero(ids == subject)
                centre, spread, count = self._statistic(units[rows])
                if count >= (1 if per_sample else self.min_samples):
                    centres[rows], scales[rows] = self._shrink(centre, spread, count)
                    has_own[rows] = True
        for i in np.flatnonzero(~has_own):
            if per_sample and np.isfinite(units[i]).any():
                centres[i], scales[i] = units[i], np.nan  # the clip's own onset
            elif not missing[i] and ids[i] in known:
                k = known[ids[i]]
                centres[i], scales[i] = self._shrink(
                    self.baselines_[k], self.scales_[k], self.counts_[k]
                )
            elif self.unseen == "error":
                what = "has no subject id" if missing[i] else f"of subject {ids[i]!r}"
                raise ValueError(
                    f"sample {i} {what} has no baseline (baseline={self.baseline!r}: "
                    + (
                        "the subject had no neutral sample at fit"
                        if self.baseline == "neutral"
                        else f"fewer than min_samples={self.min_samples} usable samples and "
                        "not seen at fit"
                    )
                    + "); set unseen='population' to use the population baseline"
                )
            else:
                centres[i], scales[i] = self.population_baseline_, self.population_scale_
        scales = np.where(np.isfinite(scales) & (scales > 0), scales, self.population_scale_)
        if per_sample:
            reps = X.shape[1] // units.shape[1]
            centres, scales = np.tile(centres, reps), np.tile(scales, reps)
        return self._apply(X, centres, scales)

    def _apply(self, X, centres, scales) -> np.ndarray:
        if self.method == "recenter":
            reps = X.shape[1] // len(self.population_baseline_)
            return X - centres + np.tile(self.population_baseline_, reps)
        if self.method == "subtract":
            return X - centres
        if self.method == "standardize":
            return (X - centres) / scales
        # A subject's baseline counts as at least DIVIDE_FLOOR of the population's,
        # so a feature that is ~0 for one person (a closed mouth) cannot explode.
        population = np.abs(self.population_baseline_)
        floor = np.tile(np.maximum(DIVIDE_FLOOR * population, 1e-12), X.shape[1] // len(population))
        sign = np.where(centres < 0, -1.0, 1.0)
        return X / (sign * np.maximum(np.abs(centres), floor))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _unique(ids: np.ndarray) -> list:
    """Distinct ids in first-appearance order (ids may mix types)."""
    return list(dict.fromkeys(ids.tolist()))


def _safe_scale(spread: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
