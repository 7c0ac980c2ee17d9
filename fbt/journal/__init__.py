"""The journal: a run's ordered event log as JSON Lines, and the fingerprints that name a run.

A journal (``journal.jsonl``, written by ``fbt run`` and :func:`write_journal`) holds one JSON
object a line, UTF-8, ``\\n`` line ends, every line in canonical form (keys sorted, no spaces,
floats as the shortest text that reads back to the same float), so the same run always writes the
same bytes:

- line 1, the **header**: ``{"type": "header", "format": "fbt-journal", "format_version": 1,
  "fbt_version", "input_fingerprint", "data_fingerprint", "n_bars", "symbols", "time_format",
  "strategies": [{"name", "params"}], "config": {...}, "market": "reference" | "inline"}``;
- one **event line** per event, in the order the fold handled them: ``{"seq": 0, "bar": 17,
  "type": "SignalEvent", "fields": {...}}``. ``seq`` counts the events from 0 and is their id;
  ``bar`` is the index of the bar whose queue handled the event; ``fields`` are the record's attrs
  fields, enums by value, a record inside a field as ``{"type": NAME, "fields": {...}}``. Every
  record type of :mod:`fbt.core.events` is journalled this way, looked up by class name, so new event
  types need no change here;
- market events of a backtest are journalled **by reference**: the header's data fingerprint and
  each event's bar index name them. A live session journals its bars **inline**, one market line
  before each bar's events: ``{"type": "MarketEvent", "bar": 17, "bar_data": {"timestamp": NS,
  "bars": {SYMBOL: {FIELD: VALUE}}}}`` (the symbols that had a real bar);
- a live session also writes **note** lines, its own records (an order intent before it is sent, a
  broker message as it arrives): ``{"type": "note", "bar": 17, "record": {"type": NAME, "fields":
  {...}}}``; they take no ``seq`` and enter no hash, and the package that wrote them decodes them
  (:class:`Note`);
- the last line, the **trailer**: ``{"type": "trailer", "count": N, "events_fingerprint": ...,
  "market_count": M, "market_fingerprint": ... | null}``.

Lines are appended one at a time (and can be flushed and fsynced one at a time); reading verifies
the header, the order of ``seq`` and ``bar``, every record, the count and both hashes, and any
problem is a :class:`JournalError` naming the file and line.

Fingerprints are SHA-256 hex digests of canonical text, the same in every process, under every
``PYTHONHASHSEED`` and on every machine:

- ``data_fingerprint``: the symbols, the number of bars, the timestamps (int64), every field value
  (float64, NaN in one canonical form) and the mask of real bars, little-endian;
- ``input_fingerprint``: ``sha256(canonical_json({"config": CONFIG, "data": DATA_FINGERPRINT,
  "strategies": STRATEGIES}))``: what the run was given (data content, strategy names and
  parameters, every configuration field, models by qualified name), not where its outputs go;
- ``events_fingerprint``: SHA-256 of the journal's event lines, each followed by ``\\n``, in order.

>>> canonical_json({"b": 0.1, "a": [1, "x", None]})
'{"a":[1,"x",null],"b":0.1}'
"""

from __future__ import annotations

from fbt.journal.codec import (
    FORMAT,
    FORMAT_VERSION,
    JOURNAL_FILE,
    JournalError,
    canonical_json,
    decode_record,
    encode_record,
    event_types,
)
from fbt.journal.codec import _event_line as _event_line
from fbt.journal.fingerprint import (
    as_run,
    config_text,
    data_fingerprint,
    fbt_version,
    fingerprints,
    input_fingerprint,
    strategy_text,
)
from fbt.journal.log import Journal, journal_of
from fbt.journal.reader import parse_journal, read_journal
from fbt.journal.record import Entry, Fingerprints, JournalHeader, MarketRecord, Note, strategy_label
from fbt.journal.writer import JournalWriter, market_record, write_journal, write_run

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "JOURNAL_FILE",
    "Entry",
    "Fingerprints",
    "Journal",
    "JournalError",
    "JournalHeader",
    "JournalWriter",
    "MarketRecord",
    "Note",
    "as_run",
    "canonical_json",
    "config_text",
    "data_fingerprint",
    "decode_record",
    "encode_record",
    "event_types",
    "fbt_version",
    "fingerprints",
    "input_fingerprint",
    "journal_of",
    "market_record",
    "parse_journal",
    "read_journal",
    "strategy_label",
    "strategy_text",
    "write_journal",
    "write_run",
]
