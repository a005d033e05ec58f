"""Bad input gets a clear exception naming the problem; odd but valid input
gets the same answer as its plain equivalent. One table for the estimators,
one for the searches, their spaces and storage."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import scipy.sparse as sp
from sgdtune import (
    BayesSearchCV,
    Categorical,
    DivergenceError,
    GridSearchCV,
    Integer,
    RandomizedSearchCV,
    Real,
    SGDClassifier,
    SGDRegressor,
    _storage,
)
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.model_selection import KFold

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y = (X[:, 0] > 0).astype(int)
YR = X[:, 0] + 0.1 * RNG.normal(size=60)


def clf(**params):
    return SGDClassifier(random_state=0, **params)


def reg(**params):
    return SGDRegressor(random_state=0, **params)


def with_value(a, value, index=(0, 0)):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def csr(data, indices, row0_len, dtype=np.int32):
    """A 60 x 4 CSR matrix whose only stored entries are in row 0."""
    indptr = np.array([0] + [row0_len] * 60, dtype=dtype)
    return sp.csr_matrix((np.asarray(data, float), np.asarray(indices, dtype), indptr),
                         shape=(60, 4))


def fitted():
    return clf().fit(X, Y)


# (id, call, exception type, message regex)
ESTIMATOR_CASES = [
    # non-finite values
    ("X-nan", lambda: clf().fit(with_value(X, np.nan), Y), ValueError, "Input X contains NaN"),
    ("X-inf", lambda: reg().fit(with_value(X, np.inf), YR), ValueError, "Input X contains infinity"),
    ("X-nan-sparse", lambda: clf().fit(sp.csr_matrix(with_value(X, np.nan)), Y), ValueError,
     "Input X contains NaN"),
    ("y-nan-classifier", lambda: clf().fit(X, with_value(Y, np.nan, 0)), ValueError,
     "Input y contains NaN"),
    ("y-inf-regressor", lambda: reg().fit(X, with_value(YR, np.inf, 0)), ValueError,
     "Input y contains infinity"),
    ("sample_weight-nan", lambda: clf().fit(X, Y, sample_weight=with_value(np.ones(60), np.nan, 0)),
     ValueError, "sample_weight must be finite"),
    ("sample_weight-inf", lambda: reg().fit(X, YR, sample_weight=with_value(np.ones(60), np.inf, 0)),
     ValueError, "sample_weight must be finite"),
    ("sample_weight-negative", lambda: clf().fit(X, Y, sample_weight=-np.ones(60)), ValueError,
     "sample_weight must be non-negative"),
    ("sample_weight-wrong-size", lambda: clf().fit(X, Y, sample_weight=np.ones(59)), ValueError,
     r"sample_weight.shape == \(59,\), expected \(60,\)"),
    ("sample_weight-all-zero", lambda: reg().fit(X, YR, sample_weight=np.zeros(60)), ValueError,
     "at least one non-zero"),
    # shapes
    ("X-empty", lambda: clf().fit(np.empty((0, 4)), np.empty(0)), ValueError, "0 sample"),
    ("X-no-features", lambda: reg().fit(np.empty((60, 0)), YR), ValueError, "0 feature"),
    ("X-1d", lambda: clf().fit(X[:, 0], Y), ValueError, "Expected 2D array, got 1D array"),
    ("X-3d", lambda: reg().fit(X[:, :, None], YR), ValueError, "dim 3"),
    ("X-y-lengths", lambda: clf().fit(X, Y[:-1]), ValueError,
     r"inconsistent numbers of samples: \[60, 59\]"),
    ("predict-n-features", lambda: fitted().predict(X[:, :3]), ValueError,
     "X has 3 features, but SGDClassifier is expecting 4"),
    ("predict-nan", lambda: fitted().decision_function(with_value(X, np.nan)), ValueError,
     "Input X contains NaN"),
    ("predict-unfitted", lambda: clf().predict(X), NotFittedError, "not fitted yet"),
    ("partial_fit-n-features", lambda: reg().partial_fit(X, YR).partial_fit(X[:, :3], YR),
     ValueError, "X has 3 features"),
    # dtypes
    ("X-complex", lambda: clf().fit(X.astype(complex), Y), ValueError, "Complex data not supported"),
    ("X-strings", lambda: clf().fit(np.full((60, 4), "a"), Y), ValueError,
     "could not convert string to float"),
    ("X-objects-none", lambda: reg().fit(np.full((60, 4), None, dtype=object), YR), ValueError,
     "Input X contains NaN"),
    ("y-strings-regressor", lambda: reg().fit(X, np.full(60, "a")), ValueError,
     "could not convert"),
    # overflow while training
    ("overflow-1e300", lambda: reg(learning_rate="constant", eta0=1.0).fit(X * 1e300, YR),
     DivergenceError, r"epoch #1.*StandardScaler.*eta0"),
    ("overflow-classifier", lambda: clf(learning_rate="constant", eta0=1e10).fit(X * 1e150, Y),
     ValueError, "infinite or NaN"),
    # classes
    ("single-class", lambda: clf().fit(X, np.zeros(60)), ValueError, "greater than one; got 1 class"),
    ("partial_fit-unknown-label", lambda: clf().partial_fit(X, Y + 5, classes=[0, 1]), ValueError,
     r"labels \[5, 6\] that are not in classes \[0, 1\]"),
    ("partial_fit-no-classes", lambda: clf().partial_fit(X, Y), ValueError,
     "classes must be passed on the first call"),
    ("partial_fit-other-classes",
     lambda: clf().partial_fit(X, Y, classes=[0, 1]).partial_fit(X, Y, classes=[0, 1, 2]),
     ValueError, "not the same as on last call"),
    ("y-continuous-classifier", lambda: clf().fit(X, YR), ValueError, "Unknown label type"),
    ("class_weight-absent-label", lambda: clf(class_weight={5: 2.0}).fit(X, Y), ValueError,
     r"classes, \[0, 1\], are not in class_weight"),
    ("class_weight-negative", lambda: clf(class_weight={0: -1.0, 1: 1.0}).fit(X, Y), ValueError,
     "class_weight values must be finite non-negative numbers"),
    ("class_weight-nan", lambda: clf(class_weight={0: np.nan, 1: 1.0}).fit(X, Y), ValueError,
     "class_weight values must be finite non-negative"),
    ("class_weight-balanced-partial_fit",
     lambda: clf(class_weight="balanced").partial_fit(X, Y, classes=[0, 1]), ValueError,
     "'balanced' is not supported for partial_fit"),
    # sparse structure
    ("sparse-index-out-of-range", lambda: clf().fit(csr([1, 1], [0, 7], 2), Y), ValueError,
     "column outside"),
    # hyperparameters
    ("alpha-negative", lambda: clf(alpha=-1.0).fit(X, Y), ValueError, "'alpha' parameter"),
    ("alpha-zero-optimal", lambda: clf(alpha=0.0).fit(X, Y), ValueError,
     "alpha must be > 0 since learning_rate is 'optimal'"),
    ("eta0-zero", lambda: clf(learning_rate="constant", eta0=0.0).fit(X, Y), ValueError,
     "'eta0' parameter"),
    ("eta0-negative", lambda: reg(learning_rate="invscaling", eta0=-1.0).fit(X, YR), ValueError,
     "'eta0' parameter"),
    ("l1_ratio-above-1", lambda: clf(penalty="elasticnet", l1_ratio=2.0).fit(X, Y), ValueError,
     "'l1_ratio' parameter"),
    ("l1_ratio-negative", lambda: reg(penalty="elasticnet", l1_ratio=-0.1).fit(X, YR), ValueError,
     "'l1_ratio' parameter"),
    ("batch_size-zero", lambda: clf(batch_size=0).fit(X, Y), ValueError, "'batch_size' parameter"),
    ("batch_size-negative", lambda: reg(batch_size=-1).fit(X, YR), ValueError,
     "'batch_size' parameter"),
    ("batch_size-float", lambda: clf(batch_size=2.5).fit(X, Y), ValueError, "'batch_size' parameter"),
    ("batch_size-above-n", lambda: clf(batch_size=61).fit(X, Y), ValueError,
     r"batch_size=61 is larger than the number of training samples \(n_samples=60\)"),
    ("batch_size-above-n-early-stopping",
     lambda: reg(batch_size=60, early_stopping=True).fit(X, YR), ValueError,
     r"n_samples=54 after the validation split"),
    ("max_iter-zero", lambda: clf(max_iter=0).fit(X, Y), ValueError, "'max_iter' parameter"),
    ("loss-unknown", lambda: clf(loss="foo").fit(X, Y), ValueError, "'loss' parameter"),
    ("loss-classifier-on-regressor", lambda: reg(loss="hinge").fit(X, YR), ValueError,
     "'loss' parameter"),
    ("penalty-unknown", lambda: clf(penalty="l3").fit(X, Y), ValueError, "'penalty' parameter"),
    ("learning_rate-unknown", lambda: reg(learning_rate="fast").fit(X, YR), ValueError,
     "'learning_rate' parameter"),
    ("n_jobs-zero", lambda: clf(n_jobs=0).fit(X, Y), ValueError, "n_jobs == 0 has no meaning"),
    ("n_jobs-string", lambda: clf(n_jobs="2").fit(X, Y), ValueError, "'n_jobs' parameter"),
    ("validation_fraction-one", lambda: clf(early_stopping=True, validation_fraction=1.0).fit(X, Y),
     ValueError, "'validation_fraction' parameter"),
    ("early_stopping-partial_fit", lambda: clf(early_stopping=True).partial_fit(X, Y, classes=[0, 1]),
     ValueError, "early_stopping should be False with partial_fit"),
    ("coef_init-shape", lambda: clf().fit(X, Y, coef_init=np.zeros(3)), ValueError,
     r"coef_init has shape \(3,\), expected \(4,\)"),
    ("intercept_init-shape", lambda: reg().fit(X, YR, intercept_init=np.zeros(2)), ValueError,
     r"intercept_init has shape \(2,\), expected \(1,\)"),
]


@pytest.mark.parametrize("call, error, match",
                         [pytest.param(*case[1:], id=case[0]) for case in ESTIMATOR_CASES])
def test_estimator_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _same_fit(make, X_odd, X_plain, y):
    a, b = make().fit(X_odd, y), make().fit(X_plain, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    return a


# (id, odd input, its plain equivalent)
EQUIVALENT_INPUTS = [
    ("fortran-order", np.asfortranarray(X), X),
    ("negative-strides", X[::-1, ::-1][::-1, ::-1], X),
    ("column-strided", np.repeat(X, 2, axis=1)[:, ::2], X),
    ("reversed-rows-view", X[::-1][::-1], X),
    ("objects-holding-floats", X.astype(object), X),
    ("float16", X.astype(np.float16), X.astype(np.float16).astype(np.float64)),
    ("int64", (X * 10).astype(np.int64), (X * 10).astype(np.int64).astype(np.float64)),
    ("bool", X > 0, (X > 0).astype(np.float64)),
    ("sparse-unsorted-indices", csr([1, 2, 3], [2, 0, 1], 3), csr([2, 3, 1], [0, 1, 2], 3)),
    ("sparse-duplicate-indices", csr([1, 2], [1, 1], 2), csr([3], [1], 1)),
    ("sparse-explicit-zeros", csr([0, 0, 5], [0, 1, 3], 3), csr([5], [3], 1)),
    ("sparse-int64-indices", csr([1, 2], [0, 3], 2, np.int64), csr([1, 2], [0, 3], 2)),
    ("sparse-csc", sp.csc_matrix(X), sp.csr_matrix(X)),
    ("sparse-coo", sp.coo_matrix(X), sp.csr_matrix(X)),
    # (the csr() matrices have 59 empty rows each)
    ("sparse-no-entries", sp.csr_matrix((60, 4)), csr([0.0], [2], 1)),
]


@pytest.mark.parametrize("X_odd, X_plain",
                         [pytest.param(*case[1:], id=case[0]) for case in EQUIVALENT_INPUTS])
def test_odd_but_valid_input_trains_as_its_plain_equivalent(X_odd, X_plain):
    if sp.issparse(X_plain) or X_odd.dtype == object:
        for make, y in ((clf, Y), (lambda: reg(average=True), YR)):
            _same_fit(make, X_odd, X_plain, y)
        return
    # dense plain twins: also the sparse route may not differ from the dense one
    for make, y in ((lambda: clf(loss="log_loss", penalty="elasticnet"), Y),
                    (lambda: reg(average=True), YR)):
        model = _same_fit(make, X_odd, X_plain, y)
        np.testing.assert_array_equal(model.predict(X_odd), model.predict(X_plain))
        assert np.all(np.isfinite(model.coef_))


def test_predict_accepts_the_odd_layouts_it_was_not_trained_on():
    model = fitted()
    expected = model.decision_function(X)
    for odd in (np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2], sp.csc_matrix(X),
                X.astype(np.float32)):
        np.testing.assert_allclose(model.decision_function(odd), expected, rtol=1e-6)


def test_batch_size_larger_than_a_partial_fit_chunk_is_one_step():
    """partial_fit chunks may be smaller than a batch (a stream's last chunk is)."""
    a = reg(batch_size=100, learning_rate="constant", eta0=0.01).partial_fit(X[:10], YR[:10])
    b = reg(batch_size=10, learning_rate="constant", eta0=0.01).partial_fit(X[:10], YR[:10])
    np.testing.assert_array_equal(a.coef_, b.coef_)


# -- searches ----------------------------------------------------------------

GRID = {"alpha": [1e-4, 1e-3]}
Y_RARE = np.r_[np.zeros(57, int), np.ones(3, int)]


def _corrupt_file(path):
    path.write_bytes(b"not a database" * 100)
    return path


def _foreign_sqlite(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE measurements (x REAL)")
    db.close()
    return path


def _used_storage(path):
    GridSearchCV(clf(), {"alpha": [1e-4]}, storage=path).fit(X, Y)
    return path


# (id, call(tmp_path), exception type, message regex)
SEARCH_CASES = [
    ("grid-empty-list", lambda t: GridSearchCV(clf(), []).fit(X, Y), ValueError,
     "no candidates"),
    ("grid-empty-values", lambda t: GridSearchCV(clf(), {"alpha": []}).fit(X, Y), ValueError,
     "'alpha' need to be a non-empty sequence"),
    ("grid-scalar-values", lambda t: GridSearchCV(clf(), {"alpha": 1e-4}).fit(X, Y), TypeError,
     "'alpha' needs to be a list"),
    ("grid-none", lambda t: GridSearchCV(clf(), None).fit(X, Y), ValueError,
     "'param_grid' parameter"),
    ("grid-unknown-parameter", lambda t: GridSearchCV(clf(), {"alphaa": [1e-4]}).fit(X, Y),
     ValueError, "Invalid parameter 'alphaa'"),
    ("grid-invalid-value-raise",
     lambda t: GridSearchCV(clf(), {"alpha": [-1.0]}, error_score="raise").fit(X, Y), ValueError,
     "'alpha' parameter"),
    ("grid-all-values-invalid", lambda t: GridSearchCV(clf(), {"alpha": [-1.0]}).fit(X, Y),
     ValueError, "All the 5 fits failed"),
    ("random-not-a-distribution",
     lambda t: RandomizedSearchCV(clf(), {"alpha": 5}, n_iter=2).fit(X, Y), TypeError,
     "'alpha' is not iterable or a distribution"),
    ("random-unknown-parameter",
     lambda t: RandomizedSearchCV(clf(), {"foo": Real(0, 1)}, n_iter=2).fit(X, Y), ValueError,
     "Invalid parameter 'foo'"),
    ("random-n_iter-zero",
     lambda t: RandomizedSearchCV(clf(), {"alpha": Real(1e-5, 1)}, n_iter=0).fit(X, Y),
     ValueError, "'n_iter' parameter"),
    ("bayes-empty-space", lambda t: BayesSearchCV(clf(), {}, n_iter=2).fit(X, Y), TypeError,
     "search_spaces must be a non-empty dict"),
    ("bayes-scalar-entry", lambda t: BayesSearchCV(clf(), {"alpha": 1e-4}, n_iter=2).fit(X, Y),
     TypeError, "search space entry 'alpha' must be"),
    ("bayes-unknown-parameter",
     lambda t: BayesSearchCV(clf(), {"alphx": Real(1e-5, 1)}, n_iter=2).fit(X, Y), ValueError,
     "Invalid parameter 'alphx'"),
    ("bayes-bad-prior",
     lambda t: BayesSearchCV(clf(), {"alpha": (1e-5, 1.0, "loguniform")}, n_iter=2).fit(X, Y),
     ValueError, "prior of a .* range must be 'uniform' or 'log-uniform'"),
    ("bayes-unknown-method",
     lambda t: BayesSearchCV(clf(), {"alpha": Real(1e-5, 1)}, method="smac").fit(X, Y),
     ValueError, "'method' parameter"),
    ("bayes-condition-on-absent-parameter",
     lambda t: BayesSearchCV(clf(), {"l1_ratio": Real(0, 1, when={"penalty": "elasticnet"})},
                             n_iter=2).fit(X, Y),
     ValueError, "'l1_ratio' is conditional on 'penalty', which is not in the search space"),
    ("space-real-low-above-high", lambda t: Real(3, 1), ValueError,
     r"low <= high must hold, but got \(low=3, high=1\)"),
    ("space-real-log-nonpositive", lambda t: Real(0, 1, log=True), ValueError, "needs low > 0"),
    ("space-real-nan", lambda t: Real(np.nan, 1), TypeError, "Real low must be a finite number"),
    ("space-real-string", lambda t: Real("a", 1), TypeError, "Real low must be a finite number"),
    ("space-integer-low-above-high", lambda t: Integer(3, 1), ValueError, "low <= high"),
    ("space-integer-float", lambda t: Integer(0.5, 3), TypeError, "Integer low must be an int"),
    ("space-integer-log-zero", lambda t: Integer(0, 10, log=True), ValueError, "needs low > 0"),
    ("space-categorical-empty", lambda t: Categorical([]), ValueError, "at least one choice"),
    ("space-categorical-string", lambda t: Categorical("abc"), TypeError,
     "choices must be a list or tuple"),
    ("space-when-not-a-dict", lambda t: Real(0, 1, when="penalty"), TypeError,
     "when must be a non-empty dict"),
    # folds
    ("cv-above-n", lambda t: GridSearchCV(clf(), GRID, cv=100).fit(X, Y), ValueError,
     "n_splits=100 greater than the number of samples"),
    ("cv-index-out-of-range",
     lambda t: GridSearchCV(clf(), GRID, cv=[(np.arange(50), np.arange(50, 61))]).fit(X, Y),
     IndexError, "cv split 0: test index 60 is out of bounds for 60 samples"),
    ("cv-float-indices",
     lambda t: GridSearchCV(clf(), GRID, cv=[(np.arange(50.0), np.arange(50, 60))]).fit(X, Y),
     ValueError, "cv split 0: the train indices must be a 1-d array of integers"),
    ("cv-empty-test",
     lambda t: GridSearchCV(clf(), GRID, cv=[(np.arange(60), np.array([], int))]).fit(X, Y),
     ValueError, "cv split 0 has an empty test set"),
    ("cv-above-smallest-class-stratified",
     lambda t: GridSearchCV(clf(), GRID, cv=5).fit(X, Y_RARE), UserWarning,
     "least populated class in y has only 3 members, which is less than n_splits=5"),
    ("scoring-unknown", lambda t: GridSearchCV(clf(), GRID, scoring="acuracy").fit(X, Y),
     ValueError, "'scoring' parameter"),
    ("refit-not-a-metric",
     lambda t: GridSearchCV(clf(), GRID, scoring=["accuracy", "f1"], refit="auc").fit(X, Y),
     ValueError, "refit must be set to a scorer key"),
    ("search-X-nan", lambda t: GridSearchCV(clf(), GRID).fit(with_value(X, np.nan), Y),
     ValueError, "Input X contains NaN"),
    ("search-sample_weight-nan",
     lambda t: GridSearchCV(clf(), GRID).fit(X, Y, sample_weight=with_value(np.ones(60), np.nan, 0)),
     ValueError, "sample_weight must be finite"),
    ("search-single-class", lambda t: GridSearchCV(clf(), GRID, error_score="raise").fit(
        X, np.zeros(60)), ValueError, "got 1 class"),
    # storage
    ("storage-corrupt", lambda t: GridSearchCV(clf(), GRID, storage=_corrupt_file(t / "c.db")).fit(
        X, Y), ValueError, "is not an sgdtune storage file: file is not a database"),
    ("storage-foreign-sqlite",
     lambda t: GridSearchCV(clf(), GRID, storage=_foreign_sqlite(t / "f.db")).fit(X, Y),
     ValueError, r"not an sgdtune storage file: it is a SQLite database with other tables \("
                 "measurements\\)"),
    ("storage-another-search",
     lambda t: GridSearchCV(clf(), GRID, storage=_used_storage(t / "u.db")).fit(X, Y), ValueError,
     "already holds a search: pass resume=True"),
    ("storage-another-search-resume",
     lambda t: GridSearchCV(clf(), GRID, storage=_used_storage(t / "u.db"), resume=True).fit(X, Y),
     ValueError, "holds a different search .* refusing to resume"),
    ("storage-other-data-resume",
     lambda t: GridSearchCV(clf(), {"alpha": [1e-4]}, storage=_used_storage(t / "u.db"),
                            resume=True).fit(X + 1, Y),
     ValueError, "holds a search on different data"),
    ("storage-directory", lambda t: GridSearchCV(clf(), GRID, storage=t).fit(X, Y), ValueError,
     "is a directory"),
    ("storage-missing-directory",
     lambda t: GridSearchCV(clf(), GRID, storage=t / "nowhere" / "s.db").fit(X, Y), ValueError,
     "does not exist"),
    ("storage-url-scheme", lambda t: GridSearchCV(clf(), GRID, storage="mysql://h/db").fit(X, Y),
     ValueError, "only 'sqlite:///path' URLs"),
    ("storage-wrong-type", lambda t: GridSearchCV(clf(), GRID, storage=3).fit(X, Y), TypeError,
     "'storage' parameter of GridSearchCV must be an instance of 'str'"),
]


@pytest.mark.parametrize("call, error, match",
                         [pytest.param(*case[1:], id=case[0]) for case in SEARCH_CASES])
def test_search_bad_input_raises_a_clear_error(call, error, match, tmp_path):
    if issubclass(error, Warning):
        with pytest.warns(error, match=match):
            call(tmp_path)
    else:
        with pytest.raises(error, match=match):
            call(tmp_path)


def test_read_only_storage_names_the_file(tmp_path, monkeypatch):
    """A file the process may not write (faked with SQLite's read-only mode,
    since tests may run as root, for whom permissions do not apply)."""
    path = tmp_path / "ro.db"
    path.write_bytes(b"")
    monkeypatch.setattr(_storage, "_connect", lambda p: sqlite3.connect(
        f"file:{p}?mode=ro", uri=True, isolation_level=None))
    with pytest.raises(PermissionError, match="ro.db' is not writable"):
        GridSearchCV(clf(), GRID, storage=path).fit(X, Y)


@pytest.mark.parametrize("fold_form", ["negative", "mask"])
def test_cv_indices_as_scikit_learn_takes_them(fold_form):
    """Negative indices count from the end and boolean masks select rows, as
    when scikit-learn indexes X with them: the scores are those of plain
    indices."""
    train, test = np.arange(45), np.arange(45, 60)
    odd = {"negative": (train - 60, test - 60),
           "mask": (np.isin(np.arange(60), train), np.isin(np.arange(60), test))}[fold_form]
    a = GridSearchCV(clf(), GRID, cv=[odd]).fit(X, Y).cv_results_
    b = GridSearchCV(clf(), GRID, cv=[(train, test)]).fit(X, Y).cv_results_
    np.testing.assert_array_equal(a["split0_test_score"], b["split0_test_score"])


def test_batch_size_above_a_training_fold_is_that_trial_error():
    """A trial whose batch does not fit its folds fails alone, with its reason."""
    cv = KFold(3)
    with (pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 6"),
          pytest.warns(UserWarning, match="non-finite")):
        search = GridSearchCV(clf(), {"batch_size": [8, 50]}, cv=cv).fit(X, Y)
    assert list(search.cv_results_["status"]) == ["ok", "error"]
    assert "batch_size=50 is larger than the number of training samples" in (
        search.cv_results_["error"][1])
    assert search.best_params_ == {"batch_size": 8}


@pytest.mark.parametrize("space, kind, log", [((1e-5, 1e-1, "log-uniform"), Real, True),
                                              ((1, 10), Integer, False),
                                              ((0.0, 1.0), Real, False)])
def test_bayes_search_takes_scikit_optimize_ranges(space, kind, log):
    search = BayesSearchCV(clf(), {"alpha" if kind is Real else "n_iter_no_change": space},
                           n_iter=4, random_state=0).fit(X, Y)
    values = [next(iter(p.values())) for p in search.cv_results_["params"]]
    low, high = space[0], space[1]
    assert all(low <= v <= high for v in values)
    if kind is Integer:
        assert all(isinstance(v, (int, np.integer)) for v in values)
    assert len(set(values)) == 4
