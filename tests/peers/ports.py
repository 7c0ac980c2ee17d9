"""Strategies of the peers' test files, ported by hand to fbt (the peers need not be installed).

:func:`sma_cross` is the strategy of backtrader's ``tests/test_strategy_unoptimized.py`` and
``tests/test_strategy_optimized.py``: a simple moving average of the close over ``period`` bars
(each window summed exactly, as backtrader's ``SMA`` does with ``math.fsum``) and backtrader's
``CrossOver(close, sma)``: an up-cross on a bar where ``close > sma`` and the last non-zero
``close - sma`` before it was negative, a down-cross where ``close < sma`` and it was positive.
Flat and an up-cross: LONG; invested and a down-cross: EXIT. With ``once=True`` only the first
up-cross trades (the optimized test sets its "order active" flag and never clears it).
"""

from __future__ import annotations

import math

from fbt.core.events import MarketEvent, SignalEvent, SignalType
from fbt.core.market import BarData
from fbt.core.strategy import StepFunction, Strategy

__all__ = ["crossings", "sma_cross"]


def crossings(close: list[float], period: int) -> list[int]:
    """+1 for an up-cross of ``close`` over its SMA, -1 for a down-cross, 0 otherwise, per bar.

    >>> crossings([3.0, 1.0, 2.0, 3.0, 1.0], 2)
    [0, 0, 1, 0, -1]
    """
    out = [0] * len(close)
    last = 0.0  # the last non-zero difference close - sma
    for i in range(period - 1, len(close)):
        sma = math.fsum(close[i - period + 1 : i + 1]) / period
        diff = close[i] - sma
        if i >= period:  # the indicator needs the difference of the bar before
            if last < 0 < diff:
                out[i] = 1
            elif last > 0 > diff:
                out[i] = -1
        if diff != 0 or i == period - 1:
            last = diff
    return out


def sma_cross(period: int = 15, once: bool = False) -> Strategy[tuple[bool, bool]]:
    """The SMA crossover of backtrader's strategy tests; the state is ``(invested, done)``."""
    strategy_id = "sma_cross"

    def build(data: BarData) -> tuple[tuple[bool, bool], StepFunction[tuple[bool, bool]]]:
        (symbol,) = data.symbols
        cross = crossings(data.column(symbol, "close").tolist(), period)

        def step(state: tuple[bool, bool], event: MarketEvent) -> tuple[tuple[bool, bool], tuple[SignalEvent, ...]]:
            invested, done = state
            c = cross[event.index]
            if done or c == 0 or (c > 0) == invested:
                return state, ()
            kind = SignalType.EXIT if invested else SignalType.LONG
            signal = SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id, symbol=symbol, signal_type=kind)
            return (not invested, once), (signal,)

        return (False, False), step

    return Strategy(name=strategy_id, build=build, params=(("once", once), ("period", period)))
