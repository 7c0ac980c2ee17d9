"""Ready-made strategies. The book's moving-average crossover (chapter 15), as a pure fbt strategy.

For each symbol: the simple moving averages of ``adj_close`` over ``short_window`` and
``long_window`` bars (while fewer bars exist, the mean of those available). Starting OUT, a short
mean above the long one gives LONG; while LONG, a short mean below the long one gives EXIT; equal
means change nothing. The state is the strategy's own: it does not look at fills.

Run it:  fbt run fbt.sample.strategies:moving_average_crossover --data DIR
(or ``examples/moving_average_crossover.py:moving_average_crossover``, which is this function).

>>> s = moving_average_crossover(5, 20)
>>> s.name, dict(s.params)
('moving_average_crossover', {'long_window': 20, 'short_window': 5})
"""

from __future__ import annotations

from fbt.core.events import MarketEvent, SignalEvent, SignalType
from fbt.core.indicators import rolling_mean
from fbt.core.market import BarData
from fbt.core.strategy import StepFunction, Strategy

__all__ = ["moving_average_crossover"]


def moving_average_crossover(short_window: int = 100, long_window: int = 400) -> Strategy[tuple[bool, ...]]:
    """Return the crossover strategy; its state is a tuple of "invested" flags, one per symbol."""
    for name, window in (("short_window", short_window), ("long_window", long_window)):
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"{name}: expected a whole number >= 1, got {window!r}")
    strategy_id = "moving_average_crossover"

    def build(data: BarData) -> tuple[tuple[bool, ...], StepFunction[tuple[bool, ...]]]:
        symbols = data.symbols
        above: list[list[bool]] = []
        below: list[list[bool]] = []
        for symbol in symbols:
            prices = data.column(symbol, "adj_close")
            short, long = rolling_mean(prices, short_window), rolling_mean(prices, long_window)
            above.append((short > long).tolist())  # NaN compares False: no signal before a first bar
            below.append((short < long).tolist())
        columns = tuple(range(len(symbols)))
        if len(symbols) == 1:
            return (False,), _one_symbol(strategy_id, symbols[0], above[0], below[0], data)

        def step(state: tuple[bool, ...], event: MarketEvent) -> tuple[tuple[bool, ...], tuple[SignalEvent, ...]]:
            i = event.index
            signals: tuple[SignalEvent, ...] = ()
            for s in columns:
                if state[s]:
                    if below[s][i]:
                        kind, invested = SignalType.EXIT, False
                    else:
                        continue
                elif above[s][i]:
                    kind, invested = SignalType.LONG, True
                else:
                    continue
                state = (*state[:s], invested, *state[s + 1 :])
                signals += (SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id, symbol=symbols[s],
                                        signal_type=kind),)
            return state, signals

        return (False,) * len(symbols), step

    params = (("long_window", long_window), ("short_window", short_window))
    return Strategy(name=strategy_id, build=build, params=params, lookback=max(short_window, long_window) - 1)


def _one_symbol(
    strategy_id: str, symbol: str, above: list[bool], below: list[bool], data: BarData
) -> StepFunction[tuple[bool, ...]]:
    """The crossover's step for one symbol: the same rule without the loop over symbols."""
    stamps = data.timestamps
    out, into = (False,), (True,)
    stay_out: tuple[tuple[bool, ...], tuple[SignalEvent, ...]] = (out, ())  # a quiet bar's answer, made once
    stay_in: tuple[tuple[bool, ...], tuple[SignalEvent, ...]] = (into, ())

    def step(state: tuple[bool, ...], event: MarketEvent) -> tuple[tuple[bool, ...], tuple[SignalEvent, ...]]:
        i = event.index
        if state[0]:
            if below[i]:
                return out, (SignalEvent(timestamp=stamps.item(i), strategy_id=strategy_id, symbol=symbol,
                                         signal_type=SignalType.EXIT),)
            return stay_in
        if above[i]:
            return into, (SignalEvent(timestamp=stamps.item(i), strategy_id=strategy_id, symbol=symbol,
                                      signal_type=SignalType.LONG),)
        return stay_out

    return step
