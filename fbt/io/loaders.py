"""Read bar data from CSV files and DataFrames, checked, into fbt's aligned bar store.

:func:`read_bars` reads one CSV file and :func:`bars_from_frame` one DataFrame into a
:class:`SymbolBars` record; :func:`load` and :func:`load_dir` read several symbols and align them on
the union of their timestamps (:func:`fbt.core.market.align`).

Columns are matched by header name, ignoring case, spaces and underscores: a date column (``Date``,
``Datetime``, ``Timestamp``, ``Time`` when it is the only one, or an unnamed first column), an
optional ``Time`` column next to ``Date``, ``Close`` (required), and optional ``Open``, ``High``,
``Low``, ``Adj Close``, ``Volume`` and ``OpenInterest``, in any order. Other columns are ignored with
one :class:`DataWarning`.

Timestamps are the data's own labels as int64 nanoseconds: nothing is shifted and no time zone is
invented. A label written with a UTC offset (``2024-01-02T09:30:00+01:00``) is converted to UTC and
the zone dropped.

Every problem is a :class:`~fbt.core.errors.DataError` whose message reads ``PATH:ROW: COLUMN: expected X,
got Y`` (``ROW`` is the 1-based line of the file, the header being line 1) or ``PATH: ...`` for the
whole file. Where several rows are bad, the message has one line per problem, the first problem
first, at most ten, then ``... and N more``.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ABC.csv"
>>> _ = path.write_text("Date,Close\\n2024-01-02,10.5\\n2024-01-03,-1\\n")
>>> read_bars(path)
Traceback (most recent call last):
...
fbt.core.errors.DataError: ...ABC.csv:3: Close: expected a positive finite price, got '-1'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fbt.core.errors import ConfigError, DataError
from fbt.core.market import BarData, align
from fbt.core.units import NS_PER_DAY
from fbt.io.checks import _bars, _check, _message, _readonly
from fbt.io.column import _DATE_NAMES, DataWarning, _display, _Layout, _match, _norm, _warn_ignored
from fbt.io.csv_reader import _first_records, _head, _read_fast, _read_slow, _width_message, csv_records, read_arrow
from fbt.io.symbol_bars import BoolArray, FloatArray, PathLike, SymbolBars
from fbt.io.symbol_bars import Source as Source
from fbt.io.value import _dates_of, _numbers, _show, _UnknownLayout, show_label

__all__ = ["DataWarning", "SymbolBars", "bars_from_frame", "csv_layout", "dir_sources", "load", "load_dir",
           "read_bars"]


# --------------------------------------------------------------------------------------------------
# Public functions


def read_bars(path: PathLike) -> SymbolBars:
    """Read one CSV file of bars, checking every row.

    Raises :class:`~fbt.core.errors.DataError` for a missing or empty file, a header that does not match
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
    source, layout, head, first_line = csv_layout(path)
    bars = read_arrow(source, layout, _header_line(head, source), first_line)
    if bars is not None:
        return bars
    failure: Exception | None = None
    try:
        bars = _read_fast(source, layout)
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        failure = exc
    if bars is not None:
        return bars
    if failure is not None and "EOF inside string" in str(failure):
        with open(source, "rb") as fh:
            last = max((line for line, _ in csv_records(fh.read(), source)), default=1)
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


def csv_layout(path: PathLike) -> tuple[str, _Layout, bytes, int]:
    """Open a CSV file's header: return the path as text, its column layout, the head of the file and
    the line of the first row; every check of the header and the first row's width is made here.

    Columns that are not bar fields are warned about once (:class:`DataWarning`). The streaming
    reader (:mod:`fbt.stream.reader`) opens files through this too, so both read the same files.
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
    return source, layout, head, first_line


def _header_line(head: bytes, source: str) -> int:
    return _first_records(head, source)[0]


def bars_from_frame(frame: pd.DataFrame, source: str = "<DataFrame>", *, first_row: int = 1) -> SymbolBars:
    """Read one symbol's bars from a DataFrame, with the same column matching and checks as a file.

    The dates come from a :class:`pandas.DatetimeIndex` (or an index named like a date column),
    which takes precedence, else from a date-like column (``Date``, ``Datetime``, ``Timestamp``,
    ...). A zoned index or column is converted to UTC and the zone dropped. Problems are reported as
    ``SOURCE:ROW (index LABEL): COLUMN: expected X, got Y`` with ``ROW`` the 1-based position
    (``first_row`` numbers the frame's first row: a part of a larger table read in pieces).

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
        return f"{source}:{pos + first_row} (index {show_label(labels[pos])})"

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
    the range is a :class:`~fbt.core.errors.DataError`. The result's ``time_format`` is ``"date"`` when no
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
    lo = time_bound(start, "start", end=False)
    hi = time_bound(end, "end", end=True)
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
    return load(dir_sources(directory, symbols), start=start, end=end)


def dir_sources(directory: PathLike, symbols: Sequence[str] | None = None) -> dict[str, str]:
    """Return ``{symbol: path}`` of the files :func:`load_dir` reads (same rules, same errors).

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "A.csv").write_text("Date,Close\\n2024-01-02,1\\n")
    >>> [pathlib.Path(p).name for p in dir_sources(folder).values()]
    ['A.csv']
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
        return chosen
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
    return chosen


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
# Date ranges and listings


def time_bound(value: Any, name: str, *, end: bool) -> int | None:
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
    return ns + NS_PER_DAY - 1 if end and whole_day else ns


def _cut(bars: SymbolBars, lo: int | None, hi: int | None, start: Any, end: Any) -> SymbolBars:
    if lo is None and hi is None:
        return bars
    ts = bars.timestamps
    i = 0 if lo is None else int(np.searchsorted(ts, lo, side="left"))
    j = len(ts) if hi is None else int(np.searchsorted(ts, hi, side="right"))
    if i >= j:
        span = f"{show_label(pd.Timestamp(int(ts[0])))} .. {show_label(pd.Timestamp(int(ts[-1])))}"
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
