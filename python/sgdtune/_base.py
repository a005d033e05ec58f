"""The shared part of the SGD estimators: parameters, input preparation, the
compiled job a fit runs, and prediction.

Python validates and prepares the inputs (labels, class and sample weights, the
early-stopping split, initial weights); the compiled trainer runs every epoch
with the GIL released.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core
from ._losses import PENALTIES, SCHEDULES

_MAX_SEED = np.iinfo(np.int32).max


@functools.lru_cache(maxsize=1024)
def _seed_of_int(seed):
    return int(np.random.RandomState(seed).randint(_MAX_SEED))


def _seed_of(random_state):
    """The core's shuffle seed: the first draw of ``check_random_state(random_state)``
    (a RandomState instance is advanced, as scikit-learn's SGD advances it)."""
    if isinstance(random_state, Integral):
        return _seed_of_int(int(random_state))  # the same seed for the same int: kept
    return int(check_random_state(random_state).randint(_MAX_SEED))


_PARAM_NAMES: dict = {}  # per estimator class, see _BaseSGD._get_param_names

# As in scikit-learn: on sparse data the intercept moves 100x slower, since it
# is updated by every row while each weight is updated only by its non-zeros.
_SPARSE_INTERCEPT_DECAY = 0.01


class DivergenceError(ValueError):
    """Training produced infinite or NaN weights or predictions."""


def _effective_n_jobs(n_jobs):
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, int(n_jobs))


_fit_threads = threading.local()


@contextlib.contextmanager
def _fits_use_threads(n_jobs):
    """Fits run in this block (on this Python thread) use at least ``n_jobs``
    threads (the innermost such block's), or their own ``n_jobs`` if more: a
    search refits its best model with its own ``n_jobs``, which changes no
    result (a model is the same for any thread count)."""
    before = getattr(_fit_threads, "n", 1)
    _fit_threads.n = _effective_n_jobs(n_jobs)
    try:
        yield
    finally:
        _fit_threads.n = before


@contextlib.contextmanager
def _finite_known(X):
    """Estimators validating ``X`` itself (this very array, already validated
    by the caller) in this block, on this Python thread, skip the check that
    it holds only finite numbers: a search validates X once, not again for
    its folds and its refit (a read of all of X each time)."""
    before = getattr(_fit_threads, "finite", None)
    _fit_threads.finite = X
    try:
        yield
    finally:
        _fit_threads.finite = before


def _run_jobs(X, jobs, n_threads, progress=None):
    """Train compiled jobs on validated X (dense C-contiguous or CSR).

    ``progress(epochs_done, epochs_total)`` is called now and then, and at the end.
    """
    if sp.issparse(X):
        return _core.train_csr(
            X.data, X.indices, X.indptr, X.shape[0], X.shape[1], jobs, n_threads, progress
        )
    return _core.train_dense(X, jobs, n_threads, progress)


def _decision_values(X, coef, intercept, rows=None, n_threads=1):
    """``X[rows] @ coef.T + intercept`` by the core's kernel (all rows when None).

    X is validated (dense C-contiguous or CSR) and coef (n_columns, n_features)
    has X's dtype. Each row's values are summed in a fixed order, so they do not
    depend on which rows are asked for: a search scores a fold through ``rows``
    and gets the numbers the fitted estimator predicts on ``X[rows]``.
    """
    coef = np.ascontiguousarray(coef, dtype=X.dtype).reshape(-1, X.shape[1])
    intercept = np.ascontiguousarray(intercept, dtype=np.float64).reshape(-1)
    if rows is not None:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
    if sp.issparse(X):
        return _core.decision_csr(X.data, X.indices, X.indptr, X.shape[0], X.shape[1], coef,
                                  intercept, rows, n_threads)
    return _core.decision_dense(X, coef, intercept, rows, n_threads)


