"""Search-speed benchmark: sgdtune's GridSearchCV against scikit-learn's searches.

The job: classify dense 100,000 x 100 data (``make_classification``, 20
informative features, standardised) with SGD over the grid
``alpha`` in [1e-6, 1e-5, 1e-4, 1e-3] x ``penalty`` in [l2, l1, elasticnet] x
``loss`` in [log_loss, hinge] (24 configurations), 3-fold CV, ``max_iter=10,
tol=None``. Each method runs in a fresh subprocess, so that its memory is its
own; every time is the median of ``--repeats`` runs inside that process,
after one run that measures the memory (see below) and warms up. Methods:

* ``sklearn-grid``: scikit-learn's GridSearchCV over its SGDClassifier,
  ``n_jobs=2`` (the reference of every ratio);
* ``sklearn-halving``: scikit-learn's HalvingGridSearchCV, same grid;
* ``sgdtune-grid``, ``sgdtune-grid-b64``: sgdtune's GridSearchCV over its
  SGDClassifier at ``batch_size`` 1 and 64, ``n_jobs=2``;
* ``sgdtune-random``: sgdtune's RandomizedSearchCV, 24 draws from the same
  grid's values;
* ``sgdtune-halving``: sgdtune's GridSearchCV with ``pruner="halving"`` (rungs
  of 1, 3 and 10 epochs; survivors keep training instead of refitting).

Printed: a markdown table of time, speed-up (``sklearn-grid time / time``),
best CV score and its difference to scikit-learn's, and how far the process's
resident memory rose during the search (sampled every 2 ms in the untimed
first run; scikit-learn's worker processes, each with its own copy of the
data, are not counted).
``--quick`` runs on 10x fewer rows with one repeat. ``--sparse`` runs the
same grid on the sparse CSR data of ``fit_speed.py`` (200,000 x 50,000, about
50 non-zeros a row; issue 5's sparse target). ``--defaults`` leaves
``max_iter`` and ``tol`` at the estimators' defaults (1000 and 1e-3: each fit
stops when its training loss stops improving, the search a user runs without
setting them), for every method.

Usage::

    python benchmarks/search_speed.py            # about 3 minutes on 2 cores
    python benchmarks/search_speed.py --quick
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from statistics import median

from _common import PeakSampler, machine_line, rss_bytes

GRID = {
    "alpha": [1e-6, 1e-5, 1e-4, 1e-3],
    "penalty": ["l2", "l1", "elasticnet"],
    "loss": ["log_loss", "hinge"],
}
METHODS = ["sklearn-grid", "sklearn-halving", "sgdtune-grid", "sgdtune-grid-b64", "sgdtune-random",
           "sgdtune-halving"]


def _data(n_samples: int, sparse: bool = False):
    import numpy as np
    from sklearn.datasets import make_classification

    if sparse:
        import scipy.sparse as sp
        from fit_speed import make_sparse

        # make_sparse holds out its last 20% as a test set; a search wants them all
        full, _ = make_sparse(n_samples, 50_000, 50, seed=0)
        X = sp.vstack([full.X_train, full.X_test]).tocsr()
        return X, np.concatenate([full.y_train, full.y_test])

    X, y = make_classification(n_samples=n_samples, n_features=100, n_informative=20,
                               random_state=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X), y


def _search(method: str, defaults: bool = False):
    import sgdtune
    import sklearn.linear_model as sk
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import GridSearchCV as SkGrid
    from sklearn.model_selection import HalvingGridSearchCV

    common = {"random_state": 0} if defaults else {"max_iter": 10, "tol": None, "random_state": 0}
    if method == "sklearn-grid":
        return SkGrid(sk.SGDClassifier(**common), GRID, cv=3, n_jobs=2)
    if method == "sklearn-halving":
        return HalvingGridSearchCV(sk.SGDClassifier(**common), GRID, cv=3, n_jobs=2,
                                   random_state=0)
    if method == "sgdtune-grid":
        return sgdtune.GridSearchCV(sgdtune.SGDClassifier(**common), GRID, cv=3, n_jobs=2)
    if method == "sgdtune-grid-b64":
        return sgdtune.GridSearchCV(sgdtune.SGDClassifier(batch_size=64, **common), GRID,
                                    cv=3, n_jobs=2)
    if method == "sgdtune-halving":  # survivors train on; rungs of 1, 3 and 9 (+1) epochs
        return sgdtune.GridSearchCV(sgdtune.SGDClassifier(**common), GRID, cv=3, n_jobs=2,
                                    pruner="halving", min_epochs=1, max_epochs=10)
    if method == "sgdtune-random":
        return sgdtune.RandomizedSearchCV(sgdtune.SGDClassifier(**common), GRID, n_iter=24,
                                          cv=3, n_jobs=2, random_state=0)
    raise ValueError(method)


def _child(method: str, n_samples: int, repeats: int, sparse: bool, defaults: bool) -> None:
    import warnings

    X, y = _data(n_samples, sparse)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The memory figure comes from a run of its own, before the timed ones:
        # the thread that samples the resident memory every 2 ms slowed the
        # sgdtune searches it watched by 5-10%. (That run also takes what a
        # first search pays once: imports, OpenBLAS threads spinning after
        # making the data.)
        search = _search(method, defaults)
        before = rss_bytes()
        with PeakSampler(rss_bytes, 0.002) as peak:
            search.fit(X, y)
        growth = peak.peak - before
        for _ in range(repeats):
            search = _search(method, defaults)
            start = time.perf_counter()
            search.fit(X, y)
            times.append(time.perf_counter() - start)
        score = float(search.best_score_)
    # n_jobs=2 in scikit-learn starts worker processes: their memory is not in
    # this figure (each holds its own copy of the data).
    x_bytes = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) if sparse else X.nbytes
    print(json.dumps({"method": method, "seconds": median(times), "best_score": score,
                      "peak_growth_bytes": growth, "x_bytes": x_bytes, "sparse": sparse, "defaults": defaults,
                      "best_params": search.best_params_}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10x fewer rows, 1 repeat")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--json", help="append one JSON line per method to this file")
    parser.add_argument("--sparse", action="store_true",
                        help="sparse CSR data, 200,000 x 50,000 (the default n-samples)")
    parser.add_argument("--defaults", action="store_true",
                        help="max_iter and tol at their defaults (1000, 1e-3) instead of 10 and None")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sparse and args.n_samples == 100_000:
        args.n_samples = 200_000
    if args.quick:
        args.n_samples, args.repeats = args.n_samples // 10, 1
    if args.child:
        _child(args.child, args.n_samples, args.repeats, args.sparse, args.defaults)
        return

    rows = []
    for method in args.methods.split(","):
        # scikit-learn's grid search is slow; one repeat of it is enough
        repeats = 1 if method.startswith("sklearn") else args.repeats
        out = subprocess.run(
            [sys.executable, __file__, "--child", method, "--n-samples",
             str(args.n_samples), "--repeats", str(repeats)] + (["--sparse"] if args.sparse else [])
            + (["--defaults"] if args.defaults else []),
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
        print(f"  {method}: {rows[-1]['seconds']:.2f} s", file=sys.stderr)
    ref = next((r for r in rows if r["method"] == "sklearn-grid"), rows[0])
    shape = f"{args.n_samples} x 50000 sparse" if args.sparse else f"{args.n_samples} x 100"
    epochs = "max_iter=1000, tol=1e-3" if args.defaults else "10 epochs"
    print(f"\n### 24 configurations x 3 folds, {shape}, {epochs}\n")
    print(f"X is {ref['x_bytes'] / 2**20:.0f} MiB. {machine_line()}\n")
    print("| method | time | speed-up vs sklearn-grid | best CV score | minus sklearn's "
          "| memory growth during the search |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['seconds']:.2f} s | {ref['seconds'] / r['seconds']:.1f}x "
              f"| {r['best_score']:.4f} | {100 * (r['best_score'] - ref['best_score']):+.2f} "
              f"points | {r['peak_growth_bytes'] / 2**20:.0f} MiB |")
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
