"""The simulated broker: book mode fills at once; the realistic modes hold orders and fill them on later bars.

Book mode (:func:`execute_order`, the seed): a market order fills in full at once at the current
bar's ``adj_close``, commission from ``config.commission``, stamped with the bar time. With a
slippage model or risk checks configured, :func:`execute_order_checked` does the same, slipping the
price and refusing fills that break a check.

Realistic modes (``next-open``, ``next-close``): :func:`accept_order` puts the order among the
broker's working orders; :func:`fill_working` runs on every later MARKET event *before* the
strategies see that bar and fills what the bar allows (``fbt.models.fill`` gives the rules), in
the order the orders were placed:

1. an order on a bar where its symbol has no real bar (only a forward-filled one) waits;
2. a DAY order expires at the first bar of a later day than its first bar;
3. a bracket child starts working once its parent has filled in full (on the same bar when the
   parent filled at the bar's open, else from the next bar); if the parent ends part-filled the
   child protects the filled part, if it ends unfilled the child is cancelled;
4. the base price comes from the order type; an order resolved at its fill (``at_fill``) takes
   its quantity now, the first time it would fill: the most units whose cost at this fill's price
   (slipped and ticked as below) and commission stay within its budget (:func:`resolve_quantity`;
   the cash of the portfolio after the fills before it, or its equity with the other symbols at
   their last ``adj_close``); no budget is a rejection (``cash``), no whole unit one (``sizing``),
   and from then on it is a plain order of that quantity; at most ``Risk.volume_limit`` of the
   bar's volume fills per symbol, the rest waits (a partial fill); slippage moves the price against the trader;
   with a tick size the price then rounds to the grid, buys up and sells down, clamped into the
   bar's range when it started there (:func:`fbt.models.instrument.tick_fill_price`) — the rounding
   counts as slippage (``FillEvent.slippage = sign * (price - base)``, at least 0);
5. the risk checks run against the portfolio after the fills before this one; a failure rejects the
   order's unfilled rest;
6. when a member of a one-cancels-other group fills, the other members are cancelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs

from fbt.core.errors import ConfigError, StrategyError
from fbt.core.events import (
    CancelReason,
    Event,
    FillEvent,
    FillQuantity,
    MarketEvent,
    OrderCancelled,
    OrderEvent,
    OrderRejected,
    OrderType,
    RejectReason,
    TimeInForce,
)
from fbt.core.market import FIELDS
from fbt.core.state import Broker, Portfolio, Working
from fbt.core.units import NS_PER_DAY
from fbt.kernel.context import Context
from fbt.kernel.portfolio import fill_applier
from fbt.models.fill import Execution, limit_price_fill, stop_limit_fill, stop_price_fill
from fbt.models.instrument import tick_fill_price
from fbt.models.risk import check_fill
from fbt.models.sizing import round_quantity
from fbt.models.slippage import uses_volume

__all__ = ["accept_order", "cancel_orders", "execute_order", "execute_order_checked", "fill_working",
           "resolve_quantity"]

_ADJ = FIELDS.index("adj_close")
_VOLUME = FIELDS.index("volume")


def _no_price(order: OrderEvent, market: MarketEvent) -> StrategyError:
    return StrategyError(
        f"order {order.order_id} for {order.symbol} at bar {market.index} "
        f"({market.label()}) comes before the symbol's first bar: it has no price yet"
    )


def execute_order(
    broker: Broker, order: OrderEvent, market: MarketEvent, ctx: Context
) -> tuple[Broker, tuple[FillEvent, ...]]:
    """Fill a market order in full at the current bar's ``adj_close`` (book mode)."""
    s = ctx.symbol_index[order.symbol]
    price = float(ctx.data.values[_ADJ, s, market.index])
    if math.isnan(price):
        raise _no_price(order, market)
    fill = FillEvent(
        timestamp=market.timestamp,
        symbol=order.symbol,
        quantity=order.quantity,
        direction=order.direction,
        price=price,
        commission=ctx.config.commission(order.quantity, price),
        order_id=order.order_id,
    )
    return broker, (fill,)


