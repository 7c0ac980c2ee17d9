"""The statistics dict of a run (``stats.json``, ``Result.stats``): one producer for every kind of run.

An in-memory run (:func:`fbt.results.stats.run_statistics`) and a streamed one
(:meth:`fbt.stream.tally.Tally.statistics`) compute the figures each in its own way — from whole
arrays, or from exact sums carried chunk by chunk — and hand them to :func:`stat_table`, which alone
decides the keys, their order and how an undefined figure is written (NaN and infinities become
``None``, ``null`` in JSON).

>>> table = stat_table(**{**dict.fromkeys(FIGURES, 0.0), "counts": {}, "frequency": "daily",
...                       "sharpe_ratio": float("nan")})
>>> list(table)[:4], table["sharpe_ratio"], table["signals"]
(['total_return', 'sharpe_ratio', 'max_drawdown', 'drawdown_duration'], None, 0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["COUNTED", "FIGURES", "STAT_KEYS", "stat_table"]

#: the event counts of the table: key -> event class name
COUNTED: Mapping[str, str] = {"signals": "SignalEvent", "orders": "OrderEvent", "fills": "FillEvent",
                              "rejected": "OrderRejected", "cancelled": "OrderCancelled"}
#: the figures :func:`stat_table` takes besides ``counts`` and ``frequency``
FIGURES = ("total_return", "sharpe_ratio", "max_drawdown", "drawdown_duration", "final_equity", "initial_capital",
           "commission", "periods", "bars", "working", "slippage", "trades", "win_rate", "risk_free", "cagr",
           "annual_volatility", "sortino_ratio", "calmar_ratio", "max_drawdown_from_peak", "drawdown_duration_days",
           "exposure", "turnover", "average_win", "average_loss", "profit_factor", "expectancy", "best_trade",
           "worst_trade")
#: the keys of the table, in their order: the book's figures and counts first, then the others
STAT_KEYS = ("total_return", "sharpe_ratio", "max_drawdown", "drawdown_duration", "final_equity", "initial_capital",
             "commission", "periods", "bars", "signals", "orders", "fills", "rejected", "cancelled", "working",
             "slippage", "trades", "win_rate", "frequency", "risk_free", "cagr", "annual_volatility", "sortino_ratio",
             "calmar_ratio", "max_drawdown_from_peak", "drawdown_duration_days", "exposure", "turnover",
             "average_win", "average_loss", "profit_factor", "expectancy", "best_trade", "worst_trade")
#: figures that may be undefined (NaN, or infinite): written as None
_MAYBE = frozenset({"sharpe_ratio", "win_rate", "cagr", "annual_volatility", "sortino_ratio", "calmar_ratio",
                    "max_drawdown_from_peak", "turnover", "average_win", "average_loss", "profit_factor",
                    "expectancy", "best_trade", "worst_trade"})


def _plain(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def stat_table(*, counts: Mapping[str, int], frequency: str, **figures: Any) -> dict[str, Any]:
    """Return the statistics dict from a run's figures (every name of :data:`FIGURES`, no other),
    its event ``counts`` by class name and its ``frequency`` name, under :data:`STAT_KEYS` in order."""
    missing = [k for k in FIGURES if k not in figures]
    unknown = [k for k in figures if k not in FIGURES]
    if missing or unknown:
        raise TypeError(f"stat_table: missing {missing}, unknown {unknown}")
    values = {k: _plain(v) if k in _MAYBE else v for k, v in figures.items()}
    values.update({key: counts.get(name, 0) for key, name in COUNTED.items()})
    values["frequency"] = frequency
    return {key: values[key] for key in STAT_KEYS}
