"""Column matching: header names to fbt fields, the shared reading constants, and :class:`DataWarning`."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Final

import attrs
import numpy as np

from fbt.core.errors import DataError

_NAT: Final = np.iinfo(np.int64).min
_MAX_SHOWN: Final = 10
_CHUNK: Final = 1 << 23
_BLOCK: Final = 4096

_PRICES: Final = ("open", "high", "low", "close", "adj_close")
_AMOUNTS: Final = ("volume", "open_interest")
#: Normalised header name (lower case, no spaces or underscores) -> fbt field.
_ALIASES: Final[Mapping[str, str]] = {
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adjclose": "adj_close",
    "adjustedclose": "adj_close",
    "volume": "volume",
    "openinterest": "open_interest",
    "oi": "open_interest",
}
_HUMAN: Final[Mapping[str, str]] = {
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adj_close": "Adj Close",
    "volume": "Volume",
    "open_interest": "OpenInterest",
}
_DATE_NAMES: Final = ("datetime", "timestamp", "date")  # in order of preference

#: Recognised label layouts: (pattern of the first row's label, pandas format, description).
_FORMATS: Final = (
    (re.compile(r"\d{8}"), "%Y%m%d", "YYYYMMDD"),
    (re.compile(r"\d{8} \d{2}:\d{2}:\d{2}"), "%Y%m%d %H:%M:%S", "YYYYMMDD HH:MM:SS"),
    (re.compile(r"\d{8} \d{2}:\d{2}"), "%Y%m%d %H:%M", "YYYYMMDD HH:MM"),
    (re.compile(r"\d{4}/\d{2}/\d{2}"), "%Y/%m/%d", "YYYY/MM/DD"),
    (re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"), "%Y/%m/%d %H:%M:%S", "YYYY/MM/DD HH:MM:SS"),
    (re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}"), "%Y/%m/%d %H:%M", "YYYY/MM/DD HH:MM"),
    (re.compile(r"\d{4}-\d{2}-\d{2}([ T].*)?"), "ISO8601", "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"),
)
_KNOWN_FORMATS: Final = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, YYYYMMDD or YYYY/MM/DD"
_TIME_OF_DAY: Final = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")


class DataWarning(UserWarning):
    """Data that loads, with something worth knowing (columns that were ignored)."""


# --------------------------------------------------------------------------------------------------
# Column matching


@attrs.frozen
class _Layout:
    names: tuple[str, ...]
    date: int | None  # None: the dates come from a DataFrame's index
    time: int | None
    fields: dict[str, int]  # fbt field -> column position
    ignored: tuple[int, ...]


def _norm(name: object) -> str:
    return re.sub(r"[\s_]+", "", str(name)).lower() if name is not None else ""


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "no columns"


def _match(names: Sequence[str], where: str, *, date_from_index: bool, frame: bool = False) -> _Layout:
    keys = [_norm(n) for n in names]
    problems: list[str] = []
    fields: dict[str, int] = {}
    for i, key in enumerate(keys):
        field = _ALIASES.get(key)
        if field is None:
            continue
        if field in fields:
            first = names[fields[field]]
            human = _HUMAN[field]
            second = names[i]
            problems.append(f"{where}: {second}: expected one {human} column, got {first!r} and {second!r}")
        else:
            fields[field] = i

    def only(key: str) -> int | None:
        hits = [i for i, k in enumerate(keys) if k == key]
        if len(hits) > 1:
            problems.append(f"{where}: {names[hits[1]]}: expected one {key} column, got {len(hits)}")
        return hits[0] if hits else None

    date: int | None = None
    time_col: int | None = None
    if not date_from_index:
        for key in _DATE_NAMES:
            date = only(key)
            if date is not None:
                break
        time_at = only("time")
        if date is None:
            if time_at is not None:
                date = time_at
            elif keys and (keys[0] == "" or re.fullmatch(r"unnamed:\d+", keys[0])):
                date = 0
        elif keys[date] == "date":
            time_col = time_at
    if "close" not in fields:
        problems.append(f"{where}: Close: expected a Close column, got {_names(names)}")
    if date is None and not date_from_index:
        index = "a DatetimeIndex, " if frame else ""
        problems.append(
            f"{where}: Date: expected {index}a Date, Datetime, Timestamp or Time column or an unnamed first "
            f"column, got {_names(names)}"
        )
    if problems:
        raise DataError("\n".join(problems))
    used = {*fields.values(), date, time_col}
    ignored = tuple(i for i in range(len(names)) if i not in used)
    return _Layout(tuple(names), date, time_col, fields, ignored)


def _warn_ignored(source: str, layout: _Layout) -> None:
    if layout.ignored:
        shown = ", ".join(
            repr(layout.names[i]) if layout.names[i] else f"(unnamed column {i + 1})" for i in layout.ignored
        )
        message = f"{source}: ignoring columns that are not bar fields: {shown}"
        warnings.warn(message, DataWarning, stacklevel=3)


def _display(layout: _Layout, date_name: str) -> dict[str, tuple[int, str]]:
    """Map each checked key to (column position for ordering, name to show)."""
    out = {f: (i, layout.names[i]) for f, i in layout.fields.items()}
    out["date"] = (-1 if layout.date is None else layout.date, date_name)
    if layout.time is not None:
        out["time"] = (layout.time, layout.names[layout.time])
    return out
