"""``sgdtune bench``: how sgdtune compares on this machine, measured in one run.

On generated data (``n_samples`` x 100, ``make_classification``, standardised)
it measures, as medians of repeated runs:

1. **this machine's limits**: reading memory (the faster of ``sum()`` and
   ``max()`` over an array larger than the caches: NumPy's float sum is slower
   than memory on some processors) and NumPy's float32 and float64 matrix
   products, on one thread and on all of them;
2. **kernels against those limits** (the roofline): one epoch of one model at
   ``batch_size=1`` (float64) and ``batch_size=256`` (float32; also on
   ``n_jobs`` threads sharing its batches), and of a
   24-column block (the engine's unit: 24 configurations trained over one
   stream of mini-batches) at ``batch_size=1`` and ``64``, float32 and float64.
   Each kernel does ``4 * n * d * K`` floating-point operations an epoch (a
   forward and an update multiply-add per feature and column) and reads X once
   (``n * d * itemsize`` bytes), which places it under the memory line or the
   matrix-product line (for the kernel's threads: one thread's throughput times
   the threads, at most what all threads reached);
3. **against other trainers**, as ratios (``other's time / sgdtune's time``):
   scikit-learn's SGDClassifier per epoch at ``batch_size=1``, a pure-Python
   per-sample loop (timed on a subset, scaled to the full data), the plain
   NumPy mini-batch trainer, scikit-learn's GridSearchCV over a 24-configuration
   grid, and Optuna's TPE driving scikit-learn (when Optuna is installed)
   against sgdtune's own TPE search;
4. **scaling**: time against the number of rows, against the number of trials
   and against the number of threads (the thread counts' searches in turns, a
   run of each per round, so that a host whose speed drifts shifts them alike).

Output: a markdown table, one JSON line per measurement (``json_path``) and,
with ``plots_dir`` and matplotlib, four PNG pictures: ``bench_rows.png``,
``bench_trials.png``, ``bench_threads.png`` and ``bench_roofline.png``.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

_GRID = {"alpha": [1e-6, 1e-5, 1e-4, 1e-3], "penalty": ["l2", "l1", "elasticnet"],
         "loss": ["log_loss", "hinge"]}
_D = 100


def _ms(seconds):
    """Milliseconds with three significant digits, never in exponent form."""
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _table(out, header, rows):
    """A markdown table, after a blank line."""
    out("")
    out("| " + " | ".join(header) + " |")
    out("|" + "---|" * len(header))
    for row in rows:
        out("| " + " | ".join(str(v) for v in row) + " |")


def _median_time(fn, repeats):
    return _median_times({0: fn}, repeats)[0]


def _data(n, d=_D, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 5,
                               random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X), y


def _configs(count):
    """``count`` single-valued parameter grids, as scikit-learn's and sgdtune's
    GridSearchCV take them: the 24-configuration grid's first, then more alphas."""
    alphas = _GRID["alpha"] + [1e-7, 3e-6, 3e-4, 1e-2, 1e-1, 3e-5]
    out = [{"alpha": [a], "penalty": [p], "loss": [loss]}
           for a in alphas for p in _GRID["penalty"] for loss in _GRID["loss"]]
    if count > len(out):
        raise ValueError(f"at most {len(out)} configurations, got {count}")
    return out[:count]


def _median_times(fns, repeats):
    """The median times of several functions run in turns, each once a round:
    a host whose speed drifts during the run shifts them alike, where timing
    one after the other would put the drift into their ratios."""
    times = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: float(np.median(t)) for key, t in times.items()}


def read_seconds(X, repeats):
    """NumPy's time to read ``X`` once: the faster of ``X.sum()`` and
    ``X.max()`` (medians, timed in turns). On some processors NumPy's pairwise
    float sum is slower than memory (an Intel Xeon core: 112 against 61 ms for
    800 MB), which would understate the bandwidth and flatter every ratio
    against it."""
    return min(_median_times({"sum": X.sum, "max": X.max}, repeats).values())


def _timed(memo, key, fn, repeats):
    """The median time of ``fn``, measured once per ``key`` and run: a
    measurement two sections share is made once."""
    if key not in memo:
        memo[key] = _median_time(fn, repeats)
    return memo[key]


