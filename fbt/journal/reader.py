"""Reading journals: parsing and checking a journal file back into a :class:`Journal`."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from fbt.core.events import Event
from fbt.core.market import FIELDS, Bar
from fbt.journal.codec import (
    _DECODER,
    _EVENT_KEYS,
    _HEADER_KEYS,
    _TRAILER_KEYS,
    FORMAT,
    FORMAT_VERSION,
    JOURNAL_FILE,
    JournalError,
    _Bad,
    _record,
    _show,
    _to_float,
    _to_int,
    _to_str,
    _to_tuple,
    _to_union,
    canonical_json,
    event_types,
)
from fbt.journal.fingerprint import fbt_version, input_hash
from fbt.journal.log import Journal
from fbt.journal.record import JournalHeader, MarketRecord, Note

# --- reading ------------------------------------------------------------------------------------


def read_journal(path: str | os.PathLike[str], *, tolerant: bool = False) -> Journal:
    """Read and verify a journal file (plain or gzip), or the ``journal.jsonl`` of an output folder.

    Every problem is a :class:`JournalError` naming the file and line: not a journal, another
    format version, a bad or unknown record, events out of order, a truncated file (no trailer, or
    a last line cut short), or an edited one (the hash in the trailer does not match).
    """
    target = Path(path)
    if target.is_dir():
        target = target / JOURNAL_FILE
    try:
        fh = _open(target)
    except OSError as exc:
        raise JournalError(f"{target}: cannot read the journal: {exc.strerror or exc}") from None
    with fh:
        try:
            return parse_journal(fh, source=str(target), tolerant=tolerant)
        except (OSError, EOFError) as exc:  # a damaged or cut gzip stream
            raise JournalError(f"{target}: the compressed journal is damaged or truncated: {exc}") from None


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a journal for reading its lines as bytes, plain or gzip (told apart by the content)."""
    with open(path, "rb") as probe:
        packed = probe.read(2) == b"\x1f\x8b"
    if packed:
        return typing.cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def parse_journal(lines: Iterable[bytes | str], *, source: str = "<journal>", tolerant: bool = False) -> Journal:
    """Parse and verify a journal's lines (each with its line end); see :func:`read_journal`."""
    registry = event_types()
    header: JournalHeader | None = None
    events: list[Event] = []
    bars: list[int] = []
    markets: list[MarketRecord] = []
    notes: list[Note] = []
    torn: int | None = None
    size = 0  # bytes of the whole lines before the trailer (where a resumed session appends)
    h_events, h_markets = hashlib.sha256(), hashlib.sha256()
    trailer: dict[str, Any] | None = None
    trailer_line = 0
    last_bar = -1
    lineno = 0

    def fail(line: int, message: str) -> JournalError:
        return JournalError(f"{source}:{line}: {message}")

    for lineno, item in enumerate(lines, 1):
        raw = item.encode("utf-8") if isinstance(item, str) else item
        if trailer is not None:
            raise fail(lineno, f"a line after the trailer (line {trailer_line})")
        if not raw.endswith(b"\n"):
            if tolerant:
                torn = lineno
                break
            raise fail(lineno, "the line is cut short (no line end): the journal is truncated")
        try:
            obj = _DECODER.decode(raw.decode("utf-8"))
        except ValueError as exc:
            raise fail(lineno, f"not a JSON line ({exc})") from None
        if not isinstance(obj, dict):
            raise fail(lineno, f"expected a JSON object, got {_show(obj)}")
        kind = obj.get("type")
        if lineno == 1:
            header = _parse_header(obj, fail)
            size += len(raw)
            continue
        assert header is not None
        if kind == "trailer":
            trailer, trailer_line = obj, lineno
            continue
        if kind == "note":
            bar = obj.get("bar")
            if set(obj) != {"type", "bar", "record"} or isinstance(bar, bool) or not isinstance(bar, int):
                raise fail(lineno, f"a note line has the keys type, bar (a whole number) and record; got {_keys(obj)}")
            if bar < last_bar or (header.market == "inline" and bar != len(markets) - 1):
                raise fail(lineno, f"a note at bar {bar} out of order (after bar {last_bar})")
            notes.append(Note(bar=bar, seq=len(events), record=canonical_json(obj["record"])))
            last_bar = bar
        elif kind == "MarketEvent":
            record = _parse_market(obj, header, len(markets), f"{source}:{lineno}: ")
            markets.append(record)
            h_markets.update(raw)
            last_bar = record.bar
        else:
            if set(obj) != _EVENT_KEYS:
                raise fail(lineno, f"an event line has the keys seq, bar, type and fields; got {_keys(obj)}")
            seq, bar = obj["seq"], obj["bar"]
            if seq != len(events) or isinstance(seq, bool):
                raise fail(lineno, f"seq {_show(seq)}, expected {len(events)}: an event is missing, repeated or moved")
            if isinstance(bar, bool) or not isinstance(bar, int) or bar < 0:
                raise fail(lineno, f"bar: expected a whole number >= 0, got {_show(bar)}")
            if bar < last_bar:
                raise fail(lineno, f"bar {bar} comes after bar {last_bar}: events out of order")
            if header.n_bars is not None and bar >= header.n_bars:
                raise fail(lineno, f"bar {bar} is past the run's {header.n_bars} bars")
            if header.market == "inline" and bar != len(markets) - 1:
                raise fail(lineno, f"an event at bar {bar} before that bar's market line")
            try:
                event = _record({"type": kind, "fields": obj["fields"]}, None, registry)
            except _Bad as exc:
                raise fail(lineno, f"seq {seq}: {exc}") from None
            events.append(event)  # type: ignore[arg-type]
            bars.append(bar)
            last_bar = bar
            h_events.update(raw)
        size += len(raw)
    if header is None:
        raise JournalError(f"{source}: empty file, not an fbt journal")
    if tolerant and (trailer is None or torn is not None):
        return Journal(header=header, events=tuple(events), event_bars=np.asarray(bars, dtype=np.int64),
                       events_fingerprint=h_events.hexdigest(), markets=tuple(markets),
                       market_fingerprint=h_markets.hexdigest() if markets else None, notes=tuple(notes),
                       torn=torn, size=size, closed=False)
    if trailer is None:
        raise fail(lineno, f"no trailer after line {lineno}: the journal is truncated (or still being written)")
    if set(trailer) != _TRAILER_KEYS:
        raise fail(trailer_line, f"a trailer has the keys {', '.join(sorted(_TRAILER_KEYS))}; got "
                                 f"{', '.join(sorted(trailer))}")
    if trailer["count"] != len(events) or trailer["market_count"] != len(markets):
        raise fail(trailer_line, f"the trailer counts {trailer['count']} events and {trailer['market_count']} market "
                                 f"lines, the journal has {len(events)} and {len(markets)}: lines were lost or added")
    digest = h_events.hexdigest()
    if trailer["events_fingerprint"] != digest:
        raise fail(trailer_line, f"the events hash to {digest}, the trailer says {trailer['events_fingerprint']}: "
                                 f"an event line was edited{_first_non_canonical(source)}")
    market_digest = h_markets.hexdigest() if markets else None
    if trailer["market_fingerprint"] != market_digest:
        raise fail(trailer_line, f"the market lines hash to {market_digest}, the trailer says "
                                 f"{trailer['market_fingerprint']}: a market line was edited")
    return Journal(
        header=header,
        events=tuple(events),
        event_bars=np.asarray(bars, dtype=np.int64),
        events_fingerprint=digest,
        markets=tuple(markets),
        market_fingerprint=market_digest,
        notes=tuple(notes),
        size=size,
    )


