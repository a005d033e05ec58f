"""Fit many estimators on many folds in one call of the compiled core.

Each (estimator, fold) pair becomes a job of the core: the fold's rows as
indices into one shared, read-only X. Jobs that share a fold and the options of
a block (batch size, shuffle seed, epochs, stopping rule, validation rows) are
merged into one block, so every mini-batch is read once for all of them, and
the core spreads the blocks over its threads. A fitted estimator is bit for bit
the one ``clone(est).fit(X[train], y[train])`` gives.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np
from sklearn.base import clone

from . import _core
from ._base import _check_sample_weight, _decision_values, _effective_n_jobs, _run_jobs
from ._estimators import SGDClassifier, SGDRegressor

_OPTION_FIELDS = (
    "max_iter", "tol", "use_tol", "n_iter_no_change", "early_stopping", "batch_size",
    "shuffle", "seed", "intercept_decay", "fit_intercept", "t_start",
    "unique_row_indices", "compute_objective",
)


def _block_key(fold, job):
    """Jobs with equal keys can train as one block."""
    opt = job.options
    return (
        fold,
        tuple(getattr(opt, name) for name in _OPTION_FIELDS),
        job.val_idx.tobytes(),
        job.coef.dtype.str,
        # the fold's shared label and weight arrays (one per fold, see fold_cache)
        id(job.y),
        id(job.sample_weight),
    )


def _fold_data(probe, X, y, folds, sample_weight):
    """Validated X, y and sample_weight, each fold's training rows (int64
    indices) and the feature names, for FoldFits."""
    probe = clone(probe)
    X, y = probe._validate_X_y(X, y, reset=True)
    n = X.shape[0]
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, n, allow_all_zero=True)
    fold_rows = []
    for f, (train, _) in enumerate(folds):
        rows = np.asarray(train)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        if rows.ndim != 1 or rows.size == 0 or rows.min() < 0 or rows.max() >= n:
            raise ValueError(f"fold {f} has no valid training rows in [0, {n}).")
        fold_rows.append(rows)
    return X, y, sample_weight, fold_rows, getattr(probe, "feature_names_in_", None)


def _unfitted_copy(estimator):
    """A copy of a validated, unfitted estimator for one fold: what ``clone``
    gives, without checking its parameters again. Parameters are shared (fitting
    does not change them), except a RandomState, which fitting advances: each
    fold gets its own copy, as each clone would."""
    e = copy.copy(estimator)
    if isinstance(e.random_state, np.random.RandomState):
        e.random_state = copy.deepcopy(e.random_state)
    return e


def _merge(jobs, resumable=False):
    """One job whose columns are the given jobs' columns, in order."""
    first = jobs[0]
    averaging = any(j.avg_coef is not None for j in jobs)
    return _core.Job(
        y=first.y,
        sample_weight=first.sample_weight,
        train_idx=first.train_idx,
        val_idx=first.val_idx,
        coef=np.vstack([j.coef for j in jobs]),
        intercept=np.concatenate([j.intercept for j in jobs]),
        avg_coef=(
            np.vstack([j.coef * 0 if j.avg_coef is None else j.avg_coef for j in jobs])
            if averaging else None
        ),
        avg_intercept=(
            np.concatenate(
                [j.intercept * 0 if j.avg_intercept is None else j.avg_intercept for j in jobs]
            )
            if averaging else None
        ),
        specs=[s for j in jobs for s in j.specs],
        options=first.options,
        resumable=resumable,
    )


