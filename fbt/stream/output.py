"""Output files written a chunk at a time, with the text :meth:`fbt.Result.write` gives the whole run.

Two choices of the in-memory writers depend on a whole column, which a stream learns only at its end:

- :func:`fbt.io.writers.format_floats` prints a column as integers when every value in it is a
  whole number (``100``), else every value at full precision (``100.0``);
- :func:`fbt.io.writers.format_timestamps` prints dates alone when no label has a time of day, and
  the time to the second, millisecond, microsecond or nanosecond as the finest label needs.

:class:`CsvSink` writes each chunk as the column looks so far (integers while every value has been
whole, the coarsest time unit seen) and remembers where a later chunk changed the choice; at the
end it rewrites just the rows written before the last change (``100`` becomes ``100.0``, ``09:30:00``
becomes ``09:30:00.000``) and copies the rest as bytes. Columns usually settle within the first
bars (cash after the first fill), so the rewrite is short. Files are written under a temporary
name in the output folder and moved into place by :meth:`CsvSink.commit`. The text is made and
written by the in-memory writer's Arrow kernels (:mod:`fbt.io.text`).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from fbt.io.text import float_columns, text_column, time_texts, write_table_rows

__all__ = ["CsvSink", "Kind", "temporary"]

Kind = Literal["text", "float", "time"]
_LEVELS = ("D", "s", "ms", "us", "ns")  # the units of time_level's levels


def temporary(path: Path) -> Path:
    """The name a file is written under before it is moved into place."""
    return path.with_name(f".{path.name}.stream.tmp")


def time_level(timestamps: npt.NDArray[np.int64], time_format: str) -> int:
    """The unit :func:`~fbt.io.writers.format_timestamps` picks: 0 dates, 1 seconds, ... 4 nanoseconds.

    >>> import numpy as np
    >>> time_level(np.array([0]), "date"), time_level(np.array([1_500_000_000]), "datetime")
    (0, 2)
    """
    if time_format == "date":
        return 0
    ts = np.asarray(timestamps, dtype=np.int64)
    for level, step in ((1, 10**9), (2, 10**6), (3, 10**3)):
        if not (ts % step).any():
            return level
    return 4


def refine(text: str, level: int, to: int) -> str:
    """Write a label formatted at unit ``level`` at the finer unit ``to`` (it is exact there: zeros follow).

    >>> refine("2024-01-02", 0, 1), refine("2024-01-02 09:30:00", 1, 3), refine("09:30:00.001", 2, 4)
    ('2024-01-02 00:00:00', '2024-01-02 09:30:00.000000', '09:30:00.001000000')
    """
    if level >= to:
        return text
    if level == 0:
        text, level = text + " 00:00:00", 1
    if level == to:
        return text
    if level == 1:
        return text + "." + "0" * (3 * (to - 1))
    return text + "0" * (3 * (to - level))


class _FloatColumn:
    def __init__(self) -> None:
        self.whole = True  # every value so far a whole number: written as integers
        self.flipped_at = 0  # rows before this were written as integers and must be rewritten
        self.negative_zeros: set[int] = set()

    def values(self, values: npt.NDArray[np.float64], row: int) -> npt.NDArray[np.float64]:
        """Take the next values (from ``row``): whether the column is still whole, where its -0.0 are."""
        v = np.asarray(values, dtype=np.float64)
        if not v.size:
            return v
        if self.whole and not (np.isfinite(v).all() and (v == np.round(v)).all() and np.abs(v).max() < 2**53):
            self.whole, self.flipped_at = False, row
        if self.whole:
            zeros = np.flatnonzero((v == 0.0) & np.signbit(v))
            self.negative_zeros.update((zeros + row).tolist())
        return v

    def fix(self, text: str, row: int) -> str:
        if self.whole or row >= self.flipped_at:
            return text
        # a whole number below 2**53 reads back as itself: its float text is the integer's and ".0"
        return "-0.0" if row in self.negative_zeros else text + ".0"


class _TimeColumn:
    def __init__(self) -> None:
        self.level = -1
        self.changes: list[tuple[int, int]] = []  # (first row, level) of each run of rows written at one level

    def texts(self, timestamps: npt.NDArray[np.int64], time_format: str, row: int) -> object:
        ts = np.asarray(timestamps, dtype=np.int64)
        if not ts.size:
            return text_column([])
        mine = time_level(ts, time_format)
        if mine > self.level:
            self.level = mine
            self.changes.append((row, mine))
        # at a finer unit than its own, a label's text is refine()'s: zeros follow
        return time_texts(ts, time_format, unit=_LEVELS[max(mine, self.level)])

    def rows_to_fix(self, final: int, rows: int) -> int:
        """How many leading rows (of ``rows``) were written at a coarser unit than the column's last."""
        level = max(self.level, final)
        for start, lvl in self.changes:  # the levels only grow: the coarse runs come first
            if lvl >= level:
                return start
        return rows

    def level_of(self, row: int) -> int:
        level = 0
        for start, lvl in self.changes:
            if start > row:
                break
            level = lvl
        return level


