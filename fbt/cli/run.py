"""The ``fbt run`` and ``fbt demo`` commands: one backtest, its files written first, then printed.

``fbt run`` calls :func:`fbt.run` on loaded data, or :func:`fbt.run_stream` with ``--stream``
(data larger than memory, read and written in chunks); ``fbt demo`` runs the book's crossover on
the bundled sample data. Both write ``equity.csv``, ``fills.csv``, ``trades.csv``,
``journal.jsonl`` and ``stats.json`` into ``--out`` before printing, so a closed pipe loses no
result. The folder is replaced whole (:mod:`fbt.io.outdir`): an interrupted run leaves the previous
run's files as they were and says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fbt.cli.options import Parents, load_data, model_overrides, symbol_list, whole
from fbt.core.errors import ConfigError

if TYPE_CHECKING:
    from fbt.backtest.result import Result
    from fbt.cli.options import Subparsers
    from fbt.core.market import BarData
    from fbt.core.strategy import Strategy

__all__ = ["fingerprint_lines", "register"]


def register(subparsers: Subparsers, parents: Parents) -> None:
    """Add ``run`` and ``demo`` to ``fbt``'s parser."""
    p = subparsers.add_parser("run", help="backtest a strategy on CSV data",
                              parents=[parents.strategy, parents.data, parents.dates, parents.capital, parents.periods,
                                       parents.risk_free, parents.out, parents.quiet, parents.models])
    g = p.add_argument_group("report")
    g.add_argument("--report", action="store_true", help="also write equity.png and report.html into --out")
    s = p.add_argument_group("streaming (data larger than memory)")
    s.add_argument("--stream", action="store_true",
                   help="read, run and write in chunks: memory stays flat however long the data is (the "
                        "strategy must declare its lookback)")
    s.add_argument("--chunk-bars", type=whole("--chunk-bars"), default=100_000, metavar="N",
                   help="bars per chunk with --stream (default 100000)")
    p.set_defaults(func=cmd_run)
    d = subparsers.add_parser("demo", help="run the crossover example on the bundled synthetic sample data",
                              parents=[parents.out])
    d.set_defaults(func=cmd_demo)


def fingerprint_lines(result: Result) -> str:
    """Return the run's two fingerprints as lines in the style of the statistics."""
    from fbt.journal import fingerprints

    prints = fingerprints(result)
    return f"Input Fingerprint  {prints.input_fingerprint}\nEvents Fingerprint {prints.events_fingerprint}"


def cmd_run(args: argparse.Namespace) -> int:
    from fbt.io.outdir import RUN_FOLDER, check_folder

    check_folder(args.out, RUN_FOLDER)  # a folder that cannot be replaced is refused before the run
    try:
        return _run(args)
    except KeyboardInterrupt as exc:
        _unchanged(exc, args.out)
        raise


def _unchanged(exc: KeyboardInterrupt, out: str) -> None:
    """Say, on an interrupt that came before the files were written, that ``out`` is as it was."""
    from fbt.io.outdir import interrupted_note

    if not getattr(exc, "__notes__", None):
        exc.add_note(interrupted_note(out))


def _run(args: argparse.Namespace) -> int:
    from fbt.backtest.result import run
    from fbt.io.factory import make_strategy
    from fbt.io.progress import progress_bar

    models = model_overrides(args)
    strategy = make_strategy(args.strategy, dict(args.param))
    if args.stream:  # data larger than memory: read, run and write in chunks
        return _stream(args, strategy, models)
    data = load_data(args.data, args.symbols, start=args.start, end=args.end)
    progress = progress_bar("fbt run", quiet=args.quiet)
    result = run(strategy, data, capital=args.capital, periods=args.periods, risk_free=args.risk_free,
                 progress=progress, **models)
    _report(result, strategy, args.out, report=args.report)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fbt.backtest.result import run
    from fbt.io.loaders import load_dir
    from fbt.sample.data import crossover, sample_dir

    print(f"fbt demo: the book's moving-average crossover on fbt's synthetic sample data ({sample_dir()})")
    strategy = crossover()
    try:
        result = run(strategy, load_dir(sample_dir()))
        _report(result, strategy, args.out)
    except KeyboardInterrupt as exc:
        _unchanged(exc, args.out)
        raise
    return 0


