"""One epoch of one model against one read of X.

Dense float32 X (default 2,000,000 x 100, 800 MB, made in chunks), two classes;
sgdtune's SGDClassifier at ``batch_size=256`` (``tol=None``), on one thread and
on ``--n-jobs`` threads that share each mini-batch step. An epoch's time is
``(fit of 1 + E epochs - fit of 1 epoch) / E``, so that what a fit does once
(checking the data, allocating) is not counted; both fits come after a warm-up
fit (a first fit also pays for one-time work in the process, which would make
the difference too small). The reference is NumPy reading X once, measured in
the same run: the faster of ``X.sum()`` and ``X.max()`` (on some processors
NumPy's pairwise float sum is slower than memory: 112 against 61 ms for this X
on an Intel Xeon, one of whose cores reads about 13 GB/s). Medians of
``--repeats`` runs; shuffled rows (the default) and rows in order. Shuffled
rows are also set against NumPy reading X's rows in a shuffled order
(``np.take`` of 4,096 rows at a time into one buffer, summed), what a NumPy
trainer's batches pay to gather their rows: rows fetched one by one from
random places cost more than a stream of X, whatever the trainer does with
them. (NumPy's gather is not the machine's limit: a C loop that prefetches the
rows ahead gathers faster.)

Usage::

    python benchmarks/epoch_read.py                  # about a minute
    python benchmarks/epoch_read.py --n-samples 500000
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from _common import MarkdownTable, machine_line, time_call


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        X[start:start + 100_000] = rng.standard_normal((min(100_000, n - start), d),
                                                       dtype=np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int8)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=2_000_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2, help="E above")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="threads of the second set of rows (1: one set only)")
    args = parser.parse_args()

    import sgdtune
    from sgdtune._bench import read_seconds

    X, y = _data(args.n_samples, args.n_features)
    read = read_seconds(X, max(3, args.repeats))
    perm = np.random.default_rng(1).permutation(args.n_samples)
    buffer = np.empty((4096, args.n_features), dtype=X.dtype)

    def read_shuffled():
        total = 0.0
        for start in range(0, args.n_samples, buffer.shape[0]):
            rows = perm[start:start + buffer.shape[0]]
            np.take(X, rows, axis=0, out=buffer[:len(rows)])
            total += float(buffer[:len(rows)].sum())
        return total

    read_shuffled_time = time_call(read_shuffled, max(3, args.repeats)).median

    def fit(epochs, shuffle, n_jobs):
        sgdtune.SGDClassifier(batch_size=args.batch_size, max_iter=epochs, tol=None,
                              random_state=0, shuffle=shuffle, n_jobs=n_jobs).fit(X, y)

    fit(1, True, 1)  # warm-up
    table = MarkdownTable(["rows", "threads", "epoch", "NumPy read of X", "epoch / read",
                           "NumPy read, rows shuffled", "epoch / shuffled read"])
    for n_jobs in sorted({1, args.n_jobs}):
        for shuffle in (True, False):
            per_epoch = []
            for _ in range(args.repeats):
                one = time_call(lambda s=shuffle, j=n_jobs: fit(1, s, j), 1).median
                more = time_call(lambda s=shuffle, j=n_jobs: fit(1 + args.epochs, s, j), 1).median
                per_epoch.append((more - one) / args.epochs)
            epoch = statistics.median(per_epoch)
            shuffled = (f"{read_shuffled_time * 1e3:.1f} ms", f"{epoch / read_shuffled_time:.2f}x") \
                if shuffle else ("", "")
            table.add_row("shuffled" if shuffle else "in order", n_jobs, f"{epoch * 1e3:.1f} ms",
                          f"{read * 1e3:.1f} ms", f"{epoch / read:.2f}x", *shuffled)
    table.print(f"One epoch, batch_size={args.batch_size}, float32, "
                f"{args.n_samples} x {args.n_features} ({X.nbytes / 1e6:.0f} MB)")
    print(machine_line())


if __name__ == "__main__":
    main()
