"""Read bar data from CSV files and DataFrames, checked, into fbt's aligned bar store.

:func:`read_bars` reads one CSV file and :func:`bars_from_frame` one DataFrame into a
:class:`SymbolBars` record; :func:`load` and :func:`load_dir` read several symbols and align them on
the union of their timestamps (:func:`fbt.market.align`).

Columns are matched by header name, ignoring case, spaces and underscores: a date column (``Date``,
``Datetime``, ``Timestamp``, ``Time`` when it is the only one, or an unnamed first column), an
optional ``Time`` column next to ``Date``, ``Close`` (required), and optional ``Open``, ``High``,
``Low``, ``Adj Close``, ``Volume`` and ``OpenInterest``, in any order. Other columns are ignored with
one :class:`DataWarning`.

Timestamps are the data's own labels as int64 nanoseconds: nothing is shifted and no time zone is
invented. A label written with a UTC offset (``2024-01-02T09:30:00+01:00``) is converted to UTC and
the zone dropped.

Every problem is a :class:`~fbt.errors.DataError` whose message reads ``PATH:ROW: COLUMN: expected X,
got Y`` (``ROW`` is the 1-based line of the file, the header being line 1) or ``PATH: ...`` for the
whole file. Where several rows are bad, the message has one line per problem, the first problem
first, at most ten, then ``... and N more``.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ABC.csv"
>>> _ = path.write_text("Date,Close\\n2024-01-02,10.5\\n2024-01-03,-1\\n")
>>> read_bars(path)
Traceback (most recent call last):
...
fbt.errors.DataError: ...ABC.csv:3: Close: expected a positive finite price, got '-1'
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Final, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from fbt.errors import ConfigError, DataError
from fbt.market import BarData, align

__all__ = ["DataWarning", "SymbolBars", "bars_from_frame", "load", "load_dir", "read_bars"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
PathLike = str | os.PathLike[str]
#: A symbol's bars: a CSV or Parquet (``*.parquet``) file, a DataFrame, or bars already checked.
Source: TypeAlias = "str | os.PathLike[str] | pd.DataFrame | SymbolBars"

_DAY_NS: Final = 86_400 * 1_000_000_000
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


@attrs.frozen(eq=False)
class SymbolBars:
    """One symbol's checked bars, before alignment.

    ``timestamps`` are strictly increasing int64 nanoseconds (the data's own labels); ``columns``
    maps each fbt field present in the source (``open``, ``high``, ``low``, ``close``,
    ``adj_close``, ``volume``, ``open_interest``) to a float64 array of the same length. Arrays are
    read-only. ``has_time`` is True when the source has a separate time column or any label is not
    at midnight. ``source`` is the path or name the bars came from.

    >>> import numpy as np
    >>> bars = SymbolBars(np.array([0], dtype=np.int64), {"close": np.array([1.0])}, False, "x")
    >>> len(bars), bars.source
    (1, 'x')
    """

    timestamps: IntArray
    columns: dict[str, FloatArray]
    has_time: bool
    source: str

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


# --------------------------------------------------------------------------------------------------
# Public functions


def read_bars(path: PathLike) -> SymbolBars:
    """Read one CSV file of bars, checking every row.

    Raises :class:`~fbt.errors.DataError` for a missing or empty file, a header that does not match
    the rows, a missing ``Close`` or date column, and any bad row (unparseable date, duplicate or
    out-of-order timestamp, missing, non-positive or infinite price, negative volume, high below
    low, text that is not a number). Columns that are not bar fields are ignored with one
    :class:`DataWarning`.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ABC.csv"
    >>> _ = path.write_text("Date,Open,High,Low,Close,Volume\\n2024-01-02,10,11,9,10.5,100\\n")
    >>> bars = read_bars(path)
    >>> bars.timestamps.tolist(), bars.columns["close"].tolist(), sorted(bars.columns), bars.has_time
    ([1704153600000000000], [10.5], ['close', 'high', 'low', 'open', 'volume'], False)
    """
    source = os.fspath(path)
    if not isinstance(source, str):
        raise DataError(f"{source!r}: expected a path as text, got bytes")
    if os.path.isdir(source):
        raise DataError(f"{source}: expected a CSV file, got a directory")
    if not os.path.exists(source):
        raise DataError(f"{source}: expected a CSV file, got no such file")
    try:
        head = _head(source)
    except OSError as exc:
        raise DataError(f"{source}: expected a readable file, got {exc.strerror or exc}") from None
    header_line, header, first_line, first = _first_records(head, source)
    separator = next((c for c in ";\t|" if len(header) == 1 and c in header[0]), None)
    if separator is not None:
        raise DataError(
            f"{source}:{header_line}: expected comma-separated columns, got the header {header[0]!r} "
            f"(the file seems to be separated by {separator!r})"
        )
    layout = _match(header, f"{source}:{header_line}", date_from_index=False)
    if len(first) != len(header):
        raise DataError(_width_message(source, header_line, header, first_line, first))
    _warn_ignored(source, layout)

    bars: SymbolBars | None = None
    failure: Exception | None = None
    try:
        bars = _read_fast(source, layout)
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        failure = exc
    if bars is not None:
        return bars
    if failure is not None and "EOF inside string" in str(failure):
        with open(source, "rb") as fh:
            last = max((line for line, _ in _records(fh.read(), source)), default=1)
        raise DataError(
            f"{source}:{last}: expected a closing quote for the field opened here, got the end of the file"
        )
    # Something is wrong (or at least unusual): go through the file row by row to say what.
    lines = _read_slow(source, layout)
    if lines:
        raise DataError("\n".join(lines))
    if failure is None:  # only the quick field count was unsure (quoted commas): the rows are fine
        bars = _read_fast(source, layout, trust_widths=True)
        if bars is not None:
            return bars
    reason = f": {failure}" if failure is not None else ""
    raise DataError(f"{source}: expected a CSV file of bars, got one that cannot be read{reason}")


def bars_from_frame(frame: pd.DataFrame, source: str = "<DataFrame>") -> SymbolBars:
    """Read one symbol's bars from a DataFrame, with the same column matching and checks as a file.

    The dates come from a :class:`pandas.DatetimeIndex` (or an index named like a date column),
    which takes precedence, else from a date-like column (``Date``, ``Datetime``, ``Timestamp``,
    ...). A zoned index or column is converted to UTC and the zone dropped. Problems are reported as
    ``SOURCE:ROW (index LABEL): COLUMN: expected X, got Y`` with ``ROW`` the 1-based position.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Close": [1.0, 2.0]}, index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    >>> bars = bars_from_frame(frame)
    >>> bars.columns["close"].tolist(), bars.has_time, bars.source
    ([1.0, 2.0], False, '<DataFrame>')
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    index = frame.index
    index_dates = isinstance(index, pd.DatetimeIndex) or _norm(index.name) in (*_DATE_NAMES, "time")
    layout = _match(names, source, date_from_index=index_dates, frame=True)
    if len(frame) == 0:
        raise DataError(f"{source}: expected rows of bars, got an empty DataFrame")
    _warn_ignored(source, layout)

    values: dict[str, FloatArray] = {}
    not_number: dict[str, BoolArray] = {}
    raw: dict[str, npt.NDArray[Any]] = {}
    for field, col in layout.fields.items():
        series = frame.iloc[:, col]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            values[field] = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        else:
            objects = series.to_numpy(dtype=object)
            values[field], not_number[field] = _numbers(objects)
            raw[field] = objects
    labels = index

    def where(pos: int) -> str:
        return f"{source}:{pos + 1} (index {_show_label(labels[pos])})"

    try:
        if layout.date is None:
            date_values: npt.NDArray[Any] = index.to_numpy(dtype=object)
            date_name = str(index.name) if index.name is not None else "index"
            stamps = _dates_of(index if isinstance(index, pd.DatetimeIndex) else date_values, None)
        else:
            date_series = frame.iloc[:, layout.date]
            date_values = date_series.to_numpy(dtype=object)
            date_name = names[layout.date]
            time_values = None if layout.time is None else frame.iloc[:, layout.time].to_numpy(dtype=object)
            stamps = _dates_of(date_series, time_values)
    except _UnknownLayout as exc:
        name = names[layout.date] if layout.date is not None else str(index.name or "index")
        raise DataError(f"{where(0)}: {name}: {exc.say()}") from None
    raw["date"] = date_values
    if layout.time is not None:
        raw["time"] = frame.iloc[:, layout.time].to_numpy(dtype=object)

    def got(key: str, pos: int) -> str:
        if key in raw:
            return _show(raw[key][pos])
        return repr(float(values[key][pos]))

    display = _display(layout, date_name)
    findings = _check(stamps, values, not_number, got, display)
    if findings:
        raise DataError(_message([(f, where, lambda p: p) for f in findings], []))
    return _bars(stamps, values, layout.time is not None, source, copy=True)


def load(
    sources: Mapping[str, Source],
    *,
    start: Any = None,
    end: Any = None,
) -> BarData:
    """Read each symbol's file or DataFrame and align them all on the union of their timestamps.

    A source is a CSV file, a Parquet file (a path ending in ``.parquet``, read by
    :func:`fbt.io.parquet.read_parquet`), a DataFrame, or a :class:`SymbolBars` already checked
    (as :mod:`fbt.io.sql` reads them).

    ``start`` and ``end`` (anything :class:`pandas.Timestamp` accepts; ``None`` for no limit) keep
    only the bars inside the range, both ends included; an ``end`` given as a plain date
    (``"2014-12-31"`` or a :class:`datetime.date`) includes that whole day. A symbol with no bar in
    the range is a :class:`~fbt.errors.DataError`. The result's ``time_format`` is ``"date"`` when no
    source has a time of day, else ``"datetime"``.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"Close": [1.0, 3.0]}, index=pd.to_datetime(["2024-01-02", "2024-01-04"]))
    >>> b = pd.DataFrame({"Close": [2.0, 4.0]}, index=pd.to_datetime(["2024-01-03", "2024-01-04"]))
    >>> data = load({"A": a, "B": b})
    >>> data.column("A", "close").tolist(), data.column("B", "close").tolist(), data.time_format
    ([1.0, 1.0, 3.0], [nan, 2.0, 4.0], 'date')
    """
    if not sources:
        raise DataError("load: expected at least one symbol, got none")
    lo = _bound(start, "start", end=False)
    hi = _bound(end, "end", end=True)
    per_symbol: dict[str, SymbolBars] = {}
    for symbol, src in sources.items():
        name = f"<DataFrame {symbol}>"
        bars = _read_source(src, name)
        per_symbol[symbol] = _cut(bars, lo, hi, start, end)
    has_time = any(b.has_time for b in per_symbol.values())
    return align(
        {s: (b.timestamps, b.columns) for s, b in per_symbol.items()},
        time_format="datetime" if has_time else "date",
        sources=[b.source for b in per_symbol.values()],
    )


def load_dir(
    directory: PathLike,
    symbols: Sequence[str] | None = None,
    *,
    start: Any = None,
    end: Any = None,
) -> BarData:
    """Load ``DIRECTORY/SYMBOL.csv`` (``.txt``, ``.parquet``) for each symbol, or every ``*.csv`` and ``*.parquet``.

    Symbol names are case-sensitive. With ``symbols=None`` every ``*.csv`` and ``*.parquet`` file
    is loaded, sorted by name, its symbol being the file name without the suffix. ``start`` and
    ``end`` are as in :func:`load`.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "A.csv").write_text("Date,Close\\n2024-01-02,1\\n2024-01-03,2\\n")
    >>> _ = (folder / "B.txt").write_text("Date,Close\\n2024-01-03,5\\n")
    >>> data = load_dir(folder, ["A", "B"])
    >>> data.symbols, data.column("B", "close").tolist()
    (('A', 'B'), [nan, 5.0])
    >>> load_dir(folder).symbols
    ('A',)
    """
    folder = os.fspath(directory)
    if not os.path.isdir(folder):
        what = "a file" if os.path.exists(folder) else "no such directory"
        raise DataError(f"{folder}: expected a directory of CSV files, got {what}")
    files = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    chosen: dict[str, str] = {}
    if symbols is None:
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext in (".csv", ".parquet") and stem:
                if stem in chosen:
                    raise DataError(f"{folder}: {stem}: expected one file per symbol, got {stem}.csv and "
                                    f"{stem}.parquet")
                chosen[stem] = os.path.join(folder, name)
        if not chosen:
            raise DataError(f"{folder}: expected *.csv files, got none; the directory has {_listing(files)}")
        return load(chosen, start=start, end=end)
    if isinstance(symbols, str):
        raise ConfigError(f"symbols: expected a sequence of symbol names, got the string {symbols!r}")
    missing: list[str] = []
    for symbol in symbols:
        if symbol in chosen:
            raise ConfigError(f"symbols: expected each symbol once, got {symbol!r} twice")
        for ext in (".csv", ".txt", ".parquet"):
            if symbol + ext in files:
                chosen[symbol] = os.path.join(folder, symbol + ext)
                break
        else:
            chosen[symbol] = ""
            missing.append(symbol)
    if missing:
        lines = [f"{folder}: {s}: expected a file {s}.csv or {s}.txt, got no such file" for s in missing]
        lines[-1] += f"; the directory has {_listing(files)}"
        raise DataError("\n".join(lines))
    return load(chosen, start=start, end=end)


def _read_source(src: Source, name: str) -> SymbolBars:
    """Read one source: checked bars as they are, a DataFrame, a Parquet file (by its suffix) or a CSV file."""
    if isinstance(src, SymbolBars):
        return src
    if isinstance(src, pd.DataFrame):
        return bars_from_frame(src, name)
    if isinstance(src, str | os.PathLike) and os.fspath(src).lower().endswith(".parquet"):
        from fbt.io.parquet import read_parquet

        return read_parquet(src)
    return read_bars(src)


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


# --------------------------------------------------------------------------------------------------
# CSV reading


def _head(path: str) -> bytes:
    """Return the start of the file: enough for the header and the first data row."""
    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
        while data.count(b"\n") < 64:
            more = fh.read(1 << 20)
            if not more:
                break
            data += more
    return data


def _records(data: bytes | str, source: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line, fields) of each CSV record that pandas does not skip as blank.

    Like pandas, a line of nothing but whitespace is blank, while a line holding ``""`` is a record.
    """
    if isinstance(data, bytes):
        stream: io.TextIOBase = io.TextIOWrapper(
            io.BytesIO(data), encoding="utf-8-sig", errors="replace", newline=""
        )
    else:
        stream = io.StringIO(data, newline="")
    last = [""]

    def physical() -> Iterator[str]:
        for text in stream:
            last[0] = text
            yield text

    reader = csv.reader(physical(), skipinitialspace=True)
    line = 0
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if line == start and not last[0].strip():
                continue
            yield start, record
    except csv.Error as exc:
        raise DataError(f"{source}:{line + 1}: expected CSV text, got {exc}") from None


def _first_records(head: bytes, source: str) -> tuple[int, list[str], int, list[str]]:
    found: list[tuple[int, list[str]]] = []
    for item in _records(head, source):
        found.append(item)
        if len(found) == 2:
            break
    if not found:
        raise DataError(f"{source}: expected a header line and rows of bars, got an empty file")
    if len(found) == 1:
        raise DataError(f"{source}: expected rows of bars after the header, got none")
    (header_line, header), (first_line, first) = found
    return header_line, [h.strip() for h in header], first_line, first


def _width_message(source: str, header_line: int, header: list[str], line: int, row: list[str]) -> str:
    text = (
        f"{source}:{line}: expected {len(header)} fields as the header on line {header_line} names "
        f"({', '.join(header)}), got {len(row)}"
    )
    if len(row) > len(header):
        times = [i for i, v in enumerate(row) if _TIME_OF_DAY.fullmatch(v.strip())]
        hint = f" (field {times[0] + 1} is {row[times[0]]!r}, a time of day)" if times else ""
        text += f": the header seems to be missing a column{hint}"
    return text


def _count_commas(path: str) -> int:
    commas = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            commas += chunk.count(b",")
    return commas


def _read_fast(path: str, layout: _Layout, *, trust_widths: bool = False) -> SymbolBars | None:
    """Read with pandas' C parser; return None when the slow path must look for problems."""
    width = len(layout.names)
    names = [f"c{i}" for i in range(width)]
    numeric = set(layout.fields.values())
    dtype: dict[str, Any] = {n: (np.float64 if i in numeric else object) for i, n in enumerate(names)}
    frame = pd.read_csv(
        path,
        engine="c",
        header=0,
        names=names,
        index_col=False,
        dtype=dtype,
        keep_default_na=False,
        na_filter=False,
        skipinitialspace=True,
        encoding="utf-8",
        encoding_errors="replace",
    )
    # pandas refuses rows with too many fields but pads short ones; with the long ones gone, every row
    # has the header's width exactly when the file holds (width - 1) commas per line. (A quoted comma
    # also breaks the count: the slow path then confirms the rows and we read again.)
    if not trust_widths and _count_commas(path) != (width - 1) * (len(frame) + 1):
        return None
    values = {
        f: np.ascontiguousarray(frame[names[i]].to_numpy(dtype=np.float64)) for f, i in layout.fields.items()
    }
    assert layout.date is not None
    dates = frame[names[layout.date]].to_numpy(dtype=object)
    times = None if layout.time is None else frame[names[layout.time]].to_numpy(dtype=object)
    try:
        stamps = _dates_of(dates, times, texts=True)
    except _UnknownLayout:
        return None
    raw = {"date": dates} if times is None else {"date": dates, "time": times}

    def got(key: str, pos: int) -> str:
        return _show(raw[key][pos]) if key in raw else repr(float(values[key][pos]))

    if _check(stamps, values, {}, got, _display(layout, layout.names[layout.date])):
        return None
    return _bars(stamps, values, times is not None, path, copy=False)


def _scan(data: bytes, source: str) -> tuple[list[int], list[list[str]]]:
    """Split the whole file into records after the header: (line of each record, its fields)."""
    plain = b'"' not in data and b", " not in data and data.count(b"\r") == data.count(b"\r\n")
    if plain:  # no quoting, no spaces to skip, no bare carriage returns: a record is a line
        physical = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").split("\n")
        keep = [i for i, text in enumerate(physical) if text.strip()][1:]
        return [i + 1 for i in keep], [physical[i].split(",") for i in keep]
    records = list(_records(data, source))[1:]
    return [line for line, _ in records], [fields for _, fields in records]


def _read_slow(path: str, layout: _Layout) -> list[str]:
    """Go through the file record by record and return the message lines of every problem found."""
    with open(path, "rb") as fh:
        data = fh.read()
    with _no_gc():  # millions of small lists: the cycle collector would rescan them over and over
        lines, rows = _scan(data, path)
        return _slow_problems(path, layout, lines, rows)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _slow_problems(path: str, layout: _Layout, lines: list[int], rows: list[list[str]]) -> list[str]:
    width = len(layout.names)
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    wrong = np.flatnonzero(widths != width)
    extra: list[tuple[int, str]] = [
        (lines[k], f"{path}:{lines[k]}: expected {width} fields as the header names, got {widths[k]}")
        for k in wrong[:_MAX_SHOWN].tolist()
    ]
    if wrong.size:
        right = np.flatnonzero(widths == width).tolist()
        lines = [lines[k] for k in right]
        rows = [rows[k] for k in right]
    if not rows:
        return _finish(extra, int(wrong.size))
    by_column = list(zip(*rows, strict=True))

    def column(i: int) -> npt.NDArray[Any]:
        out = np.empty(len(rows), dtype=object)
        out[:] = by_column[i]
        return out

    values: dict[str, FloatArray] = {}
    not_number: dict[str, BoolArray] = {}
    raw: dict[str, npt.NDArray[Any]] = {}
    for field, i in layout.fields.items():
        raw[field] = column(i)
        values[field], not_number[field] = _numbers(raw[field], texts=True)
    assert layout.date is not None
    raw["date"] = column(layout.date)
    if layout.time is not None:
        raw["time"] = column(layout.time)
    try:
        stamps = _dates_of(raw["date"], raw.get("time"), texts=True)
    except _UnknownLayout as exc:  # the first good row's label has no known layout
        name = layout.names[layout.date]
        if layout.time is not None:
            name += f" {layout.names[layout.time]}"
        return _finish([*extra, (lines[0], f"{path}:{lines[0]}: {name}: {exc.say()}")], int(wrong.size) + 1)

    def got(key: str, pos: int) -> str:
        return _show(raw[key][pos])

    findings = _check(stamps, values, not_number, got, _display(layout, layout.names[layout.date]))
    line_of = np.asarray(lines, dtype=np.int64)

    def where(pos: int) -> str:
        return f"{path}:{line_of[pos]}"

    def sort_key(pos: int) -> int:
        return int(line_of[pos])

    return _lines([(f, where, sort_key) for f in findings], extra, int(wrong.size))


# --------------------------------------------------------------------------------------------------
# Parsing values


def _show(value: object) -> str:
    """Render a raw value for a message: quoted text, or the value itself."""
    if isinstance(value, str):
        return repr(value) if value.strip() else "an empty field"
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def _show_label(label: object) -> str:
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


# --------------------------------------------------------------------------------------------------
# Checks and messages


@attrs.frozen(eq=False)
class _Finding:
    key: str  # "date", "time" or an fbt field
    rows: IntArray  # positions of the bad rows, increasing
    say: Callable[[int], str]  # "expected X, got Y" for one row
    order: int  # column position, to order problems of one row
    name: str  # column name to show


def _check(
    stamps: _Stamps,
    values: Mapping[str, FloatArray],
    not_number: Mapping[str, BoolArray],
    got: Callable[[str, int], str],
    display: Mapping[str, tuple[int, str]],
) -> list[_Finding]:
    findings: list[_Finding] = []

    def add(key: str, rows: IntArray, say: Callable[[int], str]) -> None:
        if rows.size:
            order, name = display[key]
            findings.append(_Finding(key, rows, say, order, name))

    expected = stamps.expected
    add("date", np.flatnonzero(stamps.bad_date), lambda p: f"expected {expected}, got {got('date', p)}")
    if "time" in display:
        add(
            "time",
            np.flatnonzero(stamps.bad_time & ~stamps.bad_date),
            lambda p: f"expected a time of day like 09:30:00, got {got('time', p)}",
        )
    good = np.flatnonzero(~(stamps.bad_date | stamps.bad_time))
    ts = stamps.ns[good]
    if ts.size > 1:
        step = np.diff(ts)
        show_time = bool((ts % _DAY_NS).any()) or "time" in display

        def label(v: int) -> str:
            stamp = pd.Timestamp(v)
            return str(stamp) if show_time else stamp.strftime("%Y-%m-%d")

        if ts.size > 2 and bool((step < 0).all()):
            add(
                "date",
                good[1:2],
                lambda p: (
                    f"expected a timestamp after the previous row's {label(int(ts[0]))}, "
                    f"got {label(int(ts[1]))}: the rows are in decreasing time order (newest first); "
                    "sort them oldest first"
                ),
            )
        else:
            at = np.flatnonzero(step <= 0)
            before = dict(zip(good[at + 1].tolist(), ts[at].tolist(), strict=True))

            def order_say(p: int) -> str:
                prev, cur = before[p], int(stamps.ns[p])
                what = "again (duplicate timestamp)" if prev == cur else "(rows out of time order)"
                return f"expected a timestamp after the previous row's {label(prev)}, got {label(cur)} {what}"

            add("date", good[at + 1], order_say)

    def text_check(key: str) -> BoolArray:
        bad = not_number.get(key)
        if bad is not None:
            add(key, np.flatnonzero(bad), lambda p: f"expected a number, got {got(key, p)}")
            return bad
        return np.zeros(values[key].shape, dtype=np.bool_)

    valid: dict[str, BoolArray] = {}

    def range_check(key: str, allow_zero: bool, expected: str) -> None:
        v = values[key]
        text_bad = text_check(key)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v) & ((v >= 0) if allow_zero else (v > 0))
        add(key, np.flatnonzero(~ok & ~text_bad), lambda p: f"expected {expected}, got {got(key, p)}")
        valid[key] = ok

    for key in _PRICES:
        if key in values:
            range_check(key, False, "a positive finite price")
    for key in _AMOUNTS:
        if key in values:
            range_check(key, True, "a finite non-negative number")
    if "high" in values and "low" in values:
        below = valid["high"] & valid["low"] & (values["high"] < values["low"])
        low = display["low"][1]
        add(
            "high",
            np.flatnonzero(below),
            lambda p: f"expected at least {low} {got('low', p)}, got {got('high', p)}",
        )
    return findings


