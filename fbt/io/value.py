"""Parsing values: numbers, dates and times of day, and how a raw value is shown in a message."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from fbt.io.column import _BLOCK, _FORMATS, _KNOWN_FORMATS, _NAT
from fbt.io.symbol_bars import BoolArray, FloatArray, IntArray

# --------------------------------------------------------------------------------------------------
# Parsing values


def _show(value: object) -> str:
    """Render a raw value for a message: quoted text, or the value itself."""
    if isinstance(value, str):
        return repr(value) if value.strip() else "an empty field"
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def show_label(label: object) -> str:
    if isinstance(label, pd.Timestamp) and not pd.isna(label):
        return label.strftime("%Y-%m-%d") if label == label.normalize() else str(label)
    return str(label)


def _number(value: object) -> tuple[float, bool]:
    """Parse one cell: (value, True), NaN for an empty cell, or (NaN, False) for text that is no number."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return math.nan, True
        if "_" in text:
            return math.nan, False
        try:
            return float(text), True
        except ValueError:
            return math.nan, False
    if isinstance(value, bool | np.bool_):
        return math.nan, False
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            return float(value), True
        except OverflowError:
            return math.inf, True
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan, True
    return math.nan, False


def _numbers(cells: npt.NDArray[Any], *, texts: bool = False) -> tuple[FloatArray, BoolArray]:
    """Parse a column of cells: (values, which cells are not numbers). ``texts``: all cells are str.

    Blocks of text and plain numbers are converted by numpy (Python's ``float`` rules, refusing ``_``
    digit separators); only a block with another kind of cell or a bad one goes cell by cell.
    """
    n = len(cells)
    values = np.empty(n, dtype=np.float64)
    bad = np.zeros(n, dtype=np.bool_)
    for lo in range(0, n, _BLOCK):
        part = cells[lo : lo + _BLOCK]
        items = part.tolist()
        kinds = {str} if texts else set(map(type, items))
        if kinds <= {str, float, int}:
            text = "".join(c for c in items if type(c) is str) if str in kinds else ""
            if "_" not in text:
                try:
                    values[lo : lo + len(items)] = part.astype(np.float64)
                    continue
                except (ValueError, OverflowError):
                    pass
        for k, cell in enumerate(items, start=lo):
            values[k], ok = _number(cell)
            bad[k] = not ok
    return values, bad


@attrs.frozen(eq=False)
class _Stamps:
    ns: IntArray  # 0 where the label is bad
    bad_date: BoolArray
    bad_time: BoolArray
    expected: str  # what a good label looks like, for messages


class _UnknownLayout(Exception):
    """The first row's label has none of the known layouts."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label

    def say(self) -> str:
        return f"expected a date like {_KNOWN_FORMATS}, got {_show(self.label)}"


def _detect(label: str) -> tuple[str, str]:
    text = label.strip()
    for pattern, fmt, description in _FORMATS:
        if pattern.fullmatch(text):
            return fmt, description
    raise _UnknownLayout(label)


def _to_ns(index: pd.DatetimeIndex) -> tuple[IntArray, BoolArray]:
    """Nanoseconds since the epoch (UTC for zoned labels), and which labels are missing or out of range."""
    unit = str(index.unit)
    scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    raw = np.asarray(index.asi8, dtype=np.int64)
    limit = np.iinfo(np.int64).max // scale
    bad = (raw == _NAT) | (raw > limit) | (raw < -limit)
    return np.where(bad, 0, raw) * scale, bad


def _parse_texts(texts: npt.NDArray[Any], fmt: str) -> tuple[IntArray, BoolArray]:
    parsed = pd.to_datetime(texts, format=fmt, utc=True, errors="coerce")
    return _to_ns(pd.DatetimeIndex(parsed))


def _dates_of(dates: Any, times: npt.NDArray[Any] | None, *, texts: bool = False) -> _Stamps:
    """Parse labels: datetime-like values directly, text after detecting the first row's layout.

    ``texts=True`` promises that ``dates`` (and ``times``) hold only ``str`` (as read from a file).
    """
    n = len(dates)
    no = np.zeros(n, dtype=np.bool_)
    if times is None and texts:
        fmt, description = _detect(str(dates[0]))
        ns, bad = _parse_texts(dates, fmt)
        return _Stamps(ns, bad, no, f"a date like {description}")
    if times is None:
        if isinstance(dates, pd.DatetimeIndex) or (
            isinstance(dates, pd.Series) and pd.api.types.is_datetime64_any_dtype(dates.dtype)
        ):
            ns, bad = _to_ns(pd.DatetimeIndex(dates))
            return _Stamps(ns, bad, no, "a date")
        cells = _objects(dates)
        kinds = {type(v) for v in cells.tolist()}
        if kinds and all(issubclass(k, datetime | date | np.datetime64) for k in kinds):
            parsed = pd.to_datetime(pd.Series(cells, dtype=object), utc=True, errors="coerce")
            ns, bad = _to_ns(pd.DatetimeIndex(parsed))
            return _Stamps(ns, bad, no, "a date")
        labels = cells if kinds == {str} else np.asarray([str(v) for v in cells.tolist()], dtype=object)
        fmt, description = _detect(str(labels[0]))
        ns, bad = _parse_texts(labels, fmt)
        return _Stamps(ns, bad, no, f"a date like {description}")
    if texts:
        date_texts = [v.strip() for v in _objects(dates).tolist()]
        time_texts = [v.strip() for v in times.tolist()]
    else:
        date_texts = [_date_text(v) for v in _objects(dates).tolist()]
        time_texts = [_time_text(v) for v in times.tolist()]
    joined = np.asarray([f"{d} {t}" for d, t in zip(date_texts, time_texts, strict=True)], dtype=object)
    fmt, description = _detect(joined[0])
    ns, bad = _parse_texts(joined, fmt)
    bad_date = bad.copy()
    bad_time = np.zeros(n, dtype=np.bool_)
    if bad.any():
        # say which half is wrong: the date alone, or else the time
        where = np.flatnonzero(bad)
        date_fmt = _detect(date_texts[0])[0] if _known(date_texts[0]) else "ISO8601"
        _, date_bad = _parse_texts(np.asarray([date_texts[i] for i in where], dtype=object), date_fmt)
        bad_date[where] = date_bad
        bad_time[where] = ~date_bad
    return _Stamps(ns, bad_date, bad_time, f"a date and time like {description}")


def _objects(values: Any) -> npt.NDArray[Any]:
    if isinstance(values, pd.Series | pd.Index):
        return np.asarray(values.to_numpy(dtype=object), dtype=object)
    return np.asarray(values, dtype=object)


def _known(text: str) -> bool:
    return any(p.fullmatch(text.strip()) for p, _, _ in _FORMATS)


def _date_text(value: object) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _time_text(value: object) -> str:
    if isinstance(value, time):
        return value.isoformat()
    return str(value).strip()
