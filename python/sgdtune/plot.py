"""Pictures of a fitted search (matplotlib, the optional extra ``[plot]``).

Each function takes a fitted search (any sgdtune search class, or
scikit-learn's) and returns a matplotlib Figure:

* ``optimization_history``: each trial's score in the order run, and the best
  so far;
* ``param_importances``: how much each parameter explains the score (the
  impurity importances of a random forest fitted on the trials);
* ``parallel_coordinates``: every trial as a line across its parameters,
  coloured by score;
* ``param_scores``: the score against each parameter;
* ``learning_curves``: with a pruner, each trial's score after every epoch, so
  it shows where pruning cut trials.
"""

from __future__ import annotations

import numpy as np


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("sgdtune.plot needs matplotlib: pip install 'sgdtune[plot]'") from exc
    return plt


def _metric(search):
    r = search.cv_results_
    refit = getattr(search, "refit", True)
    if isinstance(refit, str) and f"mean_test_{refit}" in r:
        return refit
    if "mean_test_score" in r:
        return "score"
    return next(k for k in r if k.startswith("mean_test_"))[len("mean_test_"):]


def _params(search):
    """{name: list of values (None where absent)} of the searched parameters."""
    r = search.cv_results_
    names = sorted({k for p in r["params"] for k in p})
    return {n: [p.get(n) for p in r["params"]] for n in names}


def _trials(search):
    """pyplot, the optimised metric, its mean CV scores and the parameters."""
    metric = _metric(search)
    y = np.asarray(search.cv_results_[f"mean_test_{metric}"], dtype=float)
    return _plt(), metric, y, _params(search)


def _numeric_axis(values):
    """Values on a [0, 1] axis: numbers (log scale when they span decades and
    are positive), other values by their order of appearance. NaN where absent."""
    present = [v for v in values if v is not None]
    numeric = present and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                              for v in present)
    if numeric:
        x = np.array([np.nan if v is None else float(v) for v in values])
        finite = x[np.isfinite(x)]
        if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
            x = np.log10(x)
            finite = np.log10(finite)
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        return (x - lo) / (hi - lo if hi > lo else 1.0), True
    labels = []
    for v in present:
        if repr(v) not in labels:
            labels.append(repr(v))
    index = {label: i for i, label in enumerate(labels)}
    denom = max(1, len(labels) - 1)
    return np.array([np.nan if v is None else index[repr(v)] / denom for v in values]), False


def optimization_history(search):
    plt = _plt()
    metric = _metric(search)
    y = np.asarray(search.cv_results_[f"mean_test_{metric}"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4))
    status = np.asarray(search.cv_results_.get("status", ["ok"] * len(y)), dtype=object)
    pruned = status == "pruned"
    x = np.arange(len(y))
    ax.plot(x[~pruned], y[~pruned], "o", ms=4, alpha=0.6, label="trial")
    if pruned.any():
        ax.plot(x[pruned], y[pruned], "o", ms=4, mfc="none", color="grey", alpha=0.6,
                label="pruned (score at its last rung)")
        y = np.where(pruned, np.nan, y)
    best = np.fmax.accumulate(np.where(np.isnan(y), -np.inf, y))
    ax.plot(np.arange(len(y)), np.where(np.isinf(best), np.nan, best), "-", color="C3",
            label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"mean CV {metric}")
    ax.set_title("Optimisation history")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def param_importances(search, random_state=0):
    from sklearn.ensemble import RandomForestRegressor

    plt, metric, y, params = _trials(search)
    names = [n for n in params if len({repr(v) for v in params[n]}) > 1]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * max(1, len(names))))
    ok = np.isfinite(y)
    if names and ok.sum() >= 3:
        X = np.column_stack([np.nan_to_num(_numeric_axis(params[n])[0], nan=-1.0)
                             for n in names])
        forest = RandomForestRegressor(n_estimators=200, random_state=random_state)
        forest.fit(X[ok], y[ok])
        order = np.argsort(forest.feature_importances_)
        ax.barh([names[i] for i in order], forest.feature_importances_[order], color="C0")
        ax.set_xlabel("importance (share of the explained variance of the score)")
    else:
        ax.text(0.5, 0.5, "too few trials or varying parameters", ha="center", va="center")
    ax.set_title("Parameter importance")
    fig.tight_layout()
    return fig


