"""The dask backend: trials sent to a cluster give the local results."""

from __future__ import annotations

import numpy as np
import pytest
from sgdtune import BayesSearchCV, GridSearchCV, Real, SGDClassifier
from sklearn.datasets import load_digits

from .test_search import assert_same_results

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_dask_backend_without_a_client_is_a_clear_error(digits):
    X, y = digits
    # runs before the module's cluster starts (tests run in file order)
    with pytest.raises(ValueError, match="needs a running dask.distributed Client"):
        GridSearchCV(SGDClassifier(max_iter=1), {"alpha": [1e-4]}, cv=2,
                     backend="dask").fit(X, y)


def test_grid_search_on_two_workers_equals_local(client, digits):
    X, y = digits
    est = SGDClassifier(max_iter=5, tol=None, random_state=0)
    grid = {"alpha": [1e-5, 1e-4, 1e-3], "loss": ["hinge", "log_loss"],
            "batch_size": [1, 8]}
    with distributed.get_task_stream(client) as stream:
        remote = GridSearchCV(est, grid, cv=3, backend="dask").fit(X, y)
    local = GridSearchCV(est, grid, cv=3).fit(X, y)
    assert_same_results(remote, local)
    # one group of trials per worker thread: both workers trained
    tasks = [t for t in stream.data if t["key"].startswith("_fit_score_remote")]
    assert len(tasks) == 2 and len({t["worker"] for t in tasks}) == 2


def test_joblib_dask_config_and_model_based_search(client, digits):
    from joblib import parallel_config

    X, y = digits
    est = SGDClassifier(max_iter=3, tol=None, random_state=0)
    space = {"alpha": Real(1e-6, 1e-1, log=True), "loss": ["hinge", "log_loss"]}
    with parallel_config(backend="dask"):
        remote = BayesSearchCV(est, space, n_iter=8, n_points=4, cv=2,
                               random_state=0).fit(X, y)
    local = BayesSearchCV(est, space, n_iter=8, n_points=4, cv=2, random_state=0,
                          backend="local").fit(X, y)
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
