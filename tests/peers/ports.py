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

__all__ = ["crossings", "sma_cross", "sma_cross_bt"]


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


def sma_cross_bt(fast: int = 10, slow: int = 30) -> Strategy[None]:
    """backtesting.py's ``SmaCross`` (its ``backtesting/test/__init__.py``, used by ``_test.py``).

    The moving averages are pandas' rolling means of the close, as backtesting.py's ``SMA``;
    ``crossover(a, b)`` is ``a[-2] < b[-2] and a[-1] > b[-1]``. On a cross of the fast over the
    slow: ``position.close(); buy()``, an EXIT then a LONG on the bar; on the other cross an EXIT
    then a SHORT.
    """
    strategy_id = "sma_cross_bt"

    def build(data: BarData) -> tuple[None, StepFunction[None]]:
        import numpy as np
        import pandas as pd

        (symbol,) = data.symbols
        close = pd.Series(data.column(symbol, "close"))
        a = close.rolling(fast).mean().to_numpy()
        b = close.rolling(slow).mean().to_numpy()
        up = np.zeros(len(close), dtype=bool)
        down = np.zeros(len(close), dtype=bool)
        up[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
        down[1:] = (b[:-1] < a[:-1]) & (b[1:] > a[1:])

        def signals(event: MarketEvent, kind: SignalType) -> tuple[SignalEvent, SignalEvent]:
            return (SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id, symbol=symbol,
                                signal_type=SignalType.EXIT),
                    SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id, symbol=symbol, signal_type=kind))

        def step(state: None, event: MarketEvent) -> tuple[None, tuple[SignalEvent, ...]]:
            i = event.index
            if up[i]:
                return state, signals(event, SignalType.LONG)
            if down[i]:
                return state, signals(event, SignalType.SHORT)
            return state, ()

        return None, step

    return Strategy(name=strategy_id, build=build, params=(("fast", fast), ("slow", slow)))
