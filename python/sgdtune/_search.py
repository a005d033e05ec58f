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
run by a pool of threads (unless a joblib backend such as dask is configured).

Every search may prune: ``pruner="halving"`` or ``"hyperband"`` trains each
batch of candidates in rungs of epochs and keeps training only the best
1/factor of each rung, from where they stopped.

``cv_results_`` holds scikit-learn's keys and values plus ``status`` ('ok',
'diverged', 'error' or 'pruned'), ``error`` (the first failed fold's reason,
else '') and, with a pruner, ``n_epochs`` (epochs each candidate trained).
``fit_time`` of a (candidate, fold) pair is its share of the core calls that
trained it, since trials share their passes over the data.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn import model_selection as _ms
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.utils import indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_method_params

from ._base import DivergenceError
from ._engine import FoldFits
from ._estimators import SGDClassifier, SGDRegressor
from ._scoring import error_scores, mean_score, score_fold

try:  # scikit-learn's own helpers, so that cv_results_ is built as it builds it
    from sklearn.model_selection._validation import (
        _insert_error_scores,
        _score,
        _warn_or_raise_about_fit_failures,
    )
except ImportError:  # pragma: no cover - an older or newer scikit-learn
    _score = None


class _ProgressReport:
    """Shows the search's progress: a tqdm bar when tqdm is installed and the
    output is a terminal, else a line on stderr at most every second."""

    def __init__(self):
        self._bar = None
        self._last = 0.0
        self._start = time.perf_counter()
        try:
            import tqdm

            if sys.stderr.isatty():
                self._bar = tqdm.tqdm(total=1, unit="epoch", desc="sgdtune search")
        except ImportError:
            pass

    def __call__(self, done, total):
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()
            if done >= total:
                self._bar.close()
            return
        now = time.perf_counter()
        if done >= total or now - self._last >= 1.0:
            self._last = now
            pct = 100.0 * done / total if total else 100.0
            print(f"[sgdtune] search: {pct:5.1f}% of {total} block-epochs done, "
                  f"{now - self._start:.1f} s", file=sys.stderr, flush=True)


@contextmanager
def _threads_unless_configured():
    """Run joblib work in threads, unless the user configured another backend."""
    from joblib import parallel_config
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    if type(backend).__name__ == "LokyBackend":  # joblib's default
        with parallel_config(backend="threading"):
            yield
    else:
        yield


def _status(exc):
    if exc is None:
        return "ok"
    return "diverged" if isinstance(exc, DivergenceError) else "error"


_PRUNER_CONSTRAINTS = {
    "pruner": [StrOptions({"halving", "hyperband"}), None],
    "min_epochs": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
    "factor": [Interval(Integral, 2, None, closed="left")],
}


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


