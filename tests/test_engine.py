"""Many estimators on many folds in one call: equal to fitting each one alone."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sgdtune import SGDClassifier, SGDRegressor, _core
from sgdtune._engine import FoldFits, fit_folds
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


@pytest.mark.parametrize("average", [False, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [5, 8, 23])
@pytest.mark.parametrize("width", [2, 3])
def test_narrow_blocks_equal_separate_fits(width, n_features, dtype, average):
    # A dense block of two or three columns takes its rows of weights in
    # vectors (two or three columns of four features at a time) at
    # batch_size 1: each column still gets the model it gets alone (whose
    # dot products and updates go one column at a time), with every
    # column averaging or none, with whole runs of eight features, a rest, or
    # fewer features than a run.
    rng = np.random.default_rng(width)
    X = rng.normal(size=(300, n_features)).astype(dtype)
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)
    folds = [(np.arange(240), np.arange(240, 300))]
    ests = [SGDClassifier(alpha=10.0 ** (-5 + i), loss=("log_loss", "hinge", "modified_huber")[i],
                          average=average, max_iter=3, tol=None, random_state=0)
            for i in range(width)]
    fitted = fit_folds(ests, X, y, folds)
    for est, row in zip(ests, fitted, strict=True):
        _assert_same_model(row[0], clone(est).fit(X[:240], y[:240]))


@pytest.fixture(params=["best"] + (["avx2"] if _core.isa() == "avx512" else []))
def isa_level(request):
    # the kernels of the CPU's best instruction set, and AVX2's too where the
    # best is AVX-512 (whose row kernels take eight columns at a time, and a
    # dense row's update with its L1 step in one pass where the L1 columns
    # fill whole eights; AVX2's four at a time, in two passes)
    if request.param == "avx2":
        _core.limit_isa("avx2")
    yield request.param
    _core.limit_isa("avx512")


@pytest.mark.parametrize("averaging", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("n_l1, n_l2", [(1, 1), (2, 1), (3, 0), (1, 3), (3, 3), (6, 3), (11, 3), (5, 6)])
def test_l1_columns_of_a_block_equal_separate_fits(dtype, batch_size, n_l1, n_l2, averaging, isa_level):
    # A block's L1 step takes its L1 columns eight and four at a time and
    # the one to three left over as a group of four whose other columns are
    # written back unchanged (in a block of two or three columns, with its
    # rows taken as one array; the L1 columns come last, so 6 L2 and 5 L1
    # columns take groups of columns 6-9 and 7-10): every count of L1
    # columns, with L2 ones beside them, gives each column the model it gets
    # alone, with averaging in some columns and in none, at every
    # instruction-set level's kernels.
    rng = np.random.default_rng(n_l1)
    X = rng.normal(size=(400, 23)).astype(dtype)
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    folds = [(np.arange(300), np.arange(300, 400))]
    kw = {"batch_size": batch_size, "max_iter": 3, "tol": None, "random_state": 0}
    avg = (False, 4) if averaging else (False, False)
    ests = [SGDClassifier(penalty="elasticnet" if i % 2 else "l1", alpha=10.0 ** (-4 + i % 3),
                          loss=("hinge", "log_loss")[i % 2], average=avg[i % 2], **kw)
            for i in range(n_l1)]
    ests += [SGDClassifier(alpha=1e-4, average=avg[i % 2], **kw) for i in range(n_l2)]
    fitted = fit_folds(ests, X, y, folds)
    for est, row in zip(ests, fitted, strict=True):
        _assert_same_model(row[0], clone(est).fit(X[:300], y[:300]))


@pytest.mark.parametrize("canonical", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_l1_models_equal_separate_fits_with_or_without_repeated_columns(canonical, dtype):
    # A binary model alone takes a sparse row's update and its L1 step in one
    # pass over the row's features where the rows hold no repeated column
    # (canonical CSR); where they may, the update goes over all entries and
    # the step once per feature, as in a block. Either way every model of a
    # block is the one it gets alone, averaged ones too.
    rng = np.random.default_rng(7)
    X, y = make_classification(n_samples=240, n_features=12, n_informative=5, random_state=3)
    X = sp.csr_matrix((X * (np.abs(X) > 0.5)).astype(dtype))
    if not canonical:  # every value v in two entries of its column, v + 1 and -1
        split = np.column_stack([X.data + dtype(1), np.full(X.nnz, dtype(-1))]).ravel()
        X = sp.csr_matrix((split, np.repeat(X.indices, 2), X.indptr * 2), shape=X.shape)
    assert X.has_canonical_format == canonical
    folds = [(np.arange(160), np.arange(160, 240)), (rng.permutation(240)[:200], np.arange(40))]
    ests = [SGDClassifier(alpha=alpha, penalty=penalty, average=average, l1_ratio=0.4,
                          loss=("hinge", "log_loss")[i % 2], max_iter=6, tol=None, random_state=0)
            for i, (alpha, penalty, average) in enumerate(
                [(0.3, "l1", False), (1e-3, "elasticnet", False), (1e-2, "l1", 5),
                 (0.3, "elasticnet", 1), (1e-4, "l2", False)])]
    fits = FoldFits(ests, X, y, folds)
    assert sorted(len(spans) for _, spans in fits._blocks) == [5, 5]  # a block a fold
    fits.train()
    for est, row in zip(ests, fits.fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            _assert_same_model(got, clone(est).fit(X[train], y[train]))
            assert np.any(got.coef_ != 0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_one_row_steps_over_all_columns_equal_separate_fits(sparse, dtype, n_classes, isa_level):
    # A block of four columns or more at batch_size 1 whose columns all train
    # with the "optimal" schedule and no averaging takes each row's L2 shrink,
    # intercepts, L1 totals and counters over all its columns at once, and
    # the loops over the columns' states once a column has stopped: every
    # model is still the one it gets alone (one column, or a 3-class model's
    # three, whose steps take those loops), with the tol criterion's loss
    # sums, an alpha whose first step shrinks the weights to nothing (the
    # scale renormalised), sparse rows' intercept decay, sample weights and
    # class weights.
    X, y = make_classification(n_samples=300, n_features=21, n_informative=6, n_classes=n_classes,
                               random_state=4)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X * (np.abs(X) > 0.6))
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=300)
    folds = list(StratifiedKFold(2, shuffle=True, random_state=2).split(X, y))
    losses = ("hinge", "log_loss", "modified_huber", "squared_hinge")
    trials = [(1e-5, "l2"), (1e-3, "l1"), (1e-4, "elasticnet"), (1e-2, None), (10.0, "l2"),
              (1e-3, "elasticnet"), (1e-5, "l1"), (10.0, "elasticnet"), (3e-4, "elasticnet"),
              (1e-4, "l1"), (1e-3, "l2")]
    ests = [SGDClassifier(alpha=alpha, penalty=penalty, loss=losses[i % 4], l1_ratio=0.3,
                          class_weight="balanced" if i == 5 else None, max_iter=25, tol=1e-3,
                          n_iter_no_change=2, random_state=0)
            for i, (alpha, penalty) in enumerate(trials)]
    before = _core.rows_over_columns()
    fitted = fit_folds(ests, X, y, folds, sample_weight=sw)
    assert _core.rows_over_columns() > before
    n_iter = set()
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            _assert_same_model(got, clone(est).fit(X[train], y[train], sample_weight=sw[train]))
            n_iter.add(got.n_iter_)
    assert len(n_iter) >= 3  # (columns stopped at several epochs, the rest trained on)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_column_diverging_part_way_leaves_its_blocks_other_models_as_alone(dtype, isa_level):
    # A block of one-row steps takes its bookkeeping over all columns at once
    # while every column trains, and counts their steps there; a column whose
    # predictions overflow part way through an epoch diverges at that row, and
    # the others go on through the loops over the columns' states with the
    # step counts the earlier rows kept. Each of them is still the model it
    # gets alone, and the diverged one fails alone too. (Its class weight
    # of 1e307 takes its weights near the largest float64 at its first step,
    # and its predictions beyond it; float32 weights overflow at once.)
    X, y = make_classification(n_samples=400, n_features=20, n_informative=6, random_state=1)
    X = X.astype(dtype)
    folds = [(np.arange(400), np.arange(0))]
    configs = [("hinge", 1e-4, "l2", None), ("log_loss", 1e-3, "l1", None),
               ("hinge", 1e-4, "l2", {0: 1e307, 1: 1.0}), ("hinge", 1e-3, "elasticnet", None),
               ("log_loss", 1e-5, "l2", None), ("hinge", 3e-4, "l1", None)]
    ests = [SGDClassifier(loss=loss, alpha=alpha, penalty=penalty, class_weight=cw, max_iter=3,
                          tol=None, random_state=0) for loss, alpha, penalty, cw in configs]
    before = _core.rows_over_columns()
    fitted = fit_folds(ests, X, y, folds, errors="return")
    assert _core.rows_over_columns() > before
    for est, (got,) in zip(ests, fitted, strict=True):
        if est.class_weight is not None:
            assert isinstance(got, ValueError) and "epoch #1" in str(got)
            with pytest.raises(ValueError, match="epoch #1"):
                clone(est).fit(X, y)
        else:
            _assert_same_model(got, clone(est).fit(X, y))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_plain, n_l1", [(8, 0), (11, 0), (8, 8), (0, 11), (8, 9), (3, 8)])
def test_row_updates_that_take_the_next_rows_products_equal_separate_fits(dtype, n_plain, n_l1,
                                                                           isa_level):
    # With AVX-512, a dense row's update into a block of eight columns or
    # more without averaging (with the row's L1 step, where the L1 columns
    # fill whole eights or the block ends with them) takes the next row's
    # dot products in the same pass over the weights; the columns beyond
    # whole eights take them after their update, and the epoch's last row
    # has none (3 columns without L1 and 8 with: the L1 columns go first,
    # and the 3 after them). Every model is still the one it gets alone, as
    # columns stop and the live ones go on in narrower blocks (ordered
    # again).
    rng = np.random.default_rng(n_plain + n_l1)
    X = rng.normal(size=(260, 29)).astype(dtype)
    y = (X[:, 0] - X[:, 3] + 0.5 * rng.normal(size=260) > 0).astype(int)
    folds = [(np.arange(200), np.arange(200, 260))]
    losses = ("hinge", "log_loss", "modified_huber")
    kw = {"max_iter": 40, "tol": 1e-2, "n_iter_no_change": 2, "random_state": 0}
    ests = [SGDClassifier(alpha=10.0 ** (-5 + i % 4), penalty=("l2", None)[i % 2],
                          loss=losses[i % 3], **kw)
            for i in range(n_plain)]
    ests += [SGDClassifier(alpha=10.0 ** (-5 + i % 3), penalty=("l1", "elasticnet")[i % 2],
                           loss=losses[i % 3], l1_ratio=0.4, **kw)
             for i in range(n_l1)]
    before = _core.columns_left_blocks()
    fitted = fit_folds(ests, X, y, folds)
    assert _core.columns_left_blocks() > before  # (the live columns went on in narrower blocks)
    n_iter = set()
    for est, row in zip(ests, fitted, strict=True):
        _assert_same_model(row[0], clone(est).fit(X[:200], y[:200]))
        n_iter.add(row[0].n_iter_)
    assert len(n_iter) >= 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_step_coefficients_along_rows_equal_separate_fits(dtype, batch_size, isa_level):
    # A block of four columns or more takes its step coefficients a row at a
    # time for each run of columns of one loss, eight columns at a time
    # (AVX-512), then four, then one by one: at batch_size 1 (no
    # passive-aggressive step), and for a dense mini-batch on one thread
    # along each of its rows; alone, a column takes them four rows at a time.
    # Runs of 13 log-loss columns (8 + 4 + 1), 6 modified-Huber (4 + 2 or 6)
    # and 5 hinge ones, with class and sample weights, the tol criterion's
    # loss sums (columns stop at different epochs), a column whose
    # predictions overflow, and regressors (targets that are not class
    # labels): every model is the one it gets alone, or fails with the same
    # error.
    rng = np.random.default_rng(batch_size)
    X = rng.normal(size=(300, 21)).astype(dtype)
    y = (X[:, 0] - X[:, 2] + 0.5 * rng.normal(size=300) > 0).astype(int)
    sw = rng.uniform(0.5, 2.0, size=300)
    folds = [(np.arange(240), np.arange(240, 300))]
    kw = {"batch_size": batch_size, "max_iter": 30, "tol": 1e-3, "n_iter_no_change": 2,
          "random_state": 0}
    ests = [SGDClassifier(loss="log_loss", alpha=10.0 ** (-6 + i % 5),
                          class_weight=({0: 2.0, 1: 0.5}, "balanced")[i % 2], **kw) for i in range(13)]
    ests += [SGDClassifier(loss="modified_huber", alpha=10.0 ** (-5 + i % 3),
                           class_weight={0: 0.5, 1: 3.0}, **kw) for i in range(6)]
    ests += [SGDClassifier(alpha=10.0 ** (-5 + i % 3), **kw) for i in range(4)]
    ests += [SGDClassifier(learning_rate="constant", eta0=1e307, penalty=None,  # (overflows)
                           class_weight={0: 1e300, 1: 1e300}, **kw)]
    fits = FoldFits(ests, X, y, folds, sample_weight=sw, errors="return")
    fits.train()
    n_iter = set()
    for est, row in zip(ests, fits.fitted, strict=True):
        alone = clone(est)
        if isinstance(row[0], Exception):
            with pytest.raises(type(row[0]), match=re.escape(str(row[0]))):
                alone.fit(X[:240], y[:240], sample_weight=sw[:240])
            continue
        _assert_same_model(row[0], alone.fit(X[:240], y[:240], sample_weight=sw[:240]))
        n_iter.add(row[0].n_iter_)
    assert isinstance(fits.fitted[-1][0], ValueError)
    assert len(n_iter) >= 3
    target = X[:, 0] * 3.0 + rng.normal(size=300)
    regs = [SGDRegressor(loss=loss, alpha=10.0 ** (-5 + i % 3), epsilon=0.2, **kw)
            for loss in ("squared_error", "huber", "epsilon_insensitive") for i in range(5)]
    for est, row in zip(regs, fit_folds(regs, X, target, folds, sample_weight=sw), strict=True):
        _assert_same_model(row[0], clone(est).fit(X[:240], target[:240], sample_weight=sw[:240]))


def test_a_narrowed_block_orders_its_columns_again():
    # 20 columns without L1 (8 of them stopping early) and 8 with: once the
    # 8 have stopped, the 12 + 8 live columns go on in a block whose L1
    # columns come first (whole eights, with the 12 behind them), from the
    # state the wider block left; every model is the one it gets alone.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 29))
    y = (X[:, 0] - X[:, 3] + 0.5 * rng.normal(size=300) > 0).astype(int)
    folds = [(np.arange(240), np.arange(240, 300))]
    kw = {"max_iter": 40, "tol": 1e-4, "n_iter_no_change": 3, "random_state": 0}
    losses = ("hinge", "log_loss")
    ests = [SGDClassifier(alpha=0.05 * (1 + i / 10), loss=losses[i % 2], **kw) for i in range(12)]
    ests += [SGDClassifier(alpha=1e-6 * (1 + i), loss=losses[i % 2], **kw) for i in range(8)]
    ests += [SGDClassifier(alpha=0.03 * (1 + i / 10), penalty=("l1", "elasticnet")[i % 2],
                           loss=losses[i % 2], **kw)
             for i in range(8)]
    before = _core.columns_left_blocks()
    fitted = fit_folds(ests, X, y, folds)
    assert _core.columns_left_blocks() > before
    for est, row in zip(ests, fitted, strict=True):
        _assert_same_model(row[0], clone(est).fit(X[:240], y[:240]))
    assert max(row[0].n_iter_ for row in fitted[12:20]) < min(row[0].n_iter_ for row in fitted[20:])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [7, 64])
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_wide_block_batches_equal_separate_fits_at_any_row_alignment(dtype, batch_size, offset):
    # A mini-batch for a block of eight columns or more is copied into
    # aligned rows before its forward pass, and its update reads the copy:
    # rows that start anywhere in a cache line (X a view `offset` elements
    # into its buffer, 37 features a row), in batches of whole and partial
    # tiles, give each column the model it gets alone.
    rng = np.random.default_rng(offset)
    n, d = 300, 37
    X = rng.normal(size=n * d + offset).astype(dtype)[offset:].reshape(n, d)
    assert X.flags.c_contiguous
    y = (X[:, 0] + X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    folds = [(np.arange(240), np.arange(240, 300))]
    ests = [SGDClassifier(alpha=10.0 ** -(2 + i % 4), penalty=("l2", "l1", "elasticnet")[i % 3],
                          loss=("hinge", "log_loss")[i % 2], batch_size=batch_size, max_iter=3, tol=None,
                          random_state=0)
            for i in range(9)]
    fitted = fit_folds(ests, X, y, folds)
    for est, row in zip(ests, fitted, strict=True):
        _assert_same_model(row[0], clone(est).fit(X[:240], y[:240]))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_columns_that_stop_leave_their_block(sparse, dtype, batch_size, n_jobs):
    # Trials that meet their tol criterion at different epochs: once enough of
    # a block's columns have stopped, the live ones train on in a narrower
    # block (from the state the wider one left: weights, L1 records, averages,
    # shuffle stream), and every model is still the one it gets alone.
    X, y = make_classification(n_samples=240, n_features=18, n_informative=6, random_state=3)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X * (np.abs(X) > 0.5))
    folds = list(KFold(2, shuffle=True, random_state=1).split(X))
    ests = [SGDClassifier(alpha=10.0 ** (-6 + i % 6), penalty=("l2", "l1", "elasticnet")[i % 3],
                          loss=("hinge", "log_loss", "modified_huber")[i % 3 if i < 12 else 0],
                          average=4 if i % 5 == 4 else False, batch_size=batch_size, max_iter=40,
                          tol=1e-3, n_iter_no_change=3, random_state=0)
            for i in range(20)]
    before, split = _core.columns_left_blocks(), _core.l1_columns_split()
    fitted = fit_folds(ests, X, y, folds, n_jobs=n_jobs)
    assert _core.columns_left_blocks() > before  # stopped columns left
    # dense rows one at a time: 13 L1 columns a fold, the one beyond whole fours went on alone
    assert (_core.l1_columns_split() > split) == (batch_size == 1 and not sparse)
    n_iter = set()
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            _assert_same_model(got, clone(est).fit(X[train], y[train]))
            n_iter.add(got.n_iter_)
    assert len(n_iter) >= 4 and min(n_iter) < 40  # (stopping at several epochs)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_columns_handed_to_a_waiting_thread(batch_size):
    # One block on two threads (two chunks), half its trials converging within
    # a few epochs and half (adaptive rates) taking many more: the thread that
    # runs out of work first is handed half of the other chunk's live columns
    # at its next pause, with a copy of the state they resume from (weights,
    # L1 records, shuffle stream), and every model is still the one it gets
    # alone. At batch_size 1 a block's one or two L1 columns go on in blocks
    # of their own (each from a copy of the state too), so
    # the four slow trials, all elastic-net, share one chunk: of the two it
    # hands over, and the two it keeps, one each goes on alone. (Whether the
    # hand-over happens depends on the threads' timing: the test tries up to
    # three times.)
    X, y = make_classification(n_samples=6000, n_features=30, n_informative=8, random_state=4)
    folds = [(np.arange(5000), np.arange(5000, 6000))]
    kw = {"batch_size": batch_size, "max_iter": 60, "tol": 1e-3, "n_iter_no_change": 3,
          "random_state": 0}
    ests = [SGDClassifier(alpha=1.0, **kw) for _ in range(4)]
    ests += [SGDClassifier(alpha=10.0 ** -(5 + i % 3), learning_rate="adaptive", eta0=0.01,
                           penalty="elasticnet", **kw) for i in range(4)]
    alone = [clone(est).fit(X[:5000], y[:5000]) for est in ests]
    assert max(m.n_iter_ for m in alone[:4]) < min(m.n_iter_ for m in alone[4:])
    for _ in range(3):
        before = _core.blocks_shared()
        fitted = fit_folds(ests, X, y, folds, n_jobs=2)
        for want, row in zip(alone, fitted, strict=True):
            _assert_same_model(row[0], want)
        if _core.blocks_shared() > before:
            break
    else:
        pytest.fail("no columns were handed to the waiting thread in three tries")


@pytest.mark.parametrize("n_folds", [1, 2])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_l1_columns_of_a_narrowed_block_go_on_alone(n_jobs, n_folds):
    # Four L1 trials at batch_size 1 (a block per fold, whose L1 step takes
    # them four at a time), two of them stopping within a few epochs: the
    # narrower block's L1 step would take the two live ones as a masked group
    # of four, so one of them goes on in a block of its own, from a copy of the state (weights,
    # L1 records, shuffle stream): trained by the thread that split it off,
    # or, with a thread for each fold, by whichever is free. Every model is
    # the one it gets alone.
    X, y = make_classification(n_samples=3000, n_features=30, n_informative=8, random_state=4)
    folds = [(np.arange(2500), None), (np.arange(500, 3000), None)][:n_folds]
    kw = {"penalty": "l1", "max_iter": 40, "tol": 1e-3, "n_iter_no_change": 3, "random_state": 0}
    ests = [SGDClassifier(alpha=1.0, **kw) for _ in range(2)]
    ests += [SGDClassifier(alpha=10.0 ** -(5 + i), learning_rate="adaptive", eta0=0.01, **kw)
             for i in range(2)]
    before = _core.l1_columns_split()
    fitted = fit_folds(ests, X, y, folds, n_jobs=n_jobs)
    split = _core.l1_columns_split() - before
    # (two threads: a fold's block may hand a column to a waiting thread instead)
    assert split == n_folds if n_jobs == 1 else 1 <= split <= n_folds
    for est, row in zip(ests, fitted, strict=True):
        for (train, _), got in zip(folds, row, strict=True):
            want = clone(est).fit(X[train], y[train])
            _assert_same_model(got, want)
    assert max(got.n_iter_ for row in fitted[:2] for got in row) < min(got.n_iter_ for row in fitted[2:]
                                                                       for got in row)


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


TEAM_CASES = [
    {"penalty": "l2"},
    {"penalty": "elasticnet", "average": 10},
    {"penalty": "l1", "loss": "log_loss", "tol": 1e-3},  # loss sums gathered row by row
    {"loss": "modified_huber", "class_weight": "balanced", "early_stopping": True},
    {"learning_rate": "pa1", "eta0": 0.1},  # passive-aggressive steps need each row's loss
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", TEAM_CASES)
def test_threads_share_one_models_batches_without_changing_it(dtype, params):
    # One binary model and n_jobs > 1: the threads share each dense
    # mini-batch step (rows of the forward pass, features of the update), and
    # the model is the one a single thread trains, bit for bit. 130 features
    # (not a whole number of vectors or cache lines), 1,001 training rows (a
    # short last batch).
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1001, 130)).astype(dtype)
    y = (X[:, 0] + 0.5 * rng.normal(size=1001) > 0).astype(int)
    sw = rng.uniform(0.5, 2.0, size=1001)
    kw = {"batch_size": 256, "max_iter": 4, "tol": None, "random_state": 0, **params}
    base = SGDClassifier(n_jobs=1, **kw).fit(X, y, sample_weight=sw)
    for n_jobs in (2, 3):
        before = _core.team_helpers_started()
        got = SGDClassifier(n_jobs=n_jobs, **kw).fit(X, y, sample_weight=sw)
        assert _core.team_helpers_started() > before  # the shared path ran
        _assert_same_model(got, base)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_flushes_subnormal_numbers_and_restores_the_threads_mode(dtype, sparse):
    # Training reads subnormal inputs as zero and flushes subnormal results
    # (each costs a microcode assist on Intel cores otherwise), on every
    # thread that trains, team helpers included, and gives the calling
    # thread its floating-point mode back. Every other feature of X is
    # subnormal here: fits on X equal fits on X with those features zero, and
    # their weights end zero (with IEEE arithmetic, subnormal). Started at
    # 1e-3 / tiny, those weights would make each subnormal value add about
    # 1e-3 to a dot product, which a thread that kept IEEE arithmetic (a
    # team's helper taking rows of the forward pass) would see.
    tiny = np.finfo(dtype).smallest_normal / 16
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1001, 130))
    y = (X[:, 0] + X[:, 2] + 0.5 * rng.normal(size=1001) > 0).astype(int)
    X[:, 1::2] *= tiny / np.abs(X[:, 1::2]).max()
    X = X.astype(dtype)
    assert np.all(np.abs(X[:, 1::2]) < np.finfo(dtype).smallest_normal) and np.count_nonzero(X[:, 1::2])
    Xz = X.copy()
    Xz[:, 1::2] = 0
    if sparse:  # (the same non-zeros stored: some of Xz's are zeros)
        X = sp.csr_matrix(X)
        Xz = X.copy()
        Xz.data[X.indices % 2 == 1] = 0
    big = np.zeros((1, 130))
    big[0, 1::2] = 1e-3 / tiny
    kw = {"loss": "log_loss", "batch_size": 256, "max_iter": 3, "tol": None, "random_state": 0}
    for n_jobs in (1, 2):
        before = _core.team_helpers_started()
        got = SGDClassifier(n_jobs=n_jobs, **kw).fit(X, y)
        assert sparse or n_jobs == 1 or _core.team_helpers_started() > before  # helpers took a share
        assert np.all(got.coef_[:, 1::2] == 0) and np.all(got.coef_[:, 0::2] != 0)
        _assert_same_model(got, SGDClassifier(n_jobs=n_jobs, **kw).fit(Xz, y))
        got = SGDClassifier(n_jobs=n_jobs, **kw).fit(X, y, coef_init=big)
        want = SGDClassifier(n_jobs=n_jobs, **kw).fit(Xz, y, coef_init=big)
        assert_array_equal(got.coef_[:, 0::2], want.coef_[:, 0::2])
        assert_array_equal(got.intercept_, want.intercept_)
    # this thread's arithmetic is IEEE again: a subnormal number is no zero
    assert dtype(tiny) * dtype(1.0) != 0 and dtype(tiny) / dtype(2.0) != 0


ONE_PASS_CASES = [
    ({}, None),
    ({"penalty": "elasticnet", "average": 3, "class_weight": "balanced"}, None),
    ({"penalty": "l1", "loss": "log_loss", "tol": 1e-3, "n_iter_no_change": 2}, None),  # loss sums
    ({"loss": "modified_huber", "early_stopping": True, "validation_fraction": 0.2}, None),
    ({"learning_rate": "pa1", "eta0": 0.1}, None),  # each row's loss and squared norm
    # the L2 scale falls below 1e-9 at the last of the 24 steps (0.415 ** 24),
    # which renormalises the weights: that step takes two passes
    ({"learning_rate": "constant", "eta0": 0.5, "alpha": 1.17}, None),
    ({"loss": "epsilon_insensitive", "penalty": "l1", "average": True}, "regressor"),
    ({"loss": "huber", "learning_rate": "adaptive", "eta0": 0.05}, "regressor"),
]


@pytest.fixture
def one_pass_limit():
    """Sets the size of X above which a one-column fit with rows in order goes
    in one pass; restores the build's limit afterwards."""
    old = _core.one_pass_bytes(1 << 62)
    _core.one_pass_bytes(old)
    yield _core.one_pass_bytes
    _core.one_pass_bytes(old)


