"""attnsel from Python: attention-based feature selection as scikit-learn estimators.

    from attnsel import SequentialAttentionSelector
    sel = SequentialAttentionSelector(n_features_to_select=10, random_state=0).fit(X, y)
    sel.selected_features_     # ordered: the first was chosen first
    X_small = sel.transform(X)

The estimators wrap attnsel's C++ selectors (the `_attnsel` extension module): fitting runs in
C++ with the GIL released, on float32 data when X is float32 and float64 otherwise.
`selective_attention`, `selective_attention_backward` and the KV caches expose the Selective
Attention kernels over numpy arrays of shape (tokens, heads * head_dim). There is one cache class
per eviction policy (`KVCacheSelective`, `KVCacheH2O`, `KVCacheStreamingLLM`, `KVCacheTOVA`,
`KVCacheKNorm`; a `32` suffix for float32), whose `policy` attribute is the C++ policy's name; the
policy's option is a keyword argument (`threshold`, `recent`, `sinks`).
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from . import _attnsel
from ._attnsel import (KVCacheH2O, KVCacheH2O32, KVCacheKNorm, KVCacheKNorm32, KVCacheSelective, KVCacheSelective32,
                       KVCacheStreamingLLM, KVCacheStreamingLLM32, KVCacheTOVA, KVCacheTOVA32,
                       selective_attention, selective_attention_backward)

__version__ = _attnsel.__version__


def max_threads():
    """How many OpenMP threads attnsel's parallel paths may use now (OMP_NUM_THREADS,
    threadpoolctl.threadpool_limits and omp_set_num_threads all change it)."""
    return _attnsel.max_threads()


def simd_arch():
    """The instruction set attnsel's kernels run on in this module ("avx512bw", "avx2", "sse2", ...)."""
    return _attnsel.simd_arch()

__all__ = [
    "SequentialAttentionSelector", "max_threads", "simd_arch", "selective_attention", "selective_attention_backward",
    "KVCacheSelective", "KVCacheSelective32", "KVCacheH2O", "KVCacheH2O32", "KVCacheStreamingLLM",
    "KVCacheStreamingLLM32", "KVCacheTOVA", "KVCacheTOVA32", "KVCacheKNorm", "KVCacheKNorm32",
]

_METHODS = ("sequential_attention", "omp", "lasso", "lly", "sequential_lasso", "group_lasso", "gradient_omp")
_LINEAR = ("omp", "lasso")


