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
  record type of :mod:`fbt.events` is journalled this way, looked up by class name, so new event
  types need no change here;
- market events of a backtest are journalled **by reference**: the header's data fingerprint and
  each event's bar index name them. A live session journals its bars **inline**, one market line
  before each bar's events: ``{"type": "MarketEvent", "bar": 17, "bar_data": {"timestamp": NS,
  "bars": {SYMBOL: {FIELD: VALUE}}}}`` (the symbols that had a real bar);
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

import enum
import functools
import gzip
import hashlib
import io
import json
import math
import os
import re
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

import fbt.events
from fbt.config import Config
from fbt.errors import FbtError
from fbt.events import Event, MarketEvent
from fbt.fold import Run
from fbt.market import FIELDS, Bar, BarData
from fbt.strategy import Strategy

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

#: The ``format`` of every journal header.
FORMAT: Final = "fbt-journal"
#: The journal format this fbt writes and reads.
FORMAT_VERSION: Final = 1
#: The journal's file name in an output folder.
JOURNAL_FILE: Final = "journal.jsonl"

_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_DECODER: Final = json.JSONDecoder()
_HEADER_KEYS: Final = frozenset(
    {"type", "format", "format_version", "fbt_version", "input_fingerprint", "data_fingerprint", "n_bars",
     "symbols", "time_format", "strategies", "config", "market"}
)
_EVENT_KEYS: Final = frozenset({"seq", "bar", "type", "fields"})
_TRAILER_KEYS: Final = frozenset({"type", "count", "events_fingerprint", "market_count", "market_fingerprint"})
_ADDRESS: Final = re.compile(r" at 0x[0-9A-Fa-f]+")


class JournalError(FbtError):
    """A journal that cannot be read, or that does not match: truncated, edited, another version,
    another data set, strategy or configuration, or events that differ on replay."""


class _Bad(Exception):
    """A problem inside one line; the reader adds the file and line."""


def canonical_json(value: object) -> str:
    """Return the canonical JSON text of plain data: keys sorted, no spaces, floats by ``repr``.

    >>> canonical_json({"price": 1.1, "quantity": 100.0})
    '{"price":1.1,"quantity":100.0}'
    """
    return _ENCODER.encode(value)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


@attrs.frozen(eq=False, kw_only=True)
class Journal:
    """A run's event log in memory: the header, the events in order with their bars, the hashes.

    ``events[k]`` has sequence number ``k`` and was handled at bar ``event_bars[k]``; ``markets``
    holds the inline market lines of a live session's journal (empty when journalled by reference).
    """

    header: JournalHeader
    events: tuple[Event, ...]
    event_bars: npt.NDArray[np.int64]
    events_fingerprint: str
    markets: tuple[MarketRecord, ...] = ()
    market_fingerprint: str | None = None

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
                    while k < len(bars) and bars[k] < market.bar:
                        writer.append(self.events[k], bar=bars[k])
                        k += 1
                    writer.append_market(market)
                for bar, event in zip(bars[k:], self.events[k:], strict=True):
                    writer.append(event, bar=bar)
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


# --- encoding records ---------------------------------------------------------------------------

_EXACT: Final = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> object:
    cls = value.__class__
    if cls in _EXACT:
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if attrs.has(cls):
        return encode_record(value)
    raise JournalError(
        f"cannot journal a {cls.__name__} ({value!r}): event fields hold numbers, text, enums, tuples and records"
    )


_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(a.name for a in attrs.fields(cls) if a.init)
    return names


def encode_record(record: object) -> dict[str, object]:
    """Return a record as plain data: ``{"type": CLASS NAME, "fields": {FIELD: VALUE}}``, enums by value.

    >>> from fbt.events import SignalEvent, SignalType
    >>> plain = encode_record(SignalEvent(timestamp=5, strategy_id="s", symbol="A", signal_type=SignalType.LONG))
    >>> plain["type"], plain["fields"]["signal_type"], plain["fields"]["strength"]
    ('SignalEvent', 'LONG', 1.0)
    """
    cls = record.__class__
    return {"type": cls.__name__, "fields": {name: _plain(getattr(record, name)) for name in _field_names(cls)}}


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


_TEXT: Final[dict[type, Callable[[Any], str]]] = {
    str: encode_basestring_ascii,
    float: _float_text,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}
#: Per record type: its class name and its init fields with their JSON keys, in canonical (sorted) order.
_LAYOUTS: dict[type, tuple[str, tuple[tuple[str, str], ...]]] = {}


