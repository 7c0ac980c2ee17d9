"""The run's event log in memory: :class:`Journal`, built from a run or rebuilt into market data."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.events import Event
from fbt.core.market import FIELDS, BarData
from fbt.journal.codec import JournalError, canonical_json, encode_record
from fbt.journal.fingerprint import _header_for, as_run, fingerprints
from fbt.journal.record import Entry, JournalHeader, MarketRecord, Note
from fbt.journal.writer import JournalWriter


@attrs.frozen(eq=False, kw_only=True)
class Journal:
    """A run's event log in memory: the header, the events in order with their bars, the hashes.

    ``events[k]`` has sequence number ``k`` and was handled at bar ``event_bars[k]``; ``markets``
    holds the inline market lines of a live session's journal (empty when journalled by reference),
    ``notes`` its note lines (order intents, broker messages). Read tolerantly after a crash
    (:func:`~fbt.journal.read_journal`), ``closed`` is False when the trailer is missing and ``torn``
    the line number of a last line cut short and dropped; ``size`` is the byte length of the whole
    lines before the trailer (where a resumed session appends).
    """

    header: JournalHeader
    events: tuple[Event, ...]
    event_bars: npt.NDArray[np.int64]
    events_fingerprint: str
    markets: tuple[MarketRecord, ...] = ()
    market_fingerprint: str | None = None
    notes: tuple[Note, ...] = ()
    torn: int | None = None
    size: int = 0
    closed: bool = True

    def __len__(self) -> int:
        return len(self.events)

    def entries(self) -> Iterator[Entry]:
        """Yield every event with its sequence number and bar."""
        for seq, (bar, event) in enumerate(zip(self.event_bars.tolist(), self.events, strict=True)):
            yield Entry(seq=seq, bar=bar, event=event)

    def write(self, path: str | os.PathLike[str], *, sync: bool = False) -> Path:
        """Write the journal to ``path`` (whole or not at all) and return the path.

        The trailer's hash is computed from the events written (``events_fingerprint`` is not read).
        """
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            with JournalWriter(tmp, self.header, sync=sync, compress=target.name.endswith(".gz")) as writer:
                bars = self.event_bars.tolist()
                k = 0
                for market in self.markets:
                    j = k
                    while j < len(bars) and bars[j] < market.bar:
                        j += 1
                    writer.extend(self.events[k:j], bars[k:j])
                    k = j
                    writer.append_market(market)
                writer.extend(self.events[k:], self.event_bars[k:])
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        return target

    def to_frame(self) -> Any:
        """Return the events as a ``pandas.DataFrame``: ``seq``, ``bar``, ``type`` and one column per
        field name across the event types (enums by value, records as canonical JSON, absent as None)."""
        import pandas as pd  # the shell's library: only this export needs it

        rows: list[dict[str, object]] = []
        columns: dict[str, None] = {}
        for seq, (bar, event) in enumerate(zip(self.event_bars.tolist(), self.events, strict=True)):
            row: dict[str, object] = {"seq": seq, "bar": bar, "type": type(event).__name__}
            fields = encode_record(event)["fields"]
            assert isinstance(fields, dict)
            for name, value in fields.items():
                row[name] = canonical_json(value) if isinstance(value, dict | list) else value
                columns[name] = None
            rows.append(row)
        return pd.DataFrame(rows, columns=["seq", "bar", "type", *columns])

    def write_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_frame` as Parquet (needs ``pyarrow``: ``pip install 'fbt[parquet]'``)."""
        target = Path(path)
        self.to_frame().to_parquet(target, index=False)
        return target

    def market_data(self) -> BarData:
        """Rebuild the market data from the inline market lines (forward filled, as loaders do)."""
        if not self.markets:
            raise JournalError("the journal holds its market data by reference (no inline bars): pass the data")
        return _market_data(self.header, self.markets)


def journal_of(source: object) -> Journal:
    """Return a run's journal in memory (from an ``fbt.Result`` or a fold ``Run``)."""
    run = as_run(source)
    return Journal(
        header=_header_for(run, "reference"),
        events=run.events,
        event_bars=run.event_bars,
        events_fingerprint=fingerprints(run).events_fingerprint,
    )


def _market_data(header: JournalHeader, markets: Sequence[MarketRecord]) -> BarData:
    n, symbols = len(markets), header.symbols
    ts = np.array([m.timestamp for m in markets], dtype=np.int64)
    if n > 1 and not (np.diff(ts) > 0).all():
        raise JournalError("the journal's market lines are not in increasing time order")
    columns = {f: np.full((len(symbols), n), np.nan) for f in FIELDS}
    real = np.zeros((len(symbols), n), dtype=bool)
    index = {s: k for k, s in enumerate(symbols)}
    for m in markets:
        for symbol, bar in m.bars:
            s = index[symbol]
            real[s, m.bar] = True
            for f in FIELDS:
                columns[f][s, m.bar] = getattr(bar, f)
    last = np.where(real, np.arange(n), -1)
    np.maximum.accumulate(last, axis=1, out=last)
    for f in FIELDS:
        col = columns[f]
        for s in range(len(symbols)):
            started = last[s] >= 0
            col[s, started] = col[s, last[s, started]]
    return BarData.from_columns(symbols=symbols, timestamps=ts, columns=columns, real=real,
                                time_format=header.time_format)
