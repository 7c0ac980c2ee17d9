"""One symbol's checked bars, before alignment, and the array and source types the readers share."""

from __future__ import annotations

import os
from typing import TypeAlias

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
PathLike = str | os.PathLike[str]
#: A symbol's bars: a CSV or Parquet (``*.parquet``) file, a DataFrame, or bars already checked.
Source: TypeAlias = "str | os.PathLike[str] | pd.DataFrame | SymbolBars"


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
