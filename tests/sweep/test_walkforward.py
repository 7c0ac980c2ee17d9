"""Walk-forward: windows never mix in-sample and out-of-sample bars; choices, statistics and stitching."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fbt
from fbt.research.sweep import slice_bars
from fbt.research.walkforward import windows
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

SPEC = "fbt.sample.strategies:moving_average_crossover"
GRID = {"short_window": [5, 10], "long_window": [30, 60, 90]}


@given(
    bars=st.integers(2, 3000),
    in_sample=st.integers(1, 1000),
    out_of_sample=st.integers(1, 1000),
    anchored=st.booleans(),
)
def test_out_of_sample_bars_never_overlap_in_sample_bars(bars: int, in_sample: int, out_of_sample: int,
                                                         anchored: bool) -> None:
    if in_sample >= bars:
        with pytest.raises(fbt.ConfigError, match="leave no out-of-sample bars"):
            windows(bars, in_sample=in_sample, out_of_sample=out_of_sample, anchored=anchored)
        return
    found = windows(bars, in_sample=in_sample, out_of_sample=out_of_sample, anchored=anchored)
    for w in found:
        (a, b), (c, d) = w.in_sample, w.out_of_sample
        assert 0 <= a < b == c < d <= bars  # in sample strictly before out of sample, no shared bar
        assert set(range(a, b)).isdisjoint(range(c, d))
        assert b - a == (b if anchored else in_sample)
        assert d - c <= out_of_sample
    # out-of-sample windows are consecutive, never overlap, and cover every bar after the first in-sample window
    assert [w.out_of_sample[0] for w in found[1:]] == [w.out_of_sample[1] for w in found[:-1]]
    assert found[0].out_of_sample[0] == in_sample and found[-1].out_of_sample[1] == bars
    assert [w.index for w in found] == list(range(len(found)))


@pytest.fixture(scope="module")
def data() -> fbt.BarData:
    return fbt.load_dir(sample_dir(), ["SYNA"]).head(900)


@pytest.fixture(scope="module")
def result(data: fbt.BarData) -> fbt.WalkForward:
    return fbt.walk_forward(SPEC, GRID, data, in_sample=300, out_of_sample=200, executor="serial")


def test_each_window_picks_the_in_sample_best_and_reports_both_sides(result: fbt.WalkForward,
                                                                     data: fbt.BarData) -> None:
    table = result.windows
    assert list(table["oos_start_bar"]) == [300, 500, 700] and list(table["oos_stop_bar"]) == [500, 700, 900]
    for row in table.to_dict("records"):
        in_sample = slice_bars(data, row["is_start_bar"], row["is_stop_bar"])
        scores = {(s, lw): fbt.run(moving_average_crossover(s, lw), in_sample).statistics["sharpe_ratio"]
                  for s in GRID["short_window"] for lw in GRID["long_window"]}
        best = max(scores, key=lambda k: -math.inf if scores[k] is None else scores[k])
        assert (row["short_window"], row["long_window"]) == best
        assert row["is_sharpe_ratio"] == scores[best]
        out = fbt.run(moving_average_crossover(*best), slice_bars(data, row["oos_start_bar"], row["oos_stop_bar"]))
        for key, value in out.statistics.items():
            assert row[f"oos_{key}"] == value or (value is None and math.isnan(row[f"oos_{key}"])), key
        assert row["error"] is None
    assert len(result.in_sample) == 3 * 6


def test_the_out_of_sample_curves_are_chained(result: fbt.WalkForward, data: fbt.BarData) -> None:
    eq = result.equity
    assert len(eq) == 600 and list(eq.index) == list(pd.DatetimeIndex(data.timestamps[300:900]))
    capital, start = 100_000.0, 100_000.0
    for row in result.windows.to_dict("records"):
        part = eq[eq["window"] == row["window"]]
        out = fbt.run(moving_average_crossover(row["short_window"], row["long_window"]),
                      slice_bars(data, row["oos_start_bar"], row["oos_stop_bar"]))
        np.testing.assert_allclose(part["equity"].to_numpy(), start * out.curve.total / capital, rtol=1e-12)
        assert part["equity"].iloc[0] == pytest.approx(start)  # starts where the last window ended
        start *= out.statistics["final_equity"] / capital
    assert result.statistics["final_equity"] == pytest.approx(start, rel=1e-12)
    assert result.statistics["total_return"] == pytest.approx(start / capital - 1, rel=1e-12)
    assert result.statistics["bars"] == 600 and result.statistics["windows"] == 3
    is_mean = result.windows["is_sharpe_ratio"].mean()
    assert result.statistics["in_sample_metric_mean"] == pytest.approx(is_mean)


def test_processes_give_the_same_walk_forward(result: fbt.WalkForward, data: fbt.BarData, tmp_path: Path) -> None:
    other = fbt.walk_forward(SPEC, GRID, data, in_sample=300, out_of_sample=200, workers=2, chunk_size=4,
                             out=tmp_path)
    pd.testing.assert_frame_equal(other.windows, result.windows)
    pd.testing.assert_frame_equal(other.equity, result.equity)
    assert other.statistics == result.statistics
    assert len((tmp_path / "sweep.jsonl").read_text().splitlines()) == 18  # in-sample runs cached
    again = fbt.walk_forward(SPEC, GRID, data, in_sample=300, out_of_sample=200, executor="serial", out=tmp_path)
    pd.testing.assert_frame_equal(again.windows, result.windows)


def test_written_files(result: fbt.WalkForward, tmp_path: Path) -> None:
    result.write(tmp_path)
    table = pd.read_csv(tmp_path / "walk_forward.csv")
    assert list(table["oos_start"]) == [str(t.date()) for t in result.windows["oos_start"]]
    assert {"short_window", "long_window", "is_sharpe_ratio", "oos_sharpe_ratio", "error"} <= set(table.columns)
    equity = pd.read_csv(tmp_path / "oos_equity.csv")
    assert list(equity.columns) == ["timestamp", "window", "equity", "returns", "equity_curve", "drawdown"]
    assert len(equity) == 600 and equity["timestamp"].iloc[0] == str(result.equity.index[0].date())
    assert (tmp_path / "in_sample.csv").exists() and (tmp_path / "walk_forward.json").exists()


def test_drawdown_is_minimised_and_bad_metrics_are_named(data: fbt.BarData) -> None:
    wf = fbt.walk_forward(SPEC, GRID, data, in_sample=300, out_of_sample=300, metric="max_drawdown",
                          executor="serial")
    assert wf.minimize
    first = wf.in_sample[wf.in_sample["window"] == 0]
    assert wf.windows["is_max_drawdown"].iloc[0] == first["max_drawdown"].min()
    with pytest.raises(fbt.ConfigError, match="metric: unknown statistic 'sharpe'; the statistics are total_return"):
        fbt.walk_forward(SPEC, GRID, data, in_sample=300, out_of_sample=300, metric="sharpe", executor="serial")
    with pytest.raises(fbt.ConfigError, match="in_sample: 900 bars leave no out-of-sample bars in 900"):
        fbt.walk_forward(SPEC, GRID, data, in_sample=900, out_of_sample=10, executor="serial")
    with pytest.raises(fbt.ConfigError, match="out_of_sample: expected a whole number of bars >= 1, got 0"):
        fbt.walk_forward(SPEC, GRID, data, in_sample=100, out_of_sample=0, executor="serial")


def test_slice_bars() -> None:
    a = pd.DataFrame({"Close": [1.0, 2.0, 3.0, 4.0]}, index=pd.to_datetime(["2024-01-01", "2024-01-02",
                                                                           "2024-01-03", "2024-01-04"]))
    b = pd.DataFrame({"Close": [30.0, 40.0]}, index=pd.to_datetime(["2024-01-03", "2024-01-04"]))
    data = fbt.load({"A": a, "B": b})
    assert slice_bars(data, 0, 4) is data
    head = slice_bars(data, 0, 2)
    assert head.first == data.head(2).first and np.array_equal(head.values, data.head(2).values, equal_nan=True)
    tail = slice_bars(data, 1, 4)
    assert tail.timestamps.tolist() == data.timestamps[1:].tolist() and tail.time_format == "date"
    assert tail.first == (0, 1)
    assert tail.column("A", "close").tolist() == [2.0, 3.0, 4.0]
    assert not tail.values.flags.writeable and not tail.timestamps.flags.writeable
    assert len(slice_bars(data, 3, 3)) == 0
