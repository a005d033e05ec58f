"""The benchmark suite: ``sgdtune bench`` at full size, kept in ``benchmarks/results``.

It runs :func:`sgdtune._bench.run` (see its module docstring for what is measured
and how): this machine's memory and matrix-product limits, sgdtune's kernels
placed against them (the roofline), sgdtune against scikit-learn, Optuna driving
scikit-learn, the plain NumPy trainer and a pure-Python loop, and time against
rows, trials and threads, all in one run, medians of ``--repeats`` runs. The
markdown tables go to the terminal; one JSON line per measurement is appended
to ``<out>/suite.jsonl`` (after a line describing the machine and libraries) and
the four PNG pictures are written into ``<out>``.

Usage::

    python benchmarks/suite.py                 # 200,000 x 100, about 10 minutes here
    python benchmarks/suite.py --n-samples 50000 --repeats 1 --out /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment  # noqa: E402
from sgdtune._bench import run  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--no-optuna", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "suite.jsonl"
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": "environment", **environment(), "args": vars(args)}) + "\n")
    print(f"{args.n_samples} x 100 generated rows, medians of {args.repeats} runs, "
          f"n_jobs={args.n_jobs}", flush=True)
    run(n_samples=args.n_samples, repeats=args.repeats, n_jobs=args.n_jobs, json_path=str(log),
        out=lambda line: print(line, flush=True), plots_dir=out, optuna=not args.no_optuna)


if __name__ == "__main__":
    main()