def _lines(
    groups: Sequence[tuple[_Finding, Callable[[int], str], Callable[[int], int]]],
    extra: Sequence[tuple[int, str]],
    extra_total: int,
) -> list[str]:
    """Render at most ten problems, the first first; the rest are counted."""
    items: list[tuple[int, int, str]] = [(key, -2, text) for key, text in extra]
    total = extra_total
    for finding, where, sort_key in groups:
        total += int(finding.rows.size)
        for pos in finding.rows[:_MAX_SHOWN].tolist():
            text = f"{where(pos)}: {finding.name}: {finding.say(pos)}"
            items.append((sort_key(pos), finding.order, text))
    items.sort(key=lambda item: (item[0], item[1]))
    shown = [text for _, _, text in items[:_MAX_SHOWN]]
    if total > len(shown):
        shown.append(f"... and {total - len(shown)} more")
    return shown


def _finish(extra: Sequence[tuple[int, str]], total: int) -> list[str]:
    return _lines([], extra, total)


def _message(
    groups: Sequence[tuple[_Finding, Callable[[int], str], Callable[[int], int]]],
    extra: Sequence[tuple[int, str]],
) -> str:
    return "\n".join(_lines(groups, extra, len(extra)))


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.flags.writeable = False
    return array


def _bars(
    stamps: _Stamps, values: Mapping[str, FloatArray], time_column: bool, source: str, *, copy: bool
) -> SymbolBars:
    """Build the record; ``copy=False`` when the arrays are our own (freshly parsed), not a caller's."""
    ns = np.ascontiguousarray(stamps.ns, dtype=np.int64)
    has_time = time_column or bool((ns % _DAY_NS).any())
    columns = {
        f: _readonly(np.array(values[f], dtype=np.float64, copy=True if copy else None))
        for f in _HUMAN
        if f in values
    }
    return SymbolBars(_readonly(ns), columns, has_time, source)


