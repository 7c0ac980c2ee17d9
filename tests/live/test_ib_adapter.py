"""Contract tests of the IB adapter: the unmodified ``ib_async`` client against the fake TWS.

Every test runs its own event loop under a time limit; the fake stops itself as well. A fixture
fails a test in which ``ib_async``'s decoder could not read a message of the fake (it logs instead
of raising), so the fake's field layouts are checked by the real decoder every time.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import pytest

pytest.importorskip("ib_async")

from fbt.core.errors import ConfigError
from fbt.core.kinds import Direction, OrderType, TimeInForce
from fbt.live.contracts import ContractSpec
from fbt.live.ib import IBAdapter, IBError, ib_contract, ib_order, to_nanos
from fbt.live.messages import (
    BrokerMessage,
    CommissionReport,
    Connection,
    ConnectionState,
    ExecutionReport,
    OrderIntent,
    OrderState,
    OrderStatus,
    VenueError,
)
from tests.live.fake_tws import (
    Drop,
    Error,
    Exec,
    FakeTWS,
    OpenOrder,
    Placed,
    Report,
    Status,
    Step,
    free_port,
)

T = TypeVar("T")
CLIENT = 11
NOW = 7  # the adapter's injected clock: messages without a broker time carry it
REF = "fbt-0123456789ab-3-0"
REF2 = "fbt-0123456789ab-4-0"
#: 2024-01-02 10:30:00 New York (EST, UTC-5) = 15:30:00 UTC, by hand: 19724 days * 86400 + 55800 s
T1030 = (19724 * 86400 + 15 * 3600 + 30 * 60) * 10**9
T1031 = T1030 + 60 * 10**9
SENTINEL = Error(-1, 2104, "Market data farm connection is OK:usfarm")
FARM_OK = VenueError(code=2104, message="Market data farm connection is OK:usfarm", time=NOW)


def run(coro: Coroutine[Any, Any, T], limit: float = 15.0) -> T:
    """Run one test's coroutine on a fresh loop, failing it after ``limit`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, limit))


@pytest.fixture(autouse=True)
def decoder_reads_everything(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.ERROR, logger="ib_async")
    yield
    broken = [r.getMessage() for r in caplog.records if r.name == "ib_async.Decoder"]
    assert broken == [], broken


def intent(ref: str = REF, quantity: float = 100, **kw: Any) -> OrderIntent:
    return OrderIntent(order_ref=ref, bar=3, order_id=1, symbol="AAPL", direction=Direction.BUY, quantity=quantity,
                       **kw)


def adapter(tws: FakeTWS, **kw: Any) -> IBAdapter:
    kw.setdefault("timeout", 3.0)
    return IBAdapter("127.0.0.1", tws.port, CLIENT, clock=lambda: NOW, **kw)


def connected(tws: FakeTWS, detail: str = "") -> Connection:
    where = f"127.0.0.1:{tws.port} (client id {CLIENT})"
    return Connection(state=ConnectionState.CONNECTED, time=NOW, detail=where + detail)


async def until(stream: AsyncIterator[BrokerMessage], last: BrokerMessage) -> list[BrokerMessage]:
    """The stream's messages up to and including ``last`` (each within 5 s)."""
    out: list[BrokerMessage] = []
    while not out or out[-1] != last:
        out.append(await asyncio.wait_for(anext(stream), 5.0))
    return out


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (up to 5 s) until ``condition()`` holds."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not come true within 5 s")


def execution(exec_id: str, oid: int, quantity: float, price: float, cumulative: float, time: int = T1030,
              ref: str = REF) -> ExecutionReport:
    return ExecutionReport(exec_id=exec_id, order_ref=ref, broker_order_id=oid, symbol="AAPL",
                           direction=Direction.BUY, quantity=quantity, price=price, time=time,
                           cumulative=cumulative, exchange="ISLAND")


def status(oid: int, state: OrderState, filled: float, remaining: float, ref: str = REF, **kw: Any) -> OrderStatus:
    return OrderStatus(order_ref=ref, broker_order_id=oid, state=state, filled=filled, remaining=remaining,
                       time=NOW, **kw)


def commission(exec_id: str, amount: float) -> CommissionReport:
    return CommissionReport(exec_id=exec_id, commission=amount, currency="USD", realized_pnl=0.0)