def _blas_threads(n):
    """A context limiting NumPy's BLAS to n threads (or nothing to limit)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def cpu_facts():
    """The processor (its name, and x86 family and model, which tell its
    generation where the name does not: an "AMD EPYC" of family 25 model 17 is
    a Zen 4, of family 26 a Zen 5) and the instruction set sgdtune's kernels
    run with. Ratios against scikit-learn move with the generation: wider
    vector units speed up sgdtune's kernels, not scikit-learn's."""
    import platform

    from . import _core

    facts = {"cpu": platform.processor() or platform.machine(), "sgdtune_isa": _core.isa()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    facts["cpu"] = value
                elif key in ("cpu family", "model"):
                    facts["cpu_" + key.replace("cpu ", "")] = int(value)
                elif not line.strip():
                    break  # the first processor's lines are enough
    except (OSError, ValueError):
        pass
    return facts


def machine_name():
    """The processor, its CPU count and the kernels' instruction set, in words."""
    f = cpu_facts()
    gen = (f" (family {f['cpu_family']}, model {f['cpu_model']})"
           if "cpu_family" in f and "cpu_model" in f else "")
    return f"{f['cpu']}{gen}, {os.cpu_count()} CPUs; sgdtune kernels: {f['sgdtune_isa']}"


def machine_limits(repeats=3, big_bytes=256 << 20):
    """Memory read bandwidth (bytes/s) and matrix-product throughput (flop/s)
    of NumPy, float32 and float64, on one thread and on all cores."""
    big = np.ones(big_bytes // 8)
    big.sum()  # touch it once
    out = {"read_bytes_per_s": big.nbytes / read_seconds(big, max(3, repeats))}
    del big
    size = 1024
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        A = rng.normal(size=(size, size)).astype(dtype)
        B = rng.normal(size=(size, size)).astype(dtype)
        name = np.dtype(dtype).name
        for label, threads in (("1_thread", 1), ("all_threads", os.cpu_count() or 1)):
            with _blas_threads(threads):
                A @ B
                t = _median_time(lambda A=A, B=B: A @ B, max(3, repeats))
            out[f"gemm_{name}_{label}"] = 2 * size**3 / t
    return out


def run(n_samples=50_000, repeats=3, n_jobs=2, json_path=None, out=print, plots_dir=None,
        optuna=True):
    """Run the suite; print the tables; return the measurements as dicts."""
    from sklearn.exceptions import ConvergenceWarning

    if n_samples < 1_000:
        raise ValueError(f"n_samples must be at least 1000 (batch_size=256 fits on folds of "
                         f"the rows), got {n_samples}")

    warnings.simplefilter("ignore", ConvergenceWarning)
    records = []

    def record(kind, **fields):
        records.append({"kind": kind, **fields})
        return records[-1]

    limits = machine_limits(repeats)
    record("machine", n_cpus=os.cpu_count(), **limits, **cpu_facts())
    out(f"machine: {machine_name()}")
    out(f"limits: memory read {limits['read_bytes_per_s'] / 1e9:.1f} GB/s; matrix product "
        f"float32 {limits['gemm_float32_1_thread'] / 1e9:.0f} GFLOP/s on 1 thread, "
        f"{limits['gemm_float32_all_threads'] / 1e9:.0f} on {os.cpu_count()}; float64 "
        f"{limits['gemm_float64_1_thread'] / 1e9:.0f} and "
        f"{limits['gemm_float64_all_threads'] / 1e9:.0f}")

    X, y = _data(n_samples)
    kernels = _kernels(X, y, repeats, n_jobs, limits, record)
    _table(out, ["kernel", "threads", "ms per epoch", "GFLOP/s", "flop per byte of X",
                 "share of the bound"],
           [[k["name"], k["threads"], _ms(k["seconds"]), f"{k['flops_per_s'] / 1e9:.1f}",
             f"{k['intensity']:.1f}", f"{k['flops_per_s'] / k['bound']:.0%} of {k['bound_kind']}"]
            for k in kernels])

    memo = {}  # timings the comparisons and the scaling share
    rows = _comparisons(X, y, repeats, n_jobs, optuna, record, memo)
    _table(out, ["task", "sgdtune", "other", "other's time", "speed-up", "note"],
           [[r["task"], f"{_ms(r['sgdtune_s'])} ms", r["other"], f"{_ms(r['other_s'])} ms",
             f"{r['ratio']:.1f}x", r["note"]] for r in rows])

    scaling = _scaling(X, y, repeats, n_jobs, record, memo)
    _table(out, ["scaling", "value", "sgdtune", "scikit-learn", "speed-up"],
           [[s["axis"], s["value"], f"{_ms(s['sgdtune_s'])} ms",
             f"{_ms(s['sklearn_s'])} ms" if s.get("sklearn_s") else "-",
             f"{s['sklearn_s'] / s['sgdtune_s']:.1f}x" if s.get("sklearn_s") else "-"]
            for s in scaling])

    if json_path:
        with open(json_path, "a", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r) + "\n")
    if plots_dir is not None:
        written = _plots(Path(plots_dir), records)
        out("")
        out("plots: " + (", ".join(str(p) for p in written) if written
                         else "none (matplotlib is not installed: pip install 'sgdtune[plot]')"))
    return records


