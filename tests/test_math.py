"""The compiled trainer against mathematics: NumPy steps, optima, derivatives."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sgdtune import SGDClassifier, SGDRegressor, _core
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from . import _reference as ref

CLF_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron"]
REG_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]


def _binary_data(n=60, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _regression_data(n=60, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) + 1.0
    return X, y


@pytest.mark.parametrize("loss", CLF_LOSSES)
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
def test_full_batch_epochs_are_gradient_steps_classifier(loss, penalty):
    X, y = _binary_data()
    rng = np.random.default_rng(1)
    sw = rng.uniform(0.5, 2.0, size=len(y))
    w0, b0 = rng.normal(size=X.shape[1]) * 0.1, 0.2
    steps, eta, alpha = 4, 0.3, 0.05
    clf = SGDClassifier(
        loss=loss, penalty=penalty, alpha=alpha, l1_ratio=0.4, learning_rate="constant",
        eta0=eta, batch_size=len(y), max_iter=steps, tol=None, shuffle=False,
        class_weight={0: 1.5, 1: 0.7},
    )
    clf.fit(X, y, coef_init=w0.reshape(1, -1), intercept_init=[b0], sample_weight=sw)
    w, b, _ = ref.full_batch_gd(
        X, 2.0 * y - 1.0, loss, steps=steps, eta=eta, alpha=alpha, penalty=penalty,
        l1_ratio=0.4, sample_weight=sw, class_weight=(1.5, 0.7), w0=w0, b0=b0,
    )
    assert_allclose(clf.coef_.ravel(), w, rtol=1e-10, atol=1e-12)
    assert_allclose(clf.intercept_[0], b, rtol=1e-10, atol=1e-12)
    assert clf.n_iter_ == steps
    assert clf.t_ == steps + 1


@pytest.mark.parametrize("loss", REG_LOSSES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_full_batch_epochs_are_gradient_steps_regressor(loss, fit_intercept):
    X, y = _regression_data()
    steps, eta, alpha = 5, 0.2, 0.01
    reg = SGDRegressor(
        loss=loss, alpha=alpha, learning_rate="constant", eta0=eta, batch_size=len(y),
        max_iter=steps, tol=None, epsilon=0.2, fit_intercept=fit_intercept,
    )
    reg.fit(X, y)
    w, b, _ = ref.full_batch_gd(
        X, y, loss, steps=steps, eta=eta, alpha=alpha, epsilon=0.2, fit_intercept=fit_intercept
    )
    assert_allclose(reg.coef_, w, rtol=1e-10, atol=1e-12)
    assert_allclose(reg.intercept_[0], b, rtol=1e-10, atol=1e-12)


def test_multiclass_columns_are_one_vs_rest_gradient_steps():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 5))
    y = rng.integers(0, 3, size=90)
    clf = SGDClassifier(
        loss="log_loss", alpha=0.01, learning_rate="constant", eta0=0.5, batch_size=90,
        max_iter=3, tol=None, class_weight={0: 2.0, 1: 1.0, 2: 0.5},
    ).fit(X, y)
    for k, cw in enumerate([2.0, 1.0, 0.5]):
        yk = np.where(y == k, 1.0, -1.0)
        # one-vs-rest: the class's own weight for its positives, 1 for the rest
        w, b, _ = ref.full_batch_gd(X, yk, "log_loss", steps=3, eta=0.5, alpha=0.01,
                                    class_weight=(1.0, cw))
        assert_allclose(clf.coef_[k], w, rtol=1e-10)
        assert_allclose(clf.intercept_[k], b, rtol=1e-10)


def test_float32_training_matches_float64_closely():
    X, y = _binary_data(n=200, d=10)
    kw = dict(loss="log_loss", learning_rate="constant", eta0=0.1, batch_size=200,
              max_iter=20, tol=None)
    c64 = SGDClassifier(**kw).fit(X, y)
    c32 = SGDClassifier(**kw).fit(X.astype(np.float32), y)
    assert c32.coef_.dtype == np.float32 and c32.intercept_.dtype == np.float32
    assert c64.coef_.dtype == np.float64
    assert_allclose(c32.coef_, c64.coef_, rtol=1e-4, atol=1e-5)


def _logistic_objective(theta, X, y, alpha):
    w, b = theta[:-1], theta[-1]
    z = y * (X @ w + b)
    return np.mean(np.logaddexp(0.0, -z)) + 0.5 * alpha * w @ w


def test_l2_logistic_reaches_the_optimum():
    X, y = _binary_data(n=300, d=6, seed=5)
    ys = 2.0 * y - 1.0
    alpha = 0.01
    clf = SGDClassifier(loss="log_loss", alpha=alpha, learning_rate="constant", eta0=1.0,
                        batch_size=len(y), max_iter=3000, tol=None).fit(X, y)
    opt = scipy.optimize.minimize(_logistic_objective, np.zeros(7), args=(X, ys, alpha),
                                  method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    assert_allclose(clf.coef_.ravel(), opt.x[:-1], rtol=1e-5, atol=1e-6)
    assert_allclose(clf.intercept_[0], opt.x[-1], rtol=1e-5, atol=1e-6)
    # The same objective as LogisticRegression with C = 1 / (n alpha).
    lr = LogisticRegression(C=1.0 / (len(y) * alpha), tol=1e-12, max_iter=10000).fit(X, y)
    assert_allclose(clf.coef_, lr.coef_, rtol=1e-4, atol=1e-5)


def test_minibatch_sgd_with_averaging_approaches_the_optimum():
    X, y = _binary_data(n=2000, d=6, seed=6)
    alpha = 0.01
    clf = SGDClassifier(loss="log_loss", alpha=alpha, batch_size=32, average=True,
                        max_iter=60, tol=None, random_state=0).fit(X, y)
    opt = scipy.optimize.minimize(_logistic_objective, np.zeros(7),
                                  args=(X, 2.0 * y - 1.0, alpha), method="L-BFGS-B")
    assert_allclose(clf.coef_.ravel(), opt.x[:-1], rtol=0.03, atol=0.01)
    sgd_obj = _logistic_objective(np.r_[clf.coef_.ravel(), clf.intercept_], X, 2.0 * y - 1.0, alpha)
    assert sgd_obj <= opt.fun * 1.001


def test_l2_squared_error_matches_ridge():
    X, y = _regression_data(n=400, d=5, seed=2)
    alpha = 0.05
    reg = SGDRegressor(alpha=alpha, learning_rate="constant", eta0=0.5, batch_size=len(y),
                       max_iter=2000, tol=None).fit(X, y)
    # (1/n) sum (y - p)^2 / 2 + alpha / 2 |w|^2  <=>  Ridge with alpha_ridge = n alpha
    ridge = Ridge(alpha=len(y) * alpha).fit(X, y)
    assert_allclose(reg.coef_, ridge.coef_, rtol=1e-6)
    assert_allclose(reg.intercept_[0], ridge.intercept_, rtol=1e-6)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("batch_size", [1, 16])
def test_l1_gives_exact_zeros_on_irrelevant_features(sparse, batch_size):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 30))
    y = (X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2] > 0).astype(int)
    if sparse:
        X = sp.csr_matrix(X)
    clf = SGDClassifier(penalty="l1", alpha=0.01, batch_size=batch_size, max_iter=30,
                        tol=None, random_state=0).fit(X, y)
    coef = clf.coef_.ravel()
    assert np.all(coef[:3] != 0)
    assert np.sum(coef[3:] == 0) >= 20
    l2 = SGDClassifier(penalty="l2", alpha=0.01, batch_size=batch_size, max_iter=30,
                       tol=None, random_state=0).fit(X, y)
    assert np.sum(l2.coef_ == 0) == 0


@pytest.mark.parametrize("loss", list(_core.Loss.__members__))
def test_loss_derivative_matches_finite_difference(loss):
    kind = _core.Loss.__members__[loss]
    rng = np.random.default_rng(0)
    p = rng.uniform(-3, 3, size=400)
    if loss in REG_LOSSES:
        y = rng.uniform(-3, 3, size=400)
    else:
        y = rng.choice([-1.0, 1.0], size=400)
    eps, h = 0.3, 1e-6
    # keep away from the kinks, where the derivative is one-sided
    kinks = np.concatenate([[1.0, -1.0, 0.0] if loss not in REG_LOSSES else [], []])
    if loss in REG_LOSSES:
        r = p - y
        keep = np.min(np.abs(r[:, None] - np.array([eps, -eps, 0.3, -0.3])), axis=1) > 1e-3
    else:
        z = p * y
        keep = np.min(np.abs(z[:, None] - kinks[None, :]), axis=1) > 1e-3
    p, y = p[keep], y[keep]
    value = _core.loss_value(kind, eps, p, y)
    deriv = _core.loss_derivative(kind, eps, p, y)
    numeric = (_core.loss_value(kind, eps, p + h, y) - _core.loss_value(kind, eps, p - h, y)) / (2 * h)
    assert_allclose(deriv, numeric, rtol=1e-5, atol=1e-6)
    assert_allclose(value, ref.loss(loss, p, y, eps), rtol=1e-12, atol=1e-12)
    assert_allclose(deriv, ref.dloss(loss, p, y, eps), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", list(_core.Loss.__members__))
def test_loss_vector_forms_give_the_scalar_bits(loss):
    # The trainer computes losses and their derivatives four rows (or
    # columns, or eight columns) at a time; a row's numbers must not depend
    # on which rows share its vector, nor on whether the last rows of a batch
    # go one by one.
    # Margins in every branch: log loss's beyond +-18 and +-746 (and its
    # middle, where exp's and log1p's last bits show), the hinges' kinks.
    kind = _core.Loss.__members__[loss]
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.uniform(-20, 20, 4000), rng.uniform(-800, 800, 1000),
                        [-746.5, -746.0, -18.0, -1.0, 0.0, 1.0, 18.0, 745.5, 746.0, 746.5, 1e6, -1e6],
                        rng.uniform(-1e-9, 1e-9, 100)])
    if loss in REG_LOSSES:
        y = rng.normal(size=z.size)
        p = y + z * rng.choice([1e-3, 1.0], size=z.size)
    else:
        y = rng.choice([-1.0, 1.0], size=z.size)
        p = z * y
    forms = _core.loss_forms(kind, 0.3, p, y)
    if "four" not in forms:
        pytest.skip("this build has no vector forms")
    for lanes in ("four", "eight"):
        assert_array_equal(forms[lanes][0], forms["scalar"][0], err_msg=lanes)
        assert_array_equal(forms[lanes][1], forms["scalar"][1], err_msg=lanes)
    assert np.all(np.isfinite(forms["scalar"][0]))


def test_log_loss_value_is_within_two_units_in_the_last_place():
    # log1p(exp(-z)) in sgdtune's own exp and log1p (the same numbers in
    # vector code), against an extended-precision reference rounded to float64:
    # at most 2 units measured here, as NumPy's float64 log1p of its own exp
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.uniform(-18, 18, 100_000), np.linspace(-18, 18, 10_001),
                        rng.uniform(-1e-7, 1e-7, 1000), rng.uniform(18, 746, 1000)])
    v = _core.loss_value(_core.Loss.log_loss, 0.0, z, np.ones_like(z))
    zl = z.astype(np.longdouble)
    exact = np.where(z > 18, np.exp(-zl), np.log1p(np.exp(-zl))).astype(np.float64)
    tolerance = 2 if np.finfo(np.longdouble).nmant >= 63 else 3  # (a long double that is a double)
    assert np.all(np.abs(v - exact) <= tolerance * np.spacing(np.abs(exact)))
    assert _core.loss_value(_core.Loss.log_loss, 0.0, np.array([747.0]), np.ones(1))[0] == 0.0


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron",
                                  "squared_error", "huber", "epsilon_insensitive"])
@pytest.mark.parametrize("scaled", [False, True])
def test_batch_step_coefficients_are_the_row_by_row_numbers(loss, scaled):
    # A mini-batch's step coefficients go four rows at a time in vector code
    # (log loss's exp included), with the loss values too where they are
    # summed (tol set), and a batch's last rows one by one: the model must not
    # depend on whether the loss is summed. Rows scaled from 0.01 to 1000 put
    # log loss's margins in every branch of its derivative (beyond 18 and
    # beyond 746 too); unscaled ones, most of them in the middle, where exp's
    # last bits show in the model.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 13))
    if scaled:
        X *= 10.0 ** rng.integers(-2, 4, size=(300, 1))
    kw = {"loss": loss, "batch_size": 9, "max_iter": 4, "random_state": 0,
          "learning_rate": "constant", "eta0": 0.1}
    if loss in REG_LOSSES:
        y, cls = X[:, 0] + rng.normal(size=300), SGDRegressor
    else:
        y, cls = (X[:, 0] + rng.normal(size=300) > 0).astype(int), SGDClassifier
    vector = cls(tol=None, **kw).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scalar = cls(tol=0.0, n_iter_no_change=100, **kw).fit(X, y)
    assert scalar.n_iter_ == 4
    assert np.all(np.isfinite(vector.coef_))
    assert_array_equal(vector.coef_, scalar.coef_)
    assert_array_equal(vector.intercept_, scalar.intercept_)


def test_log_loss_derivative_is_within_a_few_units_in_the_last_place():
    # exp is sgdtune's own (the same numbers in vector code): close to NumPy's.
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-18, 18, 20000), rng.uniform(18, 700, 20000)])
    d = _core.loss_derivative(_core.Loss.log_loss, 0.0, z, np.ones_like(z))
    expected = np.where(z > 18, -np.exp(-np.maximum(z, 18)), -1 / (np.exp(np.minimum(z, 18)) + 1))
    ulps = np.abs(d - expected) / np.spacing(np.abs(expected))
    assert ulps.max() <= 3  # (2 measured here; NumPy's own exp may be one off)
    # and below the smallest normal number, one rounding
    z = np.linspace(709, 746, 2001)
    d = _core.loss_derivative(_core.Loss.log_loss, 0.0, z, np.ones_like(z))
    assert np.abs(d + np.exp(-z)).max() <= 5e-324
    assert d[-1] == 0.0


def test_log_loss_is_finite_for_extreme_margins():
    p = np.array([-1e4, -50.0, 50.0, 1e4])
    y = np.ones(4)
    v = _core.loss_value(_core.Loss.log_loss, 0.0, p, y)
    d = _core.loss_derivative(_core.Loss.log_loss, 0.0, p, y)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(d))
    assert_allclose(v[0], 1e4)
    assert_allclose(d[0], -1.0)


@pytest.mark.parametrize("average", [1, 3])
def test_averaging_is_the_running_mean_of_iterates(average):
    X, y = _binary_data(n=50, d=4)
    steps = 8
    kw = dict(loss="log_loss", learning_rate="constant", eta0=0.5, batch_size=50,
              tol=None, alpha=0.01)
    avg = SGDClassifier(average=average, max_iter=steps, **kw).fit(X, y)
    _, _, iterates = ref.full_batch_gd(X, 2.0 * y - 1.0, "log_loss", steps=steps, eta=0.5, alpha=0.01)
    ws = np.array([w for w, _ in iterates[average - 1:]])
    bs = np.array([b for _, b in iterates[average - 1:]])
    assert_allclose(avg.coef_.ravel(), ws.mean(axis=0), rtol=1e-9)
    assert_allclose(avg.intercept_[0], bs.mean(), rtol=1e-9)
    # the standard (non-averaged) weights are the last iterate
    assert_allclose(avg._standard_coef.ravel(), iterates[-1][0], rtol=1e-9)


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
@pytest.mark.parametrize("average", [False, True])
def test_sparse_and_dense_input_train_the_same_model(penalty, average):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 20)) * (rng.uniform(size=(300, 20)) < 0.3)
    y = (X @ rng.normal(size=20) > 0).astype(int)
    kw = dict(penalty=penalty, average=average, fit_intercept=False, max_iter=5, tol=None,
              random_state=0, alpha=0.001)
    for bs in (1, 7):
        dense = SGDClassifier(batch_size=bs, **kw).fit(X, y)
        sparse = SGDClassifier(batch_size=bs, **kw).fit(sp.csr_matrix(X), y)
        # L1 touches only a sparse row's non-zeros, dense rows touch every weight
        if penalty == "l2":
            assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
        else:
            assert np.corrcoef(sparse.coef_.ravel(), dense.coef_.ravel())[0, 1] > 0.95


def test_csr_with_int64_indices_equals_int32():
    rng = np.random.default_rng(2)
    X = sp.random(200, 50, density=0.1, random_state=2, format="csr")
    y = rng.integers(0, 2, size=200)
    a = SGDClassifier(random_state=0, max_iter=5, tol=None).fit(X, y)
    X64 = X.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    b = SGDClassifier(random_state=0, max_iter=5, tol=None).fit(X64, y)
    assert_array_equal(a.coef_, b.coef_)


def test_partial_fit_epochs_equal_fit_epochs():
    X, y = _binary_data(n=100, d=5)
    kw = dict(shuffle=False, alpha=0.01, batch_size=10)
    fit = SGDClassifier(max_iter=4, tol=None, **kw).fit(X, y)
    pf = SGDClassifier(**kw)
    for _ in range(4):
        pf.partial_fit(X, y, classes=[0, 1])
    assert_allclose(pf.coef_, fit.coef_, rtol=1e-12)
    assert pf.t_ == fit.t_ == 1 + 4 * 10


def test_t_counts_updates():
    X, y = _binary_data(n=100, d=5)
    clf = SGDClassifier(batch_size=30, max_iter=3, tol=None).fit(X, y)
    assert clf.t_ == 1 + 3 * 4  # ceil(100 / 30) = 4 updates an epoch
    clf = SGDClassifier(batch_size=1, max_iter=3, tol=None).fit(X, y)
    assert clf.t_ == 1 + 3 * 100  # scikit-learn's t_ = n_iter_ * n_samples + 1


@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_csr_with_duplicate_entries_trains_like_its_canonical_form(batch_size, penalty, alpha):
    # (alpha 0.3: the L1 step clips weights to zero at many steps)
    rng = np.random.default_rng(4)
    n, d = 120, 15
    rows = np.repeat(np.arange(n), 6)
    cols = rng.integers(0, d, size=rows.size)  # repeats within a row are likely
    vals = rng.uniform(0.5, 1.5, size=rows.size)
    canon = sp.csr_matrix((vals, (rows, cols)), shape=(n, d))
    canon.sum_duplicates()
    # every stored value v split into two entries of the same column, v + 1 and -1
    split = np.column_stack([canon.data + 1.0, np.full(canon.nnz, -1.0)]).ravel()
    raw = sp.csr_matrix((split, np.repeat(canon.indices, 2), canon.indptr * 2), shape=(n, d))
    assert not raw.has_canonical_format
    canon = raw.copy()
    canon.sum_duplicates()  # (v + 1 - 1, rounded)
    assert canon.nnz * 2 == raw.nnz
    y = (np.asarray(canon @ rng.normal(size=d)).ravel() > 0).astype(int)
    kw = dict(penalty=penalty, alpha=alpha, batch_size=batch_size, max_iter=4, tol=None,
              random_state=0, fit_intercept=False)
    a = SGDClassifier(**kw).fit(raw, y)
    b = SGDClassifier(**kw).fit(canon, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-12)


def _isa_levels():
    # the levels this CPU can run, lowest first
    levels = ["baseline", "avx2", "avx512"]
    return levels[: levels.index(_core.isa()) + 1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3, 15])
def test_instruction_sets_give_identical_models(dtype, sparse, n_classes):
    # The kernels run the best build the CPU has (AVX2, and AVX-512 for the
    # mini-batch kernels); every sum's order is fixed, so each lower build must
    # give the same bits. Two classes: a one-column block, whose AVX2 update
    # and L1 step at batch_size 1 go in one pass; 15: a block whose columns go
    # through every tile width of the mini-batch kernels (8, 4, 2 and 1).
    # 37 features: whole 512-bit vectors and a partial rest; batches of 9
    # rows: tiles of four rows and a single one.
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(400, 37)) * (rng.uniform(size=(400, 37)) < 0.5)).astype(dtype)
    y = rng.integers(0, n_classes, size=400)
    if sparse:
        X = sp.csr_matrix(X)
    kw = {"max_iter": 4, "tol": None, "random_state": 0}
    # (batch_size, average, loss, penalty): hinge leaves most rows without an
    # update, so that a row's L1 step goes alone, not with its update; L1
    # without L2 keeps the scale at 1, where AVX-512's L1 step leaves out its
    # products with it
    runs = [(1, 5, "log_loss", "elasticnet"), (1, False, "hinge", "elasticnet"),
            (1, 5, "hinge", "elasticnet"), (9, False, "log_loss", "elasticnet"),
            (9, 5, "log_loss", "elasticnet"), (1, False, "log_loss", "l1"), (1, False, "hinge", "l1")]
    models, decisions = {}, {}
    for level in _isa_levels():
        _core.limit_isa(level)
        try:
            models[level] = [SGDClassifier(batch_size=b, average=avg, loss=loss, penalty=pen,
                                           **kw).fit(X, y)
                             for b, avg, loss, pen in runs]
            # (15 classes: AVX-512 takes the decision values eight columns at a time)
            decisions[level] = [m.decision_function(X) for m in models[level]]
        finally:
            _core.limit_isa("avx512")
    assert _core.isa() == _isa_levels()[-1]
    best = models.pop(_core.isa())
    best_decisions = decisions.pop(_core.isa())
    for level, ms in models.items():
        for auto, low in zip(best, ms, strict=True):
            assert_array_equal(auto.coef_, low.coef_, err_msg=level)
            assert_array_equal(auto.intercept_, low.intercept_, err_msg=level)
        for auto, low in zip(best_decisions, decisions[level], strict=True):
            assert_array_equal(auto, low, err_msg=level)


def _sparse_rows(X, repeated):
    # CSR of X; repeated: each stored value v as two entries of its column, v + 1 and -1
    csr = sp.csr_matrix(X)
    if not repeated:
        return csr
    counts = np.diff(csr.indptr)
    data = np.stack([csr.data + 1, -np.ones_like(csr.data)], axis=1).ravel()
    indices = np.repeat(csr.indices, 2)
    indptr = np.concatenate([[0], np.cumsum(2 * counts)])
    out = sp.csr_matrix((data, indices, indptr), shape=csr.shape)
    assert not out.has_canonical_format
    return out


def _fit_or_error(est, X, y, **fit_kw):
    # the fitted model's numbers, or the error's text where training diverged
    try:
        est.fit(X, y, **fit_kw)
    except ValueError as e:
        return str(e)
    return est.coef_.copy(), est.intercept_.copy(), est.n_iter_, est.t_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# sparse: CSR rows, canonical ("canonical") or with every value split into
# two entries of its column ("repeated": the L1 step then visits the row's
# distinct features)
@pytest.mark.parametrize("sparse", [None, "canonical", "repeated"])
def test_one_model_row_loop_gives_the_block_loops_numbers(dtype, sparse):
    # A one-column model at batch_size 1, without averaging, trains its
    # epochs in a row loop of its own (AVX2 and AVX-512 builds); the
    # baseline build takes the block's general loop. Each model must be the
    # same bit for bit, and must diverge at the same epoch: every schedule,
    # every classification and regression loss, each penalty, the L2 scale
    # renormalised (alpha 10: the first steps shrink the weights to nothing),
    # sample and class weights, the tol criterion's loss sums, early stopping,
    # and sparse rows' intercept decay.
    if "avx2" not in _isa_levels():
        pytest.skip("the row loop is compiled for AVX2 and AVX-512 only")
    rng = np.random.default_rng(3)
    X_base = rng.normal(size=(150, 19)).astype(dtype)  # (two whole eights and a rest)
    y_clf = (X_base[:, 0] - X_base[:, 1] + 0.5 * rng.normal(size=150) > 0).astype(int)
    y_reg = X_base[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=150) + 1.0
    sw = rng.uniform(0.2, 3.0, size=150)
    common = {"max_iter": 6, "random_state": 0, "tol": None}
    cases = []
    for i, loss in enumerate(CLF_LOSSES):
        for j, penalty in enumerate(["l2", "l1", "elasticnet", None]):
            schedule = ["optimal", "constant", "invscaling", "adaptive"][(i + j) % 4]
            cases.append(("clf", {"loss": loss, "penalty": penalty, "learning_rate": schedule,
                                  "eta0": 0.05, "alpha": [1e-4, 1e-3, 10.0][(i + j) % 3]}))
    for i, loss in enumerate(REG_LOSSES):
        for penalty in ["l2", "elasticnet"]:
            cases.append(("reg", {"loss": loss, "penalty": penalty, "alpha": 1e-3,
                                  "learning_rate": ["invscaling", "constant"][i % 2], "eta0": 0.01}))
    cases += [
        ("clf", {"loss": "log_loss", "penalty": "l1", "class_weight": {0: 2.0, 1: 0.5},
                 "tol": 1e-3, "n_iter_no_change": 2, "max_iter": 30}),
        ("clf", {"loss": "hinge", "penalty": "elasticnet", "early_stopping": True,
                 "validation_fraction": 0.2, "n_iter_no_change": 2, "max_iter": 30, "tol": 1e-3}),
        ("reg", {"loss": "squared_error", "penalty": "l2", "tol": 1e-4, "max_iter": 30}),
        # features near the type's largest numbers: the steps overflow, and
        # training diverges
        ("reg", {"loss": "squared_error", "learning_rate": "constant", "eta0": 1e3, "big": True}),
        ("clf", {"loss": "squared_hinge", "learning_rate": "constant", "eta0": 1e4,
                 "penalty": "l1", "big": True}),
    ]
    diverged = 0
    for kind, kw in cases:
        make = SGDClassifier if kind == "clf" else SGDRegressor
        y = y_clf if kind == "clf" else y_reg
        big = kw.pop("big", False)
        X = X_base * dtype(1e30 if dtype == np.float32 else 1e150) if big else X_base
        if sparse:
            X = _sparse_rows(X * (np.abs(X_base) > 0.5), sparse == "repeated")
        fits = {}
        for level in ("baseline", _core.isa()):
            _core.limit_isa(level)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    fits[level] = _fit_or_error(make(**{**common, **kw}), X, y, sample_weight=sw)
            finally:
                _core.limit_isa("avx512")
        base, best = fits["baseline"], fits[_core.isa()]
        if isinstance(base, str):
            assert best == base, kw
            diverged += 1
            continue
        assert not isinstance(best, str), (kw, best)
        for a, b in zip(base, best, strict=True):
            assert_array_equal(a, b, err_msg=str(kw))
    assert diverged == 2


def _same_bits(a, b):
    # equal bit for bit where not NaN (a NaN's payload may differ), NaN at the same places
    nan = np.isnan(a)
    return np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].view(np.int64),
                                                              b[~nan].view(np.int64))


@pytest.mark.parametrize("seed", range(4))
def test_l1_step_vector_forms_give_the_scalar_steps_bits(seed):
    # The cumulative-penalty step takes w > 0 to max(0, w - (u + q)), w < 0 to
    # min(0, w + (u - q)), anything else to +0; the vector kernels compute the
    # two branches as one through the weight's sign bit. Every weight and
    # record must be the scalar step's, bit for bit: signed zeros, NaN,
    # infinities, weights at the threshold, and records a rounding beyond +-u
    # (which the one-branch form, without its w != 0 test, would turn into a
    # weight of its own) among the inputs.
    rng = np.random.default_rng(seed)
    n = 1003  # whole vectors of 8 and 4 and a rest
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, -1e-300, 5e-324, -5e-324])
    for _ in range(50):
        u = float(rng.uniform() * 10.0 ** rng.integers(-8, 2)) if rng.uniform() > 0.05 else 0.0
        s = float(rng.uniform(0.5, 1.5) * 10.0 ** rng.integers(-5, 1)) if rng.uniform() > 0.2 else 1.0
        w = rng.uniform(-1, 1, n) * 10.0 ** rng.integers(-10, 4, n)
        pick = rng.uniform(size=n)
        w[pick < 0.1] = rng.choice(specials, size=int((pick < 0.1).sum()))
        at = (pick >= 0.1) & (pick < 0.2)  # weights whose true value is +-u
        w[at] = rng.choice([-1.0, 1.0], size=int(at.sum())) * u / s
        q = rng.uniform(-1, 1, n) * u
        beyond = rng.uniform(size=n)
        q[beyond < 0.1] = rng.choice([-1.0, 1.0], size=int((beyond < 0.1).sum())) * u * (1 + 1e-7)
        q[(beyond >= 0.1) & (beyond < 0.15)] = -u
        q[(beyond >= 0.15) & (beyond < 0.2)] = u
        q[(beyond >= 0.2) & (beyond < 0.22)] = np.nan
        forms = _core.l1_step_forms(w, q, s, u)
        ref_w, ref_q = forms.pop("scalar")
        if "four" not in forms:  # (a compiler without vector extensions: no vector form)
            pytest.skip("this build has no vector kernels")
        if _core.isa() == "avx512":
            assert "eight" in forms
        for name, (nw, nq) in forms.items():
            assert _same_bits(nw, ref_w), name
            assert _same_bits(nq, ref_q), name


@pytest.mark.skipif(bool(os.environ.get("SGDTUNE_SANITIZED")),
                    reason="starts fresh interpreters, which the sanitizer runs do not set up")
@pytest.mark.parametrize("value", ["baseline", "avx2", "sse9"])
def test_sgdtune_isa_environment_variable_caps_the_kernels(value):
    # (a fresh process: the kernels read the variable once)
    import subprocess
    import sys
    code = "import warnings, sgdtune; from sgdtune import _core; print(_core.isa())"
    run = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                         env={**os.environ, "SGDTUNE_ISA": value}, check=True)
    levels = ["baseline", "avx2", "avx512"]
    best = _core.isa()
    if value in levels:
        want = levels[min(levels.index(value), levels.index(best))]
        assert run.stdout.strip() == want
        assert "SGDTUNE_ISA" not in run.stderr
    else:  # ignored, with a warning
        assert run.stdout.strip() == best
        assert "SGDTUNE_ISA must be" in run.stderr


def test_limit_isa_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="level must be"):
        _core.limit_isa("sse9")


@pytest.mark.parametrize("d", [1, 2, 3, 7, 8, 9, 16, 17, 33])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minibatch_kernels_read_nothing_past_the_data(d, dtype):
    # The dense mini-batch kernels read rows in groups of eight features; here
    # X is followed in memory by NaN, which any read past its last row would
    # carry into the model.
    rng = np.random.default_rng(d)
    n = 40
    buf = np.full(n * d + 64, np.nan, dtype=dtype)
    X = buf[:n * d].reshape(n, d)
    X[:] = rng.normal(size=(n, d))
    y = rng.integers(0, 3, size=n)
    kw = {"batch_size": 4, "max_iter": 3, "tol": None, "random_state": 0, "average": 2,
          "penalty": "elasticnet"}
    a = SGDClassifier(**kw).fit(X, y)
    b = SGDClassifier(**kw).fit(X.copy(), y)
    assert np.all(np.isfinite(a.coef_))
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
