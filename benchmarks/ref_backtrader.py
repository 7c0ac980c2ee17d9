"""backtrader configured to the book's semantics, for the benchmarks (needs the ``bench`` extra).

The set-up, so that backtrader takes the same trades as fbt's book mode:

- data: the CSV read with pandas (``pd.read_csv``, the C parser) into ``bt.feeds.PandasData``
  (Open, High, Low, Close, Volume; no open interest). The generated data has ``Adj Close == Close``,
  so backtrader's close is fbt's ``adj_close``;
- indicators: :class:`MeanOfAvailable`, a custom indicator that is ``numpy.mean`` of the last
  ``period`` closes, or of all the closes so far while fewer exist (the book's warm-up), so the
  strategy runs from the first bar and fills are compared over the whole run (backtrader's own
  ``SMA`` sums differently and has no value during the warm-up);
- strategy: its own OUT/IN latch, as the book's (it does not look at fills): short > long while
  OUT buys 100, short < long while IN closes the position, equal means change nothing;
- broker: cheat-on-close (``set_coc(True)``): a market order fills at the close of the bar that
  placed it; :class:`IBSeedCommission` (``max(1.30, 0.013 q)`` for q <= 500 else
  ``max(1.30, 0.008 q)``); ``set_checksubmit(False)`` (no cash check) and 100,000 cash;
- ``Cerebro(stdstats=False)``: no observers (the fastest set-up; results are the fills and
  ``broker.getvalue()``).

A cheat-on-close order is still executed when the broker next runs, i.e. on the following bar
(at the placing bar's close, stamped with its time), so an order placed on the very last bar is
never filled; the harness leaves last-bar fills out of the comparison and says so.

Run as a script (the "whole process" figure):

    python benchmarks/ref_backtrader.py FILE.csv [--short 5] [--long 20] [--json OUT.json]

It prints ``fills=N final_equity=X`` and, with ``--json``, writes the fills (bar, side, price) and
the in-process timings (``load_s``: read the CSV; ``run_s``: build cerebro and run it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd


class IBSeedCommission(bt.CommInfoBase):
    """The book's Interactive Brokers commission per fill, in currency, whatever the price."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED))

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        q = abs(size)
        if q <= 500:
            return max(1.30, 0.013 * q)
        return max(1.30, 0.008 * q)


class MeanOfAvailable(bt.Indicator):
    """``numpy.mean`` of the last ``period`` values, or of all so far while fewer exist (from bar 1)."""

    lines = ("mean",)
    params = (("period", 20),)

    def next(self) -> None:
        n = min(self.p.period, len(self.data))
        self.lines.mean[0] = float(np.mean(np.frombuffer(self.data.get(size=n), dtype=np.float64)))


class BookCrossover(bt.Strategy):
    """The book's crossover with its own OUT/IN state; records every completed order."""

    params = (("short", 5), ("long", 20), ("quantity", 100))

    def __init__(self) -> None:
        self.short_mean = MeanOfAvailable(self.data.close, period=self.p.short)
        self.long_mean = MeanOfAvailable(self.data.close, period=self.p.long)
        self.invested = False
        self.placed_at: dict[int, int] = {}
        self.fills: list[tuple[int, str, float, float]] = []

    def next(self) -> None:
        short, long = self.short_mean[0], self.long_mean[0]
        if not self.invested:
            if short > long:
                order = self.buy(size=self.p.quantity)
                self.invested = True
                self.placed_at[order.ref] = len(self) - 1
        elif short < long:
            order = self.close()
            self.invested = False
            if order is not None:
                self.placed_at[order.ref] = len(self) - 1

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            side = "BUY" if order.isbuy() else "SELL"
            self.fills.append((self.placed_at[order.ref], side, float(order.executed.price),
                               float(order.executed.comm)))


def read_frame(path: str) -> pd.DataFrame:
    """Read a Yahoo-style CSV into the DataFrame ``PandasData`` takes (DatetimeIndex, OHLCV)."""
    frame = pd.read_csv(path, parse_dates=["Date"], date_format="%Y-%m-%d %H:%M:%S", index_col="Date")
    return frame[["Open", "High", "Low", "Close", "Volume"]]


def run(frame: pd.DataFrame, short: int, long: int, capital: float = 100_000.0) -> dict[str, Any]:
    """Run the crossover on a loaded frame; return fills (bar, side, price, commission) and final equity."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1,
                                        openinterest=None))
    cerebro.addstrategy(BookCrossover, short=short, long=long)
    cerebro.broker.setcash(capital)
    cerebro.broker.set_coc(True)
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.addcommissioninfo(IBSeedCommission())
    (strategy,) = cerebro.run()
    return {"fills": strategy.fills, "final_equity": float(cerebro.broker.getvalue())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--short", type=int, default=5)
    ap.add_argument("--long", type=int, default=20)
    ap.add_argument("--capital", type=float, default=100_000.0)
    ap.add_argument("--json", help="write fills and in-process timings here")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    frame = read_frame(a.csv)
    t1 = time.perf_counter()
    out = run(frame, a.short, a.long, a.capital)
    t2 = time.perf_counter()
    print(f"fills={len(out['fills'])} final_equity={out['final_equity']!r}")
    if a.json:
        out.update(load_s=t1 - t0, run_s=t2 - t1, bars=len(frame), version=bt.__version__)
        with open(a.json, "w") as fh:
            json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
