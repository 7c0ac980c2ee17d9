"""The text of output columns, made by Arrow's kernels, and CSV files written from it by Arrow's writer.

:func:`float_texts` gives exactly Python's ``repr`` of each float (the shortest text that reads back
to the same float: ``0.1``, ``100.0``, ``-0.0``, ``1e-05``, ``1e+16``, ``nan``), or for a whole
column (:func:`fbt.io.writers.is_whole`) the integer's text (``100``, ``0`` for ``-0.0``).
Arrow's float-to-text cast finds the same shortest digits as Python but lays them out differently
(``100`` for ``100.0``, ``1e-7``, ``1e+15``): its text is kept where it is Python's positional form,
``.0`` added where the value is a whole number, and the rest (values below ``1e-4`` or from
``1e16``, infinities and NaN: rare in a run's outputs) formatted by ``repr`` one by one.
:func:`time_texts` formats int64 nanosecond labels as :func:`fbt.io.writers.format_timestamps`.

:func:`write_csv_table` writes text columns under a header with ``\\n`` line ends and no quoting,
the bytes of ``",".join`` row by row, through a temporary name; :func:`write_csv_blocks` writes the
same from columns made a block of rows at a time, so a large file's text is never held whole.

>>> float_texts(np.array([0.1, 100.0, -0.0, 1e-05, 1e16, np.nan])).to_pylist()
['0.1', '100.0', '-0.0', '1e-05', '1e+16', 'nan']
>>> float_texts(np.array([100.0, -0.0]), whole=True).to_pylist()
['100', '0']
>>> time_texts(np.array([90 * 10**9], dtype=np.int64), "datetime").to_pylist()
['1970-01-01 00:01:30']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from fbt.core.units import NS_PER_DAY

__all__ = ["float_columns", "float_texts", "is_whole", "text_column", "time_texts", "time_unit",
           "write_csv_blocks", "write_csv_table", "write_table_rows"]

#: Python's repr is positional from 1e-4 up to (not including) 1e16, else scientific.
_LOW, _HIGH = 1e-4, 1e16
_ROWS = 1 << 17  # rows formatted and written per block
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def is_whole(values: npt.NDArray[np.float64]) -> bool:
    """True when every value is a finite whole number below 2**53 (:func:`float_texts` prints it as one).

    >>> is_whole(np.array([1.0, -2.0])), is_whole(np.array([0.5])), is_whole(np.array([]))
    (True, False, False)
    """
    v = np.asarray(values, dtype=np.float64)
    return bool(v.size and np.isfinite(v).all() and (v == np.round(v)).all() and np.abs(v).max() < 2**53)


def float_texts(values: npt.NDArray[np.float64], *, whole: bool | None = None) -> Any:
    """A ``pyarrow`` string array of each value's ``repr`` (integer texts when ``whole``; by default
    the values decide, as :func:`is_whole`). Runs of equal values are formatted once.
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]  # (no type stubs)

    v = np.ascontiguousarray(values, dtype=np.float64)
    if not v.size:
        return pa.array([], pa.string())
    if whole is None:
        whole = is_whole(v)
    bits = v.view(np.int64)  # equal bits, equal text: -0.0 and 0.0 differ
    change = bits[1:] != bits[:-1]
    if change.all():
        return _whole_texts(v) if whole else _float_texts(v)
    starts = np.flatnonzero(np.concatenate(([True], change)))
    firsts = v[starts]
    texts = _whole_texts(firsts) if whole else _float_texts(firsts)
    run = np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(np.append(starts, v.size)))
    return texts.take(pa.array(run))


def float_columns(columns: Sequence[npt.NDArray[np.float64]], wholes: Sequence[bool | None] | None = None) -> list[Any]:
    """:func:`float_texts` of each column (``wholes``: each column's ``whole``), on two threads where there
    are two cores (Arrow's kernels release the GIL); the texts are the same either way.

    >>> [t.to_pylist() for t in float_columns([np.array([1.0]), np.array([0.5])])]
    [['1'], ['0.5']]
    """
    flags = list(wholes) if wholes is not None else [None] * len(columns)
    if len(columns) < 2 or (os.cpu_count() or 1) < 2:
        return [float_texts(c, whole=w) for c, w in zip(columns, flags, strict=True)]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda job: float_texts(job[0], whole=job[1]), zip(columns, flags, strict=True)))


