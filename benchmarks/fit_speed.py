"""Fit-speed benchmark: sgdtune vs scikit-learn vs a plain NumPy mini-batch trainer.

Binary classification on three data sets, each split 80/20 into train/test:

* ``dense64``  -- ``make_classification`` (default 100,000 x 100, 20 informative and
  10 redundant features), standardised with the training split's mean/std;
* ``dense32``  -- the same arrays cast to float32 (both libraries train in float32);
* ``sparse64`` -- a synthetic CSR matrix (default 200,000 x 50,000, ~50 non-zeros a
  row, skewed column frequencies, count-like values) with labels from a sparse
  ground-truth linear model plus Gaussian noise (``sparse32`` is its float32 copy,
  available with ``--datasets``).

Every time is the median of ``--repeats`` fits (``time.perf_counter`` around
``fit`` only, data already in memory and validated types), and every reference
is measured in the same run, on the same data, right before the candidate.
Accuracies are on the held-out 20%.

Sections
--------
a) **Per-epoch time at batch_size=1.** sgdtune (``batch_size=1``, scikit-learn's
   per-sample algorithm) vs ``sklearn.linear_model.SGDClassifier``, both with
   ``max_iter=--epochs-a`` (5) and ``tol=None`` so that both run exactly that many
   epochs; hinge and log_loss, each with L2, L1 and elasticnet penalties.
   Columns: seconds per epoch of each, the speed-up ``sklearn / sgdtune`` and
   the test accuracy of each (they should be close: same algorithm, different
   random streams).

b) **Time to accuracy with mini-batches.** scikit-learn with its defaults
   (``max_iter=1000, tol=1e-3``, L2) fixes the reference accuracy and time. For
   each batch size in ``--batch-sizes`` (32, 64, 256), sgdtune with ``tol=None``
   is fitted for 1, 2, 3, 5, 8, 13, 20, 30, ... epochs until its test accuracy is
   within ``--tolerance`` (0.5 point) of scikit-learn's, or ``--max-epochs`` is
   reached ("no" in column ``reached``); the time of that fit is reported.
   sgdtune with its own defaults (``tol=1e-3``) at each batch size is reported
   too ("sgdtune default"). ``--sgdtune-params`` (JSON) is passed to every
   mini-batch sgdtune fit, e.g. ``'{"learning_rate": "adaptive", "eta0": 0.5}'``.
   Column ``speed-up`` is ``sklearn time / sgdtune time`` for the whole fit.

c) **Against plain NumPy.** ``benchmarks/numpy_sgd.NumpyMiniBatchSGD`` and
   sgdtune, same loss (L2), same batch size, same number of epochs
   (``--epochs-c``), ``tol=None``. Column ``speed-up`` is
   ``NumPy s/epoch / sgdtune s/epoch``.

How to read the ratios: every "speed-up" is ``reference time / sgdtune time``,
so values above 1 mean sgdtune is faster (``10x`` = ten times faster) and
values below 1 mean it is slower. Small-data timings (``--quick``) are dominated
by per-call overheads and are only a smoke test.

Usage::

    python benchmarks/fit_speed.py --quick                 # < 1 minute
    python benchmarks/fit_speed.py --json results.jsonl    # full run
    python benchmarks/fit_speed.py --sections b --datasets sparse64 \\
        --batch-sizes 16,128 --sgdtune-params '{"learning_rate": "adaptive"}'

With ``--json FILE`` one JSON object per measurement is appended to FILE (the
first line of a run describes the environment and the arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sgdtune
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier as SklearnSGD
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    JsonLines,
    MarkdownTable,
    environment,
    fmt_pct,
    fmt_ratio,
    fmt_seconds,
    ratio,
    time_call,
    timed,
)
from numpy_sgd import SCHEDULES as NUMPY_SCHEDULES  # noqa: I001
from numpy_sgd import NumpyMiniBatchSGD

DATASETS = ("dense64", "dense32", "sparse64", "sparse32")
Estimator = Any
Matrix = np.ndarray | sp.csr_matrix


# -- data ---------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    X_train: Matrix
    y_train: np.ndarray
    X_test: Matrix
    y_test: np.ndarray

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.X_train)

    def describe(self) -> str:
        n_tr, d = self.X_train.shape
        nnz = f", {self.X_train.nnz / n_tr:.1f} non-zeros/row" if self.sparse else ""
        pos = float(np.mean(self.y_train == 1))
        return (
            f"{self.name}: {n_tr} train + {self.X_test.shape[0]} test rows, "
            f"{d} features{nnz}, {self.X_train.dtype}, {100 * pos:.1f}% positive"
        )


def make_dense(n_samples: int, n_features: int, seed: int) -> tuple[Dataset, Dataset]:
    """The float64 and float32 dense data sets (standardised on the train split)."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=max(2, n_features // 5),
        n_redundant=max(0, n_features // 10),
        n_clusters_per_class=1,
        flip_y=0.02,
        class_sep=0.8,
        random_state=seed,
    )
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr = np.ascontiguousarray(scaler.transform(X_tr))
    X_te = np.ascontiguousarray(scaler.transform(X_te))
    d64 = Dataset("dense64", X_tr, y_tr, X_te, y_te)
    d32 = Dataset(
        "dense32", X_tr.astype(np.float32), y_tr, X_te.astype(np.float32), y_te
    )
    return d64, d32


