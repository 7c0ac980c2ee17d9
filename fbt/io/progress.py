"""A progress bar for the shell: bars (or rows) per second on a terminal, silence everywhere else.

:func:`progress_bar` returns a :class:`Progress` — a callable ``progress(done, total)`` — when the
stream is a terminal and ``quiet`` is off, else ``None``; callers pass it where a
``progress: Callable[[int, int], None] | None`` is taken (:func:`fbt.run`, :func:`fbt.io.sql.ingest`).

The line is redrawn in place (``\\r``) at most ten times a second, and always at the end. A job
that finished within ``delay`` seconds (default 1) leaves nothing behind: its line is erased; a
longer one leaves its final line, with the count, the rate and the time taken::

    fbt run  [##############################] 100%  78,974/78,974 bars  412,345 bars/s  0.2 s

The clock here is the wall clock of the shell (``time.perf_counter``), never seen by a run.

>>> import io
>>> progress_bar("fbt run", stream=io.StringIO()) is None      # not a terminal: silent
True
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

__all__ = ["Progress", "ProgressCallback", "progress_bar", "render"]

#: ``progress(done, total)``: called with the units done so far and the total.
ProgressCallback = Callable[[int, int], None]

_WIDTH: Final = 30
_REDRAW_EVERY: Final = 0.1  # seconds


def render(label: str, done: int, total: int, elapsed: float, *, unit: str = "bars", width: int = _WIDTH,
           since: int = 0, left: bool = False) -> str:
    """Return one progress line: label, bar, percent, count, rate and time (and with ``left``, the time
    left while unfinished). ``since`` units were done before the clock started (a resumed sweep's
    reused runs): the rate counts only the others.

    >>> render("fbt run", 50, 200, 0.5)
    'fbt run  [#######.......................]  25%  50/200 bars  100 bars/s  0.5 s'
    >>> render("fbt sweep", 6, 10, 2.0, unit="runs", since=2, left=True, width=10)
    'fbt sweep  [######....]  60%  6/10 runs  2.0 runs/s  2.0 s  0:02 left'
    """
    fraction = 0.0 if total <= 0 else min(1.0, max(0.0, done / total))
    filled = round(fraction * width)
    bar = "#" * filled + "." * (width - filled)
    speed = (done - since) / elapsed if elapsed > 0 else 0.0
    shown = f"{speed:,.0f}" if speed >= 100 or speed == 0 else f"{speed:,.1f}"
    rate = f"{shown} {unit}/s" if elapsed > 0 else f"- {unit}/s"
    line = f"{label}  [{bar}] {fraction * 100:3.0f}%  {done:,}/{total:,} {unit}  {rate}  {elapsed:.1f} s"
    if left and done < total:
        remaining = (total - done) / speed if speed > 0 else None
        line += "  --:-- left" if remaining is None else f"  {int(remaining) // 60}:{int(remaining) % 60:02d} left"
    return line


class Progress:
    """A progress line on a terminal stream: call it with ``(done, total)``; it finishes when ``done >= total``."""

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO,
        unit: str = "bars",
        delay: float = 1.0,
        left: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.label = label
        self.left = left
        self._since: int | None = None  # units done at the first report (before this process started)
        self.stream = stream
        self.unit = unit
        self.delay = delay
        self._clock = clock
        self._started = clock()
        self._drawn = -1.0
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` units; the line is redrawn when due, and finished at the end."""
        if self._finished:
            return
        if self._since is None:
            self._since = done
        now = self._clock()
        last = done >= total
        if not last and self._drawn >= 0 and now - self._drawn < _REDRAW_EVERY:
            return
        elapsed = now - self._started
        self.stream.write("\r\033[K" + render(self.label, done, total, elapsed, unit=self.unit,
                                                   since=self._since, left=self.left))
        self._drawn = now
        if last:
            self._finished = True
            # a quick job leaves nothing behind; a long one keeps its final line
            self.stream.write("\r\033[K" if elapsed < self.delay else "\n")
        self.stream.flush()

    def close(self) -> None:
        """Erase an unfinished line (after an error), so the next message starts on a clean line."""
        if not self._finished and self._drawn >= 0:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self._finished = True


def progress_bar(
    label: str,
    *,
    quiet: bool = False,
    stream: TextIO | None = None,
    unit: str = "bars",
    left: bool = False,
) -> Progress | None:
    """Return a :class:`Progress` on ``stream`` (standard error) if it is a terminal and not ``quiet``, else None."""
    out = sys.stderr if stream is None else stream
    if quiet:
        return None
    try:
        interactive = out.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return Progress(label, stream=out, unit=unit, left=left) if interactive else None
