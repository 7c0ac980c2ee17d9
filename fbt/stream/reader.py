"""Read the inputs of :func:`fbt.load_dir` in chunks: aligned :class:`~fbt.core.market.BarData` of at most N bars.

Each symbol's file is read in blocks of bytes (CSV) or row batches (Parquet), each block checked
with the loaders' own checks (:mod:`fbt.io.csv_reader`, :func:`fbt.io.loaders.bars_from_frame`), so
a bad row is the same :class:`~fbt.core.errors.DataError` naming file, row and column. The order check
crosses block edges (each block is read with the row before it). Where the in-memory loader lists
every problem of a file (at most ten), the streaming reader lists those of the first bad block.

The blocks are merged on the union of the symbols' timestamps as :func:`fbt.core.market.align` merges
whole files: a union timestamp is emitted once every symbol has either read past it or ended, each
symbol forward filled (never back filled) from its last real bar, carried over chunk edges, and
``real`` marks the bars that came from the data. A symbol with no bar yet is NaN.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "A.csv").write_text("Date,Close\\n2024-01-02,1\\n2024-01-03,2\\n2024-01-05,3\\n")
>>> _ = (folder / "B.csv").write_text("Date,Close\\n2024-01-03,5\\n2024-01-04,6\\n")
>>> [c.column("B", "close").tolist() for c in read_chunks(folder, chunk_bars=2)]
[[nan, 5.0], [6.0], [6.0]]
>>> [c.real.tolist() for c in read_chunks(folder, chunk_bars=3)]
[[[True, True, False], [False, True, True]], [[True], [False]]]
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from fbt.core.errors import ConfigError, DataError
from fbt.core.market import FIELDS, BarData, field_rows
from fbt.core.units import NS_PER_DAY
from fbt.io.csv_reader import block_problems, csv_records, read_block
from fbt.io.loaders import bars_from_frame, csv_layout, dir_sources, time_bound
from fbt.io.symbol_bars import FloatArray, IntArray, PathLike, SymbolBars
from fbt.io.value import show_label

__all__ = ["Chunks", "read_chunks"]

_BUDGET = 1 << 25  # bytes of raw input buffered over all symbols
_MIN_BLOCK, _MAX_BLOCK = 1 << 16, 1 << 23


@attrs.frozen(eq=False)
class _Rows:
    """One block of a symbol's rows: timestamps and every field, defaults filled (``(len(FIELDS), n)``)."""

    timestamps: IntArray
    values: FloatArray
    has_time: bool


def _rows(bars: SymbolBars) -> _Rows:
    return _Rows(bars.timestamps, field_rows(bars.columns), bars.has_time)


# --------------------------------------------------------------------------------------------------
# One symbol's file, block by block


def _csv_blocks(path: str, block_bytes: int, seen: list[int]) -> tuple[bool, Iterator[SymbolBars]]:
    """Check the header now; return whether the file has a time column, and its blocks of checked bars."""
    source, layout, head, first_line = csv_layout(path)
    offset = 0
    for _ in range(first_line - 1):
        offset = head.index(b"\n", offset) + 1
    end = head.find(b"\n", offset)
    first_row = head[offset:] if end < 0 else head[offset:end]
    first_row = first_row.rstrip(b"\r\n")
    preamble = head[:offset]

    def blocks() -> Iterator[SymbolBars]:
        line = first_line  # the file's line of the block's first byte
        previous: tuple[bytes, int] | None = None
        with open(source, "rb") as fh:
            fh.seek(offset)
            rest = b""
            while True:
                more = fh.read(block_bytes)
                data = rest + more
                if more:
                    cut = _cut(data)
                    if cut == 0:
                        rest = data
                        continue
                    block, rest = data[:cut], data[cut:]
                else:
                    block, rest = data, b""
                seen[0] = fh.tell() - len(rest)
                if block.strip():
                    yield _parse(source, layout, preamble, first_row, first_line, block, line, previous)
                    previous = _last_row(block, line) or previous
                line += block.count(b"\n")
                if not more:
                    return

    return layout.time is not None, blocks()