E1, E2 = "0000e0d5.65943c1f.01.01", "0000e0d5.65943c20.01.01"


def partial_fills(o: Placed) -> list[Step]:
    """Two partial fills, a repeated execution and status, a commission report after Filled, twice."""
    i = o.order_id
    return [
        OpenOrder(i, "Submitted"), Status(i, "Submitted"),
        Exec(i, E1, 40, 187.5), Status(i, "Submitted"), Report(E1, 0.4),
        Exec(i, E1, 40, 187.5),  # the same execution again
        Exec(i, E2, 60, 187.75, time="20240102 10:31:00 America/New_York"),
        Status(i, "Filled"), Status(i, "Filled"),
        Report(E2, 0.6), Report(E2, 0.6),  # late, and repeated
        SENTINEL,
    ]  # fmt: skip


def test_partial_fills_duplicates_and_a_late_commission_report() -> None:
    async def main() -> None:
        async with FakeTWS(on_order=partial_fills) as tws:
            ib = adapter(tws)
            await ib.connect()
            stream = ib.messages()
            await ib.submit(intent())
            got = await until(stream, FARM_OK)
            (oid,) = ib.order_ids
            assert got == [
                connected(tws),
                status(oid, OrderState.SUBMITTED, 0, 100),
                execution(E1, oid, 40, 187.5, 40),
                status(oid, OrderState.SUBMITTED, 40, 60),
                commission(E1, 0.4),
                # ib_async drops the repeated execution and the unchanged Filled status itself
                execution(E2, oid, 60, 187.75, 100, time=T1031),
                status(oid, OrderState.FILLED, 100, 0),
                commission(E2, 0.6),
                commission(E2, 0.6),  # a repeated report reaches the normaliser, which absorbs it
                FARM_OK,
            ]
            assert tws.order_refs == [REF]
            assert tws.orders[oid].order_type == "MKT" and tws.orders[oid].tif == "GTC"
            assert tws.orders[oid].action == "BUY" and tws.orders[oid].quantity == 100
            assert ib.order_ids == (oid,)
            assert await ib.executions() == (
                execution(E1, oid, 40, 187.5, 40), commission(E1, 0.4),
                execution(E2, oid, 60, 187.75, 100, time=T1031), commission(E2, 0.6),
            )  # fmt: skip
            assert await ib.positions() == {"AAPL": 100.0}
            assert await ib.open_orders() == ()
            assert await ib.completed_orders() == (status(oid, OrderState.FILLED, 100, 0, reason=""),)
            await ib.close()
            assert tws.client_ids == [CLIENT]
            assert tws.versions == ["v157..178"]

    run(main())


def test_a_dropped_socket_then_reconnect_and_replay() -> None:
    def script(o: Placed) -> list[Step]:
        i = o.order_id
        if o.order_ref == REF2:
            return [OpenOrder(i, "Submitted"), Status(i, "Submitted"), SENTINEL]
        # the second fill, the Filled status and both commission reports happen while the client is away
        return [OpenOrder(i, "Submitted"), Status(i, "Submitted"), Exec(i, E1, 40, 187.5), Report(E1, 0.4),
                Drop(), Exec(i, E2, 60, 187.75), Status(i, "Filled"), Report(E2, 0.6)]

    async def main() -> None:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        # the fake restarts its next valid id at 1 on every connection, and answers the first two
        # reconnect attempts with "client id in use" (TWS has not yet seen the old socket go)
        async with FakeTWS(on_order=script, busy_connections=frozenset({1, 2})) as tws:
            ib = adapter(tws, sleep=sleep, backoff_initial=0.5, backoff_cap=1.5)
            await ib.connect()
            stream = ib.messages()
            await ib.submit(intent())
            (oid,) = ib.order_ids
            disconnected = Connection(state=ConnectionState.DISCONNECTED, time=NOW,
                                      detail=f"127.0.0.1:{tws.port} (client id {CLIENT})")
            before = await until(stream, disconnected)
            assert before == [
                connected(tws),
                status(oid, OrderState.SUBMITTED, 0, 100),
                execution(E1, oid, 40, 187.5, 40),
                commission(E1, 0.4),
                disconnected,
            ]
            with pytest.raises(IBError, match="not connected"):
                await ib.submit(intent(REF2))
            assert await ib.reconnect() == 3
            assert slept == [0.5, 1.0, 1.5]  # the capped schedule, the same client id each time
            assert tws.client_ids == [CLIENT] * 4
            # while reconnecting ib_async re-reads the completed order and its executions, and passes
            # the commission reports of the order on (the one missed while away, and the first again)
            after = await until(stream, connected(tws, ": reconnected after 3 attempts"))
            assert after == [commission(E1, 0.4), commission(E2, 0.6),
                             connected(tws, ": reconnected after 3 attempts")]
            replay = await ib.executions()
            assert replay == (
                execution(E1, oid, 40, 187.5, 40), commission(E1, 0.4),
                execution(E2, oid, 60, 187.75, 100), commission(E2, 0.6),
            )  # fmt: skip
            assert replay[0] == before[2]  # the same record: the normaliser's dedup absorbs it
            assert await ib.positions() == {"AAPL": 100.0}
            assert await ib.completed_orders() == (status(oid, OrderState.FILLED, 100, 0),)
            # an order after the reconnect gets a fresh id although the fake restarted its count
            await ib.submit(intent(REF2, 10))
            await until(stream, FARM_OK)
            ids = tws.order_ids
            assert ids == sorted(set(ids)) and len(ids) == 2 and ids[1] > ids[0]
            assert ib.order_ids == tuple(ids)
            assert tws.order_refs == [REF, REF2]
            assert all(m[0] != "4" or m[3] != "103" for m in tws.received)
            await ib.close()

    run(main())


