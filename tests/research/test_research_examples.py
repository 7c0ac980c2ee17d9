"""The example strategies, end to end: on generated data always, on ../shared/data when it is there,
and the README's command-line workflow (ingest into SQLite, run each example against it, report)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import fbt
from fbt.audit.lookahead import check_lookahead
from fbt.cli.app import main
from fbt.models.sizing import TargetWeight
from fbt.sample.data import sample_dir

MINUTE = 60 * 10**9


def minute_stamps(n: int, start: str = "2024-01-02T14:30") -> np.ndarray:
    """``n`` one-minute bars, 390 a day (09:30-16:00 New York in UTC), weekdays only."""
    day0 = np.datetime64(start, "ns").astype(np.int64)
    days = np.busday_offset(np.datetime64(start[:10]), np.arange(n // 390 + 1), roll="forward")
    offsets = (days.astype("datetime64[ns]").astype(np.int64) - np.datetime64(start[:10], "ns").astype(np.int64))
    stamps = (day0 + offsets[:, None] + np.arange(390, dtype=np.int64)[None, :] * MINUTE).ravel()
    return stamps[:n]


def ar_prices(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    noise = rng.normal(0.0, 0.01, n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + noise[t]
    return 100.0 * np.exp(np.cumsum(r))


def daily(prices: dict[str, np.ndarray]) -> fbt.BarData:
    n = len(next(iter(prices.values())))
    days = np.busday_offset(np.datetime64("2015-01-02"), np.arange(n), roll="forward").astype("datetime64[ns]")
    return fbt.BarData.from_columns(symbols=tuple(prices), timestamps=days.astype(np.int64),
                                    columns={"close": np.vstack(list(prices.values()))}, time_format="date")


# --- forecasting --------------------------------------------------------------------------------


def test_ar_forecast_is_fitted_strictly_before_the_traded_bar(example: Callable[[str], ModuleType]) -> None:
    ar = example("forecast_ar")
    prices = ar_prices(400, 0.4, seed=1)
    lags, window = 3, 60
    forecasts = ar.ar_forecasts(prices, lags=lags, window=window)
    r = np.diff(np.log(prices), prepend=np.nan)
    for i in (lags + window, 150, 399):  # the first forecast, one inside, the last
        targets = np.arange(i - window + 1, i + 1)  # samples whose target return ends at or before bar i
        x = np.column_stack([np.ones(window)] + [r[targets - j] for j in range(1, lags + 1)])
        beta = np.linalg.lstsq(x, r[targets], rcond=None)[0]
        expected = beta[0] + sum(beta[j] * r[i + 1 - j] for j in range(1, lags + 1))
        assert forecasts[i] == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert np.isnan(forecasts[: lags + window]).all()
    # the future cannot move a forecast: change every price after bar 200, and nothing up to it changes
    changed = prices.copy()
    changed[201:] *= 1.5
    again = ar.ar_forecasts(changed, lags=lags, window=window)
    assert np.array_equal(again[:201], forecasts[:201], equal_nan=True)


def test_ar_strategy_trades_and_passes_the_lookahead_check(example: Callable[[str], ModuleType]) -> None:
    ar = example("forecast_ar")
    data = daily({"AR": ar_prices(500, 0.4, seed=2), "RW": ar_prices(500, 0.0, seed=3)})
    strategy = ar.forecast_ar(lags=2, window=120)
    result = fbt.run(strategy, data)
    assert result.statistics["fills"] > 20 and result.statistics["trades"] > 10
    # on returns that really are AR(1) with phi 0.4, trading the forecast makes money
    trades = result.trades
    assert trades[trades["symbol"] == "AR"]["net_pnl"].sum() > 1000
    assert check_lookahead(strategy, data, max_prefixes=40).passed
    shorting = fbt.run(ar.forecast_ar(lags=2, window=120, allow_short=True), data)
    assert (shorting.trades["direction"] == "SHORT").any()
    with pytest.raises(ValueError, match="window"):
        ar.forecast_ar(lags=5, window=6)


# --- mean reversion -----------------------------------------------------------------------------


def pair_data(n: int = 1600, seed: int = 5) -> fbt.BarData:
    rng = np.random.default_rng(seed)
    x = 50.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    spread = np.zeros(n)
    for t in range(1, n):
        spread[t] = 0.9 * spread[t - 1] + rng.normal(0.0, 0.08)
    y = 1.5 * x + 10.0 + spread
    ts = minute_stamps(n)
    return fbt.BarData.from_columns(symbols=("YY", "XX"), timestamps=ts, columns={"close": np.vstack([y, x])})


def test_pairs_trade_both_legs_together(example: Callable[[str], ModuleType]) -> None:
    pairs = example("pairs_zscore")
    data = pair_data()
    strategy = pairs.pairs_zscore("YY", "XX", window=60, entry=2.0, exit=0.5)
    result = fbt.run(strategy, data, periods="auto")
    s = result.statistics
    assert s["frequency"] == "1-minute" and s["periods"] == 98_280.0
    assert s["fills"] >= 20 and s["fills"] % 2 == 0
    fills = result.fills
    for _, bar in fills.groupby("timestamp"):  # each bar trades both legs, in opposite directions
        assert sorted(bar["symbol"]) == ["XX", "YY"]
        assert set(bar["direction"]) == {"BUY", "SELL"}
    held = result.equity[["YY_position", "XX_position"]].to_numpy()
    assert (held[:, 0] == -held[:, 1]).all()  # always long one leg and short the other, 100 units each
    assert set(np.abs(held).ravel().tolist()) <= {0.0, 100.0}
    assert s["win_rate"] > 0.5  # a mean-reverting spread, traded on its z-score
    assert check_lookahead(strategy, data, max_prefixes=40).passed


def test_pairs_only_act_where_both_bars_are_real(example: Callable[[str], ModuleType]) -> None:
    pairs = example("pairs_zscore")
    full = pair_data(800, seed=8)
    keep = np.ones(800, dtype=bool)
    keep[300:500] = False  # XX has a hole: forward filled there
    xx = fbt.load({
        "YY": _frame(full.timestamps, full.column("YY", "close")),
        "XX": _frame(full.timestamps[keep], full.column("XX", "close")[keep]),
    })
    result = fbt.run(pairs.pairs_zscore("YY", "XX", window=40), xx)
    stamps = result.fills["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    bars = np.searchsorted(xx.timestamps, stamps)
    assert not ((bars >= 300) & (bars < 500)).any()


def _frame(ts: np.ndarray, close: np.ndarray) -> Any:
    import pandas as pd

    return pd.DataFrame({"Close": close}, index=pd.DatetimeIndex(ts.astype("datetime64[ns]"), name="Datetime"))


# --- multi-asset --------------------------------------------------------------------------------


def test_rebalance_keeps_the_target_weights(example: Callable[[str], ModuleType]) -> None:
    rebalance = example("rebalance")
    data = fbt.load_dir(sample_dir())
    strategy = rebalance.rebalance(every=21, weights="SYNA:0.5,SYNB:0.3,SYNC:0.2")
    result = fbt.run(strategy, data, sizing=TargetWeight())
    equity = result.equity
    prices = np.vstack([data.column(s, "adj_close") for s in data.symbols])
    for i in (0, 21, 42, 2499):  # rebalance bars; the next row holds the positions after its fills
        held = equity[[f"{s}_position" for s in data.symbols]].iloc[i + 1].to_numpy()
        value = held * prices[:, i]
        weights = value / equity["total"].iloc[i]
        assert weights == pytest.approx([0.5, 0.3, 0.2], abs=2e-3)
    assert result.statistics["exposure"] == (len(data) - 1) / len(data)  # from the first bar's fills on
    assert check_lookahead(strategy, data, max_prefixes=20).passed
    rotation = fbt.run(rebalance.rebalance(every=21, top=1, lookback=63), data, sizing=TargetWeight())
    held = rotation.equity[[f"{s}_position" for s in data.symbols]].to_numpy()
    assert ((held != 0).sum(axis=1) <= 2).all()  # one symbol at a time (two only on a switching bar's row)
    assert rotation.statistics["trades"] > 0
    with pytest.raises(fbt.StrategyError, match="summing to at most 1"):
        fbt.run(rebalance.rebalance(weights="SYNA:0.8,SYNB:0.8"), data, sizing=TargetWeight())


# --- on real data -------------------------------------------------------------------------------


def test_examples_on_real_data(example: Callable[[str], ModuleType], shared_data: Path) -> None:
    bt, minute = shared_data / "backtrader", shared_data / "watstreet_1min"
    orcl = fbt.load({"ORCL": bt / "orcl-1995-2014.txt"})
    ar = fbt.run(example("forecast_ar").forecast_ar(lags=5, window=500), orcl)
    assert ar.statistics["trades"] > 100
    three = fbt.load({"ORCL": bt / "orcl-1995-2014.txt", "NVDA": bt / "nvda-1999-2014.txt",
                      "YHOO": bt / "yhoo-1996-2014.txt"}, start="1999-01-22")
    rebalanced = fbt.run(example("rebalance").rebalance(every=21), three, sizing=TargetWeight())
    assert rebalanced.statistics["fills"] > 100 and rebalanced.statistics["exposure"] == (len(three) - 1) / len(three)
    pair = fbt.load({"FXY": minute / "FXY_1min_2023-07-10_to_2025-07-08.csv",
                     "INDA": minute / "INDA_1min_2023-07-10_to_2025-07-07.csv"})
    paired = fbt.run(example("pairs_zscore").pairs_zscore("FXY", "INDA", window=390), pair, periods="auto")
    assert paired.statistics["frequency"] == "1-minute" and paired.statistics["trades"] > 50
    held = paired.equity[["FXY_position", "INDA_position"]].to_numpy()
    assert (held[:, 0] == -held[:, 1]).all()


# --- the README's workflow ----------------------------------------------------------------------


def test_readme_workflow_ingest_run_each_example_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("matplotlib")
    url = f"sqlite:///{tmp_path / 'master.db'}"
    assert main(["ingest", str(sample_dir()), "--into", url]) == 0
    assert "Ingested 3 symbols, 7,560 bars into" in capsys.readouterr().out
    runs = {
        "crossover": ["examples/moving_average_crossover.py:moving_average_crossover"],
        "forecast": ["examples/forecast_ar.py:forecast_ar", "--symbols", "SYNA", "--param", "window=250"],
        "pairs": ["examples/pairs_zscore.py:pairs_zscore", "--symbols", "SYNA,SYNB", "--param", "first=SYNA",
                  "--param", "second=SYNB", "--param", "window=60", "--periods", "auto"],
        "rebalance": ["examples/rebalance.py:rebalance", "--sizing", "target-weight", "--param", "every=21",
                      "--start", "2012-01-01", "--end", "2016-12-31"],
    }
    for name, args in runs.items():
        out = tmp_path / name
        assert main(["run", *args[:1], "--data", url, *args[1:], "--out", str(out), "--report"]) == 0, name
        printed = capsys.readouterr().out
        assert "Total Return" in printed and "CAGR" in printed and "report.html" in printed
        assert (out / "report.html").is_file() and (out / "equity.png").is_file()
    # the same run from the CSV files writes the same statistics
    assert main(["run", runs["crossover"][0], "--data", str(sample_dir()), "--out", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "stats.json").read_text() == (tmp_path / "crossover" / "stats.json").read_text()
    assert (tmp_path / "csv" / "equity.csv").read_bytes() == (tmp_path / "crossover" / "equity.csv").read_bytes()
    capsys.readouterr()
    assert main(["run", runs["crossover"][0], "--data", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    assert "expected an SQLite database file, got no such file" in capsys.readouterr().err
    assert main(["run", runs["crossover"][0], "--data", url, "--start", "2030-01-01", "--out",
                 str(tmp_path / "x")]) == 2
    assert "got none (the data runs 2010-01-04 .. 2019-08-30)" in capsys.readouterr().err
    assert main(["ingest", str(sample_dir()), "--into", url]) == 2
    assert "use --replace" in capsys.readouterr().err
    assert main(["ingest", f"ONE={sample_dir() / 'SYNA.csv'}", "--into", url, "--replace", "--quiet"]) == 0
    assert "Ingested 1 symbol, 2,520 bars" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["forecast_ar", "pairs_zscore", "rebalance"])
def test_the_examples_doctests(name: str, example: Callable[[str], ModuleType]) -> None:
    import doctest

    module = example(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
