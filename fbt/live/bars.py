"""Live bar aggregation: a venue's short bars (IB's 5-second real-time bars) folded into closed bars.

:func:`aggregate` is a pure reducer ``(state, short bar) -> (state, closed bars)``, per symbol: a
bar of ``spec.size`` is emitted only once it is closed — when a short bar of a later period arrives,
when the short bar that ends the period arrives (its ``time + spec.source`` reaches the period's
end), or when :func:`tick` says a time at or past the period's end has come — never while it is
forming. Its OHLCV is the open of its first short bar, the highest high, the lowest low, the close
of its last and the sum of the volumes.

Labels follow the data's convention (the loaders keep a file's own labels, and IB's bars, like the
shared minute data, are labelled by the **start** of the period): ``label="start"`` (default) stamps
a bar with its period's first instant, ``"end"`` with the instant after its last (data sets
labelled by the period's end), ``"date"`` (one-day bars) with the local date at midnight UTC, as
daily files load. Periods are aligned to ``offset`` nanoseconds east of UTC (a fixed offset: the
exchange's standard time; a daylight-saving change is not followed).

A (symbol, period) is emitted at most once for as long as the state lives, also across
resubscriptions: the state keeps each symbol's last emitted period, and a short bar of an emitted
period, or one no later than the last short bar of the forming period (an overlap replayed after
a resubscription, a repeat), is dropped and counted in ``dropped``.

>>> spec = BarSpec(size=60 * SECOND)
>>> state = initial(spec)
>>> out = []
>>> for k in range(13):
...     state, closed = aggregate(state, RealTimeBar(symbol="A", time=k * 5 * SECOND, open=10 + k, high=11 + k,
...                                                  low=9 + k, close=10.5 + k, volume=100))
...     out += closed
>>> [(b.bar.timestamp, b.bar.open, b.bar.high, b.bar.low, b.bar.close, b.bar.volume, b.count) for b in out]
[(0, 10.0, 22.0, 9.0, 21.5, 1200.0, 12)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal

import attrs

from fbt.core.errors import ConfigError, DataError
from fbt.core.market import Bar

__all__ = ["DAY", "SECOND", "AggregatorState", "BarSpec", "ClosedBar", "Forming", "RealTimeBar", "aggregate",
           "initial", "parse_size", "tick"]

SECOND = 1_000_000_000
DAY = 86_400 * SECOND
_UNITS = {"s": SECOND, "sec": SECOND, "min": 60 * SECOND, "m": 60 * SECOND, "h": 3600 * SECOND, "d": DAY}


def parse_size(text: str) -> int:
    """Return a bar size such as ``5s``, ``1min``, ``15m``, ``1h`` or ``1d`` in nanoseconds.

    >>> parse_size("1min") // SECOND, parse_size("1d") == DAY
    (60, True)
    """
    match = re.fullmatch(r"\s*([1-9][0-9]*)\s*(s|sec|min|m|h|d)\s*", text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"bar size: expected a whole number and a unit (s, min, h, d) such as 1min, got {text!r}")
    return int(match[1]) * _UNITS[match[2]]


def _positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"bar spec: {attribute.name}: expected a positive whole number of nanoseconds, got {value!r}")


@attrs.frozen(kw_only=True)
class BarSpec:
    """The closed bars wanted: ``size`` and ``source`` (the short bars' size, IB's 5 s) in nanoseconds,
    the periods' ``offset`` east of UTC, and the ``label`` convention (see the module).

    >>> BarSpec(size=7 * SECOND)
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: bar spec: size: expected a whole multiple of the source bars' 5 s, got 7 s
    """

    size: int = attrs.field(validator=_positive)
    source: int = attrs.field(default=5 * SECOND, validator=_positive)
    offset: int = 0
    label: Literal["start", "end", "date"] = "start"

    def __attrs_post_init__(self) -> None:
        if self.size % self.source:
            raise ConfigError(f"bar spec: size: expected a whole multiple of the source bars' "
                              f"{self.source / SECOND:g} s, got {self.size / SECOND:g} s")
        if self.label not in ("start", "end", "date"):
            raise ConfigError(f"bar spec: label: expected start, end or date, got {self.label!r}")
        if self.label == "date" and self.size != DAY:
            raise ConfigError(f"bar spec: label: date labels need one-day bars, got {self.size / SECOND:g} s")
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or abs(self.offset) >= DAY:
            raise ConfigError(f"bar spec: offset: expected whole nanoseconds within a day, got {self.offset!r}")

    def period(self, time: int) -> int:
        """The index of the period holding ``time``."""
        return (time + self.offset) // self.size

    def end(self, period: int) -> int:
        """The first instant (UTC ns) after ``period``."""
        return (period + 1) * self.size - self.offset

    def period_of(self, label: int) -> int:
        """The period a bar labelled ``label`` stands for (the inverse of :meth:`stamp`).

        >>> spec = BarSpec(size=60 * SECOND, label="end")
        >>> spec.period_of(spec.stamp(7))
        7
        """
        if self.label == "date":
            return label // self.size
        return self.period(label - self.size if self.label == "end" else label)

    def stamp(self, period: int) -> int:
        """The label a bar of ``period`` carries."""
        if self.label == "date":
            return period * self.size
        if self.label == "end":
            return self.end(period)
        return period * self.size - self.offset


@attrs.frozen(kw_only=True)
class RealTimeBar:
    """One short bar of a symbol as the venue sends it; ``time`` is its start (IB's ``RealTimeBar.time``).

    IB sends a volume of -1 for instruments without volume (FX); it counts as 0.
    """

    symbol: str
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


@attrs.frozen(kw_only=True)
class Forming:
    """A symbol's bar still forming: its period, the times of its first and last short bars, OHLCV, count."""

    period: int
    first: int
    last: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    count: int


@attrs.frozen(kw_only=True)
class ClosedBar:
    """A closed bar of ``symbol`` (``adj_close`` is the close, ``open_interest`` 0, as loaders fill them),
    made of ``count`` short bars."""

    symbol: str
    bar: Bar
    count: int


@attrs.frozen(kw_only=True)
class AggregatorState:
    """Per symbol: the forming bar, the last emitted period, the short bars dropped (mappings never changed
    in place)."""

    spec: BarSpec
    forming: Mapping[str, Forming] = attrs.field(factory=dict)
    emitted: Mapping[str, int] = attrs.field(factory=dict)
    dropped: Mapping[str, int] = attrs.field(factory=dict)


def initial(spec: BarSpec, emitted: Mapping[str, int] | None = None) -> AggregatorState:
    """Return an empty aggregator; ``emitted`` (symbol to the label of its last bar, e.g. from a journal)
    makes a resumed session drop what it has emitted before.

    >>> spec = BarSpec(size=60 * SECOND)
    >>> s = initial(spec, {"A": 60 * SECOND})
    >>> aggregate(s, RealTimeBar(symbol="A", time=65 * SECOND, open=1, high=1, low=1, close=1))[0].dropped
    {'A': 1}
    """
    periods = {symbol: spec.period_of(label) for symbol, label in (emitted or {}).items()}
    return AggregatorState(spec=spec, emitted=periods)


def _check(b: RealTimeBar) -> float:
    prices = (b.open, b.high, b.low, b.close)
    if not all(isinstance(p, int | float) and math.isfinite(p) and p > 0 for p in prices):
        raise DataError(f"live bar {b.symbol} at {b.time}: expected positive finite prices, got {prices}")
    if not b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high:
        raise DataError(f"live bar {b.symbol} at {b.time}: expected low <= open, close <= high, got {prices}")
    if b.volume == -1:
        return 0.0
    if not (math.isfinite(b.volume) and b.volume >= 0):
        raise DataError(f"live bar {b.symbol} at {b.time}: volume: expected a finite number >= 0, got {b.volume!r}")
    return float(b.volume)


def _closed(spec: BarSpec, symbol: str, f: Forming) -> ClosedBar:
    bar = Bar(timestamp=spec.stamp(f.period), open=f.open, high=f.high, low=f.low, close=f.close,
              adj_close=f.close, volume=f.volume, open_interest=0.0)
    return ClosedBar(symbol=symbol, bar=bar, count=f.count)


def _drop(state: AggregatorState, symbol: str) -> AggregatorState:
    return attrs.evolve(state, dropped={**state.dropped, symbol: state.dropped.get(symbol, 0) + 1})


def _emit(state: AggregatorState, symbol: str, f: Forming) -> tuple[AggregatorState, ClosedBar]:
    forming = dict(state.forming)
    forming.pop(symbol, None)
    return attrs.evolve(state, forming=forming, emitted={**state.emitted, symbol: f.period}), _closed(
        state.spec, symbol, f)


def aggregate(state: AggregatorState, bar: RealTimeBar) -> tuple[AggregatorState, tuple[ClosedBar, ...]]:
    """Fold one short bar in; return the state and the bars it closed (oldest first)."""
    volume = _check(bar)
    spec, symbol = state.spec, bar.symbol
    p = spec.period(bar.time)
    last = state.emitted.get(symbol)
    if last is not None and p <= last:
        return _drop(state, symbol), ()
    out: list[ClosedBar] = []
    f = state.forming.get(symbol)
    if f is not None and (p < f.period or (p == f.period and bar.time <= f.last)):
        return _drop(state, symbol), ()  # late, repeated or replayed after a resubscription
    if f is not None and p > f.period:
        state, closed = _emit(state, symbol, f)
        out.append(closed)
        f = None
    if f is None:
        f = Forming(period=p, first=bar.time, last=bar.time, open=float(bar.open), high=float(bar.high),
                    low=float(bar.low), close=float(bar.close), volume=volume, count=1)
    else:
        f = Forming(period=p, first=f.first, last=bar.time, open=f.open, high=max(f.high, float(bar.high)),
                    low=min(f.low, float(bar.low)), close=float(bar.close), volume=f.volume + volume,
                    count=f.count + 1)
    if bar.time + spec.source >= spec.end(p):
        state, closed = _emit(state, symbol, f)
        out.append(closed)
    else:
        state = attrs.evolve(state, forming={**state.forming, symbol: f})
    return state, tuple(out)


def tick(state: AggregatorState, time: int) -> tuple[AggregatorState, tuple[ClosedBar, ...]]:
    """Close every forming bar whose period has ended by ``time`` (a boundary the session's clock or the
    venue reports; the reducer reads no clock). Bars come out by label, then symbol.

    >>> spec = BarSpec(size=60 * SECOND)
    >>> s, _ = aggregate(initial(spec), RealTimeBar(symbol="A", time=0, open=1, high=2, low=1, close=2, volume=5))
    >>> tick(s, 59 * SECOND)[1], tick(s, 60 * SECOND)[1][0].bar.volume
    ((), 5.0)
    """
    due = sorted((f.period, symbol) for symbol, f in state.forming.items() if state.spec.end(f.period) <= time)
    out: list[ClosedBar] = []
    for _, symbol in due:
        state, closed = _emit(state, symbol, state.forming[symbol])
        out.append(closed)
    return state, tuple(out)
