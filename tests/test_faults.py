"""Faults: Ctrl-C keeps a stored search's finished trials, nothing leaks,
searches make no copies of X, and sgdtune may be used from several Python
threads at once."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sgdtune import (
    BayesSearchCV,
    GridSearchCV,
    Real,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.base import clone
from sklearn.datasets import make_classification

from ._memory import traced_peak

# the sanitizer runs (.ci/sanitize) hold freed memory in quarantine: RSS
# figures mean nothing there
SANITIZED = bool(os.environ.get("SGDTUNE_SANITIZED"))


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _same_cv_results(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if key.endswith("_time"):
            continue
        if key == "params":
            assert a[key] == b[key]
        else:
            assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def _run_in_threads(calls):
    results, errors = [None] * len(calls), []

    def work(i):
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_searches_from_several_python_threads_equal_serial_searches():
    X, y = make_classification(n_samples=600, n_features=12, random_state=0)
    est = SGDClassifier(max_iter=8, tol=None, random_state=0)

    def searches():
        return [
            lambda: GridSearchCV(est, {"alpha": [1e-5, 1e-3], "penalty": ["l2", "l1"]},
                                 cv=3, n_jobs=2).fit(X, y),
            lambda: BayesSearchCV(est, {"alpha": Real(1e-6, 1e-1, log=True)}, n_iter=6,
                                  n_points=2, cv=3, random_state=1).fit(X, y),
            lambda: GridSearchCV(clone(est).set_params(batch_size=16), {"alpha": [1e-4, 1e-2]},
                                 cv=3, pruner="halving", max_epochs=9, min_epochs=1
                                 ).fit(X, y),
            lambda: SGDClassifier(random_state=0, n_jobs=2).fit(X, y),
        ]

    serial = [call() for call in searches()]
    threaded = _run_in_threads(searches())
    for a, b in zip(serial[:3], threaded[:3], strict=True):
        _same_cv_results(a.cv_results_, b.cv_results_)
        assert_array_equal(a.best_estimator_.coef_, b.best_estimator_.coef_)
    assert_array_equal(serial[3].coef_, threaded[3].coef_)


def test_ctrl_c_keeps_a_stored_searchs_finished_trials_and_it_resumes(tmp_path):
    """Ctrl-C arrives while the core trains a later batch; the trials already
    finished stay in the file, and resuming ends where an uninterrupted run
    ends."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 20))  # a trial trains for about 0.2 s
    y = (X[:, 0] + 0.5 * rng.normal(size=20000) > 0).astype(int)
    space = {"alpha": Real(1e-6, 1e-2, log=True)}

    def search(**kw):
        return BayesSearchCV(SGDClassifier(max_iter=150, tol=None, random_state=0), space,
                             n_iter=8, n_points=1, cv=2, random_state=0, **kw)

    reference = search().fit(X, y).cv_results_
    path = tmp_path / "trials.db"
    timers = []

    def interrupt_during_the_next_batch(progress):
        if progress.n_trials == 3:  # the 4th trial is about to train
            timers.append(threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)))
            timers[-1].start()
        return False

    with pytest.raises(KeyboardInterrupt):
        search(storage=path, callbacks=[interrupt_during_the_next_batch]).fit(X, y)
    timers[-1].join()
    with sqlite3.connect(path) as db:
        done = db.execute("SELECT COUNT(*) FROM trials WHERE state='done'").fetchone()[0]
    db.close()
    assert 3 <= done < 8
    resumed = search(storage=path, resume=True).fit(X, y)
    _same_cv_results(resumed.cv_results_, reference)


@pytest.mark.skipif(SANITIZED or not os.path.exists("/proc/self/statm"),
                    reason="needs Linux RSS figures, meaningless under sanitizers")
def test_memory_is_flat_over_1000_fits_and_100_searches():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 50))  # 400 kB: a copy kept per fit would be 400 MB
    y = (X[:, 0] > 0).astype(int)
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    Xf = X.astype(np.float32)
    fits = [
        lambda: SGDClassifier(max_iter=3, tol=None, random_state=0).fit(X, y).predict(X),
        lambda: SGDClassifier(max_iter=3, tol=None, penalty="l1", batch_size=8,
                              loss="log_loss", n_jobs=2).fit(Xf, y3).predict_proba(Xf),
        lambda: SGDRegressor(max_iter=3, tol=None, average=True).fit(X, X[:, 0]).predict(X),
        lambda: SGDClassifier(early_stopping=True, random_state=0).fit(X, y),
        lambda: SGDClassifier().partial_fit(X, y, classes=[0, 1]).decision_function(X),
    ]

    def search():
        return GridSearchCV(SGDClassifier(max_iter=3, tol=None), {"alpha": [1e-4, 1e-2]},
                            cv=3, n_jobs=2).fit(X, y)

    def rounds(n_fits, n_searches):
        for i in range(n_fits):
            fits[i % len(fits)]()
        for _ in range(n_searches):
            search()
        gc.collect()

    rounds(100, 10)  # warm up: imports, caches, allocator pools
    before = _rss_bytes()
    rounds(1000, 100)
    grown = _rss_bytes() - before
    assert grown < 20 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"


def test_a_search_makes_no_copy_of_X():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40000, 100)).astype(np.float32)  # 16 MB
    y = (X[:, 0] > 0).astype(int)
    search = GridSearchCV(SGDClassifier(max_iter=2, tol=None, random_state=0),
                          {"alpha": [1e-4, 1e-3], "penalty": ["l2", "elasticnet"]},
                          cv=3, n_jobs=2, refit=True)
    peak = traced_peak(lambda: search.fit(X, y))
    # folds are index arrays (8 bytes a row each), labels and decision values a
    # few bytes a row: a copy of X, or of a fold of X, would be 10 MB or more
    assert peak < 0.5 * X.nbytes, (peak, X.nbytes)
