"""The simulated broker, book semantics: every market order fills at once at the current bar.

Fill price: the symbol's ``adj_close`` at the current bar; commission from ``config.commission``;
stamped with the bar time (never the wall clock).
"""

from __future__ import annotations

import math

from fbt.errors import StrategyError
from fbt.events import FillEvent, MarketEvent, OrderEvent
from fbt.market import FIELDS
from fbt.reducers.context import Context
from fbt.state import Broker

__all__ = ["execute_order"]

_ADJ = FIELDS.index("adj_close")


def execute_order(
    broker: Broker, order: OrderEvent, market: MarketEvent, ctx: Context
) -> tuple[Broker, tuple[FillEvent, ...]]:
    """Fill a market order in full at the current bar's ``adj_close``."""
    s = ctx.symbol_index[order.symbol]
    price = float(ctx.data.values[_ADJ, s, market.index])
    if math.isnan(price):
        raise StrategyError(
            f"order {order.order_id} for {order.symbol} at bar {market.index} "
            f"({market.latest_datetime()}) comes before the symbol's first bar: it has no price yet"
        )
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