def _slippage(ctx: Context, price: float, quantity: float, volume: float) -> float:
    model = ctx.config.slippage
    if model is None:
        return 0.0
    amount = model(price, quantity, volume)
    if not (math.isfinite(amount) and amount >= 0):
        raise ConfigError(f"slippage: the model {model!r} returned {amount!r}; expected a non-negative finite amount")
    return amount


def execute_order_checked(
    portfolio: Portfolio, order: OrderEvent, market: MarketEvent, ctx: Context
) -> tuple[FillEvent | OrderRejected, ...]:
    """Book mode with slippage or risk checks: fill at once at ``adj_close`` (slipped), or reject."""
    s = ctx.symbol_index[order.symbol]
    i = market.index
    values = ctx.data.values
    base = float(values[_ADJ, s, i])
    if math.isnan(base):
        raise _no_price(order, market)
    volume = float(values[_VOLUME, s, i])
    sign = order.direction.sign
    if ctx.config.slippage is not None and uses_volume(ctx.config.slippage) and not volume > 0:
        return (OrderRejected(timestamp=market.timestamp, symbol=order.symbol, order_id=order.order_id,
                              direction=order.direction, quantity=order.quantity, reason=RejectReason.VOLUME,
                              detail="the slippage model needs volume and the bar has none"),)
    slip = _slippage(ctx, base, order.quantity, volume)
    price = base + sign * slip
    if price < 0:  # a sell is never paid less than nothing
        price, slip = 0.0, base
    multipliers = ctx.multipliers
    unit = price if multipliers is None else price * multipliers[s]  # commission models see one unit's value
    commission = ctx.config.commission(order.quantity, unit)
    config = ctx.config
    if config.risk.checks_fills(config.execution):
        failed = check_fill(
            config.risk, cash_check=config.risk.cash_check_on(config.execution), cash=portfolio.cash,
            positions=portfolio.positions, marks=values[_ADJ, :, i].tolist(), symbol=s, sign=float(sign),
            quantity=order.quantity, price=price, commission=commission, groups=ctx.groups[s],
            multipliers=multipliers, margins=ctx.margins,
        )
        if failed is not None:
            return (OrderRejected(timestamp=market.timestamp, symbol=order.symbol, order_id=order.order_id,
                                  direction=order.direction, quantity=order.quantity, reason=failed[0],
                                  detail=failed[1]),)
    return (FillEvent(timestamp=market.timestamp, symbol=order.symbol, quantity=order.quantity,
                      direction=order.direction, price=price, commission=commission, order_id=order.order_id,
                      slippage=slip),)


def accept_order(broker: Broker, order: OrderEvent) -> Broker:
    """Add an order to the working orders (realistic modes); a bracket child starts inactive.

    >>> from fbt.core.events import Direction
    >>> b = accept_order(Broker(), OrderEvent(timestamp=0, symbol="A", quantity=5, direction=Direction.BUY))
    >>> b.pending[0].remaining, b.pending[0].active
    (5, True)
    """
    if order.order_type is not OrderType.MKT or order.conditions is not None:
        try:
            order.check()
        except (TypeError, ValueError) as exc:
            raise StrategyError(f"order {order.order_id} for {order.symbol}: {exc}") from None
    working = Working(order=order, remaining=order.quantity, active=order.terms.parent_id == 0)
    return Broker(pending=(*broker.pending, working))


def cancel_orders(
    broker: Broker, *, symbol: str, timestamp: int, reason: CancelReason = CancelReason.REQUESTED
) -> tuple[Broker, tuple[OrderCancelled, ...]]:
    """Withdraw every working order for ``symbol``; return the broker and the cancellations.

    >>> from fbt.core.events import Direction
    >>> b = accept_order(Broker(), OrderEvent(timestamp=0, symbol="A", quantity=5, direction=Direction.BUY,
    ...                                       order_id=1))
    >>> b, events = cancel_orders(b, symbol="A", timestamp=1)
    >>> b.pending, [(e.order_id, e.quantity, e.reason.value) for e in events]
    ((), [(1, 5, 'requested')])
    """
    kept = [w for w in broker.pending if w.order.symbol != symbol]
    if len(kept) == len(broker.pending):
        return broker, ()
    cancelled = tuple(_cancelled(w, timestamp, reason) for w in broker.pending if w.order.symbol == symbol)
    return Broker(pending=tuple(kept)), cancelled


