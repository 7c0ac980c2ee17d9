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

The venue's messages become these events through the pure normaliser (:mod:`fbt.live.normalise`);
a :class:`~fbt.live.events.FillCorrected` is booked by :func:`correct_fill` (undo the replaced
fill, book the new one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from fbt.core.events import CancelReason, Direction, Event, FillEvent, MarketEvent, OrderCancelled, OrderEvent
from fbt.core.state import Broker, Portfolio, Working
from fbt.kernel.context import Context
from fbt.kernel.parts import ExecutionPort, Parts, PartsFactory, parts_for
from fbt.live.events import FillCorrected
from fbt.live.messages import OrderIntent

__all__ = ["LiveBroker", "correct_fill", "intent_of", "live_parts", "settle", "undo_fill"]

_TOLERANCE = 1e-9


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
        return Parts(orders=parts.orders, book=parts.book, execution=port, sees_in_flight=parts.sees_in_flight)

    return factory


def intent_of(order: OrderEvent, order_ref: str, bar: int) -> OrderIntent:
    """The order intent of a kernel order: what the session journals, then sends as ``order_ref``."""
    terms = order.terms
    return OrderIntent(order_ref=order_ref, bar=bar, order_id=order.order_id, symbol=order.symbol,
                       direction=order.direction, quantity=order.quantity, order_type=order.order_type,
                       limit_price=terms.limit_price, stop_price=terms.stop_price,
                       time_in_force=terms.time_in_force)


def undo_fill(book: Callable[[Portfolio, FillEvent], Portfolio], portfolio: Portfolio,
              fill: FillEvent) -> Portfolio:
    """Undo a booked fill: its position back, its cost and commission back into cash (pure).

    ``book`` is the portfolio's own fill booking (with contract multipliers where the run has
    them): the fill's move is booked again on the other side without commission, then the
    commission is given back. The result equals the portfolio before the fill up to the rounding
    of the additions.

    >>> import types
    >>> from fbt.core.events import Direction
    >>> from fbt.kernel.portfolio import apply_fill
    >>> ctx = types.SimpleNamespace(symbol_index={"A": 0})
    >>> book = lambda p, f: apply_fill(p, f, ctx)
    >>> f = FillEvent(timestamp=0, symbol="A", quantity=2, direction=Direction.BUY, price=10.0, commission=1.0)
    >>> undo_fill(book, book(Portfolio.initial(capital=1000.0, n_symbols=1), f), f)
    Portfolio(cash=1000.0, commission=0.0, positions=(0.0,), orders_sent=0)
    """
    other = Direction.SELL if fill.direction is Direction.BUY else Direction.BUY
    back = book(portfolio, attrs.evolve(fill, direction=other, commission=0.0))
    return attrs.evolve(back, cash=back.cash + fill.commission, commission=back.commission - fill.commission)


def correct_fill(book: Callable[[Portfolio, FillEvent], Portfolio], portfolio: Portfolio,
                 correction: FillCorrected) -> Portfolio:
    """Book a venue's correction: undo the replaced fill (:func:`undo_fill`), book the new one."""
    return book(undo_fill(book, portfolio, correction.replaced), correction.fill)
