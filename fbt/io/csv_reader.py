"""CSV parsing: Arrow's reader, pandas' block reader, and the slow, row-by-row error path.

A file (or a streamed block of rows) is read first by Arrow's multi-threaded CSV reader
(:func:`arrow_bars`), which takes it only when nothing is unusual: no quotes, every row as wide as
the header, every bar field a number, every label an ISO 8601 date or date and time without a zone
(``YYYY-MM-DD[ HH:MM[:SS[.f]]]``) that Arrow parses natively, and every check passed. Anything
else is read as before: pandas' C parser, then the row-by-row checker that says what is wrong,
so every value and every message is the same whichever reader took the file.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fbt.core.errors import DataError
from fbt.io.checks import _bars, _check, _finish, _lines
from fbt.io.column import _CHUNK, _MAX_SHOWN, _TIME_OF_DAY, _display, _Layout
from fbt.io.symbol_bars import BoolArray, FloatArray, SymbolBars
from fbt.io.value import _dates_of, _numbers, _show, _Stamps, _UnknownLayout

# --------------------------------------------------------------------------------------------------
# Arrow's reader

def arrow_bars(data: bytes, layout: _Layout, source: str, *, header: bool, skip: int = 0) -> SymbolBars | None:
    """Read CSV text (after a header line when ``header``) with Arrow's reader; None when in doubt.

    Arrow takes the file only when it has no quotes, every row has the header's width, every bar
    field is a number and every label an ISO 8601 date or date and time without a zone (which
    Arrow parses natively, to the same nanoseconds as pandas), and no check finds a problem.

    The first ``skip`` rows are context, not returned (as in :func:`read_block`).
    """
    if b'"' in data or layout.date is None:
        return None
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]  # (no type stubs)
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.csv as pcsv  # type: ignore[import-untyped,unused-ignore]

    names = [f"c{i}" for i in range(len(layout.names))]
    labels = [layout.date] if layout.time is None else [layout.date, layout.time]
    # Arrow parses ISO 8601 labels without a zone (YYYY-MM-DD[(T| )HH[:MM[:SS[.f]]]]) exactly as pandas does, and
    # refuses the rest (zones, other layouts, dates out of nanosecond range): those files go to pandas
    label_type = pa.timestamp("ns") if layout.time is None else pa.string()
    types = {names[i]: pa.float64() for i in layout.fields.values()} | {names[i]: label_type for i in labels}
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0),
            parse_options=pcsv.ParseOptions(delimiter=","),
            convert_options=pcsv.ConvertOptions(column_types=types, include_columns=list(types), null_values=[],
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        if table.num_rows <= skip:
            return None
        stamps = table.column(names[layout.date])
        if layout.time is not None:
            day, clock = stamps, table.column(names[layout.time])
            if not pc.all(pc.match_substring_regex(day, r"^\d{4}-\d\d-\d\d$")).as_py():
                return None
            stamps = pc.cast(pc.binary_join_element_wise(day, clock, " "), pa.timestamp("ns"))
        ns = np.ascontiguousarray(stamps.combine_chunks().cast(pa.int64()).to_numpy(), dtype=np.int64)
        values = {f: np.ascontiguousarray(table.column(names[i]).to_numpy(), dtype=np.float64)
                  for f, i in layout.fields.items()}
    except (pa.ArrowException, ValueError, OverflowError):
        return None
    no = np.zeros(len(ns), dtype=np.bool_)
    stamps = _Stamps(ns, no, no, "")

    def got(key: str, pos: int) -> str:  # never shown: a finding sends the file to the other readers
        return ""

    if _check(stamps, values, {}, got, _display(layout, layout.names[layout.date])):
        return None
    if skip:
        stamps = _Stamps(ns[skip:], no[skip:], no[skip:], "")
        values = {f: np.ascontiguousarray(v[skip:]) for f, v in values.items()}
    return _bars(stamps, values, layout.time is not None, source, copy=False)


def read_arrow(path: str, layout: _Layout, header_line: int, first_line: int) -> SymbolBars | None:
    """Read a whole file with Arrow's reader (:func:`arrow_bars`); None when in doubt or when the header
    is not on the first line and the first row on the second.
    """
    if header_line != 1 or first_line != 2:
        return None
    with open(path, "rb") as fh:
        data = fh.read()
    return arrow_bars(data, layout, path, header=True)


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


def csv_records(data: bytes | str, source: str) -> Iterator[tuple[int, list[str]]]:
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
    for item in csv_records(head, source):
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


def _read_options(layout: _Layout) -> dict[str, Any]:
    """pandas' C parser options of the fast path: every field as text but the bar fields, nothing guessed."""
    width = len(layout.names)
    names = [f"c{i}" for i in range(width)]
    numeric = set(layout.fields.values())
    dtype: dict[str, Any] = {n: (np.float64 if i in numeric else object) for i, n in enumerate(names)}
    return {"engine": "c", "names": names, "index_col": False, "dtype": dtype, "keep_default_na": False,
            "na_filter": False, "skipinitialspace": True, "encoding": "utf-8", "encoding_errors": "replace"}


