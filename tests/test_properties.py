"""Property-based tests (hypothesis) over shapes, dtypes, sparsity,
hyperparameters, malformed sparse structure and search spaces: fit, predict
and search never crash and keep their invariants.

The examples are derandomised, so CI runs the same ones every time; set
``HYPOTHESIS_PROFILE=explore`` to draw new ones locally.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402
from sgdtune import (  # noqa: E402
    Categorical,
    DivergenceError,
    GridSearchCV,
    Integer,
    Real,
    SGDClassifier,
    SGDRegressor,
    Space,
)
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CLASSIFIER_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron"]
REGRESSOR_LOSSES = ["squared_error", "huber", "epsilon_insensitive",
                    "squared_epsilon_insensitive"]


@st.composite
def problems(draw, classifier):
    """A small data set: dense or CSR, float32 or float64, any scale."""
    n = draw(st.integers(2, 40))
    d = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    X = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-1, 1, width=32)))
    X = (X * scale).astype(dtype)
    if draw(st.booleans()):
        X[np.abs(X) < 0.5 * scale] = 0  # some structure for the sparse path
        X = sp.csr_matrix(X)
    if classifier:
        n_classes = draw(st.integers(2, 4))
        y = np.arange(n) % n_classes
        y = draw(st.permutations(y))
        y = np.asarray(y)
    else:
        y = np.asarray(draw(hnp.arrays(np.float64, n, elements=st.floats(-100, 100))))
    return X, y


@st.composite
def hyperparameters(draw, classifier, n_samples):
    params = {
        "loss": draw(st.sampled_from(CLASSIFIER_LOSSES if classifier else REGRESSOR_LOSSES)),
        "penalty": draw(st.sampled_from([None, "l2", "l1", "elasticnet"])),
        "alpha": draw(st.floats(1e-7, 1.0)),
        "l1_ratio": draw(st.floats(0, 1)),
        "learning_rate": draw(st.sampled_from(["constant", "optimal", "invscaling",
                                               "adaptive"])),
        "eta0": draw(st.floats(1e-4, 1.0)),
        "batch_size": draw(st.integers(1, n_samples)),
        "average": draw(st.sampled_from([False, True, 3])),
        "fit_intercept": draw(st.booleans()),
        "max_iter": draw(st.integers(1, 8)),
        "tol": draw(st.sampled_from([None, 1e-3])),
        "shuffle": draw(st.booleans()),
        "random_state": draw(st.integers(0, 2**31 - 1)),
    }
    if classifier:
        params["class_weight"] = draw(st.sampled_from([None, "balanced"]))
        params["n_jobs"] = draw(st.sampled_from([None, 2]))
    return params


def _fit(model, X, y, sample_weight=None):
    """Fit, returning False when training diverged (a clear, named error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model.fit(X, y, sample_weight=sample_weight)
        except DivergenceError as exc:
            assert "epoch" in str(exc)
            return False
    return True


@settings(max_examples=300)
@given(data=st.data(), classifier=st.booleans())
def test_fit_and_predict_keep_their_invariants(data, classifier):
    X, y = data.draw(problems(classifier))
    params = data.draw(hyperparameters(classifier, X.shape[0]))
    sample_weight = data.draw(st.none() | hnp.arrays(
        np.float64, X.shape[0], elements=st.floats(0.1, 10)))
    Model = SGDClassifier if classifier else SGDRegressor
    model = Model(**params)
    if not _fit(model, X, y, sample_weight):
        return
    # weights in the data's precision, finite, the documented shapes
    assert model.coef_.dtype == X.dtype
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    if not params["fit_intercept"]:
        assert np.all(model.intercept_ == 0)
    decision = model.decision_function(X) if classifier else model.predict(X)
    assert np.all(np.isfinite(decision))
    if classifier:
        n_classes = np.unique(y).shape[0]
        assert model.coef_.shape == ((1 if n_classes == 2 else n_classes), X.shape[1])
        assert set(model.predict(X)) <= set(model.classes_)
        if params["loss"] in ("log_loss", "modified_huber"):
            proba = model.predict_proba(X)
            assert proba.shape == (X.shape[0], n_classes)
            assert np.all((proba >= 0) & (proba <= 1))
            np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    else:
        assert model.coef_.shape == (X.shape[1],)
    # the same seed gives the same model, whatever the thread count
    again = Model(**{**params, "n_jobs": 1} if classifier else params)
    assert _fit(again, X, y, sample_weight)
    np.testing.assert_array_equal(again.coef_, model.coef_)
    np.testing.assert_array_equal(again.intercept_, model.intercept_)


@st.composite
def malformed_csr(draw):
    """CSR parts as a user may build them by hand: unsorted, duplicated,
    out-of-range or negative indices, a broken indptr, explicit zeros."""
    n, d = draw(st.integers(1, 8)), draw(st.integers(1, 5))
    counts = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    indptr = np.concatenate([[0], np.cumsum(counts)])
    nnz = int(indptr[-1])
    indices = np.asarray(draw(st.lists(st.integers(-2, d + 1), min_size=nnz, max_size=nnz)),
                         dtype=np.int64)
    data = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0, -2.5, 0.5]), min_size=nnz,
                                    max_size=nnz)))
    if draw(st.booleans()) and n > 1:
        indptr[draw(st.integers(1, n - 1))] += draw(st.sampled_from([-3, 7]))
    return data, indices, indptr, (n, d)


