"""Live bars: feeds of closed bars, and the tape that turns them into the market data strategies read.

A feed yields closed bars only, each once, as :class:`~fbt.journal.MarketRecord` (the bar's own
label and each symbol's real bar at it). ``replay:DIR`` (:class:`ReplayFeed`) plays a data directory
as ``fbt run --data DIR`` loads it (:func:`fbt.load_dir`), bar by bar, as fast as they come.

``ib`` (:class:`IBFeed`) aggregates the venue's 5-second real-time bars into closed bars of
``--bar-size`` (:mod:`fbt.live.bars`), labelled as the shared data are (by the period's start). A
bar time is yielded once it is closed for every symbol: when each symbol has closed that period
(its last 5-second bar came), or a 5-second bar of a later period has come (a symbol without a
5-second bar in the period has no real bar there, as a symbol missing from a data file's row). The
pure reducer :func:`close_bars` decides it. A restart replays the journal's bars first and seeds the
aggregator with the last of them, so no (symbol, bar) is yielded twice, also across the venue's
resubscriptions; a symbol whose first 5-second bar comes in the middle of a period (the feed joined
late) has no bar for that period rather than a partial one.

:class:`Tape` holds the bars seen and builds, for each new bar, the window a live step folds over:
the strategies' declared lookback of history and the new bar, forward filled exactly as the loaders
align symbols, so an indicator computed on the window has the value it has on the whole data
(the rule :func:`fbt.run_stream` streams by; a strategy without a lookback is refused with its message).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import attrs
import numpy as np

from fbt.core.errors import ConfigError
from fbt.core.market import FIELDS, Bar, BarData
from fbt.io.loaders import load_dir
from fbt.journal import MarketRecord, market_record, read_journal
from fbt.live.bars import AggregatorState, BarSpec, RealTimeBar, aggregate, initial, parse_size, tick

__all__ = ["BarSource", "Feed", "FeedState", "IBFeed", "ReplayFeed", "Tape", "close_bars", "feed_from",
           "feed_state"]


class Feed(Protocol):
    """A source of closed bars for a fixed list of symbols."""

    symbols: tuple[str, ...]
    time_format: str

    def bars(self) -> AsyncIterator[MarketRecord]:
        """Yield each closed bar once, in time order (``bar`` counts from 0)."""
        ...


class ReplayFeed:
    """Recorded bars played as a live feed: a data directory loaded as ``fbt run --data DIR`` does."""

    def __init__(self, directory: str | os.PathLike[str], symbols: Sequence[str] | None = None) -> None:
        self.data = load_dir(directory, list(symbols) if symbols else None)
        self.symbols = self.data.symbols
        self.time_format = self.data.time_format

    async def bars(self) -> AsyncIterator[MarketRecord]:
        """Yield every bar of the data, in order."""
        for i in range(len(self.data)):
            yield market_record(self.data, i)


class BarSource(Protocol):
    """A venue's short bars (:class:`fbt.live.ib.IBAdapter` is one)."""

    def is_connected(self) -> bool:
        """Whether the connection is up."""
        ...

    async def connect(self) -> None:
        """Open the connection."""

    async def close(self) -> None:
        """Close the connection."""

    def realtime_bars(self, symbols: Sequence[str]) -> AsyncIterator[RealTimeBar]:
        """The symbols' short bars in arrival order (resubscribed by the source after a fault)."""
        ...


@attrs.frozen(kw_only=True)
class FeedState:
    """:func:`close_bars`' state: the aggregator, the bars closed but not yet yielded (period to each
    symbol's bar), the last period yielded, the latest short bar's time, the next bar index, and per
    symbol whether its first short bar came (``joined``) and the period it joined in the middle of."""

    aggregator: AggregatorState
    symbols: tuple[str, ...]
    pending: Mapping[int, Mapping[str, Bar]] = attrs.field(factory=dict)
    released: int | None = None
    latest: int | None = None
    index: int = 0
    joined: Mapping[str, int | None] = attrs.field(factory=dict)


def feed_state(spec: BarSpec, symbols: Sequence[str], journalled: Sequence[MarketRecord] = ()) -> FeedState:
    """The state of a feed of ``symbols`` that has yielded ``journalled`` (a resumed session's bars):
    every symbol's periods up to the last journalled bar count as emitted.

    >>> from fbt.live.bars import SECOND
    >>> s = feed_state(BarSpec(size=60 * SECOND), ["A"], [MarketRecord(bar=0, timestamp=120 * SECOND, bars=())])
    >>> s.released, s.index, s.aggregator.emitted
    (2, 1, {'A': 2})
    """
    if not journalled:
        return FeedState(aggregator=initial(spec), symbols=tuple(symbols))
    last = journalled[-1].timestamp
    return FeedState(aggregator=initial(spec, {s: last for s in symbols}), symbols=tuple(symbols),
                     released=spec.period_of(last), index=len(journalled))


