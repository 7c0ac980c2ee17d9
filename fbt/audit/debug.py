"""Step-through debugging: walk a run bar by bar, with each bar's events and the world after it.

:func:`walk` yields a :class:`Frame` per bar, from any bar (it starts from the nearest checkpoint,
so starting late costs at most ``checkpoint_every`` bars of work); :func:`break_at` returns the
frame of a bar, of a time, or of the first bar where a condition on the frame holds.
:func:`has_event` makes the common condition, "this bar handled such an event":

>>> import numpy as np, fbt
>>> from fbt.sample.strategies import moving_average_crossover as mac
>>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(60, dtype=np.int64) * 60 * 10**9,
...                                 columns={"close": 10 + np.sin(np.arange(60.0) / 4).reshape(1, 60)})
>>> result = fbt.run(mac(2, 5), data, checkpoint_every=10)
>>> frame = break_at(result, has_event("FillEvent", symbol="A"))
>>> frame.bar, frame.world.portfolio.positions
(2, (100.0,))
>>> [type(e).__name__ for e in frame.events]
['SignalEvent', 'OrderEvent', 'FillEvent']
>>> [f.bar for f in walk(result, start=20, stop=22)]
[20, 21, 22]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import attrs
import numpy as np

from fbt.audit import When, bar_of, describe_event, describe_world, format_time, world_after
from fbt.core.errors import StrategyError
from fbt.core.events import Event, MarketEvent
from fbt.core.state import World
from fbt.journal import as_run
from fbt.kernel.loop import Run, drain
from fbt.kernel.step import make_step

__all__ = ["Condition", "Frame", "break_at", "describe_event", "has_event", "walk"]


@attrs.frozen(eq=False, kw_only=True)
class Frame:
    """One bar of a walk: its index and time, the events it caused (market event aside), in order,
    with the ``seq`` of the first, and the world after them."""

    bar: int
    timestamp: int
    events: tuple[Event, ...]
    first_seq: int
    world: World
    time_format: str = "datetime"

    @property
    def time(self) -> str:
        """The bar's time as text."""
        return format_time(self.timestamp, self.time_format)

    def describe(self, *, state: bool = True) -> str:
        """Return the bar, its events one a line and (with ``state``) the world after them."""
        lines = [f"bar {self.bar}  {self.time}  {len(self.events)} event(s)"]
        lines += [f"  #{self.first_seq + k}  {describe_event(e)}" for k, e in enumerate(self.events)]
        if state:
            lines.append(f"  state: {describe_world(self.world)}")
        return "\n".join(lines)


#: A stop condition: a function of a frame.
Condition = Callable[[Frame], bool]


def _frame(run: Run, bar: int, world: World, lo: int, hi: int) -> Frame:
    return Frame(bar=bar, timestamp=int(run.data.timestamps[bar]), events=run.events[lo:hi], first_seq=lo,
                 world=world, time_format=run.data.time_format)


def walk(source: object, *, start: When = 0, stop: When | None = None) -> Iterator[Frame]:
    """Yield a frame for every bar of a run (an ``fbt.Result`` or fold ``Run``) from ``start`` to
    ``stop`` (both included; default the last bar), stepping through the run's own reducers.

    Each frame's events are the ones the walk's own step produced; they are checked against the
    run's log, so a strategy that is not pure is caught here (a :class:`~fbt.core.errors.StrategyError`).
    """
    run = as_run(source)
    first = bar_of(run.data, start)
    last = len(run.data) - 1 if stop is None else bar_of(run.data, stop)
    world = world_after(run, first - 1)
    step = make_step(run.context)
    bars = run.event_bars
    lo = int(np.searchsorted(bars, first, side="left"))
    for i in range(first, last + 1):
        world, handled = drain(step, world, (MarketEvent(i, run.data),))
        hi = lo
        while hi < len(bars) and bars[hi] == i:
            hi += 1
        if tuple(handled[1:]) != run.events[lo:hi]:
            raise StrategyError(f"bar {i}: stepping again gave other events than the run had: a strategy is not pure")
        yield _frame(run, i, world, lo, hi)
        lo = hi


@attrs.frozen(kw_only=True)
class _EventCondition:
    kind: str
    fields: tuple[tuple[str, object], ...]

    def matches(self, event: Event) -> bool:
        if type(event).__name__ != self.kind:
            return False
        for name, want in self.fields:
            value = getattr(event, name, None)
            if value != want and getattr(value, "value", value) != want:
                return False
        return True

    def __call__(self, frame: Frame) -> bool:
        return any(self.matches(e) for e in frame.events)


def has_event(kind: str | type, **fields: object) -> Condition:
    """Return the condition "the bar handled an event of this type with these field values".

    Enum fields match their value too: ``has_event("FillEvent", symbol="A", direction="BUY")``.
    """
    name = kind if isinstance(kind, str) else kind.__name__
    return _EventCondition(kind=name, fields=tuple(sorted(fields.items())))


def break_at(source: object, at: When | Condition, *, start: When = 0) -> Frame | None:
    """Return the frame of a bar, of a time, or of the first bar from ``start`` where ``at(frame)``
    holds (None if it never does).

    A condition made by :func:`has_event` is found in the run's log and only that bar is stepped
    to; any other condition walks bar by bar.
    """
    run = as_run(source)
    if isinstance(at, _EventCondition):
        first = bar_of(run.data, start)
        lo = int(np.searchsorted(run.event_bars, first, side="left"))
        for k in range(lo, len(run.events)):
            if at.matches(run.events[k]):
                return _frame_at(run, int(run.event_bars[k]))
        return None
    if callable(at):
        for frame in walk(run, start=start):
            if at(frame):
                return frame
        return None
    return _frame_at(run, bar_of(run.data, at))


def _frame_at(run: Run, bar: int) -> Frame:
    lo = int(np.searchsorted(run.event_bars, bar, side="left"))
    hi = int(np.searchsorted(run.event_bars, bar, side="right"))
    return _frame(run, bar, world_after(run, bar), lo, hi)