class CsvSink:
    """A CSV file written a chunk of rows at a time (``\\n`` line ends, as :func:`fbt.io.writers.write_csv`).

    ``kinds`` says how each column is given to :meth:`append`: ``"text"`` (strings), ``"float"`` (a
    float array, formatted as :func:`~fbt.io.writers.format_floats`) or ``"time"`` (int64 labels,
    formatted as :func:`~fbt.io.writers.format_timestamps`).

    >>> import numpy as np, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> sink = CsvSink(path, ["t", "v"], ["time", "float"])
    >>> sink.append([np.array([0]), np.array([1.0])], time_format="date")
    >>> sink.append([np.array([90 * 10**9]), np.array([1.5])], time_format="datetime")
    >>> sink.finish(time_format="datetime"); sink.commit()
    >>> print(path.read_text(), end="")
    t,v
    1970-01-01 00:00:00,1.0
    1970-01-01 00:01:30,1.5
    """

    def __init__(self, path: Path, header: Sequence[str], kinds: Sequence[Kind]) -> None:
        self.path = path
        self.tmp = temporary(path)
        self.kinds = tuple(kinds)
        self.rows = 0
        self._floats = {k: _FloatColumn() for k, kind in enumerate(kinds) if kind == "float"}
        self._times = {k: _TimeColumn() for k, kind in enumerate(kinds) if kind == "time"}
        self._file = open(self.tmp, "wb")  # noqa: SIM115
        self._file.write((",".join(header) + "\n").encode())
        self._marks = [(0, self._file.tell())]  # (rows written, bytes written) after each append

    def append(self, columns: Sequence[object], *, time_format: str) -> None:
        """Write rows given as columns (equal lengths), in order."""
        texts: list[object] = []
        floats = [k for k in range(len(columns)) if k in self._floats]
        formatted = dict(zip(floats, float_columns(
            [self._floats[k].values(columns[k], self.rows) for k in floats],  # type: ignore[arg-type]
            [self._floats[k].whole for k in floats]), strict=True))
        for k, column in enumerate(columns):
            if k in self._floats:
                texts.append(formatted[k])
            elif k in self._times:
                texts.append(self._times[k].texts(column, time_format, self.rows))  # type: ignore[arg-type]
            else:
                texts.append(text_column(column))
        rows = len(texts[0]) if texts else 0  # type: ignore[arg-type]
        if any(len(t) != rows for t in texts):  # type: ignore[arg-type]
            raise ValueError(f"{self.path.name}: expected columns of one length, got {[len(t) for t in texts]}")  # type: ignore[arg-type]
        if rows:
            write_table_rows(self._file, texts)
            self.rows += rows
            self._marks.append((self.rows, self._file.tell()))

    def finish(self, *, time_format: str) -> None:
        """Close the file, rewriting the rows whose text the later rows changed (see the module doc)."""
        self._file.close()
        final = 1 if time_format != "date" else 0
        bound = 0
        for column in self._floats.values():
            if not column.whole:
                bound = max(bound, column.flipped_at)
        for time_column in self._times.values():
            bound = max(bound, time_column.rows_to_fix(final, self.rows))
        if bound:
            self._rewrite(bound, final)

    def _rewrite(self, bound: int, final: int) -> None:
        fixed = self.tmp.with_name(self.tmp.name + ".fix")
        if self._rewrite_bytes(bound, final, fixed):
            os.replace(fixed, self.tmp)
            return
        floats, times = self._floats, self._times
        levels = {k: max(c.level, final) for k, c in times.items()}
        with open(self.tmp, encoding="utf-8", newline="") as src, open(fixed, "w", encoding="utf-8",
                                                                          newline="") as dst:
            dst.write(src.readline())
            # only the columns whose text changed: a float column that stopped being whole, a time
            # column that got finer
            flipped = [(k, c) for k, c in floats.items() if not c.whole and c.flipped_at]
            finer = [(k, c) for k, c in times.items() if c.rows_to_fix(final, self.rows)]
            for row in range(bound):
                fields = src.readline()[:-1].split(",")
                for k, column in flipped:
                    if row < column.flipped_at:
                        fields[k] = column.fix(fields[k], row)
                for k, time_column in finer:
                    fields[k] = refine(fields[k], time_column.level_of(row), levels[k])
                dst.write(",".join(fields) + "\n")
            shutil.copyfileobj(src, dst, 1 << 18)
        os.replace(fixed, self.tmp)

    def _rewrite_bytes(self, bound: int, final: int, fixed: Path) -> bool:
        """The rewrite as byte insertions, a written chunk at a time (numpy on the bytes): ``.0`` after a whole
        number, ``-`` before a zero that was -0.0, the finer unit's zeros after a label. False when a chunk's
        text is not one field per separator (quotes): then the rewrite goes row by row.
        """
        width = len(self.kinds)
        flipped = [(k, c) for k, c in self._floats.items() if not c.whole and c.flipped_at]
        finer = [(k, c, max(c.level, final)) for k, c in self._times.items() if c.rows_to_fix(final, self.rows)]
        zeros = {k: np.array(sorted(c.negative_zeros), dtype=np.int64) for k, c in flipped}
        with open(self.tmp, "rb") as src, open(fixed, "wb") as dst:
            dst.write(src.read(self._marks[0][1]))
            for (lo, start), (hi, end) in itertools.pairwise(self._marks):
                if lo >= bound:
                    src.seek(start)
                    shutil.copyfileobj(src, dst, 1 << 20)
                    return True
                data = np.frombuffer(src.read(end - start), dtype=np.uint8)
                if (data == 34).any():  # a quote
                    return False
                ends = np.flatnonzero((data == 44) | (data == 10))  # each field's end: a comma or the line end
                n = hi - lo
                if ends.size != n * width:
                    return False
                seps = ends.reshape(n, width)
                if not (data[seps[:, -1]] == 10).all():
                    return False
                edits: list[tuple[npt.NDArray[np.int64], str]] = []  # (before which bytes, the text put there)
                rows = np.arange(lo, hi)
                for k, column in flipped:
                    edits.append((seps[rows < column.flipped_at, k], ".0"))
                    z = zeros[k][(zeros[k] >= lo) & (zeros[k] < min(hi, column.flipped_at))] - lo
                    if z.size:  # "0" written for -0.0: "-0.0"
                        edits.append((seps[z, k - 1] + 1 if k else np.where(z > 0, seps[z - 1, -1] + 1, 0), "-"))
                for k, time_column, to in finer:
                    for (first, level), (last, _) in itertools.pairwise([*time_column.changes, (self.rows, to)]):
                        mask = (rows >= first) & (rows < last)
                        if level < to and mask.any():
                            edits.append((seps[mask, k], refine("", level, to)))
                dst.write(_insert(data, edits).tobytes())
        return True

    def commit(self) -> None:
        """Move the finished file into place."""
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Close and remove the temporary file (after an error)."""
        if not self._file.closed:
            self._file.close()
        for path in (self.tmp, self.tmp.with_name(self.tmp.name + ".fix")):
            if path.exists():
                path.unlink()


def _insert(data: npt.NDArray[np.uint8], edits: list[tuple[npt.NDArray[np.int64], str]]) -> npt.NDArray[np.uint8]:
    """``data`` with each edit's text put before each of its positions (texts at one position in the order given).

    >>> _insert(np.frombuffer(b"1,2\\n", dtype=np.uint8), [(np.array([1, 3]), ".0")]).tobytes()
    b'1.0,2.0\\n'
    """
    where = [at for at, text in edits for _ in text.encode()]
    what = [np.full(at.size, byte, dtype=np.uint8) for at, text in edits for byte in text.encode()]
    if not where:
        return data
    at = np.concatenate(where)
    order = np.argsort(at, kind="stable")
    return np.insert(data, at[order], np.concatenate(what)[order])
