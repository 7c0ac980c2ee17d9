"""The ``fbt ingest`` command: load CSV (or Parquet) files into an SQL securities master.

``fbt ingest DIR --into URL [--symbols A,B] [--replace] [--quiet]`` (or ``SYMBOL=FILE ...``
instead of ``DIR``) calls :func:`fbt.io.sql.ingest`; ``fbt run --data URL`` then reads from it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from fbt.cli.options import Parents, symbol_list
from fbt.core.errors import ConfigError

if TYPE_CHECKING:
    from fbt.cli.options import Subparsers

__all__ = ["cmd_ingest", "register"]


def register(subparsers: Subparsers, parents: Parents) -> None:
    """Add the ``ingest`` command."""
    i = subparsers.add_parser("ingest", help="load a directory of CSV files into an SQL securities master",
                              parents=[parents.quiet])
    i.add_argument("sources", nargs="+", metavar="DIR|SYMBOL=FILE",
                   help="a directory of SYMBOL.csv (or SYMBOL.parquet) files, or SYMBOL=path/to/file items")
    i.add_argument("--into", required=True, metavar="URL",
                   help="database URL: sqlite:///path/to/master.db, postgresql://user@host/db, ...")
    i.add_argument("--symbols", help="comma-separated symbols to ingest (default: every *.csv and *.parquet)")
    i.add_argument("--replace", action="store_true", help="replace the bars of symbols already in the database")
    i.set_defaults(func=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest ``args.sources`` into ``args.into``; print the bars written per symbol."""
    from fbt.io.progress import progress_bar
    from fbt.io.sql import ingest

    if "://" not in args.into:
        raise ConfigError(f"--into: expected a database URL like sqlite:///master.db, got {args.into!r}")
    symbols = symbol_list(args.symbols)
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
