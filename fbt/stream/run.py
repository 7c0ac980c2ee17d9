"""``fbt.run_stream``: a backtest over data larger than memory, folded and written a chunk at a time."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Unpack

import attrs
import numpy as np

from fbt.backtest.result import configure, strategies_of
from fbt.core.errors import ConfigError, FbtError
from fbt.core.market import BarData
from fbt.core.state import World
from fbt.core.strategy import Strategy
from fbt.io.outdir import RUN_FOLDER, check_folder, output_folder
from fbt.io.symbol_bars import PathLike
from fbt.io.writers import format_timestamps, write_json
from fbt.journal import Fingerprints
from fbt.kernel.config import Config, Overrides
from fbt.kernel.loop import fold
from fbt.models.fill import Execution
from fbt.models.sizing import SizingModel
from fbt.report import summary_text
from fbt.results.accounting import Books, account_from
from fbt.results.choices import choices
from fbt.results.curve import Carry, account_columns, account_names, derive, fill_table

from .output import CsvSink, Kind, temporary
from .reader import read_chunks
from .spill import DataSpill, JournalSpool, RunIdentity
from .tally import Tally

__all__ = ["StreamResult", "history_needed", "run_stream"]

FILL_HEADER = ("timestamp", "symbol", "direction", "quantity", "price", "commission")
TRADE_HEADER = ("symbol", "direction", "entry_time", "exit_time", "quantity", "entry_price", "exit_price", "pnl",
                "commission", "net_pnl", "bars")


@attrs.frozen(kw_only=True)
class StreamResult:
    """A finished streaming run: where its files are, and the figures printed with them.

    ``statistics`` are those of ``stats.json`` (see :mod:`fbt.stream.tally` for how they are
    accumulated); ``first`` and ``last`` the first and last bar's labels.
    """

    out: Path
    symbols: tuple[str, ...]
    bars: int
    first: str
    last: str
    statistics: dict[str, Any]
    choices: dict[str, str]
    fingerprints: Fingerprints
    rejected: tuple[tuple[str, int], ...] = ()

    def summary(self) -> str:
        """Return the statistics as :meth:`fbt.Result.summary` prints them."""
        reasons = f" ({', '.join(f'{k} {v}' for k, v in self.rejected)})" if self.rejected else ""
        return summary_text(self.statistics, self.choices, reasons)


def history_needed(strategies: Sequence[Strategy[Any]], sizing: SizingModel | None = None) -> int:
    """How many bars before a chunk each chunk is built with: the largest declared lookback (and sizing window).

    A strategy that does not declare its lookback cannot be streamed: that is a
    :class:`~fbt.core.errors.ConfigError` saying how to declare it.

    >>> import fbt
    >>> from fbt.sample.strategies import moving_average_crossover
    >>> history_needed([moving_average_crossover(5, 20)])
    19
    >>> history_needed([fbt.strategy(lambda s, e: (s, ()), initial=None, name="mine")])
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: strategy 'mine' does not declare its lookback ...
    """
    needed = 0
    for s in strategies:
        if s.lookback is None:
            raise ConfigError(
                f"strategy {s.name!r} does not declare its lookback (how many earlier bars it reads), so it "
                "cannot run in chunks; declare it: fbt.Strategy(..., lookback=N) or "
                "fbt.strategy(step, initial=..., lookback=N) (0 if it reads only the current bar)"
            )
        needed = max(needed, s.lookback)
    window = getattr(sizing, "window", None)
    if isinstance(window, int):  # volatility and Kelly sizing read that many returns of the signal bar's history
        needed = max(needed, window)
    return needed


def _join(tail: BarData | None, chunk: BarData, firsts: list[int | None], offset: int) -> BarData:
    """The chunk with the history bars in front; ``first`` from the symbols' first bars in the whole run."""
    if tail is None or not len(tail):
        ts, values, real = chunk.timestamps, chunk.values, chunk.real
    else:
        ts = np.concatenate((tail.timestamps, chunk.timestamps))
        values = np.concatenate((tail.values, chunk.values), axis=2)
        real = np.concatenate((tail.real, chunk.real), axis=1)
        for a in (ts, values, real):
            a.flags.writeable = False
    n = len(ts)
    first = tuple(n if f is None else max(0, f - offset) for f in firsts)
    return BarData(symbols=chunk.symbols, timestamps=ts, values=values, real=real, first=first,
                   time_format=chunk.time_format, sources=chunk.sources)


