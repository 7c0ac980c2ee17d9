"""The research commands of the ``fbt`` command line: ``ingest`` and ``report``, and the run's data options.

- ``fbt ingest DIR --into URL [--symbols A,B] [--replace] [--quiet]`` (or ``SYMBOL=FILE ...`` instead
  of ``DIR``): load a directory of CSV (or Parquet) files into the SQL securities master at ``URL``
  (:func:`fbt.io.sql.ingest`);
- ``fbt report OUT_DIR [--title TEXT]``: write ``equity.png`` and ``report.html`` from a run's
  output folder (:func:`fbt.report.write_report`);
- :func:`add_run_options` gives ``fbt run`` its ``--start``, ``--end``, ``--risk-free``,
  ``--report`` and ``--quiet``; :func:`parse_periods` reads ``--periods`` (a number or ``auto``).

Argument parsing only: every command calls the public API.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fbt.core.errors import ConfigError
from fbt.io.progress import progress_bar

__all__ = ["add_run_options", "cmd_ingest", "cmd_report", "parse_periods", "parse_risk_free", "register"]


def parse_periods(text: str) -> float | str:
    """Read ``--periods``: bars per year, or ``auto`` for the data's frequency.

    >>> parse_periods("252"), parse_periods("auto")
    (252.0, 'auto')
    """
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bars per year or auto, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of bars per year or auto, got {text!r}")
    return value


def parse_risk_free(text: str) -> float:
    """Read ``--risk-free``: a yearly rate as a fraction (``0.02``) or in percent (``2%``).

    >>> parse_risk_free("0.02"), parse_risk_free("2%")
    (0.02, 0.02)
    """
    stripped = text.strip()
    scale = 100.0 if stripped.endswith("%") else 1.0
    try:
        value = float(stripped.rstrip("%")) / scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a yearly rate like 0.02 or 2%, got {text!r}") from None
    if value != value or abs(value) == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite yearly rate, got {text!r}")
    return value


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Add ``--start``, ``--end``, ``--risk-free``, ``--report`` and ``--quiet`` to ``fbt run``."""
    g = p.add_argument_group("data range, statistics and report")
    g.add_argument("--start", metavar="DATE", help="first bar time to use, e.g. 2005-01-01 (default: the data's first)")
    g.add_argument("--end", metavar="DATE",
                   help="last bar time to use; a plain date includes that whole day (default: the data's last)")
    g.add_argument("--risk-free", type=parse_risk_free, default=0.0, metavar="RATE",
                   help="yearly risk-free rate for the Sharpe and Sortino ratios, 0.02 or 2%% (default 0)")
    g.add_argument("--report", action="store_true", help="also write equity.png and report.html into --out")
    g.add_argument("--quiet", action="store_true", help="no progress bar (it shows on a terminal only anyway)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ingest`` and ``report`` commands."""
    i = subparsers.add_parser("ingest", help="load a directory of CSV files into an SQL securities master")
    i.add_argument("sources", nargs="+", metavar="DIR|SYMBOL=FILE",
                   help="a directory of SYMBOL.csv (or SYMBOL.parquet) files, or SYMBOL=path/to/file items")
    i.add_argument("--into", required=True, metavar="URL",
                   help="database URL: sqlite:///path/to/master.db, postgresql://user@host/db, ...")
    i.add_argument("--symbols", help="comma-separated symbols to ingest (default: every *.csv and *.parquet)")
    i.add_argument("--replace", action="store_true", help="replace the bars of symbols already in the database")
    i.add_argument("--quiet", action="store_true", help="no progress bar")
    i.set_defaults(func=cmd_ingest)
    r = subparsers.add_parser("report", help="write equity.png and report.html from a run's output folder")
    r.add_argument("out", metavar="OUT_DIR", help="the folder fbt run wrote (equity.csv, fills.csv, stats.json)")
    r.add_argument("--title", help="the report's title (default: the strategy and its symbols)")
    r.set_defaults(func=cmd_report)


def cmd_ingest(args: argparse.Namespace) -> int:
    from fbt.io.sql import ingest

    if "://" not in args.into:
        raise ConfigError(f"--into: expected a database URL like sqlite:///master.db, got {args.into!r}")
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
    items: list[str] = args.sources
    sources: str | dict[str, str]
    if any("=" in item for item in items):
        if not all("=" in item for item in items) or symbols is not None:
            raise ConfigError("ingest: give one directory (with --symbols) or SYMBOL=FILE items, not both")
        sources = {}
        for item in items:
            symbol, _, path = item.partition("=")
            if not symbol.strip() or not path.strip() or symbol.strip() in sources:
                raise ConfigError(f"ingest: expected SYMBOL=FILE with each symbol once, got {item!r}")
            sources[symbol.strip()] = path.strip()
    elif len(items) == 1:
        sources = items[0]
    else:
        raise ConfigError("ingest: give one directory, or SYMBOL=FILE items")
    progress = progress_bar("fbt ingest", quiet=args.quiet, unit="rows")
    try:
        written = ingest(sources, args.into, symbols=symbols, replace=args.replace, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    total = sum(written.values())
    print(f"Ingested {len(written)} symbol{'s' if len(written) != 1 else ''}, {total:,} bars into {args.into}")
    for symbol, count in written.items():
        print(f"  {symbol:<10} {count:>9,} bars")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from fbt.report import write_report

    page = write_report(args.out, title=args.title)
    print(f"Wrote {Path(page).with_name('equity.png')} and {page}")
    return 0
