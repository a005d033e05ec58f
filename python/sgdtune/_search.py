"""Search classes whose trials train inside sgdtune's core.

GridSearchCV and RandomizedSearchCV are scikit-learn's classes with the same
parameters, attributes and ``cv_results_``; only ``fit`` differs when the
estimator is an sgdtune SGD estimator. Then every (candidate, fold) fit is a job
of the compiled core, on one shared copy of X with the folds as index arrays;
trials that share a fold and block options train as one block, and all of it
runs in the core's threads with the GIL released. The fitted models of a fold
are scored from their decision values, computed for all of them in one pass
over the fold's rows (no copy of the fold; see ``_scoring``).

Any other estimator (a pipeline, another model) takes scikit-learn's own path,
run by a pool of threads (unless a joblib backend such as dask is configured);
with ``storage=`` its trials run under this module's driver, each by
scikit-learn's fit-and-score, in threads.

Every search may prune: ``pruner="halving"`` or ``"hyperband"`` trains each
batch of candidates in rungs of epochs and keeps training only the best
1/factor of each rung, from where they stopped.

``cv_results_`` holds scikit-learn's keys and values plus ``status`` ('ok',
'diverged', 'error' or 'pruned'), ``error`` (the first failed fold's reason,
else '') and, with a pruner, ``n_epochs`` (epochs each candidate trained) and
``learning_curve`` (its [epochs, mean CV score] after every epoch).
``fit_time`` of a (candidate, fold) pair is its share of the core calls that
trained it, since trials share their passes over the data.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn import model_selection as _ms
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_method_params, _num_samples, check_is_fitted

from ._base import DivergenceError, _finite_known, _fits_use_threads
from ._engine import FoldFits
from ._estimators import SGDClassifier, SGDRegressor
from ._scoring import error_scores, mean_score, score_fold
from ._space import Space
from ._storage import TrialStorage, data_fingerprint, params_key
from ._strategies import EvolutionStrategy, GPStrategy, TPEStrategy

try:  # scikit-learn's own helpers, so that cv_results_ is built as it builds it
    from sklearn.model_selection._validation import (
        _insert_error_scores,
        _score,
        _warn_or_raise_about_fit_failures,
    )
except ImportError:  # pragma: no cover - an older or newer scikit-learn
    _score = None


class _Progress:
    """A search's progress in trials: a tqdm bar (trials done of the total, best
    score so far, time left) when tqdm is installed and stderr is a terminal,
    else a line on stderr at most every second and at the end. Inside a batch,
    the core's count of block-epochs moves the bar between trials."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.total = None
        self.done = 0
        self.best = np.nan
        self._bar = None
        self._last = 0.0
        self._start = time.perf_counter()
        if enabled and sys.stderr.isatty():
            try:
                import tqdm

                self._bar = tqdm.tqdm(total=1, unit="trial", desc="sgdtune", leave=True)
            except ImportError:
                pass

    def core_callback(self, batch, lo=0.0, hi=1.0):
        """A progress callback for the core while it trains the part [lo, hi) of a
        batch of `batch` trials."""
        if not self.enabled:
            return None

        def report(epochs_done, epochs_total):
            frac = min(1.0, epochs_done / epochs_total) if epochs_total else 1.0
            self._show(self.done + batch * (lo + (hi - lo) * frac), final=False)

        return report

    def batch_done(self, n, best):
        if not self.enabled:
            return
        self.done += n
        if np.isfinite(best) and not (best <= self.best):
            self.best = best
        self._show(self.done, final=False)

    def close(self):
        if self.enabled:
            self.total = self.done  # a budget may end early (time, callbacks, space)
            self._show(self.done, final=True)
            if self._bar is not None:
                self._bar.close()

    def _show(self, done, final):
        total = max(self.total or 0, self.done, 1)
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = round(done, 2)
            if np.isfinite(self.best):
                self._bar.set_postfix(best=f"{self.best:.4f}", refresh=False)
            self._bar.refresh()
            return
        now = time.perf_counter()
        if not final and now - self._last < 1.0:
            return
        self._last = now
        elapsed = now - self._start
        left = elapsed / done * (total - done) if 0 < done < total else 0.0
        best = f", best {self.best:.4f}" if np.isfinite(self.best) else ""
        eta = "" if final else f", about {left:.1f} s left"
        print(f"[sgdtune] {done:.0f}/{total} trials{best}, {elapsed:.1f} s{eta}",
              file=sys.stderr, flush=True)


@contextmanager
def _threads_unless_configured(backend=None):
    """Run joblib work in threads, unless the user configured another backend
    (or asked for dask)."""
    from joblib import parallel_config
    from joblib.parallel import get_active_backend

    if backend == "dask":
        _dask_client(backend)  # a clear error without a client
        with parallel_config(backend="dask"):
            yield
        return
    active, _ = get_active_backend()
    if backend == "local" or type(active).__name__ == "LokyBackend":  # joblib's default
        with parallel_config(backend="threading"):
            yield
    else:
        yield


def _routing_enabled():
    try:
        from sklearn import get_config

        return bool(get_config().get("enable_metadata_routing", False))
    except ImportError:  # pragma: no cover
        return False


def _stable_repr(value):
    """A repr that is the same in every run (no memory addresses)."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        items = sorted(value.get_params(deep=False).items())
        return f"{type(value).__name__}({', '.join(f'{k}={_stable_repr(v)}' for k, v in items)})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_stable_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_stable_repr(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if hasattr(value, "dist") and hasattr(value, "args") and hasattr(value, "kwds"):
        # a frozen scipy.stats distribution
        name = getattr(value.dist, "name", type(value.dist).__name__)
        return f"{name}({_stable_repr(list(value.args))}, {_stable_repr(value.kwds)})"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '?')}.{value.__qualname__}"
    if type(value).__repr__ is object.__repr__:
        attrs = ", ".join(f"{k}={_stable_repr(v)}" for k, v in sorted(vars(value).items())) \
            if hasattr(value, "__dict__") else ""
        return f"{type(value).__name__}({attrs})"
    return repr(value)


def _first_failure(split_results):
    """The first failed split's reason (its fit or a scorer failed), or None."""
    reasons = (o.get("fit_error") or o.get("score_error") for o in split_results)
    return next((r for r in reasons if r), None)


