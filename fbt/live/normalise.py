"""The pure normaliser: a venue's messages become fbt events, each execution applied exactly once.

:func:`normalise` is a reducer ``(state, message) -> (state, events)`` over
:data:`~fbt.live.messages.BrokerMessage` records; nothing in it reads a clock or talks to a venue,
so a session's journalled messages refold to the same events in any process. The session
:func:`register` s each :class:`~fbt.live.messages.OrderIntent` before it sends it; the order's
``order_ref`` joins the venue's messages to it, and the intent gives fills the kernel's
``order_id``, the fbt symbol and the side.

Fills
    come **only** from :class:`~fbt.live.messages.ExecutionReport` records, never from an order
    status. An execution is joined to its :class:`~fbt.live.messages.CommissionReport` by
    ``exec_id`` and its :class:`~fbt.core.events.FillEvent` is emitted once both are known,
    whichever came first; the fill's commission is the venue's, and its ``exchange`` says so: the
    session's venue name (``"IB"``), followed by ``":"`` and the executing exchange where the report
    names one (``"IB:ISLAND"``); a backtest's fills say ``"SIM"``, and so do a paper session's
    whose venue is named ``"SIM"``. Its timestamp is the execution's.
    An execution whose commission never comes stays pending: :func:`flush` (at the end of a
    session) books it with commission 0 and a ``COMMISSION_MISSING`` anomaly, and a report that
    arrives after that (after a restart, say) corrects the fill's commission
    (:class:`~fbt.live.events.FillCorrected`).

Idempotence and corrections
    An ``exec_id`` splits at its last ``.`` into a base and a suffix (IB: ``0000e0d5.6556f0a1.01.01``;
    suffixes compare as hex numbers). Per base, only an execution with a higher suffix than every
    one seen before counts: a repeated execution or commission report changes nothing, and an
    older suffix after a newer one is ignored. A higher suffix is a correction: it replaces the
    earlier execution — before its fill was emitted, silently; after, by a
    :class:`~fbt.live.events.FillCorrected` (undo the old fill, book the new) once the correction's
    commission is known. An execution that would take the order's executed quantity beyond the
    intent's quantity, one on the other side of the order, or one of an order never registered is
    not applied: a :class:`~fbt.live.events.BrokerAnomaly` says so, once. The check runs when the
    execution arrives (not when its commission does), so which execution is refused depends only
    on the venue's order of executions.

Life cycle
    :class:`~fbt.live.messages.OrderStatus` records drive it, once per order: the first
    PreSubmitted, Submitted, PendingCancel or Filled (or the first execution) emits
    :class:`~fbt.live.events.OrderAccepted`; the first final state decides the end — Filled: no
    event; Cancelled or ApiCancelled: :class:`~fbt.core.events.OrderCancelled` of the unfilled rest
    (reason ``expired`` for a DAY order whose cancel the session did not request with
    :func:`cancel_requested`, else ``requested``), unless the venue ended the order with an error
    (the status's ``error_code``, or a :class:`~fbt.live.messages.VenueError` about the order, other
    than a warning or 202), which makes it :class:`~fbt.core.events.OrderRejected` with reason
    ``broker`` and the venue's text as ``detail``; Inactive: rejected likewise. Later statuses only
    raise the venue's filled quantity. A venue that is fbt's own (the sim venue) says its reason in
    the status's ``cause`` (a reject or cancel reason's value), and the event takes it.

The filled-quantity check
    The venue's filled quantity (the largest an order's statuses reported) must equal the sum of
    its executions once the order is final. A Filled status may overtake the last execution report,
    so the check is not run on arrival: :func:`check` runs it when the session knows every
    execution can have arrived — after the venue's replay of executions on (re)connect, and at the
    end of a session — and reports each mismatched final order once (``FILLED_MISMATCH``).

>>> from fbt.core.kinds import Direction
>>> from fbt.live.messages import CommissionReport, ExecutionReport, OrderIntent
>>> state = register(initial("IB"), OrderIntent(order_ref="fbt-0123456789ab-0-0", bar=0, order_id=1,
...                                                symbol="A", direction=Direction.BUY, quantity=100))
>>> state, events = normalise(state, CommissionReport(exec_id="e.01", commission=1.0))
>>> events
()
>>> state, events = normalise(state, ExecutionReport(exec_id="e.01", order_ref="fbt-0123456789ab-0-0",
...     broker_order_id=7, symbol="A", direction=Direction.BUY, quantity=100, price=10.0, time=5))
>>> [(type(e).__name__, getattr(e, "quantity", None)) for e in events]
[('OrderAccepted', None), ('FillEvent', 100.0)]
>>> events[1].exchange, events[1].commission, events[1].order_id
('IB', 1.0, 1)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from fbt.core.errors import ConfigError
from fbt.core.events import FillEvent, OrderCancelled, OrderRejected
from fbt.core.kinds import CancelReason, RejectReason, TimeInForce
from fbt.live.events import AnomalyKind, BrokerAnomaly, FillCorrected, OrderAccepted
from fbt.live.messages import (
    BrokerMessage,
    CommissionReport,
    Connection,
    ExecutionReport,
    OrderIntent,
    OrderState,
    OrderStatus,
    VenueError,
)

__all__ = [
    "Applied",
    "NormaliserState",
    "Output",
    "Track",
    "cancel_requested",
    "check",
    "flush",
    "initial",
    "is_warning",
    "normalise",
    "normalise_all",
    "register",
    "split_exec_id",
]

#: What the normaliser emits.
Output = FillEvent | FillCorrected | OrderAccepted | OrderCancelled | OrderRejected | BrokerAnomaly

#: IB's codes for notices about an order that leave it working (as ``ib_async`` reads them).
WARNING_CODES = frozenset({105, 110, 165, 321, 329, 399, 404, 434, 492, 10167})

#: IB's "Order Canceled - reason:": the confirmation of a requested cancel, not a rejection.
CANCEL_CONFIRMED = 202

_FINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.API_CANCELLED, OrderState.INACTIVE})
_TAKEN = frozenset({OrderState.PRE_SUBMITTED, OrderState.SUBMITTED, OrderState.PENDING_CANCEL, OrderState.FILLED})

SuffixKey = tuple[int, str]


def is_warning(code: int) -> bool:
    """Tell whether a venue error code is a notice that leaves an order working (IB's warnings).

    >>> is_warning(399), is_warning(2104), is_warning(201)
    (True, True, False)
    """
    return code in WARNING_CODES or 2100 <= code < 2200


def split_exec_id(exec_id: str) -> tuple[str, SuffixKey]:
    """Split an execution id into its base and its suffix's sort key (hex value, then text).

    >>> split_exec_id("0000e0d5.6556f0a1.01.0a")
    ('0000e0d5.6556f0a1.01', (10, '0a'))
    >>> split_exec_id("plain")
    ('plain', (-1, ''))
    """
    base, dot, suffix = exec_id.rpartition(".")
    if not dot:
        return exec_id, (-1, "")
    try:
        value = int(suffix, 16) if suffix else -1
    except ValueError:
        value = -1
    return base, (value, suffix)


def _usable(commission: float) -> bool:
    """A commission that is an amount (IB's unset value is the largest double, 1.797...e308)."""
    return math.isfinite(commission) and abs(commission) < 1e300


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@attrs.frozen(kw_only=True)
class Track:
    """One registered order and what the venue has said of it.

    ``executed``: the sum of its accepted executions (the latest version of each, commission known
    or not); ``filled``: the sum of its booked fills; ``venue_filled``: the largest filled quantity
    its statuses reported; ``final``: its first final state (None while working); ``rejection``:
    the venue's latest error text about it (a code that is not a warning or 202).
    """

    intent: OrderIntent
    executed: float = 0.0
    filled: float = 0.0
    venue_filled: float = 0.0
    broker_order_id: int = -1
    accepted: bool = False
    final: OrderState | None = None
    cancel_requested: bool = False
    rejection: str = ""
    mismatch_reported: bool = False


@attrs.frozen(kw_only=True)
class Applied:
    """The booked version of one execution: its id, its fill, and whether its commission is still owed."""

    execution: ExecutionReport
    fill: FillEvent
    commission_pending: bool = False

    @property
    def exec_id(self) -> str:
        """The booked execution's id."""
        return self.execution.exec_id


@attrs.frozen(kw_only=True)
class NormaliserState:
    """Everything the normaliser remembers; mappings are never changed in place, each step builds new ones.

    ``orders``: by ``order_ref``; ``latest``: per execution base, the suffix key of the newest
    execution seen (applied, refused or of an unknown order); ``current``: per base, the accepted
    execution that counts (pending or booked); ``pending``: executions waiting for their commission,
    by ``exec_id``; ``booked``: per base, the booked fill; ``commissions``: the first report of each
    ``exec_id``; ``venue_ids``: the venue's order id to ``order_ref``; ``strangers``: refs of
    statuses of unregistered orders already reported.
    """

    venue: str
    orders: Mapping[str, Track] = attrs.field(factory=dict)
    latest: Mapping[str, SuffixKey] = attrs.field(factory=dict)
    current: Mapping[str, ExecutionReport] = attrs.field(factory=dict)
    pending: Mapping[str, ExecutionReport] = attrs.field(factory=dict)
    booked: Mapping[str, Applied] = attrs.field(factory=dict)
    commissions: Mapping[str, CommissionReport] = attrs.field(factory=dict)
    venue_ids: Mapping[int, str] = attrs.field(factory=dict)
    strangers: frozenset[str] = frozenset()

    def fills(self) -> tuple[FillEvent, ...]:
        """The booked fills, one per execution base, in the order of their execution times, then ids.

        >>> initial("IB").fills()
        ()
        """
        rows = sorted(self.booked.items(), key=lambda kv: (kv[1].fill.timestamp, kv[0]))
        return tuple(a.fill for _, a in rows)


def initial(venue: str) -> NormaliserState:
    """Return the state of a session with nothing registered; ``venue`` names the broker in fills.

    >>> initial("IB").venue
    'IB'
    """
    if not isinstance(venue, str) or not venue:
        raise ConfigError(f"normaliser: venue: expected the broker's name, got {venue!r}")
    return NormaliserState(venue=venue)


def _put(mapping: Mapping[str, Track], key: str, value: Track) -> dict[str, Track]:
    out = dict(mapping)
    out[key] = value
    return out


def register(state: NormaliserState, intent: OrderIntent) -> NormaliserState:
    """Return the state with ``intent`` registered (the session calls it before sending the order).

    Registering the same intent again changes nothing; another intent under the same
    ``order_ref`` is an error.
    """
    known = state.orders.get(intent.order_ref)
    if known is not None:
        if known.intent != intent:
            raise ConfigError(f"normaliser: order {intent.order_ref} registered twice with different orders")
        return state
    if not (math.isfinite(intent.quantity) and intent.quantity > 0):
        raise ConfigError(f"normaliser: order {intent.order_ref}: quantity must be positive, got {intent.quantity!r}")
    return attrs.evolve(state, orders=_put(state.orders, intent.order_ref, Track(intent=intent)))


def cancel_requested(state: NormaliserState, order_ref: str) -> NormaliserState:
    """Return the state noting that the session asked the venue to cancel ``order_ref``.

    It only decides the reason of the order's cancellation (``requested`` rather than ``expired``).
    """
    track = state.orders.get(order_ref)
    if track is None or track.cancel_requested:
        return state
    return attrs.evolve(state, orders=_put(state.orders, order_ref, attrs.evolve(track, cancel_requested=True)))


def normalise(state: NormaliserState, message: BrokerMessage) -> tuple[NormaliserState, tuple[Output, ...]]:
    """Apply one venue message: return the new state and the fbt events it causes (see the module)."""
    if isinstance(message, ExecutionReport):
        return _execution(state, message)
    if isinstance(message, CommissionReport):
        return _commission(state, message)
    if isinstance(message, OrderStatus):
        return _status(state, message)
    if isinstance(message, VenueError):
        return _error(state, message), ()
    if isinstance(message, Connection):
        return state, ()
    raise TypeError(f"normalise: expected a broker message, got {type(message).__name__}")


def _anomaly(kind: AnomalyKind, time: int, ref: str, detail: str, exec_id: str = "",
             track: Track | None = None) -> BrokerAnomaly:
    order_id, symbol = (track.intent.order_id, track.intent.symbol) if track is not None else (0, "")
    return BrokerAnomaly(timestamp=time, kind=kind, order_ref=ref, detail=detail, exec_id=exec_id,
                         order_id=order_id, symbol=symbol)


def _accept(track: Track, time: int, broker_order_id: int, out: list[Output]) -> Track:
    if track.accepted:
        return track
    out.append(OrderAccepted(timestamp=time, order_ref=track.intent.order_ref, order_id=track.intent.order_id,
                             symbol=track.intent.symbol, broker_order_id=broker_order_id))
    return attrs.evolve(track, accepted=True)


def _execution(state: NormaliserState, e: ExecutionReport) -> tuple[NormaliserState, tuple[Output, ...]]:
    base, key = split_exec_id(e.exec_id)
    seen = state.latest.get(base)
    if seen is not None and key <= seen:
        return state, ()  # a repeat, or an older version than one already seen
    latest = dict(state.latest)
    latest[base] = key
    state = attrs.evolve(state, latest=latest)
    track = state.orders.get(e.order_ref)
    if track is None:
        return state, (_anomaly(AnomalyKind.UNKNOWN_ORDER, e.time, e.order_ref,
                                f"execution {e.exec_id} of an order this session did not send", e.exec_id),)
    intent = track.intent
    old = state.current.get(base)
    bad = ""
    if e.direction is not intent.direction:
        bad = f"execution {e.exec_id} is a {e.direction.value}, the order a {intent.direction.value}"
    elif not (math.isfinite(e.quantity) and e.quantity > 0 and math.isfinite(e.price)):
        bad = f"execution {e.exec_id}: quantity {e.quantity!r} at price {e.price!r}"
    elif old is not None and old.order_ref != e.order_ref:
        bad = f"execution {e.exec_id} corrects {old.exec_id} of another order, {old.order_ref}"
    if bad:
        return state, (_anomaly(AnomalyKind.BAD_EXECUTION, e.time, e.order_ref, bad, e.exec_id, track),)
    executed = track.executed - (old.quantity if old is not None else 0.0) + e.quantity
    if executed > intent.quantity and not _same(executed, intent.quantity):
        detail = (f"execution {e.exec_id} of {e.quantity:g} would take the order to {executed:g} "
                  f"of {intent.quantity:g}; not applied")
        return state, (_anomaly(AnomalyKind.OVERFILL, e.time, e.order_ref, detail, e.exec_id, track),)
    out: list[Output] = []
    track = _accept(attrs.evolve(track, executed=executed), e.time, e.broker_order_id, out)
    current = dict(state.current)
    current[base] = e
    pending = dict(state.pending)
    if old is not None:
        pending.pop(old.exec_id, None)
    pending[e.exec_id] = e
    venue_ids = dict(state.venue_ids)
    venue_ids[e.broker_order_id] = e.order_ref
    state = attrs.evolve(state, orders=_put(state.orders, e.order_ref, track), current=current, pending=pending,
                         venue_ids=venue_ids)
    report = state.commissions.get(e.exec_id)
    if report is not None and _usable(report.commission):
        state, more = _book(state, e, report.commission, pending=False)
        out.extend(more)
    return state, tuple(out)


def _fill(state: NormaliserState, e: ExecutionReport, intent: OrderIntent, commission: float) -> FillEvent:
    exchange = f"{state.venue}:{e.exchange}" if e.exchange else state.venue
    return FillEvent(timestamp=e.time, symbol=intent.symbol, exchange=exchange, quantity=float(e.quantity),
                     direction=intent.direction, price=float(e.price), commission=float(commission),
                     order_id=intent.order_id, slippage=float(e.slippage))


def _book(state: NormaliserState, e: ExecutionReport, commission: float,
          pending: bool) -> tuple[NormaliserState, list[Output]]:
    """Book the pending execution ``e`` with ``commission`` (``pending``: the commission is still owed)."""
    track = state.orders[e.order_ref]
    base, _ = split_exec_id(e.exec_id)
    out: list[Output] = []
    if commission < 0:
        out.append(_anomaly(AnomalyKind.BAD_COMMISSION, e.time, e.order_ref,
                            f"commission {commission:g} of {e.exec_id} is negative; booked as 0", e.exec_id, track))
        commission = 0.0
    fill = _fill(state, e, track.intent, commission)
    old = state.booked.get(base)
    booked = dict(state.booked)
    booked[base] = Applied(execution=e, fill=fill, commission_pending=pending)
    waiting = dict(state.pending)
    waiting.pop(e.exec_id, None)
    filled = track.filled - (old.fill.quantity if old is not None else 0.0) + fill.quantity
    track = attrs.evolve(track, filled=filled)
    if old is None:
        out.append(fill)
    else:
        out.append(FillCorrected(timestamp=e.time, order_ref=e.order_ref, exec_id=e.exec_id,
                                 replaced_exec_id=old.exec_id, replaced=old.fill, fill=fill))
    return attrs.evolve(state, orders=_put(state.orders, e.order_ref, track), booked=booked, pending=waiting), out


def _commission(state: NormaliserState, c: CommissionReport) -> tuple[NormaliserState, tuple[Output, ...]]:
    if c.exec_id in state.commissions:
        return state, ()
    commissions = dict(state.commissions)
    commissions[c.exec_id] = c
    state = attrs.evolve(state, commissions=commissions)
    if not _usable(c.commission):
        e = state.pending.get(c.exec_id)
        ref = e.order_ref if e is not None else ""
        return state, (_anomaly(AnomalyKind.BAD_COMMISSION, e.time if e is not None else 0, ref,
                                f"commission {c.commission!r} of {c.exec_id} is no amount; ignored", c.exec_id,
                                state.orders.get(ref)),)
    e = state.pending.get(c.exec_id)
    if e is not None:
        state, out = _book(state, e, c.commission, pending=False)
        return state, tuple(out)
    base, _ = split_exec_id(c.exec_id)
    applied = state.booked.get(base)
    if applied is not None and applied.exec_id == c.exec_id and applied.commission_pending:
        state, out = _book(state, applied.execution, c.commission, pending=False)
        return state, tuple(out)
    return state, ()


def _status(state: NormaliserState, s: OrderStatus) -> tuple[NormaliserState, tuple[Output, ...]]:
    track = state.orders.get(s.order_ref)
    if track is None:
        if s.order_ref in state.strangers:
            return state, ()
        return attrs.evolve(state, strangers=state.strangers | {s.order_ref}), (
            _anomaly(AnomalyKind.UNKNOWN_ORDER, s.time, s.order_ref,
                     f"status {s.state.value} of an order this session did not send"),)
    out: list[Output] = []
    venue_ids = state.venue_ids
    if venue_ids.get(s.broker_order_id) != s.order_ref:
        venue_ids = {**venue_ids, s.broker_order_id: s.order_ref}
    filled = max(track.venue_filled, s.filled) if math.isfinite(s.filled) else track.venue_filled
    new = attrs.evolve(track, venue_filled=filled, broker_order_id=s.broker_order_id)
    if track.final is None:
        if s.state in _TAKEN:
            new = _accept(new, s.time, s.broker_order_id, out)
        if s.state in _FINAL:
            new = attrs.evolve(new, final=s.state)
            out.extend(_end(new, s))
    if new == track and venue_ids is state.venue_ids:
        return state, tuple(out)
    return attrs.evolve(state, orders=_put(state.orders, s.order_ref, new), venue_ids=venue_ids), tuple(out)


def _end(track: Track, s: OrderStatus) -> list[Output]:
    intent = track.intent
    rest = intent.quantity - track.venue_filled
    if s.state is OrderState.FILLED or rest <= 0 or _same(rest, 0.0) or _same(track.venue_filled, intent.quantity):
        return []
    own = _own_cause(track, s, rest)
    if own is not None:
        return [own]
    error = s.error_code != 0 and not is_warning(s.error_code) and s.error_code != CANCEL_CONFIRMED
    text = f"{s.error_code}: {s.reason}" if error else track.rejection
    if s.state is OrderState.INACTIVE or text:
        detail = text or s.reason or f"the venue says {s.state.value}"
        return [OrderRejected(timestamp=s.time, symbol=intent.symbol, order_id=intent.order_id,
                              direction=intent.direction, quantity=rest, reason=RejectReason.BROKER, detail=detail)]
    expired = intent.time_in_force is TimeInForce.DAY and not track.cancel_requested
    return [OrderCancelled(timestamp=s.time, symbol=intent.symbol, order_id=intent.order_id,
                           direction=intent.direction, quantity=rest,
                           reason=CancelReason.EXPIRED if expired else CancelReason.REQUESTED)]


def _own_cause(track: Track, s: OrderStatus, rest: float) -> Output | None:
    """The end an fbt venue gave the order in its own terms (``OrderStatus.cause``), if it gave one."""
    if not s.cause:
        return None
    intent = track.intent
    if s.state is OrderState.INACTIVE:
        try:
            rejected = RejectReason(s.cause)
        except ValueError:
            return None
        return OrderRejected(timestamp=s.time, symbol=intent.symbol, order_id=intent.order_id,
                             direction=intent.direction, quantity=rest, reason=rejected, detail=s.reason)
    try:
        cancelled = CancelReason(s.cause)
    except ValueError:
        return None
    return OrderCancelled(timestamp=s.time, symbol=intent.symbol, order_id=intent.order_id,
                          direction=intent.direction, quantity=rest, reason=cancelled)


def _error(state: NormaliserState, v: VenueError) -> NormaliserState:
    if is_warning(v.code) or v.code == CANCEL_CONFIRMED:
        return state
    ref = v.order_ref or state.venue_ids.get(v.broker_order_id, "")
    track = state.orders.get(ref)
    if track is None or track.final is not None:
        return state
    return attrs.evolve(state, orders=_put(state.orders, ref, attrs.evolve(track, rejection=f"{v.code}: {v.message}")))


def check(state: NormaliserState, time: int) -> tuple[NormaliserState, tuple[Output, ...]]:
    """Compare each final order's venue filled quantity with its executions; report a mismatch once.

    Call it when every execution can have arrived: after the venue's replay of executions on
    (re)connect, and at the end of a session. ``time`` stamps the anomalies (the session's latest
    message or bar time; never a clock).
    """
    out: list[Output] = []
    orders = dict(state.orders)
    for ref, track in state.orders.items():
        if track.final is None or track.mismatch_reported or _same(track.executed, track.venue_filled):
            continue
        detail = (f"the venue says {track.venue_filled:g} of {track.intent.quantity:g} filled, its executions "
                  f"add up to {track.executed:g} ({track.final.value})")
        out.append(_anomaly(AnomalyKind.FILLED_MISMATCH, time, ref, detail, track=track))
        orders[ref] = attrs.evolve(track, mismatch_reported=True)
    if not out:
        return state, ()
    return attrs.evolve(state, orders=orders), tuple(out)


def flush(state: NormaliserState, time: int) -> tuple[NormaliserState, tuple[Output, ...]]:
    """End a session: book executions still waiting for a commission (commission 0), then :func:`check`.

    Each such fill comes with a ``COMMISSION_MISSING`` anomaly; a report that arrives later corrects
    the fill's commission. ``time`` stamps the anomalies.
    """
    out: list[Output] = []
    for exec_id in sorted(state.pending, key=lambda k: (state.pending[k].time, k)):
        e = state.pending[exec_id]
        track = state.orders[e.order_ref]
        out.append(_anomaly(AnomalyKind.COMMISSION_MISSING, time, e.order_ref,
                            f"no commission report for {exec_id}; booked with commission 0", exec_id, track))
        state, more = _book(state, e, 0.0, pending=True)
        out.extend(more)
    state, checked = check(state, time)
    return state, (*out, *checked)


def normalise_all(state: NormaliserState,
                  messages: Sequence[BrokerMessage]) -> tuple[NormaliserState, tuple[Output, ...]]:
    """Fold :func:`normalise` over ``messages``: the final state and every event, in order."""
    out: list[Output] = []
    for message in messages:
        state, events = normalise(state, message)
        out.extend(events)
    return state, tuple(out)