def close_bars(state: FeedState, short: RealTimeBar) -> tuple[FeedState, tuple[MarketRecord, ...]]:
    """Fold one short bar in; return the state and the bar times it closed, as market records (oldest first).

    A pure reducer: the bar is aggregated (:func:`fbt.live.bars.aggregate`), every symbol's bar whose
    period ended by the latest short bar's time is closed (:func:`fbt.live.bars.tick`), and a period
    is yielded once every symbol has closed it or a later period has begun. A symbol's bar of a period
    already yielded (a late bar) and the bar of the period a symbol joined in the middle of are dropped.

    >>> from fbt.live.bars import SECOND
    >>> s = feed_state(BarSpec(size=10 * SECOND), ["A", "B"])
    >>> s, out = close_bars(s, RealTimeBar(symbol="A", time=0, open=1, high=1, low=1, close=1))
    >>> s, out = close_bars(s, RealTimeBar(symbol="A", time=5 * SECOND, open=2, high=2, low=2, close=2))
    >>> out  # A has closed the first period, B not yet
    ()
    >>> s, out = close_bars(s, RealTimeBar(symbol="B", time=10 * SECOND, open=3, high=3, low=3, close=3))
    >>> [(r.bar, r.timestamp, [(sym, b.open, b.close) for sym, b in r.bars]) for r in out]
    [(0, 0, [('A', 1.0, 2.0)])]
    """
    spec = state.aggregator.spec
    joined = state.joined
    if short.symbol not in joined:
        period = spec.period(short.time)
        start = spec.end(period) - spec.size
        joined = {**joined, short.symbol: period if short.time != start else None}
    latest = short.time if state.latest is None else max(state.latest, short.time)
    agg, closed = aggregate(state.aggregator, short)
    agg, more = tick(agg, latest)
    pending = {p: dict(bars) for p, bars in state.pending.items()}
    for c in (*closed, *more):
        p = spec.period_of(c.bar.timestamp)
        if (state.released is not None and p <= state.released) or joined.get(c.symbol) == p:
            continue
        pending.setdefault(p, {})[c.symbol] = c.bar
    out: list[MarketRecord] = []
    released, index = state.released, state.index
    for p in sorted(pending):
        done = spec.end(p) <= latest or all(agg.emitted.get(s, p - 1) >= p for s in state.symbols)
        if not done:
            break
        bars = pending.pop(p)
        label = spec.stamp(p)
        out.append(MarketRecord(bar=index, timestamp=label,
                                bars=tuple((s, bars[s]) for s in state.symbols if s in bars)))
        released, index = p, index + 1
    return attrs.evolve(state, aggregator=agg, pending=pending, released=released, latest=latest, index=index,
                        joined=joined), tuple(out)


class IBFeed:
    """Closed bars of ``spec`` made from a venue's 5-second bars (see the module); ``journal`` is the
    session's journal, whose bars are yielded first when it resumes. ``idle`` ends the feed after that
    many seconds without a short bar (None: it ends when the source closes). The source is connected
    here unless the session already connected it (the same adapter as the broker)."""

    def __init__(self, source: BarSource, symbols: Sequence[str], spec: BarSpec,
                 journal: str | os.PathLike[str] | None = None, *, idle: float | None = None) -> None:
        if not symbols:
            raise ConfigError("--feed ib: expected --symbols, the symbols to subscribe")
        if idle is not None and not (isinstance(idle, int | float) and 0 < idle < float("inf")):
            raise ConfigError(f"idle: expected a positive number of seconds, got {idle!r}")
        self.source = source
        self.symbols = tuple(symbols)
        self.spec = spec
        self.journal = Path(journal) if journal is not None else None
        self.idle = idle
        self.time_format = "date" if spec.label == "date" else "datetime"
        self.state: FeedState | None = None

    def journalled(self) -> list[MarketRecord]:
        """The bars of the journal being resumed (none for a new session)."""
        path = self.journal
        if path is None or not path.exists() or b"\n" not in path.read_bytes()[:1 << 20]:
            return []
        markets = list(read_journal(path, tolerant=True).markets)
        for r in markets:
            if self.spec.stamp(self.spec.period_of(r.timestamp)) != r.timestamp:
                raise ConfigError(f"{path}: bar {r.bar} at {r.timestamp} is not a bar of "
                                  f"{self.spec.size // 10**9} s; resume with the --bar-size the journal was made with")
        return markets

    async def bars(self) -> AsyncIterator[MarketRecord]:
        """Yield the journal's bars, then each closed bar once, as it closes."""
        journalled = self.journalled()
        owned = not self.source.is_connected()
        if owned:
            await self.source.connect()
        try:
            for record in journalled:
                yield record
            state = feed_state(self.spec, self.symbols, journalled)
            stream = aiter(self.source.realtime_bars(self.symbols))
            while True:
                try:
                    short = await asyncio.wait_for(anext(stream), self.idle)
                except (StopAsyncIteration, TimeoutError):
                    break
                state, records = close_bars(state, short)
                self.state = state
                for record in records:
                    yield record
        finally:
            if owned:
                await self.source.close()