def _status_of(split_results):
    """A trial's status from its per-split results."""
    reason = _first_failure(split_results)
    if reason is None:
        return "ok"
    return "diverged" if "DivergenceError" in reason else "error"


def _status(exc):
    if exc is None:
        return "ok"
    return "diverged" if isinstance(exc, DivergenceError) else "error"


_PRUNER_CONSTRAINTS = {
    "pruner": [StrOptions({"halving", "hyperband"}), None],
    "min_epochs": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
    "factor": [Interval(Integral, 2, None, closed="left")],
    "storage": [str, os.PathLike, None],
    "resume": ["boolean"],
    "backend": [StrOptions({"local", "dask"}), None],
    "curves": ["boolean"],
}


def _init_search(search, values):
    """Sets a search's constructor arguments (``values``: its ``locals()``): the
    ones its scikit-learn base class takes go through that class's __init__,
    the others (sgdtune's additions) become attributes of the same name."""
    values = {k: v for k, v in values.items() if k not in ("self", "__class__")}
    parent = next(c for c in type(search).__mro__
                  if c.__module__.startswith("sklearn.") and "__init__" in vars(c))
    accepted = inspect.signature(parent.__init__).parameters
    parent.__init__(search, **{k: v for k, v in values.items() if k in accepted})
    for key, value in values.items():
        if key not in accepted:
            setattr(search, key, value)


