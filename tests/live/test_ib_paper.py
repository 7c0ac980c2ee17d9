"""Smoke test of the IB adapter against a real TWS or IB Gateway (a paper account), skipped by default.

Set ``FBT_IB_HOST``, ``FBT_IB_PORT`` and ``FBT_IB_CLIENT_ID`` (for example ``127.0.0.1``, ``7497``
for TWS paper or ``4002`` for Gateway paper, and a client id no other program uses) to run it: it
connects, reads positions, open and completed orders and executions, and disconnects. It places
nothing unless ``FBT_IB_PAPER_ORDERS=1`` is set as well; then it sends one limit order to buy one
share of ``FBT_IB_PAPER_SYMBOL`` (default ``SPY``) at 1.00, far below the market so it does not
fill, sees the venue accept it and cancels it. Use a paper account.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

pytest.importorskip("ib_async")

from fbt.core.kinds import Direction, OrderType, TimeInForce
from fbt.live.ib import IBAdapter
from fbt.live.messages import BrokerMessage, OrderIntent, OrderState, OrderStatus, VenueError

ENV = ("FBT_IB_HOST", "FBT_IB_PORT", "FBT_IB_CLIENT_ID")

pytestmark = pytest.mark.skipif(
    not all(os.environ.get(name) for name in ENV),
    reason="no TWS or IB Gateway: set FBT_IB_HOST, FBT_IB_PORT and FBT_IB_CLIENT_ID to run the paper-account test",
)


def make_adapter() -> IBAdapter:
    return IBAdapter(
        os.environ["FBT_IB_HOST"],
        int(os.environ["FBT_IB_PORT"]),
        int(os.environ["FBT_IB_CLIENT_ID"]),
        account=os.environ.get("FBT_IB_ACCOUNT", ""),
        timeout=15.0,
    )


def test_connect_and_read_the_account() -> None:
    async def main() -> None:
        ib = make_adapter()
        await ib.connect()
        try:
            positions = await ib.positions()
            assert all(isinstance(k, str) and isinstance(v, float) for k, v in positions.items())
            for s in (*await ib.open_orders(), *await ib.completed_orders()):
                assert isinstance(s, OrderStatus)
            await ib.executions()
        finally:
            await ib.close()

    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.skipif(os.environ.get("FBT_IB_PAPER_ORDERS") != "1", reason="set FBT_IB_PAPER_ORDERS=1 to send an order")
def test_a_far_limit_order_is_accepted_and_cancelled() -> None:
    symbol = os.environ.get("FBT_IB_PAPER_SYMBOL", "SPY")
    ref = f"fbt-{time.time_ns() % 16**12:012x}-0-0"  # a fresh name: this test is not a replayable run

    async def main() -> None:
        ib = make_adapter()
        await ib.connect()
        stream = ib.messages()
        seen: list[BrokerMessage] = []

        async def wait_for_state(*states: OrderState) -> None:
            while True:
                message = await asyncio.wait_for(anext(stream), 30)
                seen.append(message)
                if isinstance(message, VenueError) and message.order_ref == ref and message.code not in (399,):
                    pytest.fail(f"the venue refused the test order: {message}")
                if isinstance(message, OrderStatus) and message.order_ref == ref and message.state in states:
                    return

        try:
            await ib.submit(
                OrderIntent(order_ref=ref, bar=0, order_id=0, symbol=symbol, direction=Direction.BUY, quantity=1,
                            order_type=OrderType.LMT, limit_price=1.0, time_in_force=TimeInForce.DAY)
            )
            await wait_for_state(OrderState.PRE_SUBMITTED, OrderState.SUBMITTED)
            assert ref in {s.order_ref for s in await ib.open_orders()}
            await ib.cancel(ref)
            await wait_for_state(OrderState.CANCELLED, OrderState.API_CANCELLED)
        finally:
            await ib.close()

    asyncio.run(asyncio.wait_for(main(), 120))
