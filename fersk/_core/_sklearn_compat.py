"""Every private scikit-learn name fersk uses, imported in this one module.

fersk supports scikit-learn 1.9 and newer; CI runs the whole suite against the
oldest (``.ci/oldest-constraints.txt``) and the newest release. (1.6 to 1.8
fail where fersk needs them: ``MLPClassifier(early_stopping=True)`` cannot fit
string class names there, which ``fersk train`` models use.)
scikit-learn's private helpers (``_fit_context``, the parameter-constraint
classes, metadata-routing internals) may move between releases; when one does,
this module is the only place to change. Nothing else in fersk imports a
``sklearn`` name that starts with ``_`` or lives in a ``_``-module.
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.metadata_routing import _raise_for_params, _routing_enabled
from sklearn.utils.validation import _assert_all_finite, _check_feature_names_in

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_assert_all_finite",
    "_check_feature_names_in",
    "_fit_context",
    "_raise_for_params",
    "_routing_enabled",
    "_safe_indexing",
]
