"""Reports of a finished run: ``equity.png`` and a self-contained ``report.html`` (needs ``pip install 'fbt[plot]'``).

:func:`write_report` reads a run's output folder — ``equity.csv``, ``fills.csv``, ``stats.json``,
and ``trades.csv`` and ``journal.jsonl`` where present — and writes into it:

- ``equity.png`` (1200 x 700 pixels): the equity curve with every fill marked (buys as green
  triangles up, sells as red triangles down; a thin rug along the bottom when there are too many to
  mark) and, below it, the drawdown from the running peak in percent;
- ``report.html``: one page that opens offline, in any browser, with no server: the headline
  figures, the statistics table (every key of ``stats.json``, with its label and formula key), the
  equity-and-drawdown chart (the PNG, embedded as base64), a monthly-returns heatmap (a table
  coloured green for gains and red for losses, with each year's total), the trade list (closed round
  trips: ``trades.csv`` if the run wrote one, else derived from ``fills.csv`` by
  :func:`fbt.results.accounting.account`), and the run's configuration and fingerprints (from the
  journal's header and ``stats.json``).

The page has no external reference (no script, font, style sheet or image from elsewhere); a few
lines of inline script only mark, on ``<body>``, how many images decoded (``data-images``), which
the tests read in a headless browser.

:func:`summary_lines` formats the statistics beyond the book's four for the printed table.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from fbt.core.errors import DataError
from fbt.io.outdir import RUN_FOLDER, output_folder
from fbt.report.output import RunOutput, monthly_returns, read_output
from fbt.report.page import render_html
from fbt.report.plot import plot_equity
from fbt.report.summary import LABELS, format_statistic, summary_lines, summary_text

__all__ = [
    "LABELS",
    "RunOutput",
    "format_statistic",
    "monthly_returns",
    "plot_equity",
    "read_output",
    "render_html",
    "summary_lines",
    "summary_text",
    "write_report",
]


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


#: the run's files a report is made from and keeps beside itself
_RUN_FILES = RUN_FOLDER - {"equity.png", "report.html"}


def write_report(directory: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write ``equity.png`` and ``report.html`` into a run's output folder; return the page's path.

    The folder is replaced whole (:func:`fbt.io.outdir.output_folder`): the run's files are linked
    into a new folder, the report is made from them and written beside them, and the set is
    swapped in, so the report is always of the run it sits with.
    """
    with output_folder(directory, RUN_FOLDER, keep=_RUN_FILES) as folder:
        if not any(folder.iterdir()):  # no run there: the error names the folder given
            read_output(directory)
        try:
            out = read_output(folder)
        except DataError as exc:  # named as the folder the caller gave
            raise DataError(str(exc).replace(str(folder), str(directory))) from None
        buffer = io.BytesIO()
        plot_equity(out, buffer, title=title)
        png = buffer.getvalue()
        _write_atomic(folder / "equity.png", png)
        _write_atomic(folder / "report.html", render_html(out, png, title=title).encode("utf-8"))
    return Path(directory) / "report.html"
