"""The journal and the data fingerprint of a streamed run, the same as the in-memory run's.

:func:`fbt.journal.data_fingerprint` hashes all timestamps, then every value field by field and symbol by
symbol, then the ``real`` masks: an order a stream cannot follow. :class:`DataSpill` writes each
chunk's arrays to a temporary file as they come and hashes them in that order at the end, so the
fingerprint is identical while memory holds one chunk (the file takes ``8 * (7 * symbols + 1) + symbols``
bytes a bar on disk, and is removed).

:class:`JournalSpool` journals the events with :class:`fbt.journal.JournalWriter` as they happen,
under a provisional header (the data's fingerprint and length are not known yet), and at the end
writes the real header followed by the spooled events and trailer: the journal
:meth:`fbt.Result.write` writes, line for line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import attrs
import numpy as np

from fbt.core.events import Event
from fbt.core.market import FIELDS, BarData
from fbt.core.strategy import Strategy
from fbt.journal import JournalHeader, JournalWriter, canonical_json
from fbt.journal.codec import JOURNAL_FILE
from fbt.journal.fingerprint import config_text, fbt_version, input_hash, strategy_text
from fbt.kernel.config import Config

from .output import temporary

__all__ = ["DataSpill", "JournalSpool"]


class DataSpill:
    """Chunks of aligned data on disk, hashed at the end as :func:`fbt.journal.data_fingerprint` hashes the whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "w+b")  # noqa: SIM115
        self._chunks: list[tuple[int, int]] = []  # (offset, bars)
        self.bars = 0

    def append(self, data: BarData) -> None:
        """Spill a chunk (every bar of ``data``)."""
        m = len(data)
        if not m:
            return
        values = np.ascontiguousarray(data.values, dtype="<f8")
        nan = np.isnan(values)
        if nan.any():
            values = np.where(nan, np.nan, values)
        self._chunks.append((self._file.tell(), m))
        self._file.write(np.ascontiguousarray(data.timestamps, dtype="<i8").tobytes())
        self._file.write(values.tobytes())
        self._file.write(np.ascontiguousarray(data.real, dtype=np.bool_).tobytes())
        self.bars += m

    def fingerprint(self, symbols: tuple[str, ...]) -> str:
        """The data fingerprint of every chunk spilled, joined end to end."""
        f, n_sym = len(FIELDS), len(symbols)
        h = hashlib.sha256()
        h.update(canonical_json({"fields": list(FIELDS), "n_bars": self.bars, "symbols": list(symbols)}).encode())
        h.update(b"\ntimestamps\n")
        for offset, m in self._chunks:
            h.update(self._read(offset, 8 * m))
        h.update(b"\nvalues\n")
        for k in range(f * n_sym):
            for offset, m in self._chunks:
                h.update(self._read(offset + 8 * m + 8 * m * k, 8 * m))
        h.update(b"\nreal\n")
        for s in range(n_sym):
            for offset, m in self._chunks:
                h.update(self._read(offset + 8 * m * (1 + f * n_sym) + m * s, m))
        return h.hexdigest()

    def _read(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        return self._file.read(size)

    def close(self) -> None:
        """Close and remove the spill file."""
        self._file.close()
        if self.path.exists():
            self.path.unlink()


@attrs.frozen(kw_only=True)
class RunIdentity:
    """A streamed run's strategies and configuration, as the journal header writes them."""

    symbols: tuple[str, ...]
    strategies: tuple[str, ...]
    config: str

    @classmethod
    def of(cls, strategies: tuple[Strategy[object], ...], symbols: tuple[str, ...], config: Config) -> RunIdentity:
        return cls(symbols=symbols, strategies=tuple(strategy_text(s) for s in strategies), config=config_text(config))

    def header(self, data_fingerprint: str | None, n_bars: int | None, time_format: str) -> JournalHeader:
        return JournalHeader(
            fbt_version=fbt_version(),
            input_fingerprint=None if data_fingerprint is None else self.input_fingerprint(data_fingerprint),
            data_fingerprint=data_fingerprint, n_bars=n_bars, symbols=self.symbols, time_format=time_format,
            strategies=self.strategies, config=self.config, market="reference",
        )

    def input_fingerprint(self, data_fingerprint: str) -> str:
        return input_hash(data_fingerprint, list(self.strategies), self.config)


class JournalSpool:
    """``journal.jsonl`` journalled as the run goes; the header is put in front at the end."""

    def __init__(self, out: Path, identity: RunIdentity) -> None:
        self.path = out / JOURNAL_FILE
        self.tmp = temporary(self.path)
        self.spool = self.tmp.with_name(self.tmp.name + ".events")
        self.identity = identity
        self._writer = JournalWriter(self.spool, identity.header(None, None, "datetime"))
        self.events_fingerprint: str | None = None

    def append(self, events: tuple[Event, ...], bars: list[int]) -> None:
        """Journal events with their bars (indices into the whole run)."""
        self._writer.extend(events, bars)

    def finish(self, data_fingerprint: str, n_bars: int, time_format: str) -> str:
        """Write the journal under its temporary name; return the events fingerprint."""
        digest = self._writer.close()
        header = self.identity.header(data_fingerprint, n_bars, time_format)
        with open(self.spool, "rb") as src, open(self.tmp, "wb") as dst:
            src.readline()  # the provisional header
            dst.write((canonical_json(header.to_plain()) + "\n").encode())
            shutil.copyfileobj(src, dst, 1 << 18)
        os.unlink(self.spool)
        self.events_fingerprint = digest
        return digest

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self._writer._shut()
        for path in (self.spool, self.tmp):
            if path.exists():
                path.unlink()
