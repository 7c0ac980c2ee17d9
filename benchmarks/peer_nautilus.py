"""nautilus_trader running the book's crossover, for the benchmarks (needs the ``bench-nautilus`` extra).

nautilus_trader 1.221.0 requires pandas < 3, so the extra goes into a virtualenv of its own beside
fbt's (``benchmarks/README.md``); the harness runs this script with that interpreter, in its own
process, and this script imports neither fbt nor anything of the harness.

The set-up, as close to fbt's book mode as nautilus allows:

- data: the CSV read with pandas (``pd.read_csv``, the C parser; ``Open, High, Low, Close, Volume``,
  the ``Date`` column taken as UTC), turned into ``Bar`` objects by its ``BarDataWrangler`` for a
  1-minute ``LAST`` bar type of an ``Equity`` priced in cents (the generated data has
  ``Adj Close == Close``, so its close is fbt's ``adj_close``);
- indicators: two of its ``SimpleMovingAverage`` (periods ``short`` and ``long``) registered for
  the bars, so the engine updates them before the strategy sees each bar. Their ``value`` is the
  mean of the bars available while fewer than ``period`` exist, as the book's warm-up, so the
  strategy reads them from the first bar (their ``initialized`` flag is not waited for);
- strategy: a Python ``Strategy`` with its own OUT/IN latch, as the book's: short > long while OUT
  submits a market BUY of 100, short < long while IN a market SELL of 100, equal changes nothing;
- venue: one simulated exchange, netting, a cash account of 100,000 USD, an L1 book moved by the
  bars (``bar_execution``, prices in the fixed order open, high, low, close), the default fill
  model (no random slippage); commission: ``FixedFeeModel(1.30 USD)`` per order, which is the
  book's Interactive Brokers seed commission ``max(1.30, 0.013 q)`` at q = 100; the risk engine
  bypassed (no pre-trade checks: the other engines check no cash either); logging bypassed.

How its fills differ from fbt's (the harness counts each kind):

- where: the order placed on a bar is matched at once against the book that bar left behind,
  i.e. after the bar's open, high, low and close went through it: the price is the close, as in
  fbt, but the size on offer is the size of one of those ticks, a quarter of the bar's volume in
  whole units (of an earlier bar's if this one's four prices all equal the last close: then no tick
  moves the book). An order larger than that takes what is there at the close and the rest one
  cent worse (its L1 book has no depth: "slipping by a single tick"), so where the bar's volume is
  under about 400 one order of 100 makes two fills, the second one cent from the close;
- when: its ``SimpleMovingAverage`` adds the window left to right and divides, where fbt takes
  ``numpy.mean`` (pairwise summation); prices are whole cents, so on flat stretches the two means
  tie and a last-bit difference in either decides whether the latch flips. The harness repeats
  the latch with left-to-right means and checks that it gives nautilus's order bars exactly.

Run as a script (the "whole process" figure):

    .venv-nautilus/bin/python benchmarks/peer_nautilus.py FILE.csv [--short 5] [--long 20] [--json OUT.json]

It prints ``fills=N orders=M final_equity=X`` and, with ``--json``, writes the fills (bar, side,
price, quantity, commission) and the in-process timings (``load_s``: read the CSV; ``wrangle_s``:
``BarDataWrangler.process``; ``setup_s``: build the engine and add venue, instrument, bars and
strategy; ``run_s``: ``BacktestEngine.run()``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import nautilus_trader
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import FixedFeeModel
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import RiskEngineConfig, StrategyConfig
from nautilus_trader.indicators.averages import SimpleMovingAverage
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.trading.strategy import Strategy

VENUE = "SIM"
SYMBOL = "SYN"
QUANTITY = 100
COMMISSION = 1.30  # max(1.30, 0.013 * 100)


class CrossoverConfig(StrategyConfig, frozen=True):
    """The crossover's parameters (nautilus strategies take a frozen config)."""

    instrument_id: InstrumentId
    bar_type: BarType
    short: int = 5
    long: int = 20
    quantity: int = QUANTITY