# --------------------------------------------------------------------------------------------------
# Date ranges and listings


def _bound(value: Any, name: str, *, end: bool) -> int | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            raise ValueError(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        ns = int(stamp.as_unit("ns").value)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"{name}: expected a date or timestamp, got {value!r}") from None
    whole_day = (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and re.fullmatch(r"\s*\d{4}-?\d{2}-?\d{2}\s*", value) is not None
    )
    return ns + _DAY_NS - 1 if end and whole_day else ns


def _cut(bars: SymbolBars, lo: int | None, hi: int | None, start: Any, end: Any) -> SymbolBars:
    if lo is None and hi is None:
        return bars
    ts = bars.timestamps
    i = 0 if lo is None else int(np.searchsorted(ts, lo, side="left"))
    j = len(ts) if hi is None else int(np.searchsorted(ts, hi, side="right"))
    if i >= j:
        span = f"{_show_label(pd.Timestamp(int(ts[0])))} .. {_show_label(pd.Timestamp(int(ts[-1])))}"
        raise DataError(
            f"{bars.source}: expected bars from {start if start is not None else 'the start'} "
            f"to {end if end is not None else 'the end'}, got none (the data runs {span})"
        )
    if i == 0 and j == len(ts):
        return bars
    columns = {f: _readonly(v[i:j].copy()) for f, v in bars.columns.items()}
    return SymbolBars(_readonly(ts[i:j].copy()), columns, bars.has_time, bars.source)


def _listing(files: Sequence[str]) -> str:
    if not files:
        return "no files"
    shown = ", ".join(files[:20])
    return shown + (f" and {len(files) - 20} more" if len(files) > 20 else "")
