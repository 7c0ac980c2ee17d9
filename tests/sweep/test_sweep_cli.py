"""``fbt sweep`` and ``fbt walk-forward`` on the command line."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import fbt
from fbt.cli.app import main
from fbt.io.progress import Progress
from fbt.research.sweep import CACHE_FILE, sweep_progress
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover
from tests.sweep import factories

DATA = ["--data", str(sample_dir()), "--symbols", "SYNA", "--end", "2011-06-30"]
SPEC = "fbt.sample.strategies:moving_average_crossover"
GRID = ["--grid", "short_window=5:15:5", "--grid", "long_window=20,40"]


def test_sweep_writes_sweep_csv_and_prints_the_best_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", SPEC, *DATA, *GRID, "--where", "short_window * 2 < long_window", "--out", str(tmp_path),
                 "--executor", "serial", "--top", "2"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar: standard error is not a terminal
    assert "over 4 of 6 parameter sets (short_window x long_window) on SYNA: 389 bars, 2010-01-04 .. 2011-06-30" in out
    assert "4 runs: 4 computed, 0 reused from the cache, 0 failed" in out
    assert "best 2 by sharpe_ratio (highest):" in out
    frame = pd.read_csv(tmp_path / "sweep.csv")
    data = fbt.load_dir(sample_dir(), ["SYNA"], end="2011-06-30")
    expected = fbt.run(moving_average_crossover(5, 20), data).statistics
    assert list(frame.columns) == ["short_window", "long_window", *expected, "error"]
    assert list(zip(frame["short_window"], frame["long_window"], strict=True)) == [(5, 20), (5, 40), (10, 40),
                                                                                   (15, 40)]
    assert frame.iloc[0]["final_equity"] == expected["final_equity"]
    best = frame.sort_values("sharpe_ratio", ascending=False).iloc[0]
    line = out.splitlines()[out.splitlines().index("best 2 by sharpe_ratio (highest):") + 2].split()
    assert [int(line[0]), int(line[1])] == [best["short_window"], best["long_window"]]
    # rerun: everything comes from the cache
    assert main(["sweep", SPEC, *DATA, *GRID, "--where", "short_window * 2 < long_window", "--out", str(tmp_path),
                 "--executor", "serial"]) == 0
    assert "4 runs: 0 computed, 4 reused from the cache" in capsys.readouterr().out


def test_report_draws_a_heatmap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install 'fbt[plot]')")
    assert main(["sweep", SPEC, *DATA, *GRID, "--out", str(tmp_path), "--workers", "2", "--report",
                 "--metric", "max_drawdown"]) == 0
    assert "best 5 by max_drawdown (lowest):" in capsys.readouterr().out
    assert (tmp_path / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failures_are_counted_and_the_sweep_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fragile = f"{factories.HERE / 'factories.py'}:fragile"
    assert main(["sweep", fragile, *DATA, "--grid", "short_window=5,13", "--grid", "long_window=20,40",
                 "--out", str(tmp_path), "--executor", "serial"]) == 0
    out = capsys.readouterr().out
    assert "4 runs: 4 computed, 0 reused from the cache, 2 failed" in out
    assert "first failure: ValueError: 13 is unlucky" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "shortwindow=5,10"], "unknown parameter 'shortwindow' for moving_average_crossover; "
                                         "it takes short_window, long_window"),
        ([*GRID, "--where", "short_window > long_window"], "filters out all 6 parameter sets"),
        ([], "--grid: expected at least one"),
        ([*GRID, "--executor", "dask://127.0.0.1:9", "--connect-timeout", "1"],
         "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 1 s"),
        ([*GRID, "--metric", "sharp"], "--metric: unknown statistic 'sharp'"),
        ([*GRID, "--report", "--axes", "a,b"], "--axes: expected two of short_window, long_window"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    if "dask://" in " ".join(args):
        pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    if "--report" in args:
        pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    assert main(["sweep", SPEC, *DATA, *args, "--out", str(tmp_path), "--executor", "serial"]
                if "--executor" not in args else ["sweep", SPEC, *DATA, *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fbt: error: ") and message in err and err.count("\n") == 1


def test_walk_forward_writes_its_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data", str(sample_dir()), "--symbols", "SYNA", "--end", "2013-06-30"]
    assert main(["walk-forward", SPEC, *data, *GRID, "--in-sample", "300", "--out-of-sample", "200",
                 "--out", str(tmp_path), "--executor", "serial"]) == 0
    out = capsys.readouterr().out
    assert "Walk-forward: 4 windows, best sharpe_ratio (highest) in sample" in out
    assert "sharpe_ratio mean in sample" in out and "Out of sample (stitched, 610 bars):" in out
    table = pd.read_csv(tmp_path / "walk_forward.csv")
    assert list(table["oos_start_bar"]) == [300, 500, 700, 900] and list(table["oos_stop_bar"]) == [500, 700, 900, 910]
    equity = pd.read_csv(tmp_path / "oos_equity.csv")
    assert len(equity) == 610 and equity["equity"].iloc[0] == 100_000


def test_progress_bar_shows_runs_rate_and_time_left() -> None:
    stream = io.StringIO()
    seconds = iter([0.0, 0.0, 2.0, 2.05, 5.0])
    bar = Progress("fbt sweep", stream=stream, unit="runs", left=True, clock=lambda: next(seconds))
    bar(2, 10)  # two runs reused from the cache: the rate counts only the runs computed here
    bar(6, 10)
    bar(7, 10)  # within a tenth of a second of the last line: not redrawn
    bar(10, 10)
    lines = stream.getvalue().split("\r\033[K")
    assert "6/10 runs  2.0 runs/s  2.0 s  0:02 left" in lines[2]
    assert not any("7/10" in line for line in lines)
    assert "10/10 runs" in lines[-1] and "left" not in lines[-1] and stream.getvalue().endswith("\n")
    assert sweep_progress(False, 10) is None and sweep_progress(True, 0) is None


def test_a_killed_sweep_resumes_and_computes_only_the_missing_rows(tmp_path: Path) -> None:
    slow = f"{factories.HERE / 'factories.py'}:slow"
    out, log = tmp_path / "out", tmp_path / "calls.txt"
    command = [sys.executable, "-m", "fbt.cli", "sweep", slow, *DATA, "--grid", "short_window=3,5,8,13",
               "--grid", "long_window=20,30,40,50", "--executor", "serial", "--out", str(out), "--quiet"]
    env = {**os.environ, "FBT_TEST_CALLS": str(log)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = out / CACHE_FILE
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not cache.exists() or len(cache.read_bytes().splitlines()) < 5):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len([line for line in cache.read_bytes().split(b"\n")[:-1]])  # whole lines only
    assert 5 <= kept < 16
    log.write_text("")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"16 runs: {16 - kept} computed, {kept} reused from the cache, 0 failed" in done.stdout
    assert len(log.read_text().splitlines()) == 16 - kept  # only the missing rows were computed
    clean = tmp_path / "clean"
    fbt.sweep(SPEC, {"short_window": [3, 5, 8, 13], "long_window": [20, 30, 40, 50]},
              fbt.load_dir(sample_dir(), ["SYNA"], end="2011-06-30"), executor="serial", out=clean)
    assert (out / "sweep.csv").read_bytes() == (clean / "sweep.csv").read_bytes()
