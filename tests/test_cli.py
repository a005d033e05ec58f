"""The sgdtune command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "sgdtune", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_demo_tunes_and_reports():
    out = run("demo", "--max-iter", "5", "--n-jobs", "1")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Top 5 of 24" in text
    assert "test accuracy 0.9" in text  # digits: the best model is good
    assert "scikit-learn search time" in text and "faster" in text


def test_the_installed_command_runs():
    exe = shutil.which("sgdtune")
    if exe is None:
        pytest.skip("the sgdtune script is not on PATH (installed without scripts)")
    out = subprocess.run([exe, "demo", "--no-compare", "--max-iter", "3", "--top", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Top 2 of 24" in out.stdout and "scikit-learn" not in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "the following arguments are required: command"),
        (("demo", "--cv", "1"), "--cv must be at least 2, got 1"),
        (("demo", "--max-iter", "zero"), "invalid int value"),
        (("bogus",), "invalid choice"),
    ],
)
def test_usage_errors_exit_2(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr


def test_help_lists_the_demo():
    out = run("--help")
    assert out.returncode == 0 and "demo" in out.stdout
    assert run("demo", "--help").returncode == 0
