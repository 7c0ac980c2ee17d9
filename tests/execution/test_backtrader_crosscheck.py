"""``next-open`` against an independent engine: backtrader (a test/bench extra), on real data.

The crossover's signals come from fbt's own strategy (the signal rules are checked against an
oracle in tests/core); backtrader replays them bar by bar with its own broker: market orders filled
at the next bar's open, 100 shares, the book's IB commission, the Yahoo feed adjusting open, high,
low and close by ``adj_close / close`` (``round=False``). Every fill (date, side, size, price,
commission) and the final value must agree. A second case adds 5 bp of slippage on both sides.
Skipped when backtrader is not installed (``pip install -e '.[test]'`` installs it).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import fbt
from fbt.core.events import FillEvent, SignalEvent
from fbt.sample.strategies import moving_average_crossover
from tests.execution.support import events_of

with warnings.catch_warnings():  # an old package: its import may warn on newer Pythons
    warnings.simplefilter("ignore")
    bt = pytest.importorskip("backtrader")

ORCL = "backtrader/orcl-1995-2014.txt"


class SeedCommission(bt.CommInfoBase):  # type: ignore[misc,name-defined]
    """The book's IB schedule: max(1.30, 0.013 q) up to 500 shares, else max(1.30, 0.008 q)."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED))

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        q = abs(size)
        return max(1.30, (0.013 if q <= 500 else 0.008) * q)


class Replay(bt.Strategy):  # type: ignore[misc,name-defined]
    """Send fbt's signals as market orders: LONG buys 100, EXIT closes."""

    params = (("signals", None),)

    def __init__(self) -> None:
        self.executed: list[tuple[str, str, float, float, float]] = []

    def next(self) -> None:
        kind = self.p.signals.get(len(self) - 1)
        if kind == "LONG" and not self.position:
            self.buy(size=100)
        elif kind == "EXIT" and self.position:
            self.close()

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            side = "BUY" if order.isbuy() else "SELL"
            self.executed.append((self.data.datetime.date(0).isoformat(), side, abs(order.executed.size),
                                  order.executed.price, order.executed.comm))


def backtrader_run(path: Path, signals: dict[int, str], slippage: float) -> tuple[list[Any], float]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(path), adjclose=True, round=False))
    cerebro.addstrategy(Replay, signals=signals)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.addcommissioninfo(SeedCommission())
    if slippage:
        cerebro.broker.set_slippage_perc(slippage, slip_open=True, slip_limit=True, slip_match=True, slip_out=True)
    (strategy,) = cerebro.run()
    return strategy.executed, cerebro.broker.getvalue()


@pytest.mark.parametrize(("short", "long"), [(100, 400), (5, 20)])
@pytest.mark.parametrize("bps", [0.0, 5.0])
def test_next_open_fills_equal_backtraders(shared_data: Path, short: int, long: int, bps: float) -> None:
    path = shared_data / ORCL
    data = fbt.load({"ORCL": path})
    result = fbt.run(moving_average_crossover(short, long), data, execution="next-open",
                     slippage=fbt.FixedBps(bps=bps) if bps else None)
    signals = {bar: e.signal_type.value for bar, e in events_of(result.run, SignalEvent)}
    theirs, final_value = backtrader_run(path, signals, bps * 1e-4)
    days = data.timestamps.astype("datetime64[ns]").astype("datetime64[D]")
    ours = [(str(days[bar]), f.direction.value, f.quantity, f.price, f.commission)
            for bar, f in events_of(result.run, FillEvent)]
    assert len(ours) == len(theirs) > 10
    for mine, other in zip(ours, theirs, strict=True):
        assert mine[:3] == other[:3]
        assert mine[3] == pytest.approx(other[3], rel=1e-12)
        assert mine[4] == pytest.approx(other[4], rel=1e-12)
    assert result.statistics["final_equity"] == pytest.approx(final_value, rel=1e-10)
