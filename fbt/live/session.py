"""The live session: the imperative shell that drives the kernel bar by bar with a venue behind it.

For every closed bar of the feed, in this order, each journal line written and fsynced before what
it records is acted on (:mod:`fbt.journal`: market lines inline, the session's own records as note
lines):

1. the bar (a market line); the venue is told of it (a sim venue works its orders on it);
2. the broker messages that arrived since the last bar (notes), each one's fbt events from the
   pure normaliser (:func:`fbt.live.normalise.normalise`: fills, rejections, cancellations)
   journalled, then handed to the kernel in the place the simulated broker puts its working
   orders' fills. The normaliser's own events are journalled as notes and change no output file:
   :class:`~fbt.live.events.OrderAccepted`, :class:`~fbt.live.events.BrokerAnomaly` (also
   printed), and :class:`~fbt.live.events.FillCorrected`, which is booked on the portfolio at once
   (:func:`fbt.live.port.correct_fill`) and replaces the corrected fill in the session's result;
3. the step: the strategies see the bar, the portfolio turns their signals into orders, the live
   port holds the orders (:mod:`fbt.live.port`); the events are journalled and a
   :class:`BarStepped` note closes them;
4. cancellations are sent; each order becomes an intent with its deterministic ``order_ref``
   (:func:`fbt.live.ids.order_ref`), journalled, then submitted;
5. the venue's replies (notes), their events journalled, then stepped: a fill booked on the bar
   its order was sent (book mode) lands where the book's port would have put it.

**When a bar is done.** The sim venue answers at once: its replies are in when ``submit`` returns.
A venue that answers later (IB; an adapter without ``ready()``, whose :meth:`messages` the session
reads all the time) is waited for after step 4 until every order sent on the bar is final (filled,
cancelled or rejected) with each of its executions booked, or until ``wait`` seconds (default 10)
have passed, whichever comes first; then step 5 steps what arrived. What comes later (a fill after
the timeout, a resting order's fill) is booked when it comes: with the next bar's step 2, in the
work slot, like a realistic mode's fill of a working order. A dropped connection (a
``Connection(DISCONNECTED)`` message) is reconnected at once (the adapter's ``reconnect``, same
client id, capped backoff), the venue's executions and orders replayed through the normaliser
(which absorbs what it knew), the filled quantities checked, and the positions compared once the
bar's events are booked (a mismatch halts, as after a restart). While the venue reports its link
lost (IB's 1100, until 1101 or 1102) an order is journalled but not sent: the session waits for
the link, then sends it.

**Restart.** The same call with the same journal resumes: the journal is read tolerantly (a torn
last line is dropped and reported), the session runs again over the journalled bars with sending
disabled — every line it would write must equal the journal's, so a journal of another strategy,
configuration or data is one clear error — and where the journal ends it reconciles with the
venue: an intent the venue never received is sent if its bar is still the latest, the venue's
executions are replayed through the normaliser (which absorbs the known ones), and the venue's
positions are compared with the portfolio's (a mismatch halts the session with a note and a
message). No journalled bar is stepped live again and no order is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from fbt.backtest.result import Result
from fbt.core.errors import ConfigError, FbtError
from fbt.core.events import Event, FillEvent, MarketEvent, OrderCancelled, OrderRejected
from fbt.core.state import Portfolio, World
from fbt.core.strategy import Strategy
from fbt.journal import (
    JournalHeader,
    JournalWriter,
    MarketRecord,
    config_text,
    decode_record,
    fbt_version,
    read_journal,
    strategy_text,
)
from fbt.journal.fingerprint import input_hash
from fbt.kernel.config import Config
from fbt.kernel.context import Context
from fbt.kernel.loop import Run, start
from fbt.kernel.parts import parts_of
from fbt.kernel.step import drain, make_step
from fbt.live.adapter import BrokerAdapter
from fbt.live.events import AnomalyKind, BrokerAnomaly, FillCorrected, OrderAccepted
from fbt.live.feed import Feed, Tape
from fbt.live.ids import order_ref
from fbt.live.messages import (
    BrokerMessage,
    CommissionReport,
    Connection,
    ConnectionState,
    ExecutionReport,
    OrderIntent,
    OrderStatus,
    VenueError,
)
from fbt.live.normalise import Output, cancel_requested, check, flush, initial, normalise, register
from fbt.live.port import LiveBroker, correct_fill, intent_of, live_parts, settle
from fbt.models.sizing import fill_quantity_of
from fbt.results.curve import accounts, derive, fill_table
from fbt.results.stats import run_statistics
from fbt.stream.run import history_needed

__all__ = ["BarStepped", "Halted", "LiveError", "run_live", "run_live_async", "session_fingerprint"]

#: Hidden fault injection for the crash tests: ``N`` kills the process just before its N-th journal
#: write, ``N+`` just after it (SIGKILL, no clean-up).
KILL_ENV = "FBT_LIVE_KILL_AT"
#: ``1`` writes the journal and the sim venue's record without fsync: a killed process loses nothing
#: (the operating system keeps what was written), a machine that loses power may; for tests only.
NO_FSYNC_ENV = "FBT_LIVE_NO_FSYNC"


def durable() -> bool:
    """Whether journal lines are fsynced (always, unless the tests' :data:`NO_FSYNC_ENV` is set)."""
    return os.environ.get(NO_FSYNC_ENV, "") != "1"


class LiveError(FbtError):
    """A live session cannot go on: a journal that does not match, a venue that disagrees."""


@attrs.frozen(kw_only=True)
class BarStepped:
    """Note: the kernel stepped bar ``bar``; ``events`` of its events were the kernel's own."""

    bar: int
    events: int


@attrs.frozen(kw_only=True)
class Halted:
    """Note: the session stopped sending orders at ``bar``, and why."""

    bar: int
    detail: str


_MESSAGES = (ExecutionReport, CommissionReport, OrderStatus, VenueError, Connection)
_NOTES: dict[str, type] = {c.__name__: c for c in (
    BarStepped, Halted, OrderIntent, *_MESSAGES, OrderAccepted, BrokerAnomaly, FillCorrected, FillEvent)}


def session_fingerprint(strategies: Sequence[Strategy[Any]], symbols: Sequence[str], config: Config) -> str:
    """The input fingerprint of a live session: its strategies, symbols and configuration (its data
    are not known in advance); order ids are derived from it."""
    return input_hash("live:" + ",".join(symbols), [strategy_text(s) for s in strategies], config_text(config))


class _Killer:
    def __init__(self) -> None:
        text = os.environ.get(KILL_ENV, "")
        self.after = text.endswith("+")
        self.at = int(text.rstrip("+")) if text.rstrip("+").isdigit() else 0
        self.count = 0

    def before(self) -> None:
        self.count += 1
        if self.at and self.count == self.at and not self.after:
            os.kill(os.getpid(), signal.SIGKILL)

    def done(self) -> None:
        if self.at and self.count == self.at and self.after:
            os.kill(os.getpid(), signal.SIGKILL)


class _Cursor:
    """The journal being resumed: what has been written, consumed in order while the session reruns."""

    def __init__(self, journal: Any) -> None:
        self.markets = list(journal.markets) if journal is not None else []
        self.events = list(journal.events) if journal is not None else []
        self.notes = list(journal.notes) if journal is not None else []
        self.m = self.e = self.n = 0

    def live(self) -> bool:
        return self.m >= len(self.markets) and self.e >= len(self.events) and self.n >= len(self.notes)


class _Session:
    def __init__(self, strategies: tuple[Strategy[Any], ...], feed: Feed, adapter: BrokerAdapter,
                 journal: Path, config: Config, echo: Callable[[str], None] | None,
                 on_halt: Callable[[str], None] | None = None) -> None:
        self.strategies, self.feed, self.adapter, self.path, self.config = strategies, feed, adapter, journal, config
        self.echo = echo or (lambda line: None)
        self.on_halt = on_halt or (lambda detail: None)
        self.symbols = tuple(feed.symbols)
        history = max(history_needed(strategies, config.sizing), 1)
        self.tape = Tape(self.symbols, feed.time_format, history)
        self.fingerprint = session_fingerprint(strategies, self.symbols, config)
        self.parts = live_parts()
        self.world: World = World(strategies=(), portfolio=Portfolio.initial(capital=config.capital,
                                                                             n_symbols=len(self.symbols)),
                                  broker=LiveBroker())
        self.norm = initial("SIM" if adapter.name == "sim" else adapter.name.upper())
        self.withdrawn: set[int] = set()  # kernel order ids the kernel itself cancelled
        self.corrections: dict[int, FillEvent] = {}  # index in the log -> the fill that replaced it
        self.ctx: Context | None = None
        self.step: Any = None
        self.now = 0  # the latest bar's time (stamps the normaliser's checks)
        self.log: list[Event] = []
        self.log_bars: list[int] = []
        self.refs: dict[int, str] = {}  # the kernel's order id -> order_ref
        self.killer = _Killer()
        self.writer: JournalWriter | None = None
        self.cursor = _Cursor(None)
        self.torn: int | None = None
        self.halted = False
        self.stop = False
        self.wait = 10.0  # seconds a venue that answers later is waited for after a bar's orders
        self.pump: asyncio.Task[None] | None = None
        self.queue: list[BrokerMessage] = []
        self.arrived = asyncio.Event()
        self.closing = False

    # --- the journal ------------------------------------------------------------------------------

    def header(self) -> JournalHeader:
        return JournalHeader(fbt_version=fbt_version(), input_fingerprint=self.fingerprint, data_fingerprint=None,
                             n_bars=None, symbols=self.symbols, time_format=self.tape.time_format,
                             strategies=tuple(strategy_text(s) for s in self.strategies),
                             config=config_text(self.config), market="inline")

    def open(self) -> None:
        header = self.header()
        journal = None
        if self.path.exists() and b"\n" in self.path.read_bytes()[:1 << 20]:
            journal = read_journal(self.path, tolerant=True)
            self.torn = journal.torn
            theirs = journal.header
            if (theirs.market != "inline" or theirs.input_fingerprint != header.input_fingerprint
                    or theirs.symbols != header.symbols):
                raise LiveError(
                    f"{self.path}: the journal is of another session (strategies "
                    f"{', '.join(theirs.strategy_labels())} on {', '.join(theirs.symbols)}, input fingerprint "
                    f"{str(theirs.input_fingerprint)[:12]}); this one is {', '.join(header.strategy_labels())} on "
                    f"{', '.join(self.symbols)} ({self.fingerprint[:12]}): give another --journal")
            self.writer = JournalWriter(self.path, header, resume=journal, sync=durable(), flush=True)
        else:
            self.writer = JournalWriter(self.path, header, sync=durable(), flush=True)
        self.cursor = _Cursor(journal)
        self._reconciled = journal is None or not (journal.markets or journal.notes)

    def _mismatch(self, what: str, mine: object, theirs: object) -> LiveError:
        return LiveError(f"{self.path}: the journal's {what} differs from this session's ({theirs!r} in the journal, "
                         f"{mine!r} now): it was written from other data, strategies or configuration")

    def market(self, record: MarketRecord) -> None:
        c = self.cursor
        if c.m < len(c.markets):
            if c.markets[c.m] != record:
                raise self._mismatch(f"bar {record.bar}", record, c.markets[c.m])
            c.m += 1
            return
        self._write(lambda w: w.append_market(record))

    def event(self, event: Event, bar: int) -> None:
        self.log.append(event)
        self.log_bars.append(bar)
        c = self.cursor
        if c.e < len(c.events):
            if c.events[c.e] != event:
                raise self._mismatch(f"event {c.e}", event, c.events[c.e])
            c.e += 1
            return
        self._write(lambda w: void(w.append(event, bar=bar)))
        self._say(event)

    def note(self, record: object, bar: int) -> None:
        c = self.cursor
        if c.n < len(c.notes) and c.notes[c.n].seq <= len(self.log):
            theirs = decode_record(_plain(c.notes[c.n].record), _NOTES)
            if theirs != record:
                raise self._mismatch(f"note at bar {bar}", record, theirs)
            c.n += 1
            return
        self._write(lambda w: w.append_note(record, bar=bar))

    def journalled_notes(self, bar: int) -> list[object]:
        """The journal's notes still unread at this point of the rerun (before the next journalled event)."""
        c, out, k = self.cursor, [], self.cursor.n
        while k < len(c.notes) and c.notes[k].bar == bar and c.notes[k].seq <= len(self.log):
            out.append(decode_record(_plain(c.notes[k].record), _NOTES))
            k += 1
        return out

    def _write(self, action: Callable[[JournalWriter], None]) -> None:
        assert self.writer is not None
        if not self.cursor.live():
            raise LiveError(f"{self.path}: the journal differs from this session after its event "
                            f"{self.cursor.e}: it was written from other data, strategies or configuration")
        self.killer.before()
        action(self.writer)
        self.killer.done()

    def _say(self, event: Event) -> None:
        if isinstance(event, FillEvent):
            self.echo(f"fill    {event.direction.value} {event.quantity:g} {event.symbol} @ {event.price!r} "
                      f"commission {event.commission!r}")
        elif isinstance(event, OrderRejected):
            self.echo(f"reject  {event.direction.value} {event.quantity:g} {event.symbol}: {event.reason.value} "
                      f"{event.detail}".rstrip())

    # --- a bar ------------------------------------------------------------------------------------

    async def bar(self, record: MarketRecord) -> None:
        b = record.bar
        self.tape.add(record)
        self.market(record)
        window, index = self.tape.window()
        on_bar = getattr(self.adapter, "on_bar", None)
        if on_bar is not None and self.cursor.m >= len(self.cursor.markets):  # the venue saw the earlier bars
            await on_bar(window, index, b)
        ctx, built = start(self.strategies, window, self.config, self.parts)
        if not self.world.strategies:
            self.world = attrs.evolve(self.world, strategies=built.strategies)
        step = make_step(ctx)
        self.ctx, self.step, self.now = ctx, step, record.timestamp
        # 2. what the venue said since the last bar
        arrived = await self.inbound(b)
        broker = self.world.broker
        assert isinstance(broker, LiveBroker)
        if arrived and not broker.pending:  # nothing working to hand them to: step them on their own
            self.world, _ = drain(step, attrs.evolve(self.world, broker=settle(broker, arrived)), arrived)
            arrived = []
        else:
            self.world = attrs.evolve(self.world, broker=attrs.evolve(broker, inbox=tuple(arrived)))
        # 3. the step
        self.world, handled = drain(step, self.world, (MarketEvent(index, window),))
        own = handled[1 + len(arrived):]
        for e in own:
            self.event(e, b)
        self.note(BarStepped(bar=b, events=len(own)), b)
        broker = self.world.broker
        assert isinstance(broker, LiveBroker)
        orders, cancels = broker.outbox, broker.cancels
        self.world = attrs.evolve(self.world, broker=attrs.evolve(broker, outbox=(), cancels=()))
        # 4. cancellations, then intents: journalled, then sent
        for order_id in cancels:
            ref = self.refs.get(order_id)
            self.withdrawn.add(order_id)
            if ref is not None:
                self.norm = cancel_requested(self.norm, ref)
                if self.cursor.live() and not self.halted:
                    await self.adapter.cancel(ref)
        for position, order in enumerate(orders):
            intent = intent_of(order, order_ref(self.fingerprint, b, position), b)
            self.refs[order.order_id] = intent.order_ref
            self.norm = register(self.norm, intent)
            journalled = not self.cursor.live()
            self.note(intent, b)
            if self.halted or not self.cursor.live():
                continue  # sent before the journal went on
            if journalled and intent.order_ref in await self._venue_refs():
                self.echo(f"adopted {intent.order_ref}: the venue has it")
                continue  # the last line journalled: the venue has it
            await self._until_linked()
            self.echo(f"order   {intent.order_ref} {intent.direction.value} {intent.quantity:g} {intent.symbol} "
                      f"{intent.order_type.value}")
            await self.adapter.submit(intent)
        # 5. the replies
        sent = [self.refs[o.order_id] for o in orders if o.order_id in self.refs]
        replies = await self.inbound(b, sent if self.cursor.live() else ())
        if replies:
            broker = settle(self.world.broker, replies)
            self.world, _ = drain(step, attrs.evolve(self.world, broker=broker), replies)
        if self._check_at == b:
            await self.check_positions(b)

    async def _until_linked(self) -> None:
        """While the venue reports its link lost (IB's 1100) send nothing: wait until it is restored."""
        lost = getattr(self.adapter, "link_lost", None)
        if lost is not None and lost():
            self.echo("waiting: the venue reports its link lost (IB 1100); the order is journalled and sent "
                      "when the link is restored")
            await self.adapter.until_linked()  # type: ignore[attr-defined]
            self.echo("restored: sending")

    async def _venue_refs(self) -> set[str]:
        known = {s.order_ref for s in [*await self.adapter.open_orders(), *await self.adapter.completed_orders()]}
        received = getattr(self.adapter, "received", None)
        if received is not None:
            known |= set(received())
        return known

    def _next_note(self, bar: int) -> object | None:
        c = self.cursor
        if c.n < len(c.notes) and c.notes[c.n].bar == bar and c.notes[c.n].seq == len(self.log):
            return decode_record(_plain(c.notes[c.n].record), _NOTES)
        return None

    async def inbound(self, bar: int, awaited: Sequence[str] = ()) -> list[Event]:
        """The venue's messages at this point of the bar, journalled, and the events they make.

        ``awaited``: the order refs sent on this bar; a venue that answers later (one without
        ``ready()``, such as IB) is waited for until each of them is final, or ``wait`` seconds.
        """
        events: list[Event] = []
        while not self.cursor.live():
            m = self._next_note(bar)
            if isinstance(m, BrokerAnomaly) and m.kind is AnomalyKind.FILLED_MISMATCH:
                self._replay_check(bar, events)  # the check after a reconnect, run again
                continue
            if not isinstance(m, _MESSAGES):
                break
            self._take(m, bar, events)
        if not self.cursor.live():
            return events
        fresh = self._drain()
        if not self._reconciled:  # the journal ends here: what does the venue know that it does not?
            self._reconciled = True
            self._check_at = bar
            for m in await self._history():
                self._take(m, bar, events, replayed=True)
            self._replay_check(bar, events)
        await self._absorb(fresh, bar, events)
        if awaited and self.pump is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.wait
            while not self._done(awaited):
                left = deadline - loop.time()
                if left <= 0:
                    self.echo(f"waited  {self.wait:g}s for the orders of bar {bar}; their fills are booked "
                              f"when they come")
                    break
                self.arrived.clear()
                if not self.queue:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.arrived.wait(), left)
                await self._absorb(self._drain(), bar, events)
        return events

    def _replay_check(self, bar: int, events: list[Event]) -> None:
        self.norm, checked = check(self.norm, self.now)
        self._book(checked, bar, events)

    def _done(self, refs: Sequence[str]) -> bool:
        """Whether every order of ``refs`` is final at the venue with all its fills booked."""
        for ref in refs:
            track = self.norm.orders.get(ref)
            if track is None:
                continue
            if track.final is None or track.filled + 1e-9 < track.venue_filled:
                return False
        return True

    async def _absorb(self, fresh: Sequence[BrokerMessage], bar: int, events: list[Event]) -> None:
        """Take live messages; a dropped connection is reconnected and the venue's executions replayed."""
        for m in fresh:
            self._take(m, bar, events)
            if isinstance(m, Connection) and m.state is ConnectionState.DISCONNECTED and not self.closing:
                await self._reconnect(bar, events)

    async def _reconnect(self, bar: int, events: list[Event]) -> None:
        reconnect = getattr(self.adapter, "reconnect", None)
        if reconnect is None:
            raise LiveError(f"the {self.adapter.name} venue closed the connection and cannot reconnect")
        self.echo("reconnecting: the connection to the venue dropped")
        attempts = await reconnect()
        self.echo(f"reconnected after {attempts} attempt{'s' if attempts != 1 else ''}; replaying executions")
        for m in await self._history():
            self._take(m, bar, events, replayed=True)
        self._replay_check(bar, events)
        self._check_at = bar  # positions are compared once this bar's events are booked

    def _drain(self) -> list[BrokerMessage]:
        if self.pump is None:
            return _ready(self.adapter)
        out, self.queue = self.queue, []
        return out

    async def _pump_messages(self) -> None:
        async for m in self.adapter.messages():
            self.queue.append(m)
            self.arrived.set()

    def _take(self, message: BrokerMessage, bar: int, events: list[Event], *, replayed: bool = False) -> None:
        before = self.norm
        self.norm, made = normalise(self.norm, message)
        if replayed and not made and before is self.norm:
            return  # a replayed message the normaliser knew: nothing to journal
        self.note(message, bar)
        self._book(made, bar, events)

    def _book(self, made: Sequence[Output], bar: int, events: list[Event]) -> None:
        """Journal the normaliser's events; the kernel's go to ``events`` (for the kernel to step)."""
        for e in made:
            if isinstance(e, OrderAccepted):
                self.note(e, bar)
            elif isinstance(e, BrokerAnomaly):
                self.note(e, bar)
                if self.cursor.live():
                    self.echo(f"anomaly {e.kind.value} {e.order_ref}: {e.detail}")
            elif isinstance(e, FillCorrected):
                self.note(e, bar)
                self._correct(e)
            elif isinstance(e, OrderCancelled | OrderRejected) and e.order_id in self.withdrawn:
                continue  # the kernel cancelled it itself when it asked the venue to
            else:
                self.event(e, bar)
                events.append(e)

    def _correct(self, correction: FillCorrected) -> None:
        """Book a corrected fill on the portfolio; the result shows the new fill in the old one's place."""
        at = next((k for k in range(len(self.log) - 1, -1, -1)
                   if self.corrections.get(k, self.log[k]) == correction.replaced), None)
        if at is not None:
            self.corrections[at] = correction.fill
        assert self.ctx is not None
        book = parts_of(self.ctx).book
        self.world = attrs.evolve(self.world, portfolio=correct_fill(book, self.world.portfolio, correction))
        if self.cursor.live():
            self.echo(f"correct {correction.replaced_exec_id} -> {correction.exec_id}: "
                      f"{correction.fill.quantity:g} @ {correction.fill.price!r} "
                      f"commission {correction.fill.commission!r}")

    def finish(self) -> None:
        """The feed ended: book executions still without a commission report, check filled quantities."""
        if self.step is None:
            return
        bar = len(self.tape) - 1
        self.norm, made = flush(self.norm, self.now)
        events: list[Event] = []
        self._book(made, bar, events)
        if events:
            broker = settle(self.world.broker, events)
            self.world, _ = drain(self.step, attrs.evolve(self.world, broker=broker), events)

    _reconciled = False
    _check_at = -1

    async def _history(self) -> list[BrokerMessage]:
        """Everything the venue knows of this session's orders, grouped per order in the order they were sent."""
        executions = await self.adapter.executions()
        statuses = [*await self.adapter.open_orders(), *await self.adapter.completed_orders()]
        grouped: dict[str, list[BrokerMessage]] = {}
        order_of: dict[str, str] = {}
        for m in executions:
            if isinstance(m, ExecutionReport):
                order_of[m.exec_id] = m.order_ref
            grouped.setdefault(order_of.get(getattr(m, "exec_id", ""), ""), []).append(m)
        out: list[BrokerMessage] = []
        for ref in self.norm.orders:
            out.extend(grouped.get(ref, ()))
            out.extend(s for s in statuses if s.order_ref == ref)
        return out

    async def check_positions(self, bar: int) -> None:
        venue = await self.adapter.positions()
        mine = dict(zip(self.symbols, self.world.portfolio.positions, strict=True))
        wrong = [s for s in self.symbols if abs(float(venue.get(s, 0.0)) - mine[s]) > 1e-9]
        if wrong:
            s = wrong[0]
            detail = (f"position mismatch after reconciliation: {s} is {venue.get(s, 0.0):g} at the venue and "
                      f"{mine[s]:g} in the portfolio; no new orders are sent")
            self.note(Halted(bar=bar, detail=detail), bar)
            self.halted = True
            self.echo(f"halted  {detail}")
            self.on_halt(detail)

    # --- the run ----------------------------------------------------------------------------------

    async def run(self) -> Result:
        await self.adapter.connect()
        if getattr(self.adapter, "ready", None) is None:  # a venue that answers later: read it all the time
            self.pump = asyncio.ensure_future(self._pump_messages())
        try:
            self.open()
            if self.torn is not None:
                self.echo(f"journal {self.path}: line {self.torn} was cut short by a crash; dropped")
            if self.cursor.markets:
                done = len(self.cursor.markets)
                self.echo(f"resuming {self.path}: {done} bar(s) journalled, rerun without sending; unfinished orders "
                          f"are looked up at the venue, new bars trade from bar {done}")
            async for record in self.feed.bars():
                if self.stop and self.cursor.live():
                    break
                await self.bar(record)
                if self.halted:
                    break
            else:
                if not self.stop:
                    self.finish()
            if not self.cursor.live():
                raise LiveError(f"{self.path}: the journal holds {len(self.cursor.markets)} bars, the feed "
                                f"ended after {len(self.tape)}: it was written from other data")
            assert self.writer is not None
            self.writer.close()
        finally:
            if self.writer is not None:
                self.writer.abandon()
            self.closing = True
            await self.adapter.close()
            if self.pump is not None:
                self.pump.cancel()
                await asyncio.gather(self.pump, return_exceptions=True)
        return self.result()

    def result(self) -> Result:
        if not len(self.tape):
            raise LiveError("the feed gave no bars")
        data = self.tape.data()
        ctx, initial = start(self.strategies, data, self.config)
        events = tuple(self.corrections.get(k, e) for k, e in enumerate(self.log))
        run = Run(data=data, config=self.config, strategies=self.strategies, events=events,
                  event_bars=np.asarray(self.log_bars, dtype=np.int64), final=self.world, context=ctx,
                  initial=initial)
        return result_of(run)


