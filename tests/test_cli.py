"""The sgdtune command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
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
        (("tune", "x.csv"), "the following arguments are required: --target"),
        (("tune", "no-such-file.csv", "--target", "y"), "DATA: no such file"),
        (("tune", "x.csv", "--target", "y", "--strategy", "annealing"), "invalid choice"),
        (("tune", "x.csv", "--target", "y", "--test-size", "1.5"), "--test-size must be"),
        (("show",), "the following arguments are required: file"),
    ],
)
def test_usage_errors_exit_2(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for command in ("demo", "tune", "show", "bench"):
        assert command in out.stdout
        assert run(command, "--help").returncode == 0


@pytest.fixture
def shop_csv(tmp_path):
    """A table with numeric and categorical columns and a categorical target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 1200
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.lognormal(10, 1, n),
                          "city": rng.choice(["paris", "rome", "oslo"], n),
                          "member": rng.choice(["yes", "no"], n)})
    signal = 0.08 * (frame.age - 40) + 1.5 * (frame.city == "rome") - (frame.member == "no")
    frame["bought"] = np.where(signal + rng.normal(0, 0.5, n) > 0, "yes", "no")
    path = tmp_path / "shop.csv"
    frame.to_csv(path, index=False)
    return path


def test_tune_a_table_then_resume_and_show(shop_csv, tmp_path):
    import joblib
    import pandas as pd

    db, out_dir, report = tmp_path / "s.db", tmp_path / "out", tmp_path / "report"
    args = ("tune", str(shop_csv), "--target", "bought", "--n-iter", "12", "--max-iter", "9",
            "--storage", str(db), "--out", str(out_dir), "--report", str(report),
            "--pruner", "halving", "--n-jobs", "1")
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert "3 numeric" not in first.stdout and "2 numeric and 2 categorical" in first.stdout
    assert "Top 10 of 12 trials" in first.stdout and "test accuracy" in first.stdout
    model = joblib.load(out_dir / "model.joblib")
    frame = pd.read_csv(shop_csv)
    assert model.score(frame.drop(columns="bought"), frame["bought"]) > 0.8
    results = pd.read_csv(out_dir / "cv_results.csv")
    assert len(results) == 12 and {"status", "n_epochs", "mean_test_score"} <= set(results)
    for name in ("history", "importance", "parallel", "params", "curves"):
        png = report / f"{name}.png"
        assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "<table>" in (report / "index.html").read_text()
    # the same command again resumes: nothing left to train, the same best model
    again = run(*args)
    assert again.returncode == 0, again.stderr
    best = [line for line in first.stdout.splitlines() if "best CV score" in line]
    assert best and best[0].split(";")[1] in again.stdout
    shown = run("show", str(db), "--top", "3")
    assert shown.returncode == 0, shown.stderr
    assert "12 trials (12 finished)" in shown.stdout and "Top 3 of 12" in shown.stdout


def test_tune_reports_data_problems_in_one_line(shop_csv, tmp_path):
    import pandas as pd

    out = run("tune", str(shop_csv), "--target", "price")
    assert out.returncode == 1
    assert "--target 'price' is not a column" in out.stderr and "Traceback" not in out.stderr
    frame = pd.read_csv(shop_csv)
    frame.loc[3, "age"] = None
    frame.loc[5, "city"] = None
    holes = tmp_path / "holes.csv"
    frame.to_csv(holes, index=False)
    out = run("tune", str(holes), "--target", "bought", "--out", str(tmp_path / "o"))
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    assert "missing values in columns age, city" in out.stderr and "--impute" in out.stderr
    out = run("tune", str(holes), "--target", "bought", "--impute", "--n-iter", "4",
              "--strategy", "random", "--out", str(tmp_path / "o"))
    assert out.returncode == 0, out.stderr
    out = run("show", str(shop_csv))
    assert out.returncode == 1 and "not an sgdtune storage file" in out.stderr


def test_bench_refuses_too_few_rows():
    out = run("bench", "--n-samples", "10")
    assert out.returncode == 2 and "--n-samples must be at least 1000" in out.stderr


def test_bench_prints_its_tables_and_writes_plots_and_json(tmp_path):
    log = tmp_path / "bench.jsonl"
    out = run("bench", "--n-samples", "3000", "--repeats", "1", "--n-jobs", "1",
              "--plots", str(tmp_path / "plots"), "--json", str(log))
    assert out.returncode == 0, out.stderr
    from sgdtune import _core

    # the machine line names the processor and the kernels' instruction set
    machine = next(x for x in out.stdout.splitlines() if x.startswith("machine: "))
    assert f"sgdtune kernels: {_core.isa()}" in machine and "CPUs" in machine
    assert "limits: memory read" in out.stdout
    lines = out.stdout.splitlines()
    for task in ("batch_size=1, hinge + l2", "pure Python", "batch_size=64, log_loss",
                 "grid search, 24 configs"):
        line = next(x for x in lines if task in x)
        assert line.count("|") == 7 and line.split("|")[5].strip().endswith("x")
    kernel = next(x for x in lines if x.startswith("| 24-column block, batch_size=64, float32"))
    assert kernel.count("|") == 7 and "% of " in kernel
    records = [json.loads(x) for x in log.read_text().splitlines()]
    kinds = {r["kind"] for r in records}
    assert kinds == {"machine", "kernel", "comparison", "scaling"}
    machine = next(r for r in records if r["kind"] == "machine")
    assert machine["sgdtune_isa"] == _core.isa() and machine["cpu"]
    axes = {r["axis"].split(" ")[0] for r in records if r["kind"] == "scaling"}
    assert axes == {"rows", "trials", "threads"}
    assert all(r["flops_per_s"] > 0 and r["bound"] > 0 for r in records if r["kind"] == "kernel")
    for name in ("bench_rows", "bench_trials", "bench_threads", "bench_roofline"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 10_000
