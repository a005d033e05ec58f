"""Sends Ctrl-C (SIGINT) to this process during a call, as a user would."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest


def assert_interrupted_quickly(call, after=0.3, within=5.0):
    """``call()`` must raise KeyboardInterrupt less than ``within`` seconds
    after starting, when SIGINT arrives ``after`` seconds in."""
    timer = threading.Timer(after, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.cancel()
    assert time.perf_counter() - start < within
