"""``sgdtune bench``: how sgdtune compares on this machine, measured in one run.

On generated data it measures, as medians of repeated runs:

* this machine's limits: reading memory (``X.sum()`` over a large array) and
  the float64 matrix product of NumPy's BLAS;
* one epoch of SGD per row (``batch_size=1``): sgdtune against scikit-learn's
  SGDClassifier (hinge with L2, log_loss with elastic-net);
* one epoch of mini-batch SGD (``batch_size=64``): sgdtune against the plain
  NumPy trainer (``sgdtune._numpy_sgd``);
* a 24-configuration x 3-fold grid search: sgdtune's GridSearchCV against
  scikit-learn's, with the best CV scores.

Every ratio is ``other's time / sgdtune's time`` from the same run. The full
benchmark suite is in the repository's ``benchmarks/`` folder.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _data(n, d, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 5,
                               random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X), y


def run(n_samples=50_000, repeats=3, n_jobs=2, json_path=None, out=print):
    """Run the comparison; print a markdown table; return its rows as dicts."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier as SkSGD
    from sklearn.model_selection import GridSearchCV as SkGrid

    from . import GridSearchCV, SGDClassifier
    from ._numpy_sgd import NumpyMiniBatchSGD

    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = []

    def add(task, ours, theirs, other, note=""):
        rows.append({"task": task, "sgdtune_s": ours, "other": other, "other_s": theirs,
                     "ratio": theirs / ours if ours > 0 else float("nan"), "note": note})

    big = np.ones((4_000_000,), dtype=np.float64)  # 32 MB
    read = _median_time(big.sum, max(3, repeats))
    A = np.random.default_rng(0).normal(size=(1024, 1024))
    gemm = _median_time(lambda: A @ A, max(3, repeats))
    out(f"machine: memory read {big.nbytes / read / 1e9:.1f} GB/s, float64 matrix product "
        f"{2 * 1024**3 / gemm / 1e9:.1f} GFLOP/s")

    X, y = _data(n_samples, 100)
    epochs = 5
    for loss, penalty in (("hinge", "l2"), ("log_loss", "elasticnet")):
        kw = dict(loss=loss, penalty=penalty, max_iter=epochs, tol=None, random_state=0)
        ours = _median_time(lambda kw=kw: SGDClassifier(**kw).fit(X, y), repeats)
        theirs = _median_time(lambda kw=kw: SkSGD(**kw).fit(X, y), repeats)
        add(f"epoch, batch_size=1, {loss} + {penalty}", ours / epochs, theirs / epochs,
            "scikit-learn")

    kw = dict(loss="log_loss", alpha=1e-4, max_iter=epochs, random_state=0)
    ours = _median_time(lambda: SGDClassifier(batch_size=64, tol=None, **kw).fit(X, y), repeats)
    theirs = _median_time(lambda: NumpyMiniBatchSGD(batch_size=64, **kw).fit(X, y), repeats)
    add("epoch, batch_size=64, log_loss + l2", ours / epochs, theirs / epochs, "NumPy trainer")

    grid = {"alpha": [1e-6, 1e-5, 1e-4, 1e-3], "penalty": ["l2", "l1", "elasticnet"],
            "loss": ["log_loss", "hinge"]}
    Xs, ys = X[: n_samples // 2], y[: n_samples // 2]
    kw = dict(max_iter=epochs, tol=None, random_state=0)
    found = {}

    def search(cls, est, name):
        def fit():
            found[name] = cls(est(**kw), grid, cv=3, n_jobs=n_jobs).fit(Xs, ys).best_score_
        return fit

    ours = _median_time(search(GridSearchCV, SGDClassifier, "ours"), repeats)
    theirs = _median_time(search(SkGrid, SkSGD, "theirs"), repeats)
    add(f"grid search, 24 configs x 3 folds, {len(Xs)} rows", ours, theirs,
        f"scikit-learn (n_jobs={n_jobs})",
        f"best CV {found['ours']:.4f} vs {found['theirs']:.4f}")

    out("")
    out("| task | sgdtune | other | other's time | speed-up | note |")
    out("|---|---|---|---|---|---|")
    for r in rows:
        out(f"| {r['task']} | {r['sgdtune_s'] * 1e3:.1f} ms | {r['other']} | "
            f"{r['other_s'] * 1e3:.1f} ms | {r['ratio']:.1f}x | {r['note']} |")
    if json_path:
        with open(json_path, "a", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    return rows
