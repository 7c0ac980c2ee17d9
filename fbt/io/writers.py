"""Writers for a run's outputs: ``equity.csv``, ``fills.csv``, ``stats.json``.

Numbers are written at full float precision (the shortest text that reads back to the same
float); timestamps in the input's own form (``YYYY-MM-DD`` for daily data). Each file is written
to a temporary name and moved into place, so a failure never leaves half a file behind.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from fbt.core.units import NS_PER_DAY

__all__ = ["format_floats", "format_timestamps", "is_whole", "join_parts", "write_csv", "write_json",
           "write_rows"]

_FEW = 4_096
_BLOCK = 1 << 16


def format_timestamps(timestamps: npt.NDArray[np.int64], time_format: str) -> list[str]:
    """Format int64 nanosecond labels as text: dates for daily data, else ``YYYY-MM-DD HH:MM:SS[.f]``.

    >>> import numpy as np
    >>> format_timestamps(np.array([0], dtype=np.int64), "date")
    ['1970-01-01']
    >>> format_timestamps(np.array([90 * 10**9], dtype=np.int64), "datetime")
    ['1970-01-01 00:01:30']
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    if time_format == "date":
        unit = "D"
    elif not (ts % 10**9).any():
        unit = "s"
    elif not (ts % 10**6).any():
        unit = "ms"
    elif not (ts % 10**3).any():
        unit = "us"
    else:
        unit = "ns"
    # format each distinct day and each distinct time of day once, then pair them up
    day = ts // NS_PER_DAY
    days, day_of = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string(days.astype("datetime64[D]"))
    if unit == "D":
        return dates[day_of].tolist()  # type: ignore[no-any-return]
    times, time_of = np.unique(ts - day * NS_PER_DAY, return_inverse=True)
    clock_text = np.datetime_as_string(times.astype("datetime64[ns]"), unit=unit).tolist()  # type: ignore[call-overload]
    clock = [t[10:].replace("T", " ") for t in clock_text]
    on: list[str] = dates.tolist()
    return [on[d] + clock[t] for d, t in zip(day_of.tolist(), time_of.tolist(), strict=True)]


def is_whole(values: npt.NDArray[np.float64]) -> bool:
    """True when every value is a finite whole number below 2**53 (:func:`format_floats` prints it as one)."""
    v = np.asarray(values, dtype=np.float64)
    return bool(v.size and np.isfinite(v).all() and (v == np.round(v)).all() and np.abs(v).max() < 2**53)


def format_floats(values: npt.NDArray[np.float64], *, whole: bool | None = None) -> list[str]:
    """Format floats as the shortest text that reads back exactly; whole columns print as integers.

    Runs of equal values (an equity curve while flat, cash between fills) are formatted once.
    ``whole`` says whether the column the values come from is whole (see :func:`is_whole`), for
    formatting a column in pieces; by default the values themselves decide.

    >>> import numpy as np
    >>> format_floats(np.array([0.1, 2.5, 2.5])), format_floats(np.array([100.0, -100.0]))
    (['0.1', '2.5', '2.5'], ['100', '-100'])
    """
    v = np.asarray(values, dtype=np.float64)
    if not v.size:
        return []
    if whole is None:
        whole = is_whole(v)
    bits = v.view(np.int64)  # equal bits, equal text: -0.0 and 0.0 differ, every NaN is "nan" anyway
    starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
    firsts = bits[starts]
    if whole:
        def write(x: npt.NDArray[np.int64]) -> list[str]:
            return list(map(int.__repr__, x.view(np.float64).astype(np.int64).tolist()))
    else:
        def write(x: npt.NDArray[np.int64]) -> list[str]:
            return list(map(float.__repr__, x.view(np.float64).tolist()))
    distinct, which = np.unique(firsts, return_inverse=True) if firsts.size > _FEW else (firsts, None)
    if which is not None and distinct.size * 2 < firsts.size:
        # many values recur (a price times a position held): format each distinct one once
        texts = np.array(write(distinct), dtype=object)[which]
    else:
        texts = np.array(write(firsts), dtype=object)
    if starts.size == v.size:
        return texts.tolist()  # type: ignore[no-any-return]
    return np.repeat(texts, np.diff(np.append(starts, v.size))).tolist()


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_csv(path: str | os.PathLike[str], header: Sequence[str], columns: Iterable[Sequence[str]]) -> None:
    """Write text columns (equal lengths) under one header row, ``\\n`` line ends; whole or not at all."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        write_rows(tmp, columns, header=header)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_rows(path: str | os.PathLike[str], columns: Iterable[Sequence[str]],
               header: Sequence[str] | None = None) -> None:
    """Write text columns as rows (under ``header`` if given): a part of a CSV for :func:`join_parts`."""
    with open(path, "wb") as fh:
        if header is not None:
            fh.write((",".join(header) + "\n").encode())
        _rows(fh, columns)


def join_parts(path: str | os.PathLike[str], parts: Sequence[str | os.PathLike[str]]) -> None:
    """Put the part files together, in order, as ``path`` (the first part becomes it); remove the parts."""
    first, *rest = (Path(p) for p in parts)
    try:
        with open(first, "ab") as fh:
            for part in rest:
                with open(part, "rb") as more:
                    shutil.copyfileobj(more, fh, 1 << 20)
        os.replace(first, path)
    finally:
        for part in (first, *rest):
            if part.exists():
                part.unlink()


def _rows(fh: IO[bytes], columns: Iterable[Sequence[str]]) -> None:
    rows = zip(*columns, strict=True)
    while True:  # a block of rows at a time: no copy of the whole text in memory
        block = list(itertools.islice(rows, _BLOCK))
        if not block:
            return
        fh.write(("\n".join(map(",".join, block)) + "\n").encode())


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> None:
    """Write a mapping as indented JSON, keys in the given order, NaN and infinities as null."""
    _replace(Path(path), json.dumps(_clean(payload), indent=2, allow_nan=False) + "\n")