def test_order_ids_strictly_increase_over_many_orders_and_reconnects() -> None:
    async def main() -> None:
        async def sleep(seconds: float) -> None:
            pass

        async with FakeTWS(next_valid_id=1) as tws:
            ib = adapter(tws, sleep=sleep)
            await ib.connect()
            for n in range(12):
                await ib.submit(intent(f"fbt-0123456789ab-{n}-0"))
                await eventually(lambda sent=n + 1: len(tws.order_ids) == sent)
                if n % 4 == 3:
                    tws.drop_all()
                    await eventually(lambda: not ib.is_connected())
                    await ib.reconnect()
            ids = tws.order_ids
            assert len(ids) == 12 and ids == sorted(set(ids))
            assert tws.connections == 4
            await ib.close()

    run(main())


def test_a_client_id_in_use_is_one_clear_error() -> None:
    async def main() -> None:
        async with FakeTWS(busy_client_ids=frozenset({CLIENT})) as tws:
            ib = adapter(tws, timeout=10.0)
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(IBError) as caught:
                await ib.connect()
            assert loop.time() - start < 5.0  # the 326 ends the attempt, not the timeout
            assert str(caught.value) == (
                f"127.0.0.1:{tws.port} (client id {CLIENT}): client id {CLIENT} is already in use (IB code 326); "
                "use another one"
            )

    run(main())


def test_nothing_listening_is_one_clear_error() -> None:
    async def main() -> None:
        port = await free_port()
        ib = IBAdapter("127.0.0.1", port, CLIENT, timeout=3.0)
        with pytest.raises(IBError) as caught:
            await ib.connect()
        assert str(caught.value) == (
            f"nothing is listening on 127.0.0.1:{port}: start TWS or IB Gateway and enable its API on that port"
        )

    run(main())


def test_a_silent_peer_times_out_with_one_clear_error() -> None:
    async def main() -> None:
        async with FakeTWS(mute=True) as tws:
            ib = adapter(tws, timeout=0.5)
            with pytest.raises(IBError, match=r"did not finish the API handshake within 0\.5s"):
                await ib.connect()

    run(main())


def test_a_peer_hanging_up_in_the_handshake_is_one_clear_error() -> None:
    async def main() -> None:
        async with FakeTWS(hang_up=True) as tws:
            ib = adapter(tws)
            with pytest.raises(IBError, match="closed the connection during the handshake"):
                await ib.connect()

    run(main())


def test_reconnect_gives_up_after_its_schedule() -> None:
    async def main() -> None:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async with FakeTWS(busy_connections=frozenset(range(1, 10))) as tws:
            ib = adapter(tws, sleep=sleep, reconnect_attempts=3, backoff_initial=1.0, backoff_factor=3.0)
            await ib.connect()
            tws.drop_all()
            with pytest.raises(IBError, match=r"could not reconnect to .* in 3 attempts: .*IB code 326"):
                await ib.reconnect()
            assert slept == [1.0, 3.0, 9.0]
            await ib.close()

    run(main())


