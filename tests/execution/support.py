"""Helpers of the realistic-execution tests: hand-written bars, walks through a run's events, a run's events
of one type. The generators (OHLCV data, order terms, signal scripts) are :mod:`fbt.testing`'s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import fbt
from fbt.core.events import Event, MarketEvent
from fbt.core.market import FIELDS, BarData, align
from fbt.core.state import World
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.loop import start
from fbt.kernel.step import make_step
from fbt.testing.strategies import BASE, DAY

#: The row of each field in ``BarData.values``.
F = {name: k for k, name in enumerate(FIELDS)}


def bars_from(rows: Sequence[tuple[float, float, float, float, float]], *, adj: float = 1.0,
              symbol: str = "A", start: int = 0) -> BarData:
    """One symbol's daily bars from ``(open, high, low, close, volume)`` rows; ``adj_close = close * adj``."""
    o, h, low, c, v = (np.array(col, dtype=np.float64) for col in zip(*rows, strict=True))
    ts = BASE + (start + np.arange(len(rows), dtype=np.int64)) * DAY
    return align({symbol: (ts, {"open": o, "high": h, "low": low, "close": c, "adj_close": c * adj, "volume": v})},
                 time_format="date")


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


__all__ = ["BASE", "DAY", "F", "bars_from", "events_of", "walk"]