def _tail(data: BarData, begin: int, keep: int) -> BarData:
    start = max(0, len(data) - keep) if keep else len(data)
    return _part(data, start)


def _part(data: BarData, begin: int) -> BarData:
    return BarData(symbols=data.symbols, timestamps=data.timestamps[begin:], values=data.values[:, :, begin:],
                   real=data.real[:, begin:], first=tuple(max(0, f - begin) for f in data.first),
                   time_format=data.time_format, sources=data.sources)


def run_stream(
    strategy: Strategy[Any] | Sequence[Strategy[Any]],
    source: PathLike | Mapping[str, PathLike],
    out: PathLike,
    config: Config | None = None,
    *,
    symbols: Sequence[str] | None = None,
    chunk_bars: int = 100_000,
    start: Any = None,
    end: Any = None,
    progress: Callable[[int, int], None] | None = None,
    block_bytes: int | None = None,
    **overrides: Unpack[Overrides],
) -> StreamResult:
    """Backtest as :func:`fbt.run` does and write what :meth:`fbt.Result.write` writes, reading the data
    in chunks of ``chunk_bars`` bars, so memory stays flat however long the data is.

    ``source`` is a directory (as :func:`fbt.load_dir`, with ``symbols``) or ``{symbol: path}`` (as
    :func:`fbt.load`) of CSV or Parquet files. Each chunk is folded from the world the previous one
    ended in, built with the strategies' declared ``lookback`` bars of history in front (a strategy
    without one is refused); its equity rows, fills, closed trades and journal events are appended to
    ``equity.csv``, ``fills.csv``, ``trades.csv`` and ``journal.jsonl`` in ``out``, and ``stats.json`` is
    written at the end. The rows, fills, trades and journal are the in-memory run's, line for line;
    the statistics are accumulated exactly in O(1) memory and may differ from the in-memory ones in
    the last bits of means and standard deviations (:mod:`fbt.stream.tally`). Nothing in ``out``
    changes unless the whole run succeeds: the files are written into a folder beside it, swapped
    in whole at the end (:func:`fbt.io.outdir.output_folder`). ``periods="auto"`` is not available
    (it needs every timestamp first).
    ``progress(done, total)`` is told the bars done, the total estimated from the bytes read.
    ``block_bytes`` is the size of the blocks read from each file (see :func:`fbt.read_chunks`).

    >>> import fbt, pathlib, tempfile
    >>> from fbt.sample.data import sample_dir
    >>> from fbt.sample.strategies import moving_average_crossover
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> streamed = fbt.run_stream(moving_average_crossover(100, 400), sample_dir(), out / "s", chunk_bars=500)
    >>> in_memory = fbt.run(moving_average_crossover(100, 400), fbt.load_dir(sample_dir())).write(out / "m")
    >>> all((out / "s" / f).read_bytes() == (out / "m" / f).read_bytes()
    ...     for f in ("equity.csv", "fills.csv", "trades.csv", "journal.jsonl"))
    True
    >>> streamed.statistics["final_equity"] == fbt.run(moving_average_crossover(100, 400),
    ...                                                fbt.load_dir(sample_dir())).stats["final_equity"]
    True
    """
    strategies = strategies_of(strategy)
    if not strategies:
        raise ConfigError("strategy: expected at least one fbt.Strategy, got none")
    if isinstance(overrides.get("periods"), str):
        raise ConfigError(f"periods: a streaming run needs the bars per year as a number (98280 for 1-minute bars, "
                          f"252 for daily), got {overrides['periods']!r}")
    config = configure(config, None, **overrides)
    if config.close_at_end:
        raise ConfigError("close_at_end: a streaming run folds chunk by chunk and does not know its last bar in "
                          "advance; run it in memory (without --stream)")
    history = history_needed(strategies, config.sizing)
    chunks = read_chunks(source, symbols, chunk_bars=chunk_bars, start=start, end=end, block_bytes=block_bytes)
    check_folder(out, RUN_FOLDER)  # before reading anything
    with output_folder(out, RUN_FOLDER) as folder:
        streamed = _Stream(strategies, config, folder, history).run(chunks, progress)
    return attrs.evolve(streamed, out=Path(out))