def _report(result: Result, strategy: Strategy[Any], out: str, *, report: bool = False) -> None:
    """Write the run's files (and its report) first, then print: a closed pipe loses no result."""
    from fbt.io.factory import describe_params
    from fbt.io.outdir import RUN_FOLDER, output_folder

    page = None
    with output_folder(out, RUN_FOLDER):  # the run's files and its report swapped in as one set
        directory = result.write(out)
        if report:
            from fbt.report import write_report

            page = write_report(directory)
    data = result.run.data
    params = describe_params(dict(strategy.params))
    when = f"{len(data)} bars" if not len(data) else (
        f"{len(data)} bars, {_label(data, 0)} .. {_label(data, len(data) - 1)}"
    )
    print(f"{strategy.name}({params}) on {', '.join(data.symbols)}: {when}")
    print(result.summary())
    print(fingerprint_lines(result))
    print(f"Wrote equity.csv, fills.csv, trades.csv, journal.jsonl and stats.json to {directory}")
    if page is not None:
        print(f"Wrote {Path(page).with_name('equity.png')} and {page}")


def _label(data: BarData, i: int) -> str:
    from fbt.io.writers import format_timestamps

    return format_timestamps(data.timestamps[i : i + 1], data.time_format)[0]


def _stream_source(items: list[str], symbols: str | None) -> tuple[Any, list[str] | None]:
    from fbt.io.sources import symbol_files

    if not items:
        raise ConfigError("--data: expected a directory or SYMBOL=FILE")
    if any("://" in item for item in items):
        raise ConfigError("--stream: reads CSV and Parquet files; a database URL is not streamed")
    sources = symbol_files(items, symbols)
    if sources is not None:
        return sources, None
    if len(items) > 1:
        raise ConfigError("--data: give one directory, or repeat --data as SYMBOL=FILE")
    return items[0], symbol_list(symbols)


def _stream(args: argparse.Namespace, strategy: Strategy[Any], models: dict[str, Any]) -> int:
    """Run ``fbt run --stream``: write every output first, then print as the in-memory run does."""
    from fbt.io.outdir import RUN_FOLDER, output_folder
    from fbt.io.progress import progress_bar
    from fbt.stream.run import run_stream

    source, symbols = _stream_source(args.data, args.symbols)
    progress = progress_bar("fbt run --stream", quiet=args.quiet)
    page = None
    with output_folder(args.out, RUN_FOLDER):  # the run's files and its report swapped in as one set
        try:
            result = run_stream(strategy, source, args.out, symbols=symbols, chunk_bars=args.chunk_bars,
                                start=args.start, end=args.end, capital=args.capital, periods=args.periods,
                                risk_free=args.risk_free, progress=progress, **models)
        finally:
            if progress is not None:
                progress.close()
        if args.report:
            from fbt.report import write_report

            page = write_report(result.out)
    params = ", ".join(f"{k}={v!r}" for k, v in strategy.params)
    print(f"{strategy.name}({params}) on {', '.join(result.symbols)}: {result.bars} bars, "
          f"{result.first} .. {result.last}")
    print(result.summary())
    prints = result.fingerprints
    print(f"Input Fingerprint  {prints.input_fingerprint}\nEvents Fingerprint {prints.events_fingerprint}")
    print(f"Wrote equity.csv, fills.csv, trades.csv, journal.jsonl and stats.json to {result.out}")
    if page is not None:
        print(f"Wrote {page.with_name('equity.png')} and {page}")
    return 0
