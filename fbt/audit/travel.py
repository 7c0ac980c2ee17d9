"""Time travel: the world at, after or before any bar, the events between bars, and resuming a run."""

from __future__ import annotations

import bisect
from collections import deque

import attrs
import numpy as np
import numpy.typing as npt

from fbt.audit.when import When, bar_of
from fbt.core.errors import ConfigError
from fbt.core.events import Event, MarketEvent
from fbt.core.state import World
from fbt.journal import (
    Entry,
    Journal,
    as_run,
)
from fbt.kernel.context import Context
from fbt.kernel.loop import Run, drain
from fbt.kernel.step import make_step


@attrs.frozen(eq=False, kw_only=True)
class Resumed:
    """What a resumed fold produced: the world after its last bar, its events and their bars."""

    world: World
    events: tuple[Event, ...]
    event_bars: npt.NDArray[np.int64]


def resume(context: Context, world: World, *, start: int, stop: int | None = None) -> Resumed:
    """Continue a fold from ``world`` (the world after bar ``start - 1``) over bars ``[start, stop)``.

    >>> import numpy as np, fbt
    >>> from fbt.kernel.loop import fold, start as begin
    >>> from fbt.sample.strategies import moving_average_crossover as mac
    >>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(40, dtype=np.int64),
    ...                                 columns={"close": 10 + np.sin(np.arange(40.0) / 3).reshape(1, 40)})
    >>> context, initial = begin([mac(2, 5)], data, fbt.Config())
    >>> first = resume(context, initial, start=0, stop=25)
    >>> rest = resume(context, first.world, start=25)
    >>> whole = fold([mac(2, 5)], data)
    >>> first.events + rest.events == whole.events and rest.world.portfolio == whole.final.portfolio
    True
    """
    data = context.data
    n = len(data)
    stop = n if stop is None else stop
    if not 0 <= start <= stop <= n:
        raise ConfigError(f"resume: expected 0 <= start <= stop <= {n}, got start={start}, stop={stop}")
    step = make_step(context)
    events: list[Event] = []
    bars: list[int] = []
    for i in range(start, stop):
        world, handled = drain(step, world, (MarketEvent(i, data),))
        if len(handled) > 1:
            events.extend(handled[1:])
            bars.extend([i] * (len(handled) - 1))
    return Resumed(world=world, events=tuple(events), event_bars=np.asarray(bars, dtype=np.int64))


# --- time travel --------------------------------------------------------------------------------


def state_at(source: object, when: When) -> World:
    """Return the world after bar ``when`` of a run (an ``fbt.Result`` or a fold ``Run``).

    It starts from the nearest checkpoint at or before the bar and steps forward through the run's
    own reducers: at most ``checkpoint_every`` bars of work. The world equals the one the run had
    after that bar: strategy states, portfolio, pending orders and the bar's market event.
    """
    run = as_run(source)
    i = bar_of(run.data, when)
    return world_after(run, i)


def world_after(run: Run, i: int) -> World:
    """Return the world after bar ``i`` of a run (``i = -1``: the initial world), from the nearest
    checkpoint at or before it."""
    checkpoints = run.checkpoints
    k = bisect.bisect_right(checkpoints, i, key=lambda c: c[0]) - 1
    if k >= 0:
        begin, world = checkpoints[k][0] + 1, checkpoints[k][1]
    else:
        begin, world = 0, run.initial
    if begin > i:
        return world
    return resume(run.context, world, start=begin, stop=i + 1).world


def events_between(source: object, start: When, end: When) -> tuple[Entry, ...]:
    """Return the events of bars ``start`` to ``end`` (both included) with their ``seq`` and bar.

    ``source`` is an ``fbt.Result``, a fold ``Run`` or a :class:`~fbt.journal.Journal`; times need
    the run's data, so a journal takes bar indices.
    """
    if isinstance(source, Journal):
        if not all(isinstance(w, int | np.integer) and not isinstance(w, bool) for w in (start, end)):
            raise ConfigError("events_between on a journal takes bar indices; times need the run's data")
        n = source.header.n_bars
        a, b = int(start), int(end)  # type: ignore[arg-type]
        if n is not None and not (0 <= a < n and 0 <= b < n):
            raise ConfigError(f"bars {a} .. {b} are out of range: the journal has bars 0 .. {n - 1}")
        events, bars = source.events, source.event_bars
    else:
        run = as_run(source)
        a, b = bar_of(run.data, start), bar_of(run.data, end)
        events, bars = run.events, run.event_bars
    if b < a:
        raise ConfigError(f"events_between: the window ends (bar {b}) before it starts (bar {a})")
    lo, hi = int(np.searchsorted(bars, a, side="left")), int(np.searchsorted(bars, b, side="right"))
    return tuple(Entry(seq=k, bar=int(bars[k]), event=events[k]) for k in range(lo, hi))


def world_before(run: Run, seq: int, bar: int) -> World:
    """Return the world just before the run handles its event ``seq`` at ``bar`` (its market event
    handled, its first ``seq`` events handled); past the run's end, its final world."""
    if bar >= len(run.data):
        return run.final
    world = world_after(run, bar - 1)
    step = make_step(run.context)
    need = seq - int(np.searchsorted(run.event_bars, bar, side="left"))
    world, caused = step(world, MarketEvent(bar, run.data))
    todo = deque(caused)
    while todo and need > 0:
        world, more = step(world, todo.popleft())
        todo.extend(more)
        need -= 1
    return world
