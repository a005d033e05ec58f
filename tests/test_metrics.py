"""Scores computed in the core equal scikit-learn's scorers, bit for bit.

The core scores a search's models from their decision values (metrics.hpp);
where scikit-learn would warn or raise it leaves the model to scikit-learn.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.model_selection as skms
from sgdtune import GridSearchCV, SGDClassifier, SGDRegressor, _scoring
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer

from .test_search import assert_same_results

CLASSIFICATION = ["accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_weighted", "f1_micro",
                  "precision", "precision_macro", "precision_weighted", "precision_micro", "recall",
                  "recall_macro", "recall_weighted", "recall_micro", "roc_auc", "roc_auc_ovr",
                  "roc_auc_ovr_weighted", "neg_log_loss"]
REGRESSION = ["r2", "neg_mean_squared_error", "neg_root_mean_squared_error",
              "neg_mean_absolute_error"]


def _reference(scorer, model, X, y):
    """scikit-learn's score, or None where it raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return scorer(model, X, y)
    except (ValueError, AttributeError):
        return None


def _check(models, X, y, rows, names, classifier, max_bytes=32 << 20):
    """Every score the core gives equals scikit-learn's; returns how many the
    core gave and how many scikit-learn could give."""
    given = possible = 0
    for name in names:
        scorer = get_scorer(name)
        metrics = _scoring.core_metrics(scorer, classifier)
        assert metrics is not None, name
        got = _scoring._core_scores(models, X, y[rows], rows, metrics, 2, max_bytes)
        for i, model in enumerate(models):
            ref = _reference(scorer, model, X[rows], y[rows])
            possible += ref is not None
            if i in got:
                given += 1
                assert ref is not None, (name, i)
                assert got[i] == ref, (name, i, got[i], ref)  # exactly
    return given, possible


@pytest.mark.parametrize("n_classes,dtype,sparse",
                         list(itertools.product([2, 3, 11], [np.float64, np.float32],
                                                [False, True])))
def test_classification_scores_equal_scikit_learn(n_classes, dtype, sparse):
    X, y = make_classification(n_samples=2400, n_features=15, n_informative=8,
                               n_classes=n_classes, n_clusters_per_class=1,
                               random_state=n_classes)
    X = X.astype(dtype)
    y = np.array(["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis", "jay",
                  "kiwi"])[y] if n_classes == 11 else y  # string labels
    if sparse:
        X = sp.csr_matrix(X)
    models = [SGDClassifier(loss=loss, alpha=alpha, max_iter=3, tol=None, random_state=0)
              .fit(X[:900], y[:900])
              for loss in ["log_loss", "modified_huber", "hinge"] for alpha in [1e-4, 1e-2, 3.0]]
    rows = np.arange(900, 2400)  # over 128 rows: NumPy's sums recurse
    given, possible = _check(models, X, y, rows, CLASSIFICATION, True)
    # the core scores all but the few cases scikit-learn warns about
    assert given >= 0.85 * possible, (given, possible)


@pytest.mark.parametrize("x_dtype,y_dtype", list(itertools.product(
    [np.float64, np.float32], [np.float64, np.float32, np.int64])))
def test_regression_scores_equal_scikit_learn(x_dtype, y_dtype):
    X, y = make_regression(n_samples=3000, n_features=12, noise=5.0, random_state=0)
    X, y = X.astype(x_dtype), (3 * y).astype(y_dtype)
    models = [SGDRegressor(loss=loss, alpha=alpha, max_iter=3, tol=None, random_state=0)
              .fit(X[:1000], y[:1000])
              for loss in ["squared_error", "huber"] for alpha in [1e-4, 1e-1]]
    rows = np.arange(1000, 3000)
    given, possible = _check(models, X, y, rows, REGRESSION, False)
    assert given == possible == len(models) * len(REGRESSION)


def test_scores_do_not_depend_on_how_models_are_grouped():
    X, y = make_classification(n_samples=600, n_classes=3, n_informative=5, random_state=1)
    models = [SGDClassifier(loss="log_loss", alpha=a, max_iter=2, tol=None, random_state=0)
              .fit(X[:300], y[:300]) for a in [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]]
    rows = np.arange(300, 600)
    metrics = _scoring.core_metrics(get_scorer("roc_auc_ovr"), True)
    whole = _scoring._core_scores(models, X, y[rows], rows, metrics, 2)
    one_by_one = _scoring._core_scores(models, X, y[rows], rows, metrics, 1, max_bytes=0)
    assert whole == one_by_one and len(whole) == 5