def _whole_texts(v: npt.NDArray[np.float64]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    return pc.cast(pa.array(v.astype(np.int64)), pa.string())


def _float_texts(v: npt.NDArray[np.float64]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pc.cast(pa.array(v), pa.string())
    size = np.abs(v)
    finite = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        scientific = finite & (v != 0.0) & ((size < _LOW) | (size >= _HIGH))  # Python writes 1e-05, 1e+16
        integral = finite & ~scientific & (v == np.trunc(v))
    arrow_e = np.asarray(pc.match_substring(texts, "e"), dtype=np.bool_)
    own = ~finite | (arrow_e & ~scientific)  # NaN, infinities, and Arrow's 1e+14 where Python writes 100000000000000.0
    integral &= ~own
    # each group of rows whose text changes: (rows, their new texts); put in place by one take at the end
    groups: list[tuple[npt.NDArray[np.int64], Any]] = []
    if integral.any():  # Arrow writes 100.0 as "100", -0.0 as "-0"
        rows = np.flatnonzero(integral)
        groups.append((rows, pc.binary_join_element_wise(texts.take(pa.array(rows)), ".0", "")))
    if scientific.any():
        rows = np.flatnonzero(scientific)
        for part, text in _scientific(texts.take(pa.array(rows)), v[rows], arrow_e[rows]):
            groups.append((rows[part], text))
        done = np.zeros(v.size, dtype=np.bool_)
        for part, _ in groups:
            done[part] = True
        own |= scientific & ~done  # not in a form the rewrites know (never seen; kept for safety)
    if own.any():
        rows = np.flatnonzero(own)
        groups.append((rows, pa.array(list(map(float.__repr__, v[rows].tolist())), pa.string())))
    if not groups:
        return texts
    index = np.arange(v.size, dtype=np.int64)
    start = v.size
    for rows, _ in groups:
        index[rows] = np.arange(start, start + rows.size, dtype=np.int64)
        start += rows.size
    return pa.concat_arrays([texts, *(text for _, text in groups)]).take(pa.array(index))


def _scientific(texts: Any, v: npt.NDArray[np.float64],
                arrow_e: npt.NDArray[np.bool_]) -> list[tuple[npt.NDArray[np.int64], Any]]:
    """Python's scientific text of values from Arrow's text: groups of (positions, texts); the rest are Python's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    groups: list[tuple[npt.NDArray[np.int64], Any]] = []
    one = arrow_e & np.asarray(pc.equal(pc.utf8_slice_codeunits(texts, -3, -2), "e"), dtype=np.bool_)
    if one.any():  # Arrow writes one exponent digit, Python at least two: 1e-7 -> 1e-07
        rows = np.flatnonzero(one)
        some = texts.take(pa.array(rows))
        groups.append((rows, pc.binary_join_element_wise(pc.utf8_slice_codeunits(some, 0, -1),
                                                         pc.utf8_slice_codeunits(some, -1), "0")))
    rest = arrow_e & ~one
    if rest.any():  # Arrow's text is Python's: 1e-300, 1.5e+16
        rows = np.flatnonzero(rest)
        groups.append((rows, texts.take(pa.array(rows))))
    # Arrow writes 1e-6 <= |x| < 1e-4 positionally: 0.0000035 -> 3.5e-06, -0.00001 -> -1e-05
    zeros = np.where(np.abs(v) >= 1e-5, 4, 5)
    for negative in (False, True):
        for z in (4, 5):
            group = ~arrow_e & (zeros == z) & (np.signbit(v) == negative)
            if not group.any():
                continue
            rows = np.flatnonzero(group)
            prefix = ("-" if negative else "") + "0." + "0" * z
            some = texts.take(pa.array(rows))
            if not pc.all(pc.starts_with(some, prefix)).as_py():
                continue  # not Arrow's form as known: left to repr
            digits = pc.utf8_slice_codeunits(some, len(prefix))
            first, tail = pc.utf8_slice_codeunits(digits, 0, 1), pc.utf8_slice_codeunits(digits, 1)
            mantissa = pc.if_else(pc.greater(pc.utf8_length(tail), 0), pc.binary_join_element_wise(first, tail, "."),
                                  first)
            groups.append((rows, pc.binary_join_element_wise("-" if negative else "", mantissa, f"e-{z + 1:02d}", "")))
    return groups


def time_unit(timestamps: npt.NDArray[np.int64], time_format: str) -> str:
    """The unit labels are written at: ``D`` (dates), else the coarsest of ``s``, ``ms``, ``us``, ``ns`` that is exact.

    >>> time_unit(np.array([0]), "date"), time_unit(np.array([1_500_000_000]), "datetime")
    ('D', 'ms')
    """
    if time_format == "date":
        return "D"
    ts = np.asarray(timestamps, dtype=np.int64)
    for unit in ("s", "ms", "us"):
        if not (ts % _UNITS[unit]).any():
            return unit
    return "ns"


def time_texts(timestamps: npt.NDArray[np.int64], time_format: str, unit: str | None = None) -> Any:
    """A ``pyarrow`` string array of the labels: ``YYYY-MM-DD`` for daily data, else
    ``YYYY-MM-DD HH:MM:SS[.f]`` at :func:`time_unit` (or the finer ``unit`` given).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = np.ascontiguousarray(timestamps, dtype=np.int64)
    unit = unit or time_unit(ts, time_format)
    if unit == "D":
        days = (ts // NS_PER_DAY).astype(np.int32)
        return pc.cast(pa.array(days, pa.date32()), pa.string())
    return pc.cast(pa.array(ts // _UNITS[unit], pa.timestamp(unit)), pa.string())


def text_column(column: Any) -> Any:
    """A column of text as a ``pyarrow`` string array (an Arrow array is returned as it is)."""
    import pyarrow as pa

    if isinstance(column, pa.Array | pa.ChunkedArray):
        return column
    return pa.array(column, pa.string())


def write_table_rows(fh: IO[bytes], columns: Sequence[Any]) -> None:
    """Write text columns (equal lengths; Arrow string arrays or sequences of str) as rows: ``",".join``
    of each row and ``\\n``, no quoting, a block of rows at a time, into a seekable binary file.
    """
    arrays = [text_column(c) for c in columns]
    rows = len(arrays[0]) if arrays else 0
    if any(len(a) != rows for a in arrays):
        raise ValueError(f"expected text columns of one length, got {[len(a) for a in arrays]}")
    for lo in range(0, rows, _ROWS):
        _write_block(fh, [a.slice(lo, _ROWS) for a in arrays])


def _write_block(fh: IO[bytes], arrays: Sequence[Any]) -> None:
    """One block's rows by Arrow's CSV writer; a block it refuses (a text holding a comma, quote or line
    end) is written by ``",".join`` instead, over whatever part of it Arrow had written.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv  # type: ignore[import-untyped,unused-ignore]

    if not arrays or not len(arrays[0]):
        return
    table = pa.table(list(arrays), names=[f"c{k}" for k in range(len(arrays))])
    start = fh.tell()
    try:
        pcsv.write_csv(table, fh, pcsv.WriteOptions(include_header=False, quoting_style="none",
                                                    batch_size=table.num_rows))
    except pa.ArrowInvalid:  # written as it is, as ",".join does
        fh.seek(start)
        fh.truncate()
        rows = zip(*(a.to_pylist() for a in table.columns), strict=True)
        fh.write(("\n".join(map(",".join, rows)) + "\n").encode())


def write_csv_blocks(path: str | os.PathLike[str], header: Sequence[str], rows: int,
                     block: Callable[[int, int], Sequence[Any]], *, size: int = _ROWS) -> None:
    """Write ``rows`` rows under one header row, ``\\n`` line ends; whole or not at all (a temporary name).

    ``block(lo, hi)`` gives the text columns of rows ``lo`` to ``hi`` (excluded); blocks of ``size``
    rows are made and written in turn, so only one block's text is held at a time.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> v = np.array([1.5, 2.0, 0.25])
    >>> write_csv_blocks(path, ["v"], 3, lambda lo, hi: [float_texts(v[lo:hi], whole=False)], size=2)
    >>> path.read_text()
    'v\\n1.5\\n2.0\\n0.25\\n'
    """
    if size < 1:
        raise ValueError(f"write_csv_blocks: size must be at least 1, got {size}")
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write((",".join(header) + "\n").encode())
            for lo in range(0, rows, size):
                hi = min(lo + size, rows)
                arrays = [text_column(c) for c in block(lo, hi)]
                if any(len(a) != hi - lo for a in arrays):
                    raise ValueError(f"{target.name}: expected {hi - lo} rows in each column of rows {lo}..{hi}, "
                                     f"got {[len(a) for a in arrays]}")
                _write_block(fh, arrays)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_csv_table(path: str | os.PathLike[str], header: Sequence[str], columns: Sequence[Any]) -> None:
    """Write text columns under one header row, ``\\n`` line ends; whole or not at all (a temporary name).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> write_csv_table(path, ["t", "v"], [["a", "b"], float_texts(np.array([1.5, 2.0]))])
    >>> path.read_text()
    't,v\\na,1.5\\nb,2.0\\n'
    """
    arrays = [text_column(c) for c in columns]
    rows = len(arrays[0]) if arrays else 0
    if any(len(a) != rows for a in arrays):
        raise ValueError(f"{Path(path).name}: expected text columns of one length, got {[len(a) for a in arrays]}")
    write_csv_blocks(path, header, rows, lambda lo, hi: [a.slice(lo, hi - lo) for a in arrays])
