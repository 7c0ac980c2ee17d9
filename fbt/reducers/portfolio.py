"""The portfolio reducer, book semantics: naive orders from signals, fills into cash and positions.

Orders (the seed's ``generate_naive_order``): LONG from flat buys ``config.quantity`` units, SHORT
from flat sells them, EXIT closes the whole position; any other combination sends nothing.

Fills: ``position += sign * quantity``; ``cash -= sign * price * quantity + commission``;
``commission += commission``. The fill's own price is used; in book mode the simulated broker fills
at the bar's ``adj_close``, which is the price the seed's portfolio charges.
"""

from __future__ import annotations

import attrs

from fbt.errors import StrategyError
from fbt.events import Direction, FillEvent, MarketEvent, OrderEvent, SignalEvent, SignalType
from fbt.market import FIELDS
from fbt.reducers.context import Context
from fbt.state import Portfolio

__all__ = ["apply_fill", "mark", "naive_orders"]

_ADJ = FIELDS.index("adj_close")


def naive_orders(
    portfolio: Portfolio, signal: SignalEvent, ctx: Context
) -> tuple[Portfolio, tuple[OrderEvent, ...]]:
    """Turn a signal into at most one market order, numbered from 1 in the run."""
    try:
        s = ctx.symbol_index[signal.symbol]
    except KeyError:
        raise StrategyError(
            f"strategy {signal.strategy_id!r} sent a signal for unknown symbol {signal.symbol!r}; "
            f"the data has {', '.join(ctx.data.symbols)}"
        ) from None
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


def apply_fill(portfolio: Portfolio, fill: FillEvent, ctx: Context) -> Portfolio:
    """Book a fill: move the position, pay for it and its commission out of cash.

    >>> from fbt.events import Direction, FillEvent
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


def mark(portfolio: Portfolio, market: MarketEvent) -> tuple[tuple[float, ...], float]:
    """Value the portfolio at a bar's ``adj_close``: ``(holdings per symbol, total)``.

    A flat symbol is worth 0 even before its first bar; ``total = cash + sum(holdings)``, summed
    in symbol order.
    """
    prices = market.data.values[_ADJ, :, market.index]
    holdings = tuple(0.0 if q == 0 else q * float(p) for q, p in zip(portfolio.positions, prices, strict=True))
    total = portfolio.cash
    for h in holdings:
        total = total + h
    return holdings, total