def feed_from(spec: str, symbols: Sequence[str] | None = None, *, source: BarSource | None = None,
              journal: str | os.PathLike[str] | None = None, bar_size: str = "1min",
              idle: float | None = None) -> Feed:
    """Make the feed ``--feed`` names: ``replay:DIR``, or ``ib`` (bars of ``bar_size`` from ``source``,
    an :class:`fbt.live.ib.IBAdapter`, resuming after ``journal``'s bars; see :class:`IBFeed`)."""
    kind, _, rest = spec.partition(":")
    if kind == "replay" and rest:
        return ReplayFeed(rest, symbols)
    if kind == "ib" and not rest:
        if source is None:
            raise ConfigError("--feed ib: needs a connection to TWS or IB Gateway (--host, --port, --client-id)")
        return IBFeed(source, symbols or (), BarSpec(size=parse_size(bar_size)), journal, idle=idle)
    raise ConfigError(f"--feed: expected replay:DIR or ib, got {spec!r}")


class Tape:
    """The bars a session has seen, forward filled per symbol; windows of them as :class:`BarData`."""

    def __init__(self, symbols: Sequence[str], time_format: str, history: int) -> None:
        self.symbols = tuple(symbols)
        self.time_format = time_format
        self.history = history
        self._index = {s: k for k, s in enumerate(self.symbols)}
        self._last = np.full((len(FIELDS), len(self.symbols)), np.nan)
        self._values: list[np.ndarray] = []
        self._real: list[np.ndarray] = []
        self._times: list[int] = []
        self._first: list[int | None] = [None] * len(self.symbols)

    def __len__(self) -> int:
        return len(self._times)

    def add(self, record: MarketRecord) -> None:
        """Take the next closed bar (its index must be the next one, its time later than the last)."""
        if record.bar != len(self._times):
            raise ConfigError(f"bar {record.bar}: expected bar {len(self._times)} next")
        if self._times and record.timestamp <= self._times[-1]:
            raise ConfigError(f"bar {record.bar}: its time {record.timestamp} is not after the last bar's")
        real = np.zeros(len(self.symbols), dtype=bool)
        for symbol, bar in record.bars:
            s = self._index.get(symbol)
            if s is None:
                raise ConfigError(f"bar {record.bar}: unknown symbol {symbol!r}; the session trades "
                                  f"{', '.join(self.symbols)}")
            real[s] = True
            self._last[:, s] = [getattr(bar, f) for f in FIELDS]
            if self._first[s] is None:
                self._first[s] = record.bar
        self._values.append(self._last.copy())
        self._real.append(real)
        self._times.append(record.timestamp)

    def _data(self, lo: int) -> BarData:
        hi = len(self._times)
        values = np.stack(self._values[lo:hi], axis=2) if hi > lo else np.zeros((len(FIELDS), len(self.symbols), 0))
        real = np.stack(self._real[lo:hi], axis=1) if hi > lo else np.zeros((len(self.symbols), 0), dtype=bool)
        ts = np.asarray(self._times[lo:hi], dtype=np.int64)
        for a in (values, real, ts):
            a.flags.writeable = False
        n = hi - lo
        first = tuple(n if f is None else max(0, f - lo) for f in self._first)
        return BarData(symbols=self.symbols, timestamps=ts, values=values, real=real, first=first,
                       time_format=self.time_format)

    def window(self) -> tuple[BarData, int]:
        """The latest bar with ``history`` bars before it (fewer at the start), and its index in it."""
        lo = max(0, len(self._times) - 1 - self.history)
        return self._data(lo), len(self._times) - 1 - lo

    def data(self) -> BarData:
        """Every bar seen, as one :class:`BarData` (what ``fbt run`` loads from the same bars)."""
        return self._data(0)
