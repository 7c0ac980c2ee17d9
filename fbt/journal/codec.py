"""Encoding and decoding records: events and bars to canonical JSON text and back."""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from typing import Any, Final

import attrs
import numpy as np

import fbt.core.events
from fbt.core.errors import FbtError
from fbt.core.events import JOURNAL_OPTIONAL, MarketEvent

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


_OPTIONAL: dict[type, frozenset[str]] = {}


def _optional_names(cls: type) -> frozenset[str]:
    """The fields of ``cls`` written only when not None (metadata :data:`fbt.core.events.JOURNAL_OPTIONAL`)."""
    names = _OPTIONAL.get(cls)
    if names is None:
        names = _OPTIONAL[cls] = frozenset(a.name for a in attrs.fields(cls)
                                           if a.init and a.metadata.get(JOURNAL_OPTIONAL))
    return names


def encode_record(record: object) -> dict[str, object]:
    """Return a record as plain data: ``{"type": CLASS NAME, "fields": {FIELD: VALUE}}``, enums by value.

    A field marked :data:`fbt.core.events.JOURNAL_OPTIONAL` is left out while it is None.

    >>> from fbt.core.events import SignalEvent, SignalType
    >>> plain = encode_record(SignalEvent(timestamp=5, strategy_id="s", symbol="A", signal_type=SignalType.LONG))
    >>> plain["type"], plain["fields"]["signal_type"], plain["fields"]["strength"]
    ('SignalEvent', 'LONG', 1.0)
    """
    cls = record.__class__
    optional = _optional_names(cls)
    if not optional:
        return {"type": cls.__name__, "fields": {name: _plain(getattr(record, name)) for name in _field_names(cls)}}
    return {"type": cls.__name__, "fields": {name: _plain(getattr(record, name)) for name in _field_names(cls)
                                             if not (name in optional and getattr(record, name) is None)}}


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
    encode = _LINE_ENCODERS.get(event.__class__)
    if encode is None:
        encode = _LINE_ENCODERS[event.__class__] = _line_encoder(event.__class__)
    return encode(seq, bar, event)


#: Per record type: a function ``(seq, bar, event) -> line`` generated from its fields' declared types.
_LINE_ENCODERS: dict[type, Callable[[int, int, Any], str]] = {}
_INF: Final = math.inf


def _line_encoder(cls: type) -> Callable[[int, int, Any], str]:
    """Generate the line encoder of one record type.

    Each field is written by the fast rule of its declared type (a finite float by ``repr``, an int,
    a str as a JSON string, an enum member by its value's text) when the value really is of that
    type, else by the general :func:`_text`: the text is the same either way.
    """
    name, keys = _layout(cls)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: every field takes the general rule
        hints = {}
    namespace: dict[str, Any] = {"text": _text, "float_repr": float.__repr__, "int_repr": int.__repr__,
                                 "string": encode_basestring_ascii, "INF": _INF}
    optional = _optional_names(cls)
    lines, parts = [], []
    for k, (field, key) in enumerate(keys):
        hint = hints.get(field)
        v, t = f"v{k}", f"t{k}"
        lines.append(f" {v} = e.{field}")
        if field in optional:  # written, with the comma before it, only when not None
            namespace[f"k{k}"] = key
            lines.append(f" {t} = '' if {v} is None else ',' + k{k} + text({v})")
            parts.append(f"{{{t}}}")
            continue
        if hint is float:
            lines.append(f" {t} = float_repr({v}) if {v}.__class__ is float and -INF < {v} < INF else text({v})")
        elif hint is int:
            lines.append(f" {t} = int_repr({v}) if {v}.__class__ is int else text({v})")
        elif hint is str:
            lines.append(f" {t} = string({v}) if {v}.__class__ is str else text({v})")
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            namespace[f"enum{k}"] = {member: _text(member.value) for member in hint}
            lines.append(f" {t} = enum{k}.get({v}) or text({v})")
        elif isinstance(hint, types.UnionType) and type(None) in hint.__args__:
            lines.append(f" {t} = 'null' if {v} is None else text({v})")
        else:
            lines.append(f" {t} = text({v})")
        namespace[f"k{k}"] = key
        parts.append(f"{{k{k}}}{{{t}}}")
    namespace["HEAD"] = '{"bar":'
    namespace["MIDDLE"] = ',"fields":{'
    namespace["SEQ"] = '},"seq":'
    namespace["TAIL"] = ',"type":' + name + "}"
    if optional:  # every field written with the comma before it; the first one's is cut
        lines.append(' body = f"' + "".join(part if field in optional else "," + part
                                            for part, (field, _) in zip(parts, keys, strict=True)) + '"[1:]')
        body = "{body}"
    else:
        body = ",".join(parts)
    source = ("def encode(seq, bar, e):\n" + "\n".join(lines) + "\n"
              ' return f"{HEAD}{int_repr(bar)}{MIDDLE}' + body + '{SEQ}{int_repr(seq)}{TAIL}"\n')
    exec(source, namespace)
    encode: Callable[[int, int, Any], str] = namespace["encode"]
    return encode


def event_types() -> dict[str, type]:
    """Return every event record type of :mod:`fbt.core.events` by class name (the market event aside).

    The registry is read from the module each time, so event types added there are found.

    >>> {"SignalEvent", "OrderEvent", "FillEvent"} <= set(event_types())
    True
    """
    exported = set(getattr(fbt.core.events, "__all__", ()))
    found: dict[str, type] = {}
    for name, obj in vars(fbt.core.events).items():
        if (isinstance(obj, type) and attrs.has(obj) and obj is not MarketEvent
                and (obj.__module__ == fbt.core.events.__name__ or name in exported)):
            found[obj.__name__] = obj
    return found


def decode_record(plain: object, registry: Mapping[str, type] | None = None) -> object:
    """Rebuild a record from :func:`encode_record`'s plain data; any problem is a JournalError.

    >>> from fbt.core.events import SignalEvent, SignalType
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
