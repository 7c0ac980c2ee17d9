"""Strategies that peek at the future, shipped as fixtures for the lookahead check (each must be caught).

Each computes an indicator up front from the whole column it is given, the way careless vectorised
code does, and goes LONG / EXIT on it:

- :func:`centred_mean`: price above its *centred* rolling mean (``pandas.rolling(center=True)``
  averages bars after the current one);
- :func:`next_bar`: tomorrow's price above today's (``shift(-1)``);
- :func:`max_normalised`: price over the *whole series'* maximum (which a run cannot know yet);
- :func:`peek_at`: a planted peek at one bar: at bar ``bar`` it signals only if bar ``bar + 1``
  exists.

    fbt check-lookahead tests/replay/peeking.py:next_bar --data fbt/sample/bars   # exit 1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import fbt
from fbt.core.market import BarData


def _threshold_strategy(name: str, indicator: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                        params: tuple[tuple[str, Any], ...] = ()) -> fbt.Strategy[tuple[bool, ...]]:
    """LONG where ``enter`` holds and flat, EXIT where ``leave`` holds and long; one flag per symbol."""

    def build(data: BarData) -> tuple[tuple[bool, ...], Any]:
        symbols = data.symbols
        rules = [indicator(data.column(s, "adj_close")) for s in symbols]
        enter = [r[0].tolist() for r in rules]
        leave = [r[1].tolist() for r in rules]

        def step(state: tuple[bool, ...], event: fbt.MarketEvent) -> tuple[tuple[bool, ...], tuple[Any, ...]]:
            i, signals = event.index, ()
            for s, symbol in enumerate(symbols):
                if not state[s] and enter[s][i]:
                    kind, held = fbt.SignalType.LONG, True
                elif state[s] and leave[s][i]:
                    kind, held = fbt.SignalType.EXIT, False
                else:
                    continue
                state = (*state[:s], held, *state[s + 1 :])
                signals += (fbt.SignalEvent(timestamp=event.timestamp, strategy_id=name, symbol=symbol,
                                            signal_type=kind),)
            return state, signals

        return (False,) * len(symbols), step

    return fbt.Strategy(name=name, build=build, params=params)


def centred_mean(window: int = 5) -> fbt.Strategy[tuple[bool, ...]]:
    """Price above its centred rolling mean: the mean at bar i uses bars up to i + window // 2."""

    def indicator(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = pd.Series(close).rolling(window, center=True).mean().to_numpy()
        return close > mean, close < mean

    return _threshold_strategy("centred_mean", indicator, (("window", window),))


def next_bar() -> fbt.Strategy[tuple[bool, ...]]:
    """Tomorrow's price above today's: ``shift(-1)``."""

    def indicator(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tomorrow = pd.Series(close).shift(-1).to_numpy()
        return tomorrow > close, tomorrow < close

    return _threshold_strategy("next_bar", indicator)


def max_normalised(enter: float = 0.9, leave: float = 0.8) -> fbt.Strategy[tuple[bool, ...]]:
    """Price over the whole series' maximum: LONG above ``enter``, EXIT below ``leave``."""

    def indicator(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scaled = close / np.nanmax(close) if np.isfinite(close).any() else close
        return scaled > enter, scaled < leave

    return _threshold_strategy("max_normalised", indicator, (("enter", enter), ("leave", leave)))


def peek_at(bar: int = 10, symbol: int = 0) -> fbt.Strategy[bool]:
    """A planted peek: at bar ``bar`` go LONG in the symbol, but only if the data goes on past it."""

    def build(data: BarData) -> tuple[bool, Any]:
        n, name = len(data), data.symbols[symbol]

        def step(done: bool, event: fbt.MarketEvent) -> tuple[bool, tuple[fbt.SignalEvent, ...]]:
            if done or event.index != bar or bar + 1 >= n:  # the peek: "is there a next bar?"
                return done, ()
            return True, (fbt.SignalEvent(timestamp=event.timestamp, strategy_id="peek_at", symbol=name,
                                          signal_type=fbt.SignalType.LONG),)

        return False, step

    return fbt.Strategy(name="peek_at", build=build, params=(("bar", bar), ("symbol", symbol)))
