"""The journal's records: entries, market lines, fingerprints and the header."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from fbt.core.events import Event
from fbt.core.market import Bar
from fbt.journal.codec import FORMAT, FORMAT_VERSION, canonical_json

# --- records ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Entry:
    """One journalled event: its sequence number (its id), the bar that handled it, the event."""

    seq: int
    bar: int
    event: Event


@attrs.frozen(kw_only=True)
class MarketRecord:
    """One inline market line: the bar index, its time and the symbols' real bars at that time."""

    bar: int
    timestamp: int
    bars: tuple[tuple[str, Bar], ...]


@attrs.frozen(kw_only=True)
class Note:
    """One note line of a live session's journal: a record of the session's own (an order intent, a
    broker message), handled at ``bar`` after the first ``seq`` events; ``record`` is its canonical JSON
    ``{"type": NAME, "fields": {...}}``, decoded by the package that wrote it."""

    bar: int
    seq: int
    record: str


@attrs.frozen(kw_only=True)
class Fingerprints:
    """A run's identity: the hash of its inputs and the hash of its event log (SHA-256, hex)."""

    input_fingerprint: str
    events_fingerprint: str

    def as_dict(self) -> dict[str, str]:
        """Return ``{"input_fingerprint": ..., "events_fingerprint": ...}``."""
        return {"input_fingerprint": self.input_fingerprint, "events_fingerprint": self.events_fingerprint}


@attrs.frozen(kw_only=True)
class JournalHeader:
    """The first line of a journal: what the run was made from.

    ``strategies`` holds each strategy's canonical JSON ``{"name", "params"}`` and ``config`` the
    configuration's; ``input_fingerprint``, ``data_fingerprint`` and ``n_bars`` may be None in a
    live session's journal, which cannot know them in advance.
    """

    format_version: int = FORMAT_VERSION
    fbt_version: str
    input_fingerprint: str | None
    data_fingerprint: str | None
    n_bars: int | None
    symbols: tuple[str, ...]
    time_format: str = "datetime"
    strategies: tuple[str, ...]
    config: str
    market: str = "reference"

    def strategy_labels(self) -> tuple[str, ...]:
        """Return each strategy as ``name(param=value, ...)``."""
        return tuple(strategy_label(json.loads(text)) for text in self.strategies)

    def to_plain(self) -> dict[str, object]:
        """Return the header line's JSON object."""
        return {
            "type": "header",
            "format": FORMAT,
            "format_version": self.format_version,
            "fbt_version": self.fbt_version,
            "input_fingerprint": self.input_fingerprint,
            "data_fingerprint": self.data_fingerprint,
            "n_bars": self.n_bars,
            "symbols": list(self.symbols),
            "time_format": self.time_format,
            "strategies": [json.loads(text) for text in self.strategies],
            "config": json.loads(self.config),
            "market": self.market,
        }


def strategy_label(plain: Mapping[str, Any]) -> str:
    params = plain.get("params")
    if isinstance(params, list) and all(isinstance(p, list) and len(p) == 2 for p in params):
        inner = ", ".join(f"{k}={canonical_json(v)}" for k, v in params)
    else:
        inner = canonical_json(params)
    return f"{plain.get('name')}({inner})"
