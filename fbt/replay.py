"""Replay, time travel and diff: rebuild any bar's world exactly, and find where two runs part.

Everything here goes through the one step function of :mod:`fbt.reducers` and
:func:`fbt.fold.drain`, so a replayed, resumed or time-travelled world cannot disagree with the run:

- :func:`resume` continues a fold from a given world (the split-fold law: folding bars ``[0, k)``
  and resuming over ``[k, n)`` equals one fold over ``[0, n)``);
- :func:`replay` re-runs the strategies of a journal on its data and checks every event against
  the journal, returning the rebuilt final world;
- :func:`state_at` rebuilds the world after any bar from the nearest checkpoint at or before it,
  stepping at most ``checkpoint_every`` bars;
- :func:`events_between` returns the journalled events of a window of bars;
- :func:`diff` finds the first event where two runs or journals differ.

A bar is named by its index (an ``int``) or by a time: a ``pandas.Timestamp``, a ``datetime``, a
``numpy.datetime64`` or text such as ``"2020-01-31"`` or ``"2020-01-31 10:00"``. A time names the
last bar at or before it.
"""

from __future__ import annotations

import bisect
import datetime
import json
import os
from collections import deque
from collections.abc import Sequence
from typing import Any, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

from fbt.config import Config
from fbt.errors import ConfigError
from fbt.events import Event, MarketEvent
from fbt.fold import Run, drain, fold
from fbt.journal import (
    Entry,
    Journal,
    JournalError,
    JournalHeader,
    as_run,
    config_text,
    data_fingerprint,
    fbt_version,
    read_journal,
    strategy_label,
    strategy_text,
)
from fbt.market import BarData
from fbt.reducers.context import Context
from fbt.reducers.step import make_step
from fbt.state import World
from fbt.strategy import Strategy

__all__ = [
    "Diff",
    "Resumed",
    "When",
    "bar_of",
    "check_inputs",
    "describe_event",
    "describe_world",
    "diff",
    "events_between",
    "format_time",
    "replay",
    "resume",
    "state_at",
    "world_after",
    "world_before",
]

#: A bar index, or a time naming the last bar at or before it.
When: TypeAlias = int | str | datetime.date | np.datetime64


@attrs.frozen(eq=False, kw_only=True)
class Resumed:
    """What a resumed fold produced: the world after its last bar, its events and their bars."""

    world: World
    events: tuple[Event, ...]
    event_bars: npt.NDArray[np.int64]