class _Stream:
    """The imperative shell of a streaming run: the chunk loop, the open files, the carried state."""

    def __init__(self, strategies: tuple[Strategy[Any], ...], config: Config, out: Path, history: int) -> None:
        self.strategies, self.config, self.out, self.history = strategies, config, out, history
        self.tally = Tally(capital=config.capital, periods=config.periods, risk_free=config.risk_free,
                           book=config.execution is Execution.BOOK)
        self.sinks: list[CsvSink] = []
        self.journal: JournalSpool | None = None
        self.spill: DataSpill | None = None

    def _open(self, symbols: tuple[str, ...]) -> None:
        header = ["timestamp"]
        for symbol in symbols:
            header += [f"{symbol}_position", f"{symbol}_holdings"]
        # as the run's context decides its margins (fbt.kernel.context.Context.margins)
        header += account_names(margined=any(i.margin is not None for _, i in self.config.instruments))
        kinds: list[Kind] = ["time", *["float"] * (len(header) - 1)]  # type: ignore[list-item]
        self.equity = CsvSink(self.out / "equity.csv", header, kinds)
        self.sinks.append(self.equity)
        self.fills = CsvSink(self.out / "fills.csv", FILL_HEADER, ["time", "text", "text", "float", "text", "text"])
        self.sinks.append(self.fills)
        self.trades = CsvSink(self.out / "trades.csv", TRADE_HEADER,
                              ["text", "text", "time", "time", "float", "text", "text", "text", "text", "text", "text"])
        self.sinks.append(self.trades)
        self.journal = JournalSpool(self.out, RunIdentity.of(self.strategies, symbols, self.config))
        self.spill = DataSpill(temporary(self.out / "data.spill"))

    def run(self, chunks: Any, progress: Callable[[int, int], None] | None) -> StreamResult:
        try:
            return self._run(chunks, progress)
        except BaseException:
            for sink in self.sinks:
                sink.discard()
            if self.journal is not None:
                self.journal.discard()
            raise
        finally:
            if self.spill is not None:
                self.spill.close()

    def _run(self, chunks: Any, progress: Callable[[int, int], None] | None) -> StreamResult:
        config, strategies = self.config, self.strategies
        world: World | None = None
        tail: BarData | None = None
        carry: Carry | None = None
        books: Books | None = None
        firsts: list[int | None] = []
        stamps: dict[int, int] = {}  # bar -> time of the bars open trades entered on
        done = 0
        time_format = "date"
        first_time = last_time = 0
        final_equity = final_commission = 0.0
        working = 0
        for chunk in chunks:
            if world is None:
                self._open(chunk.symbols)
                firsts = [None] * len(chunk.symbols)
                carry = Carry.start(config.capital, len(chunk.symbols))
                books = Books.empty(len(chunk.symbols))
            assert carry is not None and books is not None and self.journal is not None and self.spill is not None
            for s in range(len(chunk.symbols)):
                if firsts[s] is None and chunk.real[s].any():
                    firsts[s] = done + int(np.argmax(chunk.real[s]))
            begin = 0 if tail is None else len(tail)
            data = _join(tail, chunk, firsts, done - begin)
            time_format = chunk.time_format
            run = fold(strategies, data, config, world=world, begin=begin)
            world = run.final
            part = _part(data, begin)
            fills = fill_table(run)
            fills = attrs.evolve(fills, bar=fills.bar - begin)
            curve = derive(attrs.evolve(run, data=part), fills, carry=carry)
            carry = carry.after(curve)
            ts = part.timestamps
            # equity.csv
            columns: list[Any] = [ts]
            for s in range(len(part.symbols)):
                columns += [curve.positions[s], curve.holdings[s]]
            columns += [column for _, column in account_columns(curve, run.context.margins)]
            self.equity.append(columns, time_format=time_format)
            # fills.csv
            names = part.symbols
            self.fills.append([ts[fills.bar], [names[k] for k in fills.symbol.tolist()],
                               ["BUY" if x > 0 else "SELL" for x in fills.sign.tolist()], fills.quantity,
                               [repr(x) for x in fills.price.tolist()], [repr(x) for x in fills.commission.tolist()]],
                              time_format=time_format)
            # trades.csv: the fills accounted from the books the earlier chunks left
            bars = fills.bar + done
            stamps.update(zip(bars.tolist(), ts[fills.bar].tolist(), strict=True))
            _, trades, books = account_from(books, bar=bars, symbol=fills.symbol, sign=fills.sign,
                                            quantity=fills.quantity, price=fills.price, commission=fills.commission,
                                            multipliers=run.context.multipliers)
            net = trades.pnl - trades.commission
            self.trades.append([
                [names[k] for k in trades.symbol.tolist()],
                ["LONG" if q > 0 else "SHORT" for q in trades.quantity.tolist()],
                np.array([stamps[b] for b in trades.entry_bar.tolist()], dtype=np.int64),
                np.array([stamps[b] for b in trades.exit_bar.tolist()], dtype=np.int64),
                np.abs(trades.quantity),
                *([repr(x) for x in a.tolist()] for a in (trades.entry_price, trades.exit_price, trades.pnl,
                                                           trades.commission, net)),
                [str(x) for x in (trades.exit_bar - trades.entry_bar).tolist()],
            ], time_format=time_format)
            entries = {int(t[0]) for t in books.open_trades if t}
            stamps = {b: t for b, t in stamps.items() if b in entries}
            # journal.jsonl, the statistics, the data fingerprint
            self.journal.append(run.events, (run.event_bars - begin + done).tolist())
            self.tally = self.tally.plus(ts, curve, fills, trades, run.events, run.context.multipliers,
                                         run.context.symbol_index)
            self.spill.append(part)
            if not done:
                first_time = int(ts[0])
            last_time = int(ts[-1])
            final_equity, final_commission = curve.final_equity, curve.final_commission
            working = len(world.broker.pending)
            tail = _tail(data, begin, self.history)
            done += len(part)
            if progress is not None:  # the total is not known before the end: estimated from the bytes read
                fraction = chunks.fraction() if hasattr(chunks, "fraction") else 0.0
                progress(done, max(done + 1, math.ceil(done / fraction)) if fraction > 0 else done + 1)
        if world is None:
            raise FbtError("no bars to run on")
        if progress is not None:
            progress(done, done)
        return self._finish(time_format, done, first_time, last_time, final_equity, final_commission, working)

    def _finish(self, time_format: str, n_bars: int, first_time: int, last_time: int, final_equity: float,
                final_commission: float, working: int) -> StreamResult:
        assert self.journal is not None and self.spill is not None
        first_label, last_label = format_timestamps(np.array([first_time, last_time], dtype=np.int64), time_format)
        for sink in self.sinks:
            sink.finish(time_format=time_format)
        data_print = self.spill.fingerprint(self.journal.identity.symbols)
        events_print = self.journal.finish(data_print, n_bars, time_format)
        prints = Fingerprints(input_fingerprint=self.journal.identity.input_fingerprint(data_print),
                              events_fingerprint=events_print)
        statistics = self.tally.statistics(final_equity=final_equity, final_commission=final_commission,
                                           working=working)
        chosen = choices(self.config)
        for sink in self.sinks:
            sink.commit()
        self.journal.commit()
        write_json(self.out / "stats.json", {**statistics, **{f"{k}_model": v for k, v in chosen.items()},
                                             **prints.as_dict()})
        return StreamResult(out=self.out, symbols=self.journal.identity.symbols, bars=n_bars, first=first_label,
                            last=last_label, statistics=statistics, choices=chosen, fingerprints=prints,
                            rejected=self.tally.reasons)

