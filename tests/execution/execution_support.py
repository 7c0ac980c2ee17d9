"""Shared helpers of the realistic-execution tests: OHLCV data, scripted strategies, event walks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

import fbt
from fbt.core.events import (
    Event,
    FillEvent,
    MarketEvent,
    OrderCancelled,
    OrderEvent,
    OrderRejected,
    OrderTerms,
    SignalEvent,
    SignalType,
)
from fbt.core.market import FIELDS, BarData, align
from fbt.core.state import World
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.loop import start
from fbt.kernel.step import make_step

DAY = 86_400 * 10**9
BASE = 1_262_304_000 * 10**9  # 2010-01-01
SYMBOLS = ("AAA", "BBB", "CCC")
F = {name: k for k, name in enumerate(FIELDS)}

#: A scripted entry: (bar, symbol index, signal type, strength, order terms or None)
Entry = tuple[int, int, SignalType, float, OrderTerms | None]


def bars_from(rows: Sequence[tuple[float, float, float, float, float]], *, adj: float = 1.0,
              symbol: str = "A", start: int = 0) -> BarData:
    """One symbol's daily bars from ``(open, high, low, close, volume)`` rows; ``adj_close = close * adj``."""
    o, h, low, c, v = (np.array(col, dtype=np.float64) for col in zip(*rows, strict=True))
    ts = BASE + (start + np.arange(len(rows), dtype=np.int64)) * DAY
    return align({symbol: (ts, {"open": o, "high": h, "low": low, "close": c, "adj_close": c * adj, "volume": v})},
                 time_format="date")


@st.composite
def ohlcv_data(draw: st.DrawFn, min_bars: int = 2, max_bars: int = 40) -> BarData:
    """1-3 symbols of consistent OHLCV bars (low <= open, close <= high), aligned by fbt.core.market.align.

    The first symbol trades every bar; the others start late and skip bars (forward filled). Some
    symbols have ``adj_close`` below ``close``; volume is sometimes zero.
    """
    n = draw(st.integers(min_bars, max_bars), label="n_bars")
    n_sym = draw(st.integers(1, 3), label="n_symbols")
    stamps = BASE + np.arange(n, dtype=np.int64) * DAY
    per: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
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


def scripted(name: str, script: Sequence[Entry]) -> Strategy[Any]:
    """A strategy that emits the scripted signals at their bars (for symbols that have started)."""
    by_bar: dict[int, list[tuple[int, SignalType, float, OrderTerms | None]]] = {}
    for bar, sym, kind, strength, terms in script:
        by_bar.setdefault(bar, []).append((sym, kind, strength, terms))

    def build(data: BarData) -> tuple[int, Callable[..., Any]]:
        symbols, first = data.symbols, data.first

        def step(state: int, event: MarketEvent) -> tuple[int, tuple[SignalEvent, ...]]:
            i = event.index
            signals = tuple(
                SignalEvent(timestamp=event.timestamp, strategy_id=name, symbol=symbols[s], signal_type=kind,
                            strength=strength, order=terms)
                for s, kind, strength, terms in by_bar.get(i, ())
                if s < len(symbols) and first[s] <= i
            )
            return state + 1, signals

        return 0, step

    return Strategy(name=name, build=build, params=(("script", tuple(map(repr, script))),))


def order_terms(price: float) -> st.SearchStrategy[OrderTerms | None]:
    """Order terms around a price: market, limit, stop, stop-limit, on open/close, day or GTC, brackets."""
    level = st.floats(0.5, 2.0).map(lambda k: round(price * k, 2))
    tif = st.sampled_from(list(fbt.TimeInForce))
    return st.one_of(
        st.none(),
        st.builds(lambda t: OrderTerms(order_type=t), st.sampled_from([fbt.OrderType.MKT, fbt.OrderType.MOO,
                                                                         fbt.OrderType.MOC])),
        st.builds(lambda p, t: OrderTerms(order_type=fbt.OrderType.LMT, limit_price=p, time_in_force=t), level, tif),
        st.builds(lambda p, t: OrderTerms(order_type=fbt.OrderType.STP, stop_price=p, time_in_force=t), level, tif),
        st.builds(lambda p, q, t: OrderTerms(order_type=fbt.OrderType.STP_LMT, stop_price=p, limit_price=q,
                                             time_in_force=t), level, level, tif),
        st.builds(lambda sl, tp: OrderTerms(stop_loss=sl, take_profit=tp), st.one_of(st.none(), level),
                  st.one_of(st.none(), level)),
    )


@st.composite
def scripts(draw: st.DrawFn, data: BarData, *, kinds: Sequence[SignalType] = tuple(SignalType),
            max_size: int = 25, terms: bool = True) -> list[Entry]:
    """Random signals over the data's bars and symbols."""
    n, n_sym = len(data), len(data.symbols)
    out: list[Entry] = []
    for _ in range(draw(st.integers(0, max_size))):
        bar = draw(st.integers(0, n - 1))
        sym = draw(st.integers(0, n_sym - 1))
        kind = draw(st.sampled_from(list(kinds)))
        strength = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]))
        chosen = None
        if terms and kind is not SignalType.CANCEL:
            price = float(data.values[F["close"], sym, bar]) if bar >= data.first[sym] else 10.0
            chosen = draw(order_terms(price))
            if kind is SignalType.EXIT and chosen is not None and chosen.bracket and (
                    chosen.order_type is not fbt.OrderType.MKT):
                chosen = None
        out.append((bar, sym, kind, strength, chosen))
    return out


def walk(strategies: Sequence[Strategy[Any]], data: BarData, config: Config) -> Iterator[tuple[int, Event, World]]:
    """Yield ``(bar, event, world after it)`` for every event the fold handles, market events included."""
    ctx, world = start(strategies, data, config)
    step = make_step(ctx)
    for i in range(len(data)):
        todo: list[Event] = [MarketEvent(i, data)]
        while todo:
            event = todo.pop(0)
            world, caused = step(world, event)
            todo.extend(caused)
            yield i, event, world


def events_of(run: fbt.Run, kind: type) -> list[tuple[int, Any]]:
    """The run's events of one type, with their bars."""
    return [(b, e) for b, e in zip(run.event_bars.tolist(), run.events, strict=True) if e.__class__ is kind]


__all__ = [
    "BASE",
    "DAY",
    "F",
    "FillEvent",
    "OrderCancelled",
    "OrderEvent",
    "OrderRejected",
    "bars_from",
    "events_of",
    "ohlcv_data",
    "order_terms",
    "scripted",
    "scripts",
    "walk",
]