def _kernels(X, y, repeats, n_jobs, limits, record):
    """One epoch of each kernel, placed against the machine's limits."""
    from . import SGDClassifier
    from ._engine import FoldFits

    n, d = X.shape
    epochs = 3
    everything = [(np.arange(n), None)]
    grid = [{name: values[0] for name, values in c.items()} for c in _configs(24)]
    X32 = X.astype(np.float32)
    cases = [
        ("one model, batch_size=1, float64", X, 1, 1, 1),
        ("one model, batch_size=256, float32", X32, 256, 1, 1),
        # (threads sharing the one model's batches)
        *([("one model, batch_size=256, float32", X32, 256, 1, n_jobs)] if n_jobs > 1 else []),
        ("24-column block, batch_size=1, float64", X, 1, 24, n_jobs),
        ("24-column block, batch_size=64, float64", X, 64, 24, n_jobs),
        ("24-column block, batch_size=64, float32", X32, 64, 24, n_jobs),
    ]
    results = []
    for name, data, bs, K, threads in cases:
        base = SGDClassifier(max_iter=epochs, tol=None, random_state=0, batch_size=bs)
        if K == 1:
            base.set_params(n_jobs=threads)

            def fit(base=base, data=data):
                base.fit(data, y)
        else:
            ests = [SGDClassifier(**{**base.get_params(), **g}) for g in grid[:K]]
            cache = {}

            def fit(ests=ests, data=data, threads=threads, cache=cache):
                FoldFits(ests, data, y, everything, n_jobs=threads, cache=cache).train()
        fit()  # warm: the data validated once, pages touched
        seconds = _median_time(fit, repeats) / epochs
        itemsize = data.dtype.itemsize
        flops = 4.0 * n * d * K
        intensity = flops / (n * d * itemsize)
        # the matrix-product line for this many threads: one thread's, times
        # the threads, up to what all of the machine's threads reached
        gemm = min(limits[f"gemm_{data.dtype.name}_1_thread"] * threads,
                   limits[f"gemm_{data.dtype.name}_all_threads"])
        memory_bound = limits["read_bytes_per_s"] * intensity
        bound, kind = ((memory_bound, "memory") if memory_bound < gemm
                       else (gemm, "matrix product"))
        results.append(record("kernel", name=name, threads=threads, seconds=seconds,
                              flops_per_s=flops / seconds, intensity=intensity, bound=bound,
                              bound_kind=kind, dtype=data.dtype.name, batch_size=bs,
                              columns=K, n_samples=n, n_features=d))
    return results


