"""The step: one event in, the new world and the events it caused out, through the run's parts.

``step(world, event)`` dispatches on the event's type (a table, not an ``isinstance`` ladder) to
the parts it was made of (:mod:`fbt.kernel.parts`):

- MARKET: while the broker holds working orders, the execution port works them on the new bar
  first (their fills, rejections and cancellations are queued first); then each strategy in turn
  (its signals queued in strategy order); the portfolio's own market handling (recording equity)
  is derived after the run, so it changes nothing here;
- SIGNAL: EXIT and CANCEL first withdraw the symbol's working orders through the port, and the
  orders the bar's earlier signals sent for it that are still in flight (queued, not yet at the
  port); then the portfolio's order rule turns the signal into orders, seeing the orders in
  flight (:attr:`fbt.core.state.World.in_flight`), so a bar's later signals are sized with its
  earlier ones' orders in view (unless the parts say their rule does not look, as the book's);
- ORDER: the execution port takes it (the book's fills it at once; the simulated broker's holds it
  for the next bar; a live one sends it); an order withdrawn while in flight is cancelled instead
  (an ``OrderCancelled``, reason ``requested``);
- FILL: the portfolio books it;
- REJECTED, CANCELLED: facts for the log; they change nothing.

:func:`drain` handles a queue of events and everything they cause, first in first out: the plain
path every fast path of :mod:`fbt.kernel.fast` is held equal to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fbt.core.errors import StrategyError
from fbt.core.events import (
    CancelReason,
    Event,
    FillEvent,
    MarketEvent,
    OrderCancelled,
    OrderEvent,
    OrderRejected,
    SignalEvent,
    SignalType,
)
from fbt.core.state import World
from fbt.kernel.context import Context

if TYPE_CHECKING:
    from fbt.kernel.parts import Parts

__all__ = ["Context", "Step", "bad_result", "call_strategy", "check_signals", "drain", "make_step", "raised"]

_WITHDRAW = (SignalType.EXIT, SignalType.CANCEL)

Step = Callable[[World, Event], tuple[World, tuple[Event, ...]]]


def check_signals(ctx: Context, k: int, signals: object, market: MarketEvent) -> Sequence[SignalEvent]:
    """Return ``signals`` if it is a tuple or list of SignalEvent, else raise a StrategyError."""
    if signals.__class__ is not tuple and signals.__class__ is not list:
        raise StrategyError(
            f"strategy {ctx.strategy_names[k]!r} returned {type(signals).__name__} as its signals at bar "
            f"{market.index} ({market.label()}); expected a tuple or list of SignalEvent"
        )
    for s in signals:  # type: ignore[attr-defined,unused-ignore]
        if s.__class__ is not SignalEvent:
            raise StrategyError(
                f"strategy {ctx.strategy_names[k]!r} returned a {type(s).__name__} among its signals at bar "
                f"{market.index} ({market.label()}); expected SignalEvent"
            )
        if s.symbol not in ctx.symbol_index:
            raise StrategyError(
                f"strategy {ctx.strategy_names[k]!r} sent a signal for unknown symbol {s.symbol!r} at bar "
                f"{market.index} ({market.label()}); the data has {', '.join(ctx.data.symbols)}"
            )
    return signals  # type: ignore[return-value,unused-ignore]


def raised(ctx: Context, k: int, market: MarketEvent, exc: Exception) -> StrategyError:
    """The error for strategy ``k`` raising ``exc`` on a bar (raise it ``from exc``)."""
    return StrategyError(
        f"strategy {ctx.strategy_names[k]!r} raised at bar {market.index} ({market.label()}): "
        f"{type(exc).__name__}: {exc}"
    )


def bad_result(ctx: Context, k: int, market: MarketEvent, result: object) -> StrategyError:
    """The error for strategy ``k`` returning something other than a ``(state, signals)`` pair."""
    return StrategyError(
        f"strategy {ctx.strategy_names[k]!r} returned {type(result).__name__} at bar {market.index}; "
        f"expected a (state, signals) pair"
    )


def call_strategy(ctx: Context, k: int, state: Any, market: MarketEvent) -> tuple[Any, Sequence[SignalEvent]]:
    """Call strategy ``k`` on a bar (once), turning its failures into one clear StrategyError."""
    try:
        result = ctx.steps[k](state, market)
    except Exception as exc:
        raise raised(ctx, k, market, exc) from exc
    if result.__class__ is not tuple or len(result) != 2:
        raise bad_result(ctx, k, market, result)
    state, signals = result
    if signals:
        return state, check_signals(ctx, k, signals, market)
    if signals.__class__ is not tuple and signals.__class__ is not list:
        check_signals(ctx, k, signals, market)
    return state, signals


def make_step(ctx: Context, parts: Parts | None = None) -> Step:
    """Return the run's ``step(world, event) -> (world, events)``, made of ``parts``.

    Without ``parts`` the run's own are used: the context's parts factory, else the simulated
    parts its configuration describes (:func:`fbt.kernel.parts.parts_for`).
    """
    if parts is None:
        from fbt.kernel.parts import parts_of  # the parts import this module's drain for their fallback

        parts = parts_of(ctx)
    orders, book, port = parts.orders, parts.book, parts.execution
    tracking = parts.sees_in_flight
    submit, work, cancel = port.submit, port.work, port.cancel
    n_strategies = range(len(ctx.steps))

    def on_market(world: World, event: MarketEvent) -> tuple[World, tuple[Event, ...]]:
        broker = world.broker
        emitted: list[Event] = []
        if broker.pending:  # the broker works first: the strategies see the bar after its fills
            broker, caused = work(broker, world.portfolio, event)
            emitted.extend(caused)
        states = list(world.strategies)
        for k in n_strategies:
            states[k], signals = call_strategy(ctx, k, states[k], event)
            emitted.extend(signals)
        return World(market=event, strategies=tuple(states), portfolio=world.portfolio, broker=broker,
                     in_flight=world.in_flight, withdrawn=world.withdrawn), tuple(emitted)

    def on_signal(world: World, event: SignalEvent) -> tuple[World, tuple[Event, ...]]:
        assert world.market is not None, "a signal before the first bar"
        broker = world.broker
        in_flight, withdrawn = world.in_flight, world.withdrawn
        cancelled: Sequence[Event] = ()
        if event.signal_type in _WITHDRAW:
            if broker.pending:
                broker, cancelled = cancel(broker, event.symbol, event.timestamp)
            if in_flight:  # the bar's earlier orders for the symbol are withdrawn before they reach the port
                mine = tuple(o.order_id for o in in_flight if o.symbol == event.symbol)
                if mine:
                    in_flight = tuple(o for o in in_flight if o.symbol != event.symbol)
                    withdrawn = (*withdrawn, *mine)
        portfolio, caused = orders(world.portfolio, broker, event, world.market, in_flight)
        if tracking:
            sent = tuple(e for e in caused if e.__class__ is OrderEvent)
            if sent:
                in_flight = (*in_flight, *sent)
        if (portfolio is world.portfolio and broker is world.broker and in_flight is world.in_flight
                and withdrawn is world.withdrawn):
            return world, tuple(caused)
        return World(market=world.market, strategies=world.strategies, portfolio=portfolio, broker=broker,
                     in_flight=in_flight, withdrawn=withdrawn), (*cancelled, *caused)

    def on_order(world: World, event: OrderEvent) -> tuple[World, tuple[Event, ...]]:
        assert world.market is not None, "an order before the first bar"
        in_flight, withdrawn = world.in_flight, world.withdrawn
        if withdrawn and event.order_id in withdrawn:  # an EXIT or CANCEL on its bar withdrew it
            left = tuple(i for i in withdrawn if i != event.order_id)
            gone = OrderCancelled(timestamp=event.timestamp, symbol=event.symbol, order_id=event.order_id,
                                  direction=event.direction, quantity=event.quantity, reason=CancelReason.REQUESTED)
            return World(market=world.market, strategies=world.strategies, portfolio=world.portfolio,
                         broker=world.broker, in_flight=in_flight, withdrawn=left), (gone,)
        if in_flight:
            in_flight = in_flight[1:] if in_flight[0] is event else tuple(o for o in in_flight if o is not event)
        broker, caused = submit(world.broker, world.portfolio, event, world.market)
        if broker is world.broker and in_flight is world.in_flight:
            return world, tuple(caused)
        return World(market=world.market, strategies=world.strategies, portfolio=world.portfolio,
                     broker=broker, in_flight=in_flight, withdrawn=withdrawn), tuple(caused)

    def on_fill(world: World, event: FillEvent) -> tuple[World, tuple[Event, ...]]:
        portfolio = book(world.portfolio, event)
        return World(market=world.market, strategies=world.strategies, portfolio=portfolio, broker=world.broker,
                     in_flight=world.in_flight, withdrawn=world.withdrawn), ()

    return _dispatch(on_market, on_signal, on_order, on_fill)


def _on_fact(world: World, event: Event) -> tuple[World, tuple[Event, ...]]:
    return world, ()


Handler = Callable[[World, Any], tuple[World, tuple[Event, ...]]]


def _dispatch(on_market: Handler, on_signal: Handler, on_order: Handler, on_fill: Handler) -> Step:
    """Return the step that sends each event to its type's handler; rejections and cancellations are facts."""
    table: dict[type, Handler] = {
        MarketEvent: on_market,
        SignalEvent: on_signal,
        OrderEvent: on_order,
        FillEvent: on_fill,
        OrderRejected: _on_fact,
        OrderCancelled: _on_fact,
    }

    def step(world: World, event: Event) -> tuple[World, tuple[Event, ...]]:
        return table[event.__class__](world, event)

    return step


def drain(step: Step, world: World, queue: Sequence[Event]) -> tuple[World, list[Event]]:
    """Handle ``queue`` and everything it causes, first in first out; return the handled events."""
    todo = deque(queue)
    handled: list[Event] = []
    while todo:
        event = todo.popleft()
        world, caused = step(world, event)
        handled.append(event)
        todo.extend(caused)
    return world, handled
