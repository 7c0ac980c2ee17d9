"""The broker adapter: the imperative shell a live session drives, one protocol for every venue.

An adapter owns the connection and nothing else. It turns fbt's :class:`~fbt.live.messages.OrderIntent`
into the venue's orders and the venue's callbacks into :data:`~fbt.live.messages.BrokerMessage`
records, which it hands to the session through :meth:`BrokerAdapter.messages`, in arrival order.
It keeps no trading state of its own beyond what the connection needs (IB's next valid order id,
the map from fbt's ``order_ref`` to the session's ``orderId``): positions, fills and order life
cycles are decided by the pure normaliser and the kernel, from the messages.

Implementations: ``fbt.live.sim`` (paper trading with the backtest's own execution models, no
venue), ``fbt.live.ib`` (Interactive Brokers through the optional ``ib_async`` extra), and the
scripted adapter of the tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

from fbt.live.messages import BrokerMessage, OrderIntent, OrderStatus

__all__ = ["BrokerAdapter"]


class BrokerAdapter(Protocol):
    """What a live session needs from a venue (every method may raise :class:`fbt.LiveError`-like
    errors with one clear message; none returns a broker library's own objects)."""

    name: str

    async def connect(self) -> None:
        """Open the connection (and on IB, wait for ``nextValidId`` and ``managedAccounts``)."""

    async def close(self) -> None:
        """Close the connection; idempotent."""

    async def submit(self, intent: OrderIntent) -> None:
        """Send one order, tagged with ``intent.order_ref``; its fate arrives as messages."""

    async def cancel(self, order_ref: str) -> None:
        """Ask the venue to cancel the working order sent as ``order_ref``."""

    async def open_orders(self) -> Sequence[OrderStatus]:
        """The venue's working orders of this account (for reconciliation after a restart)."""

    async def completed_orders(self) -> Sequence[OrderStatus]:
        """The venue's finished orders of this session (filled, cancelled, rejected)."""

    async def executions(self) -> Sequence[BrokerMessage]:
        """Every execution of the session and its commission report, to replay through the normaliser."""

    async def positions(self) -> Mapping[str, float]:
        """The venue's position per symbol (signed units), to compare with the portfolio's."""

    def messages(self) -> AsyncIterator[BrokerMessage]:
        """The venue's messages in arrival order, for as long as the adapter is open."""
        ...
