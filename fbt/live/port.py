"""The live execution port: the kernel's step with a venue behind it, still pure.

A live session steps the same kernel as a backtest (:func:`fbt.kernel.step.make_step`) with the
portfolio's own rules (the book's or the simulated broker's, as the configuration describes) and
this port in place of the simulated execution:

- ``submit`` fills nothing: it records the order as working in the broker state (:class:`LiveBroker`)
  and puts it in the ``outbox``, from which the session journals it as an order intent and sends it;
- ``work`` hands out the venue's events that arrived since the last bar (the ``inbox``, filled by
  the session from the normalised broker messages, journalled before), in the place where the
  simulated broker puts the fills of its working orders: after the bar's market event, before the
  strategies' signals are handled;
- ``cancel`` withdraws a symbol's working orders as the simulated broker does (the cancellations
  are facts at once) and puts their ids in ``cancels``, for the session to send.

Fills booked on the bar the order was sent (book mode) are stepped by the session after the bar's
orders, which is where the book's port would have queued them (the fold drains a bar's queue
breadth first: market, signals, orders, then their fills).

:func:`absorb` is the pure reducer from broker messages to fbt events (fills joined to their
commission by ``exec_id``, each execution applied once; a cancelled or inactive order's rest
cancelled or rejected).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from fbt.core.events import (
    CancelReason,
    Event,
    FillEvent,
    MarketEvent,
    OrderCancelled,
    OrderEvent,
    OrderRejected,
    RejectReason,
)
from fbt.core.state import Broker, Portfolio, Working
from fbt.kernel.context import Context
from fbt.kernel.parts import ExecutionPort, Parts, PartsFactory, parts_for
from fbt.live.messages import (
    BrokerMessage,
    CommissionReport,
    ExecutionReport,
    OrderIntent,
    OrderState,
    OrderStatus,
)

__all__ = ["Absorbed", "LiveBroker", "absorb", "intent_of", "live_parts", "settle"]

_TOLERANCE = 1e-9
_ENDED = (OrderState.CANCELLED, OrderState.API_CANCELLED, OrderState.INACTIVE)


@attrs.frozen(kw_only=True)
class LiveBroker(Broker):
    """The kernel's broker state in a live session: the orders working at the venue, the orders to
    send (``outbox``), the venue's events for the next bar (``inbox``), the order ids to cancel."""

    outbox: tuple[OrderEvent, ...] = ()
    inbox: tuple[Event, ...] = ()
    cancels: tuple[int, ...] = ()


def _live(broker: Broker) -> LiveBroker:
    return broker if isinstance(broker, LiveBroker) else LiveBroker(pending=broker.pending)


def settle(broker: Broker, events: Sequence[Event]) -> LiveBroker:
    """Take the venue's fills, rejections and cancellations off the working orders.

    >>> from fbt.core.events import Direction
    >>> o = OrderEvent(timestamp=0, symbol="A", quantity=5, direction=Direction.BUY, order_id=1)
    >>> b = LiveBroker(pending=(Working(order=o, remaining=5.0),))
    >>> f = FillEvent(timestamp=0, symbol="A", quantity=2, direction=Direction.BUY, price=1.0, commission=0.0,
    ...               order_id=1)
    >>> settle(b, [f]).pending[0].remaining, settle(b, [f, attrs.evolve(f, quantity=3)]).pending
    (3.0, ())
    """
    b = _live(broker)
    pending = list(b.pending)
    for e in events:
        order_id = getattr(e, "order_id", 0)
        k = next((k for k, w in enumerate(pending) if w.order.order_id == order_id), None)
        if k is None:
            continue
        w = pending[k]
        if e.__class__ is FillEvent:
            rest = w.remaining - e.quantity
            if rest > _TOLERANCE:
                pending[k] = attrs.evolve(w, remaining=rest, filled=w.filled + e.quantity)
                continue
        del pending[k]
    return LiveBroker(pending=tuple(pending), outbox=b.outbox, inbox=b.inbox, cancels=b.cancels)


