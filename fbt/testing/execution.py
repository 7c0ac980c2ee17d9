"""Hypothesis strategies for tests of the realistic execution modes: bars on a cent grid with wide
opening gaps and stepped volumes, order terms of every type around a price, and random signal
scripts with strengths and order terms for :func:`fbt.testing.strategies.scripted`.

>>> from hypothesis import given, settings
>>> from fbt.kernel.config import Config
>>> from fbt.kernel.loop import fold
>>> from fbt.models.fill import Execution
>>> from fbt.testing.strategies import scripted
>>> @settings(max_examples=5, deadline=None)
... @given(data=ohlcv_data(max_bars=10), pick=st.data())
... def test_next_open_runs(data, pick):
...     script = pick.draw(signal_scripts(data))
...     fold([scripted("s", script)], data, Config(execution=Execution.NEXT_OPEN))
>>> test_next_open_runs()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from fbt.core.events import OrderTerms, OrderType, SignalType, TimeInForce
from fbt.core.market import FIELDS, BarData, align
from fbt.testing.strategies import BASE, DAY, SYMBOLS, ScriptEntry

__all__ = ["ohlcv_data", "order_terms", "signal_scripts"]

_CLOSE = FIELDS.index("close")


@st.composite
def ohlcv_data(draw: st.DrawFn, *, min_bars: int = 2, max_bars: int = 40) -> BarData:
    """1-3 symbols of consistent OHLCV daily bars (``low <= open, close <= high``) on a cent grid.

    Closes are 1.00 .. 200.00; the open moves up to 3.00 from the close (at least 0.50), high and low
    up to 3.00 beyond them (low at least 0.25), so orders' levels are gapped through; volume is one of
    0, 50, 300, 1,000 and 100,000 (volume limits bind). The first symbol trades every bar; the others
    start late and skip bars (forward filled). Some symbols have ``adj_close`` below ``close``.
    """
    n = draw(st.integers(min_bars, max_bars), label="n_bars")
    n_sym = draw(st.integers(1, 3), label="n_symbols")
    stamps = BASE + np.arange(n, dtype=np.int64) * DAY
    per: dict[str, tuple[Any, dict[str, Any]]] = {}
    for s in range(n_sym):
        if s == 0:
            rows = list(range(n))
        else:
            begin = draw(st.integers(0, n - 1))
            keep = draw(st.lists(st.booleans(), min_size=n - begin - 1, max_size=n - begin - 1))
            rows = [begin] + [begin + 1 + j for j, k in enumerate(keep) if k]
        m = len(rows)
        cents = draw(st.lists(st.integers(100, 20_000), min_size=m, max_size=m))
        close = np.array(cents, dtype=np.float64) / 100
        moves = draw(st.lists(st.tuples(st.integers(-300, 300), st.integers(0, 300), st.integers(0, 300)),
                              min_size=m, max_size=m))
        open_ = np.maximum(close + np.array([a for a, _, _ in moves]) / 100, 0.5)
        high = np.maximum(open_, close) + np.array([b for _, b, _ in moves]) / 100
        low = np.maximum(np.minimum(open_, close) - np.array([c for _, _, c in moves]) / 100, 0.25)
        volume = np.array(draw(st.lists(st.sampled_from([0.0, 50.0, 300.0, 1_000.0, 100_000.0]),
                                        min_size=m, max_size=m)))
        factor = draw(st.sampled_from([1.0, 1.0, 0.9, 0.75]))
        cols = {"open": open_, "high": high, "low": low, "close": close, "adj_close": close * factor,
                "volume": volume}
        per[SYMBOLS[s]] = (stamps[rows], cols)
    return align(per, time_format="date")


def order_terms(price: float) -> st.SearchStrategy[OrderTerms | None]:
    """Order terms around a price: none (the book's market order), market, on open or close, limit,
    stop and stop-limit (day or good till cancelled) at 0.5 .. 2 times the price, and brackets."""
    level = st.floats(0.5, 2.0).map(lambda k: round(price * k, 2))
    tif = st.sampled_from(list(TimeInForce))
    return st.one_of(
        st.none(),
        st.builds(lambda t: OrderTerms(order_type=t), st.sampled_from([OrderType.MKT, OrderType.MOO, OrderType.MOC])),
        st.builds(lambda p, t: OrderTerms(order_type=OrderType.LMT, limit_price=p, time_in_force=t), level, tif),
        st.builds(lambda p, t: OrderTerms(order_type=OrderType.STP, stop_price=p, time_in_force=t), level, tif),
        st.builds(lambda p, q, t: OrderTerms(order_type=OrderType.STP_LMT, stop_price=p, limit_price=q,
                                             time_in_force=t), level, level, tif),
        st.builds(lambda sl, tp: OrderTerms(stop_loss=sl, take_profit=tp), st.one_of(st.none(), level),
                  st.one_of(st.none(), level)),
    )


@st.composite
def signal_scripts(draw: st.DrawFn, data: BarData, *, kinds: Sequence[SignalType] = tuple(SignalType),
                   max_size: int = 25, terms: bool = True) -> list[ScriptEntry]:
    """Up to ``max_size`` random signals over the data's bars and symbols, each with a strength (1, 0.5
    or 2) and, with ``terms``, :func:`order_terms` around the symbol's close at that bar (10.00 before
    the symbol starts); CANCEL signals take no terms, nor EXITs with a bracket on a non-market order."""
    n, n_sym = len(data), len(data.symbols)
    out: list[ScriptEntry] = []
    for _ in range(draw(st.integers(0, max_size))):
        bar = draw(st.integers(0, n - 1))
        sym = draw(st.integers(0, n_sym - 1))
        kind = draw(st.sampled_from(list(kinds)))
        strength = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]))
        chosen = None
        if terms and kind is not SignalType.CANCEL:
            price = float(data.values[_CLOSE, sym, bar]) if bar >= data.first[sym] else 10.0
            chosen = draw(order_terms(price))
            if kind is SignalType.EXIT and chosen is not None and chosen.bracket and (
                    chosen.order_type is not OrderType.MKT):
                chosen = None
        out.append((bar, sym, kind, strength, chosen))
    return out