def make_sparse(
    n_samples: int,
    n_features: int,
    nnz_per_row: int,
    seed: int,
    noise: float = 0.3,
    informative_fraction: float = 0.1,
) -> tuple[Dataset, Dataset]:
    """Synthetic text-like CSR data with labels from a sparse linear model.

    Row lengths are Poisson(nnz_per_row); column j is drawn with probability
    proportional to 1/sqrt(j) (a few frequent "words", a long tail; repeated
    draws within a row are summed) and values are Exponential(1), like term
    counts. ``informative_fraction`` of the columns, drawn with the same skew so
    that the signal sits mostly on columns seen often enough to be learnt, carry
    N(0, 1) weights; the label is the sign of the centred score plus ``noise``
    times its standard deviation of Gaussian noise (with the defaults the true
    model scores about 89% and scikit-learn's defaults about 81%). The rows are
    i.i.d., so the split is simply first 80% / last 20%.
    """
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.poisson(nnz_per_row, n_samples), 1, n_features)
    total = int(lengths.sum())
    index_dtype = np.int32 if max(total, n_features) < 2**31 else np.int64
    indptr = np.zeros(n_samples + 1, dtype=index_dtype)
    np.cumsum(lengths, out=indptr[1:])
    u = rng.random(total)
    u *= u
    u *= n_features
    indices = u.astype(index_dtype)
    del u
    data = rng.exponential(1.0, total)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_features))
    X.sum_duplicates()  # also sorts the indices of each row

    w = np.zeros(n_features)
    n_inf = max(1, int(informative_fraction * n_features))
    freq = 1.0 / np.sqrt(np.arange(1.0, n_features + 1.0))
    chosen = rng.choice(n_features, n_inf, replace=False, p=freq / freq.sum())
    w[chosen] = rng.standard_normal(n_inf)
    score = X @ w
    score -= np.median(score)
    score += noise * score.std() * rng.standard_normal(n_samples)
    y = (score > 0).astype(np.int64)

    cut = int(0.8 * n_samples)
    X_tr, X_te = X[:cut], X[cut:]
    s64 = Dataset("sparse64", X_tr, y[:cut], X_te, y[cut:])
    s32 = Dataset(
        "sparse32", X_tr.astype(np.float32), y[:cut], X_te.astype(np.float32), y[cut:]
    )
    return s64, s32


# -- estimators and measurements ----------------------------------------------


def sklearn_clf(**params: Any) -> SklearnSGD:
    return SklearnSGD(**params)


def sgdtune_clf(**params: Any) -> sgdtune.SGDClassifier:
    return sgdtune.SGDClassifier(**params)


def epoch_schedule(cap: int) -> Iterator[int]:
    """1, 2, 3, 5, 8, 13, 20, 30, 45, 67, ... up to and including ``cap``."""
    for e in (1, 2, 3, 5, 8, 13, 20):
        if e >= cap:
            yield cap
            return
        yield e
    e = 20
    while True:
        e = e * 3 // 2
        if e >= cap:
            yield cap
            return
        yield e


