"""Frozen state records: the portfolio, the broker, and the world the fold carries.

>>> p = Portfolio.initial(capital=1000.0, n_symbols=2)
>>> p.cash, p.positions
(1000.0, (0.0, 0.0))
"""

from __future__ import annotations

from typing import Any

import attrs

from fbt.core.events import MarketEvent, OrderEvent

__all__ = ["Broker", "Portfolio", "Working", "World"]


@attrs.frozen(kw_only=True)
class Portfolio:
    """Cash, cumulative commission and signed positions (aligned to the run's symbols).

    Holdings and total equity depend on prices, so they are computed from a bar, not stored:
    ``total = cash + sum(position * adj_close)``.
    """

    cash: float
    commission: float = 0.0
    positions: tuple[float, ...]
    orders_sent: int = 0

    @classmethod
    def initial(cls, *, capital: float, n_symbols: int) -> Portfolio:
        """Return a flat portfolio holding ``capital`` in cash."""
        return cls(cash=float(capital), positions=(0.0,) * n_symbols)


@attrs.frozen(kw_only=True)
class Working:
    """An order the broker holds, and what is left of it.

    ``remaining`` units are still to fill (``filled`` already did); an inactive order is a bracket
    child waiting for its parent; ``session`` is the calendar day (bar label // one day) a DAY order
    works on, -1 until the broker first looks at it; ``triggered`` marks a stop-limit whose stop was
    touched (it is a limit order from then on).
    """

    order: OrderEvent
    remaining: float
    filled: float = 0.0
    active: bool = True
    session: int = -1
    triggered: bool = False


@attrs.frozen(kw_only=True)
class Broker:
    """The simulated broker's state: orders accepted but not yet filled, oldest first.

    Book mode fills every order at once, so it never holds any; the realistic modes keep orders
    here until they fill, are cancelled, expire or are rejected.
    """

    pending: tuple[Working, ...] = ()


@attrs.frozen(kw_only=True)
class World:
    """Everything the fold carries from one event to the next.

    ``market`` is the latest market event (None before the first bar); ``strategies`` holds each
    strategy's own state, in the order the strategies were given.

    ``in_flight`` are the orders the portfolio has sent on this bar that the execution port has not
    taken yet: the queue is first in first out, so a bar's orders wait behind its later signals,
    and those signals are sized with them in view. ``withdrawn`` are the ids of in-flight orders an
    EXIT or CANCEL withdrew: they are cancelled when they reach the port. Both are empty between
    bars (every bar's queue is drained).
    """

    market: MarketEvent | None = None
    strategies: tuple[Any, ...]
    portfolio: Portfolio
    broker: Broker = Broker()
    in_flight: tuple[OrderEvent, ...] = ()
    withdrawn: tuple[int, ...] = ()
