"""``fbt.run``: fold, derive, and hand back pandas objects."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from fbt.config import Config
from fbt.errors import ConfigError
from fbt.fold import Run, fold
from fbt.io.writers import format_floats, format_timestamps, write_csv, write_json
from fbt.market import BarData
from fbt.models.commission import CommissionModel, ib_seed_commission
from fbt.results import Curve, FillTable, derive, fill_table, statistics
from fbt.strategy import Strategy

__all__ = ["Result", "run"]

_DIRECTION = np.array(["SELL", "", "BUY"], dtype=object)


@attrs.frozen(eq=False, kw_only=True)
class Result:
    """A finished backtest: the fold's log and final world, the derived curve and statistics.

    - ``equity``: DataFrame, one row per aligned bar (taken before that bar's fills);
    - ``fills``: DataFrame of every fill;
    - ``stats``: Series of the statistics and counts (``total_return``, ``sharpe_ratio``, ...);
    - ``run``: the raw fold output (events, final world) for replay and debugging.
    """

    run: Run
    curve: Curve
    fill_columns: FillTable
    statistics: dict[str, Any]

    @property
    def stats(self) -> pd.Series:
        """The statistics and counts as a Series (raw fractions, not percent)."""
        return pd.Series(self.statistics, dtype=object)

    @property
    def final_world(self) -> Any:
        """The world after the last bar's fills (strategy states, portfolio, broker)."""
        return self.run.final

    @property
    def equity(self) -> pd.DataFrame:
        """The per-bar equity curve with a DatetimeIndex."""
        data, c = self.run.data, self.curve
        columns: dict[str, Any] = {}
        for s, symbol in enumerate(data.symbols):
            columns[f"{symbol}_position"] = c.positions[s]
            columns[f"{symbol}_holdings"] = c.holdings[s]
        columns.update(
            cash=c.cash, commission=c.commission, total=c.total, returns=c.returns,
            equity_curve=c.equity_curve, drawdown=c.drawdown,
        )
        index = pd.DatetimeIndex(data.timestamps.astype("datetime64[ns]"), name="timestamp")
        return pd.DataFrame(columns, index=index)

    @property
    def fills(self) -> pd.DataFrame:
        """Every fill: timestamp, symbol, direction (BUY/SELL), unsigned quantity, price, commission."""
        f, data = self.fill_columns, self.run.data
        return pd.DataFrame(
            {
                "timestamp": pd.DatetimeIndex(data.timestamps[f.bar].astype("datetime64[ns]")),
                "symbol": np.array(data.symbols, dtype=object)[f.symbol] if f.bar.size else [],
                "direction": _DIRECTION[(f.sign + 1).astype(np.int64)] if f.bar.size else [],
                "quantity": f.quantity,
                "price": f.price,
                "commission": f.commission,
            }
        )

    def summary(self) -> str:
        """Return the statistics as a short, readable table."""
        s = self.statistics
        sharpe = "n/a" if s["sharpe_ratio"] is None else f"{s['sharpe_ratio']:.2f}"
        lines = [
            f"Total Return       {s['total_return'] * 100:.2f}%",
            f"Sharpe Ratio       {sharpe}",
            f"Max Drawdown       {s['max_drawdown'] * 100:.2f}%",
            f"Drawdown Duration  {s['drawdown_duration']} bars",
            f"Final Equity       {s['final_equity']:,.4f}",
            f"Commission         {s['commission']:,.2f}",
            f"Bars {s['bars']}  Signals {s['signals']}  Orders {s['orders']}  Fills {s['fills']}",
        ]
        return "\n".join(lines)

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write ``equity.csv``, ``fills.csv`` and ``stats.json`` into ``out`` (created if needed)."""
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        data, c, f = self.run.data, self.curve, self.fill_columns
        header, cols = ["timestamp"], [format_timestamps(data.timestamps, data.time_format)]
        for s, symbol in enumerate(data.symbols):
            header += [f"{symbol}_position", f"{symbol}_holdings"]
            cols += [format_floats(c.positions[s]), format_floats(c.holdings[s])]
        for name in ("cash", "commission", "total", "returns", "equity_curve", "drawdown"):
            header.append(name)
            cols.append(format_floats(getattr(c, name)))
        write_csv(directory / "equity.csv", header, cols)
        fill_cols = [
            format_timestamps(data.timestamps[f.bar], data.time_format),
            [data.symbols[k] for k in f.symbol.tolist()],
            ["BUY" if x > 0 else "SELL" for x in f.sign.tolist()],
            format_floats(f.quantity),
            [repr(x) for x in f.price.tolist()],
            [repr(x) for x in f.commission.tolist()],
        ]
        write_csv(directory / "fills.csv", ["timestamp", "symbol", "direction", "quantity", "price", "commission"],
                  fill_cols)
        write_json(directory / "stats.json", self.statistics)
        return directory


def run(
    strategy: Strategy[Any] | Sequence[Strategy[Any]],
    data: BarData,
    *,
    capital: float = 100_000.0,
    quantity: float = 100.0,
    commission: CommissionModel = ib_seed_commission,
    periods: float = 252.0,
) -> Result:
    """Backtest one strategy (or several feeding one portfolio) on loaded data, book semantics.

    >>> import fbt, numpy as np
    >>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64),
    ...                                 columns={"close": np.array([[10.0, 11.0, 12.0]])})
    >>> def buy_once(bought, event):
    ...     if bought:
    ...         return bought, ()
    ...     return True, (fbt.SignalEvent(timestamp=event.timestamp, strategy_id="b", symbol="A",
    ...                                   signal_type=fbt.SignalType.LONG),)
    >>> result = fbt.run(fbt.strategy(buy_once, initial=False), data, capital=10_000)
    >>> result.stats["final_equity"]   # bought 100 at 10.0 for 1.30 commission, marked at 12.0
    10198.7
    """
    if not isinstance(data, BarData):
        raise ConfigError(f"data: expected fbt.BarData (see fbt.load and fbt.load_dir), got {type(data).__name__}")
    strategies = (strategy,) if isinstance(strategy, Strategy) else tuple(strategy)
    for s in strategies:
        if not isinstance(s, Strategy):
            raise ConfigError(f"strategy: expected fbt.Strategy, got {type(s).__name__}")
    config = Config(capital=capital, quantity=quantity, commission=commission, periods=periods)
    folded = fold(strategies, data, config)
    fills = fill_table(folded)
    curve = derive(folded, fills)
    return Result(run=folded, curve=curve, fill_columns=fills, statistics=statistics(folded, curve))
