"""Book mode's signal chain in one call: the book step drained over one bar's signals, fused.

In book mode a SIGNAL causes at most one ORDER, an ORDER one FILL at once, and a FILL nothing; the
queue is first in first out, so one bar's signals are handled first (each against the portfolio
as it stands, fills not yet booked), then their orders, then their fills. :func:`book_chain`
returns a function that does exactly that, with the same arithmetic in the same order as
:func:`fbt.kernel.portfolio.naive_orders`, :func:`fbt.kernel.broker.execute_order` and
:func:`fbt.kernel.portfolio.apply_fill`, building the orders and fills without re-running the
validators their checked inputs already passed. The fold calls it on the bars where strategies
signal; a property test holds it equal to draining the step.

>>> import numpy as np, fbt
>>> from fbt.core.events import SignalEvent, SignalType
>>> from fbt.kernel.context import Context
>>> from fbt.core.state import Portfolio
>>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(2, dtype=np.int64),
...                                 columns={"close": np.array([[10.0, 11.0]])})
>>> chain = book_chain(Context(data=data, config=fbt.Config(), strategy_names=("s",), steps=(None,)))
>>> long = SignalEvent(timestamp=1, strategy_id="s", symbol="A", signal_type=SignalType.LONG)
>>> portfolio, events = chain(Portfolio.initial(capital=1000.0, n_symbols=1), 1, (long,))  # 1000 - (1100 + 1.30)
>>> [type(e).__name__ for e in events], portfolio.cash, portfolio.positions
(['SignalEvent', 'OrderEvent', 'FillEvent'], -101.29999999999995, (100.0,))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from fbt.core.events import (
    Direction,
    Event,
    FillEvent,
    MarketEvent,
    OrderEvent,
    OrderType,
    SignalEvent,
    SignalType,
)
from fbt.core.market import FIELDS
from fbt.core.state import Portfolio
from fbt.kernel.context import Context
from fbt.kernel.portfolio import book_order_error

__all__ = ["BookChain", "book_chain", "unchecked"]

T = TypeVar("T")

#: ``chain(portfolio, bar, signals) -> (portfolio, handled events)``; the signals come first in the events.
BookChain = Callable[[Portfolio, int, Sequence[SignalEvent]], tuple[Portfolio, list[Event]]]


def unchecked(cls: type[T]) -> Callable[..., T]:
    """Return a positional constructor of a frozen slotted record that skips its validators.

    For records the fold builds itself from values it has already checked (an order from a
    checked signal, a fill at a checked price): the same object as ``cls(**fields)``, cheaper.
    Every field is passed, in the class's field order.

    >>> from fbt.core.events import CancelReason, OrderCancelled
    >>> make = unchecked(OrderCancelled)
    >>> make(5, "A", 1, Direction.BUY, 10.0, CancelReason.EXPIRED) == OrderCancelled(
    ...     timestamp=5, symbol="A", order_id=1, direction=Direction.BUY, quantity=10.0, reason=CancelReason.EXPIRED)
    True
    """
    fields = [a.name for a in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    body = []
    for k, name in enumerate(fields):
        namespace[f"set{k}"] = getattr(cls, name).__set__
        body.append(f" set{k}(self, {name})\n")
    source = f"def make({', '.join(fields)}):\n self = new(cls)\n{''.join(body)} return self\n"
    exec(source, namespace)
    make: Callable[..., T] = namespace["make"]
    return make


_ADJ = FIELDS.index("adj_close")
_INF = float("inf")
_make_order = unchecked(OrderEvent)
_make_fill = unchecked(FillEvent)
_make_portfolio = unchecked(Portfolio)
_BUY, _SELL, _MKT = Direction.BUY, Direction.SELL, OrderType.MKT
_LONG, _SHORT, _EXIT = SignalType.LONG, SignalType.SHORT, SignalType.EXIT


def book_chain(ctx: Context) -> BookChain:
    """Return the fused book-mode chain of a run (see the module's docstring)."""
    index = ctx.symbol_index
    prices = ctx.data.values[_ADJ]
    stamps = ctx.data.timestamps
    commission = ctx.config.commission
    unit = ctx.config.quantity

    def chain(portfolio: Portfolio, bar: int, signals: Sequence[SignalEvent]) -> tuple[Portfolio, list[Event]]:
        if len(signals) == 1:
            return one(portfolio, bar, signals[0])
        positions = portfolio.positions
        sent = portfolio.orders_sent
        orders: list[OrderEvent] = []
        for signal in signals:
            if signal.order is not None:
                raise book_order_error(signal)
            decided = _naive(signal.signal_type, positions[index[signal.symbol]], unit)
            if decided is None:
                continue
            sent += 1
            orders.append(_make_order(signal.timestamp, signal.symbol, decided[0], decided[1], _MKT, sent, None))
        events: list[Event] = [*signals, *orders]
        if not orders:
            return portfolio, events
        timestamp = stamps.item(bar)
        cash, paid, held_now = portfolio.cash, portfolio.commission, list(positions)
        for order in orders:
            s = index[order.symbol]
            price = prices.item(s, bar)
            quantity = order.quantity
            fee = commission(quantity, price)
            if price != price or fee.__class__ is not float or not 0.0 <= fee < _INF:
                # no price yet, or a commission the fill's validators must judge: the step's path raises
                return _checked(portfolio, bar, signals, ctx)
            fill = _make_fill(timestamp, order.symbol, "SIM", quantity, order.direction, price, fee, order.order_id,
                              0.0)
            events.append(fill)
            sign = 1.0 if order.direction is _BUY else -1.0
            held_now[s] = held_now[s] + sign * quantity
            cash = cash - (sign * price * quantity + fee)
            paid = paid + fee
        return _make_portfolio(cash, paid, tuple(held_now), sent), events

    def one(portfolio: Portfolio, bar: int, signal: SignalEvent) -> tuple[Portfolio, list[Event]]:
        """The same for a bar with one signal (most bars that trade), without the loops."""
        if signal.order is not None:
            raise book_order_error(signal)
        symbol = signal.symbol
        s = index[symbol]
        positions = portfolio.positions
        held = positions[s]
        decided = _naive(signal.signal_type, held, unit)
        if decided is None:
            return portfolio, [signal]
        quantity, direction = decided
        sent = portfolio.orders_sent + 1
        order = _make_order(signal.timestamp, symbol, quantity, direction, _MKT, sent, None)
        price = prices.item(s, bar)
        fee = commission(quantity, price)
        if price != price or fee.__class__ is not float or not 0.0 <= fee < _INF:
            return _checked(portfolio, bar, (signal,), ctx)
        fill = _make_fill(stamps.item(bar), symbol, "SIM", quantity, direction, price, fee, sent, 0.0)
        sign = 1.0 if direction is _BUY else -1.0
        if len(positions) == 1:
            after: tuple[float, ...] = (held + sign * quantity,)
        else:
            moved = list(positions)
            moved[s] = held + sign * quantity
            after = tuple(moved)
        return _make_portfolio(portfolio.cash - (sign * price * quantity + fee), portfolio.commission + fee, after,
                               sent), [signal, order, fill]

    return chain


def _naive(kind: SignalType, held: float, unit: float) -> tuple[float, Direction] | None:
    """The book's order for a signal and the symbol's position: (quantity, direction), or None for none."""
    if kind is _LONG and held == 0:
        return unit, _BUY
    if kind is _SHORT and held == 0:
        return unit, _SELL
    if kind is _EXIT and held > 0:
        return held, _SELL
    if kind is _EXIT and held < 0:
        return -held, _BUY
    return None


def _checked(
    portfolio: Portfolio, bar: int, signals: Sequence[SignalEvent], ctx: Context
) -> tuple[Portfolio, list[Event]]:
    """The step's own path, for the rare bar the fused path will not take: it raises the clear error."""
    from fbt.core.state import World
    from fbt.kernel.loop import drain
    from fbt.kernel.step import make_step

    world = World(market=MarketEvent(bar, ctx.data), strategies=(), portfolio=portfolio)
    world, handled = drain(make_step(ctx), world, signals)
    return world.portfolio, handled