def test_only_default_scorers_go_to_the_core():
    from sklearn.metrics import f1_score, make_scorer

    assert _scoring.core_metrics(make_scorer(f1_score, average="macro"), True) is not None
    assert _scoring.core_metrics(make_scorer(f1_score, pos_label=0), True) is None
    assert _scoring.core_metrics(make_scorer(f1_score, beta=2), True) is None
    assert _scoring.core_metrics(get_scorer("roc_auc_ovo"), True) is None
    assert _scoring.core_metrics(get_scorer("neg_median_absolute_error"), False) is None
    assert _scoring.core_metrics(get_scorer("f1_samples"), True) is None
    assert _scoring.core_metrics({"a": get_scorer("accuracy")}, True) is None  # not a scorer
    multi = skms._search._check_multimetric_scoring(
        SGDClassifier(), {"acc": "accuracy", "auc": "roc_auc"})
    from sklearn.metrics._scorer import _MultimetricScorer

    names = [m[0] for m in _scoring.core_metrics(_MultimetricScorer(scorers=multi), True)]
    assert names == ["acc", "auc"]


@pytest.mark.parametrize("sparse", [False, True])
def test_search_with_core_metrics_equals_scikit_learn(sparse):
    X, y = make_classification(n_samples=500, n_classes=3, n_informative=6, random_state=2)
    X = X.astype(np.float32)
    if sparse:
        X = sp.csr_matrix(X)
    scoring = {name: name for name in ["accuracy", "balanced_accuracy", "f1_macro",
                                       "precision_weighted", "recall_micro", "roc_auc_ovr",
                                       "neg_log_loss"]}
    # (no hinge: with several metrics, scikit-learn's search itself fails on a
    # model without predict_proba)
    grid = {"alpha": [1e-4, 1e-2], "loss": ["log_loss", "modified_huber"]}
    est = SGDClassifier(random_state=0, max_iter=5, tol=None)
    kw = {"scoring": scoring, "refit": "neg_log_loss", "return_train_score": True, "cv": 3}
    ours = GridSearchCV(est, grid, **kw).fit(X, y)
    theirs = skms.GridSearchCV(est, grid, **kw).fit(X, y)
    assert_same_results(ours, theirs)


def test_regression_search_float32_targets_equals_scikit_learn():
    X, y = make_regression(n_samples=400, n_features=6, noise=2.0, random_state=0)
    X, y = X.astype(np.float32), (y / y.std()).astype(np.float32)
    scoring = ["r2", "neg_mean_squared_error", "neg_root_mean_squared_error",
               "neg_mean_absolute_error"]
    grid = {"alpha": [1e-4, 1e-1], "loss": ["squared_error", "epsilon_insensitive"]}
    est = SGDRegressor(random_state=0, max_iter=5, tol=None)
    ours = GridSearchCV(est, grid, scoring=scoring, refit="r2", cv=3).fit(X, y)
    theirs = skms.GridSearchCV(est, grid, scoring=scoring, refit="r2", cv=3).fit(X, y)
    assert_same_results(ours, theirs)


def test_scores_scikit_learn_warns_about_keep_its_warning_and_value():
    # a model that never predicts the positive class: precision divides by zero
    X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    est = SGDClassifier(alpha=100.0, max_iter=2, tol=None, random_state=0)
    with pytest.warns(UndefinedMetricWarning):
        ours = GridSearchCV(est, {"loss": ["hinge"]}, scoring="precision", cv=3).fit(X, y)
    with pytest.warns(UndefinedMetricWarning):
        theirs = skms.GridSearchCV(est, {"loss": ["hinge"]}, scoring="precision",
                                   cv=3).fit(X, y)
    assert_same_results(ours, theirs)