def _read_fast(path: str, layout: _Layout, *, trust_widths: bool = False) -> SymbolBars | None:
    """Read with pandas' C parser; return None when the slow path must look for problems."""
    width = len(layout.names)
    frame = pd.read_csv(path, header=0, **_read_options(layout))
    # pandas refuses rows with too many fields but pads short ones; with the long ones gone, every row
    # has the header's width exactly when the file holds (width - 1) commas per line. (A quoted comma
    # also breaks the count: the slow path then confirms the rows and we read again.)
    if not trust_widths and _count_commas(path) != (width - 1) * (len(frame) + 1):
        return None
    return _frame_bars(frame, layout, path)


def read_block(data: bytes, layout: _Layout, source: str, *, skip: int = 0,
                trust_widths: bool = False) -> SymbolBars | None:
    """Read a block of data rows (no header line) as :func:`_read_fast` reads a file; None when in doubt.

    The first ``skip`` rows are context, not returned: the file's first row (its label's layout is
    the file's) and the row before the block (so the order check crosses the block's edge).
    """
    if not trust_widths:
        bars = arrow_bars(data, layout, source, header=False, skip=skip)
        if bars is not None:
            return bars
    width = len(layout.names)
    try:
        frame = pd.read_csv(io.BytesIO(data), header=None, **_read_options(layout))
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({n: [] for n in _read_options(layout)["names"]})
    if not trust_widths and data.count(b",") != (width - 1) * len(frame):
        return None
    return _frame_bars(frame, layout, source, skip=skip)


def _frame_bars(frame: pd.DataFrame, layout: _Layout, source: str, *, skip: int = 0) -> SymbolBars | None:
    names = list(frame.columns)
    values = {
        f: np.ascontiguousarray(frame[names[i]].to_numpy(dtype=np.float64)) for f, i in layout.fields.items()
    }
    assert layout.date is not None
    dates = frame[names[layout.date]].to_numpy(dtype=object)
    times = None if layout.time is None else frame[names[layout.time]].to_numpy(dtype=object)
    if not len(dates):
        return _bars(_Stamps(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.bool_),
                             ""), values, times is not None, source, copy=False)
    try:
        stamps = _dates_of(dates, times, texts=True)
    except _UnknownLayout:
        return None
    raw = {"date": dates} if times is None else {"date": dates, "time": times}

    def got(key: str, pos: int) -> str:
        return _show(raw[key][pos]) if key in raw else repr(float(values[key][pos]))

    if _check(stamps, values, {}, got, _display(layout, layout.names[layout.date])):
        return None
    if skip:
        stamps = _Stamps(stamps.ns[skip:], stamps.bad_date[skip:], stamps.bad_time[skip:], stamps.expected)
        values = {f: np.ascontiguousarray(v[skip:]) for f, v in values.items()}
    return _bars(stamps, values, times is not None, source, copy=False)


def _scan(data: bytes, source: str) -> tuple[list[int], list[list[str]]]:
    """Split the whole file into records after the header: (line of each record, its fields)."""
    plain = b'"' not in data and b", " not in data and data.count(b"\r") == data.count(b"\r\n")
    if plain:  # no quoting, no spaces to skip, no bare carriage returns: a record is a line
        physical = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").split("\n")
        keep = [i for i, text in enumerate(physical) if text.strip()][1:]
        return [i + 1 for i in keep], [physical[i].split(",") for i in keep]
    records = list(csv_records(data, source))[1:]
    return [line for line, _ in records], [fields for _, fields in records]


def block_problems(path: str, layout: _Layout, data: bytes, line_of: Callable[[int], int]) -> list[str]:
    """The slow path on a block (``data`` starts with the header line): ``line_of`` maps its lines to the file's."""
    with _no_gc():
        lines, rows = _scan(data, path)
        return _slow_problems(path, layout, [line_of(n) for n in lines], rows)


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
