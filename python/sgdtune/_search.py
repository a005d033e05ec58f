"""GridSearchCV and RandomizedSearchCV that train all trials inside the core.

They are scikit-learn's classes with the same parameters, attributes and
``cv_results_``; only ``fit`` differs when the estimator is an sgdtune SGD
estimator. Then every (candidate, fold) fit is a job of the compiled core, on
one shared copy of X with the folds as index arrays, trials that share a fold
and block options train as one block, and all of it runs in the core's threads
with the GIL released. Any other estimator (a pipeline, another model) takes
scikit-learn's own path.

Known limits of this first version: scores are computed in Python with
scikit-learn's scorers on a copy of each test fold (made once per fold and
shared by all candidates); ``fit_time`` of a (candidate, fold) pair is the
time of the core call that trained it divided by the number of pairs trained
in it, since trials share their passes over the data.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn import model_selection as _ms
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.utils import indexable
from sklearn.utils.validation import _check_method_params

from ._engine import fit_folds
from ._estimators import SGDClassifier, SGDRegressor

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
        candidate_params = list(self._candidates())
        if self.verbose > 0:
            print(
                f"Fitting {len(splits)} folds for each of {len(candidate_params)} "
                f"candidates, totalling {len(splits) * len(candidate_params)} fits"
            )
        all_out = self._evaluate(base_estimator, candidate_params, splits, X_checked,
                                 np.asarray(y_checked), sample_weight, score_weights,
                                 scorers)
        if len(all_out) < 1:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? Were there no "
                "candidates?"
            )
        _warn_or_raise_about_fit_failures(all_out, self.error_score)
        if callable(self.scoring):
            _insert_error_scores(all_out, self.error_score)
        results = self._format_results(candidate_params, self.n_splits_, all_out)

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
            start = time.time()
            self.best_estimator_.fit(X, y, **params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self

    def _evaluate(self, base_estimator, candidate_params, splits, X, y, sample_weight,
                  score_weights, scorers):
        """Fit every candidate on every split in the core, then score them.

        Returns scikit-learn's per-(candidate, split) result dicts, candidate by
        candidate, split by split.
        """
        estimators = [
            clone(base_estimator).set_params(**clone(p, safe=False)) for p in candidate_params
        ]
        start = time.perf_counter()
        fitted = fit_folds(estimators, X, y, splits, sample_weight=sample_weight,
                           n_jobs=self.n_jobs, errors="return",
                           progress=_ProgressReport() if self.verbose > 0 else None)
        fit_time = (time.perf_counter() - start) / max(1, len(estimators) * len(splits))
        error_value = self.error_score
        out = [None] * (len(estimators) * len(splits))
        for s, (train, test) in enumerate(splits):
            X_test, y_test = X[test], y[test]
            X_train = y_train = None
            if self.return_train_score:
                X_train, y_train = X[train], y[train]
            test_params, train_params = {}, {}
            if score_weights is not None:
                test_params = {"sample_weight": score_weights[test]}
                train_params = {"sample_weight": score_weights[train]}
            for c in range(len(estimators)):
                est = fitted[c][s]
                result = {"n_test_samples": len(test), "fit_time": fit_time}
                if isinstance(est, Exception):
                    if error_value == "raise":
                        raise est
                    result["fit_error"] = f"{type(est).__name__}: {est}"
                    result["test_scores"] = self._error_scores(scorers)
                    if self.return_train_score:
                        result["train_scores"] = self._error_scores(scorers)
                    result["score_time"] = 0.0
                else:
                    # X_test has no column names; the model needs none to be scored
                    if hasattr(est, "feature_names_in_"):
                        del est.feature_names_in_
                    t0 = time.perf_counter()
                    result["fit_error"] = None
                    result["test_scores"] = _score(est, X_test, y_test, scorers,
                                                   test_params, error_value)
                    result["score_time"] = time.perf_counter() - t0
                    if self.return_train_score:
                        result["train_scores"] = _score(est, X_train, y_train, scorers,
                                                        train_params, error_value)
                out[c * len(splits) + s] = result
        return out

    def _error_scores(self, scorers):
        if hasattr(scorers, "_scorers"):
            return {name: self.error_score for name in scorers._scorers}
        return self.error_score


class GridSearchCV(_CoreSearchMixin, _ms.GridSearchCV):
    """Exhaustive search over a parameter grid, trained inside sgdtune's core.

    The parameters, attributes and ``cv_results_`` are those of
    :class:`sklearn.model_selection.GridSearchCV`. With an sgdtune
    ``SGDClassifier`` or ``SGDRegressor`` all fits run in one process, in the
    core's ``n_jobs`` threads, on one copy of X; each fitted model equals the one
    scikit-learn's search would fit, bit for bit.

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

    def _candidates(self):
        return ParameterGrid(self.param_grid)


class RandomizedSearchCV(_CoreSearchMixin, _ms.RandomizedSearchCV):
    """Randomized search over parameter distributions, trained inside sgdtune's core.

    The parameters, attributes and ``cv_results_`` are those of
    :class:`sklearn.model_selection.RandomizedSearchCV` (the same candidates for
    the same ``random_state``); see :class:`GridSearchCV` for how fits run.
    """

    def _candidates(self):
        return ParameterSampler(
            self.param_distributions, self.n_iter, random_state=self.random_state
        )

