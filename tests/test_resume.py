"""Resumable fits: training on from where a call stopped equals one longer fit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sgdtune import SGDClassifier, SGDRegressor
from sgdtune._engine import FoldFits, fold_decisions
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import KFold


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=12, n_informative=6, n_classes=3,
                               random_state=0)
    return X, y


CONFIGS = [
    dict(loss="hinge", penalty="l2"),
    dict(loss="log_loss", penalty="elasticnet", l1_ratio=0.5, average=10),
    dict(loss="modified_huber", penalty="l1", batch_size=8),
    dict(loss="hinge", penalty="l2", learning_rate="adaptive", eta0=0.1, tol=1e-2,
         n_iter_no_change=2),
    dict(loss="log_loss", penalty="l2", learning_rate="invscaling", eta0=0.05, batch_size=16,
         early_stopping=True, tol=1e-3, n_iter_no_change=2),
]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resumed_training_equals_one_call(data, sparse, dtype):
    X, y = data
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0))
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    ests = [SGDClassifier(random_state=1, tol=None, max_iter=7).set_params(**c) for c in CONFIGS]
    whole = FoldFits(ests, X, y, folds, errors="return").train()
    resumed = FoldFits(ests, X, y, folds, errors="return", resumable=True, n_jobs=1)
    resumed.train(2)
    resumed.n_jobs = 2  # a different split of the blocks over threads
    resumed.train(3)
    resumed.n_jobs = 1
    resumed.train(2)
    for i in range(len(ests)):
        for f in range(len(folds)):
            a, b = whole.fitted[i][f], resumed.fitted[i][f]
            assert_array_equal(a.coef_, b.coef_, err_msg=f"{CONFIGS[i]} fold {f}")
            assert_array_equal(a.intercept_, b.intercept_)
            assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_


def test_stopped_estimator_keeps_its_weights_and_others_are_unaffected(data):
    X, y = data
    folds = list(KFold(2, shuffle=True, random_state=0).split(X))
    ests = [SGDClassifier(alpha=a, tol=None, max_iter=6, random_state=0) for a in (1e-4, 1e-2)]
    fits = FoldFits(ests, X, y, folds, resumable=True)
    fits.train(2)
    frozen = [e.coef_.copy() for e in fits.fitted[0]]
    fits.stop(0)
    fits.train(4)
    for f in range(2):
        assert_array_equal(fits.fitted[0][f].coef_, frozen[f])
        assert fits.fitted[0][f].n_iter_ == 2
    alone = FoldFits(ests[1:], X, y, folds).train()
    for f in range(2):
        assert_array_equal(fits.fitted[1][f].coef_, alone.fitted[0][f].coef_)
        assert fits.fitted[1][f].n_iter_ == 6


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_pruned_estimators_leave_their_blocks_and_survivors_train_on_exactly(data, n_jobs):
    # eight 3-class estimators share one 24-column block a fold; as they are
    # pruned the block shrinks (and is split differently over the threads)
    X, y = data
    folds = list(KFold(2, shuffle=True, random_state=0).split(X))
    grid = [dict(alpha=a, penalty=p) for a in (1e-4, 1e-3, 1e-2) for p in ("l2", "l1", "elasticnet")]
    ests = [SGDClassifier(tol=None, max_iter=7, random_state=0, **g) for g in grid[:8]]
    fits = FoldFits(ests, X, y, folds, resumable=True, n_jobs=n_jobs)
    frozen = {}
    for epochs, pruned in ((2, (0, 2, 3, 5, 6)), (2, (1, 7)), (3, ())):
        fits.train(epochs)
        for i in pruned:
            frozen[i] = [(e.coef_.copy(), e.n_iter_) for e in fits.fitted[i]]
            fits.stop(i)
    for i, states in frozen.items():
        for f, (coef, n_iter) in enumerate(states):
            assert_array_equal(fits.fitted[i][f].coef_, coef)
            assert fits.fitted[i][f].n_iter_ == n_iter
    survivor = FoldFits([ests[4]], X, y, folds).train()
    for f in range(2):
        assert_array_equal(fits.fitted[4][f].coef_, survivor.fitted[0][f].coef_)
        assert_array_equal(fits.fitted[4][f].intercept_, survivor.fitted[0][f].intercept_)
        assert fits.fitted[4][f].n_iter_ == 7


def test_fold_decisions_equal_each_estimators_prediction():
    X, y = make_regression(n_samples=200, n_features=9, random_state=0)
    folds = list(KFold(2).split(X))
    ests = [SGDRegressor(alpha=a, max_iter=5, tol=None, random_state=0) for a in (1e-4, 1e-1)]
    fitted = FoldFits(ests, X, y, folds).train().fitted
    test = folds[0][1]
    scores = fold_decisions(X, [row[0] for row in fitted], test)
    for est_row, s in zip(fitted, scores, strict=True):
        assert_array_equal(s.ravel(), est_row[0].predict(X[test]))


def test_resumable_requires_epochs_and_plain_fits_cannot_stop(data):
    X, y = data
    folds = list(KFold(2).split(X))
    with pytest.raises(ValueError, match="number of epochs"):
        FoldFits([SGDClassifier()], X, y, folds, resumable=True).train()
    with pytest.raises(ValueError, match="resumable"):
        FoldFits([SGDClassifier()], X, y, folds).stop(0)