class FoldFits:
    """Clones of estimators fitted on the training rows of folds, in blocks.

    Built from a list of sgdtune estimators (all of one class) and folds; each
    (estimator, fold) pair is a job of the core on one shared, read-only X, and
    jobs that can share a block are merged. ``train`` runs them all.

    With ``resumable=True`` the blocks keep their trainer state between calls:
    ``train(epochs)`` trains every live pair that many more epochs, continuing
    exactly where the last call stopped (bit for bit the numbers of one longer
    call), and ``stop(i)`` takes estimator i out of its blocks (pruning), so its
    columns cost no more updates.

    ``fitted[i][f]`` is estimator i fitted on fold f, or with ``errors='return'``
    the exception its preparation or training raised.
    """

    def __init__(self, estimators, X, y, folds, *, sample_weight=None, n_jobs=None,
                 errors="raise", resumable=False, cache=None):
        if errors not in ("raise", "return"):
            raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
        kinds = {type(e) for e in estimators}
        if len(kinds) != 1 or not issubclass(kinds.pop(), (SGDClassifier, SGDRegressor)):
            raise TypeError("estimators must all be sgdtune SGDClassifier or all SGDRegressor")
        self.errors, self.n_jobs, self.resumable = errors, n_jobs, resumable
        # ``cache``: a dict the caller keeps between FoldFits of the same X, y,
        # folds and sample_weight (a search's batches), so that the data are
        # validated and each fold's labels and weights made once
        cache = {} if cache is None else cache
        if "data" not in cache:
            cache["data"] = _fold_data(estimators[0], X, y, folds, sample_weight)
        X, y, sample_weight, fold_rows, feature_names = cache["data"]
        self.X = X
        # each fold's labels and weights, made once; "all_folds" holds what
        # every fold shares (the label codes of all rows)
        if "folds" not in cache:
            shared = {}
            cache["folds"] = [{"all_folds": shared} for _ in fold_rows]
        fold_caches = cache["folds"]

        self.fitted, jobs = [], []
        for i, est in enumerate(estimators):
            try:  # the parameters are checked once for all folds
                base = clone(est)
                base._validate_params()
                base._more_validate_params()
            except Exception as exc:
                if errors == "raise":
                    raise
                self.fitted.append([exc] * len(fold_rows))
                continue
            row = []
            for f, rows in enumerate(fold_rows):
                e = _unfitted_copy(base)
                try:
                    e.t_ = 1.0
                    if isinstance(e, SGDClassifier):
                        _, job = e._prepare(X, y, e.max_iter, None, sample_weight, None, None,
                                            from_fit=True, rows=rows, fold_cache=fold_caches[f])
                    else:
                        _, job = e._prepare(X, y, e.max_iter, sample_weight, None, None, True,
                                            rows=rows, fold_cache=fold_caches[f],
                                            from_fit=True)
                except Exception as exc:
                    if errors == "raise":
                        raise
                    row.append(exc)
                    continue
                if feature_names is not None:
                    e.feature_names_in_ = feature_names
                row.append(e)
                jobs.append((i, f, e, job, _block_key(f, job)))
            self.fitted.append(row)

        groups: dict = {}
        for item in jobs:
            groups.setdefault(item[4], []).append(item)
        # blocks: (merged job, [(i, f, estimator, first column, end column)])
        self._blocks = []
        for members in groups.values():
            merged = _merge([m[3] for m in members], resumable)
            spans, first = [], 0
            for i, f, e, job, _ in members:
                last = first + job.coef.shape[0]
                # the estimator's weights become views of its rows of the
                # merged job, which the core trains in place: one copy of a
                # search's weights, not two (the estimator's own arrays, still
                # untrained, go with its job)
                e._standard_coef = merged.coef[first:last]
                e._standard_intercept = merged.intercept[first:last]
                if job.avg_coef is not None:
                    e._average_coef = merged.avg_coef[first:last]
                    e._average_intercept = merged.avg_intercept[first:last]
                spans.append((i, f, e, first, last))
                first = last
            self._blocks.append((merged, spans))
        self._stopped = set()
        self.seconds = 0.0

    def _live(self, spans):
        return any(i not in self._stopped and not isinstance(self.fitted[i][f], Exception)
                   for i, f, *_ in spans)

    def train(self, epochs=None, progress=None):
        """Train every live pair: to its own ``max_iter``, or (resumable) ``epochs`` more.

        ``progress(epochs_done, epochs_total)`` is called now and then while the
        core trains, and once at the end. Returns self.
        """
        if self.resumable and epochs is None:
            raise ValueError("a resumable FoldFits trains a given number of epochs")
        blocks = [b for b in self._blocks if self._live(b[1])]
        merged = [b[0] for b in blocks]
        if epochs is not None:
            for job in merged:
                opt = job.options
                opt.max_iter = int(epochs)
                job.options = opt
        start = time.perf_counter()
        results = (_run_jobs(self.X, merged, _effective_n_jobs(self.n_jobs), progress)
                   if merged else [])
        seconds = time.perf_counter() - start
        self.seconds += seconds
        for (_, spans), res in zip(blocks, results, strict=True):
            for i, f, e, first, last in spans:
                if i in self._stopped or isinstance(self.fitted[i][f], Exception):
                    continue
                try:
                    # (its weights are views of the block's: trained in place;
                    # coef_ and intercept_ share them too)
                    e._finish({k: v[first:last] for k, v in res.items()}, seconds, share=True)
                except Exception as exc:
                    if self.errors == "raise":
                        raise
                    self.fitted[i][f] = exc
        return self

    def converged(self, i):
        """Whether estimator i has stopped on its own on every fold (its
        stopping criterion, or divergence): more epochs would not change it."""
        if not self.resumable:
            raise ValueError("only resumable fits keep the state of their columns")
        for block, spans in self._blocks:
            if block.epochs_done == 0:
                continue
            active = block.active
            for j, _, _, first, last in spans:
                if j == i and any(active[first:last]):
                    return False
        return True

    def stop(self, i):
        """Stop training estimator i on every fold (resumable fits only)."""
        if not self.resumable:
            raise ValueError("only resumable fits can stop an estimator part way")
        self._stopped.add(i)
        for block, spans in self._blocks:
            for j, _, _, first, last in spans:
                if j == i and block.epochs_done > 0:
                    for k in range(first, last):
                        block.deactivate(k)