def _bracket_rungs(min_epochs, max_epochs, factor):
    """Hyperband's brackets as lists of rung epochs, most aggressive first.

    Bracket s starts at max_epochs / factor**s epochs and multiplies them by
    factor at each rung up to max_epochs; s runs from the largest with a start
    of at least min_epochs down to 0 (no pruning).
    """
    s_max = 0
    while max_epochs // factor ** (s_max + 1) >= min_epochs:
        s_max += 1
    brackets = []
    for s in range(s_max, -1, -1):
        rungs = [max(min_epochs, max_epochs // factor ** (s - i)) for i in range(s + 1)]
        brackets.append(sorted(set(rungs)))
    return brackets, s_max


def _split_among_brackets(n, s_max, factor):
    """How many of n candidates each Hyperband bracket gets (in Hyperband's
    proportions, largest remainder, every bracket one when n allows)."""
    weights = np.array([math.ceil((s_max + 1) / (s + 1) * factor**s)
                        for s in range(s_max, -1, -1)], dtype=float)
    share = weights / weights.sum() * n
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    if n >= len(counts):
        for i in np.flatnonzero(counts == 0):
            counts[i] += 1
            counts[np.argmax(counts)] -= 1
    return counts


def _check_splits(splits, n_samples):
    """The (train, test) pairs of ``cv`` as int64 row indices, checked.

    As scikit-learn indexes: integer arrays (negative ones count from the end)
    or boolean masks of length n_samples; anything else, an index out of range
    or an empty side raises, naming the split.
    """
    checked = []
    for i, split in enumerate(splits):
        try:
            pair = tuple(split)
        except TypeError:
            pair = ()
        if len(pair) != 2:
            raise ValueError(f"cv must give (train, test) pairs of index arrays; split {i} "
                             f"is {split!r}")
        sides = []
        for name, idx in zip(("train", "test"), pair, strict=True):
            idx = np.asarray(idx)
            if idx.dtype == bool and idx.ndim == 1 and idx.shape[0] == n_samples:
                idx = np.flatnonzero(idx)
            if idx.ndim != 1 or not (np.issubdtype(idx.dtype, np.integer) or idx.size == 0):
                raise ValueError(
                    f"cv split {i}: the {name} indices must be a 1-d array of integers or a "
                    f"boolean mask of length {n_samples}, got dtype {idx.dtype} and shape "
                    f"{idx.shape}"
                )
            if idx.size == 0:
                raise ValueError(f"cv split {i} has an empty {name} set")
            idx = idx.astype(np.int64, copy=False)
            low, high = idx.min(), idx.max()
            if low < -n_samples or high >= n_samples:
                bad = idx[(idx < -n_samples) | (idx >= n_samples)][0]
                raise IndexError(f"cv split {i}: {name} index {bad} is out of bounds for "
                                 f"{n_samples} samples")
            sides.append(np.where(idx < 0, idx + n_samples, idx) if low < 0 else idx)
        checked.append(tuple(sides))
    return checked


class _CoreSearchMixin:
    """``fit`` through the compiled core for sgdtune estimators."""

    def _fast_path(self, params):
        return (
            _score is not None
            and not _routing_enabled()
            and type(self.estimator) in (SGDClassifier, SGDRegressor)
            and set(params) <= {"sample_weight", "groups"}
            and all(
                hasattr(self, name)
                for name in ("_format_results", "_get_scorers", "_select_best_index",
                             "_check_scorers_accept_sample_weight")
            )
        )

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **params : dict
            ``sample_weight`` (split with the folds) and ``groups`` (given to the
            splitter); other estimators take any fit parameter, as in
            scikit-learn.

        Returns
        -------
        self : object
        """
        generic = not self._fast_path(params)
        if generic:
            if getattr(self, "curves", False):
                raise ValueError("curves=True needs an sgdtune SGDClassifier or SGDRegressor "
                                 f"as the estimator, got {type(self.estimator).__name__}")
            if getattr(self, "pruner", None) is not None:
                raise ValueError(
                    f"pruner={self.pruner!r} needs an sgdtune SGDClassifier or SGDRegressor "
                    "as the estimator (pruned trials continue training inside the core), "
                    f"got {type(self.estimator).__name__}"
                )
            if getattr(self, "storage", None) is None or _score is None or _routing_enabled():
                if getattr(self, "storage", None) is not None:
                    raise ValueError("storage= does not work with metadata routing enabled")
                with _threads_unless_configured(getattr(self, "backend", None)):
                    return super().fit(X, y, **params)
            # Another estimator with storage: scikit-learn's fit-and-score per
            # (candidate, split) in threads, under this class's driver.
        self._validate_params()
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        groups = params.pop("groups", None)
        params = _check_method_params(X, params=params)
        sample_weight = params.get("sample_weight")
        # As scikit-learn does: weights go to the scorers too when they take them.
        score_weights = None
        if sample_weight is not None and self._check_scorers_accept_sample_weight():
            score_weights = np.asarray(sample_weight)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self.n_splits_ = cv.get_n_splits(X, y, groups)
        splits = _check_splits(cv.split(X, y, groups), _num_samples(X))
        if len(splits) != self.n_splits_:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {self.n_splits_} splits, got {len(splits)}"
            )
        base_estimator = clone(self.estimator)
        if generic:
            X_checked, y_checked = X, y
        else:  # the core wants validated arrays; validate once, as fit would
            X_checked, y_checked = clone(base_estimator)._validate_X_y(X, y, reset=True)
            y_checked = np.asarray(y_checked)
        context = _Context(self, base_estimator, splits, X_checked, y_checked,
                           sample_weight, score_weights, scorers,
                           refit_metric if isinstance(refit_metric, str) else "score")
        if generic:
            context.fit_params = params
            context.score_params = ({"sample_weight": score_weights}
                                    if score_weights is not None else {})
        self.history_ = []
        self._progress = _Progress(self.verbose > 0)
        self._progress.total = getattr(self, "n_iter", None)  # else the first batch's size
        all_params, all_out, all_more = [], [], {}
        results = {}
        store = None
        if getattr(self, "storage", None) is not None:
            store = TrialStorage(self.storage, self._definition(splits),
                                 data_fingerprint(X_checked, y_checked, sample_weight),
                                 resume=self.resume)

        def evaluate_candidates(candidate_params, cv=None, more_results=None,
                                callback_ctx=None):
            nonlocal results
            candidate_params = list(candidate_params)
            if not candidate_params:
                if all_params:
                    return results
                raise ValueError("No fits were performed: the search gave no candidates "
                                 "(is param_grid an empty list?).")
            if self._progress.total is None:
                self._progress.total = len(candidate_params)  # a one-batch search
            if self.verbose > 1 or (self.verbose > 0 and not all_params
                                    and self._progress.total == len(candidate_params)):
                print(
                    f"Fitting {len(splits)} folds for each of {len(candidate_params)} "
                    f"candidates, totalling {len(splits) * len(candidate_params)} fits"
                )
            if store is None:
                out, more = self._evaluate(context, candidate_params, len(all_params))
            else:
                out, more = self._evaluate_stored(context, candidate_params, len(all_params),
                                                  store)
            if len(out) < 1:
                raise ValueError(
                    "No fits were performed. Was the CV iterator empty? Were there no "
                    "candidates?"
                )
            _warn_or_raise_about_fit_failures(out, self.error_score)
            if callable(self.scoring):
                _insert_error_scores(out, self.error_score)
            all_params.extend(candidate_params)
            all_out.extend(out)
            for key, value in {**more, **(more_results or {})}.items():
                all_more.setdefault(key, []).extend(value)
            results = self._format_results(all_params, self.n_splits_, all_out, all_more)
            scores = np.asarray(_optimised_scores(results, self.refit), dtype=float)
            self._progress.batch_done(len(candidate_params),
                                      np.nanmax(scores) if np.isfinite(scores).any() else np.nan)
            return results

        # (X_checked is validated: the folds' and the refit's checks skip its
        # finiteness)
        def finite():
            return nullcontext() if generic else _finite_known(X_checked)

        try:
            with finite():
                self._run_search(evaluate_candidates)
        finally:
            self._progress.close()
            del self._progress
            if store is not None:
                store.close()
        self.history_.sort(key=lambda h: (h["candidate"], h["epochs"]))
        if not all_out:
            raise ValueError("No fits were performed: the search asked for no candidates.")

        self.multimetric_ = isinstance(all_out[0]["test_scores"], dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(all_out[0]["test_scores"])
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base_estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            if getattr(self, "pruner", None) is not None:
                # the model the search kept trained for n_epochs, with no tol stop
                epochs = int(results["n_epochs"][self.best_index_])
                if self.best_estimator_.max_iter != epochs:
                    self.best_estimator_.set_params(max_iter=epochs)
            start = time.time()
            with _fits_use_threads(self.n_jobs), finite():  # (a binary model's threads share its batches)
                self.best_estimator_.fit(X, y, **params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        more_results = dict(more_results or {})
        curves = more_results.pop("learning_curve", None)  # ragged: added below
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        # Each trial's failure, if any: the first failed split's reason.
        reasons = []
        for c in range(len(candidate_params)):
            first = _first_failure(out[c * n_splits:(c + 1) * n_splits])
            reasons.append("" if first is None else first.strip().splitlines()[-1])
        if "status" not in results:
            results["status"] = np.array(
                ["ok" if not r else "diverged" if r.startswith("DivergenceError") else "error"
                 for r in reasons], dtype=object)
        else:
            results["status"] = np.asarray(results["status"], dtype=object)
        results["error"] = np.array(reasons, dtype=object)
        if curves is not None:
            results["learning_curve"] = np.empty(len(candidate_params), dtype=object)
            results["learning_curve"][:] = [list(c) for c in curves]
        if "status" in (more_results or {}) and "pruned" in list(more_results["status"]):
            # A pruned trial ranks below every trial that was not pruned, and
            # below pruned ones that trained longer (its score is an early one).
            pruned = np.asarray(more_results["status"], dtype=object) == "pruned"
            epochs = np.where(pruned, np.asarray(more_results["n_epochs"], dtype=float), 0.0)
            for key in [k for k in results if k.startswith("rank_test_")]:
                mean = np.asarray(results["mean_test_" + key[len("rank_test_"):]], dtype=float)
                filled = np.where(np.isnan(mean), -np.inf, mean)
                order = np.lexsort((-filled, -epochs, pruned))
                rank = np.empty(len(mean), dtype=np.int32)
                prev, r = None, 0
                for pos, idx in enumerate(order):
                    key_now = (pruned[idx], epochs[idx], filled[idx])
                    if key_now != prev:
                        r, prev = pos + 1, key_now
                    rank[idx] = r
                results[key] = rank
        return results

    def trials_dataframe(self):
        """The trials as a pandas DataFrame, one row per trial: its number,
        parameters (``param_*``), mean and std of each test score, fit time,
        status, error and (with a pruner) epochs."""
        import pandas as pd

        check_is_fitted(self, "cv_results_")
        r = self.cv_results_
        columns = {"number": np.arange(len(r["params"]))}
        for key, value in r.items():
            if key.startswith("param_"):
                mask = np.ma.getmaskarray(value)
                columns[key] = [None if m else v for v, m in
                                zip(np.ma.getdata(value), mask, strict=True)]
        for key in r:
            if key.startswith(("mean_test_", "std_test_", "rank_test_", "mean_train_")) \
                    or key in ("mean_fit_time", "status", "error", "n_epochs"):
                columns[key] = r[key]
        return pd.DataFrame(columns)

    # -- storage --------------------------------------------------------------

    def _definition(self, splits):
        """What makes two runs the same search (for resuming): the class, the
        parameters that change trials or their results, and the folds."""
        skip = {"n_jobs", "verbose", "pre_dispatch", "storage", "resume", "callbacks",
                "max_time", "refit"}
        d = {"class": type(self).__name__}
        for key, value in sorted(self.get_params(deep=False).items()):
            if key not in skip:
                d[key] = _stable_repr(value)
        h = hashlib.sha256()
        for train, test in splits:
            h.update(np.asarray(train, dtype=np.int64).tobytes() + b"|")
            h.update(np.asarray(test, dtype=np.int64).tobytes() + b"||")
        d["folds"] = h.hexdigest()
        return json.dumps(d, sort_keys=True)

    def _evaluate_stored(self, ctx, params, offset, store):
        """``_evaluate`` with storage: finished trials come from the file, the
        others are claimed, trained and committed one by one; trials other
        processes claimed are waited for."""
        n, ns = len(params), len(ctx.splits)
        numbers = [offset + i for i in range(n)]
        keys = [params_key(p) for p in params]
        stored = store.finished(numbers, keys)
        if self._epoch_by_epoch():
            # a pruned batch is one unit: its rungs compare all its candidates
            if len(stored) == n:
                out = [o for i in range(n) for o in stored[numbers[i]]["splits"]]
                more = {key: [stored[m]["extra"][key] for m in numbers]
                        for key in stored[numbers[0]]["extra"]}
                for m in numbers:
                    self.history_.extend(stored[m]["history"])
                return out, more
            out, more = self._evaluate(ctx, params, offset)
            for i, m in enumerate(numbers):
                if m not in stored and store.claim(m, keys[i], params[i]):
                    store.save(m, more["status"][i], {
                        "splits": out[i * ns:(i + 1) * ns],
                        "extra": {key: more[key][i] for key in more},
                        "history": [h for h in self.history_ if h["candidate"] == m]})
            return out, more
        splits_of = {i: stored[numbers[i]]["splits"] for i in range(n) if numbers[i] in stored}
        pending = [i for i in range(n) if i not in splits_of]
        chunk = max(1, math.ceil(len(pending) / 4))
        while pending:
            mine = []
            for i in pending:
                if len(mine) >= chunk:
                    break
                if store.claim(numbers[i], keys[i], params[i]):
                    mine.append(i)
            if mine:
                out, _ = self._evaluate(ctx, [params[i] for i in mine], offset)
                for j, i in enumerate(mine):
                    splits_of[i] = out[j * ns:(j + 1) * ns]
                    store.save(numbers[i], _status_of(splits_of[i]), {"splits": splits_of[i]})
                pending = [i for i in pending if i not in splits_of]
                continue
            got, _ = store.wait_for([numbers[i] for i in pending], [keys[i] for i in pending])
            for i in pending:
                if numbers[i] in got:
                    splits_of[i] = got[numbers[i]]["splits"]
            pending = [i for i in pending if i not in splits_of]
        return [o for i in range(n) for o in splits_of[i]], {}

    # -- evaluation of a batch of candidates ------------------------------

    def _epoch_by_epoch(self):
        """Whether batches train epoch by epoch (pruning or learning curves)."""
        return getattr(self, "pruner", None) is not None or bool(getattr(self, "curves", False))

    def _evaluate(self, ctx, candidate_params, offset):
        """Fit and score a batch; returns scikit-learn's per-(candidate, split)
        result dicts, candidate by candidate, and extra per-candidate columns."""
        if self._epoch_by_epoch():
            estimators = [clone(ctx.base).set_params(**clone(p, safe=False))
                          for p in candidate_params]
            return self._evaluate_pruned(ctx, estimators, offset)
        client = _dask_client(getattr(self, "backend", None))
        if ctx.fit_params is not None:  # not an sgdtune estimator
            return _fit_score_generic(ctx, candidate_params, client is not None), {}
        if client is not None:
            return _fit_score_on_dask(client, ctx, candidate_params), {}
        return _fit_score(ctx, candidate_params,
                          self._progress.core_callback(len(candidate_params))), {}

    def _evaluate_pruned(self, ctx, estimators, offset):
        """Successive halving or Hyperband over epochs on one batch: every rung
        trains the live candidates on from where they stopped, scores them on
        the fixed folds, and keeps the best 1/factor of each bracket."""
        n, n_splits = len(estimators), len(ctx.splits)
        max_epochs = self.max_epochs or ctx.base.max_iter
        if self.min_epochs > max_epochs:
            raise ValueError(f"min_epochs={self.min_epochs} must be <= max_epochs={max_epochs}")
        brackets, s_max = _bracket_rungs(self.min_epochs, max_epochs, self.factor)
        if self.pruner is None:  # curves only: one bracket that prunes nothing
            brackets, counts = [[max_epochs]], np.array([n])
        elif self.pruner == "halving":
            brackets, counts = brackets[:1], np.array([n])
        else:
            counts = _split_among_brackets(n, s_max, self.factor)
        bracket_of = np.repeat(np.arange(len(brackets)), counts)
        fits = FoldFits(estimators, ctx.X, ctx.y, ctx.splits, sample_weight=ctx.sample_weight,
                        n_jobs=self.n_jobs, errors="return", resumable=True,
                        cache=ctx.fit_cache)
        failed = {c for c in range(n)
                  if any(isinstance(m, Exception) for m in fits.fitted[c])}
        live = [c for c in range(n) if c not in failed]
        scored, epochs_of, pruned = {}, np.zeros(n, dtype=np.int64), set()
        done = 0
        # Score after every epoch (up to 100 epochs; beyond, at ~50 points spread
        # geometrically) for the learning curves; prune at the rungs only.
        curve = (range(1, max_epochs + 1) if max_epochs <= 100 else
                 np.unique(np.geomspace(1, max_epochs, 50).round().astype(int)).tolist())
        checkpoints = sorted({e for rungs in brackets for e in rungs} | set(curve))
        curves = [[] for _ in range(n)]
        for checkpoint in checkpoints:
            if not live:
                break
            # the bar moves with the epochs trained (all candidates' worth)
            progress = self._progress.core_callback(n, done / checkpoints[-1],
                                                    checkpoint / checkpoints[-1])
            fits.train(checkpoint - done, progress=progress)
            done = checkpoint
            for c in list(live):
                if any(isinstance(m, Exception) for m in fits.fitted[c]):
                    failed.add(c)
                    live.remove(c)
                    fits.stop(c)
            scored.update(_score(ctx, fits, live))
            # trials that stopped on their own (tol) are scored once more, then done
            finished = {c for c in live if fits.converged(c)}
            means = {}
            for c in live:
                epochs_of[c] = checkpoint
                means[c] = np.mean([mean_score(scored[(c, s)][0][0], ctx.refit_metric)
                                    for s in range(n_splits)])
                self.history_.append({"candidate": offset + c, "epochs": checkpoint,
                                      "score": float(means[c])})
                curves[c].append([int(checkpoint), float(means[c])])
            live = [c for c in live if c not in finished]
            for b, rungs in enumerate(brackets):
                members = [c for c in live if bracket_of[c] == b]
                if not members or checkpoint not in rungs:
                    continue
                if checkpoint == rungs[-1]:
                    keep = set()  # the bracket is done
                else:
                    ranked = sorted(members, key=lambda c: (-np.nan_to_num(means[c], nan=-np.inf), c))
                    keep = set(ranked[: max(1, len(members) // self.factor)])
                for c in members:
                    if c not in keep:
                        if checkpoint != rungs[-1]:
                            pruned.add(c)
                        live.remove(c)
                        fits.stop(c)
        total = max(1, int(epochs_of.sum()))
        out, status = [], []
        for c in range(n):
            share = fits.seconds * epochs_of[c] / total / n_splits
            first_error = next((m for m in fits.fitted[c] if isinstance(m, Exception)), None)
            for s in range(n_splits):
                model = fits.fitted[c][s]
                if first_error is not None and not isinstance(model, Exception):
                    model = first_error  # a trial that failed on one fold failed
                out.append(_result(ctx, model, scored.get((c, s)), share,
                                   len(ctx.splits[s][1])))
            status.append("pruned" if c in pruned else _status(first_error))
        return out, {"status": status, "n_epochs": list(epochs_of), "learning_curve": curves}


class _Context:
    """What every batch of a search's fit shares (picklable, for dask workers)."""

    def __init__(self, search, base, splits, X, y, sample_weight, score_weights, scorers,
                 refit_metric):
        self.base, self.splits, self.X, self.y = base, splits, X, y
        self.sample_weight, self.score_weights = sample_weight, score_weights
        self.scorers, self.refit_metric = scorers, refit_metric
        self.n_jobs, self.error_score = search.n_jobs, search.error_score
        self.return_train_score = search.return_train_score
        self.fit_params = self.score_params = None  # set for other estimators
        # FoldFits' validated data and per-fold labels and weights, made by the
        # first batch and kept for the others (not sent to dask workers)
        self.fit_cache = {}

    def __getstate__(self):
        return {**self.__dict__, "fit_cache": {}}


def _fit_score_generic(ctx, candidate_params, on_dask=False):
    """Another estimator's (candidate, split) fits: scikit-learn's own fit and
    score, in a pool of threads (or on dask)."""
    from joblib import Parallel, delayed, parallel_config
    from sklearn.model_selection._validation import _fit_and_score

    accepted = inspect.signature(_fit_and_score).parameters
    kw = {"scorer": ctx.scorers, "fit_params": ctx.fit_params,
          "score_params": ctx.score_params, "return_train_score": ctx.return_train_score,
          "return_n_test_samples": True, "return_times": True, "return_parameters": False,
          "error_score": ctx.error_score, "verbose": 0}
    kw = {k: v for k, v in kw.items() if k in accepted}
    pairs = [(p, train, test) for p in candidate_params for train, test in ctx.splits]
    with parallel_config(backend="dask" if on_dask else "threading"):
        return Parallel(n_jobs=ctx.n_jobs)(
            delayed(_fit_and_score)(clone(ctx.base), ctx.X, ctx.y, train=train, test=test,
                                    parameters=p, **kw)
            for p, train, test in pairs)


def _fit_score(ctx, candidate_params, progress=None):
    """Fit every candidate on every split in the core and score them: scikit-
    learn's result dicts, candidate by candidate, split by split."""
    estimators = [clone(ctx.base).set_params(**clone(p, safe=False)) for p in candidate_params]
    fits = FoldFits(estimators, ctx.X, ctx.y, ctx.splits, sample_weight=ctx.sample_weight,
                    n_jobs=ctx.n_jobs, errors="return", cache=ctx.fit_cache)
    fits.train(progress=progress)
    n = len(estimators)
    fit_time = fits.seconds / max(1, n * len(ctx.splits))
    scored = _score(ctx, fits, range(n))
    return [_result(ctx, fits.fitted[c][s], scored.get((c, s)), fit_time, len(ctx.splits[s][1]))
            for c in range(n) for s in range(len(ctx.splits))]


def _score(ctx, fits, candidates):
    """Scores (test, train) of the fitted (candidate, split) pairs."""
    scored = {}
    for s, (train, test) in enumerate(ctx.splits):
        live = [c for c in candidates if not isinstance(fits.fitted[c][s], Exception)]
        models = [fits.fitted[c][s] for c in live]
        test_params = train_params = {}
        if ctx.score_weights is not None:
            test_params = {"sample_weight": ctx.score_weights[test]}
            train_params = {"sample_weight": ctx.score_weights[train]}
        tests = score_fold(models, ctx.X, ctx.y, np.asarray(test), ctx.scorers, test_params,
                           ctx.error_score, ctx.n_jobs)
        trains = (score_fold(models, ctx.X, ctx.y, np.asarray(train), ctx.scorers,
                             train_params, ctx.error_score, ctx.n_jobs)
                  if ctx.return_train_score else [None] * len(live))
        for c, t, tr in zip(live, tests, trains, strict=True):
            scored[(c, s)] = (t, tr)
    return scored


def _result(ctx, model, scored, fit_time, n_test):
    """scikit-learn's result dict of one (candidate, split) pair."""
    result = {"n_test_samples": n_test, "fit_time": fit_time}
    if isinstance(model, Exception):
        if ctx.error_score == "raise":
            raise model
        result.update(fit_error=f"{type(model).__name__}: {model}",
                      test_scores=error_scores(ctx.scorers, ctx.error_score), score_time=0.0)
        if ctx.return_train_score:
            result["train_scores"] = error_scores(ctx.scorers, ctx.error_score)
        return result
    (test_score, test_time, reason), train = scored
    result.update(fit_error=None, test_scores=test_score, score_time=test_time)
    if ctx.return_train_score:
        result["train_scores"] = train[0]
        reason = reason or train[2]
    if reason:  # a scorer failed: error_score, and the reason kept
        result["score_error"] = reason
    return result


# -- dask ---------------------------------------------------------------------

def _dask_client(backend):
    """The dask client to send trials to: with backend='dask', or inside
    joblib's parallel_config(backend='dask'); None to train here."""
    if backend not in (None, "local", "dask"):
        raise ValueError(f"backend must be 'local', 'dask' or None, got {backend!r}")
    if backend == "local":
        return None
    if backend is None:
        from joblib.parallel import get_active_backend

        if "Dask" not in type(get_active_backend()[0]).__name__:
            return None
    try:
        from distributed import get_client
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'dask[distributed]'") from None
    try:
        return get_client()
    except ValueError:
        raise ValueError("backend='dask' needs a running dask.distributed Client "
                         "(e.g. Client('scheduler:8786') before fit)") from None


def _worker_threads():
    try:
        from distributed import get_worker

        worker = get_worker()
        return int(getattr(worker, "state", worker).nthreads)
    except (ImportError, ValueError, AttributeError):
        return os.cpu_count() or 1


def _fit_score_remote(X, y, ctx, candidate_params):
    """A group of trials on a dask worker: the scattered X and y, the worker's
    own threads."""
    ctx.X, ctx.y = X, y
    ctx.n_jobs = _worker_threads()
    return _fit_score(ctx, candidate_params)


def _fit_score_on_dask(client, ctx, candidate_params):
    """Split a batch into groups (one per worker thread, each trained as blocks
    on the worker), run them on the cluster, and gather the results in order.
    X and y are scattered to every worker once per search."""
    key = (id(ctx.X), id(ctx.y), id(client))
    if getattr(ctx, "_scattered_key", None) != key:
        ctx._scattered = client.scatter([ctx.X, ctx.y], broadcast=True, hash=False)
        ctx._scattered_key = key
    X_future, y_future = ctx._scattered
    remote = copy.copy(ctx)
    remote.X = remote.y = None
    remote._scattered = remote._scattered_key = None
    threads = sum(client.nthreads().values()) or 1
    n = len(candidate_params)
    groups = max(1, min(n, threads))
    bounds = [round(g * n / groups) for g in range(groups + 1)]
    futures = [client.submit(_fit_score_remote, X_future, y_future, remote,
                             candidate_params[bounds[g]:bounds[g + 1]], pure=False)
               for g in range(groups) if bounds[g + 1] > bounds[g]]
    return [o for part in client.gather(futures) for o in part]


_PRUNER_DOC = """
    pruner : {'halving', 'hyperband'} or None, default=None
        Prune over epochs (sgdtune estimators only). 'halving': every candidate
        of a batch trains ``min_epochs`` epochs, is scored on the folds, and the
        best 1/``factor`` train on (from where they stopped, never from scratch)
        for ``factor`` times as many epochs, up to ``max_epochs``. 'hyperband'
        spreads a batch over Hyperband's brackets, from aggressive halving to
        none. Trials that stopped early rank below those that trained longer;
        ``cv_results_['n_epochs']`` shows how far each went, and
        ``cv_results_['learning_curve']`` (and ``history_``, one record per
        candidate and scoring) its mean CV score after every epoch (for more
        than 100 epochs, at about 50 points spread geometrically).
    min_epochs : int, default=1
        Epochs of the first rung.
    max_epochs : int or None, default=None
        Epochs of the last rung; None: the estimator's ``max_iter``.
    factor : int, default=3
        Rung-to-rung growth of epochs, and the inverse share of survivors.
    curves : bool, default=False
        Without a pruner too, train epoch by epoch and keep every trial's
        learning curve (``cv_results_['learning_curve']``, ``history_``, and in
        ``storage``); it costs a scoring pass over the folds per epoch. Trials
        that stop on their own (``tol``) end there. sgdtune estimators only.
    storage : str, path or None, default=None
        A SQLite file (a path or 'sqlite:///path') where every finished trial is
        committed as it ends, with the search's definition and a fingerprint of
        the data. A killed search loses only the trials in flight; processes
        given the same file share the search. Works with any estimator (other
        than sgdtune's, each trial is scikit-learn's fit-and-score, in threads).
    resume : bool, default=False
        Continue the search stored in ``storage``: its finished trials are not
        run again, and the result is that of an uninterrupted run. A stored
        search with other data, space, seed or settings is refused.
    backend : {'local', 'dask'} or None, default=None
        'dask' sends each batch, in groups of trials, to the running
        dask.distributed client; every worker trains its groups in the core
        with its own threads, on X and y scattered to it once. None: dask when
        inside joblib's ``parallel_config(backend="dask")``, else local. The
        results are those of a local run (pruned searches run locally)."""


class GridSearchCV(_CoreSearchMixin, _ms.GridSearchCV):
    __doc__ = """Exhaustive search over a parameter grid, trained inside sgdtune's core.

    The parameters, attributes and ``cv_results_`` are those of
    :class:`sklearn.model_selection.GridSearchCV` (plus the columns ``status``
    and ``error``). With an sgdtune ``SGDClassifier`` or ``SGDRegressor`` all
    fits run in one process, in the core's ``n_jobs`` threads, on one copy of X;
    each fitted model and each score equals the one scikit-learn's search
    computes, bit for bit. Other estimators are fitted by scikit-learn's code in
    a pool of ``n_jobs`` threads.

    Parameters
    ----------
    estimator, param_grid, scoring, n_jobs, refit, cv, verbose, pre_dispatch,
    error_score, return_train_score
        As in scikit-learn.""" + _PRUNER_DOC + """

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sgdtune import GridSearchCV, SGDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(SGDClassifier(random_state=0),
    ...                       {"alpha": [1e-4, 1e-3], "loss": ["hinge", "log_loss"]})
    >>> search.fit(X, y).cv_results_["params"][0]
    {'alpha': 0.0001, 'loss': 'hinge'}
    """

    _parameter_constraints: dict = {**_ms.GridSearchCV._parameter_constraints,
                                    **_PRUNER_CONSTRAINTS}

    def __init__(self, estimator, param_grid, *, scoring=None, n_jobs=None, refit=True,
                 cv=None, verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, pruner=None, min_epochs=1, max_epochs=None,
                 factor=3, storage=None, resume=False, backend=None, curves=False):
        _init_search(self, locals())

    def _run_search(self, evaluate_candidates):
        evaluate_candidates(ParameterGrid(self.param_grid))


class RandomizedSearchCV(_CoreSearchMixin, _ms.RandomizedSearchCV):
    __doc__ = """Randomized search over parameter distributions, trained inside sgdtune's core.

    The parameters, attributes and ``cv_results_`` are those of
    :class:`sklearn.model_selection.RandomizedSearchCV` (the same candidates for
    the same ``random_state``); see :class:`GridSearchCV` for how fits run.
    ``param_distributions`` may hold sgdtune's ``Real``, ``Integer`` and
    ``Categorical`` dimensions (they have ``rvs``).

    Parameters
    ----------
    estimator, param_distributions, n_iter, scoring, n_jobs, refit, cv, verbose,
    pre_dispatch, random_state, error_score, return_train_score
        As in scikit-learn.""" + _PRUNER_DOC + """
    """

    _parameter_constraints: dict = {**_ms.RandomizedSearchCV._parameter_constraints,
                                    **_PRUNER_CONSTRAINTS}

    def __init__(self, estimator, param_distributions, *, n_iter=10, scoring=None,
                 n_jobs=None, refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs",
                 random_state=None, error_score=np.nan, return_train_score=False,
                 pruner=None, min_epochs=1, max_epochs=None, factor=3,
                 storage=None, resume=False, backend=None, curves=False):
        _init_search(self, locals())

    def _run_search(self, evaluate_candidates):
        evaluate_candidates(ParameterSampler(self.param_distributions, self.n_iter,
                                             random_state=self.random_state))


class SearchProgress:
    """What a search's callbacks see after each batch.

    Attributes
    ----------
    n_trials : int
        Trials evaluated so far.
    n_batches : int
    best_score : float
        Best mean CV score of the metric the strategy optimises (NaN if none).
    best_scores : list of float
        ``best_score`` after each batch.
    elapsed : float
        Seconds since the search started.
    results : dict
        ``cv_results_`` so far.
    """

    def __init__(self, n_trials, best_scores, elapsed, results):
        self.n_trials, self.best_scores = n_trials, best_scores
        self.n_batches, self.elapsed, self.results = len(best_scores), elapsed, results
        self.best_score = best_scores[-1] if best_scores else np.nan


class StopWhenNoImprovement:
    """Callback: stop when the best score has not improved for ``n_batches`` batches."""

    def __init__(self, n_batches=3, min_delta=0.0):
        self.n_batches, self.min_delta = n_batches, min_delta

    def __call__(self, progress):
        b = progress.best_scores
        return len(b) > self.n_batches and not (
            b[-1] > b[-1 - self.n_batches] + self.min_delta
        )


class StopAtScore:
    """Callback: stop once a trial reaches ``score``."""

    def __init__(self, score):
        self.score = score

    def __call__(self, progress):
        return bool(progress.best_score >= self.score)


def _optimised_scores(results, refit):
    """The mean CV scores a strategy learns from: the refit metric's."""
    if isinstance(refit, str) and f"mean_test_{refit}" in results:
        return results[f"mean_test_{refit}"]
    if "mean_test_score" in results:
        return results["mean_test_score"]
    return results[next(k for k in results if k.startswith("mean_test_"))]


_STRATEGY_CONSTRAINTS = {
    "n_iter": [Interval(Integral, 1, None, closed="left")],
    "n_points": [Interval(Integral, 1, None, closed="left"), None],
    "max_time": [Interval(Real, 0, None, closed="neither"), None],
    "callbacks": [list, tuple, None],
    "random_state": ["random_state"],
}


class _StrategySearch(_CoreSearchMixin, BaseSearchCV):
    """A search driven batch by batch by an ask/tell strategy."""

    _parameter_constraints: dict = {**BaseSearchCV._parameter_constraints,
                                    **_STRATEGY_CONSTRAINTS, **_PRUNER_CONSTRAINTS}
    _default_points = 8

    def _make_strategy(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _batch_size(self):
        if self.n_points is not None:
            return self.n_points
        if self.pruner is not None:
            # a batch fills the most aggressive bracket
            max_epochs = self.max_epochs or getattr(self.estimator, "max_iter", 1)
            _, s_max = _bracket_rungs(self.min_epochs, max(self.min_epochs, max_epochs),
                                      self.factor)
            return max(self._default_points, self.factor**s_max)
        return self._default_points

    def _run_search(self, evaluate_candidates):
        for callback in self.callbacks or ():
            if not callable(callback):
                raise TypeError(f"callbacks must be callables taking a SearchProgress, got "
                                f"{callback!r}")
        self.strategy_ = strategy = self._make_strategy()
        start = time.perf_counter()
        done, best = 0, []
        while done < self.n_iter:
            if (done and self.max_time is not None
                    and time.perf_counter() - start >= self.max_time):
                break
            params = strategy.ask(min(self._batch_size(), self.n_iter - done))
            if not params:
                break  # the space has no more distinct trials
            if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
                raise TypeError(f"{type(strategy).__name__}.ask must return a list of parameter "
                                f"dicts, got {params!r}")
            results = evaluate_candidates(params)
            scores = np.asarray(_optimised_scores(results, self.refit), dtype=float)
            strategy.tell(params, list(scores[-len(params):]))
            done += len(params)
            best.append(float(np.nanmax(scores)) if np.isfinite(scores).any() else np.nan)
            progress = SearchProgress(done, best, time.perf_counter() - start, results)
            if any(callback(progress) for callback in (self.callbacks or ())):
                break


_TRIALS_DOC = """
    n_iter : int
        Trials to evaluate in all (fewer if ``max_time`` or a callback stops the
        search, or the space has no more distinct trials).
    n_points : int or None, default=None
        Trials per batch (suggested together, trained in parallel). None: 8, or
        with a pruner the size of its most aggressive bracket. It does not follow
        ``n_jobs``, so that the suggestions do not depend on it."""

_BUDGET_DOC = """
    max_time : float or None, default=None
        Start no new batch after this many seconds.
    callbacks : list of callables or None, default=None
        Each is called with a :class:`SearchProgress` after every batch; the
        search stops when one returns True (see :class:`StopWhenNoImprovement`,
        :class:`StopAtScore`)."""

_SEED_DOC = """
    random_state : int, RandomState instance or None, default=None
        Seeds the strategy: the same seed gives the same trials and results,
        whatever ``n_jobs``."""

_COMMON_DOC = """
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in scikit-learn's GridSearchCV."""

_SEARCH_ATTRIBUTES = """

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_,
    n_splits_, refit_time_, multimetric_
        As in scikit-learn's GridSearchCV.
    strategy_ : object
        The strategy after the search (its told history).
    history_ : list of dict
        With a pruner: one record per candidate and scoring (candidate index,
        epochs, mean score), after every epoch."""


class BayesSearchCV(_StrategySearch):
    __doc__ = """Bayesian optimisation of hyperparameters: TPE or a Gaussian process.

    Parameters
    ----------
    estimator : estimator object
        An sgdtune SGDClassifier or SGDRegressor trains in the core; any other
        scikit-learn estimator works through scikit-learn's code in threads.
    search_spaces : dict
        ``{name: Real | Integer | Categorical | list of values}``; a dimension
        with ``when=`` is searched only under its condition.
    method : {'tpe', 'gp'}, default='tpe'
        Tree-structured Parzen estimator (written here on NumPy/SciPy) or
        Gaussian-process regression with expected improvement.
    n_startup : int, default=10
        Random trials before the model takes over.""" + _TRIALS_DOC + _BUDGET_DOC + _SEED_DOC \
        + _COMMON_DOC + _PRUNER_DOC + _SEARCH_ATTRIBUTES + """

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sgdtune import BayesSearchCV, Real, SGDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(SGDClassifier(random_state=0),
    ...                        {"alpha": Real(1e-6, 1e-1, log=True)},
    ...                        n_iter=12, random_state=0).fit(X, y)
    >>> 1e-6 <= search.best_params_["alpha"] <= 1e-1
    True
    """

    _parameter_constraints: dict = {**_StrategySearch._parameter_constraints,
                                    "search_spaces": [dict],
                                    "method": [StrOptions({"tpe", "gp"})],
                                    "n_startup": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, estimator, search_spaces, *, n_iter=50, method="tpe", n_points=None,
                 n_startup=10, max_time=None, callbacks=None, random_state=None,
                 scoring=None, n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", error_score=np.nan, return_train_score=False,
                 pruner=None, min_epochs=1, max_epochs=None, factor=3,
                 storage=None, resume=False, backend=None, curves=False):
        _init_search(self, locals())

    def _make_strategy(self):
        cls = TPEStrategy if self.method == "tpe" else GPStrategy
        return cls(Space(self.search_spaces), random_state=self.random_state,
                   n_startup=self.n_startup)


class EvolutionarySearchCV(_StrategySearch):
    __doc__ = """Genetic search of hyperparameters.

    Each generation is one batch of ``population_size`` new trials, bred from
    the best ``population_size`` trials so far (elitism) by tournament
    selection, uniform crossover and mutation; the first generation is random.

    Parameters
    ----------
    estimator : estimator object
        As for :class:`BayesSearchCV`.
    search_spaces : dict
        As for :class:`BayesSearchCV`.
    population_size : int, default=16
    generations : int, default=5
        ``population_size * generations`` trials in all.
    tournament_size : int, default=3
    mutation_rate : float in [0, 1], default=0.2
        Chance that each parameter of a child mutates.""" + _BUDGET_DOC + _SEED_DOC \
        + _COMMON_DOC + _PRUNER_DOC + _SEARCH_ATTRIBUTES + """
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in _StrategySearch._parameter_constraints.items()
           if k not in ("n_iter", "n_points")},
        "search_spaces": [dict],
        "population_size": [Interval(Integral, 2, None, closed="left")],
        "generations": [Interval(Integral, 1, None, closed="left")],
        "tournament_size": [Interval(Integral, 1, None, closed="left")],
        "mutation_rate": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, estimator, search_spaces, *, population_size=16, generations=5,
                 tournament_size=3, mutation_rate=0.2, max_time=None, callbacks=None,
                 random_state=None, scoring=None, n_jobs=None, refit=True, cv=None,
                 verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, pruner=None, min_epochs=1, max_epochs=None,
                 factor=3, storage=None, resume=False, backend=None, curves=False):
        _init_search(self, locals())

    @property
    def n_iter(self):
        return self.population_size * self.generations

    @property
    def n_points(self):
        return self.population_size

    def _make_strategy(self):
        return EvolutionStrategy(Space(self.search_spaces), random_state=self.random_state,
                                 population_size=self.population_size,
                                 tournament_size=self.tournament_size,
                                 mutation_rate=self.mutation_rate)


class StrategySearchCV(_StrategySearch):
    __doc__ = """A search driven by any ask/tell strategy, e.g. one written by the user.

    ``strategy`` needs ``ask(n)``, returning a list of up to n parameter dicts
    (an empty list ends the search), and ``tell(params, scores)``, taking the
    same dicts and their mean CV scores (higher is better, NaN for failures).
    The search works on a deep copy, kept as ``strategy_``. sgdtune's own
    strategies (``RandomStrategy``, ``TPEStrategy``, ``GPStrategy``,
    ``EvolutionStrategy``, ``OptunaStrategy``) can be passed too.

    Parameters
    ----------
    estimator : estimator object
    strategy : object with ask and tell""" + _TRIALS_DOC + _BUDGET_DOC + _COMMON_DOC \
        + _PRUNER_DOC + _SEARCH_ATTRIBUTES + """
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in _StrategySearch._parameter_constraints.items()
           if k != "random_state"},
        "strategy": [HasMethods(["ask", "tell"])],
    }

    def __init__(self, estimator, strategy, *, n_iter=50, n_points=None, max_time=None,
                 callbacks=None, scoring=None, n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", error_score=np.nan, return_train_score=False,
                 pruner=None, min_epochs=1, max_epochs=None, factor=3,
                 storage=None, resume=False, backend=None, curves=False):
        _init_search(self, locals())

    def _make_strategy(self):
        return copy.deepcopy(self.strategy)