def _keys(obj: Mapping[str, object]) -> str:
    return ", ".join(sorted(obj))


def _first_non_canonical(source: str) -> str:
    """Name the first line that is not in canonical form (a hand edit), if the file can be read again."""
    try:
        with _open(source) as fh:
            for lineno, raw in enumerate(fh, 1):
                if canonical_json(json.loads(raw)).encode() + b"\n" != raw:
                    return f" (line {lineno} is not in canonical form)"
    except (OSError, ValueError):
        pass
    return ""


def _parse_header(obj: dict[str, Any], fail: Callable[[int, str], JournalError]) -> JournalHeader:
    if obj.get("type") != "header" or obj.get("format") != FORMAT:
        raise fail(1, "not an fbt journal: the first line is not a journal header")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise fail(1, f"journal format {version!r} (written by fbt {obj.get('fbt_version')}); this fbt "
                      f"{fbt_version()} reads format {FORMAT_VERSION}")
    if set(obj) != _HEADER_KEYS:
        missing, extra = _HEADER_KEYS - set(obj), set(obj) - _HEADER_KEYS
        raise fail(1, f"header: missing {sorted(missing)}, unexpected {sorted(extra)}")
    try:
        header = JournalHeader(
            format_version=version,
            fbt_version=_to_str(obj["fbt_version"], {}),
            input_fingerprint=_to_union((_to_str,), True, obj["input_fingerprint"], {}),  # type: ignore[arg-type]
            data_fingerprint=_to_union((_to_str,), True, obj["data_fingerprint"], {}),  # type: ignore[arg-type]
            n_bars=_to_union((_to_int,), True, obj["n_bars"], {}),  # type: ignore[arg-type]
            symbols=_to_tuple((_to_str,), True, obj["symbols"], {}),  # type: ignore[arg-type]
            time_format=_to_str(obj["time_format"], {}),
            strategies=tuple(canonical_json(s) for s in obj["strategies"]),
            config=canonical_json(obj["config"]),
            market=_to_str(obj["market"], {}),
        )
    except (_Bad, TypeError) as exc:
        raise fail(1, f"header: {exc}") from None
    if header.market not in ("reference", "inline"):
        raise fail(1, f"header: market: expected 'reference' or 'inline', got {header.market!r}")
    if (header.input_fingerprint is not None and header.data_fingerprint is not None
            and input_hash(header.data_fingerprint, header.strategies, header.config) != header.input_fingerprint):
        raise fail(1, "header: the input fingerprint does not match the data, strategies and configuration it names "
                      "(the header was edited)")
    return header