@pytest.mark.parametrize("params,kind", ONE_PASS_CASES)
def test_one_pass_batches_give_the_two_pass_model(params, kind, one_pass_limit):
    # One float32 model, rows in order, large X: each few rows' dot products,
    # coefficients and update in one pass (forced here on small data), the
    # model of the forward pass and update over the whole batch, bit for bit.
    # 130 features, 1,001 rows (a short last batch, 1001 - 256 * 3 = 233 rows,
    # not a whole number of the pass's rows), sample weights.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1001, 130)).astype(np.float32)
    y = X[:, 0] + 0.5 * rng.normal(size=1001)
    sw = rng.uniform(0.5, 2.0, size=1001)
    est = SGDRegressor() if kind == "regressor" else SGDClassifier()
    if kind != "regressor":
        y = (y > 0).astype(int)
    est.set_params(**{"batch_size": 256, "max_iter": 6, "tol": None, "shuffle": False, "random_state": 0,
                      **params})
    one_pass_limit(1 << 62)
    two = clone(est).fit(X, y, sample_weight=sw)
    one_pass_limit(0)
    before = _core.one_pass_batches()
    one = clone(est).fit(X, y, sample_weight=sw)
    assert _core.one_pass_batches() > before  # the one pass ran
    _assert_same_model(one, two)
    if params.get("average"):
        assert_array_equal(one._standard_coef, two._standard_coef)
    if kind != "regressor":  # n_jobs=2: one thread, no team sharing the batches, the same model
        helpers = _core.team_helpers_started()
        _assert_same_model(clone(est).set_params(n_jobs=2).fit(X, y, sample_weight=sw), two)
        assert _core.team_helpers_started() == helpers
    # shuffled rows take the two passes
    before = _core.one_pass_batches()
    clone(est).set_params(shuffle=True).fit(X, y)
    assert _core.one_pass_batches() == before