def _check_sample_weight(sample_weight, n_samples, allow_all_zero=False):
    """Return sample weights as a float64 array of length n_samples."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if isinstance(sample_weight, Real):
        sw = np.full(n_samples, float(sample_weight), dtype=np.float64)
    else:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "biuf":
            raise ValueError(
                f"sample_weight must be numeric, got an array of dtype {sw.dtype}."
            )
        sw = sw.astype(np.float64)
        if sw.ndim != 1:
            raise ValueError(
                f"sample_weight must be 1D array or scalar, got shape {sw.shape}."
            )
        if sw.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight.shape == {sw.shape}, expected ({n_samples},)!"
            )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight must be finite: it contains NaN or infinity.")
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative.")
    if not allow_all_zero and not np.any(sw):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw


class _BaseSGD(BaseEstimator):
    """Parameters, validation and the call into the compiled trainer."""

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads the signature of __init__ on every get_params
        # (so on every clone and set_params); a search makes thousands
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = tuple(super()._get_param_names())
        return list(names)

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    _loss_registry: dict = {}

    def _more_validate_params(self, for_partial_fit=False):
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal': the optimal "
                "schedule's step size is 1 / (alpha * t)."
            )
        if self.learning_rate in ("pa1", "pa2"):
            needed = "hinge" if self._is_classifier else "epsilon_insensitive"
            if self.loss != needed:
                raise ValueError(
                    f"Learning rate '{self.learning_rate}' only works with loss "
                    f"'{needed}'."
                )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if getattr(self, "n_jobs", None) == 0:
            raise ValueError("n_jobs == 0 has no meaning: use n_jobs >= 1, or -1 for all "
                             "cores, or None.")
        class_weight = getattr(self, "class_weight", None)
        if isinstance(class_weight, dict):
            bad = {k: w for k, w in class_weight.items()
                   if not (isinstance(w, Real) and np.isfinite(w) and w >= 0)}
            if bad:
                raise ValueError("class_weight values must be finite non-negative numbers, "
                                 f"got {bad}")

    # -- input preparation -------------------------------------------------

    def _validate_X_y(self, X, y, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=reset,
            y_numeric=not self._is_classifier,
            ensure_all_finite=getattr(_fit_threads, "finite", None) is not X,
        )
        if sp.issparse(X):
            X = X.tocsr() if X.format != "csr" else X
        if X.shape[0] < 1:
            raise ValueError("X has 0 samples: at least one is required.")
        return X, y

    def _fold_weights(self, sample_weight, rows, n_samples, fold):
        """The fitted rows' weights (checked), and the array the core reads.

        The core indexes weights by row of X, so it gets the full-length array;
        both are None for all ones. ``fold``: only ``rows`` of X are fitted.
        """
        allow_zero = self.early_stopping
        if sample_weight is None:
            return None, None  # all ones, never materialised
        if not fold:
            sw = _check_sample_weight(sample_weight, n_samples, allow_all_zero=allow_zero)
            return sw, sw
        full = np.asarray(sample_weight, dtype=np.float64)
        return _check_sample_weight(full[rows], rows.shape[0], allow_all_zero=allow_zero), full

    def _validation_split(self, y, sample_weight, rows, from_fit):
        """Indices into X of the rows to train on and of early stopping's rows.

        ``rows`` are the rows of X being fitted (y and sample_weight are theirs);
        the split is made among them exactly as a fit on ``X[rows]`` makes it.
        ``fit`` (``from_fit``) needs ``batch_size`` rows to train on; a
        ``partial_fit`` chunk may be smaller than a batch (it is one step).
        """
        n = y.shape[0]
        if not self.early_stopping:
            if from_fit:
                self._check_batch_size(n, "")
            return rows, np.empty(0, dtype=np.int64)
        splitter = StratifiedShuffleSplit if self._is_classifier else ShuffleSplit
        cv = splitter(test_size=self.validation_fraction, random_state=self.random_state)
        idx_train, idx_val = next(cv.split(np.zeros((n, 1)), y))
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                f"Splitting {n} samples into a train set and a validation set with "
                f"validation_fraction={self.validation_fraction!r} led to an empty "
                f"set ({idx_train.shape[0]} and {idx_val.shape[0]} samples). Please "
                "either change validation_fraction, increase number of samples, or "
                "disable early_stopping."
            )
        if sample_weight is not None and not np.any(sample_weight[idx_val] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider using "
                "a different random state."
            )
        if from_fit:
            self._check_batch_size(idx_train.shape[0], " after the validation split")
        return rows[np.sort(idx_train)], rows[np.sort(idx_val)]

    def _check_batch_size(self, n_train, after):
        if self.batch_size > n_train:
            raise ValueError(
                f"batch_size={self.batch_size} is larger than the number of training "
                f"samples (n_samples={n_train}{after}): use batch_size <= {n_train} "
                f"(batch_size={n_train} is full-batch gradient descent)."
            )

    def _allocate(self, n_columns, n_features, dtype, coef_init, intercept_init):
        """Initial standard (and averaged) weights, shape (n_columns, n_features)."""
        if coef_init is not None:
            coef = np.array(coef_init, dtype=dtype, order="C", copy=True)
            if n_columns == 1:
                coef = coef.reshape(1, -1)
            if coef.shape != (n_columns, n_features):
                raise ValueError(
                    f"coef_init has shape {np.shape(coef_init)}, expected "
                    f"{(n_columns, n_features) if n_columns > 1 else (n_features,)}."
                )
        else:
            coef = np.zeros((n_columns, n_features), dtype=dtype)
        if intercept_init is not None:
            intercept = np.array(intercept_init, dtype=dtype, copy=True).reshape(-1)
            if intercept.shape != (n_columns,):
                raise ValueError(
                    f"intercept_init has shape {np.shape(intercept_init)}, expected "
                    f"({n_columns},)."
                )
        else:
            intercept = np.zeros(n_columns, dtype=dtype)
        self._standard_coef = coef
        self._standard_intercept = intercept
        if self.average > 0:
            self._average_coef = np.zeros_like(coef)
            self._average_intercept = np.zeros_like(intercept)

    def _continue_or_allocate(self, n_columns, X, coef_init, intercept_init):
        """Allocate weights on a first call, else check and reuse the current ones."""
        n_features = X.shape[1]
        if getattr(self, "coef_", None) is None or coef_init is not None:
            self._allocate(n_columns, n_features, X.dtype, coef_init, intercept_init)
            return
        if n_features != self.coef_.shape[-1]:
            raise ValueError(
                f"Number of features {n_features} does not match previous data "
                f"{self.coef_.shape[-1]}."
            )
        if self.average > 0 and getattr(self, "_average_coef", None) is None:
            # averaging switched on between calls: the earlier iterates are not
            # known, so the average starts from the current weights
            self._average_coef = self._standard_coef.copy()
            self._average_intercept = self._standard_intercept.copy()
        for name in ("_standard_coef", "_standard_intercept", "_average_coef",
                     "_average_intercept"):
            a = getattr(self, name, None)
            if a is not None and a.dtype != X.dtype:
                setattr(self, name, a.astype(X.dtype))

    def _specs(self, columns):
        """Compiled column specs from the estimator's parameters.

        ``columns`` is a list of (target_class, weight_pos, weight_neg).
        """
        specs = []
        l1_ratio = 0.0 if self.l1_ratio is None else float(self.l1_ratio)
        for target, wpos, wneg in columns:
            s = _core.ColumnSpec()
            s.loss = self._loss_registry[self.loss]
            s.epsilon = float(self.epsilon)
            s.penalty = PENALTIES[self.penalty]
            s.alpha = float(self.alpha)
            s.l1_ratio = l1_ratio
            s.schedule = SCHEDULES[self.learning_rate]
            s.eta0 = float(self.eta0)
            s.power_t = float(self.power_t)
            s.weight_pos = float(wpos)
            s.weight_neg = float(wneg)
            s.target_class = int(target)
            s.average = int(self.average)
            specs.append(s)
        return specs

    def _job(self, X, y_codes, sample_weight, columns, max_iter, train_idx, val_idx):
        """The compiled job that trains this estimator's weights (in place)."""
        opt = _core.TrainOptions()
        opt.max_iter = int(max_iter)
        opt.use_tol = self.tol is not None
        opt.tol = float(self.tol) if self.tol is not None else 0.0
        opt.n_iter_no_change = int(self.n_iter_no_change)
        opt.early_stopping = bool(self.early_stopping)
        opt.batch_size = int(self.batch_size)
        opt.shuffle = bool(self.shuffle)
        opt.seed = _seed_of(self.random_state)
        opt.fit_intercept = bool(self.fit_intercept)
        opt.intercept_decay = _SPARSE_INTERCEPT_DECAY if sp.issparse(X) else 1.0
        opt.t_start = float(self.t_)
        # scipy caches this after one O(nnz) check; canonical rows let the L1
        # step of a one-row batch skip looking for repeated columns.
        opt.unique_row_indices = bool(sp.issparse(X) and X.has_canonical_format)
        # the training loss is only needed by the tol criterion and for reports
        opt.compute_objective = bool(
            (self.tol is not None and not self.early_stopping) or self.verbose
        )
        avg = self.average > 0
        return _core.Job(
            y=y_codes,
            sample_weight=sample_weight,
            train_idx=train_idx,
            val_idx=val_idx,
            coef=self._standard_coef,
            intercept=self._standard_intercept,
            avg_coef=self._average_coef if avg else None,
            avg_intercept=self._average_intercept if avg else None,
            specs=self._specs(columns),
            options=opt,
        )

    def _train(self, X, job):
        """Run the estimator's job and take in its results."""
        start = time.perf_counter()
        n_threads = max(_effective_n_jobs(getattr(self, "n_jobs", None)), getattr(_fit_threads, "n", 1))
        (res,) = _run_jobs(X, [job], n_threads)
        self._finish(res, time.perf_counter() - start)

    def _finish(self, res, seconds, share=False):
        """Take in a trained job's results: counters, checks, public weights
        (``share``: ``coef_`` and ``intercept_`` are the trained arrays, not
        copies of them)."""
        if self.verbose:
            for k in range(res["n_iter"].shape[0]):
                last = (
                    f"validation score {res['validation_score'][k]:.6f}"
                    if self.early_stopping
                    else f"objective {res['objective'][k]:.6f}"
                )
                print(
                    f"-- Column {k}: {res['n_iter'][k]} epochs, T: {int(res['t'][k]) - 1}, "
                    f"{last}"
                )
            print(f"Total training time: {seconds:.2f} seconds.")
        if np.any(res["status"] != 0):
            epoch = int(res["diverged_epoch"][res["status"] != 0].min())
            raise DivergenceError(
                f"Floating-point under-/overflow occurred at epoch #{epoch}: the "
                "weights or predictions became infinite or NaN. Scaling input data "
                "with StandardScaler or MinMaxScaler might help, or a smaller eta0 "
                "(with learning_rate='constant', 'invscaling' or 'adaptive')."
            )
        self.n_iter_ = int(res["n_iter"].max())
        self.t_ = float(res["t"].max())
        self._publish_weights(share)

    def _publish_weights(self, share=False):
        if self.average > 0 and self.average <= self.t_ - 1:
            coef, intercept = self._average_coef, self._average_intercept
        else:
            coef, intercept = self._standard_coef, self._standard_intercept
        self.coef_ = coef if share else coef.copy()
        self.intercept_ = intercept if share else intercept.copy()

    def _prepare_warm_start(self, coef_init, intercept_init):
        if self.warm_start and getattr(self, "coef_", None) is not None:
            if coef_init is None:
                coef_init = self._dense_coef()
            if intercept_init is None:
                intercept_init = self.intercept_
        return coef_init, intercept_init

    def _dense_coef(self):
        return self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_

    def _warn_not_converged(self):
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # -- prediction ---------------------------------------------------------

    def _decision(self, X):
        check_is_fitted(self, "coef_")
        coef = self._dense_coef()
        X = validate_data(self, X, accept_sparse="csr", dtype=coef.dtype, order="C",
                          reset=False)
        if sp.issparse(X) and X.format != "csr":
            X = X.tocsr()
        return _decision_values(X, coef, self.intercept_,
                                n_threads=_effective_n_jobs(getattr(self, "n_jobs", None)))

    def densify(self):
        """Convert the coefficient matrix to a dense array (the default format)."""
        check_is_fitted(self, "coef_")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def sparsify(self):
        """Convert the coefficient matrix to scipy.sparse CSR format.

        Worth it for L1-regularised models with many zero weights: predictions
        get faster and the model smaller. Refitting converts it back.
        """
        check_is_fitted(self, "coef_")
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_DOC = """
    loss : str
        The loss; see the class description for the choices.
    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        Regularisation: ``alpha * ((1 - l1_ratio) / 2 * ||w||^2 + l1_ratio *
        ||w||_1)``. L1 uses the cumulative penalty of Tsuruoka et al. (2009), so
        weights reach exactly zero.
    alpha : float, default=1e-4
        Regularisation strength; also sets the 'optimal' learning rate.
    l1_ratio : float in [0, 1] or None, default=0.15
        Share of L1 in the elastic-net penalty.
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data).
    tol : float or None, default=1e-3
        Training stops when the objective (or, with early stopping, the
        validation score) fails to improve by ``tol`` for ``n_iter_no_change``
        epochs in a row. None disables the criterion.
    shuffle : bool, default=True
        Shuffle the rows before each epoch.
    verbose : int, default=0
    epsilon : float, default=0.1
        Width of the insensitive zone of 'huber', 'epsilon_insensitive' and
        'squared_epsilon_insensitive'.
    random_state : int, RandomState instance or None
        Seeds the shuffling and the early-stopping split. The same seed gives
        the same model, whatever ``n_jobs``.
    learning_rate : {'constant', 'optimal', 'invscaling', 'adaptive', 'pa1', 'pa2'}
        Step-size schedule. ``t`` counts weight updates: with ``batch_size=b`` an
        epoch over n rows makes ceil(n / b) updates, each along the batch's mean
        gradient, so 'optimal' and 'invscaling' decay per update, not per row.
    eta0 : float, default=0.01
        Initial step size of 'constant', 'invscaling' and 'adaptive'; the bound of
        the passive-aggressive steps.
    power_t : float
        Exponent of 'invscaling': ``eta = eta0 / t ** power_t``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for classifiers)
        and stop when the validation score stops improving.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=5
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.
    average : bool or int, default=False
        Average the iterates (ASGD) from update ``average`` on (True means 1);
        ``coef_`` is then the average.
    batch_size : int, default=1
        Rows per update. 1 is scikit-learn's per-sample algorithm; the number of
        rows is full-batch gradient descent; values between are mini-batch SGD,
        where each update follows the mean of the batch's (weighted) gradients.
        Clipped to the number of training rows."""