def _layout(cls: type) -> tuple[str, tuple[tuple[str, str], ...]]:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        names = sorted(_field_names(cls))
        keys = tuple((name, encode_basestring_ascii(name) + ":") for name in names)
        layout = _LAYOUTS[cls] = (encode_basestring_ascii(cls.__name__), keys)
    return layout


def _text(value: object) -> str:
    write = _TEXT.get(value.__class__)
    if write is not None:
        return write(value)
    if isinstance(value, enum.Enum):
        return _text(value.value)
    return _ENCODER.encode(_plain(value))


def _event_line(seq: int, bar: int, event: object) -> str:
    """Return an event's canonical line; the same text as ``canonical_json`` of its plain form, faster."""
    name, keys = _layout(event.__class__)
    fields = ",".join([key + _text(getattr(event, field)) for field, key in keys])
    return f'{{"bar":{bar},"fields":{{{fields}}},"seq":{seq},"type":{name}}}'


def event_types() -> dict[str, type]:
    """Return every event record type of :mod:`fbt.events` by class name (the market event aside).

    The registry is read from the module each time, so event types added there are found.

    >>> {"SignalEvent", "OrderEvent", "FillEvent"} <= set(event_types())
    True
    """
    exported = set(getattr(fbt.events, "__all__", ()))
    found: dict[str, type] = {}
    for name, obj in vars(fbt.events).items():
        if (isinstance(obj, type) and attrs.has(obj) and obj is not MarketEvent
                and (obj.__module__ == fbt.events.__name__ or name in exported)):
            found[obj.__name__] = obj
    return found


def decode_record(plain: object, registry: Mapping[str, type] | None = None) -> object:
    """Rebuild a record from :func:`encode_record`'s plain data; any problem is a JournalError.

    >>> from fbt.events import SignalEvent, SignalType
    >>> s = SignalEvent(timestamp=5, strategy_id="s", symbol="A", signal_type=SignalType.LONG)
    >>> decode_record(encode_record(s)) == s
    True
    """
    try:
        return _record(plain, None, registry if registry is not None else event_types())
    except _Bad as exc:
        raise JournalError(str(exc)) from None


def _record(plain: object, hint: type | None, registry: Mapping[str, type]) -> object:
    if not isinstance(plain, dict) or set(plain) != {"type", "fields"}:
        raise _Bad(f"expected a record {{\"type\": NAME, \"fields\": {{...}}}}, got {_show(plain)}")
    name = plain["type"]
    cls = hint if hint is not None and hint.__name__ == name else registry.get(name) if isinstance(name, str) else None
    if cls is None:
        raise _Bad(f"unknown record type {name!r}; this fbt knows {', '.join(sorted(registry))}")
    return _decoder(cls)(plain["fields"], registry)


_DECODERS: dict[type, Callable[[object, Mapping[str, type]], object]] = {}


def _decoder(cls: type) -> Callable[[object, Mapping[str, type]], object]:
    known_decoder = _DECODERS.get(cls)
    if known_decoder is None:
        known_decoder = _DECODERS[cls] = _make_decoder(cls)
    return known_decoder


def _make_decoder(cls: type) -> Callable[[object, Mapping[str, type]], object]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: take the values as they are
        hints = {}
    specs = tuple(
        (a.name, a.alias, _converter(hints.get(a.name, object)), a.default is attrs.NOTHING)
        for a in attrs.fields(cls)
        if a.init
    )
    known = frozenset(s[0] for s in specs)
    name = cls.__name__

    def decode(fields: object, registry: Mapping[str, type]) -> object:
        if not isinstance(fields, dict):
            raise _Bad(f"{name}: expected an object of fields, got {_show(fields)}")
        extra = fields.keys() - known
        if extra:
            raise _Bad(f"{name} has no field {', '.join(sorted(map(repr, extra)))}; it has {', '.join(sorted(known))}")
        kwargs: dict[str, object] = {}
        for field, alias, convert, required in specs:
            if field in fields:
                try:
                    kwargs[alias] = convert(fields[field], registry)
                except _Bad as exc:
                    raise _Bad(f"{name}.{field}: {exc}") from None
            elif required:
                raise _Bad(f"{name}: missing field {field!r}")
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            raise _Bad(f"{name}: {exc}") from None

    return decode


Converter = Callable[[object, Mapping[str, type]], object]