def _cancelled(w: Working, timestamp: int, reason: CancelReason) -> OrderCancelled:
    o = w.order
    return OrderCancelled(timestamp=timestamp, symbol=o.symbol, order_id=o.order_id, direction=o.direction,
                          quantity=w.remaining, reason=reason)


def _base_price(w: Working, execution: Execution, o: float, h: float, low: float, c: float) -> tuple[float, bool]:
    """The order's base fill price on this bar (NaN: no fill) and its triggered flag."""
    order = w.order
    kind = order.order_type
    if kind is OrderType.MKT:
        return (c if execution is Execution.NEXT_CLOSE else o), False
    if kind is OrderType.MOO:
        return o, False
    if kind is OrderType.MOC:
        return c, False
    sign = order.direction.sign
    terms = order.terms
    if kind is OrderType.LMT:
        return limit_price_fill(sign, terms.limit_price, open=o, high=h, low=low), False  # type: ignore[arg-type]
    if kind is OrderType.STP:
        return stop_price_fill(sign, terms.stop_price, open=o, high=h, low=low), False  # type: ignore[arg-type]
    return stop_limit_fill(sign, terms.stop_price, terms.limit_price, triggered=w.triggered,  # type: ignore[arg-type]
                           open=o, high=h, low=low)


def resolve_quantity(budget: float, cost: Callable[[float], float], estimate: float, *, fractional: bool) -> float:
    """The most units whose ``cost(units)`` (price and commission) is at most ``budget``; 0 when none.

    ``estimate`` is a first guess (the budget over one unit's price); whole units unless
    ``fractional``. The cost must grow with the units.

    >>> resolve_quantity(1_000.0, lambda q: q * 30.0 + 5.0, 1_000.0 / 30.0, fractional=False)  # 33 * 30 + 5 = 995
    33.0
    >>> resolve_quantity(20.0, lambda q: q * 30.0, 20.0 / 30.0, fractional=False)
    0.0
    """
    q = round_quantity(estimate, fractional=fractional)
    for _ in range(200):
        if not q > 0:
            return 0.0
        spent = cost(q)
        if spent <= budget:
            return q
        smaller = round_quantity(q * budget / spent, fractional=fractional)
        if fractional:  # the ratio can round back to q itself: step below it
            q = min(smaller, math.nextafter(q, 0.0) if smaller >= q else smaller)
        else:
            q = smaller if smaller < q else q - 1.0
    return 0.0


def _fill_price(ctx: Context, base: float, quantity: float, volume: float, sign: int, tick: float | None,
                low: float, high: float) -> tuple[float, float]:
    """A working order's fill price and slippage per unit: slipped from ``base``, then rounded to the tick."""
    slip = _slippage(ctx, base, quantity, volume)
    price = base + sign * slip
    if price < 0:  # a sell is never paid less than nothing
        price, slip = 0.0, base
    if tick is not None:
        price = tick_fill_price(price, tick, sign=sign, low=low, high=high)
        slip = max(0.0, sign * (price - base))
    return price, slip


