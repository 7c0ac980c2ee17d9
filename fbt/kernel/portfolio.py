"""The portfolio reducer: orders from signals, fills into cash and positions.

Book orders (the seed's ``generate_naive_order``, :func:`naive_orders`): LONG from flat buys
``config.quantity`` units, SHORT from flat sells them, EXIT closes the whole position; any other
combination sends nothing.

:func:`plan_orders` is the general rule, for every other configuration: the same, with the size
from ``config.sizing`` (when set) and the order type, prices and bracket taken from the signal:

- LONG / SHORT: ``order = round(target - expected)`` with ``target`` from the sizing model (the
  naive one: ``±quantity`` from flat) given ``held = expected``, the position *with the orders
  still working*: ``expected = position + working``, ``working`` the signed unfilled quantity of
  the symbol's orders at the broker and in flight on this bar (entries and plain exits, not
  bracket children nor one-cancels-other exits; market orders, and limit and stop orders on the
  signal's side, not those against it, which may never fill: :func:`working_quantity`). So
  ``EXIT`` then ``LONG`` on one bar is a close and an open, two entries on one bar open once, and
  no rebalance counts a close twice. Nothing while an order on the signal's side (a BUY for LONG,
  a SELL for SHORT) still works or is in flight and ``expected`` is on that side already (the
  signal is being acted on: an entry waiting at its limit is not topped up); with ``stop_loss`` /
  ``take_profit`` the entry is followed by its bracket children (opposite side, same quantity,
  one-cancels-other); an entry model that resolves its size at the fill
  (:func:`fbt.models.sizing.fill_quantity_of`) puts its request on the order (``at_fill``);
- EXIT: closes the position with the signal's order type, or with a one-cancels-other stop /
  limit pair when ``stop_loss`` / ``take_profit`` are given (the step withdraws the symbol's
  working and in-flight orders first, as for CANCEL).

An entry the sizing model cannot size is an ``OrderRejected`` (reason ``sizing``, order id 0).
The sizing model's ``price`` is one unit's value, ``adj_close * multiplier``. Limit and stop levels
are rounded to the symbol's tick size, if it has one (:func:`fbt.models.instrument.tick_level`).

Fills: ``position += sign * quantity``; ``cash -= sign * price * quantity * multiplier +
commission`` (the instrument's multiplier, 1 for stocks; with every multiplier 1 the product is
left out, as the seed computes it); ``commission += commission``. The fill's own price is used; in
book mode the simulated broker fills at the bar's ``adj_close``, which is the price the seed's
portfolio charges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

from fbt.core.errors import StrategyError
from fbt.core.events import (
    Direction,
    FillEvent,
    FillQuantity,
    MarketEvent,
    OrderConditions,
    OrderEvent,
    OrderRejected,
    OrderTerms,
    OrderType,
    RejectReason,
    SignalEvent,
    SignalType,
    TimeInForce,
)
from fbt.core.market import FIELDS
from fbt.core.state import Broker, Portfolio
from fbt.kernel.context import Context
from fbt.models.fill import Execution
from fbt.models.instrument import tick_level
from fbt.models.sizing import fill_quantity_of, round_quantity

__all__ = ["apply_fill", "apply_fill_multiplied", "book_order_error", "fill_applier", "margin_cash",
           "mark", "naive_orders", "plan_orders", "working_quantity"]

_ADJ = FIELDS.index("adj_close")


def _symbol(signal: SignalEvent, ctx: Context) -> int:
    try:
        return ctx.symbol_index[signal.symbol]
    except KeyError:
        raise StrategyError(
            f"strategy {signal.strategy_id!r} sent a signal for unknown symbol {signal.symbol!r}; "
            f"the data has {', '.join(ctx.data.symbols)}"
        ) from None


def naive_orders(
    portfolio: Portfolio, signal: SignalEvent, ctx: Context
) -> tuple[Portfolio, tuple[OrderEvent, ...]]:
    """Turn a signal into at most one market order, numbered from 1 in the run (book mode)."""
    s = _symbol(signal, ctx)
    held = portfolio.positions[s]
    kind = signal.signal_type
    if kind is SignalType.LONG and held == 0:
        quantity, direction = ctx.config.quantity, Direction.BUY
    elif kind is SignalType.SHORT and held == 0:
        quantity, direction = ctx.config.quantity, Direction.SELL
    elif kind is SignalType.EXIT and held > 0:
        quantity, direction = held, Direction.SELL
    elif kind is SignalType.EXIT and held < 0:
        quantity, direction = -held, Direction.BUY
    else:
        return portfolio, ()
    order_id = portfolio.orders_sent + 1
    order = OrderEvent(
        timestamp=signal.timestamp, symbol=signal.symbol, quantity=quantity, direction=direction, order_id=order_id
    )
    return attrs.evolve(portfolio, orders_sent=order_id), (order,)


def _counts(o: OrderEvent) -> bool:
    """An order that fills if it can: an entry or a plain exit (not a bracket child nor a one-cancels-other exit)."""
    return o.conditions is None or (o.conditions.parent_id == 0 and o.conditions.oco_group == 0)


_SURE = frozenset({OrderType.MKT, OrderType.MOO, OrderType.MOC})


def working_quantity(broker: Broker, in_flight: Sequence[OrderEvent], symbol: str,
                     side: Direction | None = None) -> tuple[float, bool]:
    """The signed unfilled quantity of ``symbol``'s counted orders for a decision on ``side``, and whether one is on it.

    Counted, at the broker (their ``remaining``) and in flight: entries and plain exits (not bracket
    children nor one-cancels-other exits) that are market orders, which fill, and the limit and
    stop orders on ``side``, which may; a limit or stop order against ``side`` may never fill and
    is left out, so a size planned on what is counted stays within its bound whichever of the
    waiting orders fill. With ``side`` None only market orders count.

    >>> from fbt.core.events import Direction, OrderEvent, OrderType, OrderConditions
    >>> buy = OrderEvent(timestamp=0, symbol="A", quantity=10, direction=Direction.BUY, order_id=1)
    >>> working_quantity(Broker(), (buy,), "A", Direction.SELL), working_quantity(Broker(), (buy,), "B")
    ((10.0, False), (0.0, False))
    >>> limit = OrderEvent(timestamp=0, symbol="A", quantity=5, direction=Direction.SELL, order_id=2,
    ...                    order_type=OrderType.LMT, conditions=OrderConditions(limit_price=12.0))
    >>> working_quantity(Broker(), (buy, limit), "A", Direction.BUY), working_quantity(Broker(), (buy, limit), "A",
    ...                                                                                Direction.SELL)
    ((10.0, True), (5.0, True))
    """
    total = 0.0
    same = False
    for w in broker.pending:
        o = w.order
        if o.symbol == symbol and w.active and _counts(o) and (o.order_type in _SURE or o.direction is side):
            total = total + (w.remaining if o.direction is Direction.BUY else -w.remaining)
            same = same or o.direction is side
    for o in in_flight:
        if o.symbol == symbol and _counts(o) and (o.order_type in _SURE or o.direction is side):
            total = total + (o.quantity if o.direction is Direction.BUY else -o.quantity)
            same = same or o.direction is side
    return total, same


def book_order_error(signal: SignalEvent) -> StrategyError:
    """The error for order terms in book mode, which fills plain market orders at once only."""
    terms = signal.order
    kind = terms.order_type.value if terms is not None else "MKT"
    bracket = " with a bracket" if terms is not None and terms.bracket else ""
    return StrategyError(
        f"strategy {signal.strategy_id!r} asked for a {kind} order{bracket} ({terms!r}) for {signal.symbol}: book "
        f"mode fills plain market orders at once only; run with execution next-open or next-close"
    )


def _ticked(level: float | None, tick: float | None, *, buy: bool, limit: bool) -> float | None:
    return level if level is None or tick is None else tick_level(level, tick, buy=buy, limit=limit)


def _protective(
    *, signal: SignalEvent, terms: OrderTerms, quantity: float, direction: Direction, first_id: int, parent_id: int,
    tick: float | None = None,
) -> tuple[OrderEvent, ...]:
    """The stop-loss and take-profit orders (one-cancels-other) that close ``quantity`` units."""
    orders: list[OrderEvent] = []
    order_id = first_id
    group = parent_id or first_id
    buy = direction is Direction.BUY
    for kind, stop, limit in ((OrderType.STP, terms.stop_loss, None), (OrderType.LMT, None, terms.take_profit)):
        if stop is None and limit is None:
            continue
        stop, limit = _ticked(stop, tick, buy=buy, limit=False), _ticked(limit, tick, buy=buy, limit=True)
        conditions = OrderConditions(limit_price=limit, stop_price=stop, parent_id=parent_id, oco_group=group)
        orders.append(OrderEvent(timestamp=signal.timestamp, symbol=signal.symbol, quantity=quantity,
                                 direction=direction, order_type=kind, order_id=order_id, conditions=conditions))
        order_id += 1
    return tuple(orders)


def _order(signal: SignalEvent, quantity: float, direction: Direction, order_id: int,
           tick: float | None = None, at_fill: FillQuantity | None = None) -> OrderEvent:
    terms = signal.order
    if terms is None:
        return OrderEvent(timestamp=signal.timestamp, symbol=signal.symbol, quantity=quantity, direction=direction,
                          order_id=order_id, at_fill=at_fill)
    plain = terms.limit_price is None and terms.stop_price is None and terms.time_in_force is TimeInForce.GTC
    buy = direction is Direction.BUY
    conditions = None if plain else OrderConditions(
        limit_price=_ticked(terms.limit_price, tick, buy=buy, limit=True),
        stop_price=_ticked(terms.stop_price, tick, buy=buy, limit=False), time_in_force=terms.time_in_force)
    return OrderEvent(timestamp=signal.timestamp, symbol=signal.symbol, quantity=quantity, direction=direction,
                      order_type=terms.order_type, order_id=order_id, conditions=conditions, at_fill=at_fill)


def plan_orders(
    portfolio: Portfolio, broker: Broker, signal: SignalEvent, market: MarketEvent, ctx: Context,
    in_flight: Sequence[OrderEvent] = (),
) -> tuple[Portfolio, tuple[OrderEvent | OrderRejected, ...]]:
    """Turn a signal into orders (an entry and its bracket, or an exit), or a sizing rejection.

    ``in_flight`` are the orders the bar's earlier signals sent that the broker has not taken yet.
    The rules are in the module docstring. Order ids count from 1 in the run; a bracket takes one
    id for the entry and one per child.
    """
    s = _symbol(signal, ctx)
    config = ctx.config
    terms = signal.order
    if terms is not None and config.execution is Execution.BOOK:
        raise book_order_error(signal)
    kind = signal.signal_type
    held = portfolio.positions[s]
    next_id = portfolio.orders_sent + 1
    tick = None if ctx.ticks is None else ctx.ticks[s]
    if kind is SignalType.CANCEL:
        return portfolio, ()
    if kind is SignalType.EXIT:
        if held == 0:
            return portfolio, ()
        direction = Direction.SELL if held > 0 else Direction.BUY
        if terms is not None and terms.bracket:
            orders = _protective(signal=signal, terms=terms, quantity=abs(held), direction=direction,
                                 first_id=next_id, parent_id=0, tick=tick)
        else:
            orders = (_order(signal, abs(held), direction, next_id, tick),)
        return _sent(portfolio, orders[-1].order_id), orders
    side = 1 if kind is SignalType.LONG else -1
    working, busy = working_quantity(broker, in_flight, signal.symbol, Direction.BUY if side > 0 else Direction.SELL)
    expected = held + working
    if busy and expected * side > 0:  # an order on this side works toward this side: it is being acted on
        return portfolio, ()
    sizing = config.sizing
    if sizing is None:
        if expected != 0:
            return portfolio, ()
        delta = side * config.quantity
        quantity = config.quantity
    else:
        i = market.index
        price = float(ctx.data.values[_ADJ, s, i])
        if ctx.multipliers is not None:
            price = price * ctx.multipliers[s]  # one unit's value: a size from cash divides by it
        _, equity = mark(portfolio, market, ctx.multipliers)
        history = ctx.data.values[_ADJ, s, ctx.data.first[s] : i + 1]
        target = math.nan if math.isnan(price) else sizing(
            side=side, strength=signal.strength, price=price, equity=equity, held=expected, history=history,
            periods=config.periods,
        )
        if not math.isfinite(target):
            why = "the symbol has no price yet" if math.isnan(price) else f"the sizing model gave {target!r}"
            return portfolio, (_sizing_rejection(signal, side, why),)
        delta = target - expected
        quantity = round_quantity(abs(delta), fractional=config.risk.fractional)
        if quantity == 0:
            if expected != 0:
                return portfolio, ()
            return portfolio, (_sizing_rejection(signal, side, f"the size {abs(delta):g} rounds to 0 units"),)
    direction = Direction.BUY if delta > 0 else Direction.SELL
    at_fill = None if sizing is None else fill_quantity_of(sizing, signal.strength)
    entry = _order(signal, quantity, direction, next_id, tick, at_fill)
    children: tuple[OrderEvent, ...] = ()
    if terms is not None and terms.bracket:
        opposite = Direction.SELL if direction is Direction.BUY else Direction.BUY
        children = _protective(signal=signal, terms=terms, quantity=quantity, direction=opposite,
                               first_id=next_id + 1, parent_id=next_id, tick=tick)
    orders = (entry, *children)
    return _sent(portfolio, orders[-1].order_id), orders


def _sent(portfolio: Portfolio, last_id: int) -> Portfolio:
    return Portfolio(cash=portfolio.cash, commission=portfolio.commission, positions=portfolio.positions,
                     orders_sent=last_id)


def _sizing_rejection(signal: SignalEvent, side: int, detail: str) -> OrderRejected:
    return OrderRejected(timestamp=signal.timestamp, symbol=signal.symbol, order_id=0,
                         direction=Direction.BUY if side > 0 else Direction.SELL, quantity=0.0,
                         reason=RejectReason.SIZING, detail=detail)


def apply_fill(portfolio: Portfolio, fill: FillEvent, ctx: Context) -> Portfolio:
    """Book a fill: move the position, pay for it and its commission out of cash.

    >>> from fbt.core.events import Direction, FillEvent
    >>> p = Portfolio.initial(capital=1000.0, n_symbols=1)
    >>> f = FillEvent(timestamp=0, symbol="A", quantity=2, direction=Direction.BUY, price=10.0, commission=1.0)
    >>> import types; ctx = types.SimpleNamespace(symbol_index={"A": 0})
    >>> apply_fill(p, f, ctx)
    Portfolio(cash=979.0, commission=1.0, positions=(2.0,), orders_sent=0)
    """
    s = ctx.symbol_index[fill.symbol]
    sign = 1.0 if fill.direction is Direction.BUY else -1.0
    positions = list(portfolio.positions)
    positions[s] = positions[s] + sign * fill.quantity
    cost = sign * fill.price * fill.quantity
    return Portfolio(
        cash=portfolio.cash - (cost + fill.commission),
        commission=portfolio.commission + fill.commission,
        positions=tuple(positions),
        orders_sent=portfolio.orders_sent,
    )


def apply_fill_multiplied(portfolio: Portfolio, fill: FillEvent, ctx: Context) -> Portfolio:
    """Book a fill with contract multipliers: ``cash -= sign * price * quantity * multiplier + commission``.

    >>> from fbt.core.events import Direction, FillEvent
    >>> p = Portfolio.initial(capital=100_000.0, n_symbols=1)
    >>> f = FillEvent(timestamp=0, symbol="ES", quantity=2, direction=Direction.BUY, price=4500.0, commission=4.0)
    >>> import types; ctx = types.SimpleNamespace(symbol_index={"ES": 0}, multipliers=(50.0,))
    >>> apply_fill_multiplied(p, f, ctx)
    Portfolio(cash=-350004.0, commission=4.0, positions=(2.0,), orders_sent=0)
    """
    s = ctx.symbol_index[fill.symbol]
    sign = 1.0 if fill.direction is Direction.BUY else -1.0
    positions = list(portfolio.positions)
    positions[s] = positions[s] + sign * fill.quantity
    cost = sign * fill.price * fill.quantity * ctx.multipliers[s]  # type: ignore[index]
    return Portfolio(
        cash=portfolio.cash - (cost + fill.commission),
        commission=portfolio.commission + fill.commission,
        positions=tuple(positions),
        orders_sent=portfolio.orders_sent,
    )


def fill_applier(ctx: Context) -> Callable[[Portfolio, FillEvent, Context], Portfolio]:
    """Return the run's fill booking: :func:`apply_fill` (every multiplier 1) or :func:`apply_fill_multiplied`."""
    return apply_fill if ctx.multipliers is None else apply_fill_multiplied


