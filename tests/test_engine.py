"""Many estimators on many folds in one call: equal to fitting each one alone."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sgdtune import SGDClassifier, SGDRegressor
from sgdtune._engine import fit_folds
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import KFold, StratifiedKFold

CLASSIFIER_GRID = [
    {"alpha": 1e-4},
    {"alpha": 1e-3, "penalty": "l1"},
    {"alpha": 1e-3, "penalty": "elasticnet", "loss": "log_loss"},
    {"loss": "modified_huber", "average": 3},
    {"class_weight": "balanced", "learning_rate": "adaptive", "eta0": 0.05},
    {"batch_size": 16, "loss": "squared_hinge"},
    {"early_stopping": True, "validation_fraction": 0.2},
    {"tol": None, "max_iter": 4, "random_state": 7},
    # every fold starts from its own copy of the generator, as a clone would
    {"random_state": np.random.RandomState(5), "early_stopping": True},
]


def _assert_same_model(a, b):
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_classifier_folds_equal_separate_fits(sparse, dtype, n_jobs):
    X, y = make_classification(n_samples=300, n_features=15, n_informative=6,
                               n_classes=3, random_state=0)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X * (np.abs(X) > 0.7))
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=300)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    base = SGDClassifier(random_state=0, max_iter=30)
    ests = [clone(base).set_params(**p) for p in CLASSIFIER_GRID]
    fitted = fit_folds(ests, X, y, folds, sample_weight=sw, n_jobs=n_jobs)
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            want = clone(est).fit(X[train], y[train], sample_weight=sw[train])
            _assert_same_model(got, want)
            assert_array_equal(got.classes_, want.classes_)


def test_binary_classifier_and_unsorted_folds():
    X, y = make_classification(n_samples=200, random_state=1)
    rng = np.random.default_rng(1)
    folds = [(rng.permutation(200)[:150], None), (np.arange(199, 49, -1), None)]
    ests = [SGDClassifier(random_state=0, batch_size=b) for b in (1, 7)]
    fitted = fit_folds(ests, X, y, folds)
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            _assert_same_model(got, clone(est).fit(X[train], y[train]))


@pytest.mark.parametrize("estimator", [SGDClassifier(max_iter=5, tol=None, average=2),
                                       SGDRegressor(max_iter=5, tol=None)])
def test_fold_models_share_one_copy_of_the_weights(estimator):
    # A search's fold models hold their weights as views of the block they were
    # trained in (no per-model copy, coef_ not copied again), yet each is its own
    # model: training one further changes no other.
    if isinstance(estimator, SGDClassifier):
        X, y = make_classification(n_samples=200, n_features=12, random_state=2)
    else:
        X, y = make_regression(n_samples=200, n_features=12, random_state=2)
    folds = list(KFold(2).split(X))
    ests = [clone(estimator).set_params(alpha=a, random_state=0) for a in (1e-4, 1e-3, 1e-2)]
    fitted = fit_folds(ests, X, y, folds)
    models = [m for row in fitted for m in row]
    owners = {id(np.asarray(m.coef_).base) for m in models} - {id(None)}
    assert len(owners) <= len(folds) and all(m.coef_.base is not None for m in models)
    for m in models:
        assert np.shares_memory(m.coef_, m._standard_coef if m.average == 0 else m._average_coef)
    want = [m.coef_.copy() for m in models]
    models[0].partial_fit(X[:40], y[:40])
    assert not np.array_equal(models[0].coef_, want[0])
    for m, w in zip(models[1:], want[1:], strict=True):
        assert_array_equal(m.coef_, w)
    # and each still equals its model fitted alone
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            if got is not models[0]:
                _assert_same_model(got, clone(est).fit(X[train], y[train]))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_regressor_folds_equal_separate_fits(n_jobs):
    X, y = make_regression(n_samples=250, n_features=10, noise=5.0, random_state=0)
    y = y / y.std()
    folds = list(KFold(4).split(X))
    grid = [{}, {"loss": "huber", "alpha": 1e-3}, {"penalty": "l1", "batch_size": 8},
            {"average": True, "learning_rate": "constant", "eta0": 0.005},
            {"early_stopping": True, "random_state": 3}]
    ests = [SGDRegressor(random_state=0).set_params(**p) for p in grid]
    fitted = fit_folds(ests, X, y, folds, n_jobs=n_jobs)
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            _assert_same_model(got, clone(est).fit(X[train], y[train]))


def test_bad_arguments():
    X, y = make_classification(n_samples=50, random_state=0)
    with pytest.raises(TypeError, match="must all be sgdtune SGDClassifier or all SGDRegressor"):
        fit_folds([SGDClassifier(), SGDRegressor()], X, y, [(np.arange(40), None)])
    with pytest.raises(ValueError, match="fold 0 has no valid training rows"):
        fit_folds([SGDClassifier()], X, y, [(np.array([0, 60]), None)])
    with pytest.raises(ValueError, match="alpha"):
        fit_folds([SGDClassifier(alpha=-1.0)], X, y, [(np.arange(40), None)])
