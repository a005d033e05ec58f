"""A search with storage, run as a separate process by test_storage.py.

usage: python -m tests._storage_worker STORAGE OUT KIND [GO_FILE]
Writes the search's cv_results_ (pickled) to OUT when it finishes. With
GO_FILE, writes GO_FILE.ready.<pid> once imported, then waits for GO_FILE to
exist before starting (to start several processes together).
"""

from __future__ import annotations

import os
import pickle
import sys
import time

from sgdtune import BayesSearchCV, GridSearchCV, Real, SGDClassifier
from sklearn.datasets import load_digits


def make_search(kind, storage=None, resume=False):
    est = SGDClassifier(max_iter=30, tol=None, random_state=0)
    if kind == "bayes":
        return BayesSearchCV(est, {"alpha": Real(1e-6, 1e-1, log=True),
                                   "loss": ["hinge", "log_loss"]},
                             n_iter=24, n_points=2, n_startup=4, cv=3, random_state=0,
                             storage=storage, resume=resume)
    grid = {"alpha": [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1], "loss": ["hinge", "log_loss"],
            "penalty": ["l2", "elasticnet"], "average": [False, True]}
    return GridSearchCV(est, grid, cv=3, storage=storage, resume=resume)


def data():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


if __name__ == "__main__":
    storage, out, kind = sys.argv[1:4]
    X, y = data()
    if len(sys.argv) > 4:  # ready (imports done), then wait for the start signal
        open(f"{sys.argv[4]}.ready.{os.getpid()}", "w").close()
        while not os.path.exists(sys.argv[4]):
            time.sleep(0.01)
    search = make_search(kind, storage=storage, resume=True).fit(X, y)
    with open(out, "wb") as fh:
        pickle.dump(search.cv_results_, fh)
