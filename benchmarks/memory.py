"""Memory benchmark: searches make no copies of X; nothing leaks.

a) **Peak memory of a 2-thread search over 1 GB of float32 data.** Dense
   float32 X of ``--gigabytes`` GB (100 features, two classes), made in chunks
   so no float64 copy ever exists; sgdtune's GridSearchCV over its
   SGDClassifier (``alpha`` x ``penalty``: 4 candidates, 3 folds,
   ``batch_size=256``, ``max_iter=1``, ``n_jobs=2``, refit on all rows). Each
   search kind runs in a fresh subprocess, so ``ru_maxrss`` (peak resident
   memory of the whole process, interpreter and libraries included) is its
   own. Target (issue 7): peak under 1.3 GB for 1 GB of data.
   The same job with ``pruner="halving"`` and with BayesSearchCV is measured
   too; ``--with-sklearn`` adds scikit-learn's GridSearchCV (``n_jobs=2``: two
   worker processes). The last memory column sums the proportional set size
   (PSS, shared pages split among the processes sharing them) of the process
   and its workers, sampled every 20 ms (needs psutil; 0 without it), so
   scikit-learn's workers count too.
b) **Resident memory over many fits and searches.** 1,000 fits (five kinds:
   dense and float32 multiclass, averaging, early stopping, partial_fit) and
   100 small grid searches in one process; prints resident memory after a
   warm-up and after every 250 fits / 25 searches. Flat means no leak.
c) **Scoring many candidates.** A RandomizedSearchCV of ``--candidates``
   candidates (200) on 100,000 x 100 float64 rows, 3 folds, ``batch_size=256``,
   ``max_iter=1``, ``return_train_score=True``, scoring accuracy and ROC AUC:
   how far resident memory rises during the search and how long it takes, with
   the scores computed in the core (the default) and with the stand-in path
   (every model's decision values handed to Python for scikit-learn's
   scorers), in the same process, medians of ``--repeats`` runs.

Usage::

    python benchmarks/memory.py                 # about a minute on 2 cores
    python benchmarks/memory.py --gigabytes 0.25
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time

import numpy as np
from _common import PeakSampler, rss_bytes

MiB = 2**20


def _make_data(gigabytes, n_features=100, seed=0):
    n = int(gigabytes * 1e9 / (4 * n_features))
    rng = np.random.default_rng(seed)
    X = np.empty((n, n_features), dtype=np.float32)
    w = rng.standard_normal(n_features).astype(np.float32)
    y = np.empty(n, dtype=np.int8)
    step = 100_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        X[lo:hi] = rng.standard_normal((hi - lo, n_features), dtype=np.float32)
        y[lo:hi] = (X[lo:hi] @ w + rng.standard_normal(hi - lo, dtype=np.float32) > 0)
    return X, y


def _search(kind):
    import sgdtune

    est = sgdtune.SGDClassifier(batch_size=256, max_iter=1, tol=None, random_state=0)
    grid = {"alpha": [1e-5, 1e-3], "penalty": ["l2", "elasticnet"]}
    if kind == "grid":
        return sgdtune.GridSearchCV(est, grid, cv=3, n_jobs=2)
    if kind == "halving":
        return sgdtune.GridSearchCV(est, grid, cv=3, n_jobs=2, pruner="halving",
                                    min_epochs=1, max_epochs=2, factor=2)
    if kind == "bayes":
        return sgdtune.BayesSearchCV(est, {"alpha": sgdtune.Real(1e-6, 1e-2, log=True)},
                                     n_iter=4, n_points=2, cv=3, n_jobs=2, random_state=0)
    if kind == "sklearn":
        from sklearn.linear_model import SGDClassifier
        from sklearn.model_selection import GridSearchCV

        return GridSearchCV(SGDClassifier(max_iter=1, tol=None, random_state=0), grid,
                            cv=3, n_jobs=2)
    raise ValueError(kind)


def _child_peak(kind, gigabytes):
    """Runs in the subprocess: data, then one search; prints JSON figures."""
    import warnings

    import sgdtune  # noqa: F401 - imported before the baseline is taken
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = _make_data(gigabytes)
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    with PeakSampler(_tree_pss, 0.02) as sampler:
        search = _search(kind).fit(X, y)
    seconds = time.perf_counter() - start
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"kind": kind, "X": X.nbytes, "before": before, "peak": self_peak,
                      "pss_peak": sampler.peak, "seconds": seconds,
                      "best_score": float(search.best_score_)}))


def _pss(pid):
    """Proportional set size of a process (shared pages split among their
    users, so a memory-mapped X shared by workers counts once), in bytes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_pss():
    """Summed PSS of this process and its descendants (worker processes
    included); 0 without psutil."""
    try:
        import psutil
    except ImportError:
        return 0
    me = psutil.Process()
    return sum(_pss(p) for p in [me.pid] + [c.pid for c in me.children(recursive=True)])