def fit_folds(
    estimators: Sequence[SGDClassifier | SGDRegressor],
    X,
    y,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    sample_weight=None,
    n_jobs: int | None = None,
    errors: str = "raise",
    progress=None,
):
    """Fit a clone of every estimator on the training rows of every fold.

    Parameters
    ----------
    estimators : sequence of SGDClassifier or SGDRegressor, all of one class
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    folds : sequence of (train, test) index arrays; only train is used here
    sample_weight : array-like of shape (n_samples,), default=None
    n_jobs : int, default=None
        Threads of the core (-1: all cores). Results do not depend on it.
    errors : {'raise', 'return'}, default='raise'
        What a fit that fails (bad parameters, divergence) does: raise, or put
        its exception in place of the fitted estimator while the others go on.
    progress : callable, default=None
        ``progress(epochs_done, epochs_total)``, called every 0.2 s or so while
        the core trains, and once at the end.

    Returns
    -------
    fitted : list of lists; ``fitted[i][f]`` is estimator i fitted on fold f
        (or, with ``errors='return'``, the exception its fit raised)
    """
    fits = FoldFits(estimators, X, y, folds, sample_weight=sample_weight, n_jobs=n_jobs,
                    errors=errors)
    return fits.train(progress=progress).fitted


def fold_decisions(X, estimators, rows, n_jobs=None):
    """Decision values of fitted estimators on rows of validated X, in one pass.

    The estimators' weights are stacked into one (columns x features) matrix,
    so every row is read once for all of them. Returns one array per estimator,
    shape (len(rows), its number of columns): the numbers its own
    ``_decision(X[rows])`` gives, bit for bit.
    """
    coefs = [np.asarray(e._dense_coef(), dtype=X.dtype).reshape(-1, X.shape[1])
             for e in estimators]
    if not coefs:
        return []
    intercepts = [np.asarray(e.intercept_, dtype=np.float64).reshape(-1) for e in estimators]
    scores = _decision_values(X, np.vstack(coefs), np.concatenate(intercepts), rows,
                              _effective_n_jobs(n_jobs))
    out, first = [], 0
    for c in coefs:
        out.append(scores[:, first:first + c.shape[0]])
        first += c.shape[0]
    return out