def _comparisons(X, y, repeats, n_jobs, optuna, record, memo):
    """sgdtune against scikit-learn, pure Python, NumPy and Optuna."""
    from sklearn.linear_model import SGDClassifier as SkSGD
    from sklearn.model_selection import GridSearchCV as SkGrid

    from . import GridSearchCV, SGDClassifier
    from ._numpy_sgd import NumpyMiniBatchSGD, python_sgd_epoch

    n = X.shape[0]
    rows = []

    def add(task, ours, theirs, other, note=""):
        rows.append(record("comparison", task=task, sgdtune_s=ours, other=other,
                           other_s=theirs, ratio=theirs / ours if ours > 0 else float("nan"),
                           note=note))

    epochs = 5
    for loss, penalty in (("hinge", "l2"), ("log_loss", "elasticnet")):
        kw = dict(loss=loss, penalty=penalty, max_iter=epochs, tol=None, random_state=0)
        ours = _timed(memo, ("fit", "sgdtune", loss, penalty, 1, n),
                      lambda kw=kw: SGDClassifier(**kw).fit(X, y), repeats)
        theirs = _timed(memo, ("fit", "sklearn", loss, penalty, 1, n),
                        lambda kw=kw: SkSGD(**kw).fit(X, y), repeats)
        add(f"epoch, batch_size=1, {loss} + {penalty}", ours / epochs, theirs / epochs,
            "scikit-learn")
        if loss == "hinge":
            hinge_epoch = ours / epochs

    # the pure-Python loop on a subset, scaled to a full epoch
    m = min(n, 2_000)
    rows_py, y_py = X[:m].tolist(), (2.0 * (y[:m] > 0) - 1.0).tolist()
    py = _median_time(lambda: python_sgd_epoch(rows_py, y_py), max(1, repeats)) * n / m
    add("epoch, batch_size=1, hinge + l2", hinge_epoch, py, "pure Python",
        f"timed on {m} rows, scaled to {n}")

    kw = dict(loss="log_loss", alpha=1e-4, max_iter=epochs, random_state=0)
    ours = _median_time(lambda: SGDClassifier(batch_size=64, tol=None, **kw).fit(X, y), repeats)
    theirs = _median_time(lambda: NumpyMiniBatchSGD(batch_size=64, **kw).fit(X, y), repeats)
    add("epoch, batch_size=64, log_loss + l2", ours / epochs, theirs / epochs, "NumPy trainer")

    Xs, ys = X[: n // 2], y[: n // 2]
    kw = dict(max_iter=epochs, tol=None, random_state=0)
    found = {}

    def search(cls, est, name):
        def fit():
            found[name] = cls(est(**kw), _configs(24), cv=3, n_jobs=n_jobs).fit(Xs, ys).best_score_
        return fit

    # (the scaling against trials and threads reuses these two)
    ours = _timed(memo, ("grid", "sgdtune", 24, n_jobs), search(GridSearchCV, SGDClassifier, "ours"),
                  repeats)
    theirs = _timed(memo, ("grid", "sklearn", 24, n_jobs), search(SkGrid, SkSGD, "theirs"), repeats)
    add(f"grid search, 24 configs x 3 folds, {len(Xs)} rows", ours, theirs,
        f"scikit-learn (n_jobs={n_jobs})",
        f"best CV {found['ours']:.4f} vs {found['theirs']:.4f}")

    if optuna:
        try:
            ours, theirs, note = _optuna_search(Xs, ys, repeats, n_jobs, epochs)
        except ImportError:
            pass
        else:
            add(f"TPE search, 24 trials x 3 folds, {len(Xs)} rows", ours, theirs,
                f"Optuna + scikit-learn (n_jobs={n_jobs})", note)
    return rows


def _optuna_search(X, y, repeats, n_jobs, epochs):
    """Optuna's TPE sampler driving scikit-learn's SGDClassifier (threads)
    against sgdtune's BayesSearchCV(method='tpe'), same space and budget."""
    import optuna
    from sklearn.linear_model import SGDClassifier as SkSGD
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from . import BayesSearchCV, Real, SGDClassifier

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    trials, best = 24, {}

    def objective(trial):
        params = {"alpha": trial.suggest_float("alpha", 1e-7, 1e-1, log=True),
                  "loss": trial.suggest_categorical("loss", _GRID["loss"]),
                  "penalty": trial.suggest_categorical("penalty", _GRID["penalty"])}
        est = SkSGD(max_iter=epochs, tol=None, random_state=0, **params)
        return float(np.mean(cross_val_score(est, X, y, cv=cv)))

    def theirs():
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=0))
        study.optimize(objective, n_trials=trials, n_jobs=n_jobs)
        best["theirs"] = study.best_value

    space = {"alpha": Real(1e-7, 1e-1, log=True), "loss": _GRID["loss"],
             "penalty": _GRID["penalty"]}

    def ours():
        search = BayesSearchCV(SGDClassifier(max_iter=epochs, tol=None, random_state=0), space,
                               n_iter=trials, method="tpe", cv=cv, n_jobs=n_jobs,
                               random_state=0, refit=False).fit(X, y)
        best["ours"] = search.best_score_

    t_ours = _median_time(ours, repeats)
    t_theirs = _median_time(theirs, repeats)
    return t_ours, t_theirs, f"best CV {best['ours']:.4f} vs {best['theirs']:.4f}"