class SequentialAttentionSelector(SelectorMixin, BaseEstimator):
    """Greedy forward feature selection by Sequential Attention (Yasuda et al., ICLR 2023).

    Parameters
    ----------
    n_features_to_select : int or float or None, default=None
        Features to select: an int, a fraction of the features (float in (0, 1]; int(n_features *
        fraction) of them, as scikit-learn's SequentialFeatureSelector rounds), or None for half of
        them. A bool is an error.
    method : str, default="sequential_attention"
        "sequential_attention", or a baseline: "omp", "lasso" (LARS path), "lly",
        "sequential_lasso", "group_lasso", "gradient_omp".
    task : {"auto", "classification", "regression"}, default="auto"
        "auto": as scikit-learn's ``type_of_target`` says — classification for class labels
        ("binary" or "multiclass": integers, strings, booleans, and integral floats such as
        ``y.astype(float)``), regression for a "continuous" y. An integer-valued regression target
        (e.g. load_diabetes) needs task="regression".
        OMP and the Lasso path are linear-regression methods (two classes are fitted as 0/1).
    hidden : tuple of int, default=(67,)
        Hidden widths of the network (network methods).
    epochs, batch_size, learning_rate, per_round, input_batch_norm, group_lasso_scale
        Training settings of the network methods (see docs/sequential-attention.md).
    random_state : int, RandomState or None, default=None
        Seed of the initialisation and the shuffles; an int gives the same selection every time.

    Attributes
    ----------
    selected_features_ : ndarray of int
        The selected column indices in the order they were chosen.
    support_ : ndarray of bool
        Mask of the selected columns.
    selected_feature_names_ : ndarray of str
        Their names (the pandas column names, else x0, x1, ...), in the same order.
    losses_ : ndarray
        Training loss per epoch (network methods) or residual norm per round (OMP).
    n_features_in_, feature_names_in_ : as in scikit-learn.
    classes_ : labels, for classification.
    """

    def __init__(self, n_features_to_select=None, *, method="sequential_attention", task="auto", hidden=(67,),
                 epochs=60, batch_size=64, learning_rate=5e-3, per_round=1, input_batch_norm=True,
                 group_lasso_scale=0.01, random_state=None):
        self.n_features_to_select = n_features_to_select
        self.method = method
        self.task = task
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.per_round = per_round
        self.input_batch_norm = input_batch_norm
        self.group_lasso_scale = group_lasso_scale
        self.random_state = random_state

    def _k(self, d):
        k = self.n_features_to_select
        if k is None:
            return max(1, d // 2)
        if isinstance(k, (bool, np.bool_)):
            raise ValueError(f"n_features_to_select must be None, an int in [1, {d}] or a fraction in (0, 1], got {k!r}")
        if isinstance(k, numbers.Integral):
            if not 1 <= k <= d:
                raise ValueError(f"n_features_to_select is {k}, expected a value in [1, {d}] (the number of features)")
            return int(k)
        if isinstance(k, numbers.Real) and 0 < k <= 1:
            n = int(d * k)  # scikit-learn's SequentialFeatureSelector rounds a fraction so
            if n < 1:
                raise ValueError(f"n_features_to_select is {k!r}: int({d} * {k!r}) = 0 features of {d}; "
                                 f"expected a fraction that keeps at least one")
            return n
        raise ValueError(f"n_features_to_select must be None, an int in [1, {d}] or a fraction in (0, 1], got {k!r}")

    def fit(self, X, y):
        """Selects features of X (n_samples, n_features) for the target y (n_samples,)."""
        X, y = self._validate_data(X, y, dtype=[np.float64, np.float32], ensure_min_samples=2, y_numeric=False)
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {self.method!r}")
        if self.task not in ("auto", "classification", "regression"):
            raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {self.task!r}")
        kind = type_of_target(y)
        task = self.task
        if task == "auto":
            # scikit-learn's type_of_target decides: labels of any dtype, integral floats included
            # (y.astype(float)), are classes; a continuous target is a regression target. An
            # integer-valued regression target (load_diabetes' 25.0 ... 346.0) needs task="regression".
            if kind not in ("binary", "multiclass", "continuous"):
                raise ValueError(f"Unknown label type: y is a {kind!r} target; expected class labels or one "
                                 f"continuous target")
            task = "classification" if kind in ("binary", "multiclass") else "regression"
        if hasattr(self, "classes_"):
            del self.classes_  # a refit on a regression target has none
        if task == "classification":
            if kind not in ("binary", "multiclass"):
                raise ValueError(f"task='classification' needs class labels in y, got a {kind} target")
            encoder = LabelEncoder().fit(y)
            self.classes_ = encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError("y holds 1 class; classification needs at least 2")
            target = encoder.transform(y).astype(X.dtype)
        else:
            target = np.asarray(y, dtype=X.dtype)
            if not np.all(np.isfinite(target)):
                raise ValueError("y holds NaN or infinity")
        if self.method in _LINEAR:
            if task == "classification" and len(self.classes_) > 2:
                raise ValueError(f"method {self.method!r} is a linear-regression method: use a regression target or two classes")
            task = "regression"
        args = _attnsel.SelectArgs()
        args.method = self.method
        args.k = self._k(X.shape[1])
        args.task = task
        args.hidden = [int(h) for h in self.hidden]
        args.epochs = int(self.epochs)
        args.batch_size = int(self.batch_size)
        args.per_round = int(self.per_round)
        args.learning_rate = float(self.learning_rate)
        args.input_batch_norm = bool(self.input_batch_norm)
        args.group_lasso_scale = float(self.group_lasso_scale)
        args.seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        out = _attnsel.select(np.ascontiguousarray(X), np.ascontiguousarray(target), args)
        self.selected_features_ = np.asarray(out["features"], dtype=np.intp)
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[self.selected_features_] = True
        self.losses_ = np.asarray(out["losses"])
        self.method_ = out["method"]
        self.features_from_training_ = int(out["features_from_training"])
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.asarray([f"x{i}" for i in range(X.shape[1])], dtype=object)
        self.selected_feature_names_ = names[self.selected_features_]
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def _more_tags(self):
        return {"requires_y": True}