def fill_working(
    broker: Broker, portfolio: Portfolio, market: MarketEvent, ctx: Context
) -> tuple[Broker, tuple[Event, ...]]:
    """Fill, expire, activate and cancel the working orders on a new bar (realistic modes).

    Returns the new broker and the fills, rejections and cancellations, in order. The portfolio is
    only read: the fills are applied by the portfolio reducer when the fold hands it the events,
    in the same order, so the risk checks here see exactly what the portfolio will hold.
    """
    if not broker.pending:
        return broker, ()
    config = ctx.config
    risk = config.risk
    data = ctx.data
    bars = ctx.bars
    assert bars is not None, "fill_working runs outside book mode only"
    j = market.index
    timestamp = market.timestamp
    day = timestamp // NS_PER_DAY
    execution = config.execution
    checking = risk.checks_fills(execution)
    cash_check = risk.cash_check_on(execution)
    multipliers, ticks = ctx.multipliers, ctx.ticks
    apply_fill = fill_applier(ctx)
    resolving = any(w.order.at_fill is not None for w in broker.pending)
    tracking = checking or resolving  # the portfolio after this bar's earlier fills is needed
    marks: list[float] = data.values[_ADJ, :, max(j - 1, 0)].tolist() if tracking else []
    events: list[Event] = []
    kept: list[Working] = []
    local = portfolio
    used: dict[int, float] = {}
    completed: dict[int, tuple[float, bool]] = {}  # order id -> (filled, filled at the bar's open)
    ended: dict[int, float] = {}  # order id -> filled, for orders that stopped part-filled or unfilled
    oco_filled: dict[int, int] = {}  # group -> the member that filled
    changed = False
    for w in broker.pending:
        order = w.order
        terms = order.terms
        group = terms.oco_group
        if group and group in oco_filled:
            events.append(_cancelled(w, timestamp, CancelReason.OCO))
            ended[order.order_id] = w.filled
            changed = True
            continue
        if not w.active:
            parent = terms.parent_id
            if parent in completed:
                filled, at_open = completed[parent]
                w = Working(order=order, remaining=filled, active=True)
                changed = True
                if not at_open:
                    kept.append(w)
                    continue
            elif parent in ended:
                changed = True
                if ended[parent] > 0:
                    kept.append(Working(order=order, remaining=ended[parent], active=True))
                else:
                    events.append(_cancelled(w, timestamp, CancelReason.PARENT))
                    ended[order.order_id] = 0.0
                continue
            else:
                kept.append(w)
                continue
        if terms.time_in_force is TimeInForce.DAY:
            if w.session < 0:
                w = Working(order=order, remaining=w.remaining, filled=w.filled, active=True, session=day,
                            triggered=w.triggered)
                changed = True
            elif day > w.session:
                events.append(_cancelled(w, timestamp, CancelReason.EXPIRED))
                ended[order.order_id] = w.filled
                changed = True
                continue
        s = ctx.symbol_index[order.symbol]
        if not data.real[s, j]:
            kept.append(w)
            continue
        o, h, low, c = bars[:, s, j].tolist()
        base, triggered = _base_price(w, execution, o, h, low, c)
        if base != base:  # NaN: the bar does not reach the order's price
            if triggered != w.triggered:
                w = Working(order=order, remaining=w.remaining, filled=w.filled, active=True, session=w.session,
                            triggered=triggered)
                changed = True
            kept.append(w)
            continue
        base = min(max(base, low), h)
        volume = float(data.values[_VOLUME, s, j])
        if order.at_fill is not None:  # the quantity is resolved now, at this fill's price
            resolved = _resolved(ctx, w, local, marks, s, base, volume, low, h, timestamp)
            if isinstance(resolved, OrderRejected):
                events.append(resolved)
                ended[order.order_id] = 0.0
                changed = True
                continue
            order = resolved.order
            w = resolved
            changed = True
        quantity = w.remaining
        if risk.volume_limit is not None:
            room = round_quantity(risk.volume_limit * volume - used.get(s, 0.0), fractional=risk.fractional)
            if not room > 0:
                kept.append(w)
                continue
            quantity = min(quantity, room)
        if config.slippage is not None and uses_volume(config.slippage) and not volume > 0:
            kept.append(w)
            continue
        sign = order.direction.sign
        price, slip = _fill_price(ctx, base, quantity, volume, sign, None if ticks is None else ticks[s], low, h)
        commission = config.commission(quantity, price if multipliers is None else price * multipliers[s])
        changed = True
        if checking:
            failed = check_fill(
                risk, cash_check=cash_check, cash=local.cash, positions=local.positions, marks=marks, symbol=s,
                sign=float(sign), quantity=quantity, price=price, commission=commission, groups=ctx.groups[s],
                multipliers=multipliers, margins=ctx.margins,
            )
            if failed is not None:
                events.append(OrderRejected(timestamp=timestamp, symbol=order.symbol, order_id=order.order_id,
                                            direction=order.direction, quantity=w.remaining, reason=failed[0],
                                            detail=failed[1]))
                ended[order.order_id] = w.filled
                continue
        fill = FillEvent(timestamp=timestamp, symbol=order.symbol, quantity=quantity, direction=order.direction,
                         price=price, commission=commission, order_id=order.order_id, slippage=slip)
        events.append(fill)
        if tracking:  # later orders of this bar are checked and resolved against the portfolio after this fill
            local = apply_fill(local, fill, ctx)
        used[s] = used.get(s, 0.0) + quantity
        if group:
            oco_filled[group] = order.order_id
        if quantity == w.remaining:
            at_close = order.order_type is OrderType.MOC or (order.order_type is OrderType.MKT
                                                              and execution is Execution.NEXT_CLOSE)
            completed[order.order_id] = (w.filled + quantity, base == o and not at_close)
            continue
        kept.append(Working(order=order, remaining=w.remaining - quantity, filled=w.filled + quantity, active=True,
                            session=w.session, triggered=triggered))
    if oco_filled:
        survivors = []
        for w in kept:
            group = w.order.terms.oco_group
            if group in oco_filled and oco_filled[group] != w.order.order_id:
                events.append(_cancelled(w, timestamp, CancelReason.OCO))
            else:
                survivors.append(w)
        kept = survivors
    if not changed:
        return broker, ()
    return Broker(pending=tuple(kept)), tuple(events)