def _cut(data: bytes) -> int:
    """Where the block ends: after its last line end outside quotes (0: read on)."""
    cut = data.rfind(b"\n") + 1
    if b'"' in data:
        while cut and data.count(b'"', 0, cut) % 2:
            cut = data.rfind(b"\n", 0, cut - 1) + 1
    return cut


def _last_row(block: bytes, line: int) -> tuple[bytes, int] | None:
    """The block's last non-blank line and its line number."""
    lines = block.split(b"\n")
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].strip():
            return lines[k].rstrip(b"\r"), line + k
    return None


def _parse(source: str, layout: Any, preamble: bytes, first_row: bytes, first_line: int, block: bytes, line: int,
           previous: tuple[bytes, int] | None) -> SymbolBars:
    """Read one block as the whole file is read: fast, else row by row to say what is wrong."""
    context: list[tuple[bytes, int]] = []
    if previous is not None:  # the file's first row (its labels' layout) and the row before the block
        context = [(first_row, first_line)] if previous[1] == first_line else [(first_row, first_line), previous]
    data = b"".join(text + b"\n" for text, _ in context) + block
    skip = len(context)
    failure: Exception | None = None
    try:
        bars = read_block(data, layout, source, skip=skip)
    except (ValueError, OverflowError, pd.errors.ParserError) as exc:
        bars, failure = None, exc
    if bars is not None:
        return bars
    at = first_line + skip  # the block's first line in the text the slow path reads

    def line_of(n: int) -> int:
        if n < at:
            return context[n - first_line][1]
        return line + n - at

    problems = block_problems(source, layout, preamble + data, line_of)
    if problems:
        raise DataError("\n".join(problems))
    if failure is None:  # only the quick field count was unsure (quoted commas): the rows are fine
        bars = read_block(data, layout, source, skip=skip, trust_widths=True)
        if bars is not None:
            return bars
    if failure is not None and "EOF inside string" in str(failure):
        last = max((n for n, _ in csv_records(preamble + data, source)), default=1)
        raise DataError(
            f"{source}:{line_of(last)}: expected a closing quote for the field opened here, got the end of the file"
        )
    reason = f": {failure}" if failure is not None else ""
    raise DataError(f"{source}: expected a CSV file of bars, got one that cannot be read{reason}")


def _parquet_blocks(path: str, rows: int, seen: list[int]) -> tuple[bool, Iterator[SymbolBars]]:
    from fbt.io.parquet import require_pyarrow

    if os.path.isdir(path):
        raise DataError(f"{path}: expected a Parquet file, got a directory")
    if not os.path.exists(path):
        raise DataError(f"{path}: expected a Parquet file, got no such file")
    require_pyarrow()
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]  # (no type stubs)
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: expected a Parquet file of bars, got one that cannot be read: {exc}") from None
    names = {str(n).lower().replace(" ", "").replace("_", "") for n in file.schema_arrow.names}

    def blocks() -> Iterator[SymbolBars]:
        row = 1
        previous: pd.DataFrame | None = None
        try:
            batches = file.iter_batches(batch_size=rows)
            for batch in batches:
                frame = batch.to_pandas()
                if not len(frame):
                    continue
                if previous is None:
                    bars = bars_from_frame(frame, path, first_row=row)
                else:  # with the row before, so the order check crosses the batch's edge
                    bars = bars_from_frame(pd.concat([previous, frame]), path, first_row=row - 1)
                    bars = SymbolBars(bars.timestamps[1:], {f: v[1:] for f, v in bars.columns.items()},
                                      bars.has_time, bars.source)
                previous = frame.iloc[-1:]
                row += len(frame)
                seen[0] = int(os.path.getsize(path) * (row - 1) / max(1, file.metadata.num_rows))
                yield bars
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: expected a Parquet file of bars, got one that cannot be read: {exc}") from None

    return "time" in names, blocks()