@dataclass
class Measurement:
    seconds: float  # median over repeats
    times: list[float]
    n_iter: int
    accuracy: float

    @property
    def per_epoch(self) -> float:
        return self.seconds / max(1, self.n_iter)


def measure(
    make: Callable[[], Estimator],
    data: Dataset,
    repeats: int,
    first: tuple[float, Estimator] | None = None,
) -> Measurement:
    """Median fit time of ``make()`` on the train split, and its test accuracy."""
    t = time_call(lambda: make().fit(data.X_train, data.y_train), repeats, first=first)
    model = t.result
    return Measurement(
        seconds=t.median,
        times=t.times,
        n_iter=int(getattr(model, "n_iter_", 0)),
        accuracy=float(model.score(data.X_test, data.y_test)),
    )


class Bench:
    """Runs the sections and collects tables and JSON records."""

    def __init__(self, args: argparse.Namespace, out: JsonLines) -> None:
        self.args = args
        self.out = out
        self.seed: int = args.seed
        self.alpha: float = args.alpha
        self.extra: dict[str, Any] = args.sgdtune_params

    def repeats(self, data: Dataset) -> int:
        return self.args.sparse_repeats if data.sparse else self.args.repeats

    def record(
        self, section: str, data: Dataset, m: Measurement, **fields: Any
    ) -> None:
        self.out.write(
            {
                "section": section,
                "dataset": data.name,
                "n_train": data.X_train.shape[0],
                "n_features": data.X_train.shape[1],
                "median_s": m.seconds,
                "times_s": m.times,
                "n_iter": m.n_iter,
                "per_epoch_s": m.per_epoch,
                "test_accuracy": m.accuracy,
                **fields,
            }
        )

    # a) per-epoch time at batch_size=1 ---------------------------------------

    def per_epoch(self, datasets: list[Dataset]) -> None:
        a = self.args
        table = MarkdownTable(
            [
                "data",
                "loss",
                "penalty",
                "sklearn s/epoch",
                "sgdtune s/epoch",
                "speed-up (sklearn/sgdtune)",
                "sklearn acc %",
                "sgdtune acc %",
            ]
        )
        for data in datasets:
            reps = self.repeats(data)
            for loss in a.losses:
                for penalty in a.penalties:
                    params = {
                        "loss": loss,
                        "penalty": penalty,
                        "alpha": self.alpha,
                        "max_iter": a.epochs_a,
                        "tol": None,
                        "random_state": self.seed,
                    }
                    ref = measure(lambda p=params: sklearn_clf(**p), data, reps)
                    cand = measure(
                        lambda p=params: sgdtune_clf(batch_size=1, **p), data, reps
                    )
                    speedup = ratio(ref.per_epoch, cand.per_epoch)
                    common = {"loss": loss, "penalty": penalty, "batch_size": 1}
                    self.record("a", data, ref, estimator="sklearn", **common)
                    self.record(
                        "a",
                        data,
                        cand,
                        estimator="sgdtune",
                        speedup_vs_sklearn=speedup,
                        **common,
                    )
                    table.add_row(
                        data.name,
                        loss,
                        penalty,
                        fmt_seconds(ref.per_epoch),
                        fmt_seconds(cand.per_epoch),
                        fmt_ratio(speedup),
                        fmt_pct(ref.accuracy),
                        fmt_pct(cand.accuracy),
                    )
                    print(f"  [a] {data.name} {loss}/{penalty} done", flush=True)
        table.print(
            f"a) Per-epoch time at batch_size=1, max_iter={a.epochs_a}, tol=None "
            f"(median of {a.repeats} / sparse {a.sparse_repeats} runs)"
        )

    # b) time to accuracy ------------------------------------------------------

    def time_to_accuracy(self, datasets: list[Dataset]) -> None:
        a = self.args
        table = MarkdownTable(
            [
                "data",
                "loss",
                "estimator",
                "batch",
                "epochs",
                "fit time",
                "speed-up vs sklearn",
                "test acc %",
                "acc - sklearn",
                "reached",
            ]
        )
        for data in datasets:
            reps = self.repeats(data)
            for loss in a.losses:
                base = {"loss": loss, "penalty": "l2", "alpha": self.alpha}
                ref = measure(
                    lambda b=base: sklearn_clf(random_state=self.seed, **b), data, reps
                )
                self.record(
                    "b",
                    data,
                    ref,
                    estimator="sklearn",
                    variant="default",
                    batch_size=1,
                    loss=loss,
                    penalty="l2",
                )
                table.add_row(
                    data.name,
                    loss,
                    "sklearn default",
                    1,
                    ref.n_iter,
                    fmt_seconds(ref.seconds),
                    "1 (ref)",
                    fmt_pct(ref.accuracy),
                    "",
                    "",
                )
                target = ref.accuracy - a.tolerance
                for bs in a.batch_sizes:
                    params = {**base, "batch_size": bs, **self.extra}
                    # Fixed epoch counts (tol=None), growing until the target.
                    reached = False
                    first: tuple[float, Estimator] | None = None
                    epochs = 0
                    for epochs in epoch_schedule(a.max_epochs):

                        def make(
                            e: int = epochs, p: dict[str, Any] = params
                        ) -> Estimator:
                            return sgdtune_clf(
                                max_iter=e, tol=None, random_state=self.seed, **p
                            )

                        first = timed(
                            lambda m=make, d=data: m().fit(d.X_train, d.y_train)
                        )
                        acc = first[1].score(data.X_test, data.y_test)
                        if acc >= target:
                            reached = True
                            break
                    m = measure(make, data, reps, first=first)
                    speedup = ratio(ref.seconds, m.seconds)
                    self.record(
                        "b",
                        data,
                        m,
                        estimator="sgdtune",
                        variant="epochs_to_target",
                        batch_size=bs,
                        loss=loss,
                        penalty="l2",
                        params=params,
                        epochs=epochs,
                        target_accuracy=target,
                        reached=reached,
                        speedup_vs_sklearn=speedup,
                    )
                    table.add_row(
                        data.name,
                        loss,
                        "sgdtune tol=None",
                        bs,
                        epochs,
                        fmt_seconds(m.seconds),
                        fmt_ratio(speedup),
                        fmt_pct(m.accuracy),
                        fmt_pct(m.accuracy - ref.accuracy, signed=True),
                        "yes" if reached else "no",
                    )
                    # sgdtune with its own stopping rule (tol=1e-3).
                    d = measure(
                        lambda p=params: sgdtune_clf(random_state=self.seed, **p),
                        data,
                        reps,
                    )
                    speedup = ratio(ref.seconds, d.seconds)
                    self.record(
                        "b",
                        data,
                        d,
                        estimator="sgdtune",
                        variant="default",
                        batch_size=bs,
                        loss=loss,
                        penalty="l2",
                        params=params,
                        speedup_vs_sklearn=speedup,
                    )
                    table.add_row(
                        data.name,
                        loss,
                        "sgdtune default",
                        bs,
                        d.n_iter,
                        fmt_seconds(d.seconds),
                        fmt_ratio(speedup),
                        fmt_pct(d.accuracy),
                        fmt_pct(d.accuracy - ref.accuracy, signed=True),
                        "yes" if d.accuracy >= target else "no",
                    )
                    print(f"  [b] {data.name} {loss} batch={bs} done", flush=True)
        extra = f", sgdtune params {json.dumps(self.extra)}" if self.extra else ""
        table.print(
            "b) Time to accuracy: sklearn defaults (max_iter=1000, tol=1e-3) vs "
            f"sgdtune mini-batch, target = sklearn acc - {100 * a.tolerance:.2g} "
            f"point, max {a.max_epochs} epochs{extra}"
        )

    # c) against plain NumPy ---------------------------------------------------

    def versus_numpy(self, datasets: list[Dataset]) -> None:
        a = self.args
        lr = self.extra.get("learning_rate", "optimal")
        numpy_params: dict[str, Any] = {"alpha": self.extra.get("alpha", self.alpha)}
        note = ""
        if lr in NUMPY_SCHEDULES:
            numpy_params["learning_rate"] = lr
            if "eta0" in self.extra:
                numpy_params["eta0"] = self.extra["eta0"]
        else:
            note = f" (NumPy uses 'optimal': it has no '{lr}' schedule)"
        table = MarkdownTable(
            [
                "data",
                "loss",
                "batch",
                "epochs",
                "NumPy s/epoch",
                "sgdtune s/epoch",
                "speed-up (NumPy/sgdtune)",
                "NumPy acc %",
                "sgdtune acc %",
            ]
        )
        for data in datasets:
            reps = self.repeats(data)
            for loss in a.losses:
                for bs in a.batch_sizes:
                    common = {"max_iter": a.epochs_c, "batch_size": bs, "loss": loss}
                    ref = measure(
                        lambda c=common: NumpyMiniBatchSGD(
                            random_state=self.seed, **c, **numpy_params
                        ),
                        data,
                        reps,
                    )
                    params = {
                        "alpha": self.alpha,
                        "penalty": "l2",
                        **common,
                        **self.extra,
                    }
                    cand = measure(
                        lambda p=params: sgdtune_clf(
                            tol=None, random_state=self.seed, **p
                        ),
                        data,
                        reps,
                    )
                    speedup = ratio(ref.per_epoch, cand.per_epoch)
                    fields = {"loss": loss, "penalty": "l2", "batch_size": bs}
                    self.record(
                        "c", data, ref, estimator="numpy", params=numpy_params, **fields
                    )
                    self.record(
                        "c",
                        data,
                        cand,
                        estimator="sgdtune",
                        params=params,
                        speedup_vs_numpy=speedup,
                        **fields,
                    )
                    table.add_row(
                        data.name,
                        loss,
                        bs,
                        a.epochs_c,
                        fmt_seconds(ref.per_epoch),
                        fmt_seconds(cand.per_epoch),
                        fmt_ratio(speedup),
                        fmt_pct(ref.accuracy),
                        fmt_pct(cand.accuracy),
                    )
                    print(f"  [c] {data.name} {loss} batch={bs} done", flush=True)
        table.print(
            f"c) Plain NumPy mini-batch SGD vs sgdtune, same batch size, "
            f"{a.epochs_c} epochs, tol=None{note}"
        )