def test_one_pass_batches_diverge_where_two_passes_do(one_pass_limit):
    # A float32 model whose predictions overflow part way through a batch:
    # the same epoch in the error either way.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 20)).astype(np.float32)
    X[300:] *= np.float32(1e18)
    y = rng.normal(size=600) * 1e18
    messages = []
    for limit in (1 << 62, 0):
        one_pass_limit(limit)
        before = _core.one_pass_batches()
        with pytest.raises(ValueError, match=r"epoch #\d+") as err:
            SGDRegressor(batch_size=256, shuffle=False, learning_rate="constant", eta0=1.0,
                         max_iter=50).fit(X, y)
        messages.append(str(err.value))
        assert (_core.one_pass_batches() > before) == (limit == 0)
    assert messages[0] == messages[1]


def test_threads_left_over_join_the_blocks_of_a_search():
    # Three fold jobs of one column each on four threads: one block is trained
    # by a team of two, the others alone; every fold model equals its own fit.
    X, y = make_classification(n_samples=1500, n_features=120, random_state=1)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    ests = [SGDClassifier(batch_size=300, max_iter=3, tol=None, random_state=0, average=5)]
    before = _core.team_helpers_started()
    fitted = fit_folds(ests, X, y, folds, n_jobs=4)
    assert _core.team_helpers_started() > before
    for (train, _), got in zip(folds, fitted[0], strict=True):
        _assert_same_model(got, clone(ests[0]).fit(X[train], y[train]))