@settings(max_examples=400)
@given(parts=malformed_csr(), index_dtype=st.sampled_from([np.int32, np.int64]))
def test_hand_built_sparse_input_is_read_safely_or_refused(parts, index_dtype):
    data, indices, indptr, shape = parts
    n = shape[0]
    y = np.arange(n) % 2
    if n < 2:
        y = np.array([0])
    try:
        X = sp.csr_matrix((data, indices.astype(index_dtype), indptr.astype(index_dtype)),
                          shape=shape)
    except ValueError:
        return  # scipy itself refuses it
    valid = (np.all(np.diff(indptr) >= 0) and indptr[-1] == len(indices)
             and (len(indices) == 0 or (indices.min() >= 0 and indices.max() < shape[1])))
    def fit(matrix, penalty):
        return SGDRegressor(max_iter=3, tol=None, random_state=0, penalty=penalty).fit(
            matrix, y.astype(float))

    if not valid:
        with pytest.raises(ValueError):
            fit(X, "elasticnet")
        return
    canonical = sp.csr_matrix(X.toarray())
    # the same model as from scipy's canonical form of the matrix: bit for bit,
    # or to rounding where a row repeats a column (its values are then summed
    # in another order)
    repeats = any(len(set(X.indices[X.indptr[r]:X.indptr[r + 1]])) < X.indptr[r + 1] -
                  X.indptr[r] for r in range(n))
    rtol = 1e-12 if repeats else 0
    model, plain = fit(X, "l2"), fit(canonical, "l2")
    np.testing.assert_allclose(model.coef_, plain.coef_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(model.predict(X), plain.predict(canonical), rtol=rtol,
                               atol=rtol)
    # with an L1 part a stored zero counts as a touch that applies the
    # cumulative penalty then (as in scikit-learn), so only finiteness holds
    assert np.all(np.isfinite(fit(X, "elasticnet").predict(X)))


@st.composite
def dimensions(draw):
    kind = draw(st.sampled_from(["real", "integer", "categorical"]))
    log = draw(st.booleans())
    if kind == "real":
        low = draw(st.floats(1e-6 if log else -1e6, 1e6))
        high = draw(st.floats(low, max(low, 1e6)))
        return Real(low, high, log=log)
    if kind == "integer":
        low = draw(st.integers(1 if log else -1000, 1000))
        high = draw(st.integers(low, low + 10**6))
        return Integer(low, high, log=log)
    return Categorical(draw(st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()),
                                     min_size=1, max_size=5, unique_by=repr)))