# -- command line ---------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers, e.g. 32,64,256")
    return values


def _str_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in choices]
        if bad or not values:
            raise argparse.ArgumentTypeError(
                f"unknown value(s) {bad}; choose from {','.join(choices)}"
            )
        return values

    return parse


def _json_dict(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=(
            "Fit speed of sgdtune vs scikit-learn and plain NumPy "
            "(see the module docstring for how to read the tables)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("data")
    g.add_argument("--n-samples", type=int, default=100_000, help="dense rows")
    g.add_argument("--n-features", type=int, default=100, help="dense columns")
    g.add_argument("--sparse-n-samples", type=int, default=200_000)
    g.add_argument("--sparse-n-features", type=int, default=50_000)
    g.add_argument(
        "--sparse-nnz", type=int, default=50, help="mean non-zeros per sparse row"
    )
    g.add_argument(
        "--datasets",
        type=_str_list(DATASETS),
        default=["dense64", "dense32", "sparse64"],
        help=f"comma-separated subset of {','.join(DATASETS)}",
    )
    g.add_argument("--seed", type=int, default=0)

    g = p.add_argument_group("what to run")
    g.add_argument(
        "--sections", type=_str_list(("a", "b", "c")), default=["a", "b", "c"]
    )
    g.add_argument(
        "--losses",
        type=_str_list(("hinge", "log_loss")),
        default=["hinge", "log_loss"],
    )
    g.add_argument(
        "--penalties",
        type=_str_list(("l2", "l1", "elasticnet")),
        default=["l2", "l1", "elasticnet"],
        help="penalties of section a (b and c use l2)",
    )
    g.add_argument("--alpha", type=float, default=1e-4)
    g.add_argument("--batch-sizes", type=_int_list, default=[32, 64, 256])
    g.add_argument("--epochs-a", type=int, default=5, help="max_iter in section a")
    g.add_argument("--epochs-c", type=int, default=5, help="epochs in section c")
    g.add_argument(
        "--max-epochs", type=int, default=100, help="epoch cap of section b's search"
    )
    g.add_argument(
        "--tolerance",
        type=float,
        default=0.005,
        help="section b target: sklearn's test accuracy minus this (a fraction)",
    )
    g.add_argument(
        "--sgdtune-params",
        type=_json_dict,
        default={},
        help="JSON object of extra parameters for mini-batch sgdtune fits (b, c)",
    )

    g = p.add_argument_group("timing and output")
    g.add_argument("--repeats", type=int, default=3, help="timed fits per entry")
    g.add_argument(
        "--sparse-repeats",
        type=int,
        default=None,
        help="timed fits per entry on sparse data (default: --repeats)",
    )
    g.add_argument(
        "--quick",
        action="store_true",
        help="10x smaller data, 1 repeat, epoch cap 30: a smoke test",
    )
    g.add_argument("--json", metavar="FILE", help="append JSON lines to FILE")
    args = p.parse_args(argv)

    if args.quick:
        args.n_samples = max(1_000, args.n_samples // 10)
        args.sparse_n_samples = max(1_000, args.sparse_n_samples // 10)
        args.sparse_n_features = max(100, args.sparse_n_features // 10)
        args.repeats = 1
        args.sparse_repeats = 1
        args.max_epochs = min(args.max_epochs, 30)
    if args.sparse_repeats is None:
        args.sparse_repeats = args.repeats
    if args.repeats < 1 or args.sparse_repeats < 1:
        p.error("--repeats and --sparse-repeats must be >= 1")
    return args


def warm_up() -> None:
    """One tiny fit of each estimator so that first-call costs are not timed."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4))
    y = (X[:, 0] > 0).astype(int)
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        for make in (
            lambda: SklearnSGD(max_iter=2, tol=None),
            lambda: sgdtune.SGDClassifier(max_iter=2, tol=None),
            lambda: sgdtune.SGDClassifier(max_iter=2, tol=None, batch_size=8),
            lambda: NumpyMiniBatchSGD(max_iter=1, batch_size=8),
        ):
            make().fit(Xd, y)
            make().fit(sp.csr_matrix(Xd), y)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    start = time.perf_counter()
    env = environment()
    print("# sgdtune fit-speed benchmark\n")
    print(
        "  ".join(f"{k}={env[k]}" for k in ("sgdtune", "sklearn", "numpy") if k in env)
    )
    print(
        f"{env['platform']}, {env['cpu']}, {env.get('cpus_usable', env['cpu_count'])} usable CPUs, "
        f"load {env.get('loadavg', ('?',))[0]}"
    )
    print(
        "Every speed-up is reference time / sgdtune time: > 1 means sgdtune is faster."
    )

    datasets: list[Dataset] = []
    if {"dense64", "dense32"} & set(args.datasets):
        d64, d32 = make_dense(args.n_samples, args.n_features, args.seed)
        datasets += [d for d in (d64, d32) if d.name in args.datasets]
    if {"sparse64", "sparse32"} & set(args.datasets):
        s64, s32 = make_sparse(
            args.sparse_n_samples, args.sparse_n_features, args.sparse_nnz, args.seed
        )
        datasets += [d for d in (s64, s32) if d.name in args.datasets]
    datasets.sort(key=lambda d: args.datasets.index(d.name))
    print("\nData (made in %.1f s):" % (time.perf_counter() - start))
    for d in datasets:
        print(f"- {d.describe()}")
    print(flush=True)

    warm_up()
    with JsonLines(args.json) as out:
        config = {k: v for k, v in vars(args).items() if k != "json"}
        out.write({"section": "environment", **env, "args": config})
        bench = Bench(args, out)
        if "a" in args.sections:
            bench.per_epoch(datasets)
        if "b" in args.sections:
            bench.time_to_accuracy(datasets)
        if "c" in args.sections:
            bench.versus_numpy(datasets)
    print(f"\nTotal wall time {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