def test_spare_threads_go_to_one_column_blocks():
    # Five L1 one-vs-rest columns on four threads: the planner keeps L1
    # columns in fours, so the blocks are of four columns and of one; the two
    # spare threads join the one-column block. Same model as one thread.
    X, y = make_classification(n_samples=1200, n_features=100, n_informative=10, n_classes=5,
                               random_state=0)
    kw = {"batch_size": 256, "penalty": "l1", "max_iter": 3, "tol": None, "random_state": 0}
    base = SGDClassifier(n_jobs=1, **kw).fit(X, y)
    before = _core.team_helpers_started()
    got = SGDClassifier(n_jobs=4, **kw).fit(X, y)
    assert _core.team_helpers_started() == before + 2  # one team of three
    _assert_same_model(got, base)


def test_small_batches_are_not_shared():
    # A batch too small to share (64 rows x 100 features) trains on one thread.
    X, y = make_classification(n_samples=600, n_features=100, random_state=0)
    before = _core.team_helpers_started()
    SGDClassifier(batch_size=64, max_iter=2, tol=None, n_jobs=2).fit(X, y)
    assert _core.team_helpers_started() == before


def test_bad_arguments():
    X, y = make_classification(n_samples=50, random_state=0)
    with pytest.raises(TypeError, match="must all be sgdtune SGDClassifier or all SGDRegressor"):
        fit_folds([SGDClassifier(), SGDRegressor()], X, y, [(np.arange(40), None)])
    with pytest.raises(ValueError, match="fold 0 has no valid training rows"):
        fit_folds([SGDClassifier()], X, y, [(np.array([0, 60]), None)])
    with pytest.raises(ValueError, match="alpha"):
        fit_folds([SGDClassifier(alpha=-1.0)], X, y, [(np.arange(40), None)])
