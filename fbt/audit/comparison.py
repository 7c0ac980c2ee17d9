"""Diff: where two runs' event logs part, described event by event."""

from __future__ import annotations

import os

import attrs
import numpy as np
import numpy.typing as npt

from fbt.audit.travel import world_before
from fbt.audit.when import format_time
from fbt.core.errors import ConfigError
from fbt.core.events import Event
from fbt.core.state import World
from fbt.journal import (
    Entry,
    Journal,
    JournalError,
    as_run,
    data_fingerprint,
    read_journal,
)
from fbt.kernel.loop import Run

# --- inputs -------------------------------------------------------------------------------------


def market_fingerprint(journal: Journal) -> str | None:
    """The fingerprint of a journal's market data, comparable across run folders and live journals.

    A run's journal names it in its header; a live session's journal holds its bars inline (the
    header has none), and their fingerprint is taken as ``fbt run`` takes it of loaded data, so a
    live journal and a run on the same bars agree. None for a journal with neither.
    """
    if journal.header.data_fingerprint is not None:
        return journal.header.data_fingerprint
    if journal.markets:
        return data_fingerprint(journal.market_data())
    return None


def same_inputs(a: Journal, b: Journal) -> tuple[bool, bool]:
    """Whether two journals ran the same strategies and configuration, and on the same market data.

    Unlike their input fingerprints (a live session's is made without its data, which it does not
    know in advance), this compares like with like between a live journal and a run folder.
    """
    same_code = a.header.strategies == b.header.strategies and a.header.config == b.header.config
    data_a, data_b = market_fingerprint(a), market_fingerprint(b)
    return same_code, data_a is not None and data_a == data_b


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

    >>> from fbt.core.events import SignalEvent, SignalType
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
    >>> from fbt.sample.strategies import moving_average_crossover as mac
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
