"""GridSearchCV / RandomizedSearchCV: scikit-learn's results, trained in the core."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats as stats
import sklearn.model_selection as skms
from numpy.testing import assert_array_equal
from sgdtune import GridSearchCV, RandomizedSearchCV, SGDClassifier, SGDRegressor, _core
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._interrupt import assert_interrupted_quickly


def assert_same_results(ours, theirs):
    """Same keys, dtypes and values; fit and score times aside."""
    a, b = ours.cv_results_, theirs.cv_results_
    # scikit-learn's keys, plus each trial's status and failure reason
    assert set(b) <= set(a) and set(a) - set(b) in (set(), {"status", "error"})
    failed = np.isnan(b[next(k for k in b if k.startswith("mean_test_"))])
    assert list(np.asarray(a["status"]) != "ok") == list(failed)
    assert all((msg != "") == f for msg, f in zip(a["error"], failed, strict=True))
    for key in b:
        if key.endswith("_time"):
            assert a[key].shape == b[key].shape
            continue
        if key == "params":
            assert a[key] == b[key]
            continue
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.dtype == y.dtype, key
        if x.dtype.kind == "f":
            assert_array_equal(x, y, err_msg=key)  # NaN == NaN here
        else:
            assert list(x) == list(y), key
        if isinstance(b[key], np.ma.MaskedArray):
            assert_array_equal(np.ma.getmaskarray(a[key]), np.ma.getmaskarray(b[key]))
    for attr in ("best_index_", "best_score_", "best_params_", "n_splits_", "multimetric_"):
        if hasattr(theirs, attr):
            a, b = getattr(ours, attr), getattr(theirs, attr)
            both_nan = isinstance(b, float) and np.isnan(b) and np.isnan(a)
            assert a == b or both_nan, attr


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


GRID = {"alpha": [1e-4, 1e-3], "penalty": ["l2", "elasticnet"], "loss": ["hinge", "log_loss"],
        "batch_size": [1, 16]}


@pytest.mark.parametrize("sparse", [False, True])
def test_grid_search_equals_scikit_learn(digits, sparse):
    X, y = digits
    if sparse:
        X = sp.csr_matrix(X)
    est = SGDClassifier(random_state=0, max_iter=20)
    ours = GridSearchCV(est, GRID, cv=3).fit(X, y)
    theirs = skms.GridSearchCV(est, GRID, cv=3).fit(X, y)
    assert_same_results(ours, theirs)
    assert_array_equal(ours.best_estimator_.coef_, theirs.best_estimator_.coef_)
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert_array_equal(ours.classes_, theirs.classes_)


def test_multimetric_refit_train_scores_and_sample_weight():
    X, y = make_classification(n_samples=400, random_state=0)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=400)
    kw = {"scoring": {"acc": "accuracy", "f1": "f1", "ll": "neg_log_loss"},
          "refit": "f1", "return_train_score": True, "cv": 4}
    grid = {"alpha": [1e-4, 1e-2], "loss": ["log_loss", "modified_huber"]}
    est = SGDClassifier(random_state=1, max_iter=30)
    ours = GridSearchCV(est, grid, **kw).fit(X, y, sample_weight=sw)
    theirs = skms.GridSearchCV(est, grid, **kw).fit(X, y, sample_weight=sw)
    assert_same_results(ours, theirs)
    assert ours.multimetric_ and set(ours.scorer_) == {"acc", "f1", "ll"}


def test_randomized_search_equals_scikit_learn():
    X, y = make_regression(n_samples=300, n_features=8, noise=3.0, random_state=0)
    y = y / y.std()
    dists = {"alpha": stats.loguniform(1e-6, 1e-1), "eta0": stats.loguniform(1e-3, 1e-1),
             "loss": ["squared_error", "huber"]}
    est = SGDRegressor(random_state=0, max_iter=50)
    ours = RandomizedSearchCV(est, dists, n_iter=8, random_state=3, cv=3).fit(X, y)
    theirs = skms.RandomizedSearchCV(est, dists, n_iter=8, random_state=3, cv=3).fit(X, y)
    assert_same_results(ours, theirs)


def test_thread_count_does_not_change_results(digits):
    X, y = digits
    est = SGDClassifier(random_state=0, max_iter=10, tol=None)
    one = GridSearchCV(est, GRID, cv=3, n_jobs=1).fit(X, y)
    two = GridSearchCV(est, GRID, cv=3, n_jobs=2).fit(X, y)
    assert_same_results(one, two)


def test_refit_runs_on_the_searchs_threads_and_equals_a_plain_fit():
    # The search's n_jobs threads share the refit's mini-batch steps (the
    # estimator's own n_jobs is None); the refitted model is the plain fit's.
    X, y = make_classification(n_samples=2000, n_features=100, random_state=0)
    est = SGDClassifier(batch_size=256, max_iter=3, tol=None, random_state=0)
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2)
    before = _core.team_helpers_started()
    search.fit(X, y)
    assert _core.team_helpers_started() > before
    assert search.best_estimator_.n_jobs is None
    plain = SGDClassifier(**search.best_estimator_.get_params()).fit(X, y)
    assert_array_equal(search.best_estimator_.coef_, plain.coef_)
    assert_array_equal(search.best_estimator_.intercept_, plain.intercept_)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_failed_candidates_get_error_score():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * 1e150
    y = rng.normal(size=200)
    grid = {"eta0": [1e-300, 1.0], "learning_rate": ["constant"]}
    est = SGDRegressor(max_iter=20, random_state=0)
    with pytest.warns(FitFailedWarning, match="fits failed"):
        search = GridSearchCV(est, grid, cv=2, error_score=np.nan, refit=False).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1]) and not np.isnan(scores[0])
    with pytest.raises(ValueError, match="epoch"):
        GridSearchCV(est, grid, cv=2, error_score="raise").fit(X, y)


def test_other_estimators_take_scikit_learns_path(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    grid = {"logisticregression__C": [0.1, 1.0]}
    ours = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    theirs = skms.GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert_same_results(ours, theirs)


def test_ctrl_c_stops_a_search_quickly():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 40))
    y = (X[:, 0] > 0).astype(int)
    search = GridSearchCV(SGDClassifier(max_iter=100000, tol=None),
                          {"alpha": [1e-4, 1e-3, 1e-2]}, cv=3, n_jobs=2)
    assert_interrupted_quickly(lambda: search.fit(X, y), after=0.5)
    assert not hasattr(search, "cv_results_")


def test_dataframe_input_and_invalid_search_parameters(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    est = SGDClassifier(random_state=0, max_iter=10)
    grid = {"alpha": [1e-4, 1e-3]}
    ours = GridSearchCV(est, grid, cv=3).fit(df, y)
    theirs = skms.GridSearchCV(est, grid, cv=3).fit(df, y)
    assert_same_results(ours, theirs)
    assert list(ours.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match="cv"):
        GridSearchCV(est, grid, cv="three").fit(X, y)


def test_verbose_search_reports_progress(digits, capsys):
    X, y = digits
    GridSearchCV(SGDClassifier(random_state=0, max_iter=5, tol=None), {"alpha": [1e-4, 1e-3]},
                 cv=3, verbose=1).fit(X, y)
    captured = capsys.readouterr()
    assert "Fitting 3 folds for each of 2 candidates, totalling 6 fits" in captured.out
    assert "[sgdtune] 2/2 trials, best 0." in captured.err


def test_progress_callback_counts_every_epoch_and_can_stop():
    from sgdtune._engine import fit_folds

    X, y = make_classification(n_samples=500, random_state=0)
    folds = [(np.arange(0, 400), None), (np.arange(100, 500), None)]
    seen = []
    ests = [SGDClassifier(max_iter=7, tol=None), SGDClassifier(max_iter=3, tol=None)]
    fit_folds(ests, X, y, folds, progress=lambda done, total: seen.append((done, total)))
    # two folds x (a block of 7 epochs and one of 3): 20 block-epochs
    assert seen[-1] == (20, 20)

    def stop(done, total):
        raise RuntimeError("stop the search")

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 30))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(RuntimeError, match="stop the search"):
        fit_folds([SGDClassifier(max_iter=100000, tol=None)], X, y,
                  [(np.arange(20000), None)], progress=stop)


def test_finiteness_is_taken_as_checked_for_that_very_array_only():
    # A search validates X once and its folds and refit skip the finiteness
    # check for that array (sgdtune._base._finite_known); any other array, and
    # the same array outside the search, is checked.
    from sgdtune._base import _finite_known

    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    bad = X.copy()
    bad[3, 2] = np.nan
    with _finite_known(X):
        SGDClassifier(max_iter=2, tol=None).fit(X, y)
        with pytest.raises(ValueError, match="Input X contains NaN"):
            SGDClassifier(max_iter=2, tol=None).fit(bad, y)
    with _finite_known(bad):
        pass
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SGDClassifier(max_iter=2, tol=None).fit(bad, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GridSearchCV(SGDClassifier(max_iter=2, tol=None), {"alpha": [1e-4, 1e-3]}).fit(bad, y)
