"""The parts a run's step is assembled from, and the execution port.

The kernel steps a world by one event through parts it is given (:func:`fbt.kernel.step.make_step`):
the strategies (from the run), the portfolio's two rules, and an **execution port** that turns
orders into fills:

- ``orders(portfolio, broker, signal, market, in_flight) -> (portfolio, events)``: the portfolio's
  order rule; ``in_flight`` are the orders the bar's earlier signals sent that the port has not
  taken yet (always empty for a rule whose parts set ``sees_in_flight=False``, as the book's);
- ``book(portfolio, fill) -> portfolio``: the portfolio's fill booking;
- ``execution``: an :class:`ExecutionPort` — ``submit`` takes a new order, ``work`` runs on each
  bar while the broker holds working orders (before the strategies see the bar), ``cancel``
  withdraws a symbol's working orders;
- ``fused``: optionally, a fast path for one bar's signals on a quiet broker, equal to draining the
  step over them (:func:`fbt.kernel.fast.book_chain`).

Three implementations of the port exist: the **book's** (:func:`book_parts`: fill in full at once
at the bar's ``adj_close``, as the textbook's simulated execution handler does — "book mode" in
fbt always means that textbook's engine, reproduced figure for figure), the **simulated broker**
(:func:`simulated_parts`: slippage, risk checks, sizing, working orders filled on later bars), and a
live broker (``fbt.live``), which submits to a real venue and takes its fills from the venue's
reports. The caller chooses one: a *parts factory* ``(context) -> Parts`` handed to
:func:`fbt.kernel.loop.fold` (or put in the run's :class:`~fbt.kernel.context.Context`);
:func:`parts_for` picks the simulated one a configuration describes.

>>> import fbt
>>> parts_for(fbt.Config()) is book_parts, parts_for(fbt.Config(execution="next-open")) is simulated_parts
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from fbt.core.events import Event, FillEvent, MarketEvent, OrderEvent, SignalEvent
from fbt.core.state import Broker, Portfolio, World
from fbt.kernel.broker import accept_order, cancel_orders, execute_order, execute_order_checked, fill_working
from fbt.kernel.config import Config
from fbt.kernel.context import Context
from fbt.kernel.fast import BookChain, book_chain
from fbt.kernel.portfolio import apply_fill, book_order_error, fill_applier, naive_orders, plan_orders
from fbt.kernel.step import drain, make_step
from fbt.models.fill import Execution

__all__ = ["ExecutionPort", "Parts", "PartsFactory", "book_parts", "parts_for", "parts_of", "simulated_parts"]

#: ``submit(broker, portfolio, order, market) -> (broker, events)``
Submit = Callable[[Broker, Portfolio, OrderEvent, MarketEvent], tuple[Broker, Sequence[Event]]]
#: ``work(broker, portfolio, market) -> (broker, events)``
Work = Callable[[Broker, Portfolio, MarketEvent], tuple[Broker, Sequence[Event]]]
#: ``cancel(broker, symbol, timestamp) -> (broker, cancellations)``
Cancel = Callable[[Broker, str, int], tuple[Broker, Sequence[Event]]]
#: ``orders(portfolio, broker, signal, market, in_flight) -> (portfolio, orders or rejections)``
OrderRule = Callable[[Portfolio, Broker, SignalEvent, MarketEvent, Sequence[OrderEvent]],
                     tuple[Portfolio, Sequence[Event]]]
#: ``book(portfolio, fill) -> portfolio``
FillRule = Callable[[Portfolio, FillEvent], Portfolio]


@attrs.frozen(kw_only=True)
class ExecutionPort:
    """Where orders go and fills come from: the part that differs between backtest, paper and live.

    Every function is pure: it returns the broker's new state and the events it caused (fills,
    rejections, cancellations), which the kernel queues in order. A port that talks to a real
    venue keeps what it has sent in the broker state and leaves the sending to the shell.
    """

    name: str
    submit: Submit
    work: Work
    cancel: Cancel


@attrs.frozen(kw_only=True)
class Parts:
    """The portfolio's rules and the execution port one run's step is made of (see the module).

    ``sees_in_flight``: the step keeps the bar's orders in flight for the order rule, and EXIT and
    CANCEL withdraw them too (the simulated and live parts); the book's rule sizes from the
    position alone, as the textbook's portfolio does, so its parts turn it off.
    """

    orders: OrderRule
    book: FillRule
    execution: ExecutionPort
    fused: BookChain | None = None
    sees_in_flight: bool = True


#: ``(context) -> Parts``: how a caller chooses a run's parts.
PartsFactory = Callable[[Context], Parts]


def _nothing(broker: Broker, portfolio: Portfolio, market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
    return broker, ()


def _cancel(broker: Broker, symbol: str, timestamp: int) -> tuple[Broker, Sequence[Event]]:
    return cancel_orders(broker, symbol=symbol, timestamp=timestamp)


def _plain(ctx: Context) -> Parts:
    """The book's parts without the fused chain (its fallback, and what replay steps through)."""

    def orders(portfolio: Portfolio, broker: Broker, signal: SignalEvent, market: MarketEvent,
               in_flight: Sequence[OrderEvent]) -> tuple[Portfolio, Sequence[Event]]:
        if signal.order is not None:
            raise book_order_error(signal)
        return naive_orders(portfolio, signal, ctx)

    def submit(broker: Broker, portfolio: Portfolio, order: OrderEvent,
               market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
        return execute_order(broker, order, market, ctx)

    def book(portfolio: Portfolio, fill: FillEvent) -> Portfolio:
        return apply_fill(portfolio, fill, ctx)

    port = ExecutionPort(name="book", submit=submit, work=_nothing, cancel=_cancel)
    return Parts(orders=orders, book=book, execution=port, sees_in_flight=False)


def book_parts(ctx: Context) -> Parts:
    """The textbook's engine: naive orders of ``config.quantity``, filled in full at once at ``adj_close``."""
    plain = _plain(ctx)
    step = make_step(ctx, plain)

    def fallback(portfolio: Portfolio, bar: int, signals: Sequence[SignalEvent]) -> tuple[Portfolio, list[Event]]:
        world = World(market=MarketEvent(bar, ctx.data), strategies=(), portfolio=portfolio)
        world, handled = drain(step, world, signals)
        return world.portfolio, handled

    return attrs.evolve(plain, fused=book_chain(ctx, fallback))


def simulated_parts(ctx: Context) -> Parts:
    """The simulated broker: sizing, risk checks, slippage, multipliers; working orders in realistic modes."""
    booking = fill_applier(ctx)  # with contract multipliers: cash moves by price * quantity * multiplier

    def orders(portfolio: Portfolio, broker: Broker, signal: SignalEvent, market: MarketEvent,
               in_flight: Sequence[OrderEvent]) -> tuple[Portfolio, Sequence[Event]]:
        return plan_orders(portfolio, broker, signal, market, ctx, in_flight)

    def book(portfolio: Portfolio, fill: FillEvent) -> Portfolio:
        return booking(portfolio, fill, ctx)

    def work(broker: Broker, portfolio: Portfolio, market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
        return fill_working(broker, portfolio, market, ctx)

    if ctx.config.execution is Execution.BOOK:  # at once, slipped and checked
        def submit(broker: Broker, portfolio: Portfolio, order: OrderEvent,
                   market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
            return broker, execute_order_checked(portfolio, order, market, ctx)
        name = "simulated (at once)"
    else:
        def submit(broker: Broker, portfolio: Portfolio, order: OrderEvent,
                   market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
            return accept_order(broker, order), ()
        name = f"simulated ({ctx.config.execution.value})"
    port = ExecutionPort(name=name, submit=submit, work=work, cancel=_cancel)
    return Parts(orders=orders, book=book, execution=port)


def parts_for(config: Config) -> PartsFactory:
    """The simulated parts a configuration describes: the book's when it is exactly the book's engine."""
    return book_parts if config.is_book else simulated_parts


def parts_of(ctx: Context) -> Parts:
    """The parts of a run: its context's factory, else the simulated parts its configuration describes."""
    return (ctx.parts or parts_for(ctx.config))(ctx)
