"""The compiled core's job interface: many blocks in one call, any grouping.

These are the guarantees the search engine builds on: a trial's numbers do not
depend on which other trials share its block, on the other jobs of the call,
or on the thread count.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sgdtune import _core


def _spec(alpha, loss="hinge", penalty="l2", average=0):
    s = _core.ColumnSpec()
    s.average = average
    s.loss = _core.Loss.__members__[loss]
    s.penalty = _core.Penalty.__members__[penalty]
    s.alpha = alpha
    s.target_class = 1
    return s


def _options(seed=3, batch_size=4):
    o = _core.TrainOptions()
    o.max_iter = 3
    o.use_tol = False
    o.batch_size = batch_size
    o.seed = seed
    return o


def _job(y, rows, specs, d, options, averaging=False, dtype=np.float64):
    k = len(specs)
    return _core.Job(
        y=y, sample_weight=None, train_idx=rows, val_idx=np.empty(0, np.int64),
        coef=np.zeros((k, d), dtype), intercept=np.zeros(k, dtype),
        avg_coef=np.zeros((k, d), dtype) if averaging else None,
        avg_intercept=np.zeros(k, dtype) if averaging else None, specs=specs, options=options,
    )


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(np.float64)
    folds = [np.arange(0, 200, dtype=np.int64), np.arange(100, 300, dtype=np.int64)]
    return X, y, folds


def _train(X, jobs, n_threads):
    if sp.issparse(X):
        return _core.train_csr(X.data, X.indices, X.indptr, X.shape[0], X.shape[1], jobs,
                               n_threads)
    return _core.train_dense(X, jobs, n_threads)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("averaging", [False, True])
# sparse: "canonical" rows hold no repeated column, and the trainer is told so
# (as the estimators tell it for canonical CSR input: a one-column block then
# takes a row's update and L1 step in one pass); "may repeat": it is not told
@pytest.mark.parametrize("sparse", [None, "may repeat", "canonical"])
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_trials_fused_in_one_block_equal_trials_alone(data, n_threads, batch_size, sparse,
                                                      averaging, dtype):
    X, y, folds = data
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X * (np.abs(X) > 0.8))
        assert X.has_canonical_format
    options = _options(batch_size=batch_size)
    options.unique_row_indices = sparse == "canonical"
    # L1 columns in groups of four and one left over, between L2 and no-L1 ones
    alphas = [1e-4, 1e-3, 1e-2, 1e-3, 3e-4, 1e-5, 2e-3, 1e-4]
    penalties = ["l2", "l1", "elasticnet", "l1", "elasticnet", "l2", "l1", "none"]
    # with averaging: from the start, from update 30, and not at all
    averages = [1, 30, 0, 1, 30, 1, 1, 0] if averaging else [0] * 8
    configs = list(zip(alphas, penalties, averages, strict=True))
    specs = [_spec(a, penalty=p, average=m) for a, p, m in configs]
    fused = _job(y, folds[0], specs, X.shape[1], options, averaging, dtype)
    _train(X, [fused], n_threads)
    for i, (a, p, m) in enumerate(configs):
        alone = _job(y, folds[0], [_spec(a, penalty=p, average=m)], X.shape[1], options,
                     averaging, dtype)
        _train(X, [alone], 1)
        assert_array_equal(fused.coef[i], alone.coef[0])
        assert_array_equal(fused.intercept[i], alone.intercept[0])
        if averaging:
            assert_array_equal(fused.avg_coef[i], alone.avg_coef[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("d", [2000, 8000])
def test_wide_sparse_blocks_equal_trials_alone(d, n_threads, batch_size, dtype):
    # A sparse job whose weights outgrow a second-level cache (8,000
    # features) is cut into chunks of one cache line of columns (8 float64,
    # 16 float32); one whose weights fit (2,000) stays one 21-column block.
    # The AVX-512 kernels take a sparse row's update and L1 step eight columns
    # at a time in one pass, and a 21-column block's last five columns by the
    # four-column code: every column still gets the model it gets alone.
    # 21 columns (hinge and log loss; L2, L1, elastic-net and none), rows of
    # 0 to 40 non-zeros, a feature most rows share.
    rng = np.random.default_rng(7)
    n = 240
    lengths = rng.integers(0, 41, size=n)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([np.sort(rng.choice(d, size=m, replace=False)) for m in lengths])
    indices[indptr[:-1][lengths > 0]] = 0  # a feature most rows share
    X = sp.csr_matrix((rng.exponential(size=indices.size), indices, indptr), shape=(n, d))
    X.sort_indices()
    X = X.astype(dtype)
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    penalties = ["l1", "l2", "elasticnet", "none", "l1", "elasticnet", "l2"] * 3
    configs = [(10.0 ** (-5 + i % 4), ("hinge", "log_loss")[i % 2], p)
               for i, p in enumerate(penalties)]
    rows = np.arange(200, dtype=np.int64)
    options = _options(batch_size=batch_size)
    options.unique_row_indices = True  # canonical rows: one row's update and L1 step go together
    fused = _job(y, rows, [_spec(a, loss, p) for a, loss, p in configs], d, options, dtype=dtype)
    _train(X, [fused], n_threads)
    for i, (a, loss, p) in enumerate(configs):
        alone = _job(y, rows, [_spec(a, loss, p)], d, options, dtype=dtype)
        _train(X, [alone], 1)
        assert_array_equal(fused.coef[i], alone.coef[0], err_msg=str(configs[i]))
        assert_array_equal(fused.intercept[i], alone.intercept[0])
    assert np.count_nonzero(fused.coef) > 0


@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_jobs_in_one_call_equal_jobs_called_one_by_one(data, n_threads):
    X, y, folds = data
    def make():
        return [
            _job(y, folds[f], [_spec(a, loss)], X.shape[1], _options(seed=s))
            for f in range(2) for a in (1e-4, 1e-2) for loss in ("hinge", "log_loss")
            for s in (1, 2)
        ]
    together, separate = make(), make()
    results = _core.train_dense(X, together, n_threads)
    assert len(results) == len(together)
    for job, res in zip(separate, results, strict=True):
        (alone,) = _core.train_dense(X, [job], 1)
        assert_array_equal(res["n_iter"], alone["n_iter"])
    for a, b in zip(together, separate, strict=True):
        assert_array_equal(a.coef, b.coef)
    # different folds and seeds do give different models
    assert not np.array_equal(together[0].coef, together[8].coef)


def test_job_arguments_are_checked(data):
    X, y, folds = data
    bad_rows = np.array([0, 5, 300], dtype=np.int64)
    with pytest.raises(ValueError, match="train_idx holds a row index outside"):
        _core.train_dense(X, [_job(y, bad_rows, [_spec(1e-4)], X.shape[1], _options())])
    with pytest.raises(ValueError, match="one column spec is needed per row of coef"):
        two_rows = _core.Job(y=y, sample_weight=None, train_idx=folds[0],
                             val_idx=np.empty(0, np.int64), coef=np.zeros((2, X.shape[1])),
                             intercept=np.zeros(2), avg_coef=None, avg_intercept=None,
                             specs=[_spec(1e-4)], options=_options())
        _core.train_dense(X, [two_rows])
    with pytest.raises(ValueError, match="coef must have dtype float64"):
        j = _core.Job(y=y, sample_weight=None, train_idx=folds[0], val_idx=np.empty(0, np.int64),
                      coef=np.zeros((1, X.shape[1]), np.float32), intercept=np.zeros(1),
                      avg_coef=None, avg_intercept=None, specs=[_spec(1e-4)], options=_options())
        _core.train_dense(X, [j])
