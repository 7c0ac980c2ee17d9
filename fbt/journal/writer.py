"""Writing journals: the streaming :class:`JournalWriter` and the one-call writers."""

from __future__ import annotations

import gzip
import hashlib
import os
import typing
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from fbt.core.events import Event
from fbt.core.market import FIELDS, Bar, BarData
from fbt.journal.blocks import BLOCK, SHORTEST, encode_block
from fbt.journal.codec import JOURNAL_FILE, JournalError, _event_line, canonical_json, encode_record
from fbt.journal.fingerprint import _DATA_FINGERPRINTS, _RUN_FINGERPRINTS, _header_for, as_run, data_fingerprint
from fbt.journal.record import Fingerprints, JournalHeader, MarketRecord

if TYPE_CHECKING:
    from fbt.journal.log import Journal

#: How many events :meth:`JournalWriter.extend` encodes, writes and hashes at a time.
_BATCH = BLOCK

# --- writing ------------------------------------------------------------------------------------


class JournalWriter:
    """Write a journal a line at a time: the header on opening, then events (and, in a live session,
    inline market lines), then the trailer on :meth:`close`.

    Each line is one ``write``; with ``sync=True`` it is flushed and fsynced before the call
    returns (with ``flush=True`` flushed only: a killed process loses nothing, a power cut may), so
    a crash loses at most the line being written (and the trailer). ``compress=True``
    (the default for a path ending in ``.gz``) writes gzip, reproducibly (no name or time in it).
    """

    def __init__(self, path: str | os.PathLike[str], header: JournalHeader, *, sync: bool = False,
                 compress: bool | None = None, resume: Journal | None = None, flush: bool = False) -> None:
        self.path = Path(path)
        self._flush = flush or sync
        if resume is not None:
            self._sync = sync
            self._resume(resume)
            return
        self._sync = sync
        self._raw: IO[bytes] | None = None
        self._file: IO[bytes] | None
        if compress if compress is not None else self.path.name.endswith(".gz"):
            self._raw = open(self.path, "wb")  # noqa: SIM115
            self._file = typing.cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0))
        else:
            self._file = open(self.path, "wb")  # noqa: SIM115
        self._events = hashlib.sha256()
        self._markets = hashlib.sha256()
        self._count = 0
        self._market_count = 0
        self._last_bar = -1
        self.events_fingerprint: str | None = None
        self._line(canonical_json(header.to_plain()))

    def _resume(self, journal: Journal) -> None:
        """Reopen a plain journal read tolerantly and append after its last whole line (the trailer,
        a torn line and anything after them cut off); the hashes and counts go on from its lines."""
        self._raw = None
        self._file = open(self.path, "r+b")  # noqa: SIM115
        self._file.seek(journal.size)
        self._file.truncate()
        self._events = hashlib.sha256()
        self._markets = hashlib.sha256()
        for lo in range(0, len(journal.events), _BATCH):
            hi = lo + _BATCH
            self._events.update(encode_block(lo, journal.event_bars[lo:hi], journal.events[lo:hi]))
        for market in journal.markets:
            self._markets.update(_market_line(market).encode() + b"\n")
        self._count = len(journal.events)
        self._market_count = len(journal.markets)
        last = [*journal.event_bars.tolist()[-1:], *(m.bar for m in journal.markets[-1:]),
                *(n.bar for n in journal.notes[-1:])]
        self._last_bar = max(last, default=-1)
        self.events_fingerprint = None
        if self._sync:
            self._file.flush()
            os.fsync(self._file.fileno())

    def _line(self, text: str) -> None:
        if self._file is None:
            raise JournalError(f"{self.path}: the journal is closed")
        self._file.write((text + "\n").encode("utf-8"))
        if self._flush:
            self._file.flush()
        if self._sync:
            os.fsync(self._file.fileno() if self._raw is None else self._raw.fileno())

    def append(self, event: Event, *, bar: int) -> int:
        """Journal one event handled at ``bar``; return its sequence number."""
        if bar < self._last_bar:
            raise JournalError(f"{self.path}: event at bar {bar} after an event at bar {self._last_bar}")
        self._last_bar = bar
        seq = self._count
        line = _event_line(seq, bar, event)
        self._line(line)
        self._events.update(line.encode())
        self._events.update(b"\n")
        self._count += 1
        return seq

    def extend(self, events: Sequence[Event], bars: Sequence[int] | npt.NDArray[np.integer[Any]]) -> None:
        """Journal many events, each handled at its bar, in order: the same lines as :meth:`append`
        one by one, encoded, written and hashed a block at a time (:func:`~fbt.journal.blocks.encode_block`)."""
        if len(events) != len(bars):
            raise JournalError(f"{self.path}: {len(events)} events but {len(bars)} bars")
        if self._file is None:
            raise JournalError(f"{self.path}: the journal is closed")
        for lo in range(0, len(events), _BATCH):
            chunk, where = events[lo : lo + _BATCH], bars[lo : lo + _BATCH]
            self._check_order(where)
            self._put(encode_block(self._count, where, chunk), len(chunk), where)

    def _put(self, block: bytes | memoryview, count: int, where: Sequence[int] | npt.NDArray[np.integer[Any]]) -> None:
        """Write and hash one encoded block of ``count`` events handled at bars ``where``."""
        assert self._file is not None
        self._file.write(block)
        if self._flush:
            self._file.flush()
        if self._sync:
            os.fsync(self._file.fileno() if self._raw is None else self._raw.fileno())
        self._events.update(block)
        self._count += count
        self._last_bar = int(where[-1])

    def _check_order(self, where: Sequence[int] | npt.NDArray[np.integer[Any]]) -> None:
        """Raise unless the bars do not decrease (from the last line's bar on)."""
        last = self._last_bar
        bars = np.asarray(where)
        if (bars.ndim == 1 and bars.dtype.kind in "iu"
                and (not len(bars) or (bars[0] >= last and (bars[1:] >= bars[:-1]).all()))):
            return
        previous = [last, *where[:-1]]
        for b, p in zip(where, previous, strict=True):
            if b < p:
                raise JournalError(f"{self.path}: event at bar {b} after an event at bar {p}")

    def append_market(self, market: MarketRecord) -> None:
        """Journal one bar in full (a live session's market event)."""
        if market.bar != self._market_count:
            raise JournalError(f"{self.path}: market line for bar {market.bar}, expected bar {self._market_count}")
        line = _market_line(market)
        self._line(line)
        self._markets.update(line.encode())
        self._markets.update(b"\n")
        self._market_count += 1
        self._last_bar = market.bar

    def append_note(self, record: object, *, bar: int) -> None:
        """Journal one note (a live session's own record: an order intent, a broker message) at ``bar``.

        Notes are not events: they take no ``seq`` and do not enter the events hash.
        """
        if bar < self._last_bar:
            raise JournalError(f"{self.path}: note at bar {bar} after a line at bar {self._last_bar}")
        self._last_bar = bar
        self._line(canonical_json({"type": "note", "bar": bar, "record": encode_record(record)}))

    def close(self) -> str:
        """Write the trailer, close the file and return the events fingerprint."""
        if self._file is None:
            assert self.events_fingerprint is not None
            return self.events_fingerprint
        digest = self._events.hexdigest()
        self._line(canonical_json({
            "type": "trailer", "count": self._count, "events_fingerprint": digest,
            "market_count": self._market_count,
            "market_fingerprint": self._markets.hexdigest() if self._market_count else None,
        }))
        self._shut()
        self.events_fingerprint = digest
        return digest

    def abandon(self) -> None:
        """Close the file without a trailer (a session that stops on an error: readers see it unfinished)."""
        self._shut()

    def _shut(self) -> None:
        if self._file is not None:
            if self._raw is not None:  # gzip: a sync flush before the end, as closing a text layer over it did
                self._file.flush()
            self._file.close()
            self._file = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.close()
        else:  # leave the journal without a trailer: readers see it is incomplete
            self._shut()


