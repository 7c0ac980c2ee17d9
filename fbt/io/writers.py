"""Writers for a run's outputs: ``equity.csv``, ``fills.csv``, ``stats.json``.

Numbers are written at full float precision (the shortest text that reads back to the same
float); timestamps in the input's own form (``YYYY-MM-DD`` for daily data). The text is made and
written by Arrow's kernels (:mod:`fbt.io.text`). Each file is written to a temporary name and moved
into place, so a failure never leaves half a file behind.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fbt.io.text import float_texts, is_whole, time_texts, write_csv_table

__all__ = ["format_floats", "format_timestamps", "is_whole", "write_csv", "write_json"]


def format_timestamps(timestamps: npt.NDArray[np.int64], time_format: str) -> list[str]:
    """Format int64 nanosecond labels as text: dates for daily data, else ``YYYY-MM-DD HH:MM:SS[.f]``.

    The list form of :func:`fbt.io.text.time_texts` (the unit is the coarsest exact for all labels).

    >>> import numpy as np
    >>> format_timestamps(np.array([0], dtype=np.int64), "date")
    ['1970-01-01']
    >>> format_timestamps(np.array([90 * 10**9], dtype=np.int64), "datetime")
    ['1970-01-01 00:01:30']
    """
    return time_texts(timestamps, time_format).to_pylist()  # type: ignore[no-any-return]


def format_floats(values: npt.NDArray[np.float64], *, whole: bool | None = None) -> list[str]:
    """Format floats as the shortest text that reads back exactly (Python's ``repr``); whole columns print
    as integers.

    The list form of :func:`fbt.io.text.float_texts`. ``whole`` says whether the column the values
    come from is whole (see :func:`is_whole`), for formatting a column in pieces; by default the
    values themselves decide.

    >>> import numpy as np
    >>> format_floats(np.array([0.1, 2.5, 2.5])), format_floats(np.array([100.0, -100.0]))
    (['0.1', '2.5', '2.5'], ['100', '-100'])
    """
    return float_texts(values, whole=whole).to_pylist()  # type: ignore[no-any-return]


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_csv(path: str | os.PathLike[str], header: Sequence[str], columns: Sequence[Any]) -> None:
    """Write text columns (equal lengths: sequences of str or the Arrow string arrays of :mod:`fbt.io.text`)
    under one header row, ``\\n`` line ends, no quoting; whole or not at all.
    """
    write_csv_table(path, header, columns)


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
