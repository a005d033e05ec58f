"""The ``sgdtune`` command.

``sgdtune demo`` runs the main job on data that ships with scikit-learn: a
hyperparameter search for an SGD classifier, its leaderboard, the test score of
the refitted best model, and the time scikit-learn's GridSearchCV takes for the
same search, measured in the same run. ``sgdtune tune`` tunes a model on a
CSV or Parquet table; ``sgdtune show`` prints a stored search's leaderboard;
``sgdtune bench`` compares sgdtune with scikit-learn and NumPy on this machine.

Exit codes: 0 success, 2 usage error (from argparse), 1 failure with a one-line
reason (the traceback with ``--debug``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings


def _demo(args: argparse.Namespace) -> int:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier as SklearnSGD
    from sklearn.model_selection import GridSearchCV as SklearnGrid
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from . import GridSearchCV, SGDClassifier, __version__

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    grid = {
        "alpha": [1e-5, 1e-4, 1e-3, 1e-2],
        "loss": ["hinge", "log_loss", "modified_huber"],
        "penalty": ["l2", "elasticnet"],
    }
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    print(f"sgdtune {__version__} demo: handwritten digits, {X_train.shape[0]} training "
          f"rows x {X_train.shape[1]} features, 10 classes")
    print(f"Searching {n_candidates} candidates x {args.cv} folds "
          f"(alpha x loss x penalty) with sgdtune.GridSearchCV, n_jobs={args.n_jobs} ...",
          flush=True)
    estimator = {"max_iter": args.max_iter, "tol": None, "random_state": args.seed}

    def timed_search(search_class, estimator_class, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            search = search_class(estimator_class(**estimator), grid, cv=args.cv,
                                  n_jobs=args.n_jobs, **kw).fit(X_train, y_train)
            return search, time.perf_counter() - start

    # verbose=1: a progress bar on a terminal (log lines otherwise)
    search, ours = timed_search(GridSearchCV, SGDClassifier, verbose=1)

    results = search.cv_results_
    order = np.argsort(results["rank_test_score"], kind="stable")[: args.top]
    print(f"\nTop {len(order)} of {n_candidates} (mean CV accuracy over {args.cv} folds):")
    print(f"{'rank':>4}  {'accuracy':>8}  {'+-':>6}  {'alpha':>7}  {'loss':<15} {'penalty':<10}")
    for i in order:
        p = results["params"][i]
        print(f"{results['rank_test_score'][i]:>4}  {results['mean_test_score'][i]:>8.4f}  "
              f"{results['std_test_score'][i]:>6.4f}  {p['alpha']:>7g}  {p['loss']:<15} "
              f"{p['penalty']:<10}")
    test = search.score(X_test, y_test)
    print(f"\nBest model refitted on all training rows: test accuracy {test:.4f}")
    print(f"sgdtune search time: {ours:.2f} s")

    if not args.no_compare:
        print("Timing the same search with scikit-learn's GridSearchCV and SGDClassifier ...",
              flush=True)
        theirs_search, theirs = timed_search(SklearnGrid, SklearnSGD)
        print(f"scikit-learn search time: {theirs:.2f} s (best CV accuracy "
              f"{theirs_search.best_score_:.4f}, sgdtune's {search.best_score_:.4f})")
        print(f"sgdtune was {theirs / ours:.1f}x faster on this machine.")
    return 0


class UsageError(Exception):
    """A bad argument found after parsing (exit code 2)."""


def _default_space(task):
    from . import Real

    losses = (["hinge", "log_loss", "modified_huber"] if task == "classification"
              else ["squared_error", "huber", "epsilon_insensitive"])
    return {"alpha": Real(1e-7, 1e-1, log=True), "loss": losses,
            "penalty": ["l2", "l1", "elasticnet"],
            "l1_ratio": Real(0.0, 1.0, when={"penalty": "elasticnet"})}


def _default_grid(task):
    losses = _default_space(task)["loss"]
    return {"alpha": [1e-6, 1e-5, 1e-4, 1e-3, 1e-2], "loss": losses,
            "penalty": ["l2", "elasticnet"]}


def _read_space(path, strategy):
    """A search space from a YAML or JSON file: {name: list of values | {type:
    real|integer|categorical, low, high, log, choices, when}}."""
    from . import Categorical, Integer, Real

    text = open(path, encoding="utf-8").read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise UsageError("--space: reading YAML needs PyYAML (pip install pyyaml), "
                             "or give the space as JSON") from None
        raw = yaml.safe_load(text)
    else:
        import json

        raw = json.loads(text)
    if not isinstance(raw, dict) or not raw:
        raise UsageError(f"--space: {path} must hold a mapping of parameter names")
    space = {}
    for name, spec in raw.items():
        if isinstance(spec, list):
            space[name] = spec
            continue
        if not isinstance(spec, dict) or "type" not in spec:
            raise UsageError(f"--space: {name!r} must be a list of values or have a 'type'")
        kind, when = spec["type"], spec.get("when")
        if kind == "real":
            space[name] = Real(spec["low"], spec["high"], log=spec.get("log", False), when=when)
        elif kind == "integer":
            space[name] = Integer(spec["low"], spec["high"], log=spec.get("log", False),
                                  when=when)
        elif kind == "categorical":
            space[name] = Categorical(spec["choices"], when=when)
        else:
            raise UsageError(f"--space: {name!r} has unknown type {kind!r} "
                             "(real, integer or categorical)")
    if strategy == "grid" and not all(isinstance(v, list) for v in space.values()):
        raise UsageError("--strategy grid needs every parameter of --space as a list of values")
    return space


def _load_table(path, target, impute):
    import pandas as pd

    if path.endswith(".parquet"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path)
    if target not in frame.columns:
        raise ValueError(f"--target {target!r} is not a column of {path} "
                         f"(columns: {', '.join(map(str, frame.columns[:20]))})")
    y = frame[target]
    if y.isna().any():
        raise ValueError(f"the target column {target!r} has {int(y.isna().sum())} missing "
                         "values: drop those rows first")
    X = frame.drop(columns=[target])
    missing = [str(c) for c in X.columns if X[c].isna().any()]
    if missing and not impute:
        raise ValueError(f"missing values in columns {', '.join(missing)}: pass --impute to "
                         "fill them (median / most frequent), or clean the data")
    return X, y


def _preprocessor(X, impute):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in X.columns if X[c].dtype.kind not in "biuf"]
    numeric = [c for c in X.columns if c not in categorical]
    num = [SimpleImputer(strategy="median")] if impute else []
    cat = [SimpleImputer(strategy="most_frequent")] if impute else []
    return ColumnTransformer([
        ("numeric", make_pipeline(*num, StandardScaler()), numeric),
        ("categorical", make_pipeline(*cat, OneHotEncoder(handle_unknown="ignore")),
         categorical),
    ]), numeric, categorical


def _tune(args: argparse.Namespace) -> int:
    import os

    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from . import (
        BayesSearchCV,
        EvolutionarySearchCV,
        GridSearchCV,
        RandomizedSearchCV,
        SGDClassifier,
        SGDRegressor,
    )

    if not os.path.exists(args.data):
        raise UsageError(f"DATA: no such file {args.data!r}")
    X, y = _load_table(args.data, args.target, args.impute)
    task = args.task
    if task is None:
        task = ("regression" if y.dtype.kind == "f" and y.nunique() > 20
                else "classification")
    space = (_read_space(args.space, args.strategy) if args.space
             else _default_grid(task) if args.strategy == "grid" else _default_space(task))
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=args.seed, stratify=stratify)
    prep, numeric, categorical = _preprocessor(X, args.impute)
    # Unsupervised, label-free scaling and encoding, fitted once on the training
    # rows; the search then trains every fold in the core on the same matrix.
    Z_train = prep.fit_transform(X_train)
    print(f"sgdtune tune: {args.data}: {len(X_train)} training rows, {len(X_test)} test rows; "
          f"{len(numeric)} numeric and {len(categorical)} categorical columns -> "
          f"{Z_train.shape[1]} features; task {task}", flush=True)
    Estimator = SGDClassifier if task == "classification" else SGDRegressor
    est = Estimator(max_iter=args.max_iter, tol=None, random_state=args.seed)
    common = dict(cv=args.cv, scoring=args.scoring, n_jobs=args.n_jobs, verbose=1,
                  storage=args.storage, resume=args.storage is not None,
                  pruner=args.pruner, max_epochs=args.max_iter)
    if args.strategy == "grid":
        search = GridSearchCV(est, space, **common)
    elif args.strategy == "random":
        search = RandomizedSearchCV(est, space, n_iter=args.n_iter, random_state=args.seed,
                                    **common)
    elif args.strategy == "bayes":
        search = BayesSearchCV(est, space, n_iter=args.n_iter, random_state=args.seed,
                               **common)
    else:
        population = max(2, min(16, args.n_iter // 4))
        search = EvolutionarySearchCV(est, space, population_size=population,
                                      generations=max(1, args.n_iter // population),
                                      random_state=args.seed, **common)
    start = time.perf_counter()
    search.fit(Z_train, np.asarray(y_train))
    seconds = time.perf_counter() - start
    model = Pipeline([("preprocess", prep), ("model", search.best_estimator_)])
    test = model.score(X_test, y_test)
    frame = search.trials_dataframe()
    _print_leaderboard(frame, args.top)
    metric = "accuracy" if task == "classification" else "R2"
    cv_metric = f" ({args.scoring})" if args.scoring else ""
    print(f"\nsearch time {seconds:.2f} s; best CV score{cv_metric} {search.best_score_:.4f}; "
          f"refitted best model: test {metric} {test:.4f}")
    out = args.out or f"sgdtune-{os.path.splitext(os.path.basename(args.data))[0]}"
    os.makedirs(out, exist_ok=True)
    joblib.dump(model, os.path.join(out, "model.joblib"))
    pd.DataFrame(search.cv_results_).to_csv(os.path.join(out, "cv_results.csv"), index=False)
    print(f"wrote {out}/model.joblib (preprocessing + model) and {out}/cv_results.csv")
    if args.report:
        from .report import write_report

        index = write_report(search, args.report, title=f"sgdtune: {args.data}")
        print(f"wrote the report {index}")
    return 0


def _print_leaderboard(frame, top):
    metric = next(c for c in frame.columns if c.startswith("mean_test_"))
    params = [c for c in frame.columns if c.startswith("param_")]
    ok = frame[frame["status"] != "error"] if "status" in frame else frame
    # pruned trials last (their scores are early ones), the longest trained first
    ok = ok.assign(_pruned=ok["status"] == "pruned" if "status" in ok else False,
                   _epochs=ok["n_epochs"].where(ok["status"] == "pruned", 0)
                   if "n_epochs" in ok and "status" in ok else 0)
    order = ok.sort_values(["_pruned", "_epochs", metric], ascending=[True, False, False],
                           kind="stable").head(top)
    print(f"\nTop {len(order)} of {len(frame)} trials ({metric[len('mean_test_'):]}):")
    header = f"{'trial':>5}  {'score':>8}  {'status':<8}  " + "  ".join(
        p[len('param_'):] for p in params)
    print(header)
    for _, row in order.iterrows():
        values = "  ".join(_fmt(row[p]) for p in params)
        print(f"{int(row['number']):>5}  {row[metric]:>8.4f}  {row.get('status', ''):<8}  "
              f"{values}")


def _fmt(value):
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _show(args: argparse.Namespace) -> int:
    import pandas as pd

    from ._storage import open_trials

    definition, trials = open_trials(args.file)
    rows = []
    for t in trials:
        row = {"number": t["number"], "status": t["status"] or t["state"]}
        row.update({f"param_{k}": v for k, v in t["params"].items()})
        if t["result"] is not None and "n_epochs" in t["result"].get("extra", {}):
            row["n_epochs"] = t["result"]["extra"]["n_epochs"]
        if t["result"] is not None:
            scores = [s["test_scores"] for s in t["result"]["splits"]]
            if scores and isinstance(scores[0], dict):
                for name in scores[0]:
                    row[f"mean_test_{name}"] = float(pd.Series([s[name] for s in scores]).mean())
            else:
                row["mean_test_score"] = float(pd.Series(scores, dtype=float).mean())
        rows.append(row)
    if not rows:
        print(f"{args.file}: a {definition.get('class', 'search')} with no trials yet")
        return 0
    frame = pd.DataFrame(rows)
    done = (frame["status"] != "running").sum()
    print(f"{args.file}: {definition.get('class', 'search')}, {len(frame)} trials "
          f"({done} finished)")
    if any(c.startswith("mean_test_") for c in frame.columns):
        _print_leaderboard(frame, args.top)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from . import __version__
    from ._bench import run

    n = 20_000 if args.quick else args.n_samples
    if n < 1_000:
        raise UsageError(f"--n-samples must be at least 1000 (the bench fits batch_size=256 "
                         f"models on folds of the rows), got {n}")
    print(f"sgdtune {__version__} bench: {n} x 100 generated rows, medians of "
          f"{args.repeats} runs, n_jobs={args.n_jobs}", flush=True)
    run(n_samples=n, repeats=args.repeats, n_jobs=args.n_jobs, json_path=args.json,
        out=lambda line: print(line, flush=True), plots_dir=args.plots,
        optuna=not args.no_optuna)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sgdtune",
        description="Fast SGD linear models and hyperparameter search.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="tune an SGD classifier on bundled data and compare with scikit-learn",
        description="Tune an SGD classifier on scikit-learn's digits data, show the "
        "leaderboard and the test score, and time scikit-learn's GridSearchCV on the "
        "same search.",
    )
    demo.add_argument("--cv", type=int, default=3, help="number of folds (default 3)")
    demo.add_argument("--n-jobs", type=int, default=-1,
                      help="threads (sgdtune) and processes (scikit-learn); -1: all cores")
    demo.add_argument("--max-iter", type=int, default=20, help="epochs per fit (default 20)")
    demo.add_argument("--top", type=int, default=5, help="leaderboard rows (default 5)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--no-compare", action="store_true",
                      help="skip timing scikit-learn's search")
    demo.set_defaults(run=_demo)

    tune = sub.add_parser(
        "tune",
        help="tune an SGD model on a CSV or Parquet table",
        description="Tune an SGD classifier or regressor on a table: categorical columns "
        "are one-hot encoded and numeric ones standardised in a Pipeline saved with the "
        "model. Writes the model (joblib) and cv_results.csv; with --storage the search "
        "is stored and the same command resumes it.",
    )
    tune.add_argument("data", help="a .csv or .parquet file")
    tune.add_argument("--target", required=True, help="the column to predict")
    tune.add_argument("--task", choices=["classification", "regression"],
                      help="default: regression for a float target with many values")
    tune.add_argument("--strategy", choices=["grid", "random", "bayes", "evolution"],
                      default="bayes", help="search strategy (default bayes, i.e. TPE)")
    tune.add_argument("--n-iter", type=int, default=40, help="trials (default 40)")
    tune.add_argument("--cv", type=int, default=3, help="folds (default 3)")
    tune.add_argument("--scoring", default=None,
                      help="a scikit-learn scorer name (default accuracy / R2)")
    tune.add_argument("--n-jobs", type=int, default=-1, help="threads (default all cores)")
    tune.add_argument("--max-iter", type=int, default=20, help="epochs per fit (default 20)")
    tune.add_argument("--pruner", choices=["halving", "hyperband"], default=None,
                      help="prune trials over epochs")
    tune.add_argument("--space", default=None,
                      help="a YAML or JSON search space (default: alpha, loss, penalty, "
                      "l1_ratio)")
    tune.add_argument("--storage", default=None,
                      help="a SQLite file keeping every trial; rerunning resumes the search")
    tune.add_argument("--report", default=None, help="write plots and index.html here")
    tune.add_argument("--out", default=None,
                      help="where to write model.joblib and cv_results.csv "
                      "(default sgdtune-<data name>)")
    tune.add_argument("--test-size", type=float, default=0.2,
                      help="share of rows held out for the test score (default 0.2)")
    tune.add_argument("--impute", action="store_true",
                      help="fill missing values (median, most frequent) instead of failing")
    tune.add_argument("--top", type=int, default=10, help="leaderboard rows (default 10)")
    tune.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    tune.set_defaults(run=_tune)

    show = sub.add_parser("show", help="print the leaderboard of a stored search",
                          description="Print the leaderboard of a search stored with "
                          "--storage / storage=.")
    show.add_argument("file", help="the SQLite storage file")
    show.add_argument("--top", type=int, default=10, help="leaderboard rows (default 10)")
    show.set_defaults(run=_show)

    bench = sub.add_parser(
        "bench", help="compare sgdtune with scikit-learn, Optuna, NumPy and Python here",
        description="Measure this machine's memory and matrix-product speed, place "
        "sgdtune's kernels against them (a roofline), then compare sgdtune with "
        "scikit-learn (per-row SGD, grid search), Optuna driving scikit-learn, a plain "
        "NumPy mini-batch trainer and a pure-Python loop on generated data, and measure "
        "time against rows, trials and threads, all in one run; print markdown tables "
        "of speed-ups.")
    bench.add_argument("--n-samples", type=int, default=50_000,
                       help="rows of the generated data (default 50000)")
    bench.add_argument("--repeats", type=int, default=3, help="runs per timing (default 3)")
    bench.add_argument("--n-jobs", type=int, default=2, help="threads / processes (default 2)")
    bench.add_argument("--quick", action="store_true", help="20000 rows")
    bench.add_argument("--json", default=None, help="append one JSON line per measurement")
    bench.add_argument("--plots", default=None, metavar="DIR",
                       help="write PNG pictures (time against rows, trials and threads; "
                       "the roofline) into DIR (needs matplotlib)")
    bench.add_argument("--no-optuna", action="store_true",
                       help="skip Optuna's search even when it is installed")
    bench.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgdtune`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("cv", "max_iter", "top", "n_iter", "repeats", "n_samples"):
        value = getattr(args, name, None)
        if value is not None and value < (2 if name == "cv" else 1):
            parser.error(f"--{name.replace('_', '-')} must be at least "
                         f"{2 if name == 'cv' else 1}, got {value}")
    test_size = getattr(args, "test_size", None)
    if test_size is not None and not 0.0 < test_size < 1.0:
        parser.error(f"--test-size must be between 0 and 1, got {test_size}")
    try:
        return args.run(args)
    except UsageError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("sgdtune: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"sgdtune: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