def test_a_class_missing_from_a_fold_gives_scikit_learns_result():
    # log loss on a fold without one of the classes: scikit-learn raises, the
    # trial gets error_score, as in scikit-learn's search, and says why
    X, y = make_classification(n_samples=120, n_classes=3, n_informative=4, random_state=0)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    folds = [(np.arange(40, 120), np.arange(0, 40)), (np.arange(0, 80), np.arange(80, 120))]
    est = SGDClassifier(loss="log_loss", max_iter=3, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more of the test scores")
        with pytest.warns(UserWarning, match="Scoring failed"):  # scikit-learn's, passed on
            ours = GridSearchCV(est, {"alpha": [1e-3]}, scoring="neg_log_loss", cv=folds,
                                refit=False).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = skms.GridSearchCV(est, {"alpha": [1e-3]}, scoring="neg_log_loss", cv=folds,
                                   refit=False).fit(X, y)
    assert_same_results(ours, theirs)
    assert np.isnan(ours.cv_results_["split0_test_score"][0])
    # the failure and its reason are kept, as for a failed fit
    assert list(ours.cv_results_["status"]) == ["error"]
    assert ours.cv_results_["error"][0].startswith("scoring failed: ValueError")


def test_a_search_with_default_scorers_scores_in_the_core(monkeypatch):
    # no decision arrays are handed to Python: every score comes from the core
    def refuse(*args, **kwargs):
        raise AssertionError("scored in Python")

    monkeypatch.setattr(_scoring, "fold_decisions", refuse)
    X, y = make_classification(n_samples=300, random_state=0)
    grid = {"alpha": [1e-4, 1e-2], "loss": ["log_loss", "hinge"]}
    est = SGDClassifier(random_state=0, max_iter=5, tol=None)
    search = GridSearchCV(est, grid, scoring=["accuracy", "roc_auc", "f1"], refit="roc_auc",
                          cv=3, return_train_score=True).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_roc_auc"]))
    GridSearchCV(est, grid, cv=3).fit(X, y)  # scoring=None: the estimator's score


def test_core_scoring_arguments_are_checked():
    from sgdtune import _core

    X = np.zeros((4, 2))
    coef, b = np.zeros((1, 2)), np.zeros(1)
    offsets, proba, rows = np.array([0, 1]), np.zeros(1, np.int8), np.arange(4)
    table = np.array([[0, 0]], np.int32)
    codes = np.array([0, 1, 0, 1], np.int32)
    good = dict(X=X, coef=coef, intercept=b, offsets=offsets, proba=proba, rows=rows,
                metrics=table, n_classes=2, codes=codes, y=None, pos=1, float32_targets=False)
    scores, ok, _ = _core.score_dense(**good)
    assert ok[0] and scores[0, 0] == 0.5
    bad = [({"codes": np.array([0, 1, 0, 2], np.int32)}, "codes holds a value"),
           ({"codes": codes[:3]}, "codes has length 3"),
           ({"rows": np.array([0, 9])}, "rows holds a row index"),
           ({"offsets": np.array([0, 2])}, "offsets must run"),
           ({"metrics": np.array([[99, 0]], np.int32)}, "unknown metric"),
           ({"proba": np.array([7], np.int8)}, "unknown kind"),
           ({"n_classes": 1}, "n_classes must be"),
           ({"pos": 5}, "pos must be"),
           ({"coef": np.zeros((1, 3))}, "coef must have shape"),
           ({"codes": None}, "codes are needed"),
           ({"n_classes": 0, "pos": -1}, "y is needed")]
    for change, message in bad:
        with pytest.raises(ValueError, match=message):
            _core.score_dense(**{**good, **change})


def test_a_metric_the_core_computes_otherwise_goes_to_scikit_learn(monkeypatch):
    # Another scikit-learn or NumPy may compute a metric otherwise than the
    # core does; the core's scores are checked against the scorer's once, and
    # a metric off by a bit is scored by scikit-learn.
    from sgdtune import _core

    real = _core.score_dense

    def off_by_a_bit(*args, **kwargs):
        scores, ok, clipped = real(*args, **kwargs)
        return np.nextafter(scores, np.inf), ok, clipped

    monkeypatch.setattr(_scoring._core, "score_dense", off_by_a_bit)
    monkeypatch.setattr(_scoring, "_AGREEMENT", {})
    X, y = make_classification(n_samples=300, random_state=0)
    grid = {"alpha": [1e-4, 1e-2]}
    est = SGDClassifier(random_state=0, max_iter=5, tol=None)
    ours = GridSearchCV(est, grid, scoring=["accuracy", "roc_auc"], refit="accuracy", cv=3).fit(X, y)
    theirs = skms.GridSearchCV(est, grid, scoring=["accuracy", "roc_auc"], refit="accuracy",
                               cv=3).fit(X, y)
    assert_same_results(ours, theirs)
    assert not any(_scoring._AGREEMENT.values())


@pytest.mark.parametrize("sparse", [False, True])
def test_models_scored_in_groups_get_the_scores_of_one_group(sparse):
    # Wide models go to the core a few at a time (their stacked weights are
    # copied there); every model's scores are the ones it gets in one group.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40)) * (rng.uniform(size=(300, 40)) < 0.3)
    y = rng.integers(0, 3, size=300)
    if sparse:
        X = sp.csr_matrix(X)
    models = [SGDClassifier(alpha=a, loss=loss, max_iter=3, tol=None, random_state=0).fit(X, y)
              for a in (1e-4, 1e-2) for loss in ("hinge", "log_loss", "modified_huber")]
    scorers = {"acc": get_scorer("accuracy"), "bal": get_scorer("balanced_accuracy"),
               "f1": get_scorer("f1_macro")}
    metrics = _scoring.core_metrics(_scoring._MultimetricScorer(scorers=scorers), True)
    rows = np.arange(100, 300)
    whole = _scoring._core_scores(models, X, y[rows], rows, metrics, 2)
    one_by_one = _scoring._core_scores(models, X, y[rows], rows, metrics, 2, max_weight_bytes=1)
    pairs = _scoring._core_scores(models, X, y[rows], rows, metrics, 2,
                                  max_weight_bytes=2 * 3 * 40 * 8)
    assert len(whole) == len(models)
    assert one_by_one == whole and pairs == whole