def mark(
    portfolio: Portfolio, market: MarketEvent, multipliers: Sequence[float] | None = None
) -> tuple[tuple[float, ...], float]:
    """Value the portfolio at a bar's ``adj_close``: ``(holdings per symbol, total)``.

    ``holding = position * adj_close`` (``* multiplier`` with ``multipliers``, aligned to the
    symbols). A flat symbol is worth 0 even before its first bar; ``total = cash + sum(holdings)``,
    summed in symbol order.
    """
    prices = market.data.values[_ADJ, :, market.index]
    if multipliers is None:
        holdings = tuple(0.0 if q == 0 else q * float(p) for q, p in zip(portfolio.positions, prices, strict=True))
    else:
        holdings = tuple(0.0 if q == 0 else q * float(p) * m
                         for q, p, m in zip(portfolio.positions, prices, multipliers, strict=True))
    total = portfolio.cash
    for h in holdings:
        total = total + h
    return holdings, total


def margin_cash(
    portfolio: Portfolio, prices: Sequence[float], multipliers: Sequence[float] | None,
    margins: Sequence[float | None] | None,
) -> tuple[float, float]:
    """Cash as a futures broker reports it, and the margin held: ``(value - margin held, margin held)``.

    The portfolio books a margined contract's fills at their notional like any other (so
    ``cash + sum(holdings)`` is the account's value); a broker instead holds ``|position| * margin``
    and marks the contract's P&L to cash every bar. With ``p`` the ``prices`` (the bar's
    ``adj_close``), ``cash = portfolio.cash + sum(q * p * multiplier - |q| * margin)`` over the
    symbols with a margin (:class:`fbt.models.instrument.Instrument`); the others are unchanged.

    One contract (multiplier 10, margin 1,000) bought at 3,643.5 with 2 of commission from 10,000, now at 4,000:

    >>> p = Portfolio(cash=10_000.0 - 2.0 - 36_435.0, commission=2.0, positions=(1.0,), orders_sent=1)
    >>> margin_cash(p, (4_000.0,), (10.0,), (1_000.0,))   # 10,000 - 2 + (4,000 - 3,643.5) * 10 - 1,000
    (12563.0, 1000.0)
    >>> margin_cash(p, (4_000.0,), (10.0,), None)
    (-26437.0, 0.0)
    """
    cash = portfolio.cash
    held = 0.0
    if margins is None:
        return cash, held
    for k, (q, m) in enumerate(zip(portfolio.positions, margins, strict=True)):
        if m is None or q == 0:
            continue
        value = q * float(prices[k]) * (1.0 if multipliers is None else multipliers[k])
        cash = cash + (value - abs(q) * m)
        held = held + abs(q) * m
    return cash, held
