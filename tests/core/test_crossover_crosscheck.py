"""The crossover example against an independent numpy implementation of the book's rules, on
synthetic data and on the real cases of ../shared/REFERENCE.md.

The oracle below shares no code with fbt: it computes each SMA with ``numpy.mean`` over the window
(the mean of the bars available while fewer exist), runs the OUT/LONG state machine per symbol
with array operations, and books the fills (100 shares at the bar's adj_close, the IB seed
commission) into cash and positions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.market import FIELDS, BarData, align
from fbt.core.strategy import Strategy

CAPITAL = 100_000.0
QUANTITY = 100.0
ADJ = FIELDS.index("adj_close")
DAY = 86_400 * 10**9

Fill = tuple[int, str, str, float, float, float]  # timestamp ns, symbol, side, quantity, price, commission


# --- the independent oracle ---------------------------------------------------------------------


def commission(quantity: float) -> float:
    """IB seed schedule: 0.013 per share up to 500 shares, 0.008 above, at least 1.30."""
    return max(1.30, (0.013 if quantity <= 500 else 0.008) * quantity)


def sma(prices: np.ndarray, window: int) -> np.ndarray:
    """numpy.mean over the last ``window`` bars (fewer while fewer exist); NaN before the first bar."""
    out = np.full(prices.shape, np.nan)
    started = np.flatnonzero(~np.isnan(prices))
    if started.size == 0:
        return out
    first = int(started[0])
    for i in range(first, prices.shape[0]):
        out[i] = np.mean(prices[max(first, i - window + 1) : i + 1])
    return out


def invested(short: np.ndarray, long: np.ndarray) -> np.ndarray:
    """The OUT/LONG state after each bar: the last strict comparison decides; ties change nothing."""
    with np.errstate(invalid="ignore"):
        vote = np.where(short > long, 1, np.where(short < long, -1, 0))
    bars = np.arange(vote.shape[0])
    last = np.maximum.accumulate(np.where(vote != 0, bars, -1))
    return (last >= 0) & (vote[np.maximum(last, 0)] == 1)


def oracle(data: BarData, short_window: int, long_window: int) -> tuple[list[Fill], float]:
    """Every fill in the order the book engine makes them, and the final equity."""
    adj = data.values[ADJ]
    n, n_sym = adj.shape[1], adj.shape[0]
    events = []  # (bar, symbol index, +1 buy / -1 sell)
    for s in range(n_sym):
        state = invested(sma(adj[s], short_window), sma(adj[s], long_window))
        before = np.concatenate(([False], state[:-1]))
        events += [(int(b), s, 1) for b in np.flatnonzero(state & ~before)]
        events += [(int(b), s, -1) for b in np.flatnonzero(~state & before)]
    events.sort()  # bar by bar, symbols in data order
    cash, position = CAPITAL, np.zeros(n_sym)
    fills: list[Fill] = []
    for bar, s, sign in events:
        price = float(adj[s, bar])
        fee = commission(QUANTITY)
        cash -= sign * price * QUANTITY + fee
        position[s] += sign * QUANTITY
        fills.append((int(data.timestamps[bar]), data.symbols[s], "BUY" if sign > 0 else "SELL", QUANTITY, price, fee))
    final = cash + float(np.sum(np.where(position == 0, 0.0, position * adj[:, n - 1]))) if n else cash
    return fills, final


def fbt_fills(result: fbt.Result) -> list[Fill]:
    f = result.fills
    stamps = f["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64).tolist()
    return list(zip(stamps, f["symbol"].tolist(), f["direction"].tolist(), f["quantity"].tolist(),
                    f["price"].tolist(), f["commission"].tolist(), strict=True))


def crosscheck(crossover: Callable[..., Strategy[Any]], data: BarData, short: int, long: int) -> fbt.Result:
    result = fbt.run(crossover(short, long), data, capital=CAPITAL)
    fills, final = oracle(data, short, long)
    assert fbt_fills(result) == fills
    assert abs(result.statistics["final_equity"] - final) <= 1e-6
    return result


# --- synthetic data -----------------------------------------------------------------------------


def random_walk(seed: int, n: int, n_sym: int) -> BarData:
    """Random walks in cents with flat stretches; later symbols start late and skip some bars."""
    rng = np.random.default_rng(seed)
    per = {}
    for s in range(n_sym):
        begin = 0 if s == 0 else int(rng.integers(0, n // 2))
        rows = np.arange(begin, n)
        if s:
            rows = rows[(rng.random(rows.size) < 0.85) | (rows == begin)]
        moves = rng.normal(0.0, 0.015, rows.size)
        moves[rng.random(rows.size) < 0.3] = 0.0  # flat bars: the SMAs tie and rounding decides
        close = np.round(25.0 * (s + 1) * np.exp(np.cumsum(moves)), 2)
        adj = close if s % 2 == 0 else np.round(close * 0.93, 6)
        per[f"S{s}"] = (rows.astype(np.int64) * DAY, {"close": close, "adj_close": adj})
    return align(per, time_format="date")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("short", "long"), [(2, 5), (5, 20), (10, 40)])
def test_synthetic_random_walks(crossover: Callable[..., Strategy[Any]], seed: int, short: int, long: int) -> None:
    data = random_walk(seed, 600, 1 + seed % 3)
    result = crosscheck(crossover, data, short, long)
    assert len(result.fills) > 0


def test_flat_prices(crossover: Callable[..., Strategy[Any]]) -> None:
    def flat(price: float) -> BarData:
        return BarData.from_columns(symbols=("A",), timestamps=np.arange(50, dtype=np.int64) * DAY,
                                    columns={"close": np.full((1, 50), price)})

    # 12.5 is exact in binary: every mean equals it, the SMAs tie, nothing trades
    assert len(crosscheck(crossover, flat(12.5), 3, 7).fills) == 0
    # 0.1 is not: numpy.mean of three and of seven copies differ in the last bit, and that decides
    crosscheck(crossover, flat(0.1), 3, 7)


@settings(max_examples=40)
@given(
    closes=st.lists(st.integers(95, 105).map(lambda c: c / 10), min_size=1, max_size=80),
    windows=st.tuples(st.integers(1, 6), st.integers(1, 15)),
)
def test_random_small_series(crossover: Callable[..., Strategy[Any]], closes: list[float],
                             windows: tuple[int, int]) -> None:
    data = BarData.from_columns(symbols=("X",), timestamps=np.arange(len(closes), dtype=np.int64) * DAY,
                                columns={"close": np.array([closes])})
    crosscheck(crossover, data, *windows)


# --- the real cases of REFERENCE.md -------------------------------------------------------------


def load_csv(path: Path, first: str | None = None, last: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    df = pd.read_csv(path)
    time_column = "Date" if "Date" in df.columns else "timestamp"
    if first is not None and last is not None:
        df = df[(df[time_column] >= first) & (df[time_column] <= last)]
    stamps = pd.to_datetime(df[time_column]).to_numpy().astype("datetime64[ns]").astype(np.int64)
    close = df["Close" if "Close" in df.columns else "close"].to_numpy(dtype=np.float64)
    adj = df["Adj Close"].to_numpy(dtype=np.float64) if "Adj Close" in df.columns else close
    return stamps, {"close": close, "adj_close": adj}


ORCL = "backtrader/orcl-1995-2014.txt"
YHOO = "backtrader/yhoo-1996-2014.txt"
NVDA = "backtrader/nvda-1999-2014.txt"
FXY = "watstreet_1min/FXY_1min_2023-07-10_to_2025-07-08.csv"

REAL_CASES = [
    pytest.param({"ORCL": ORCL}, 100, 400, 13, 103_107.4395, False, id="ORCL-100-400"),
    pytest.param({"ORCL": ORCL}, 5, 20, 329, 98_985.2897, False, id="ORCL-5-20"),
    pytest.param({"YHOO": YHOO}, 100, 400, 13, 107_450.2870, False, id="YHOO-100-400"),
    pytest.param({"ORCL": ORCL, "YHOO": YHOO, "NVDA": NVDA}, 5, 20, 795, 97_429.1814, True, id="3stocks-5-20"),
    pytest.param({"FXY": FXY}, 5, 20, 5_035, 91_020.0504, False, id="FXY-1min-5-20"),
]


def load_case(shared_data: Path, files: dict[str, str], cut: bool) -> BarData:
    window = ("1999-01-22", "2014-12-31") if cut else (None, None)
    return align({symbol: load_csv(shared_data / name, *window) for symbol, name in files.items()})


@pytest.mark.parametrize(("files", "short", "long", "n_fills", "final_equity", "cut"), REAL_CASES)
def test_reference_cases(crossover: Callable[..., Strategy[Any]], shared_data: Path, files: dict[str, str],
                         short: int, long: int, n_fills: int, final_equity: float, cut: bool) -> None:
    data = load_case(shared_data, files, cut)
    result = crosscheck(crossover, data, short, long)
    assert len(result.fills) == n_fills
    assert result.statistics["fills"] == n_fills
    assert round(result.statistics["final_equity"], 4) == final_equity


ORCL_FILLS = """\
1995-05-25 ORCL BUY  100  2.437862 1.30
1998-02-05 ORCL SELL 100  3.539430 1.30
1998-12-31 ORCL BUY  100  6.393211 1.30
2001-03-02 ORCL SELL 100 15.010143 1.30
2003-05-15 ORCL BUY  100 11.483317 1.30
2004-06-22 ORCL SELL 100  9.891130 1.30
2005-01-07 ORCL BUY  100 11.856905 1.30
2006-02-13 ORCL SELL 100 11.109732 1.30
2006-04-18 ORCL BUY  100 12.452865 1.30
2008-10-31 ORCL SELL 100 16.268776 1.30
2009-07-30 ORCL BUY  100 19.792793 1.30
2012-02-17 ORCL SELL 100 26.250158 1.30
2012-10-15 ORCL BUY  100 28.712156 1.30
"""


def test_orcl_100_400_fills_and_book_statistics(crossover: Callable[..., Strategy[Any]], shared_data: Path) -> None:
    data = load_case(shared_data, {"ORCL": ORCL}, cut=False)
    result = fbt.run(crossover(100, 400), data)
    f = result.fills
    got = [
        [str(pd.Timestamp(t).date()), s, d, f"{q:.0f}", f"{p:.6f}", f"{c:.2f}"]
        for t, s, d, q, p, c in zip(f["timestamp"], f["symbol"], f["direction"], f["quantity"], f["price"],
                                    f["commission"], strict=True)
    ]
    assert got == [line.split() for line in ORCL_FILLS.splitlines()]
    stats = result.statistics
    # as the book prints them
    assert f"{stats['total_return'] * 100:.2f}" == "3.11"
    assert f"{stats['sharpe_ratio']:.2f}" == "0.22"
    assert f"{stats['max_drawdown'] * 100:.2f}" == "2.94"
    assert stats["drawdown_duration"] == 3604
    assert f"{stats['final_equity']:.4f}" == "103107.4395"