def result_of(run: Run) -> Result:
    """The :class:`fbt.Result` of a folded run (its curve, accounts and statistics, as :func:`fbt.run` derives them)."""
    fills = fill_table(run)
    curve = derive(run, fills)
    books = accounts(run, fills, curve)
    risk_free = float(getattr(run.config, "risk_free", 0.0))
    stats = run_statistics(run, curve, fills, trades=books.trades, risk_free=risk_free)
    return Result(run=run, curve=curve, fill_columns=fills, accounts=books, statistics=stats)


def void(_: object) -> None:
    """Drop a value (a journal write's sequence number)."""


def _plain(text: str) -> object:
    import json

    return json.loads(text)


def _ready(adapter: BrokerAdapter) -> list[BrokerMessage]:
    ready = getattr(adapter, "ready", None)
    return list(ready()) if ready is not None else []


async def run_live_async(
    strategy: Strategy[Any] | Sequence[Strategy[Any]], feed: Feed, adapter: BrokerAdapter,
    journal: str | os.PathLike[str], config: Config | None = None, *,
    echo: Callable[[str], None] | None = None, stop_on_interrupt: bool = True,
    on_halt: Callable[[str], None] | None = None, wait: float = 10.0,
) -> Result:
    """Run a live session (see the module) and return its :class:`fbt.Result`; the async form of :func:`run_live`."""
    strategies = (strategy,) if isinstance(strategy, Strategy) else tuple(strategy)
    if not strategies:
        raise ConfigError("strategy: expected at least one fbt.Strategy, got none")
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0 or wait == float("inf"):
        raise ConfigError(f"wait: expected a number of seconds >= 0, got {wait!r}")
    if config is not None and config.close_at_end:
        raise ConfigError("close_at_end: a live session does not know its last bar in advance; close the positions "
                          "with an exit signal instead")
    if config is not None and fill_quantity_of(config.sizing, 1.0) is not None:
        raise ConfigError(f"sizing: {config.sizing!r} resolves the quantity at the fill, which a live session "
                          f"cannot do yet (it sends each order's quantity to the broker); size when the order is "
                          f"sent instead, e.g. PercentOfEquity or FixedCash without at_fill")
    session = _Session(strategies, feed, adapter, Path(journal), config or Config(), echo, on_halt)
    session.wait = float(wait)
    loop = asyncio.get_running_loop()
    installed = False
    if stop_on_interrupt:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, lambda: setattr(session, "stop", True))
            installed = True
    try:
        return await session.run()
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