def _market_line(market: MarketRecord) -> str:
    return canonical_json({"type": "MarketEvent", "bar": market.bar, "bar_data": {
        "timestamp": market.timestamp,
        "bars": {symbol: {f: getattr(b, f) for f in FIELDS} for symbol, b in market.bars},
    }})


def market_record(data: BarData, bar: int) -> MarketRecord:
    """Return bar ``bar`` of the data as an inline market record (the symbols with a real bar)."""
    values, ts = data.values, int(data.timestamps[bar])
    bars = tuple(
        (symbol, Bar(timestamp=ts, **{f: float(values[k, s, bar]) for k, f in enumerate(FIELDS)}))
        for s, symbol in enumerate(data.symbols)
        if data.real[s, bar]
    )
    return MarketRecord(bar=bar, timestamp=ts, bars=bars)


def write_journal(source: object, path: str | os.PathLike[str], *, market: str = "reference",
                  sync: bool = False) -> Fingerprints:
    """Write a run's journal to ``path`` (whole or not at all); return the run's fingerprints.

    ``market="inline"`` writes every bar in full, as a live session does, so the journal replays
    without the data. A path ending in ``.gz`` is written as gzip (reproducibly).
    """
    run = as_run(source)
    first: bytes | memoryview | None = None
    if market == "reference" and run.data not in _DATA_FINGERPRINTS and len(run.events) >= SHORTEST:
        # the data's hash (one long SHA-256 that lets go of the interpreter lock) on a second thread
        # while this one encodes the first block of events
        with ThreadPoolExecutor(1, thread_name_prefix="fbt-journal") as pool:
            hashing = pool.submit(data_fingerprint, run.data)
            first = encode_block(0, run.event_bars[:_BATCH], run.events[:_BATCH])
            hashing.result()
    header = _header_for(run, market)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with JournalWriter(tmp, header, sync=sync, compress=target.name.endswith(".gz")) as writer:
            if market == "inline":
                bars, events = run.event_bars.tolist(), run.events
                k = 0
                for i in range(len(run.data)):
                    writer.append_market(market_record(run.data, i))
                    j = k
                    while j < len(bars) and bars[j] == i:
                        j += 1
                    writer.extend(events[k:j], bars[k:j])
                    k = j
            elif first is not None:
                head = run.event_bars[:_BATCH]
                writer._check_order(head)
                writer._put(first, len(head), head)
                writer.extend(run.events[_BATCH:], run.event_bars[_BATCH:])
            else:
                writer.extend(run.events, run.event_bars)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    assert header.input_fingerprint is not None and writer.events_fingerprint is not None
    prints = Fingerprints(input_fingerprint=header.input_fingerprint, events_fingerprint=writer.events_fingerprint)
    _RUN_FINGERPRINTS[run] = prints
    return prints


def write_run(source: object, directory: str | os.PathLike[str]) -> Path:
    """Write ``journal.jsonl`` into an output folder (created if needed); return its path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / JOURNAL_FILE
    write_journal(source, path)
    return path