def test_a_rejection_is_a_venue_error_with_the_order_ref() -> None:
    text = ("Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION "
            "YOUR EQUITY WITH LOAN VALUE [1000.00 USD] MUST EXCEED THE INITIAL MARGIN [18750.00 USD]")

    def script(o: Placed) -> list[Step]:
        return [Error(o.order_id, 201, text), SENTINEL]

    async def main() -> None:
        async with FakeTWS(on_order=script) as tws:
            ib = adapter(tws)
            await ib.connect()
            stream = ib.messages()
            await ib.submit(intent())
            (oid,) = ib.order_ids
            assert await until(stream, FARM_OK) == [
                connected(tws),
                VenueError(code=201, message=text, time=NOW, broker_order_id=oid, order_ref=REF),
                # ib_async ends the trade on the error: its Cancelled carries the error
                status(oid, OrderState.CANCELLED, 0, 100, reason=text, error_code=201),
                FARM_OK,
            ]
            await ib.close()

    run(main())


def test_connectivity_notices_are_connection_messages() -> None:
    def on_connect(index: int) -> list[Step]:
        return [
            Error(-1, 1100, "Connectivity between IB and Trader Workstation has been lost."),
            Error(-1, 1101, "Connectivity between IB and TWS has been restored- data lost."),
            Error(-1, 1102, "Connectivity between IB and TWS has been restored- data maintained."),
            SENTINEL,
        ]

    async def main() -> None:
        async with FakeTWS(on_connect=on_connect) as tws:
            ib = adapter(tws)
            await ib.connect()
            got = await until(ib.messages(), FARM_OK)
            # the notices came while ib_async was still synchronising: before the adapter's CONNECTED
            assert [m.state for m in got if isinstance(m, Connection)] == [
                ConnectionState.LOST, ConnectionState.RESTORED_DATA_LOST, ConnectionState.RESTORED_DATA_KEPT,
            ]
            assert got[-1] == FARM_OK
            assert got[0] == Connection(state=ConnectionState.LOST, time=NOW,
                                        detail="IB 1100: Connectivity between IB and Trader Workstation has been lost.")
            await ib.submit(intent())  # 1102 ended the 1100: orders go out again
            assert len(ib.order_ids) == 1
            await asyncio.sleep(0.05)  # ib_async asks for the account summary after 1102; the fake answers
            await ib.close()

    run(main())


def test_nothing_is_sent_while_ib_reports_its_link_lost() -> None:
    def on_connect(index: int) -> list[Step]:
        return [Error(-1, 1100, "Connectivity between IB and Trader Workstation has been lost."), SENTINEL]

    async def main() -> None:
        async with FakeTWS(on_connect=on_connect) as tws:
            ib = adapter(tws)
            await ib.connect()
            await until(ib.messages(), FARM_OK)
            with pytest.raises(IBError, match=r"link to TWS .* lost \(code 1100\); sending nothing"):
                await ib.submit(intent())
            assert ib.order_ids == ()
            await ib.close()

    run(main())


def test_cancel_limit_and_stop_orders() -> None:
    def script(o: Placed) -> list[Step]:
        return [OpenOrder(o.order_id, "Submitted"), Status(o.order_id, "Submitted")]

    def on_cancel(o: Placed) -> list[Step]:
        return [Status(o.order_id, "Cancelled"), SENTINEL]

    async def main() -> None:
        async with FakeTWS(on_order=script, on_cancel=on_cancel) as tws:
            ib = adapter(tws, account="DU1234567")
            await ib.connect()
            stream = ib.messages()
            await ib.submit(intent(order_type=OrderType.STP_LMT, limit_price=190.5, stop_price=190.0,
                                   time_in_force=TimeInForce.DAY))
            (oid,) = ib.order_ids
            await eventually(lambda: oid in tws.orders)
            placed = tws.orders[oid]
            assert (placed.order_type, placed.limit, placed.aux, placed.tif) == ("STP LMT", "190.5", "190.0", "DAY")
            assert placed.account == "DU1234567"
            first = await asyncio.wait_for(anext(stream), 5.0)
            assert first == connected(tws)
            assert await asyncio.wait_for(anext(stream), 5.0) == status(oid, OrderState.SUBMITTED, 0, 100)
            assert await ib.open_orders() == (status(oid, OrderState.SUBMITTED, 0, 100),)
            await ib.cancel(REF)
            # the PendingCancel ib_async makes up on the request is not the venue's: left out
            assert await until(stream, FARM_OK) == [status(oid, OrderState.CANCELLED, 0, 100), FARM_OK]
            assert [m[0] for m in tws.received].count("4") == 1
            with pytest.raises(IBError, match="cancel: no working order fbt-0123456789ab-9-9"):
                await ib.cancel("fbt-0123456789ab-9-9")
            with pytest.raises(IBError, match=f"submit: order {REF} was already sent"):
                await ib.submit(intent())
            assert len(tws.order_ids) == 1
            await ib.close()
            await ib.close()  # idempotent
            assert [m async for m in ib.messages()] == []

    run(main())


