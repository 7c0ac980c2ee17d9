"""A vectorised numpy reference of the book's moving-average crossover (one symbol), for the benchmarks.

The same rules as fbt's book mode, written without fbt:

- simple moving averages of the close over ``short`` and ``long`` bars, each one ``numpy.mean``
  over the window in bar order (``sliding_window_view(...).mean(axis=1)``, checked bit for bit
  against per-window ``np.mean`` by :func:`check_sma_exact`); while fewer bars exist, the mean of
  the bars available;
- a latch that starts OUT: short > long while OUT buys, short < long while IN sells; equal means
  change nothing (vectorised: the state at a bar is set by the last bar where the means differed
  in the right direction);
- every order is 100 units filled at the same bar's close; commission ``max(1.30, 0.013 q)`` for
  ``q <= 500`` else ``max(1.30, 0.008 q)``; no cash check;
- final equity = cash after every fill (summed in fill order, as a portfolio would) plus the
  position at the last close.

Run as a script it is the "whole process" figure of the numpy reference:

    python benchmarks/ref_numpy.py FILE.csv [--short 5] [--long 20] [--capital 100000]

reads the CSV with pandas (``Date`` and ``Adj Close`` columns, Yahoo style) and prints
``fills=N final_equity=X``.
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

QUANTITY = 100.0


class Fills(NamedTuple):
    """Fills of one run: bar index, side (+1 buy, -1 sell), price, commission; and the final equity."""

    bar: np.ndarray
    side: np.ndarray
    price: np.ndarray
    commission: np.ndarray
    final_equity: float


def sma(close: np.ndarray, window: int) -> np.ndarray:
    """``numpy.mean`` of the last ``window`` closes at every bar; of the available ones while fewer exist."""
    n = close.shape[0]
    out = np.empty(n)
    for i in range(min(window - 1, n)):
        out[i] = np.mean(close[: i + 1])
    if n >= window:
        out[window - 1 :] = sliding_window_view(close, window).mean(axis=1)
    return out


def check_sma_exact(close: np.ndarray, window: int, samples: int = 2_000, seed: int = 1) -> bool:
    """True if :func:`sma` equals ``np.mean`` of each window bit for bit at ``samples`` random bars."""
    means = sma(close, window)
    rng = np.random.default_rng(seed)
    for i in rng.integers(0, close.shape[0], samples).tolist():
        if means[i] != np.mean(close[max(0, i + 1 - window) : i + 1]):
            return False
    return True


def commission(quantity: float) -> float:
    """The book's Interactive Brokers commission for one fill."""
    if quantity <= 500:
        return max(1.30, 0.013 * quantity)
    return max(1.30, 0.008 * quantity)


def crossover(close: np.ndarray, short: int, long: int, capital: float = 100_000.0) -> Fills:
    """Run the crossover on one symbol's closes; return its fills and final equity."""
    close = np.ascontiguousarray(close, dtype=np.float64)
    s, lg = sma(close, short), sma(close, long)
    # +1 where a LONG would be taken from OUT, -1 where an EXIT would be taken from IN, 0 neither
    code = (s > lg).astype(np.int8) - (s < lg).astype(np.int8)
    n = close.shape[0]
    last = np.where(code != 0, np.arange(n), -1)
    np.maximum.accumulate(last, out=last)
    invested = np.zeros(n, dtype=bool)
    seen = last >= 0
    invested[seen] = code[last[seen]] == 1
    change = np.flatnonzero(np.diff(invested.astype(np.int8), prepend=np.int8(0)))
    side = np.where(invested[change], 1.0, -1.0)
    price = close[change]
    fee = np.full(change.shape[0], commission(QUANTITY))
    # cash after each fill, in fill order: cash - (sign * price * q + commission)
    deltas = np.concatenate(([capital], -((side * price) * QUANTITY + fee)))
    cash = float(np.cumsum(deltas)[-1])
    position = QUANTITY if invested[-1] else 0.0
    final = cash + (position * float(close[-1]) if position else 0.0)
    return Fills(bar=change, side=side, price=price, commission=fee, final_equity=final)


def read_close(path: str) -> np.ndarray:
    """Read a Yahoo-style CSV with pandas; return its ``Adj Close`` column as float64."""
    import pandas as pd

    frame = pd.read_csv(path, usecols=["Date", "Adj Close"], parse_dates=["Date"], date_format="%Y-%m-%d %H:%M:%S")
    return frame["Adj Close"].to_numpy(dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--short", type=int, default=5)
    ap.add_argument("--long", type=int, default=20)
    ap.add_argument("--capital", type=float, default=100_000.0)
    a = ap.parse_args(argv)
    fills = crossover(read_close(a.csv), a.short, a.long, a.capital)
    print(f"fills={fills.bar.shape[0]} final_equity={fills.final_equity!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