def _parse_market(obj: dict[str, Any], header: JournalHeader, expected: int, where: str) -> MarketRecord:
    def fail(message: str) -> JournalError:
        return JournalError(f"{where}{message}")

    if header.market != "inline":
        raise fail("a market line in a journal that holds its market data by reference")
    if set(obj) != {"type", "bar", "bar_data"}:
        raise fail(f"a market line has the keys type, bar and bar_data; got {', '.join(sorted(obj))}")
    if obj["bar"] != expected:
        raise fail(f"market line for bar {_show(obj['bar'])}, expected bar {expected}")
    bar_data = obj["bar_data"]
    if not isinstance(bar_data, dict) or set(bar_data) != {"timestamp", "bars"}:
        raise fail("bar_data: expected {\"timestamp\": NS, \"bars\": {SYMBOL: {FIELD: VALUE}}}")
    try:
        ts = _to_int(bar_data["timestamp"], {})
        rows = bar_data["bars"]
        if not isinstance(rows, dict):
            raise _Bad(f"bars: expected an object, got {_show(rows)}")
        out = []
        for symbol, fields in rows.items():
            if symbol not in header.symbols:
                raise _Bad(f"unknown symbol {symbol!r}; the journal's symbols are {', '.join(header.symbols)}")
            if not isinstance(fields, dict) or "close" not in fields or not set(fields) <= set(FIELDS):
                raise _Bad(f"{symbol}: expected the fields close and any of {', '.join(FIELDS)}")
            close = _to_float(fields["close"], {})
            given = {f: _to_float(v, {}) for f, v in fields.items()}
            full = {f: given.get(f, 0.0 if f in ("volume", "open_interest") else close) for f in FIELDS}
            out.append((symbol, Bar(timestamp=ts, **full)))
    except _Bad as exc:
        raise fail(f"bar {expected}: {exc}") from None
    order = {s: k for k, s in enumerate(header.symbols)}
    return MarketRecord(bar=expected, timestamp=ts, bars=tuple(sorted(out, key=lambda p: order[p[0]])))