@settings(max_examples=500)
@given(dim=dimensions(), u=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
@hypothesis.example(dim=Real(302487.2596656184, 302487.2596656185, log=True), u=0.0, seed=0)
def test_space_dimensions_map_the_unit_box_into_their_bounds(dim, u, seed):
    value = dim.from_unit(u)
    drawn = dim.rvs(random_state=seed)
    if isinstance(dim, Categorical):
        assert any(value is c or value == c for c in dim.choices)
        assert any(drawn is c or drawn == c for c in dim.choices)
        assert dim.from_unit(dim.to_unit(value)) == value
        return
    for v in (value, drawn):
        assert dim.low <= v <= dim.high
        if isinstance(dim, Integer):
            assert isinstance(v, (int, np.integer))
    assert 0 <= dim.to_unit(value) <= 1
    back = dim.from_unit(dim.to_unit(value))
    if isinstance(dim, Integer):
        assert back == value
    else:
        assert back == pytest.approx(value, rel=1e-9, abs=1e-9 * max(1.0, abs(dim.high)))


@settings(max_examples=60)
@given(data=st.data())
def test_search_results_are_complete_and_reproducible(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    n = data.draw(st.integers(30, 80))
    X = rng.normal(size=(n, 3)) * data.draw(st.sampled_from([1.0, 1e150]))
    y = (X[:, 0] > 0).astype(int)
    y[:2] = [0, 1]
    grid = {
        "alpha": data.draw(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=3, unique=True)),
        "eta0": data.draw(st.lists(st.sampled_from([1e-3, 1.0, 1e3]), min_size=1, max_size=2,
                                   unique=True)),
        "learning_rate": ["constant"],
        "batch_size": data.draw(st.lists(st.sampled_from([1, 4, 29, 200]), min_size=1,
                                         max_size=2, unique=True)),
    }
    cv = data.draw(st.integers(2, 3))
    est = SGDClassifier(max_iter=3, tol=None, random_state=0)

    def run(n_jobs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitFailedWarning)
            warnings.simplefilter("ignore", UserWarning)
            try:
                return GridSearchCV(est, grid, cv=cv, n_jobs=n_jobs, refit=False).fit(X, y)
            except ValueError as exc:  # every trial failed: said so, with reasons
                assert "fits failed" in str(exc)
                return None

    one, two = run(1), run(2)
    assert (one is None) == (two is None)
    if one is None:
        return
    res = one.cv_results_
    n_candidates = len(res["params"])
    assert n_candidates == np.prod([len(v) for v in grid.values()])
    for key, value in res.items():
        assert len(value) == n_candidates, key
    for i in range(n_candidates):
        status = res["status"][i]
        assert status in ("ok", "diverged", "error")
        scores = [res[f"split{s}_test_score"][i] for s in range(cv)]
        if status == "ok":
            assert np.all(np.isfinite(scores)) and res["error"][i] == ""
        else:
            assert np.isnan(res["mean_test_score"][i]) and res["error"][i]
        if res["params"][i]["batch_size"] > n:
            assert status == "error" and "batch_size" in res["error"][i]
    for key in res:
        if not key.endswith("_time") and key != "params":
            np.testing.assert_array_equal(np.asarray(res[key]),
                                          np.asarray(two.cv_results_[key]), err_msg=key)


def test_the_space_of_a_search_decodes_its_own_encoding():
    """A fixed check beside the random ones: conditional dimensions are NaN
    where inactive and round-trip where active."""
    space = Space({"penalty": ["l2", "elasticnet"],
                   "l1_ratio": Real(0, 1, when={"penalty": "elasticnet"})})
    u = space.encode({"penalty": "l2"})
    assert np.isnan(u[space.names.index("l1_ratio")])
    params = {"penalty": "elasticnet", "l1_ratio": 0.25}
    assert space.decode(space.encode(params)) == params
