"""The ``sgdtune`` command.

``sgdtune demo`` runs the main job on data that ships with scikit-learn: a
hyperparameter search for an SGD classifier, its leaderboard, the test score of
the refitted best model, and the time scikit-learn's GridSearchCV takes for the
same search, measured in the same run.

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

    def timed_search(search_class, estimator_class):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            search = search_class(estimator_class(**estimator), grid, cv=args.cv,
                                  n_jobs=args.n_jobs).fit(X_train, y_train)
            return search, time.perf_counter() - start

    search, ours = timed_search(GridSearchCV, SGDClassifier)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgdtune`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("cv", "max_iter", "top"):
        value = getattr(args, name, None)
        if value is not None and value < (2 if name == "cv" else 1):
            parser.error(f"--{name.replace('_', '-')} must be at least "
                         f"{2 if name == 'cv' else 1}, got {value}")
    try:
        return args.run(args)
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
