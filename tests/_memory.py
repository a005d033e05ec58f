"""Peak memory that NumPy and Python allocate during a call."""

from __future__ import annotations

import tracemalloc


def traced_peak(call):
    """Bytes at the peak of what tracemalloc sees (every NumPy array) while
    ``call()`` runs; the compiled core's own buffers are not counted."""
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak
