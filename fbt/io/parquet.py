"""Read bars from Parquet files, with exactly the checks of a CSV file (pyarrow, a dependency of fbt).

A Parquet file holds one symbol's bars, as pandas writes a DataFrame (``frame.to_parquet(path)``):
the dates in a :class:`~pandas.DatetimeIndex` or a date column (``Date``, ``Datetime``,
``Timestamp``), the prices and amounts in columns named as in a CSV file (``Open``, ``High``,
``Low``, ``Close``, ``Adj Close``, ``Volume``, ``OpenInterest``; case, spaces and underscores
ignored). The frame goes through :func:`fbt.io.loaders.bars_from_frame`, so every rule of the CSV
loader holds, and problems are reported as ``PATH:ROW (index LABEL): COLUMN: expected X, got Y``.

:func:`fbt.load` and :func:`fbt.load_dir` read ``*.parquet`` files through :func:`read_parquet`,
so Parquet and CSV symbols mix in one run, with the same ``start`` and ``end``.

>>> import pathlib, tempfile, pandas as pd
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ABC.parquet"
>>> frame = pd.DataFrame({"Close": [10.0, 10.5]}, index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="Date"))
>>> frame.to_parquet(path)
>>> bars = read_parquet(path)
>>> bars.columns["close"].tolist(), bars.has_time
([10.0, 10.5], False)
"""

from __future__ import annotations

import os

import pandas as pd

from fbt.core.errors import ConfigError, DataError
from fbt.io.loaders import SymbolBars, bars_from_frame

__all__ = ["read_parquet", "require_pyarrow"]


def require_pyarrow() -> None:
    """Raise :class:`~fbt.core.errors.ConfigError` with the install hint when pyarrow is missing."""
    try:
        import pyarrow  # type: ignore[import-untyped,unused-ignore]  # noqa: F401  (no type stubs)
    except ImportError:
        raise ConfigError("Parquet files need pyarrow (a dependency of fbt): pip install pyarrow") from None


def read_parquet(path: str | os.PathLike[str]) -> SymbolBars:
    """Read one symbol's bars from a Parquet file, checked as a CSV file is."""
    source = os.fspath(path)
    if os.path.isdir(source):
        raise DataError(f"{source}: expected a Parquet file, got a directory")
    if not os.path.exists(source):
        raise DataError(f"{source}: expected a Parquet file, got no such file")
    require_pyarrow()
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]  # (no type stubs)

    try:
        frame = pd.read_parquet(source, engine="pyarrow")
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{source}: expected a Parquet file of bars, got one that cannot be read: {exc}") from None
    return bars_from_frame(frame, source)
