"""The ``fbt report`` command: ``equity.png`` and ``report.html`` from a run's output folder.

``fbt report OUT_DIR [--title TEXT]`` calls :func:`fbt.report.write_report` on the folder ``fbt
run`` wrote (``fbt run --report`` does the same as part of the run).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fbt.cli.options import Parents

if TYPE_CHECKING:
    from fbt.cli.options import Subparsers

__all__ = ["cmd_report", "register"]


def register(subparsers: Subparsers, parents: Parents) -> None:
    """Add the ``report`` command."""
    r = subparsers.add_parser("report", help="write equity.png and report.html from a run's output folder")
    r.add_argument("out", metavar="OUT_DIR", help="the folder fbt run wrote (equity.csv, fills.csv, stats.json)")
    r.add_argument("--title", help="the report's title (default: the strategy and its symbols)")
    r.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report of ``args.out``; print where it went."""
    from fbt.report import write_report

    page = write_report(args.out, title=args.title)
    print(f"Wrote {Path(page).with_name('equity.png')} and {page}")
    return 0