def parallel_coordinates(search):
    plt, metric, y, params = _trials(search)
    names = list(params)
    axes = np.column_stack([_numeric_axis(params[n])[0] for n in names]
                           + [_numeric_axis(list(y))[0]])
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * (len(names) + 1)), 4.5))
    cmap = plt.get_cmap("viridis")
    finite = y[np.isfinite(y)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    for i in np.argsort(np.nan_to_num(y, nan=-np.inf)):
        colour = cmap((y[i] - lo) / (hi - lo)) if np.isfinite(y[i]) and hi > lo else "grey"
        ax.plot(np.arange(axes.shape[1]), axes[i], "-o", ms=2, lw=1, alpha=0.7, color=colour)
    ax.set_xticks(np.arange(axes.shape[1]), [*names, metric])
    ax.set_yticks([])
    for j, name in enumerate(names):  # label the values of categorical axes
        if not _numeric_axis(params[name])[1]:
            seen = {}
            for v, pos in zip(params[name], axes[:, j], strict=True):
                if v is not None:
                    seen.setdefault(str(v), pos)
            for label, pos in seen.items():
                ax.annotate(label, (j, pos), xytext=(4, 0), textcoords="offset points",
                            fontsize=8, va="center")
    ax.set_title("Parallel coordinates (each axis scaled to its range; log for scales)")
    fig.tight_layout()
    return fig


def param_scores(search):
    plt, metric, y, params = _trials(search)
    names = [n for n in params if len({repr(v) for v in params[n]}) > 1] or list(params)
    fig, axs = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axs[0], names, strict=True):
        values = params[name]
        _, numeric = _numeric_axis(values)
        keep = [i for i, v in enumerate(values) if v is not None]
        if numeric:
            x = np.array([float(values[i]) for i in keep])
            ax.plot(x, y[keep], "o", ms=4, alpha=0.6)
            if x.min() > 0 and x.max() / x.min() > 100:
                ax.set_xscale("log")
        else:
            labels = sorted({repr(values[i]) for i in keep})
            pos = {label: j for j, label in enumerate(labels)}
            ax.plot([pos[repr(values[i])] for i in keep], y[keep], "o", ms=4, alpha=0.6)
            ax.set_xticks(range(len(labels)), [label.strip("'") for label in labels],
                          rotation=30)
        ax.set_xlabel(name)
    axs[0][0].set_ylabel(f"mean CV {metric}")
    fig.suptitle("Score against each parameter")
    fig.tight_layout()
    return fig


def learning_curves(search):
    plt = _plt()
    history = getattr(search, "history_", None) or []
    fig, ax = plt.subplots(figsize=(7, 4))
    if not history:
        ax.text(0.5, 0.5, "no per-epoch history (search without a pruner)", ha="center",
                va="center")
    else:
        final = {}
        for h in history:
            final[h["candidate"]] = max(final.get(h["candidate"], 0), h["epochs"])
        top = max(final.values())
        for c in sorted(final):
            pts = sorted((h["epochs"], h["score"]) for h in history if h["candidate"] == c)
            e, s = zip(*pts, strict=True)
            full = final[c] == top
            ax.plot(e, s, "-o", ms=3, lw=1.2 if full else 0.8, alpha=0.9 if full else 0.35,
                    color="C3" if full else "C0")
        ax.set_xscale("log")
        top_epoch = max(h["epochs"] for h in history)
        ticks = [t for t in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000)
                 if t <= top_epoch]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("epochs trained")
        ax.set_ylabel("mean CV score")
        ax.plot([], [], "-", color="C3", label="trained to the last rung")
        ax.plot([], [], "-", color="C0", alpha=0.5, label="pruned")
        ax.legend(loc="lower right")
    ax.set_title("Learning curves (mean CV score after each epoch)")
    fig.tight_layout()
    return fig


PLOTS = {
    "history": optimization_history,
    "importance": param_importances,
    "parallel": parallel_coordinates,
    "params": param_scores,
    "curves": learning_curves,
}