def _flat(n_fits, n_searches, report_every):
    import warnings

    import sgdtune
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 50))
    y = (X[:, 0] > 0).astype(int)
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    Xf = X.astype(np.float32)
    fits = [
        lambda: sgdtune.SGDClassifier(max_iter=3, tol=None).fit(X, y).predict(X),
        lambda: sgdtune.SGDClassifier(max_iter=3, tol=None, penalty="l1", batch_size=8,
                                      loss="log_loss", n_jobs=2).fit(Xf, y3).predict_proba(Xf),
        lambda: sgdtune.SGDRegressor(max_iter=3, tol=None, average=True).fit(X, X[:, 0]),
        lambda: sgdtune.SGDClassifier(early_stopping=True).fit(X, y),
        lambda: sgdtune.SGDClassifier().partial_fit(X, y, classes=[0, 1]),
    ]

    def search():
        return sgdtune.GridSearchCV(sgdtune.SGDClassifier(max_iter=3, tol=None),
                                    {"alpha": [1e-4, 1e-2]}, cv=3, n_jobs=2).fit(X, y)

    for i in range(100):
        fits[i % len(fits)]()
    for _ in range(10):
        search()
    gc.collect()
    rows = [("warm-up", 0, 0, rss_bytes())]
    fits_done = searches_done = 0
    steps = max(1, n_fits // report_every)
    for step in range(steps):
        for i in range(n_fits // steps):
            fits[i % len(fits)]()
        for _ in range(n_searches // steps):
            search()
        fits_done += n_fits // steps
        searches_done += n_searches // steps
        gc.collect()
        rows.append((f"step {step + 1}", fits_done, searches_done, rss_bytes()))
    return rows


def _scoring(n_candidates, repeats):
    """c): (path, median peak growth in bytes, median seconds, best score)."""
    import sgdtune
    from sgdtune import _scoring
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=100_000, n_features=100, n_informative=20,
                               random_state=0)
    space = {"alpha": sgdtune.Real(1e-6, 1e-2, log=True), "l1_ratio": sgdtune.Real(0.0, 1.0)}
    est = sgdtune.SGDClassifier(penalty="elasticnet", batch_size=256, max_iter=1, tol=None,
                                random_state=0)
    core_metrics = _scoring.core_metrics
    out = []
    for path in ["core", "stand-in"]:
        _scoring.core_metrics = core_metrics if path == "core" else (lambda *a: None)
        peaks, seconds = [], []
        try:
            for _ in range(repeats):
                gc.collect()
                before = rss_bytes()
                t0 = time.perf_counter()
                with PeakSampler(rss_bytes, 0.002) as peak:
                    s = sgdtune.RandomizedSearchCV(est, space, n_iter=n_candidates, cv=3,
                                                   scoring=["accuracy", "roc_auc"],
                                                   refit=False, return_train_score=True,
                                                   n_jobs=2, random_state=0).fit(X, y)
                seconds.append(time.perf_counter() - t0)
                peaks.append(peak.peak - before)
                del s
        finally:
            _scoring.core_metrics = core_metrics
        out.append((path, float(np.median(peaks)), float(np.median(seconds))))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gigabytes", type=float, default=1.0, help="size of X in a) (GB)")
    p.add_argument("--kinds", default="grid,halving,bayes",
                   help="searches of a), comma-separated: grid, halving, bayes, sklearn")
    p.add_argument("--with-sklearn", action="store_true",
                   help="also scikit-learn's GridSearchCV in a)")
    p.add_argument("--fits", type=int, default=1000)
    p.add_argument("--searches", type=int, default=100)
    p.add_argument("--candidates", type=int, default=200, help="candidates in c)")
    p.add_argument("--repeats", type=int, default=3, help="runs of c)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        _child_peak(a.child, a.gigabytes)
        return
    kinds = a.kinds.split(",") + (["sklearn"] if a.with_sklearn else [])
    print(f"a) peak memory of a 2-thread search, X float32 {a.gigabytes:g} GB\n")
    print("| search | X (MiB) | RSS before search (MiB) | peak RSS (MiB) | peak - X (MiB) "
          "| peak PSS with worker processes (MiB) | time (s) | best CV |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--gigabytes",
                              str(a.gigabytes)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {kind} | {r['X'] / MiB:.0f} | {r['before'] / MiB:.0f} | "
              f"{r['peak'] / MiB:.0f} | {(r['peak'] - r['X']) / MiB:.0f} | "
              f"{r['pss_peak'] / MiB:.0f} | {r['seconds']:.1f} | "
              f"{r['best_score']:.4f} |", flush=True)
    print(f"\nb) resident memory over {a.fits} fits and {a.searches} searches\n")
    print("| after | fits | searches | RSS (MiB) | change since warm-up (MiB) |")
    print("|---|---|---|---|---|")
    rows = _flat(a.fits, a.searches, 250)
    base = rows[0][3]
    for name, fits, searches, rss in rows:
        print(f"| {name} | {fits} | {searches} | {rss / MiB:.1f} | {(rss - base) / MiB:+.1f} |")
    print(f"\nc) scoring {a.candidates} candidates x 3 folds (test and train scores), "
          "X 100,000 x 100 float64 (76 MiB)\n")
    print("| scores computed | memory growth during the search (MiB) | time (s) |")
    print("|---|---|---|")
    for path, growth, seconds in _scoring(a.candidates, a.repeats):
        print(f"| {path} | {growth / MiB:.0f} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
