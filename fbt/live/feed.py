"""Live bars: feeds of closed bars, and the tape that turns them into the market data strategies read.

A feed yields closed bars only, each once, as :class:`~fbt.journal.MarketRecord` (the bar's own
label and each symbol's real bar at it). ``replay:DIR`` (:class:`ReplayFeed`) plays a data directory
as ``fbt run --data DIR`` loads it (:func:`fbt.load_dir`), bar by bar, as fast as they come.

:class:`Tape` holds the bars seen and builds, for each new bar, the window a live step folds over:
the strategies' declared lookback of history and the new bar, forward filled exactly as the loaders
align symbols, so an indicator computed on the window has the value it has on the whole data
(the rule :func:`fbt.run_stream` streams by; a strategy without a lookback is refused with its message).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import numpy as np

from fbt.core.errors import ConfigError
from fbt.core.market import FIELDS, BarData
from fbt.io.loaders import load_dir
from fbt.journal import MarketRecord, market_record

__all__ = ["Feed", "ReplayFeed", "Tape", "feed_from"]


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


def feed_from(spec: str, symbols: Sequence[str] | None = None) -> Feed:
    """Make the feed ``--feed`` names: ``replay:DIR`` (or ``ib``, through :mod:`fbt.live.ib`)."""
    kind, _, rest = spec.partition(":")
    if kind == "replay" and rest:
        return ReplayFeed(rest, symbols)
    if kind == "ib":
        raise ConfigError("--feed ib: live bars from Interactive Brokers are not wired into the session yet; "
                          "use --feed replay:DIR")
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