def resume(context: Context, world: World, *, start: int, stop: int | None = None) -> Resumed:
    """Continue a fold from ``world`` (the world after bar ``start - 1``) over bars ``[start, stop)``.

    >>> import numpy as np, fbt
    >>> from fbt.fold import fold, start as begin
    >>> from fbt.strategies import moving_average_crossover as mac
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


# --- naming bars --------------------------------------------------------------------------------


def _to_ns(when: object) -> int:
    if isinstance(when, np.datetime64):
        return int(when.astype("datetime64[ns]").astype(np.int64))
    if isinstance(when, datetime.datetime):
        value = getattr(when, "value", None)  # pandas.Timestamp: int nanoseconds (UTC if zoned)
        if isinstance(value, int):
            return value
        if when.tzinfo is not None:
            when = when.astimezone(datetime.UTC).replace(tzinfo=None)
        return int(np.datetime64(when, "ns").astype(np.int64))
    if isinstance(when, datetime.date):
        return int(np.datetime64(when, "ns").astype(np.int64))
    if isinstance(when, str):
        try:
            return int(np.datetime64(when.strip().replace(" ", "T", 1), "ns").astype(np.int64))
        except ValueError:
            raise ConfigError(f"expected a bar index or a time such as 2020-01-31 or 2020-01-31 10:00, "
                              f"got {when!r}") from None
    raise ConfigError(f"expected a bar index or a time, got {type(when).__name__} {when!r}")


def format_time(ns: int, time_format: str = "datetime") -> str:
    """Format a bar time (int nanoseconds) as text: a date for daily data, else date and time.

    >>> format_time(86_400 * 10**9, "date"), format_time(90 * 10**9)
    ('1970-01-02', '1970-01-01 00:01:30')
    """
    if time_format == "date":
        unit = "D"
    else:
        unit = next(u for u, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)) if ns % scale == 0)
    text = np.datetime_as_string(np.array([ns], dtype="datetime64[ns]"), unit=unit)  # type: ignore[call-overload]
    return str(text[0]).replace("T", " ")


def bar_of(data: BarData, when: When) -> int:
    """Return the bar a :data:`When` names: an index as given, a time the last bar at or before it.

    >>> import numpy as np
    >>> day = 86_400 * 10**9
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64) * day,
    ...                             columns={"close": np.array([[1.0, 2.0, 3.0]])}, time_format="date")
    >>> bar_of(data, 2), bar_of(data, "1970-01-02"), bar_of(data, "1970-01-02 12:00")
    (2, 1, 1)
    >>> bar_of(data, 3)
    Traceback (most recent call last):
    ...
    fbt.errors.ConfigError: bar 3 is out of range: the run has bars 0 .. 2 (1970-01-01 .. 1970-01-03)
    """
    n = len(data)
    span = (f"bars 0 .. {n - 1} ({format_time(int(data.timestamps[0]), data.time_format)} .. "
            f"{format_time(int(data.timestamps[-1]), data.time_format)})") if n else "no bars"
    if isinstance(when, bool):
        raise ConfigError(f"expected a bar index or a time, got {when!r}")
    if isinstance(when, int | np.integer):
        if not 0 <= int(when) < n:
            raise ConfigError(f"bar {int(when)} is out of range: the run has {span}")
        return int(when)
    ns = _to_ns(when)
    if not n or ns < int(data.timestamps[0]) or ns > int(data.timestamps[-1]):
        raise ConfigError(f"time {format_time(ns, 'datetime')} is out of range: the run has {span}")
    return int(np.searchsorted(data.timestamps, ns, side="right")) - 1


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


# --- replay -------------------------------------------------------------------------------------


def replay(
    journal: Journal | str | os.PathLike[str],
    data: BarData | None,
    strategies: Strategy[Any] | Sequence[Strategy[Any]],
    *,
    config: Config | None = None,
) -> World:
    """Refold a journal's run through the reducers and return its rebuilt final world, exactly.

    The journal (a :class:`~fbt.journal.Journal`, a file or an output folder) must name the same
    inputs: the data's content, the strategies' names and parameters, and the configuration, each
    checked first. The strategies are then run on the data's bars and every event they cause is
    checked against the journal in order; the first difference is a :class:`~fbt.journal.JournalError`
    naming its ``seq``, bar and both versions. ``data=None`` replays a journal holding its bars
    inline (a live session's).
    """
    j = journal if isinstance(journal, Journal) else read_journal(journal)
    chosen = (strategies,) if isinstance(strategies, Strategy) else tuple(strategies)
    config = config or Config()
    header = j.header
    if header.fbt_version != fbt_version():
        raise JournalError(f"the journal was written by fbt {header.fbt_version}; this is fbt {fbt_version()}: "
                           f"replay needs the fbt version that made the journal (its reducers may differ)")
    if data is None:
        data = j.market_data()
    elif j.markets and data_fingerprint(j.market_data()) != data_fingerprint(data):
        raise JournalError("the data given differs from the bars journalled inline")
    check_inputs(header, chosen, data, config)
    run = fold(chosen, data, config)
    _check_events(j, run)
    return run.final


def check_inputs(header: JournalHeader, strategies: Sequence[Strategy[Any]], data: BarData, config: Config) -> None:
    """Raise a JournalError saying which input (data, strategies, configuration) differs from the journal's."""
    problems = []
    if tuple(data.symbols) != header.symbols:
        problems.append(f"symbols: the journal has {', '.join(header.symbols)}, the data has {', '.join(data.symbols)}")
    if header.n_bars is not None and header.n_bars != len(data):
        problems.append(f"bars: the journal has {header.n_bars}, the data has {len(data)}")
    if header.data_fingerprint is not None and header.data_fingerprint != data_fingerprint(data):
        problems.append(f"market data: the journal was written for data {header.data_fingerprint[:12]}, the data "
                        f"given is {data_fingerprint(data)[:12]} (other prices, times or bars)")
    texts = tuple(strategy_text(s) for s in strategies)
    if texts != header.strategies:
        given = ", ".join(strategy_label(_loads(t)) for t in texts)
        problems.append(f"strategies: the journal has {', '.join(header.strategy_labels())}, given {given}")
    given_config = config_text(config)
    if given_config != header.config:
        was, now = _loads(header.config), _loads(given_config)
        changed = [f"{k} {_short(was.get(k))} -> {_short(now.get(k))}" for k in sorted(set(was) | set(now))
                   if was.get(k) != now.get(k)]
        problems.append(f"configuration: {'; '.join(changed)}")
    if problems:
        raise JournalError("the journal does not match the inputs given: " + "; ".join(problems))


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def _short(value: object) -> str:
    if isinstance(value, dict) and set(value) == {"callable"}:
        return str(value["callable"])
    return repr(value)


def _check_events(j: Journal, run: Run) -> None:
    expected, made = j.events, run.events
    ebars, mbars = j.event_bars, run.event_bars
    common = min(len(expected), len(made))
    differ = np.flatnonzero(ebars[:common] != mbars[:common])
    limit = int(differ[0]) if differ.size else common
    for k in range(limit):
        if expected[k] != made[k]:
            limit = k
            break
    if limit == common and len(expected) == len(made):
        return
    k = limit
    if k < common:
        raise JournalError(
            f"replay diverges at seq {k}: the journal has {expected[k]!r} at bar {int(ebars[k])}, the replay made "
            f"{made[k]!r} at bar {int(mbars[k])}"
        )
    if k < len(expected):
        raise JournalError(f"replay diverges at seq {k}: the journal has {expected[k]!r} at bar {int(ebars[k])}, "
                           f"the replay made no more events ({len(made)} in all)")
    raise JournalError(f"replay diverges at seq {k}: the replay made {made[k]!r} at bar {int(mbars[k])}, the journal "
                       f"ends after {len(expected)} events")


# --- diff ---------------------------------------------------------------------------------------


@attrs.frozen(eq=False, kw_only=True)
class _Log:
    label: str
    events: tuple[Event, ...]
    bars: npt.NDArray[np.int64]
    symbols: tuple[str, ...]
    time_format: str
    fingerprint: str | None
    run: Run | None


def _log(source: object, label: str) -> _Log:
    if isinstance(source, str | os.PathLike):
        source = read_journal(source)
    if isinstance(source, Journal):
        return _Log(label=label, events=source.events, bars=source.event_bars, symbols=source.header.symbols,
                    time_format=source.header.time_format, fingerprint=source.events_fingerprint, run=None)
    try:
        run = as_run(source)
    except JournalError:
        raise ConfigError(f"diff: expected an fbt.Result, a fold Run, a Journal or a journal path for {label}, "
                          f"got {type(source).__name__}") from None
    return _Log(label=label, events=run.events, bars=run.event_bars, symbols=run.data.symbols,
                time_format=run.data.time_format, fingerprint=None, run=run)


@attrs.frozen(eq=False, kw_only=True)
class Diff:
    """Where two runs part: the first divergent event, its bar, both versions and the states before.

    ``identical`` runs have equal event logs (every event and its bar); otherwise ``seq`` is the
    first position where the logs differ, ``bar`` the bar where they part (the earlier of the two
    events' bars), ``a``/``b`` the two events there (None where a log has ended) and
    ``state_a``/``state_b`` each run's world just before it (None for a journal, which holds
    events, not states).
    """

    identical: bool
    count_a: int
    count_b: int
    seq: int | None = None
    bar: int | None = None
    timestamp: int | None = None
    a: Entry | None = None
    b: Entry | None = None
    state_a: World | None = None
    state_b: World | None = None
    time_format: str = "datetime"

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """Return a readable report: "identical", or the first divergent event with both versions."""
        if self.identical:
            return f"identical: {self.count_a} events"
        when = f"bar {self.bar}"
        if self.timestamp is not None:
            when += f", {format_time(self.timestamp, self.time_format)}"
        lines = [f"runs differ at event seq {self.seq} ({when}); A has {self.count_a} events, B {self.count_b}"]
        for name, entry, count in (("A", self.a, self.count_a), ("B", self.b, self.count_b)):
            if entry is None:
                lines.append(f"  {name}: no event (its log ends after {count} events)")
            else:
                lines.append(f"  {name}: bar {entry.bar}: {describe_event(entry.event)}")
        if self.a is not None and self.b is not None and type(self.a.event) is type(self.b.event):
            changed = [f"{a.name} {getattr(self.a.event, a.name)!r} -> {getattr(self.b.event, a.name)!r}"
                       for a in attrs.fields(type(self.a.event))
                       if getattr(self.a.event, a.name) != getattr(self.b.event, a.name)]
            if self.a.bar != self.b.bar:
                changed.insert(0, f"bar {self.a.bar} -> {self.b.bar}")
            lines.append(f"  changed: {'; '.join(changed)}")
        for name, state in (("A", self.state_a), ("B", self.state_b)):
            if state is not None:
                lines.append(f"  state before, {name}: {describe_world(state)}")
        return "\n".join(lines)


def describe_event(event: object) -> str:
    """Return an event as ``TYPE field=value ...``: enums by value; the timestamp, and fields at
    their defaults, left out.

    >>> from fbt.events import SignalEvent, SignalType
    >>> describe_event(SignalEvent(timestamp=0, strategy_id="s", symbol="A", signal_type=SignalType.LONG))
    'SignalEvent strategy_id=s symbol=A signal_type=LONG'
    """
    if not attrs.has(type(event)):
        return repr(event)
    parts = [type(event).__name__]
    for a in attrs.fields(type(event)):  # type: ignore[arg-type]
        value = getattr(event, a.name)
        if a.name in ("timestamp", "data") or (not isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
                                               and a.default is not attrs.NOTHING and value == a.default):
            continue
        parts.append(f"{a.name}={getattr(value, 'value', value)}")
    return " ".join(parts)


def describe_world(world: World) -> str:
    """Return a one-line summary of a world: cash, commission, positions, pending orders, strategy states."""
    p = world.portfolio
    pending = len(world.broker.pending)
    return (f"cash {p.cash!r}, commission {p.commission!r}, positions {p.positions!r}, orders sent "
            f"{p.orders_sent}, pending orders {pending}, strategy states {world.strategies!r}")


def diff(a: object, b: object) -> Diff:
    """Compare two runs (``fbt.Result``, fold ``Run``, :class:`~fbt.journal.Journal`, or a journal file
    or output folder) and return where they first differ.

    >>> import numpy as np, fbt
    >>> from fbt.strategies import moving_average_crossover as mac
    >>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(60, dtype=np.int64),
    ...                                 columns={"close": 10 + np.sin(np.arange(60.0) / 4).reshape(1, 60)})
    >>> diff(fbt.run(mac(2, 5), data), fbt.run(mac(2, 5), data)).identical
    True
    >>> d = diff(fbt.run(mac(2, 5), data), fbt.run(mac(2, 6), data))
    >>> d.identical, d.seq, d.bar
    (False, 6, 21)
    """
    la, lb = _log(a, "A"), _log(b, "B")
    if la.symbols != lb.symbols:
        raise ConfigError(f"cannot diff runs on different symbols: A trades {', '.join(la.symbols)}, "
                          f"B trades {', '.join(lb.symbols)}")
    na, nb = len(la.events), len(lb.events)
    time_format = la.time_format
    if la.fingerprint is not None and la.fingerprint == lb.fingerprint and na == nb:
        return Diff(identical=True, count_a=na, count_b=nb, time_format=time_format)
    common = min(na, nb)
    differ = np.flatnonzero(la.bars[:common] != lb.bars[:common])
    k = int(differ[0]) if differ.size else common
    for j in range(k):
        if la.events[j] != lb.events[j]:
            k = j
            break
    if k == common and na == nb:
        return Diff(identical=True, count_a=na, count_b=nb, time_format=time_format)
    ea = Entry(seq=k, bar=int(la.bars[k]), event=la.events[k]) if k < na else None
    eb = Entry(seq=k, bar=int(lb.bars[k]), event=lb.events[k]) if k < nb else None
    bar = min(e.bar for e in (ea, eb) if e is not None)
    timestamp = _bar_time(la, lb, bar, ea, eb)
    return Diff(
        identical=False, count_a=na, count_b=nb, seq=k, bar=bar, timestamp=timestamp, a=ea, b=eb,
        state_a=world_before(la.run, k, bar) if la.run is not None else None,
        state_b=world_before(lb.run, k, bar) if lb.run is not None else None,
        time_format=time_format,
    )


def _bar_time(la: _Log, lb: _Log, bar: int, *entries: Entry | None) -> int | None:
    for log in (la, lb):
        if log.run is not None and bar < len(log.run.data):
            return int(log.run.data.timestamps[bar])
    for entry in entries:  # events carry their bar's time
        if entry is not None and entry.bar == bar:
            value = getattr(entry.event, "timestamp", None)
            if isinstance(value, int):
                return value
    return None