def _scaling(X, y, repeats, n_jobs, record, memo):
    """Time against rows (one fit), trials and threads (grid searches)."""
    from sklearn.linear_model import SGDClassifier as SkSGD
    from sklearn.model_selection import GridSearchCV as SkGrid

    from . import GridSearchCV, SGDClassifier

    n = X.shape[0]
    epochs = 5
    kw = dict(max_iter=epochs, tol=None, random_state=0)
    points = []
    for rows in sorted({max(1_000, n // 8), max(1_000, n // 4), max(1_000, n // 2), n}):  # n >= 1000
        Xr, yr = X[:rows], y[:rows]
        for bs in (1, 64):  # (the defaults: hinge loss, L2)
            ours = _timed(memo, ("fit", "sgdtune", "hinge", "l2", bs, rows),
                          lambda Xr=Xr, yr=yr, bs=bs: SGDClassifier(batch_size=bs, **kw).fit(Xr, yr),
                          repeats)
            theirs = (_timed(memo, ("fit", "sklearn", "hinge", "l2", 1, rows),
                             lambda Xr=Xr, yr=yr: SkSGD(**kw).fit(Xr, yr), repeats)
                      if bs == 1 else None)
            points.append(record("scaling", axis=f"rows (one fit, batch_size={bs})",
                                 value=rows, sgdtune_s=ours, sklearn_s=theirs))

    Xs, ys = X[: n // 2], y[: n // 2]

    def ours(count, threads):
        grid = _configs(count)
        return lambda: GridSearchCV(SGDClassifier(**kw), grid, cv=3, n_jobs=threads).fit(Xs, ys)

    def theirs(count, threads):
        grid = _configs(count)
        return lambda: SkGrid(SkSGD(**kw), grid, cv=3, n_jobs=threads).fit(Xs, ys)

    for count in (6, 12, 24, 48):
        points.append(record(
            "scaling", axis="trials (grid search, 3 folds)", value=count,
            sgdtune_s=_timed(memo, ("grid", "sgdtune", count, n_jobs), ours(count, n_jobs), repeats),
            sklearn_s=_timed(memo, ("grid", "sklearn", count, n_jobs), theirs(count, n_jobs), repeats)))
    # the thread counts in turns, timed for this axis alone: their ratios are
    # its point, and with the n_jobs search taken from earlier in the run (the
    # other sections'), the host's drift went into them
    cores = os.cpu_count() or 1
    thread_counts = sorted({1, cores} | {2**i for i in range(1, 8) if 2**i < cores})
    times = {who: _median_times({t: make(24, t) for t in thread_counts}, repeats)
             for who, make in (("sgdtune", ours), ("sklearn", theirs))}
    for t in thread_counts:
        points.append(record("scaling", axis="threads (24-config grid search)", value=t,
                             sgdtune_s=times["sgdtune"][t], sklearn_s=times["sklearn"][t]))
    return points


def _plots(folder, records):
    """The four pictures; returns the files written (none without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    scaling = [r for r in records if r["kind"] == "scaling"]
    for stem, prefix, xlabel in (("bench_rows", "rows", "rows (100 features)"),
                                 ("bench_trials", "trials", "trials"),
                                 ("bench_threads", "threads", "threads")):
        fig, ax = plt.subplots(figsize=(6, 4))
        for axis in sorted({r["axis"] for r in scaling if r["axis"].startswith(prefix)}):
            pts = [r for r in scaling if r["axis"] == axis]
            xs = [r["value"] for r in pts]
            label = axis.split("(", 1)[1].rstrip(")")
            ax.plot(xs, [r["sgdtune_s"] for r in pts], "o-", label=f"sgdtune, {label}")
            if any(r["sklearn_s"] for r in pts):
                ax.plot(xs, [r["sklearn_s"] for r in pts], "s--",
                        label=f"scikit-learn, {label}")
        ax.set_xscale("log", base=2 if prefix == "threads" else 10)
        ax.set_yscale("log")
        ticks = sorted({r["value"] for r in scaling if r["axis"].startswith(prefix)})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"{stem}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    machine = next(r for r in records if r["kind"] == "machine")
    kernels = [r for r in records if r["kind"] == "kernel"]
    fig, ax = plt.subplots(figsize=(10, 5))
    xs = np.logspace(-1.5, 2.5, 100)
    bw = machine["read_bytes_per_s"]
    ax.plot(xs, bw * xs / 1e9, "k-", lw=1, label=f"memory read {bw / 1e9:.0f} GB/s")
    styles = {"float32": ":", "float64": "-."}
    for dtype, style in styles.items():
        for label, key in (("1 thread", "1_thread"), ("all threads", "all_threads")):
            peak = machine[f"gemm_{dtype}_{key}"]
            ax.plot(xs, np.full_like(xs, peak / 1e9), style, lw=1,
                    label=f"{dtype} matrix product, {label}: {peak / 1e9:.0f} GFLOP/s")
    for k in kernels:
        ax.plot(k["intensity"], k["flops_per_s"] / 1e9, "o", ms=7,
                label=f"{k['name']} ({k['threads']} thr.)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("floating-point operations per byte of X read")
    ax.set_ylabel("GFLOP/s")
    ax.set_title("sgdtune kernels against this machine's limits")
    ax.grid(True, which="both", alpha=0.3)
    top = max(machine[k] for k in machine if k.startswith("gemm_")) / 1e9
    ax.set_ylim(0.3, 2 * top)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = folder / "bench_roofline.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written