def _converter(hint: object) -> Converter:
    if hint is float:
        return _to_float
    if hint is int:
        return _to_int
    if hint is str:
        return _to_str
    if hint is bool:
        return _to_bool
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return functools.partial(_to_enum, hint)
    if isinstance(hint, type) and attrs.has(hint):
        return functools.partial(_to_record, hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return functools.partial(_to_union, tuple(_converter(a) for a in args if a is not type(None)),
                                 type(None) in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return functools.partial(_to_tuple, (_converter(args[0]),), True)
        return functools.partial(_to_tuple, tuple(_converter(a) for a in args), False)
    return _thaw


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, dict) else canonical_json(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _to_float(value: object, registry: Mapping[str, type]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"expected a number, got {_show(value)}")
    return float(value)


def _to_int(value: object, registry: Mapping[str, type]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"expected a whole number, got {_show(value)}")
    return value


def _to_str(value: object, registry: Mapping[str, type]) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected text, got {_show(value)}")
    return value


def _to_bool(value: object, registry: Mapping[str, type]) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected true or false, got {_show(value)}")
    return value


def _to_enum(cls: type[enum.Enum], value: object, registry: Mapping[str, type]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        raise _Bad(f"expected one of {', '.join(_show(m.value) for m in cls)}, got {_show(value)}") from None


def _to_record(cls: type, value: object, registry: Mapping[str, type]) -> object:
    return _record(value, cls, registry)


def _to_union(arms: tuple[Converter, ...], none_ok: bool, value: object, registry: Mapping[str, type]) -> object:
    if value is None:
        if none_ok:
            return None
        raise _Bad("expected a value, got null")
    problems = []
    for convert in arms:
        try:
            return convert(value, registry)
        except _Bad as exc:
            problems.append(str(exc))
    raise _Bad(" or ".join(problems) or f"unexpected {_show(value)}")


def _to_tuple(items: tuple[Converter, ...], repeat: bool, value: object, registry: Mapping[str, type]) -> object:
    if not isinstance(value, list):
        raise _Bad(f"expected a list, got {_show(value)}")
    if repeat:
        return tuple(items[0](v, registry) for v in value)
    if len(value) != len(items):
        raise _Bad(f"expected {len(items)} items, got {len(value)}")
    return tuple(convert(v, registry) for convert, v in zip(items, value, strict=True))


def _thaw(value: object, registry: Mapping[str, type]) -> object:
    if isinstance(value, list):
        return tuple(_thaw(v, registry) for v in value)
    if isinstance(value, dict) and set(value) == {"type", "fields"} and value.get("type") in registry:
        return _record(value, None, registry)
    return value


# --- fingerprints -------------------------------------------------------------------------------

_DATA_FINGERPRINTS: weakref.WeakKeyDictionary[BarData, str] = weakref.WeakKeyDictionary()
_RUN_FINGERPRINTS: weakref.WeakKeyDictionary[Run, Fingerprints] = weakref.WeakKeyDictionary()


def data_fingerprint(data: BarData) -> str:
    """Return the SHA-256 of the market data's content (symbols, timestamps, values, real mask).

    Where the data came from (paths, file names) does not enter; NaN has one canonical form.

    >>> import numpy as np
    >>> def make():
    ...     return BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64),
    ...                                 columns={"close": np.array([[1.0, 2.0, 3.0]])})
    >>> data_fingerprint(make()) == data_fingerprint(make())
    True
    """
    known = _DATA_FINGERPRINTS.get(data)
    if known is not None:
        return known
    h = hashlib.sha256()
    h.update(canonical_json({"fields": list(FIELDS), "n_bars": len(data), "symbols": list(data.symbols)}).encode())
    h.update(b"\ntimestamps\n")
    h.update(np.ascontiguousarray(data.timestamps, dtype="<i8").tobytes())
    values = np.ascontiguousarray(data.values, dtype="<f8")
    nan = np.isnan(values)
    if nan.any():
        values = np.where(nan, np.nan, values)
    h.update(b"\nvalues\n")
    h.update(values.tobytes())
    h.update(b"\nreal\n")
    h.update(np.ascontiguousarray(data.real, dtype=np.bool_).tobytes())
    digest = h.hexdigest()
    _DATA_FINGERPRINTS[data] = digest
    return digest


def _identity(value: object) -> object:
    """Plain data naming a parameter or configuration value (lenient: any value gets a stable name)."""
    cls = value.__class__
    if cls in _EXACT:
        return value
    if isinstance(value, enum.Enum):
        return _identity(value.value)
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"array": hashlib.sha256(array.tobytes()).hexdigest(), "dtype": array.dtype.str,
                "shape": list(array.shape)}
    if isinstance(value, np.generic):
        return _identity(value.item())
    if isinstance(value, bool | int | float | str):
        return _plain(value)
    if isinstance(value, tuple | list):
        return [_identity(v) for v in value]
    if isinstance(value, Mapping):
        return {"mapping": sorted(([_identity(k), _identity(v)] for k, v in value.items()), key=canonical_json)}
    if isinstance(value, set | frozenset):
        return {"set": sorted((_identity(v) for v in value), key=canonical_json)}
    if attrs.has(cls):
        return {"type": _qualified(cls), "fields": {a.name: _identity(getattr(value, a.name))
                                                    for a in attrs.fields(cls)}}
    if isinstance(value, functools.partial):
        return {"partial": _identity(value.func), "args": _identity(value.args), "keywords": _identity(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": _qualified(value)}
    return {"object": _qualified(cls), "repr": _ADDRESS.sub("", repr(value))}


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def strategy_text(strategy: Strategy[Any]) -> str:
    return canonical_json({"name": strategy.name, "params": _identity(strategy.params)})


def config_text(config: Config) -> str:
    return canonical_json({a.name: _identity(getattr(config, a.name)) for a in attrs.fields(type(config))})


def strategy_label(plain: Mapping[str, Any]) -> str:
    params = plain.get("params")
    if isinstance(params, list) and all(isinstance(p, list) and len(p) == 2 for p in params):
        inner = ", ".join(f"{k}={canonical_json(v)}" for k, v in params)
    else:
        inner = canonical_json(params)
    return f"{plain.get('name')}({inner})"


def _input_hash(data: str | None, strategies: Sequence[str], config: str) -> str:
    return _sha256(canonical_json({"config": json.loads(config), "data": data,
                                   "strategies": [json.loads(s) for s in strategies]}))


def input_fingerprint(strategies: Strategy[Any] | Sequence[Strategy[Any]], data: BarData,
                      config: Config | None = None) -> str:
    """Return the hash of a run's inputs: the data's content, the strategies' names and parameters,
    and the configuration.

    >>> import numpy as np, fbt
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64),
    ...                             columns={"close": np.array([[1.0, 2.0, 3.0]])})
    >>> from fbt.strategies import moving_average_crossover as mac
    >>> input_fingerprint(mac(2, 3), data) == input_fingerprint(mac(2, 3), data, Config())
    True
    >>> input_fingerprint(mac(2, 3), data) == input_fingerprint(mac(2, 4), data)
    False
    """
    chosen = (strategies,) if isinstance(strategies, Strategy) else tuple(strategies)
    return _input_hash(data_fingerprint(data), [strategy_text(s) for s in chosen], config_text(config or Config()))


def as_run(source: object) -> Run:
    if isinstance(source, Run):
        return source
    inner = getattr(source, "run", None)
    if isinstance(inner, Run):
        return inner
    raise JournalError(f"expected an fbt.Result or fbt.fold.Run, got {type(source).__name__}")


def _header_for(run: Run, market: str) -> JournalHeader:
    if market not in ("reference", "inline"):
        raise JournalError(f"market: expected 'reference' or 'inline', got {market!r}")
    strategies = tuple(strategy_text(s) for s in run.strategies)
    config = config_text(run.config)
    data = data_fingerprint(run.data)
    return JournalHeader(
        fbt_version=fbt_version(),
        input_fingerprint=_input_hash(data, strategies, config),
        data_fingerprint=data,
        n_bars=len(run.data),
        symbols=run.data.symbols,
        time_format=run.data.time_format,
        strategies=strategies,
        config=config,
        market=market,
    )


def fbt_version() -> str:
    import fbt  # the package facade is complete by the time a journal is written

    return str(fbt.__version__)


def fingerprints(source: object) -> Fingerprints:
    """Return a run's input and events fingerprints (from an ``fbt.Result`` or a fold ``Run``).

    >>> import numpy as np, fbt
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(30, dtype=np.int64),
    ...                             columns={"close": 10.0 + np.sin(np.arange(30.0)).reshape(1, 30)})
    >>> from fbt.strategies import moving_average_crossover as mac
    >>> a, b = fbt.run(mac(2, 5), data), fbt.run(mac(2, 5), data)
    >>> fingerprints(a) == fingerprints(b)
    True
    >>> len(fingerprints(a).events_fingerprint)
    64
    """
    run = as_run(source)
    known = _RUN_FINGERPRINTS.get(run)
    if known is not None:
        return known
    h = hashlib.sha256()
    for seq, (bar, event) in enumerate(zip(run.event_bars.tolist(), run.events, strict=True)):
        h.update(_event_line(seq, bar, event).encode())
        h.update(b"\n")
    header = _header_for(run, "reference")
    assert header.input_fingerprint is not None
    prints = Fingerprints(input_fingerprint=header.input_fingerprint, events_fingerprint=h.hexdigest())
    _RUN_FINGERPRINTS[run] = prints
    return prints


def journal_of(source: object) -> Journal:
    """Return a run's journal in memory (from an ``fbt.Result`` or a fold ``Run``)."""
    run = as_run(source)
    return Journal(
        header=_header_for(run, "reference"),
        events=run.events,
        event_bars=run.event_bars,
        events_fingerprint=fingerprints(run).events_fingerprint,
    )


# --- writing ------------------------------------------------------------------------------------


class JournalWriter:
    """Write a journal a line at a time: the header on opening, then events (and, in a live session,
    inline market lines), then the trailer on :meth:`close`.

    Each line is one ``write``; with ``sync=True`` it is flushed and fsynced before the call
    returns, so a crash loses at most the line being written (and the trailer). ``compress=True``
    (the default for a path ending in ``.gz``) writes gzip, reproducibly (no name or time in it).
    """

    def __init__(self, path: str | os.PathLike[str], header: JournalHeader, *, sync: bool = False,
                 compress: bool | None = None) -> None:
        self.path = Path(path)
        self._sync = sync
        self._raw: IO[bytes] | None = None
        if compress if compress is not None else self.path.name.endswith(".gz"):
            self._raw = open(self.path, "wb")  # noqa: SIM115
            packed = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
            self._file: IO[str] | None = io.TextIOWrapper(packed, encoding="utf-8", newline="")
        else:
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._events = hashlib.sha256()
        self._markets = hashlib.sha256()
        self._count = 0
        self._market_count = 0
        self._last_bar = -1
        self.events_fingerprint: str | None = None
        self._line(canonical_json(header.to_plain()))

    def _line(self, text: str) -> None:
        if self._file is None:
            raise JournalError(f"{self.path}: the journal is closed")
        self._file.write(text + "\n")
        if self._sync:
            self._file.flush()
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

    def append_market(self, market: MarketRecord) -> None:
        """Journal one bar in full (a live session's market event)."""
        if market.bar != self._market_count:
            raise JournalError(f"{self.path}: market line for bar {market.bar}, expected bar {self._market_count}")
        line = canonical_json({"type": "MarketEvent", "bar": market.bar, "bar_data": {
            "timestamp": market.timestamp,
            "bars": {symbol: {f: getattr(b, f) for f in FIELDS} for symbol, b in market.bars},
        }})
        self._line(line)
        self._markets.update(line.encode())
        self._markets.update(b"\n")
        self._market_count += 1
        self._last_bar = market.bar

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

    def _shut(self) -> None:
        if self._file is not None:
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
    header = _header_for(run, market)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with JournalWriter(tmp, header, sync=sync, compress=target.name.endswith(".gz")) as writer:
            bars, events = run.event_bars.tolist(), run.events
            if market == "inline":
                k = 0
                for i in range(len(run.data)):
                    writer.append_market(market_record(run.data, i))
                    while k < len(bars) and bars[k] == i:
                        writer.append(events[k], bar=i)
                        k += 1
            else:
                for bar, event in zip(bars, events, strict=True):
                    writer.append(event, bar=bar)
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


# --- reading ------------------------------------------------------------------------------------


def read_journal(path: str | os.PathLike[str]) -> Journal:
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
            return parse_journal(fh, source=str(target))
        except (OSError, EOFError) as exc:  # a damaged or cut gzip stream
            raise JournalError(f"{target}: the compressed journal is damaged or truncated: {exc}") from None


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a journal for reading its lines as bytes, plain or gzip (told apart by the content)."""
    with open(path, "rb") as probe:
        packed = probe.read(2) == b"\x1f\x8b"
    if packed:
        return typing.cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def parse_journal(lines: Iterable[bytes | str], *, source: str = "<journal>") -> Journal:
    """Parse and verify a journal's lines (each with its line end); see :func:`read_journal`."""
    registry = event_types()
    header: JournalHeader | None = None
    events: list[Event] = []
    bars: list[int] = []
    markets: list[MarketRecord] = []
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
            continue
        assert header is not None
        if kind == "trailer":
            trailer, trailer_line = obj, lineno
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
    if header is None:
        raise JournalError(f"{source}: empty file, not an fbt journal")
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
            and _input_hash(header.data_fingerprint, header.strategies, header.config) != header.input_fingerprint):
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
