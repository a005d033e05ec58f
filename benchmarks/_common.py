"""Shared helpers for the benchmark scripts.

* :func:`time_call` runs a callable several times and keeps the median wall time
  (``time.perf_counter``), together with the result of the last run;
* :class:`MarkdownTable` collects rows and renders a GitHub-style markdown table;
* :class:`JsonLines` appends one JSON object per measurement to a file (or does
  nothing when no file is given);
* :func:`environment` describes the machine and library versions, to be stored
  next to the numbers;
* :func:`rss_bytes` and :class:`PeakSampler` measure memory: resident memory
  now, and the peak of any such measure while a block runs.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

T = TypeVar("T")


@dataclass
class Timing(Generic[T]):
    """Wall times of repeated runs of one callable and the last run's result."""

    times: list[float]
    result: T

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


def time_call(
    fn: Callable[[], T],
    repeats: int = 3,
    *,
    first: tuple[float, T] | None = None,
) -> Timing[T]:
    """Run ``fn()`` ``repeats`` times and return the wall times and last result.

    ``first`` is an already measured ``(seconds, result)`` pair that counts as one
    of the repeats (so a run made for another purpose is not wasted). A garbage
    collection runs before each timed call so that it does not land inside one.
    """
    times: list[float] = []
    result: Any = None
    if first is not None:
        times.append(first[0])
        result = first[1]
    while len(times) < max(1, repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return Timing(times=times, result=result)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """One timed call: ``(seconds, result)``."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def fmt_seconds(seconds: float | None) -> str:
    """Seconds with a unit that keeps three significant digits readable."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_ratio(ratio: float | None) -> str:
    """A speed-up factor such as ``12.3x``."""
    if ratio is None or not math.isfinite(ratio):
        return "n/a"
    if ratio >= 100:
        return f"{ratio:.0f}x"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def fmt_pct(fraction: float | None, signed: bool = False) -> str:
    """An accuracy (a fraction) as a percentage with two decimals."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    return f"{100 * fraction:+.2f}" if signed else f"{100 * fraction:.2f}"


def ratio(reference: float | None, candidate: float | None) -> float | None:
    """``reference / candidate`` (a speed-up when both are times), or None."""
    if reference is None or candidate is None or candidate <= 0:
        return None
    return reference / candidate


@dataclass
class MarkdownTable:
    """Rows of strings rendered as a markdown table with padded columns."""

    headers: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)

    def add_row(self, *cells: object) -> None:
        if len(cells) != len(self.headers):
            raise ValueError(f"expected {len(self.headers)} cells, got {len(cells)}")
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            return (
                "| "
                + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                + " |"
            )

        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(self.headers), sep, *(line(r) for r in self.rows)])

    def print(self, title: str | None = None) -> None:
        if title:
            print(f"\n### {title}\n")
        print(self.render(), flush=True)


class JsonLines:
    """Append one JSON object per line to ``path``; a no-op when path is None."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._fh = None
        if path is not None:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            self._fh = p.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(record, default=_json_default, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_default(obj: Any) -> Any:
    """Make NumPy scalars and arrays JSON-serialisable."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def environment() -> dict[str, Any]:
    """Versions and machine facts worth keeping with benchmark numbers."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["loadavg"] = os.getloadavg()
    for name in ("numpy", "scipy", "sklearn", "sgdtune"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        info[name] = getattr(module, "__version__", "?")
    from sgdtune._bench import cpu_facts

    info.update(cpu_facts())
    return info


def machine_line() -> str:
    """One line naming the machine, for a benchmark's printed output."""
    from sgdtune._bench import machine_name

    return f"Machine: {machine_name()}."


def rss_bytes() -> int:
    """Resident memory of this process now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakSampler:
    """The peak of ``measure()`` (bytes), sampled every ``interval`` seconds
    by a thread while the ``with`` block runs, and once at each end."""

    def __init__(self, measure: Callable[[], int], interval: float) -> None:
        self.measure, self.interval, self.peak = measure, interval, 0

    def __enter__(self) -> Self:
        import threading

        self.peak, self._stop = self.measure(), threading.Event()

        def watch() -> None:
            while not self._stop.wait(self.interval):
                self.peak = max(self.peak, self.measure())

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.measure())
