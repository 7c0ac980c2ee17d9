"""The step: one event in, the new world and the events it caused out.

``step(world, event)`` dispatches on the event's type (a table, not an ``isinstance`` ladder):

- MARKET: outside book mode, first the broker works its pending orders on the new bar (their
  fills, rejections and cancellations are queued first); then each strategy in turn (its signals
  queued in strategy order); the portfolio's own market handling (recording equity) is derived
  after the run, so it changes nothing here;
- SIGNAL: the portfolio turns it into orders (EXIT and CANCEL first withdraw the symbol's
  working orders);
- ORDER: the broker fills it at once (book mode) or holds it for the next bar;
- FILL: the portfolio books it;
- REJECTED, CANCELLED: facts for the log; they change nothing.

With the book's configuration (``Config.is_book``) the handlers are exactly the seed's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fbt.core.errors import StrategyError
from fbt.core.events import (
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
from fbt.kernel.broker import accept_order, cancel_orders, execute_order, execute_order_checked, fill_working
from fbt.kernel.context import Context
from fbt.kernel.portfolio import apply_fill, book_order_error, fill_applier, naive_orders, plan_orders
from fbt.models.fill import Execution

__all__ = ["Context", "Step", "call_strategy", "check_signals", "make_step"]

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


def call_strategy(ctx: Context, k: int, state: Any, market: MarketEvent) -> tuple[Any, Sequence[SignalEvent]]:
    """Call strategy ``k`` on a bar, turning its failures into one clear StrategyError."""
    try:
        result = ctx.steps[k](state, market)
    except Exception as exc:
        raise StrategyError(
            f"strategy {ctx.strategy_names[k]!r} raised at bar {market.index} ({market.label()}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if result.__class__ is not tuple or len(result) != 2:
        raise StrategyError(
            f"strategy {ctx.strategy_names[k]!r} returned {type(result).__name__} at bar {market.index}; "
            f"expected a (state, signals) pair"
        )
    state, signals = result
    if signals:
        return state, check_signals(ctx, k, signals, market)
    if signals.__class__ is not tuple and signals.__class__ is not list:
        check_signals(ctx, k, signals, market)
    return state, signals


def make_step(ctx: Context) -> Step:
    """Return the run's ``step(world, event) -> (world, events)``."""
    if not ctx.config.is_book:
        return _make_general_step(ctx)

    def on_market(world: World, event: MarketEvent) -> tuple[World, tuple[Event, ...]]:
        states = list(world.strategies)
        emitted: list[Event] = []
        for k in range(len(states)):
            states[k], signals = call_strategy(ctx, k, states[k], event)
            emitted.extend(signals)
        return World(market=event, strategies=tuple(states), portfolio=world.portfolio, broker=world.broker), tuple(
            emitted
        )

    def on_signal(world: World, event: SignalEvent) -> tuple[World, tuple[Event, ...]]:
        if event.order is not None:
            raise book_order_error(event)
        portfolio, orders = naive_orders(world.portfolio, event, ctx)
        if portfolio is world.portfolio:
            return world, orders
        return World(market=world.market, strategies=world.strategies, portfolio=portfolio, broker=world.broker), orders

    def on_order(world: World, event: OrderEvent) -> tuple[World, tuple[Event, ...]]:
        assert world.market is not None, "an order before the first bar"
        broker, fills = execute_order(world.broker, event, world.market, ctx)
        if broker is world.broker:
            return world, fills
        return World(market=world.market, strategies=world.strategies, portfolio=world.portfolio, broker=broker), fills

    def on_fill(world: World, event: FillEvent) -> tuple[World, tuple[Event, ...]]:
        portfolio = apply_fill(world.portfolio, event, ctx)
        return World(market=world.market, strategies=world.strategies, portfolio=portfolio, broker=world.broker), ()

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


def _make_general_step(ctx: Context) -> Step:
    """The step for every configuration but the book's: sizing, risk, slippage, working orders."""
    realistic = ctx.config.execution is not Execution.BOOK
    book_fill = fill_applier(ctx)  # with contract multipliers: cash moves by price * quantity * multiplier

    def on_market(world: World, event: MarketEvent) -> tuple[World, tuple[Event, ...]]:
        broker = world.broker
        emitted: list[Event] = []
        if broker.pending:  # the broker fills first: the strategies see the bar after its fills
            broker, caused = fill_working(broker, world.portfolio, event, ctx)
            emitted.extend(caused)
        states = list(world.strategies)
        for k in range(len(states)):
            states[k], signals = call_strategy(ctx, k, states[k], event)
            emitted.extend(signals)
        return World(market=event, strategies=tuple(states), portfolio=world.portfolio, broker=broker), tuple(
            emitted
        )

    def on_signal(world: World, event: SignalEvent) -> tuple[World, tuple[Event, ...]]:
        assert world.market is not None, "a signal before the first bar"
        broker = world.broker
        cancelled: tuple[Event, ...] = ()
        if broker.pending and event.signal_type in (SignalType.EXIT, SignalType.CANCEL):
            broker, cancelled = cancel_orders(broker, symbol=event.symbol, timestamp=event.timestamp)
        portfolio, orders = plan_orders(world.portfolio, broker, event, world.market, ctx)
        if portfolio is world.portfolio and broker is world.broker:
            return world, orders
        return World(market=world.market, strategies=world.strategies, portfolio=portfolio, broker=broker), (
            *cancelled, *orders)

    def on_order(world: World, event: OrderEvent) -> tuple[World, tuple[Event, ...]]:
        assert world.market is not None, "an order before the first bar"
        if realistic:
            broker = accept_order(world.broker, event)
            return World(market=world.market, strategies=world.strategies, portfolio=world.portfolio,
                         broker=broker), ()
        return world, execute_order_checked(world.portfolio, event, world.market, ctx)

    def on_fill(world: World, event: FillEvent) -> tuple[World, tuple[Event, ...]]:
        portfolio = book_fill(world.portfolio, event, ctx)
        return World(market=world.market, strategies=world.strategies, portfolio=portfolio, broker=world.broker), ()

    return _dispatch(on_market, on_signal, on_order, on_fill)
