"""Scoring many fitted models on a fold without copying the fold.

A search's models are scored from their decision values, computed by the
core's kernel for all of them in one pass over the fold's rows of the shared X
(see ``_engine.fold_decisions``). scikit-learn's scorers then see a stand-in
estimator whose ``decision_function``, ``predict``, ``predict_proba`` and
``score`` return what the fitted model returns on ``X[rows]``, bit for bit,
since they are the same numbers passed through the same code. Scorers that may
look at X itself (a plain callable, a curve scorer) get the real model and a
copy of the fold instead.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if

from ._engine import fold_decisions

try:
    from sklearn.metrics._scorer import _MultimetricScorer, _PassthroughScorer, _Scorer
    from sklearn.model_selection._validation import _score
except ImportError:  # pragma: no cover - an older or newer scikit-learn
    _score = None


def _plain_accuracy(scorers, score_params) -> bool:
    """True when the score is plain accuracy: scoring=None on a classifier, or
    'accuracy', without sample weights. It is then counted here, giving the
    very float scikit-learn's accuracy_score gives (the mean of a boolean
    array is the exact count divided by n), without its per-call checks of y."""
    if _score is None or score_params:
        return False
    if type(scorers) is _PassthroughScorer:
        return True
    return (type(scorers) is _Scorer and scorers._score_func is accuracy_score
            and not scorers._kwargs and scorers._sign == 1
            and scorers._response_method == "predict")


def predictions_suffice(scorers) -> bool:
    """True when every scorer only calls the estimator's prediction methods."""
    if _score is None:
        return False
    members = scorers._scorers.values() if isinstance(scorers, _MultimetricScorer) else [scorers]
    # type(), not isinstance: a subclass may override how it scores
    return all(type(s) in (_Scorer, _PassthroughScorer) for s in members)


class _Rows:
    """Stands for X[rows] when a stand-in estimator is scored."""

    def __init__(self, rows):
        self.rows = rows
        self.shape = (len(rows), 0)

    def __len__(self):
        return len(self.rows)


class _StandIn(BaseEstimator):
    def __init__(self, model=None, scores=None, rows=None):
        self.model = model
        self.scores = scores
        self.rows = rows

    def _check(self, X):
        if X is not self.rows:
            raise ValueError("this stand-in can only be scored on its own rows")

    def predict(self, X):
        self._check(X)
        return self.model._predict_from(self.scores)


class _ClassifierStandIn(ClassifierMixin, _StandIn):
    @property
    def classes_(self):
        return self.model.classes_

    def decision_function(self, X):
        self._check(X)
        return self.model._decision_from(self.scores)

    def _has_proba(self):
        return hasattr(self.model, "predict_proba")

    @available_if(_has_proba)
    def predict_proba(self, X):
        self._check(X)
        return self.model._proba_from(self.scores)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        self._check(X)
        return self.model._log_proba_from(self.scores)


class _RegressorStandIn(RegressorMixin, _StandIn):
    pass


def score_fold(models, X, y, rows, scorers, score_params, error_score, n_jobs=None):
    """Scores of fitted models on rows of validated X: (scores, seconds) per model.

    A score is a float, or a dict of them for several metrics, as scikit-learn's
    ``_score`` gives it.
    """
    if not models:
        return []
    y_rows = y[rows]
    start = time.perf_counter()
    if predictions_suffice(scorers):
        decisions = fold_decisions(X, models, rows, n_jobs)
        shared = (time.perf_counter() - start) / len(models)
        out, stand_rows = [], _Rows(rows)
        plain_accuracy = _plain_accuracy(scorers, score_params)
        for model, scores in zip(models, decisions, strict=True):
            classifier = hasattr(model, "classes_")
            t0 = time.perf_counter()
            if plain_accuracy and classifier:
                hits = np.count_nonzero(model._predict_from(scores) == y_rows)
                out.append((hits / len(y_rows), shared + time.perf_counter() - t0))
                continue
            kind = _ClassifierStandIn if classifier else _RegressorStandIn
            value = _score(kind(model, scores, stand_rows), stand_rows, y_rows, scorers,
                           score_params, error_score)
            out.append((value, shared + time.perf_counter() - t0))
        return out
    X_rows = X[rows]
    out = []
    for model in models:
        t0 = time.perf_counter()
        value = _score(model, X_rows, y_rows, scorers, score_params, error_score)
        out.append((value, time.perf_counter() - t0))
    return out


def error_scores(scorers, error_score):
    """What a failed fit scores: ``error_score`` for each metric."""
    if isinstance(scorers, _MultimetricScorer):
        return {name: error_score for name in scorers._scorers}
    return error_score


def mean_score(score, metric):
    """One number from a score (dict for several metrics), NaN when missing."""
    if isinstance(score, dict):
        value = score[metric] if metric in score else next(iter(score.values()))
    else:
        value = score
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan
