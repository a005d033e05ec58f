"""SQLite trial storage: resume after SIGKILL, refusals, processes sharing a search."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sgdtune import GridSearchCV, Real, SGDClassifier

from ._storage_worker import data, make_search

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def assert_same_trials(a, b):
    """Equal cv_results_ apart from the measured times."""
    assert sorted(a) == sorted(b)
    for key in a:
        if key.endswith("_time"):
            continue
        if key == "params":
            assert a[key] == b[key]
        elif np.asarray(a[key]).dtype.kind == "f":
            assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert list(a[key]) == list(b[key]), key


def worker(storage, out, kind, go=None):
    args = [sys.executable, "-m", "tests._storage_worker", str(storage), str(out), kind]
    if go is not None:
        args.append(str(go))
    return subprocess.Popen(args, cwd=ROOT)


def done_trials(path):
    try:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT COUNT(*) FROM trials WHERE state='done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_search_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
    X, y = data()
    reference = make_search("bayes").fit(X, y).cv_results_
    path = tmp_path / "trials.db"
    proc = worker(path, tmp_path / "unused.pkl", "bayes")
    deadline = time.time() + 120
    while done_trials(path) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = done_trials(path)
    assert 6 <= kept < 24, "the search must be killed part way"
    with sqlite3.connect(path) as db:
        first_owner = {row[0] for row in db.execute(
            "SELECT owner FROM trials WHERE state='done'")}
    resumed = make_search("bayes", storage=f"sqlite:///{path}", resume=True).fit(X, y)
    assert_same_trials(resumed.cv_results_, reference)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT owner, state FROM trials").fetchall()
    assert len(rows) == 24 and {s for _, s in rows} == {"done"}
    # the trials finished before the kill were not run again
    assert sum(owner in first_owner for owner, _ in rows) >= kept


def test_resume_refuses_other_data_space_or_a_fresh_start(tmp_path):
    X, y = data()
    path = str(tmp_path / "s.db")
    est = SGDClassifier(max_iter=2, tol=None, random_state=0)
    GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, storage=path).fit(X, y)
    with pytest.raises(ValueError, match="already holds a search: pass resume=True"):
        GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, storage=path).fit(X, y)
    with pytest.raises(ValueError, match="different data"):
        GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, storage=path,
                     resume=True).fit(X[:-1], y[:-1])
    with pytest.raises(ValueError, match="different search.*param_grid"):
        GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2, storage=path,
                     resume=True).fit(X, y)
    again = GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, storage=path,
                         resume=True).fit(X, y)
    assert list(again.cv_results_["status"]) == ["ok", "ok"]
    with pytest.raises(ValueError, match="only 'sqlite:///path'"):
        GridSearchCV(est, {"alpha": [1e-4]}, storage="postgres://x/y").fit(X, y)


def test_pruned_batches_resume_from_storage(tmp_path):
    X, y = data()
    est = SGDClassifier(max_iter=9, tol=None, random_state=0)
    kw = dict(n_iter=18, n_points=9, pruner="halving", cv=2, random_state=0)
    space = {"alpha": Real(1e-6, 1e-1, log=True)}
    from sgdtune import BayesSearchCV

    first = BayesSearchCV(est, space, storage=str(tmp_path / "p.db"), **kw).fit(X, y)
    again = BayesSearchCV(est, space, storage=str(tmp_path / "p.db"), resume=True,
                          **kw).fit(X, y)
    assert_same_trials(again.cv_results_, first.cv_results_)
    assert again.history_ == first.history_
    for a, b in zip(first.cv_results_["mean_fit_time"], again.cv_results_["mean_fit_time"],
                    strict=True):
        assert a == b  # taken from the file, not measured again


def test_two_processes_share_one_search(tmp_path):
    X, y = data()
    reference = make_search("grid").fit(X, y).cv_results_
    path, go = tmp_path / "shared.db", tmp_path / "go"
    procs = [worker(path, tmp_path / f"out{i}.pkl", "grid", go) for i in range(2)]
    deadline = time.time() + 120
    while len(list(tmp_path.glob("go.ready.*"))) < 2 and time.time() < deadline:
        assert all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    for p in procs:
        assert p.wait(timeout=300) == 0
    for i in range(2):
        with open(tmp_path / f"out{i}.pkl", "rb") as fh:
            assert_same_trials(pickle.load(fh), reference)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT number, owner, state FROM trials").fetchall()
    assert sorted(n for n, _, _ in rows) == list(range(48))
    assert {s for _, _, s in rows} == {"done"}
    assert len({o for _, o, _ in rows}) == 2  # both processes trained trials


def test_other_estimators_store_and_resume_too(tmp_path):
    from sgdtune import BayesSearchCV
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)  # a DataFrame, fingerprinted too
    kw = dict(n_iter=6, n_points=2, cv=3, random_state=0, n_jobs=2)
    space = {"C": Real(1e-2, 10.0, log=True)}
    plain = BayesSearchCV(LogisticRegression(max_iter=300), space, **kw).fit(X, y)
    path = str(tmp_path / "lr.db")
    stored = BayesSearchCV(LogisticRegression(max_iter=300), space, storage=path,
                           **kw).fit(X, y)
    again = BayesSearchCV(LogisticRegression(max_iter=300), space, storage=path,
                          resume=True, **kw).fit(X, y)
    assert_same_trials(stored.cv_results_, plain.cv_results_)
    assert_same_trials(again.cv_results_, plain.cv_results_)
    assert list(again.cv_results_["mean_fit_time"]) == list(stored.cv_results_["mean_fit_time"])
    with pytest.raises(ValueError, match="different data"):
        BayesSearchCV(LogisticRegression(max_iter=300), space, storage=path, resume=True,
                      **kw).fit(X.iloc[:, :3], y)
