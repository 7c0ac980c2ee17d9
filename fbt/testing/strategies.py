"""Hypothesis strategies for fbt's data: bars, aligned bar data, market events, signals, orders,
fills, portfolios, configurations and random scripted trading strategies.

The module is named after :mod:`hypothesis.strategies`, whose role it plays; a *trading* strategy
is an :class:`fbt.Strategy`, made here by :func:`scripted_strategies`.

>>> from hypothesis import given, settings
>>> @settings(max_examples=5)
... @given(data=bar_data(max_symbols=2, max_bars=10))
... def test_lows_are_below_highs(data):
...     low, high = data.values[2], data.values[1]
...     assert ((low <= high) | np.isnan(low)).all()
>>> test_lows_are_below_highs()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from fbt.core.events import (
    Direction,
    FillEvent,
    FillQuantity,
    MarketEvent,
    OrderEvent,
    OrderTerms,
    SignalEvent,
    SignalType,
    SizeBasis,
)
from fbt.core.market import Bar, BarData, align
from fbt.core.state import Portfolio
from fbt.core.strategy import Strategy
from fbt.core.units import NS_PER_DAY
from fbt.kernel.config import Config
from fbt.models.commission import ib_seed_commission, zero_commission

__all__ = [
    "BASE",
    "DAY",
    "SYMBOLS",
    "ScriptEntry",
    "bar_data",
    "bars",
    "configs",
    "fills",
    "market_events",
    "orders",
    "portfolios",
    "price_commission",
    "prices",
    "quantities",
    "scenarios",
    "scripted",
    "scripted_strategies",
    "signals",
    "timestamps",
]

#: One day in nanoseconds, the default spacing of generated bars.
DAY = NS_PER_DAY
#: 2010-01-01 in nanoseconds, the default first bar time.
BASE = 1_262_304_000 * 10**9
#: The symbol names generated data uses, in order.
SYMBOLS: tuple[str, ...] = ("AAA", "BBB", "CCC", "DDD", "EEE")


def prices(*, min_value: float = 0.5, max_value: float = 500.0) -> st.SearchStrategy[float]:
    """Positive finite prices: arbitrary floats, and whole cents (which repeat, giving flat bars)."""
    cents = st.integers(max(1, int(np.ceil(min_value * 100))), int(max_value * 100)).map(lambda c: c / 100)
    return st.one_of(st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False), cents)


def timestamps(*, start: int = BASE, spacing: int = DAY, max_bars: int = 10_000) -> st.SearchStrategy[int]:
    """Bar times in int nanoseconds on a regular grid from ``start``."""
    return st.integers(0, max_bars - 1).map(lambda k: start + k * spacing)


@st.composite
def _ohlc(draw: st.DrawFn, close: float) -> dict[str, float]:
    """Open, high and low around a close with ``0 < low <= open, close <= high``."""
    up = draw(st.sampled_from([0.0, 0.001, 0.01, 0.05]))
    down = draw(st.sampled_from([0.0, 0.001, 0.01, 0.05]))
    gap = draw(st.sampled_from([-0.01, 0.0, 0.0, 0.01]))
    open_ = close * (1.0 + gap)
    return {"open": open_, "high": max(open_, close) * (1.0 + up), "low": min(open_, close) * (1.0 - down)}


@st.composite
def bars(draw: st.DrawFn, *, timestamp: int | None = None, min_price: float = 0.5,
         max_price: float = 500.0) -> Bar:
    """One bar with valid relations: ``0 < low <= open, close <= high``, volume and open interest >= 0."""
    close = draw(prices(min_value=min_price, max_value=max_price))
    ts = draw(timestamps()) if timestamp is None else timestamp
    factor = draw(st.sampled_from([1.0, 0.95, 0.5]))
    volume = float(draw(st.integers(0, 10**7)))
    return Bar(timestamp=ts, close=close, adj_close=close * factor, volume=volume, open_interest=0.0,
               **draw(_ohlc(close)))


@st.composite
def bar_data(
    draw: st.DrawFn,
    *,
    symbols: Sequence[str] | None = None,
    min_symbols: int = 1,
    max_symbols: int = 3,
    min_bars: int = 1,
    max_bars: int = 60,
    gaps: bool = True,
    late_starts: bool = True,
    start: int = BASE,
    spacing: int = DAY,
    min_price: float = 0.5,
    max_price: float = 500.0,
) -> BarData:
    """Aligned bar data: 1-3 symbols (or the ``symbols`` given) over ``min_bars .. max_bars`` bars.

    The first symbol trades every bar; with ``late_starts`` the others start at a random bar, and
    with ``gaps`` they miss random bars after that (forward filled by :func:`fbt.core.market.align`).
    Every real bar has valid OHLC relations; closes are :func:`prices` between ``min_price`` and
    ``max_price`` with flat stretches, and ``adj_close`` is ``close`` times a per-symbol factor.
    """
    if symbols is None:
        n_sym = draw(st.integers(min_symbols, max_symbols), label="n_symbols")
        names: Sequence[str] = SYMBOLS[:n_sym]
    else:
        names = tuple(symbols)
    n = draw(st.integers(min_bars, max_bars), label="n_bars")
    stamps = start + np.arange(n, dtype=np.int64) * spacing
    per_symbol: dict[str, tuple[Any, dict[str, Any]]] = {}
    for s, symbol in enumerate(names):
        begin = draw(st.integers(0, n - 1)) if s and late_starts else 0
        if s and gaps:
            keep = draw(st.lists(st.booleans(), min_size=n - begin - 1, max_size=n - begin - 1))
            rows = [begin] + [begin + 1 + j for j, k in enumerate(keep) if k]
        else:
            rows = list(range(begin, n))
        m = len(rows)
        close = np.array(draw(st.lists(prices(min_value=min_price, max_value=max_price), min_size=m, max_size=m)))
        flat = draw(st.lists(st.booleans(), min_size=m, max_size=m))
        for j in range(1, m):
            if flat[j]:
                close[j] = close[j - 1]
        shapes = [draw(_ohlc(float(c))) for c in close]
        factor = draw(st.sampled_from([1.0, 0.9, 0.75, 1.0 / 3.0]))
        columns = {
            "close": close,
            "open": np.array([b["open"] for b in shapes]),
            "high": np.array([b["high"] for b in shapes]),
            "low": np.array([b["low"] for b in shapes]),
            "adj_close": close * factor,
            "volume": np.array(draw(st.lists(st.integers(0, 10**6), min_size=m, max_size=m)), dtype=np.float64),
        }
        per_symbol[symbol] = (stamps[rows], columns)
    return align(per_symbol, time_format="date" if spacing == DAY else "datetime")


@st.composite
def market_events(draw: st.DrawFn, data: BarData | None = None) -> MarketEvent:
    """A market event: a cursor at a random bar of the data given (or of generated data)."""
    chosen = draw(bar_data()) if data is None else data
    return MarketEvent(draw(st.integers(0, len(chosen) - 1)), chosen)


def signals(*, symbols: Sequence[str] = SYMBOLS[:3], strategy_ids: Sequence[str] = ("s",)
            ) -> st.SearchStrategy[SignalEvent]:
    """Signals for the symbols given, of every kind, at generated bar times."""
    return st.builds(
        SignalEvent,
        timestamp=timestamps(),
        strategy_id=st.sampled_from(list(strategy_ids)),
        symbol=st.sampled_from(list(symbols)),
        signal_type=st.sampled_from(list(SignalType)),
    )


def quantities(*, min_value: float = 0.001, max_value: float = 1e6, max_whole: int = 10_000
               ) -> st.SearchStrategy[float]:
    """Positive finite quantities: whole numbers ``1 .. max_whole`` and arbitrary floats ``min_value .. max_value``.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(q=quantities(max_value=10.0, max_whole=5))
    ... def test_in_range(q):
    ...     assert 0.001 <= q <= 10.0
    >>> test_in_range()
    """
    return st.one_of(st.integers(1, max_whole).map(float),
                     st.floats(min_value, max_value, allow_nan=False, allow_infinity=False))


def orders(*, symbols: Sequence[str] = SYMBOLS[:3]) -> st.SearchStrategy[OrderEvent]:
    """Market orders for the symbols given, ids from 1; some resolved at the fill (``at_fill``)."""
    at_fill = st.one_of(st.none(), st.builds(FillQuantity, basis=st.sampled_from(list(SizeBasis)),
                                             amount=st.floats(0.01, 1e6, allow_nan=False)))
    return st.builds(
        OrderEvent,
        timestamp=timestamps(),
        symbol=st.sampled_from(list(symbols)),
        quantity=quantities(),
        direction=st.sampled_from(list(Direction)),
        order_id=st.integers(1, 10**6),
        at_fill=at_fill,
    )


def fills(*, symbols: Sequence[str] = SYMBOLS[:3]) -> st.SearchStrategy[FillEvent]:
    """Fills for the symbols given at positive prices with non-negative commission."""
    return st.builds(
        FillEvent,
        timestamp=timestamps(),
        symbol=st.sampled_from(list(symbols)),
        quantity=quantities(),
        direction=st.sampled_from(list(Direction)),
        price=prices(),
        commission=st.one_of(st.just(0.0), st.floats(0.0, 100.0, allow_nan=False)),
        order_id=st.integers(1, 10**6),
    )


@st.composite
def portfolios(draw: st.DrawFn, *, n_symbols: int = 3) -> Portfolio:
    """Portfolios over ``n_symbols`` symbols: any cash, non-negative commission, long, short or flat."""
    position = st.one_of(st.just(0.0), st.integers(-10_000, 10_000).map(float))
    return Portfolio(
        cash=draw(st.floats(-1e7, 1e7, allow_nan=False)),
        commission=draw(st.floats(0.0, 1e5, allow_nan=False)),
        positions=tuple(draw(st.lists(position, min_size=n_symbols, max_size=n_symbols))),
        orders_sent=draw(st.integers(0, 10**6)),
    )


def price_commission(quantity: float, price: float) -> float:
    """A commission of 10 basis points of the traded value (one that depends on the price)."""
    return 0.001 * quantity * price


def configs() -> st.SearchStrategy[Config]:
    """Configurations: a few capitals and order sizes, and commission models of every kind."""
    commissions: list[Callable[[float, float], float]] = [ib_seed_commission, zero_commission, price_commission]
    return st.builds(
        Config,
        capital=st.sampled_from([1_000.0, 100_000.0, 12_345.67]),
        quantity=st.sampled_from([1.0, 100.0, 600.0, 0.5]),
        commission=st.sampled_from(commissions),
    )


#: One scripted signal: ``(bar, symbol index, signal type)``, or with the signal's strength and
#: order terms, ``(bar, symbol index, signal type, strength, order terms or None)``.
ScriptEntry = tuple[int, int, SignalType] | tuple[int, int, SignalType, float, OrderTerms | None]


def scripted(name: str, script: Sequence[ScriptEntry], *, as_list: bool = False) -> Strategy[Any]:
    """A pure strategy that sends the scripted signals at their bars, for symbols that have started.

    Entries for symbols the data lacks, or before a symbol's first bar, are skipped. Its state counts
    its calls and the signals it sent, so equal states mean equal histories; ``as_list`` returns the
    signals as a list instead of a tuple (both are allowed).

    >>> from fbt.kernel.loop import fold
    >>> data = BarData.from_columns(symbols=("A",), timestamps=BASE + np.arange(5, dtype=np.int64) * DAY,
    ...                             columns={"close": np.full((1, 5), 10.0)})
    >>> run = fold([scripted("s", [(1, 0, SignalType.LONG), (3, 0, SignalType.EXIT, 1.0, None)])], data, Config())
    >>> [e.signal_type.value for e in run.events if isinstance(e, SignalEvent)], run.final.strategies
    (['LONG', 'EXIT'], ((5, 2),))
    """
    by_bar: dict[int, list[tuple[int, SignalType, float, OrderTerms | None]]] = {}
    for entry in script:
        bar, sym, kind = entry[0], entry[1], entry[2]
        strength, terms = (entry[3], entry[4]) if len(entry) == 5 else (1.0, None)
        by_bar.setdefault(bar, []).append((sym, kind, strength, terms))

    def build(data: BarData) -> tuple[tuple[int, int], Callable[..., Any]]:
        symbols, first = data.symbols, data.first

        def step(state: tuple[int, int], event: MarketEvent) -> tuple[tuple[int, int], Sequence[SignalEvent]]:
            i = event.index
            made = [SignalEvent(timestamp=event.timestamp, strategy_id=name, symbol=symbols[s], signal_type=kind,
                                strength=strength, order=terms)
                    for s, kind, strength, terms in by_bar.get(i, ()) if s < len(symbols) and first[s] <= i]
            return (state[0] + 1, state[1] + len(made)), (made if as_list else tuple(made))

        return (0, 0), step

    return Strategy(name=name, build=build, params=(("as_list", as_list), ("script", tuple(script))))


@st.composite
def scripted_strategies(draw: st.DrawFn, *, n_bars: int, n_symbols: int, name: str = "script",
                        max_signals: int = 25) -> Strategy[Any]:
    """A :func:`scripted` strategy sending random signals at random bars (for symbols that have started)."""
    entry = st.tuples(st.integers(0, max(0, n_bars - 1)), st.integers(0, max(0, n_symbols - 1)),
                      st.sampled_from(list(SignalType)))
    script = tuple(draw(st.lists(entry, max_size=max_signals), label=f"{name} script"))
    return scripted(name, script, as_list=draw(st.booleans()))


@st.composite
def scenarios(draw: st.DrawFn, *, min_bars: int = 1, max_bars: int = 60, max_strategies: int = 2,
              min_price: float = 0.5, max_price: float = 500.0) -> tuple[BarData, tuple[Strategy[Any], ...], Config]:
    """A whole run's inputs: :func:`bar_data`, 1-2 scripted strategies and a configuration."""
    data = draw(bar_data(min_bars=min_bars, max_bars=max_bars, min_price=min_price, max_price=max_price))
    n, n_sym = len(data), len(data.symbols)
    count = draw(st.integers(1, max_strategies))
    chosen = tuple(draw(scripted_strategies(n_bars=n, n_symbols=n_sym, name=f"script{k}")) for k in range(count))
    return data, chosen, draw(configs())