def live_parts(base: PartsFactory | None = None) -> PartsFactory:
    """Return the parts factory of a live session: ``base``'s portfolio rules and the live port.

    ``base`` (default: the simulated parts the run's configuration describes) gives the order rule
    and the fill booking, so a live run sizes and books exactly as its backtest does.
    """

    def factory(ctx: Context) -> Parts:
        parts = (base or parts_for(ctx.config))(ctx)

        def submit(broker: Broker, portfolio: Portfolio, order: OrderEvent,
                   market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
            b = _live(broker)
            working = Working(order=order, remaining=order.quantity, active=order.terms.parent_id == 0)
            return LiveBroker(pending=(*b.pending, working), outbox=(*b.outbox, order), inbox=b.inbox,
                              cancels=b.cancels), ()

        def work(broker: Broker, portfolio: Portfolio, market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
            b = _live(broker)
            if not b.inbox:
                return broker, ()
            arrived = b.inbox
            return settle(attrs.evolve(b, inbox=()), arrived), arrived

        def cancel(broker: Broker, symbol: str, timestamp: int) -> tuple[Broker, Sequence[Event]]:
            b = _live(broker)
            mine = [w for w in b.pending if w.order.symbol == symbol]
            if not mine:
                return broker, ()
            cancelled = tuple(OrderCancelled(timestamp=timestamp, symbol=symbol, order_id=w.order.order_id,
                                             direction=w.order.direction, quantity=w.remaining,
                                             reason=CancelReason.REQUESTED) for w in mine)
            kept = tuple(w for w in b.pending if w.order.symbol != symbol)
            ids = tuple(w.order.order_id for w in mine)
            return LiveBroker(pending=kept, outbox=b.outbox, inbox=b.inbox, cancels=(*b.cancels, *ids)), cancelled

        port = ExecutionPort(name="live", submit=submit, work=work, cancel=cancel)
        return Parts(orders=parts.orders, book=parts.book, execution=port)

    return factory


def intent_of(order: OrderEvent, order_ref: str, bar: int) -> OrderIntent:
    """The order intent of a kernel order: what the session journals, then sends as ``order_ref``."""
    terms = order.terms
    return OrderIntent(order_ref=order_ref, bar=bar, order_id=order.order_id, symbol=order.symbol,
                       direction=order.direction, quantity=order.quantity, order_type=order.order_type,
                       limit_price=terms.limit_price, stop_price=terms.stop_price,
                       time_in_force=terms.time_in_force)


@attrs.frozen(kw_only=True)
class Absorbed:
    """The normaliser's state: the session's intents by order_ref, executions and commissions by
    exec_id, the executions applied, the orders ended."""

    intents: dict[str, OrderIntent] = attrs.field(factory=dict)
    executions: dict[str, ExecutionReport] = attrs.field(factory=dict)
    commissions: dict[str, float] = attrs.field(factory=dict)
    applied: frozenset[str] = frozenset()
    filled: dict[str, float] = attrs.field(factory=dict)
    ended: frozenset[str] = frozenset()

    def register(self, intent: OrderIntent) -> Absorbed:
        """Return the state knowing one more intent (its messages become events from now on)."""
        return attrs.evolve(self, intents={**self.intents, intent.order_ref: intent})


def _fill(intent: OrderIntent, report: ExecutionReport, commission: float) -> FillEvent:
    return FillEvent(timestamp=report.time, symbol=report.symbol, exchange=report.exchange or "SIM",
                     quantity=report.quantity, direction=report.direction, price=report.price,
                     commission=commission, order_id=intent.order_id,
                     slippage=float(getattr(report, "slippage", 0.0)))


def _rejection(reason: str) -> tuple[RejectReason, str] | None:
    head, _, detail = reason.partition(": ")
    try:
        return RejectReason(head), detail
    except ValueError:
        return None


def absorb(state: Absorbed, message: BrokerMessage) -> tuple[Absorbed, tuple[Event, ...]]:
    """Turn one broker message into fbt events (pure; repeated messages change nothing).

    - an execution becomes a fill once its commission report is known (either may come first),
      once per ``exec_id``;
    - an order the venue reports cancelled, or inactive (rejected), with quantity remaining, becomes
      an :class:`OrderCancelled` (reason from the venue's text) or :class:`OrderRejected` once;
    - anything about an order this session did not register changes nothing.
    """
    cls = message.__class__
    if isinstance(message, ExecutionReport):
        if message.exec_id in state.executions or message.order_ref not in state.intents:
            return state, ()
        state = attrs.evolve(state, executions={**state.executions, message.exec_id: message})
        return _apply(state, message.exec_id)
    if cls is CommissionReport:
        assert isinstance(message, CommissionReport)
        if message.exec_id in state.commissions:
            return state, ()
        state = attrs.evolve(state, commissions={**state.commissions, message.exec_id: message.commission})
        return _apply(state, message.exec_id)
    if cls is OrderStatus:
        assert isinstance(message, OrderStatus)
        ref = message.order_ref
        intent = state.intents.get(ref)
        if intent is None or ref in state.ended or message.state not in _ENDED:
            return state, ()
        rest = intent.quantity - state.filled.get(ref, 0.0)
        state = attrs.evolve(state, ended=state.ended | {ref})
        if rest <= _TOLERANCE:
            return state, ()
        rejected = _rejection(message.reason) if message.state is OrderState.INACTIVE or message.error_code else None
        if rejected is not None:
            return state, (OrderRejected(timestamp=message.time, symbol=intent.symbol, order_id=intent.order_id,
                                         direction=intent.direction, quantity=rest, reason=rejected[0],
                                         detail=rejected[1]),)
        try:
            why = CancelReason(message.reason)
        except ValueError:
            why = CancelReason.REQUESTED
        return state, (OrderCancelled(timestamp=message.time, symbol=intent.symbol, order_id=intent.order_id,
                                      direction=intent.direction, quantity=rest, reason=why),)
    return state, ()


def _apply(state: Absorbed, exec_id: str) -> tuple[Absorbed, tuple[Event, ...]]:
    report = state.executions.get(exec_id)
    if report is None or exec_id not in state.commissions or exec_id in state.applied:
        return state, ()
    intent = state.intents[report.order_ref]
    ref = report.order_ref
    state = attrs.evolve(state, applied=state.applied | {exec_id},
                         filled={**state.filled, ref: state.filled.get(ref, 0.0) + report.quantity})
    return state, (_fill(intent, report, state.commissions[exec_id]),)
