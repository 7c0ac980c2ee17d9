"""``fbt run ... --stream``: the command line's streaming run (options and printing; the work is :func:`run_stream`)."""

from __future__ import annotations

import argparse
from typing import Any

from fbt.core.errors import ConfigError
from fbt.core.strategy import Strategy
from fbt.io.progress import progress_bar
from fbt.io.sources import symbol_files
from fbt.stream.run import run_stream

__all__ = ["add_stream_options", "stream_command"]


def add_stream_options(p: argparse.ArgumentParser) -> None:
    """Add ``--stream`` and ``--chunk-bars`` to ``fbt run``."""
    g = p.add_argument_group("streaming (data larger than memory)")
    g.add_argument("--stream", action="store_true",
                   help="read, run and write in chunks: memory stays flat however long the data is (the "
                        "strategy must declare its lookback)")
    g.add_argument("--chunk-bars", type=_chunk_bars, default=100_000, metavar="N",
                   help="bars per chunk with --stream (default 100000)")


def _chunk_bars(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _source(items: list[str], symbols: str | None) -> tuple[Any, list[str] | None]:
    if not items:
        raise ConfigError("--data: expected a directory or SYMBOL=FILE")
    if any("://" in item for item in items):
        raise ConfigError("--stream: reads CSV and Parquet files; a database URL is not streamed")
    sources = symbol_files(items, symbols)
    if sources is not None:
        return sources, None
    if len(items) > 1:
        raise ConfigError("--data: give one directory, or repeat --data as SYMBOL=FILE")
    return items[0], [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None


def stream_command(args: argparse.Namespace, strategy: Strategy[Any], capital: float, models: dict[str, Any]) -> int:
    """Run ``fbt run --stream``: write every output first, then print as the in-memory run does."""
    source, symbols = _source(args.data, args.symbols)
    progress = progress_bar("fbt run --stream", quiet=args.quiet)
    try:
        result = run_stream(strategy, source, args.out, symbols=symbols, chunk_bars=args.chunk_bars,
                            start=args.start, end=args.end, capital=capital, periods=args.periods,
                            risk_free=args.risk_free, progress=progress, **models)
    finally:
        if progress is not None:
            progress.close()
    page = None
    if getattr(args, "report", False):
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