class _CoreSearchMixin:
    """``fit`` through the compiled core for sgdtune estimators."""

    def _fast_path(self, params):
        try:
            from sklearn import get_config

            routing = get_config().get("enable_metadata_routing", False)
        except ImportError:  # pragma: no cover
            routing = False
        return (
            _score is not None
            and not routing
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
        if not self._fast_path(params):
            if getattr(self, "pruner", None) is not None:
                raise ValueError(
                    f"pruner={self.pruner!r} needs an sgdtune SGDClassifier or SGDRegressor "
                    "as the estimator (pruned trials continue training inside the core), "
                    f"got {type(self.estimator).__name__}"
                )
            with _threads_unless_configured():
                return super().fit(X, y, **params)
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
        splits = list(cv.split(X, y, groups))
        if len(splits) != self.n_splits_:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {self.n_splits_} splits, got {len(splits)}"
            )
        base_estimator = clone(self.estimator)
        # The core wants validated arrays; validate once, as fit would.
        X_checked, y_checked = clone(base_estimator)._validate_X_y(X, y, reset=True)
        context = _Context(base_estimator, splits, X_checked, np.asarray(y_checked),
                           sample_weight, score_weights, scorers,
                           refit_metric if isinstance(refit_metric, str) else "score")
        self.history_ = []
        all_params, all_out, all_more = [], [], {}
        results = {}

        def evaluate_candidates(candidate_params, cv=None, more_results=None,
                                callback_ctx=None):
            nonlocal results
            candidate_params = list(candidate_params)
            if self.verbose > 0:
                print(
                    f"Fitting {len(splits)} folds for each of {len(candidate_params)} "
                    f"candidates, totalling {len(splits) * len(candidate_params)} fits"
                )
            out, more = self._evaluate(context, candidate_params, len(all_params))
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
            return results

        self._run_search(evaluate_candidates)
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
            self.best_estimator_.fit(X, y, **params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        # Each trial's failure, if any: the first failed split's reason.
        reasons = []
        for c in range(len(candidate_params)):
            msgs = [o.get("fit_error") for o in out[c * n_splits:(c + 1) * n_splits]]
            first = next((m for m in msgs if m), None)
            reasons.append("" if first is None else first.strip().splitlines()[-1])
        if "status" not in results:
            results["status"] = np.array(
                ["ok" if not r else "diverged" if r.startswith("DivergenceError") else "error"
                 for r in reasons], dtype=object)
        else:
            results["status"] = np.asarray(results["status"], dtype=object)
        results["error"] = np.array(reasons, dtype=object)
        if "n_epochs" in results:
            # A pruned trial ranks below every trial that trained longer.
            epochs = np.asarray(results["n_epochs"], dtype=float)
            for key in [k for k in results if k.startswith("rank_test_")]:
                mean = np.asarray(results["mean_test_" + key[len("rank_test_"):]], dtype=float)
                filled = np.where(np.isnan(mean), -np.inf, mean)
                order = np.lexsort((-filled, -epochs))
                rank = np.empty(len(mean), dtype=np.int32)
                prev, r = None, 0
                for pos, idx in enumerate(order):
                    key_now = (epochs[idx], filled[idx])
                    if key_now != prev:
                        r, prev = pos + 1, key_now
                    rank[idx] = r
                results[key] = rank
        return results

    # -- evaluation of a batch of candidates ------------------------------

    def _evaluate(self, ctx, candidate_params, offset):
        """Fit and score a batch; returns scikit-learn's per-(candidate, split)
        result dicts, candidate by candidate, and extra per-candidate columns."""
        estimators = [
            clone(ctx.base).set_params(**clone(p, safe=False)) for p in candidate_params
        ]
        if getattr(self, "pruner", None) is not None:
            return self._evaluate_pruned(ctx, estimators, offset)
        fits = FoldFits(estimators, ctx.X, ctx.y, ctx.splits, sample_weight=ctx.sample_weight,
                        n_jobs=self.n_jobs, errors="return")
        fits.train(progress=_ProgressReport() if self.verbose > 0 else None)
        n = len(estimators)
        fit_time = fits.seconds / max(1, n * len(ctx.splits))
        scored = self._score(ctx, fits, range(n))
        out = [self._result(ctx, fits.fitted[c][s], scored.get((c, s)), fit_time,
                            len(ctx.splits[s][1]))
               for c in range(n) for s in range(len(ctx.splits))]
        return out, {}

    def _score(self, ctx, fits, candidates):
        """Scores (test, train) of the fitted (candidate, split) pairs."""
        scored = {}
        for s, (train, test) in enumerate(ctx.splits):
            live = [c for c in candidates if not isinstance(fits.fitted[c][s], Exception)]
            models = [fits.fitted[c][s] for c in live]
            test_params = train_params = {}
            if ctx.score_weights is not None:
                test_params = {"sample_weight": ctx.score_weights[test]}
                train_params = {"sample_weight": ctx.score_weights[train]}
            tests = score_fold(models, ctx.X, ctx.y, np.asarray(test), ctx.scorers,
                               test_params, self.error_score, self.n_jobs)
            trains = (score_fold(models, ctx.X, ctx.y, np.asarray(train), ctx.scorers,
                                 train_params, self.error_score, self.n_jobs)
                      if self.return_train_score else [None] * len(live))
            for c, t, tr in zip(live, tests, trains, strict=True):
                scored[(c, s)] = (t, tr)
        return scored

    def _result(self, ctx, model, scored, fit_time, n_test):
        result = {"n_test_samples": n_test, "fit_time": fit_time}
        if isinstance(model, Exception):
            if self.error_score == "raise":
                raise model
            errors = error_scores(ctx.scorers, self.error_score)
            result.update(fit_error=f"{type(model).__name__}: {model}", test_scores=errors,
                          score_time=0.0)
            if self.return_train_score:
                result["train_scores"] = error_scores(ctx.scorers, self.error_score)
            return result
        (test_score, test_time), train = scored
        result.update(fit_error=None, test_scores=test_score, score_time=test_time)
        if self.return_train_score:
            result["train_scores"] = train[0]
        return result

    def _evaluate_pruned(self, ctx, estimators, offset):
        """Successive halving or Hyperband over epochs on one batch: every rung
        trains the live candidates on from where they stopped, scores them on
        the fixed folds, and keeps the best 1/factor of each bracket."""
        n, n_splits = len(estimators), len(ctx.splits)
        max_epochs = self.max_epochs or ctx.base.max_iter
        if self.min_epochs > max_epochs:
            raise ValueError(f"min_epochs={self.min_epochs} must be <= max_epochs={max_epochs}")
        brackets, s_max = _bracket_rungs(self.min_epochs, max_epochs, self.factor)
        if self.pruner == "halving":
            brackets, counts = brackets[:1], np.array([n])
        else:
            counts = _split_among_brackets(n, s_max, self.factor)
        bracket_of = np.repeat(np.arange(len(brackets)), counts)
        fits = FoldFits(estimators, ctx.X, ctx.y, ctx.splits, sample_weight=ctx.sample_weight,
                        n_jobs=self.n_jobs, errors="return", resumable=True)
        failed = {c for c in range(n)
                  if any(isinstance(m, Exception) for m in fits.fitted[c])}
        live = [c for c in range(n) if c not in failed]
        scored, epochs_of, pruned = {}, np.zeros(n, dtype=np.int64), set()
        done = 0
        progress = _ProgressReport() if self.verbose > 0 else None
        for checkpoint in sorted({e for rungs in brackets for e in rungs}):
            if not live:
                break
            fits.train(checkpoint - done, progress=progress)
            done = checkpoint
            for c in list(live):
                if any(isinstance(m, Exception) for m in fits.fitted[c]):
                    failed.add(c)
                    live.remove(c)
                    fits.stop(c)
            scored.update(self._score(ctx, fits, live))
            means = {}
            for c in live:
                epochs_of[c] = checkpoint
                means[c] = np.mean([mean_score(scored[(c, s)][0][0], ctx.refit_metric)
                                    for s in range(n_splits)])
                self.history_.append({"candidate": offset + c, "epochs": checkpoint,
                                      "score": float(means[c])})
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
                out.append(self._result(ctx, model, scored.get((c, s)), share,
                                        len(ctx.splits[s][1])))
            status.append("pruned" if c in pruned else _status(first_error))
        return out, {"status": status, "n_epochs": list(epochs_of)}


class _Context:
    """What every batch of a search's fit shares."""

    def __init__(self, base, splits, X, y, sample_weight, score_weights, scorers,
                 refit_metric):
        self.base, self.splits, self.X, self.y = base, splits, X, y
        self.sample_weight, self.score_weights = sample_weight, score_weights
        self.scorers, self.refit_metric = scorers, refit_metric


_PRUNER_DOC = """
    pruner : {'halving', 'hyperband'} or None, default=None
        Prune over epochs (sgdtune estimators only). 'halving': every candidate
        of a batch trains ``min_epochs`` epochs, is scored on the folds, and the
        best 1/``factor`` train on (from where they stopped, never from scratch)
        for ``factor`` times as many epochs, up to ``max_epochs``. 'hyperband'
        spreads a batch over Hyperband's brackets, from aggressive halving to
        none. Trials that stopped early rank below those that trained longer;
        ``cv_results_['n_epochs']`` and ``history_`` (one record per candidate
        and rung) show how far each went.
    min_epochs : int, default=1
        Epochs of the first rung.
    max_epochs : int or None, default=None
        Epochs of the last rung; None: the estimator's ``max_iter``.
    factor : int, default=3
        Rung-to-rung growth of epochs, and the inverse share of survivors."""


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
                 factor=3):
        super().__init__(estimator, param_grid, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.pruner = pruner
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.factor = factor

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
                 pruner=None, min_epochs=1, max_epochs=None, factor=3):
        super().__init__(estimator, param_distributions, n_iter=n_iter, scoring=scoring,
                         n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, random_state=random_state,
                         error_score=error_score, return_train_score=return_train_score)
        self.pruner = pruner
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.factor = factor

    def _run_search(self, evaluate_candidates):
        evaluate_candidates(ParameterSampler(self.param_distributions, self.n_iter,
                                             random_state=self.random_state))
