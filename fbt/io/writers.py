"""Writers for a run's outputs: ``equity.csv``, ``fills.csv``, ``stats.json``.

Numbers are written at full float precision (the shortest text that reads back to the same
float); timestamps in the input's own form (``YYYY-MM-DD`` for daily data). Each file is written
to a temporary name and moved into place, so a failure never leaves half a file behind.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["format_floats", "format_timestamps", "write_csv", "write_json"]

_NS_PER_DAY = 86_400 * 10**9


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
    day = ts // _NS_PER_DAY
    days, day_of = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string(days.astype("datetime64[D]"))
    if unit == "D":
        return dates[day_of].tolist()  # type: ignore[no-any-return]
    times, time_of = np.unique(ts - day * _NS_PER_DAY, return_inverse=True)
    clock_text = np.datetime_as_string(times.astype("datetime64[ns]"), unit=unit).tolist()  # type: ignore[call-overload]
    clock = [t[10:].replace("T", " ") for t in clock_text]
    on: list[str] = dates.tolist()
    return [on[d] + clock[t] for d, t in zip(day_of.tolist(), time_of.tolist(), strict=True)]


def format_floats(values: npt.NDArray[np.float64]) -> list[str]:
    """Format floats as the shortest text that reads back exactly; whole columns print as integers.

    Runs of equal values (an equity curve while flat, cash between fills) are formatted once.

    >>> import numpy as np
    >>> format_floats(np.array([0.1, 2.5, 2.5])), format_floats(np.array([100.0, -100.0]))
    (['0.1', '2.5', '2.5'], ['100', '-100'])
    """
    v = np.asarray(values, dtype=np.float64)
    if not v.size:
        return []
    if np.isfinite(v).all() and (v == np.round(v)).all() and np.abs(v).max() < 2**53:
        return list(map(str, v.astype(np.int64).tolist()))
    starts = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
    if starts.size * 2 > v.size:
        return list(map(float.__repr__, v.tolist()))
    texts = np.array(list(map(float.__repr__, v[starts].tolist())), dtype=object)
    return np.repeat(texts, np.diff(np.append(starts, v.size))).tolist()


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_csv(path: str | os.PathLike[str], header: Sequence[str], columns: Iterable[Sequence[str]]) -> None:
    """Write text columns (equal lengths) under one header row, ``\\n`` line ends."""
    rows = zip(*columns, strict=True)
    body = "\n".join(map(",".join, rows))
    _replace(Path(path), ",".join(header) + "\n" + (body + "\n" if body else ""))


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