class BookCrossover(Strategy):
    """The book's crossover with its own OUT/IN latch; records every fill with the bar it happened on."""

    def __init__(self, config: CrossoverConfig) -> None:
        super().__init__(config)
        self.short_mean = SimpleMovingAverage(config.short)
        self.long_mean = SimpleMovingAverage(config.long)
        self.invested = False
        self.bar = -1
        self.orders = 0
        self.last_close = float("nan")
        self.fills: list[tuple[int, str, float, float, float]] = []

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        self.quantity = Quantity.from_int(self.config.quantity)
        self.register_indicator_for_bars(self.config.bar_type, self.short_mean)
        self.register_indicator_for_bars(self.config.bar_type, self.long_mean)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        self.bar += 1
        self.last_close = bar.close.as_double()
        short, long = self.short_mean.value, self.long_mean.value
        if not self.invested:
            if short > long:
                self._market(OrderSide.BUY)
                self.invested = True
        elif short < long:
            self._market(OrderSide.SELL)
            self.invested = False

    def _market(self, side: OrderSide) -> None:
        self.orders += 1
        self.submit_order(self.order_factory.market(self.config.instrument_id, side, self.quantity))

    def on_order_filled(self, event: OrderFilled) -> None:
        side = "BUY" if event.order_side == OrderSide.BUY else "SELL"
        self.fills.append((self.bar, side, event.last_px.as_double(), event.last_qty.as_double(),
                           event.commission.as_double()))


def read_frame(path: str) -> pd.DataFrame:
    """Read a Yahoo-style CSV into the frame ``BarDataWrangler`` takes (UTC DatetimeIndex, lower-case OHLCV)."""
    frame = pd.read_csv(path, parse_dates=["Date"], date_format="%Y-%m-%d %H:%M:%S", index_col="Date")
    frame = frame[["Open", "High", "Low", "Close", "Volume"]].rename(columns=str.lower)
    frame.index = frame.index.tz_localize("UTC")
    return frame


def instrument() -> Equity:
    """The one instrument: an equity quoted in USD cents, traded in whole units."""
    return Equity(instrument_id=InstrumentId(Symbol(SYMBOL), Venue(VENUE)), raw_symbol=Symbol(SYMBOL), currency=USD,
                  price_precision=2, price_increment=Price.from_str("0.01"), lot_size=Quantity.from_int(1),
                  ts_event=0, ts_init=0)


def run(frame: pd.DataFrame, short: int, long: int, capital: float = 100_000.0) -> dict[str, Any]:
    """Wrangle, set up and run the engine; fills, order count, final equity and the timings of each part."""
    equity = instrument()
    bar_type = BarType.from_str(f"{equity.id}-1-MINUTE-LAST-EXTERNAL")
    t0 = time.perf_counter()
    bars = BarDataWrangler(bar_type, equity).process(frame)
    t1 = time.perf_counter()
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True),
                                                 risk_engine=RiskEngineConfig(bypass=True)))
    engine.add_venue(Venue(VENUE), oms_type=OmsType.NETTING, account_type=AccountType.CASH, base_currency=USD,
                     starting_balances=[Money(capital, USD)], fee_model=FixedFeeModel(Money(COMMISSION, USD)))
    engine.add_instrument(equity)
    engine.add_data(bars)
    strategy = BookCrossover(CrossoverConfig(instrument_id=equity.id, bar_type=bar_type, short=short, long=long))
    engine.add_strategy(strategy)
    t2 = time.perf_counter()
    engine.run()
    t3 = time.perf_counter()
    fills = strategy.fills
    position = sum(q if s == "BUY" else -q for _, s, _, q, _ in fills)
    cash = capital - sum((p * q if s == "BUY" else -p * q) + c for _, s, p, q, c in fills)
    out = {"fills": fills, "orders": strategy.orders, "final_equity": cash + position * strategy.last_close,
           "wrangle_s": t1 - t0, "setup_s": t2 - t1, "run_s": t3 - t2}
    engine.dispose()
    return out


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
    load_s = time.perf_counter() - t0
    out = run(frame, a.short, a.long, a.capital)
    print(f"fills={len(out['fills'])} orders={out['orders']} final_equity={out['final_equity']!r}")
    if a.json:
        out.update(load_s=load_s, bars=len(frame), version=nautilus_trader.__version__)
        with open(a.json, "w") as fh:
            json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