def run_live(
    strategy: Strategy[Any] | Sequence[Strategy[Any]], feed: Feed, adapter: BrokerAdapter,
    journal: str | os.PathLike[str], config: Config | None = None, *,
    echo: Callable[[str], None] | None = None, on_halt: Callable[[str], None] | None = None,
    wait: float = 10.0,
) -> Result:
    """Trade ``strategy`` on ``feed``'s bars through ``adapter``, journalling to ``journal``; return the
    session's :class:`fbt.Result` (the same pandas objects and ``write`` as :func:`fbt.run`).

    The same call with the same journal after a stop or a crash resumes where it ended (see the
    module); Ctrl-C finishes the current bar, closes the journal and returns. ``echo`` is told each
    order, fill and rejection as it happens; ``on_halt`` is told why, if the session stops sending
    orders (a position mismatch after reconciliation); the result is then the session's up to there.
    ``wait`` bounds, in seconds, how long a venue that answers later (IB) is waited for after a
    bar's orders (see the module: when a bar is done).

    >>> import fbt, tempfile, pathlib
    >>> from fbt.live.feed import ReplayFeed
    >>> from fbt.live.sim import SimAdapter
    >>> from fbt.sample.data import sample_dir
    >>> from fbt.sample.strategies import moving_average_crossover
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> feed = ReplayFeed(sample_dir())
    >>> venue = SimAdapter(folder / "venue.jsonl", fbt.Config(), feed.symbols)
    >>> live = run_live(moving_average_crossover(5, 20), feed, venue, folder / "journal.jsonl")
    >>> backtest = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir()))
    >>> live.stats["final_equity"] == backtest.stats["final_equity"], len(live.fills) == len(backtest.fills)
    (True, True)
    """
    return asyncio.run(run_live_async(strategy, feed, adapter, journal, config, echo=echo, on_halt=on_halt,
                                      wait=wait))
