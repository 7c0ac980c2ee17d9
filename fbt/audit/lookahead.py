"""The lookahead check: a strategy that cannot see the future makes the same events on a prefix of
the data as on the whole of it, up to the prefix's end.

:func:`check_lookahead` runs the strategies once on the full data, then afresh on prefixes
``data.head(cut)`` — each a new run whose strategies are built anew on the truncated data, so an
indicator computed up front sees only the prefix — and compares each prefix's events (and their
bars) with the full run's events of bars ``< cut``. The first event that differs, in the smallest
failing prefix, is the finding; a prefix run that fails (say, reading past its end) is one too.

Cut points (:func:`cut_points`), each a prefix length:

- data of at most ``exhaustive_up_to`` bars (default 300): every prefix, ``1 .. n - 1``;
- longer data: the first ``head`` prefixes (default 20, cheap: they catch warm-up peeks), every
  ``bar + 1`` where the full run has an event (an event that depends on later bars changes when
  they are cut off), thinned evenly to ``max_prefixes // 2`` if there are more, and
  ``max_prefixes // 2`` cuts spread evenly over the data (events that appear only when the future
  is cut off). With the default ``max_prefixes=200``, three symbols of 4,000 daily bars take a
  second or two.

>>> import numpy as np, fbt
>>> from fbt.sample.strategies import moving_average_crossover as mac
>>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(80, dtype=np.int64),
...                                 columns={"close": 10 + np.sin(np.arange(80.0) / 5).reshape(1, 80)})
>>> check_lookahead(mac(3, 8), data).passed
True
>>> def peek(data):            # LONG when tomorrow's price is higher: it reads the future
...     close = data.column("A", "close")
...     def step(held, event):
...         i = event.index
...         if held or i + 1 >= len(close) or close[i + 1] <= close[i]:
...             return held, ()
...         return True, (fbt.SignalEvent(timestamp=event.timestamp, strategy_id="peek", symbol="A",
...                                       signal_type=fbt.SignalType.LONG),)
...     return False, step
>>> report = check_lookahead(fbt.Strategy(name="peek", build=peek), data)
>>> report.passed, report.finding.cut, report.finding.bar
(False, 1, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from fbt.audit import describe_event, format_time
from fbt.core.errors import ConfigError, FbtError
from fbt.core.events import Event
from fbt.core.market import BarData
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.loop import fold

__all__ = [
    "EXHAUSTIVE_UP_TO",
    "HEAD",
    "MAX_PREFIXES",
    "LookaheadFinding",
    "LookaheadReport",
    "check_lookahead",
    "cut_points",
]

#: Data of at most this many bars is checked on every prefix.
EXHAUSTIVE_UP_TO = 300
#: On longer data, about this many cuts besides the first HEAD.
MAX_PREFIXES = 200
#: On longer data, the first this-many prefixes are always checked.
HEAD = 20


@attrs.frozen(kw_only=True)
class LookaheadFinding:
    """The first event that changed when the data was cut at ``cut`` bars (the prefix is bars
    ``0 .. cut - 1``): its ``seq`` and bar, the full run's version and the prefix run's (None where
    one has no event there), or the error the prefix run raised."""

    cut: int
    seq: int
    bar: int
    timestamp: int
    full: Event | None
    prefix: Event | None
    error: str | None = None
    time_format: str = "datetime"

    def describe(self) -> str:
        """Return the finding as readable text."""
        last = f"bars 0 .. {self.cut - 1}"
        when = f"bar {self.bar}, {format_time(self.timestamp, self.time_format)}"
        if self.error is not None:
            return f"a run on {last} only failed where the full run did not ({when}): {self.error}"
        return "\n".join([
            f"the events changed when the data was cut after bar {self.cut - 1} ({last}): event seq {self.seq} "
            f"({when})",
            f"  full run: {'no event' if self.full is None else describe_event(self.full)}",
            f"  prefix:   {'no event' if self.prefix is None else describe_event(self.prefix)}",
        ])


@attrs.frozen(eq=False, kw_only=True)
class LookaheadReport:
    """The result of a lookahead check: ``passed``, the cuts tried, and the finding if any."""

    passed: bool
    n_bars: int
    cuts: tuple[int, ...]
    finding: LookaheadFinding | None = None

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """Return "PASS ..." or "LOOKAHEAD ..." with the finding."""
        if self.passed:
            return (f"PASS: on each of {len(self.cuts)} prefixes of the {self.n_bars} bars the events equal the "
                    f"full run's up to the prefix's end")
        assert self.finding is not None
        return f"LOOKAHEAD: {self.finding.describe()}"


def cut_points(
    n_bars: int,
    event_bars: npt.NDArray[np.int64] | Sequence[int] = (),
    *,
    exhaustive_up_to: int = EXHAUSTIVE_UP_TO,
    max_prefixes: int = MAX_PREFIXES,
    head: int = HEAD,
) -> tuple[int, ...]:
    """Return the prefix lengths to check, ascending (see the module's docstring).

    >>> cut_points(5)
    (1, 2, 3, 4)
    >>> cuts = cut_points(4000, [100, 100, 2500], max_prefixes=10, head=3)
    >>> cuts[:3], 101 in cuts, 2501 in cuts, len(cuts)
    ((1, 2, 3), True, True, 9)
    """
    if n_bars <= 1:
        return ()
    if n_bars <= exhaustive_up_to:
        return tuple(range(1, n_bars))
    half = max(1, max_prefixes // 2)
    after_events = np.unique(np.asarray(event_bars, dtype=np.int64) + 1)
    after_events = after_events[(after_events >= 1) & (after_events < n_bars)]
    if after_events.size > half:
        after_events = after_events[np.unique(np.linspace(0, after_events.size - 1, half).round().astype(np.int64))]
    spread = np.unique(np.linspace(1, n_bars - 1, half).round().astype(np.int64))
    first = np.arange(1, min(head, n_bars - 1) + 1, dtype=np.int64)
    return tuple(int(c) for c in np.unique(np.concatenate([first, after_events, spread])))


def check_lookahead(
    strategy: Strategy[Any] | Sequence[Strategy[Any]],
    data: BarData,
    *,
    config: Config | None = None,
    cuts: Sequence[int] | None = None,
    exhaustive_up_to: int = EXHAUSTIVE_UP_TO,
    max_prefixes: int = MAX_PREFIXES,
) -> LookaheadReport:
    """Check that the strategies make the same events on prefixes of the data as on all of it.

    ``cuts`` (prefix lengths) overrides the default choice of :func:`cut_points`.
    """
    strategies = (strategy,) if isinstance(strategy, Strategy) else tuple(strategy)
    config = config or Config()
    n = len(data)
    full = fold(strategies, data, config)
    if cuts is None:
        chosen = cut_points(n, full.event_bars, exhaustive_up_to=exhaustive_up_to, max_prefixes=max_prefixes)
    else:
        chosen = tuple(sorted({int(c) for c in cuts}))
        bad = [c for c in chosen if not 1 <= c <= n]
        if bad:
            raise ConfigError(f"cuts: prefix lengths must be 1 .. {n}, got {bad[0]}")
    bars = full.event_bars
    for cut in chosen:
        m = int(np.searchsorted(bars, cut, side="left"))
        try:
            prefix = fold(strategies, data.head(cut), config)
        except FbtError as exc:
            at = _bar_of_error(exc, cut)
            k = int(np.searchsorted(bars, at, side="left"))
            failed = LookaheadFinding(
                cut=cut, seq=k, bar=at, timestamp=int(data.timestamps[at]),
                full=full.events[k] if k < m else None, prefix=None, error=str(exc), time_format=data.time_format,
            )
            return LookaheadReport(passed=False, n_bars=n, cuts=chosen, finding=failed)
        finding = _first_change(full.events[:m], bars[:m], prefix.events, prefix.event_bars, cut, data)
        if finding is not None:
            return LookaheadReport(passed=False, n_bars=n, cuts=chosen, finding=finding)
    return LookaheadReport(passed=True, n_bars=n, cuts=chosen)


def _bar_of_error(exc: Exception, cut: int) -> int:
    """The bar a StrategyError names ("at bar N"), else the prefix's last bar."""
    text = str(exc)
    marker = "at bar "
    if marker in text:
        digits = text.split(marker, 1)[1].split(" ", 1)[0].rstrip(":,;)")
        if digits.isdigit() and int(digits) < cut:
            return int(digits)
    return cut - 1


def _first_change(
    full: Sequence[Event], full_bars: npt.NDArray[np.int64], prefix: Sequence[Event],
    prefix_bars: npt.NDArray[np.int64], cut: int, data: BarData,
) -> LookaheadFinding | None:
    common = min(len(full), len(prefix))
    differ = np.flatnonzero(full_bars[:common] != prefix_bars[:common])
    k = int(differ[0]) if differ.size else common
    for j in range(k):
        if full[j] != prefix[j]:
            k = j
            break
    if k == common and len(full) == len(prefix):
        return None
    candidates = [int(b[k]) for b, events in ((full_bars, full), (prefix_bars, prefix)) if k < len(events)]
    bar = min(candidates)
    return LookaheadFinding(
        cut=cut, seq=k, bar=bar, timestamp=int(data.timestamps[bar]),
        full=full[k] if k < len(full) else None, prefix=prefix[k] if k < len(prefix) else None,
        time_format=data.time_format,
    )
