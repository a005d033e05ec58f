"""The dense mini-batch kernels timed alone, for tuning them on a new CPU.

Builds ``tile_shapes.cpp`` against ``cpp/include`` with the extension's
floating-point flags (``-O3 -ffp-contract=off -fno-trapping-math``; needs a C++
compiler: ``$CXX`` or ``g++``) and prints a markdown table: the shipped AVX2
kernels (and AVX-512's, where the CPU has it) for a batch's forward pass and
update, on rows read where they lie in X and on rows copied into aligned rows
first (what the trainer does for blocks of eight columns or more), then the
AVX2 register-tile shapes one by one. Every shape gives the same numbers, so
the fastest is the one to ship for the machines it wins on; the choices in
``batch.hpp`` were timed this way (its comments give the figures).

Usage::

    python benchmarks/tile_shapes.py              # about 20 seconds
    python benchmarks/tile_shapes.py --batch 256
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import machine_line

HERE = Path(__file__).resolve().parent
FLAGS = ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-trapping-math", "-Wno-psabi"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="rows a batch (64)")
    parser.add_argument("--n-samples", type=int, default=33_333, help="rows of X (33,333)")
    parser.add_argument("--reps", type=int, default=1000, help="batches a timing (1,000)")
    args = parser.parse_args()
    if args.batch < 1 or args.n_samples < 2 * args.batch or args.reps < 1:
        parser.error("need --batch >= 1, --n-samples >= 2 batches and --reps >= 1")
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        raise SystemExit("tile_shapes.py needs a C++ compiler: set CXX or install g++")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "tile_shapes"
        subprocess.run([cxx, *FLAGS, f"-I{HERE.parent / 'cpp' / 'include'}", str(HERE / "tile_shapes.cpp"),
                        "-o", str(exe)], check=True)
        print(f"### Mini-batch kernels: batches of {args.batch} shuffled rows of a {args.n_samples}-row X\n")
        subprocess.run([str(exe), str(args.batch), str(args.n_samples), str(args.reps)], check=True)
    print(f"\n{machine_line()}")


if __name__ == "__main__":
    main()
