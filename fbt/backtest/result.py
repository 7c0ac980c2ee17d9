"""``fbt.run``: fold, derive, and hand back pandas objects."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Unpack

import attrs
import numpy as np
import pandas as pd

from fbt.audit import When, events_between, state_at
from fbt.core.errors import ConfigError
from fbt.core.events import OrderRejected
from fbt.core.market import FIELDS, BarData
from fbt.core.state import World
from fbt.core.strategy import Strategy
from fbt.io.outdir import RUN_FOLDER, output_folder
from fbt.io.text import float_columns, float_texts, is_whole, time_texts, time_unit, write_csv_blocks
from fbt.io.writers import write_csv, write_json
from fbt.journal import Entry, Fingerprints, Journal, fingerprints, journal_of, write_run
from fbt.journal.fingerprint import remember_fingerprints
from fbt.kernel.config import Config, Overrides, with_overrides
from fbt.kernel.loop import Run, fold, paused_gc
from fbt.report import summary_text
from fbt.results.accounting import Trades
from fbt.results.choices import choices
from fbt.results.curve import (
    Accounts,
    Curve,
    FillTable,
    Ledgers,
    account_columns,
    accounts,
    derive,
    fill_table,
    ledgers,
)
from fbt.results.stats import resolve_periods, run_statistics

__all__ = ["Result", "configure", "run", "strategies_of"]

_DIRECTION = np.array(["SELL", "", "BUY"], dtype=object)


@attrs.frozen(eq=False, kw_only=True)
class Result:
    """A finished backtest: the fold's log and final world, the derived curve and statistics.

    - ``equity``: DataFrame, one row per aligned bar (book mode: taken before that bar's fills;
      next-open / next-close: after them);
    - ``fills``: DataFrame of every fill;
    - ``trades``: DataFrame of the closed round trips; ``positions``: the final ledger per symbol;
    - ``stats``: Series of the statistics and counts (``total_return``, ``sharpe_ratio``, ...);
    - ``run``: the raw fold output (events, final world) for replay and debugging.
    """

    run: Run
    curve: Curve
    fill_columns: FillTable
    statistics: dict[str, Any]
    accounts: Accounts | None = None

    @property
    def choices(self) -> dict[str, str]:
        """The run's execution, commission, slippage, sizing and risk choices, by name."""
        return choices(self.run.config)

    @property
    def trades(self) -> pd.DataFrame:
        """Closed round trips (flat to flat): symbol, direction, entry/exit time and price, quantity, P&L.

        ``pnl`` is gross, ``net_pnl`` after the trade's commission, ``return`` is ``net_pnl`` over the
        entry value, ``bars`` the holding period in bars.
        """
        data = self.run.data
        t = self._accounts().trades
        stamps = data.timestamps.astype("datetime64[ns]")
        entry_value = np.abs(t.quantity) * t.entry_price
        multipliers = self.run.context.multipliers
        if multipliers is not None and len(t):
            entry_value = entry_value * np.asarray(multipliers)[t.symbol]
        with np.errstate(divide="ignore", invalid="ignore"):  # an entry at a price of 0 has no return
            returns = np.where(entry_value > 0, (t.pnl - t.commission) / entry_value, np.nan)
        return pd.DataFrame(
            {
                "symbol": np.array(data.symbols, dtype=object)[t.symbol] if len(t) else [],
                "direction": np.where(t.quantity > 0, "LONG", "SHORT").astype(object) if len(t) else [],
                "entry_time": pd.DatetimeIndex(stamps[t.entry_bar]),
                "exit_time": pd.DatetimeIndex(stamps[t.exit_bar]),
                "quantity": np.abs(t.quantity),
                "entry_price": t.entry_price,
                "exit_price": t.exit_price,
                "pnl": t.pnl,
                "commission": t.commission,
                "net_pnl": t.pnl - t.commission,
                "return": returns,
                "bars": t.exit_bar - t.entry_bar,
            }
        )

    @property
    def positions(self) -> pd.DataFrame:
        """Per symbol at the end: position, average cost, last price, market value, realised and unrealised P&L.

        Market value and P&L are in currency (``* multiplier`` for futures); prices per unit.
        """
        data, a = self.run.data, self._accounts()
        n = len(data)
        last = data.values[FIELDS.index("adj_close"), :, n - 1] if n else np.full(len(data.symbols), np.nan)
        held = self.curve.final_positions
        cost = np.zeros(len(data.symbols))
        realised = np.zeros(len(data.symbols))
        f, ledger = self.fill_columns, a.ledger
        for s in range(len(data.symbols)):
            mine = np.flatnonzero(f.symbol == s)
            if mine.size:
                cost[s] = ledger.average_cost[mine[-1]]
                realised[s] = float(np.sum(ledger.realised[mine]))
        scale = np.ones(len(data.symbols)) if self.run.context.multipliers is None else np.asarray(
            self.run.context.multipliers)
        with np.errstate(invalid="ignore"):
            value = np.where(held == 0, 0.0, held * last * scale)
            unrealised = np.where(held == 0, 0.0, held * (last - cost) * scale)
        return pd.DataFrame({"position": held, "average_cost": cost, "last_price": last, "market_value": value,
                             "realised": realised, "unrealised": unrealised},
                            index=pd.Index(data.symbols, name="symbol"))

    @property
    def ledgers(self) -> Ledgers:
        """Average cost, realised and unrealised P&L per symbol on every equity row (numpy arrays)."""
        return ledgers(self.run, self.fill_columns, self.curve, self._accounts())

    def _accounts(self) -> Accounts:
        return self.accounts if self.accounts is not None else accounts(self.run, self.fill_columns, self.curve)

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
        columns.update(account_columns(c, self.run.context.margins))
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

    def state_at(self, when: When) -> World:
        """Return the world after a bar (index or time): see :func:`fbt.audit.state_at`."""
        return state_at(self.run, when)

    def events_between(self, start: When, end: When) -> tuple[Entry, ...]:
        """Return the events of bars ``start`` to ``end``, both included: see :func:`fbt.audit.events_between`."""
        return events_between(self.run, start, end)

    def journal(self) -> Journal:
        """Return the run's journal (its ordered event log) in memory; ``.write(path)`` saves it."""
        return journal_of(self.run)

    @property
    def fingerprints(self) -> Fingerprints:
        """The run's ``input_fingerprint`` and ``events_fingerprint`` (see :mod:`fbt.journal`)."""
        return fingerprints(self.run)

    def summary(self) -> str:
        """Return the statistics as a short, readable table, after the run's model choices."""
        return summary_text(self.statistics, self.choices, _reasons(self.run))

    def report(self, out: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write the run into ``out`` (as :meth:`write`), then ``equity.png`` and ``report.html``; return the page.

        Needs matplotlib (``pip install 'fbt[plot]'``); see :mod:`fbt.report`.
        """
        from fbt.report import write_report

        with output_folder(out, RUN_FOLDER):  # one swap for the run's files and its report
            return write_report(self.write(out), title=title)

    def _equity_rows(self, c: Curve) -> tuple[list[str], Callable[[int, int], list[Any]]]:
        """equity.csv's header and a function giving the text columns (Arrow string arrays) of rows ``lo:hi``.

        Whether a column prints as integers and the labels' unit are decided on the whole column, so
        the text of a row does not depend on the block it is formatted in.
        """
        data = self.run.data
        header, values = ["timestamp"], []
        for s, symbol in enumerate(data.symbols):
            header += [f"{symbol}_position", f"{symbol}_holdings"]
            values += [c.positions[s], c.holdings[s]]
        for name, column in account_columns(c, self.run.context.margins):
            header.append(name)
            values.append(column)
        wholes = [is_whole(v) for v in values]
        unit = time_unit(data.timestamps, data.time_format)

        def rows(lo: int, hi: int) -> list[Any]:
            return [time_texts(data.timestamps[lo:hi], data.time_format, unit),
                    *float_columns([v[lo:hi] for v in values], wholes)]

        return header, rows

    def _write_events(self, directory: Path, f: FillTable, trades: Trades) -> Fingerprints:
        """Write fills.csv, trades.csv and the journal; return the run's fingerprints."""
        data = self.run.data
        symbols = np.array(data.symbols, dtype=object)
        fill_cols = [
            time_texts(data.timestamps[f.bar], data.time_format),
            symbols[f.symbol],
            np.where(f.sign > 0, "BUY", "SELL").astype(object),
            float_texts(f.quantity),
            float_texts(f.price, whole=False),
            float_texts(f.commission, whole=False),
        ]
        write_csv(directory / "fills.csv", ["timestamp", "symbol", "direction", "quantity", "price", "commission"],
                  fill_cols)
        t_net = trades.pnl - trades.commission
        trade_cols = [
            symbols[trades.symbol],
            np.where(trades.quantity > 0, "LONG", "SHORT").astype(object),
            time_texts(data.timestamps[trades.entry_bar], data.time_format),
            time_texts(data.timestamps[trades.exit_bar], data.time_format),
            float_texts(np.abs(trades.quantity)),
            *(float_texts(v, whole=False) for v in (trades.entry_price, trades.exit_price, trades.pnl,
                                                    trades.commission, t_net)),
            [str(x) for x in (trades.exit_bar - trades.entry_bar).tolist()],
        ]
        write_csv(directory / "trades.csv", ["symbol", "direction", "entry_time", "exit_time", "quantity",
                                             "entry_price", "exit_price", "pnl", "commission", "net_pnl", "bars"],
                  trade_cols)
        write_run(self.run, directory)
        return fingerprints(self.run)

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write ``equity.csv``, ``fills.csv``, ``trades.csv``, ``journal.jsonl`` and ``stats.json`` into ``out``.

        The folder is replaced whole (:func:`fbt.io.outdir.output_folder`): the files are written
        beside it and swapped in, so ``out`` holds this run's files or, if the write is interrupted,
        the previous ones; a folder holding files fbt does not write is refused.
        """
        with output_folder(out, RUN_FOLDER) as folder:
            self._write_into(folder)
        return Path(out)

    def _write_into(self, directory: Path) -> None:
        c, f, trades = self.curve, self.fill_columns, self._accounts().trades

        def equity() -> None:
            header, rows = self._equity_rows(c)
            write_csv_blocks(directory / "equity.csv", header, len(c.total), rows)

        # equity.csv is Arrow's work (it releases the GIL): on a thread, a block of rows at a time, while
        # this one writes the rest
        with ThreadPoolExecutor(1) as pool:
            written = pool.submit(equity)
            prints = self._write_events(directory, f, trades)
            written.result()
        remember_fingerprints(self.run, prints)
        write_json(directory / "stats.json", {**self.statistics, **{f"{k}_model": v for k, v in self.choices.items()},
                                              **prints.as_dict()})


def configure(config: Config | None, data: BarData | None = None, /, **overrides: Any) -> Config:
    """Return the run's configuration: ``config`` (default: the book's) with ``overrides`` applied.

    The one place every run function (:func:`run`, :func:`fbt.run_stream`, :func:`fbt.sweep`,
    :func:`fbt.walk_forward`, live sessions) turns its arguments into a :class:`~fbt.kernel.config.Config`:
    ``periods="auto"`` is resolved against ``data``'s timestamps; any other name must be a field of
    ``Config``, and a bad value is a :class:`~fbt.core.errors.ConfigError` naming it.

    >>> import numpy as np
    >>> minutes = BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64) * 60 * 10**9,
    ...                                columns={"close": np.array([[1.0, 2.0, 3.0]])})
    >>> configure(None, minutes, periods="auto", capital=5_000).periods
    98280.0
    >>> configure(Config(capital=5_000), minutes, risk_free=0.02).capital
    5000.0
    """
    if "periods" in overrides and isinstance(overrides["periods"], str):
        if data is None:
            raise ConfigError(f"periods: {overrides['periods']!r} needs the data's timestamps; give a number of bars "
                              f"per year")
        try:
            overrides["periods"] = resolve_periods(overrides["periods"], data.timestamps)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return with_overrides(config, **overrides)


def run(
    strategy: Strategy[Any] | Sequence[Strategy[Any]],
    data: BarData,
    config: Config | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    **overrides: Unpack[Overrides],
) -> Result:
    """Backtest one strategy (or several feeding one portfolio) on loaded data; the defaults are the book's.

    ``config`` is a :class:`fbt.Config` (default: the book's); keyword ``overrides`` change its
    fields (``capital=10_000``, ``execution="next-open"``, ...; see :class:`fbt.Config` for each),
    applied with :func:`attrs.evolve`. The same signature runs :func:`fbt.run_stream`,
    :func:`fbt.sweep` and :func:`fbt.walk_forward`.

    The world after every ``checkpoint_every``-th bar is kept, so ``result.state_at(bar)`` steps at
    most that many bars (None keeps none: it steps from the first bar).

    ``execution`` (``"book"``, ``"next-open"``, ``"next-close"``), ``commission``, ``slippage``,
    ``sizing`` and ``risk`` choose the models of :mod:`fbt.models` (see the README's "Realistic
    execution"); ``fbt.models.registry`` makes them from names such as ``"fixed-bps:5"``.
    ``instruments`` gives contract terms per symbol, ``{"ES": fbt.Instrument(multiplier=50,
    tick_size=0.25)}`` (:mod:`fbt.models.instrument`); the others trade as stocks.

    ``periods`` (bars per year) annualises the Sharpe ratio and the other statistics: 252 as the
    book, or ``"auto"`` for the data's own frequency (:func:`fbt.results.stats.detect_frequency`: 98,280
    for minute bars, ...). ``risk_free`` is a yearly rate for the Sharpe and Sortino ratios.
    ``progress(done, total)`` is told the bars done (see :mod:`fbt.io.progress`).

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
    >>> fbt.run(fbt.strategy(buy_once, initial=False), data, fbt.Config(capital=10_000)).stats["final_equity"]
    10198.7
    """
    if not isinstance(data, BarData):
        raise ConfigError(f"data: expected fbt.BarData (see fbt.load and fbt.load_dir), got {type(data).__name__}")
    strategies = strategies_of(strategy)
    config = configure(config, data, **overrides)
    if progress is not None:
        progress(0, len(data))  # the fold reports every PROGRESS_EVERY bars and at the end
    with paused_gc():  # the run's records and results are acyclic: no collector passes while they are built
        folded = fold(strategies, data, config, checkpoint_every=config.checkpoint_every, progress=progress)
        fills = fill_table(folded)
        curve = derive(folded, fills)
        books = accounts(folded, fills, curve)
        stats = run_statistics(folded, curve, fills, trades=books.trades, risk_free=config.risk_free)
    return Result(run=folded, curve=curve, fill_columns=fills, accounts=books, statistics=stats)


def strategies_of(strategy: Strategy[Any] | Sequence[Strategy[Any]]) -> tuple[Strategy[Any], ...]:
    """Return the run's strategies as a tuple, or a :class:`~fbt.core.errors.ConfigError` for anything else."""
    strategies = (strategy,) if isinstance(strategy, Strategy) else tuple(strategy)
    for s in strategies:
        if not isinstance(s, Strategy):
            raise ConfigError(f"strategy: expected fbt.Strategy, got {type(s).__name__}")
    return strategies


def _reasons(run: Run) -> str:
    counts: dict[str, int] = {}
    for e in run.events:
        if e.__class__ is OrderRejected:
            reason = e.reason.value  # type: ignore[union-attr,unused-ignore]
            counts[reason] = counts.get(reason, 0) + 1
    return f" ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})" if counts else ""
