"""A user's own strategy and its tests, written with fbt's testing kit (``fbt.testing``).

The strategy is a channel breakout: go LONG when a symbol closes above the highest high of the
previous ``lookback`` bars, EXIT when it closes below the lowest low of the previous ``lookback``
bars. Both channels are computed once, up front, and causally: the value at bar ``i`` uses bars
``i - lookback .. i - 1`` only. It acts on real bars only (not on forward-filled ones).

Run it like any strategy:

    fbt run examples/tested_strategy.py:channel_breakout --data fbt/sample/bars --param lookback=30
    fbt check-lookahead examples/tested_strategy.py:channel_breakout --data fbt/sample/bars

Test it (hypothesis draws the data; each law is one line):

    pytest examples/tested_strategy.py
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from numpy.lib.stride_tricks import sliding_window_view

import fbt
import fbt.testing as ft

__all__ = ["channel_breakout", "previous_extreme"]


def previous_extreme(values: np.ndarray, lookback: int, *, highest: bool) -> np.ndarray:
    """The highest (or lowest) of the ``lookback`` values before each bar; NaN until there are that many.

    >>> previous_extreme(np.array([1.0, 3.0, 2.0, 5.0]), 2, highest=True).tolist()
    [nan, nan, 3.0, 3.0]
    """
    out = np.full(values.shape, np.nan)
    if values.shape[0] > lookback:
        windows = sliding_window_view(values[:-1], lookback)  # windows[j] covers bars j .. j + lookback - 1
        out[lookback:] = windows.max(axis=1) if highest else windows.min(axis=1)
    return out


def channel_breakout(lookback: int = 20) -> fbt.Strategy[tuple[bool, ...]]:
    """Return the breakout strategy; its state is one "invested" flag per symbol."""
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise ValueError(f"lookback: expected a whole number >= 1, got {lookback!r}")

    def build(data: fbt.BarData) -> tuple[tuple[bool, ...], Any]:
        symbols = data.symbols
        close = [data.column(s, "close").tolist() for s in symbols]
        upper = [previous_extreme(data.column(s, "high"), lookback, highest=True).tolist() for s in symbols]
        lower = [previous_extreme(data.column(s, "low"), lookback, highest=False).tolist() for s in symbols]

        def step(state: tuple[bool, ...], event: fbt.MarketEvent) -> tuple[tuple[bool, ...], tuple[Any, ...]]:
            i, signals = event.index, ()
            for s, symbol in enumerate(symbols):
                if not event.is_real(symbol):
                    continue
                if not state[s] and close[s][i] > upper[s][i]:
                    kind, held = fbt.SignalType.LONG, True
                elif state[s] and close[s][i] < lower[s][i]:
                    kind, held = fbt.SignalType.EXIT, False
                else:
                    continue
                state = (*state[:s], held, *state[s + 1 :])
                signals += (fbt.SignalEvent(timestamp=event.timestamp, strategy_id="channel_breakout",
                                            symbol=symbol, signal_type=kind),)
            return state, signals

        return (False,) * len(symbols), step

    return fbt.Strategy(name="channel_breakout", build=build, params=(("lookback", lookback),), lookback=lookback)


# --- its tests: one line a law, on data hypothesis draws (gaps, late starts, flat stretches) ----------

DATA = ft.bar_data(min_bars=2, max_bars=80)


@settings(max_examples=20, deadline=None)
@given(data=DATA)
def test_deterministic(data: fbt.BarData) -> None:
    ft.assert_deterministic(channel_breakout(5), data)


@settings(max_examples=20, deadline=None)
@given(data=DATA)
def test_split_fold(data: fbt.BarData) -> None:
    ft.assert_split_fold(channel_breakout(5), data)


@settings(max_examples=20, deadline=None)
@given(data=DATA)
def test_no_lookahead(data: fbt.BarData) -> None:
    ft.assert_no_lookahead(channel_breakout(5), data)


@settings(max_examples=20, deadline=None)
@given(data=DATA, config=ft.configs())
def test_accounting(data: fbt.BarData, config: fbt.Config) -> None:
    ft.assert_accounting(channel_breakout(3), data, config=config)


def test_trades_on_the_sample_data() -> None:
    from fbt.sample.data import sample_dir

    result = fbt.run(channel_breakout(30), fbt.load_dir(sample_dir()))
    assert result.statistics["fills"] > 10
    ft.check_laws(channel_breakout(30), result.run.data)