class _Symbol:
    """One symbol's reader: its blocks of rows, cut to ``[lo, hi]``, with what the error of an empty range needs."""

    def __init__(self, path: str, block_bytes: int, lo: int | None, hi: int | None, bounds: tuple[Any, Any]) -> None:
        self.seen = [0]  # bytes of the file read so far (for progress)
        self.size = os.path.getsize(path) if os.path.isfile(path) else 0
        if path.lower().endswith(".parquet"):
            self.has_time, self._blocks = _parquet_blocks(path, max(1, block_bytes // 64), self.seen)
        else:
            self.has_time, self._blocks = _csv_blocks(path, block_bytes, self.seen)
        self.source = path
        self._lo, self._hi, self._bounds = lo, hi, bounds
        self._span: tuple[int, int] | None = None
        self._kept = False

    def next(self) -> _Rows | None:
        """The next block with rows in the range, None at the end."""
        for bars in self._blocks:
            ts = bars.timestamps
            if not len(ts):
                continue
            self._span = (int(ts[0]) if self._span is None else self._span[0], int(ts[-1]))
            i = 0 if self._lo is None else int(np.searchsorted(ts, self._lo, side="left"))
            j = len(ts) if self._hi is None else int(np.searchsorted(ts, self._hi, side="right"))
            if i >= j:
                continue
            self._kept = True
            rows = _rows(bars)
            if i or j < len(ts):
                rows = _Rows(rows.timestamps[i:j], rows.values[:, i:j], rows.has_time)
            return rows
        if not self._kept and self._span is not None:
            start, end = self._bounds
            span = f"{show_label(pd.Timestamp(self._span[0]))} .. {show_label(pd.Timestamp(self._span[1]))}"
            raise DataError(
                f"{self.source}: expected bars from {start if start is not None else 'the start'} "
                f"to {end if end is not None else 'the end'}, got none (the data runs {span})"
            )
        return None


# --------------------------------------------------------------------------------------------------
# Alignment, chunk by chunk


def read_chunks(
    source: PathLike | Mapping[str, PathLike],
    symbols: Sequence[str] | None = None,
    *,
    chunk_bars: int = 100_000,
    start: Any = None,
    end: Any = None,
    block_bytes: int | None = None,
) -> Chunks:
    """Yield the data :func:`fbt.load_dir` (a directory) or :func:`fbt.load` (``{symbol: path}``) would load,
    as consecutive chunks of at most ``chunk_bars`` aligned bars, reading each file once, in blocks.

    Joined end to end, the chunks' timestamps, values and ``real`` masks are the loaded data's. Each
    chunk's ``first`` is per chunk: 0 for a symbol whose first bar came in an earlier chunk, else
    the index of its first bar in the chunk (``len(chunk)`` before it). ``time_format`` is
    ``"datetime"`` from the first chunk that shows a time of day (or when a file has a time column).
    ``block_bytes`` is the size of the blocks read from each file (default: 32 MiB shared by the
    symbols, at least 64 KiB and at most 8 MiB each). Memory stays bounded whatever the data's length.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "A.csv").write_text("Date,Close\\n2024-01-02,1\\n2024-01-03,x\\n")
    >>> next(read_chunks(folder))
    Traceback (most recent call last):
    ...
    fbt.core.errors.DataError: ...A.csv:3: Close: expected a number, got 'x'
    """
    if isinstance(chunk_bars, bool) or not isinstance(chunk_bars, int) or chunk_bars < 1:
        raise ConfigError(f"chunk_bars: expected a whole number >= 1, got {chunk_bars!r}")
    if isinstance(source, Mapping):
        if symbols is not None:
            raise ConfigError("symbols: only with a directory; a mapping names its symbols already")
        if not source:
            raise DataError("load: expected at least one symbol, got none")
        paths = {s: os.fspath(p) for s, p in source.items()}
    else:
        paths = dir_sources(source, symbols)
    lo, hi = time_bound(start, "start", end=False), time_bound(end, "end", end=True)
    size = block_bytes or min(_MAX_BLOCK, max(_MIN_BLOCK, _BUDGET // len(paths)))
    readers = [_Symbol(p, size, lo, hi, (start, end)) for p in paths.values()]
    return Chunks(tuple(paths), readers, chunk_bars)


class Chunks:
    """The chunks of :func:`read_chunks` (an iterator), and how far through the files the reading is."""

    def __init__(self, symbols: tuple[str, ...], readers: list[_Symbol], chunk_bars: int) -> None:
        self.symbols = symbols
        self._readers = readers
        self._chunks = _align(symbols, readers, chunk_bars)

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> BarData:
        return next(self._chunks)

    def fraction(self) -> float:
        """The share of the input's bytes read so far (0 to 1)."""
        size = sum(r.size for r in self._readers)
        return min(1.0, sum(r.seen[0] for r in self._readers) / size) if size else 1.0


def _align(symbols: tuple[str, ...], readers: list[_Symbol], chunk_bars: int) -> Iterator[BarData]:
    n_sym = len(symbols)
    sources = tuple(r.source for r in readers)
    has_time = any(r.has_time for r in readers)
    buffers: list[_Rows | None] = [None] * n_sym
    at = [0] * n_sym
    done = [False] * n_sym
    last: list[FloatArray | None] = [None] * n_sym
    while True:
        for s in range(n_sym):
            while not done[s] and (buffers[s] is None or at[s] == len(buffers[s].timestamps)):  # type: ignore[union-attr]
                buffers[s], at[s] = readers[s].next(), 0
                if buffers[s] is None:
                    done[s] = True
        live = [s for s in range(n_sym) if not done[s]]
        if not live:
            return
        horizon = min(int(buffers[s].timestamps[-1]) for s in live)  # type: ignore[union-attr]
        pieces = []
        for s in live:
            ts = buffers[s].timestamps  # type: ignore[union-attr]
            pieces.append(ts[at[s]: at[s] + chunk_bars])
        first = pieces[0]
        if all(p.shape == first.shape and np.array_equal(p, first) for p in pieces[1:]):
            union = first  # one shared calendar: nothing to merge
        else:
            union = np.unique(np.concatenate(pieces))
        union = union[union <= horizon][:chunk_bars]
        cut = int(union[-1])
        m = len(union)
        values = np.full((len(FIELDS), n_sym, m), np.nan)
        real = np.zeros((n_sym, m), dtype=np.bool_)
        firsts = [m] * n_sym
        for s in live:
            rows = buffers[s]
            assert rows is not None
            ts = rows.timestamps[at[s]: at[s] + chunk_bars]
            j = int(np.searchsorted(ts, cut, side="right"))
            own_ts, own = ts[:j], rows.values[:, at[s]: at[s] + j]
            at[s] += j
            has_time = has_time or rows.has_time
            if j == m:  # a bar at every timestamp of the chunk
                values[:, s, :] = own
                real[s] = True
            elif j:
                pos = np.searchsorted(union, own_ts)
                real[s, pos] = True
                latest = np.maximum.accumulate(np.where(real[s], np.arange(m), -1))
                started = latest >= 0
                values[:, s, started] = own[:, (np.cumsum(real[s]) - 1)[started]]
                if last[s] is not None:
                    values[:, s, ~started] = last[s][:, None]  # type: ignore[index]
            elif last[s] is not None:
                values[:, s, :] = last[s][:, None]  # type: ignore[index]
            if last[s] is not None:
                firsts[s] = 0
            elif j:
                firsts[s] = int(np.argmax(real[s]))
            if last[s] is not None or j:
                last[s] = values[:, s, -1].copy()
        for s in range(n_sym):  # symbols that ended: forward filled to the end
            if done[s] and last[s] is not None:
                values[:, s, :] = last[s][:, None]  # type: ignore[index]
                firsts[s] = 0
        has_time = has_time or bool((union % NS_PER_DAY).any())
        for a in (values, real, union):
            a.flags.writeable = False
        yield BarData(symbols=symbols, timestamps=union, values=values, real=real, first=tuple(firsts),
                      time_format="datetime" if has_time else "date", sources=sources)
