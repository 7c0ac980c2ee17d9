"""Reading a run's output directory back: equity, fills, statistics, round trips and monthly returns."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from fbt.core.errors import DataError
from fbt.io.outdir import recover

# --------------------------------------------------------------------------------------------------
# Reading a run's output folder


@attrs.frozen(eq=False, kw_only=True)
class RunOutput:
    """What a run's output folder holds, read back: equity rows, fills, statistics, trades, journal header."""

    directory: Path
    equity: pd.DataFrame  # DatetimeIndex; columns as equity.csv
    fills: pd.DataFrame  # timestamp (datetime64), symbol, direction, quantity, price, commission, ...
    stats: dict[str, Any]
    trades: pd.DataFrame  # closed round trips
    trades_source: str  # "trades.csv" or "fills.csv"
    header: dict[str, Any] | None  # the journal's header line
    time_format: str  # "date" or "datetime"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: expected a file of the run's output, got no such file (write it with fbt run --out)")
    try:
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: expected a CSV file written by fbt run, got one that cannot be read: {exc}") from None


def _times(values: pd.Series, path: Path) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(values.astype(str), format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: timestamp: expected ISO dates, got {exc}") from None


def read_output(directory: str | os.PathLike[str]) -> RunOutput:
    """Read a run's output folder (see the module's docstring); a missing one is :func:`fbt.io.outdir.recover`-ed."""
    folder = Path(directory)
    if not folder.exists():  # a crash in the middle of a swap of the folder (see fbt.io.outdir)
        recover(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a run's output folder (fbt run --out), got "
                        f"{'a file' if folder.exists() else 'no such directory'}")
    equity = _read_csv(folder / "equity.csv")
    for column in ("timestamp", "total"):
        if column not in equity.columns:
            raise DataError(f"{folder / 'equity.csv'}: expected a {column} column, got {', '.join(equity.columns)}")
    text = equity["timestamp"].astype(str)
    time_format = "date" if bool(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()) else "datetime"
    equity.index = _times(equity.pop("timestamp"), folder / "equity.csv")
    fills = _read_csv(folder / "fills.csv")
    if len(fills):
        fills["timestamp"] = _times(fills["timestamp"], folder / "fills.csv")
    else:
        fills["timestamp"] = pd.DatetimeIndex([])
    stats_path = folder / "stats.json"
    if not stats_path.is_file():
        raise DataError(f"{stats_path}: expected the run's statistics, got no such file")
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{stats_path}: expected JSON, got {exc}") from None
    if not isinstance(stats, dict):
        raise DataError(f"{stats_path}: expected a JSON object, got {type(stats).__name__}")
    header = _journal_header(folder / "journal.jsonl")
    if (folder / "trades.csv").is_file():
        trades, source = _read_csv(folder / "trades.csv"), "trades.csv"
    else:
        trades, source = round_trips_of(fills, pd.DatetimeIndex(equity.index)), "fills.csv"
    return RunOutput(directory=folder, equity=equity, fills=fills, stats=stats, trades=trades, trades_source=source,
                     header=header, time_format=time_format)


def _journal_header(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            first = json.loads(fh.readline())
    except (ValueError, OSError):
        return None
    return first if isinstance(first, dict) and first.get("type") == "header" else None


def round_trips_of(fills: pd.DataFrame, bars: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Return the closed round trips of a fills table (as ``fills.csv``), by :func:`fbt.results.accounting.account`.

    The columns of ``trades.csv``: ``symbol``, ``direction`` (LONG/SHORT), ``entry_time``,
    ``exit_time``, ``quantity``, ``entry_price``, ``exit_price``, ``pnl`` (gross), ``commission``,
    ``net_pnl``, and ``bars`` held when the run's bar times ``bars`` are given.

    >>> import pandas as pd
    >>> fills = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-02", "2024-01-05"]), "symbol": ["A", "A"],
    ...                       "direction": ["BUY", "SELL"], "quantity": [10.0, 10.0], "price": [5.0, 6.0],
    ...                       "commission": [1.0, 1.0]})
    >>> round_trips_of(fills)[["symbol", "direction", "pnl", "net_pnl"]].to_dict("records")
    [{'symbol': 'A', 'direction': 'LONG', 'pnl': 10.0, 'net_pnl': 8.0}]
    """
    from fbt.results.accounting import account

    columns = ["symbol", "direction", "entry_time", "exit_time", "quantity", "entry_price", "exit_price", "pnl",
               "commission", "net_pnl", "bars"]
    if not len(fills):
        return pd.DataFrame({c: [] for c in columns})
    names = sorted(set(fills["symbol"].astype(str)))
    index = {s: k for k, s in enumerate(names)}
    times = fills["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    _, trades = account(
        bar=times,
        symbol=np.array([index[s] for s in fills["symbol"].astype(str)], dtype=np.int64),
        sign=np.where(fills["direction"].astype(str).str.upper() == "BUY", 1.0, -1.0),
        quantity=fills["quantity"].to_numpy(dtype=np.float64),
        price=fills["price"].to_numpy(dtype=np.float64),
        commission=fills["commission"].to_numpy(dtype=np.float64),
        n_symbols=len(names),
    )
    frame = pd.DataFrame({
        "symbol": [names[k] for k in trades.symbol.tolist()],
        "direction": np.where(trades.quantity > 0, "LONG", "SHORT"),
        "entry_time": pd.DatetimeIndex(trades.entry_bar.astype("datetime64[ns]")),
        "exit_time": pd.DatetimeIndex(trades.exit_bar.astype("datetime64[ns]")),
        "quantity": np.abs(trades.quantity),
        "entry_price": trades.entry_price,
        "exit_price": trades.exit_price,
        "pnl": trades.pnl,
        "commission": trades.commission,
        "net_pnl": trades.pnl - trades.commission,
    })
    if bars is not None:
        stamps = bars.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        frame["bars"] = np.searchsorted(stamps, trades.exit_bar) - np.searchsorted(stamps, trades.entry_bar)
    return frame


def monthly_returns(total: pd.Series, *, initial: float | None = None) -> pd.DataFrame:
    """Return the returns of each calendar month, years as rows, months 1..12 and ``Year`` as columns.

    A month's return is its last equity over the previous month's last (the first month's over
    ``initial``, default the first value) minus 1; ``Year`` compounds the year's months. NaN where a
    month has no bar.

    >>> import pandas as pd
    >>> total = pd.Series([100.0, 110.0, 99.0], index=pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-29"]))
    >>> table = monthly_returns(total, initial=100.0)
    >>> table.loc[2024, [1, 2, 3, "Year"]].round(4).tolist()
    [0.0, 0.1, -0.1, -0.01]
    """
    series = total.astype(np.float64)
    index = pd.DatetimeIndex(series.index)
    if series.empty:
        return pd.DataFrame(columns=[*range(1, 13), "Year"], dtype=np.float64)
    start = float(series.iloc[0]) if initial is None else float(initial)
    month_end = series.groupby([index.year, index.month]).last()
    previous = np.concatenate(([start], month_end.to_numpy()[:-1]))
    returns = month_end.to_numpy() / previous - 1.0
    years = sorted({y for y, _ in month_end.index})
    table = pd.DataFrame(np.nan, index=pd.Index(years, name="year"), columns=[*range(1, 13), "Year"], dtype=np.float64)
    for (year, month), value in zip(month_end.index, returns, strict=True):
        table.loc[year, month] = value
    year_end = series.groupby(index.year).last()
    year_previous = np.concatenate(([start], year_end.to_numpy()[:-1]))
    for year, end_value, before in zip(year_end.index, year_end.to_numpy(), year_previous, strict=True):
        table.loc[year, "Year"] = end_value / before - 1.0
    return table


# --------------------------------------------------------------------------------------------------
# The run's title


def _title(out: RunOutput) -> str:
    header = out.header or {}
    strategies = header.get("strategies") or []
    names = []
    for s in strategies:
        if isinstance(s, dict):
            params = ", ".join(f"{k}={v!r}" for k, v in (s.get("params") or []))
            names.append(f"{s.get('name', '?')}({params})")
    symbols = header.get("symbols") or [c[: -len("_position")] for c in out.equity.columns if c.endswith("_position")]
    label = " + ".join(names) if names else "fbt run"
    return f"{label} on {', '.join(map(str, symbols))}" if symbols else label
