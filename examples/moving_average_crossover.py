"""The book's moving-average crossover (chapter 15), as a pure fbt strategy.

For each symbol: the simple moving averages of ``adj_close`` over ``short_window`` and
``long_window`` bars (while fewer bars exist, the mean of those available). Starting OUT, a short
mean above the long one gives LONG; while LONG, a short mean below the long one gives EXIT; equal
means change nothing. The state is the strategy's own: it does not look at fills.

Run it:  fbt run examples/moving_average_crossover.py:moving_average_crossover --data DIR
"""

from __future__ import annotations

from fbt import BarData, MarketEvent, SignalEvent, SignalType, Strategy, rolling_mean


def moving_average_crossover(short_window: int = 100, long_window: int = 400) -> Strategy[tuple[bool, ...]]:
    """Return the crossover strategy; its state is a tuple of "invested" flags, one per symbol."""
    if not (isinstance(short_window, int) and isinstance(long_window, int) and 0 < short_window):
        raise ValueError(f"windows must be positive whole numbers, got {short_window!r}, {long_window!r}")
    name = "moving_average_crossover"

    def build(data: BarData) -> tuple[tuple[bool, ...], object]:
        symbols = data.symbols
        above, below = [], []
        for symbol in symbols:
            prices = data.column(symbol, "adj_close")
            short, long = rolling_mean(prices, short_window), rolling_mean(prices, long_window)
            above.append((short > long).tolist())  # NaN compares False: no signal before a first bar
            below.append((short < long).tolist())
        columns = tuple(range(len(symbols)))

        def step(state: tuple[bool, ...], event: MarketEvent) -> tuple[tuple[bool, ...], tuple[SignalEvent, ...]]:
            i = event.index
            signals = ()
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
                state = state[:s] + (invested,) + state[s + 1 :]
                signals += (SignalEvent(timestamp=event.timestamp, strategy_id=name, symbol=symbols[s],
                                        signal_type=kind),)
            return state, signals

        return (False,) * len(symbols), step

    return Strategy(name=name, build=build, params=(("long_window", long_window), ("short_window", short_window)))