def test_futures_contracts_and_their_symbols() -> None:
    es = ContractSpec(symbol="ES", sec_type="FUT", exchange="CME", expiry="202403", multiplier=50)

    def script(o: Placed) -> list[Step]:
        return [OpenOrder(o.order_id, "Submitted"), Exec(o.order_id, E1, 2, 4800.25), SENTINEL]

    async def main() -> None:
        async with FakeTWS(on_order=script) as tws:
            ib = adapter(tws, contracts={"ESH4": es})
            await ib.connect()
            stream = ib.messages()
            await ib.submit(OrderIntent(order_ref=REF, bar=3, order_id=1, symbol="ESH4", direction=Direction.SELL,
                                        quantity=2))
            (oid,) = ib.order_ids
            await eventually(lambda: oid in tws.orders)
            placed = tws.orders[oid]
            assert (placed.symbol, placed.sec_type, placed.expiry, placed.multiplier, placed.exchange) == (
                "ES", "FUT", "202403", "50", "CME")
            got = await until(stream, FARM_OK)
            assert got[1] == ExecutionReport(exec_id=E1, order_ref=REF, broker_order_id=oid, symbol="ESH4",
                                             direction=Direction.SELL, quantity=2, price=4800.25, time=T1030,
                                             cumulative=2, exchange="ISLAND")
            assert await ib.positions() == {"ESH4": -2.0}
            await ib.close()

    run(main())


def test_conversions_without_a_venue() -> None:
    stock = ib_contract(ContractSpec(symbol="BRK B", primary_exchange="NYSE"))
    assert (stock.secType, stock.symbol, stock.exchange, stock.primaryExchange, stock.currency) == (
        "STK", "BRK B", "SMART", "NYSE", "USD")
    order = ib_order(intent(order_type=OrderType.LMT, limit_price=10.25), account="DU1")
    assert (order.orderType, order.lmtPrice, order.orderRef, order.account, order.action) == (
        "LMT", 10.25, REF, "DU1", "BUY")
    assert (ib_order(intent(order_type=OrderType.MOO)).orderType, ib_order(intent(order_type=OrderType.MOO)).tif) == (
        "MKT", "OPG")
    assert ib_order(intent(order_type=OrderType.STP, stop_price=9.5)).auxPrice == 9.5
    with pytest.raises(ConfigError, match=f"order {REF}: a LMT order needs a positive limit_price, got None"):
        ib_order(intent(order_type=OrderType.LMT))
    with pytest.raises(ConfigError, match=r"port: expected a TCP port 1\.\.65535, got 0"):
        IBAdapter("127.0.0.1", 0, 1)
    with pytest.raises(ConfigError, match="client_id: expected a whole number >= 0, got -1"):
        IBAdapter("127.0.0.1", 7497, -1)


def test_times_are_exact_nanoseconds() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    ny = dt.datetime(2024, 1, 2, 10, 30, tzinfo=ZoneInfo("America/New_York"))
    assert to_nanos(ny) == T1030 == 1_704_209_400_000_000_000
    assert to_nanos(dt.datetime(2024, 7, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)) % 10**9 == 123_456_000


def test_without_ib_async_the_adapter_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "ib_async" or m.startswith("ib_async.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if never installed: submodules too
    ib = IBAdapter("127.0.0.1", 7497, 1)  # building one needs nothing
    with pytest.raises(IBError, match=r"needs the ib_async package: pip install 'fbt\[ib\]'"):
        run(ib.connect())
