"""Scoring many fitted models on a fold without copying the fold.

scikit-learn's usual scorers (accuracy, balanced accuracy, precision, recall
and F1 with their averages, ROC AUC, log loss, R2, mean squared/absolute
error) are computed in the core: it makes the models' decision values for a
group of models at a time in one pass over the fold's rows of the shared X,
and scores them on its threads with scikit-learn's own arithmetic, so each
score is the float scikit-learn returns (see ``cpp/include/sgdtune/metrics.hpp``).
Where scikit-learn would warn or raise (a division by zero in precision, a
class missing from the fold, ...) the core leaves the model to the path below.

Other scorers that only call prediction methods see a stand-in estimator whose
``decision_function``, ``predict``, ``predict_proba`` and ``score`` return what
the fitted model returns on ``X[rows]``, bit for bit, from decision values the
core computes for all models in one pass (see ``_engine.fold_decisions``).
Scorers that may look at X itself (a plain callable, a curve scorer) get the
real model and a copy of the fold instead.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
import scipy.sparse as sp
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if

from . import _core
from ._base import _effective_n_jobs
from ._engine import fold_decisions

try:
    from sklearn.metrics._scorer import _MultimetricScorer, _PassthroughScorer, _Scorer
    from sklearn.model_selection._validation import _score
except ImportError:  # pragma: no cover - an older or newer scikit-learn
    _score = None


# The core's metrics (metrics.hpp: Metric, Average) and the scorers they stand for.
_ACCURACY, _BALANCED, _PRECISION, _RECALL, _F1, _ROC_AUC, _ROC_AUC_OVR, _LOG_LOSS = range(8)
_R2, _MSE, _RMSE, _MAE = range(8, 12)
_AVERAGES = {"binary": 0, "micro": 1, "macro": 2, "weighted": 3}
_PROBA = {"log_loss": 1, "modified_huber": 2}
_PREDICT = "predict"
_PROBABILITIES = "predict_proba"


def _core_metric(scorer, classifier):
    """(metric, average, sign) when the core computes ``scorer`` as scikit-
    learn does (a built-in scorer with its default options), else None."""
    if _score is None:
        return None
    if type(scorer) is _PassthroughScorer:  # the estimators' own score()
        return (_ACCURACY if classifier else _R2), 0, 1
    if type(scorer) is not _Scorer:
        return None
    func, kwargs, response = scorer._score_func, dict(scorer._kwargs), scorer._response_method
    simple = {skm.accuracy_score: _ACCURACY, skm.r2_score: _R2, skm.mean_squared_error: _MSE,
              skm.root_mean_squared_error: _RMSE, skm.mean_absolute_error: _MAE,
              skm.log_loss: _LOG_LOSS}
    if func in simple:
        metric = simple[func]
        wanted = _PROBABILITIES if metric == _LOG_LOSS else _PREDICT
        return (metric, 0, scorer._sign) if not kwargs and response == wanted else None
    if func is skm.balanced_accuracy_score:
        ok = kwargs in ({}, {"adjusted": False}) and response == _PREDICT
        return (_BALANCED, 0, scorer._sign) if ok else None
    prf = {skm.precision_score: _PRECISION, skm.recall_score: _RECALL, skm.f1_score: _F1}
    if func in prf:
        # zero_division only matters where a denominator is zero: the core
        # leaves those models to scikit-learn
        kwargs.pop("zero_division", None)
        average = kwargs.pop("average", "binary")
        pos_label = kwargs.pop("pos_label", 1)
        if kwargs or response != _PREDICT or average not in _AVERAGES:
            return None
        if pos_label != 1 and not (average != "binary" and pos_label is None):
            return None
        return prf[func], _AVERAGES[average], scorer._sign
    if func is skm.roc_auc_score:
        if not kwargs and response == ("decision_function", "predict_proba"):
            return _ROC_AUC, 0, scorer._sign
        average = kwargs.pop("average", "macro")
        if (kwargs == {"multi_class": "ovr"} and response == _PROBABILITIES
                and average in ("macro", "weighted")):
            return _ROC_AUC_OVR, _AVERAGES[average], scorer._sign
    return None


def core_metrics(scorers, classifier, dtype=None):
    """The scorers as the core's (name, metric, average, sign), or None when
    one of them is not among its metrics (then all go the Python way). With
    ``dtype`` (X's), also None when the core's numbers for one of them differ
    from scikit-learn's here (see ``_agrees``)."""
    members = (list(scorers._scorers.items()) if isinstance(scorers, _MultimetricScorer)
               else [(None, scorers)])
    out = []
    for name, scorer in members:
        metric = _core_metric(scorer, classifier)
        if metric is None:
            return None
        if dtype is not None and not _agrees(scorer, metric, classifier, np.dtype(dtype)):
            return None
        out.append((name, *metric))
    return out


# The core writes out scikit-learn's and NumPy's arithmetic for each metric;
# another version of them may compute a metric otherwise. So once per process,
# metric and dtype, the core's scores are compared with the scorer's on small
# fitted models, and a metric that differs in any bit goes scikit-learn's way.
_AGREEMENT = {}
_PROBES = {}


def _probes(classifier, dtype):
    """Small fitted models and their data: [(models, X, y, rows)]."""
    key = (classifier, dtype.str)
    if key not in _PROBES:
        from ._estimators import SGDClassifier, SGDRegressor

        rng = np.random.default_rng(0)
        X = rng.normal(size=(300, 6)).astype(dtype)
        rows = np.arange(100, 300)
        cases = []
        if classifier:
            for n_classes in (2, 3):
                y = np.argsort(np.argsort(X[:, 0] + rng.normal(size=300))) * n_classes // 300
                models = [SGDClassifier(loss=loss, max_iter=2, tol=None, random_state=0)
                          .fit(X[:100], y[:100])
                          for loss in ("log_loss", "modified_huber", "hinge")]
                cases.append((models, X, y, rows))
        else:
            for y_dtype in (np.float64, np.float32, np.int64):
                y = (3 * (X @ rng.normal(size=6)) + rng.normal(size=300)).astype(y_dtype)
                model = SGDRegressor(max_iter=2, tol=None, random_state=0).fit(X[:100], y[:100])
                cases.append(([model], X, y, rows))
        _PROBES[key] = cases
    return _PROBES[key]


def _agrees(scorer, metric, classifier, dtype):
    """Whether the core gives scikit-learn's scores for ``scorer`` (checked
    once per process, metric and dtype)."""
    key = (metric, classifier, dtype.str)
    if key not in _AGREEMENT:
        import warnings

        agrees, compared = True, 0
        try:
            for models, X, y, rows in _probes(classifier, dtype):
                got = _core_scores(models, X, y[rows], rows, [(None, *metric)], 1)
                for i, value in got.items():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        agrees = agrees and value == scorer(models[i], X[rows], y[rows])
                    compared += 1
        except Exception:  # pragma: no cover - then scikit-learn scores
            agrees = False
        _AGREEMENT[key] = agrees and compared > 0
    return _AGREEMENT[key]


def _is_one(label):
    return isinstance(label, (numbers.Number, np.number, np.bool_)) and label == 1


def _core_scores(models, X, y_rows, rows, metrics, n_jobs, max_bytes=32 << 20,
                 max_weight_bytes=4 << 20):
    """Scores from the core: {index: score} for the models it scored.

    Models go to the core in groups whose stacked weights take at most
    ``max_weight_bytes`` (one model at least): the core makes a transposed
    copy of them and their decision values, so that wide models (sparse data
    with many features) are not all copied at once. (The sparse halving search
    of benchmarks/search_speed.py, 24 trials of 50,000 features a fold: a
    fold's scoring raised its resident memory by 24 MiB, by 10 in groups.)
    """
    classifier = hasattr(models[0], "classes_")
    groups = {}  # models with the same classes share the fold's class codes
    for i, model in enumerate(models):
        key = tuple(model.classes_.tolist()) if classifier else None
        groups.setdefault(key, []).append(i)
    # each classes' group cut in parts of at most max_weight_bytes of weights
    model_bytes = max(1, np.asarray(models[0].coef_).size * X.dtype.itemsize)
    step = max(1, max_weight_bytes // model_bytes)
    parts = [(key, members[a:a + step]) for key, members in groups.items()
             for a in range(0, len(members), step)]
    table = np.array([(m[1], m[2]) for m in metrics], dtype=np.int32).reshape(-1, 2)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    done = {}
    for key, members in parts:
        codes = y = None
        n_classes, pos, f32_targets = 0, -1, False
        if classifier:
            classes = models[members[0]].classes_
            n_classes = len(classes)
            codes = np.searchsorted(classes, y_rows).astype(np.int32)
            if n_classes < 2 or np.any(codes >= n_classes) or np.any(classes[codes] != y_rows):
                continue  # a label the models never saw: scikit-learn's way
            pos = next((c for c, label in enumerate(key) if _is_one(label)), -1)
        else:
            # scikit-learn's arithmetic is float32 when the predictions are and
            # the targets are not float64
            f32_targets = X.dtype == np.float32 and not (y_rows.dtype.kind == "f"
                                                         and y_rows.dtype.itemsize > 4)
            y = np.ascontiguousarray(y_rows.astype(np.float32) if f32_targets else y_rows,
                                     dtype=np.float64)
        group = [models[i] for i in members]
        coef = np.vstack([np.asarray(m._dense_coef(), dtype=X.dtype).reshape(-1, X.shape[1])
                          for m in group])
        intercept = np.concatenate([np.asarray(m.intercept_, dtype=np.float64).reshape(-1)
                                    for m in group])
        width = coef.shape[0] // len(group)
        offsets = np.arange(len(group) + 1, dtype=np.int64) * width
        proba = np.array([_PROBA.get(getattr(m, "loss", None), 0) for m in group], dtype=np.int8)
        args = (coef, intercept, offsets, proba, rows, table, n_classes, codes, y, pos, f32_targets,
                _effective_n_jobs(n_jobs), max_bytes)
        if sp.issparse(X):
            values, ok, clipped = _core.score_csr(X.data, X.indices, X.indptr, X.shape[0],
                                                  X.shape[1], *args)
        else:
            values, ok, clipped = _core.score_dense(X, *args)
        for j, i in enumerate(members):
            if not ok[j]:
                continue
            # log_loss: the core gives each row's clipped probability of its
            # class; the log is NumPy's, as in scikit-learn
            scores = [sign * (float(np.average(-np.log(clipped[j]))) if metric == _LOG_LOSS
                              else float(v))
                      for (_, metric, _, sign), v in zip(metrics, values[j], strict=True)]
            done[i] = (dict(zip([m[0] for m in metrics], scores, strict=True))
                       if metrics[0][0] is not None else scores[0])
    return done


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


def _score_noting_failure(estimator, X, y, scorers, score_params, error_score):
    """scikit-learn's ``_score``, and why it gave ``error_score`` when a scorer
    failed (its warning, which says so, is passed on as it was), else None."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = _score(estimator, X, y, scorers, score_params, error_score)
    reason = None
    for w in caught:
        text = str(w.message)
        if reason is None and text.startswith("Scoring failed"):
            reason = "scoring failed: " + text.strip().splitlines()[-1]
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, reason


def score_fold(models, X, y, rows, scorers, score_params, error_score, n_jobs=None):
    """Scores of fitted models on rows of validated X: (scores, seconds, reason)
    per model, reason None unless a scorer failed (the score is then
    ``error_score``).

    A score is a float, or a dict of them for several metrics, as scikit-learn's
    ``_score`` gives it.
    """
    if not models:
        return []
    y_rows = y[rows]
    start = time.perf_counter()
    if predictions_suffice(scorers):
        out, reasons = [None] * len(models), [None] * len(models)
        metrics = (None if score_params
                   else core_metrics(scorers, hasattr(models[0], "classes_"), X.dtype))
        if metrics is not None:
            for i, value in _core_scores(models, X, y_rows, rows, metrics, n_jobs).items():
                out[i] = value
        rest = [i for i in range(len(models)) if out[i] is None]
        if rest:
            decisions = fold_decisions(X, [models[i] for i in rest], rows, n_jobs)
            stand_rows = _Rows(rows)
            for i, scores in zip(rest, decisions, strict=True):
                model = models[i]
                kind = _ClassifierStandIn if hasattr(model, "classes_") else _RegressorStandIn
                out[i], reasons[i] = _score_noting_failure(
                    kind(model, scores, stand_rows), stand_rows, y_rows, scorers, score_params,
                    error_score)
        seconds = (time.perf_counter() - start) / len(models)
        return [(value, seconds, reason) for value, reason in zip(out, reasons, strict=True)]
    X_rows = X[rows]
    out = []
    for model in models:
        t0 = time.perf_counter()
        value, reason = _score_noting_failure(model, X_rows, y_rows, scorers, score_params,
                                              error_score)
        out.append((value, time.perf_counter() - t0, reason))
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
