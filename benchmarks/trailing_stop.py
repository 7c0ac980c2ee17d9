"""A path-dependent strategy for the benchmarks: a trailing stop whose position is its own state.

Per symbol: while OUT, a close above its ``window``-bar mean (the book's warm-up: the mean of the
bars available while fewer exist; computed up front, causal) gives LONG and the state becomes
``(IN, peak = that close)``; while IN, every bar raises the peak to the close if higher, and a
close at or below ``peak * (1 - stop)`` gives EXIT (state OUT).

The strategy cannot see the portfolio: an fbt strategy sees only its own state and the market
event. So "am I in a position, and since when is the peak" is carried in its own state, which
changes on every bar while IN (unlike the crossover, whose state changes only on a signal). In book
mode a LONG from flat always fills at once, so that state mirrors the portfolio.

``reader="column"`` reads the close from a list made up front (the fast idiom); ``reader="accessor"``
reads it per bar through ``event.latest_value(symbol, "adj_close")`` (the book's idiom).

:func:`reference` is the same rules as a plain Python loop, to check the fold's fills.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import fbt
from fbt.core.events import MarketEvent, SignalEvent, SignalType

STRATEGY_ID = "trailing_stop"


def trailing_stop(window: int = 20, stop: float = 0.0007, reader: str = "column") -> fbt.Strategy[Any]:
    """Return the trailing-stop strategy; state: one ``(invested, peak)`` pair per symbol."""
    if reader not in ("column", "accessor"):
        raise ValueError(f"reader: expected 'column' or 'accessor', got {reader!r}")
    keep = 1.0 - stop

    def build(data: fbt.BarData) -> tuple[tuple[tuple[bool, float], ...], Any]:
        symbols = data.symbols
        closes = [data.column(s, "adj_close").tolist() for s in symbols]
        above = [(np.asarray(c) > fbt.rolling_mean(np.asarray(c), window)).tolist() for c in closes]
        columns = tuple(range(len(symbols)))
        by_accessor = reader == "accessor"

        def step(state: tuple[tuple[bool, float], ...], event: MarketEvent) -> tuple[Any, tuple[SignalEvent, ...]]:
            i = event.index
            signals: tuple[SignalEvent, ...] = ()
            new = list(state)
            for s in columns:
                invested, peak = state[s]
                close = event.latest_value(symbols[s], "adj_close") if by_accessor else closes[s][i]
                if invested:
                    if close <= peak * keep:
                        new[s] = (False, 0.0)
                        kind = SignalType.EXIT
                    else:
                        if close > peak:
                            new[s] = (True, close)
                        continue
                elif above[s][i]:
                    new[s] = (True, close)
                    kind = SignalType.LONG
                else:
                    continue
                signals += (SignalEvent(timestamp=event.timestamp, strategy_id=STRATEGY_ID, symbol=symbols[s],
                                        signal_type=kind),)
            return tuple(new), signals

        return ((False, 0.0),) * len(symbols), step

    return fbt.Strategy(name=STRATEGY_ID, build=build,
                        params=(("reader", reader), ("stop", stop), ("window", window)))


def reference(close: np.ndarray, window: int = 20, stop: float = 0.0007) -> list[tuple[int, str]]:
    """The same rules as a plain loop over one symbol's closes: ``[(bar, "BUY" | "SELL"), ...]``."""
    above = (close > fbt.rolling_mean(close, window)).tolist()
    keep = 1.0 - stop
    invested, peak, out = False, 0.0, []
    for i, c in enumerate(close.tolist()):
        if invested:
            if c <= peak * keep:
                invested = False
                out.append((i, "SELL"))
            elif c > peak:
                peak = c
        elif above[i]:
            invested, peak = True, c
            out.append((i, "BUY"))
    return out