def _resolved(ctx: Context, w: Working, portfolio: Portfolio, marks: list[float], s: int, base: float,
              volume: float, low: float, high: float, timestamp: int) -> Working | OrderRejected:
    """Resolve a working order's ``at_fill`` request at this bar: a plain working order, or a rejection."""
    order = w.order
    request: FillQuantity = order.at_fill  # type: ignore[assignment]
    config = ctx.config
    sign = order.direction.sign
    multiplier = 1.0 if ctx.multipliers is None else ctx.multipliers[s]
    tick = None if ctx.ticks is None else ctx.ticks[s]

    def unit_price(q: float) -> float:
        return _fill_price(ctx, base, q, volume, sign, tick, low, high)[0] * multiplier

    def cost(q: float) -> float:
        unit = unit_price(q)
        return q * unit + config.commission(q, unit)

    equity = portfolio.cash
    for k, q in enumerate(portfolio.positions):
        if q != 0:
            value = base if k == s else marks[k]
            equity = equity + q * value * (1.0 if ctx.multipliers is None else ctx.multipliers[k])
    budget = request.budget(cash=portfolio.cash, equity=equity)

    def rejected(reason: RejectReason, detail: str) -> OrderRejected:
        return OrderRejected(timestamp=timestamp, symbol=order.symbol, order_id=order.order_id,
                             direction=order.direction, quantity=order.quantity, reason=reason, detail=detail)

    if not budget > 0:
        return rejected(RejectReason.CASH, f"{request.describe()}: the budget at the fill is {budget:.2f}")
    one = unit_price(order.quantity)
    estimate = budget / one if one > 0 else 0.0
    quantity = resolve_quantity(budget, cost, estimate, fractional=config.risk.fractional)
    if quantity == 0:
        return rejected(RejectReason.SIZING, f"{request.describe()} ({budget:.2f}) pays for no whole unit at "
                                             f"{one:g} a unit, commission included")
    plain = attrs.evolve(order, quantity=quantity, at_fill=None)
    return Working(order=plain, remaining=quantity, filled=0.0, active=True, session=w.session,
                   triggered=w.triggered)
