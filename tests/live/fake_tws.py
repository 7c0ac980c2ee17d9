"""A fake TWS for the IB adapter's contract tests: IB's socket protocol on 127.0.0.1, scripted.

It speaks the protocol as the unmodified ``ib_async`` client expects it from a server of version
:data:`SERVER_VERSION`: the ``API\\0`` handshake with a length-prefixed ``v157..178`` range, the
server version and connection time, then length-prefixed, NUL-separated fields each way.
``startApi`` is answered with ``nextValidId`` and ``managedAccounts`` (or with error 326 and a
hang-up for a client id in use); requests for positions, open, completed orders and executions are
answered from the fake's books; a ``placeOrder`` runs the test's script for that order.

Real-time bars: ``reqRealTimeBars`` (message 50) is answered from ``on_bars(connection index)``, a
list of :class:`RtBar` (sent as ``realtimeBar`` on that symbol's subscription), :class:`Error` and
:class:`Drop`, sent in order once every symbol the list names has subscribed on the connection (the
steps after an error 1101 once they have subscribed again, as TWS sends them on the renewed request);
requests and cancellations (message 51) are recorded in ``bar_requests`` and ``bar_cancels``.

A script is a list of steps (:class:`OpenOrder`, :class:`Status`, :class:`Exec`, :class:`Report`,
:class:`Error`, :class:`Drop`). Every step updates the books; steps before a :class:`Drop` are
also sent, steps after it are what happens at the broker while the client is away (a later
``reqExecutions`` replays them). The fake records every message it received, so tests can assert
which order ids and ``orderRef`` values reached it; a repeated order id is answered with IB's error
103, as TWS does. It stops itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: The server version the fake announces (ib_async accepts 157..178).
SERVER_VERSION = 176

#: What IB sends for a number it has no value for (the largest double).
UNSET = repr(sys.float_info.max)

CONNECT_TIME = "20240102 09:00:00 America/New_York"
ACCOUNT = "DU1234567"
DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")


@dataclass
class Placed:
    """An order as the fake received it (and its state in the fake's books)."""

    order_id: int
    client_id: int
    symbol: str
    sec_type: str
    expiry: str
    multiplier: str
    exchange: str
    primary_exchange: str
    currency: str
    action: str
    quantity: float
    order_type: str
    limit: str
    aux: str
    tif: str
    account: str
    order_ref: str
    status: str = "PendingSubmit"
    filled: float = 0.0

    @property
    def perm_id(self) -> int:
        return 900_000 + self.order_id


@dataclass(frozen=True)
class Execution:
    exec_id: str
    order_id: int
    shares: float
    price: float
    time: str
    exchange: str


@dataclass(frozen=True)
class OpenOrder:
    """Send ``openOrder`` for the order with this status."""

    order_id: int
    status: str


@dataclass(frozen=True)
class Status:
    """Send ``orderStatus``; the fake's filled quantity and average price come from its executions."""

    order_id: int
    status: str


@dataclass(frozen=True)
class Exec:
    """Send ``execDetails`` of one execution (a repeated ``exec_id`` is sent again, not booked again)."""

    order_id: int
    exec_id: str
    shares: float
    price: float
    time: str = "20240102 10:30:00 America/New_York"
    exchange: str = "ISLAND"


@dataclass(frozen=True)
class Report:
    """Send ``commissionReport`` for an execution; ``realized`` None is IB's unset value."""

    exec_id: str
    commission: float
    currency: str = "USD"
    realized: float | None = None


@dataclass(frozen=True)
class Error:
    """Send ``error`` (``req_id`` -1 for a notice about the connection)."""

    req_id: int
    code: int
    text: str


@dataclass(frozen=True)
class Drop:
    """Hang up the connection; the script's later steps happen at the broker unseen."""


@dataclass(frozen=True)
class RtBar:
    """A 5-second bar of ``symbol`` starting at ``time`` (epoch seconds), sent as ``realtimeBar``."""

    symbol: str
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 100.0
    wap: float = 0.0
    count: int = 1


Step = OpenOrder | Status | Exec | Report | Error | Drop
BarStep = RtBar | Error | Drop
BarScript = Callable[[int], Sequence[BarStep]]
OrderScript = Callable[["Placed"], Sequence[Step]]
ConnectScript = Callable[[int], Sequence[Step]]


def _num(value: float) -> str:
    return repr(float(value))


def _frame(fields: Sequence[object]) -> bytes:
    body = "".join(f"{f}\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


def _contract(o: Placed, con_id: int) -> list[str]:
    # conId, symbol, secType, lastTradeDateOrContractMonth, strike, right, multiplier, exchange,
    # currency, localSymbol, tradingClass
    return [str(con_id), o.symbol, o.sec_type, o.expiry, "", "", o.multiplier, o.exchange, o.currency, "", ""]


@dataclass
class _Conn:
    index: int
    writer: asyncio.StreamWriter
    client_id: int = -1
    dropped: bool = False
    subscriptions: dict[str, int] = field(default_factory=dict)
    bars_sent: bool = False
    held: list[BarStep] = field(default_factory=list)  # the bars after a 1101, for the renewed subscription
    renewed: set[str] = field(default_factory=set)


@dataclass
class FakeTWS:
    """The fake server; ``async with FakeTWS(...) as tws`` listens on ``tws.port``."""

    on_order: OrderScript = lambda order: ()
    on_cancel: OrderScript | None = None
    on_connect: ConnectScript = lambda index: ()
    on_bars: BarScript = lambda index: ()
    #: answer startApi with 326 and hang up for these client ids ...
    busy_client_ids: frozenset[int] = frozenset()
    #: ... or for these connection indexes (0 the first connection)
    busy_connections: frozenset[int] = frozenset()
    #: accept, read the handshake, never answer
    mute: bool = False
    #: hang up right after the handshake, without a word
    hang_up: bool = False
    next_valid_id: int = 1
    #: announce as next valid id one more than the highest order id seen, as a TWS that keeps its books does
    ids_follow_orders: bool = False
    lifetime: float = 20.0

    port: int = 0
    received: list[list[str]] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    client_ids: list[int] = field(default_factory=list)
    orders: dict[int, Placed] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    commissions: dict[str, Report] = field(default_factory=dict)
    #: (connection index, symbol, request id) of every reqRealTimeBars, and the request ids cancelled
    bar_requests: list[tuple[int, str, int]] = field(default_factory=list)
    bar_cancels: list[int] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _conns: list[_Conn] = field(default_factory=list)
    _timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------------------ life cycle

    async def __aenter__(self) -> FakeTWS:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._timer = asyncio.get_running_loop().call_later(self.lifetime, self._expire)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._expire()
        if self._server is not None:
            await self._server.wait_closed()

    def _expire(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
        for conn in self._conns:
            conn.writer.close()

    @property
    def connections(self) -> int:
        return len(self._conns)

    @property
    def order_ids(self) -> list[int]:
        """The order ids of every placeOrder received, in arrival order."""
        return [int(m[1]) for m in self.received if m[0] == "3"]

    @property
    def order_refs(self) -> list[str]:
        return [m[26] for m in self.received if m[0] == "3"]

    def notify(self, error: Error) -> None:
        """Send ``error`` (a connectivity notice such as 1102) on every open connection now."""
        for conn in self._conns:
            self._send(conn, self._error(error.req_id, error.code, error.text))

    def drop_all(self) -> None:
        """Hang up every open connection now."""
        for conn in self._conns:
            self._drop(conn)

    # -------------------------------------------------------------------------------- protocol

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(index=len(self._conns), writer=writer)
        self._conns.append(conn)
        try:
            if await reader.readexactly(4) != b"API\0":
                return
            (size,) = struct.unpack(">I", await reader.readexactly(4))
            version = (await reader.readexactly(size)).decode()
            self.versions.append(version)
            low, high = (int(v) for v in version.split()[0].lstrip("v").split(".."))
            if self.mute or not low <= SERVER_VERSION <= high:
                await reader.read()  # until the client gives up
                return
            if self.hang_up:
                return
            self._send(conn, [SERVER_VERSION, CONNECT_TIME])
            while not conn.dropped:
                (size,) = struct.unpack(">I", await reader.readexactly(4))
                fields = (await reader.readexactly(size)).decode().split("\0")[:-1]
                self.received.append(fields)
                await self._handle(conn, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _send(self, conn: _Conn, fields: Sequence[object]) -> None:
        if not conn.dropped:
            conn.writer.write(_frame(fields))

    def _drop(self, conn: _Conn) -> None:
        conn.dropped = True
        conn.writer.close()

    async def _handle(self, conn: _Conn, f: list[str]) -> None:
        kind = f[0]
        if kind == "71":  # startApi: version, clientId, optionalCapabilities
            conn.client_id = int(f[2])
            self.client_ids.append(conn.client_id)
            if conn.client_id in self.busy_client_ids or conn.index in self.busy_connections:
                text = "Unable to connect as the client id is already in use. Retry with a unique client id."
                self._send(conn, self._error(-1, 326, text))
                await conn.writer.drain()
                self._drop(conn)
                return
            next_id = max([self.next_valid_id, *(i + 1 for i in self.orders)]) if self.ids_follow_orders \
                else self.next_valid_id
            self._send(conn, ["9", "1", next_id])
            self._send(conn, ["15", "1", ACCOUNT])
            await self._run(conn, self.on_connect(conn.index))
        elif kind == "3":
            await self._place(conn, f)
        elif kind == "4":  # cancelOrder: version, orderId, manualCancelOrderTime
            order = self.orders.get(int(f[2]))
            if order is not None:
                script = self.on_cancel(order) if self.on_cancel else [Status(order.order_id, "Cancelled")]
                await self._run(conn, script)
        elif kind in ("5", "16"):  # reqOpenOrders, reqAllOpenOrders
            for order in self.orders.values():
                if order.status not in DONE:
                    self._send(conn, self._open_order(order))
                    self._send(conn, self._status(order))
            self._send(conn, ["53", "1"])
        elif kind == "99":  # reqCompletedOrders
            for order in self.orders.values():
                if order.status in DONE:
                    self._send(conn, self._completed_order(order))
            self._send(conn, ["102"])
        elif kind == "7":  # reqExecutions: version, reqId, filter...
            req_id = int(f[2])
            for ex in self.executions:
                self._send(conn, self._exec_details(req_id, ex))
                report = self.commissions.get(ex.exec_id)
                if report is not None:
                    self._send(conn, self._commission(report))
            self._send(conn, ["55", "1", req_id])
        elif kind == "61":  # reqPositions
            for symbol, (order, quantity) in self._positions().items():
                self._send(conn, ["61", "3", ACCOUNT, *_contract(order, self._con_id(symbol)), _num(quantity), "0"])
            self._send(conn, ["62", "1"])
        elif kind == "62":  # reqAccountSummary (ib_async asks after 1102)
            self._send(conn, ["64", "1", f[2]])
        elif kind == "50":  # reqRealTimeBars: version, reqId, contract (12), barSize, whatToShow, useRTH, options
            conn.subscriptions[f[4]] = int(f[2])
            self.bar_requests.append((conn.index, f[4], int(f[2])))
            script = self.on_bars(conn.index)
            wanted = {step.symbol for step in script if isinstance(step, RtBar)}
            if script and not conn.bars_sent and wanted <= conn.subscriptions.keys():
                conn.bars_sent = True
                await self._send_bars(conn, script)
            elif conn.held:
                conn.renewed.add(f[4])
                if {step.symbol for step in conn.held if isinstance(step, RtBar)} <= conn.renewed:
                    held, conn.held = conn.held, []
                    await self._send_bars(conn, held)
        elif kind == "51":  # cancelRealTimeBars: version, reqId
            self.bar_cancels.append(int(f[2]))
            conn.subscriptions = {s: r for s, r in conn.subscriptions.items() if r != int(f[2])}

    async def _send_bars(self, conn: _Conn, script: Sequence[BarStep]) -> None:
        for step in script:
            if isinstance(step, Drop):
                await conn.writer.drain()
                self._drop(conn)
                return
            if isinstance(step, Error):
                self._send(conn, self._error(step.req_id, step.code, step.text))
                if step.code == 1101:  # data lost: the rest goes to the renewed subscription
                    conn.held, conn.renewed = list(script[script.index(step) + 1:]), set()
                    break
                continue
            req_id = conn.subscriptions.get(step.symbol)
            if req_id is not None:
                # realtimeBar: version, reqId, time, open, high, low, close, volume, wap, count
                self._send(conn, ["50", "3", req_id, step.time, _num(step.open), _num(step.high), _num(step.low),
                                  _num(step.close), _num(step.volume), _num(step.wap), step.count])
        await conn.writer.drain()

    async def _place(self, conn: _Conn, f: list[str]) -> None:
        order_id = int(f[1])
        if order_id in self.orders:
            self._send(conn, self._error(order_id, 103, "Duplicate order id"))
            return
        # f[2:14] is the contract: conId, symbol, secType, expiry, strike, right, multiplier,
        # exchange, primaryExchange, currency, localSymbol, tradingClass
        order = Placed(
            order_id=order_id,
            client_id=conn.client_id,
            symbol=f[3],
            sec_type=f[4],
            expiry=f[5],
            multiplier=f[8],
            exchange=f[9],
            primary_exchange=f[10],
            currency=f[11],
            action=f[16],
            quantity=float(f[17]),
            order_type=f[18],
            limit=f[19],
            aux=f[20],
            tif=f[21],
            account=f[23],
            order_ref=f[26],
        )
        self.orders[order_id] = order
        await self._run(conn, self.on_order(order))

    async def _run(self, conn: _Conn, steps: Sequence[Step]) -> None:
        away = False
        for step in steps:
            if isinstance(step, Drop):
                await conn.writer.drain()
                self._drop(conn)
                away = True
                continue
            message = self._book(step)
            if not away and message is not None:
                try:
                    self._send(conn, message)
                    await conn.writer.drain()
                except ConnectionError:  # the client went away: the broker goes on without it
                    away = True

    def _book(self, step: Step) -> list[object] | None:
        if isinstance(step, OpenOrder):
            order = self.orders[step.order_id]
            order.status = step.status
            return self._open_order(order)
        if isinstance(step, Status):
            order = self.orders[step.order_id]
            order.status = step.status
            return self._status(order)
        if isinstance(step, Exec):
            ex = Execution(step.exec_id, step.order_id, step.shares, step.price, step.time, step.exchange)
            if all(e.exec_id != ex.exec_id for e in self.executions):
                self.executions.append(ex)
                self.orders[step.order_id].filled += step.shares
            return self._exec_details(-1, ex)
        if isinstance(step, Report):
            self.commissions[step.exec_id] = step
            return self._commission(step)
        if isinstance(step, Error):
            return self._error(step.req_id, step.code, step.text)
        raise TypeError(step)

    # ---------------------------------------------------------------------------- the messages

    def _con_id(self, symbol: str) -> int:
        return 100_000 + sum(ord(c) for c in symbol)

    def _fills(self, order_id: int) -> list[Execution]:
        return [e for e in self.executions if e.order_id == order_id]

    def _average(self, order_id: int) -> float:
        fills = self._fills(order_id)
        shares = sum(e.shares for e in fills)
        return sum(e.shares * e.price for e in fills) / shares if shares else 0.0

    def _positions(self) -> dict[str, tuple[Placed, float]]:
        held: dict[str, tuple[Placed, float]] = {}
        for ex in self.executions:
            order = self.orders[ex.order_id]
            signed = ex.shares if order.action == "BUY" else -ex.shares
            held[order.symbol] = (order, held.get(order.symbol, (order, 0.0))[1] + signed)
        return held

    def _error(self, req_id: int, code: int, text: str) -> list[object]:
        # error: version, reqId, code, message, advancedOrderRejectJson (server version >= 166)
        return ["4", "2", req_id, code, text, ""]

    def _status(self, o: Placed) -> list[object]:
        # orderStatus: orderId, status, filled, remaining, avgFillPrice, permId, parentId,
        # lastFillPrice, clientId, whyHeld, mktCapPrice
        fills = self._fills(o.order_id)
        last = fills[-1].price if fills else 0.0
        remaining = 0.0 if o.status == "Filled" else o.quantity - o.filled
        return [
            "3", o.order_id, o.status, _num(o.filled), _num(remaining), _num(self._average(o.order_id)),
            o.perm_id, "0", _num(last), o.client_id, "", "0",
        ]  # fmt: skip

    def _exec_details(self, req_id: int, ex: Execution) -> list[object]:
        o = self.orders[ex.order_id]
        cumulative = 0.0
        for e in self._fills(o.order_id):
            cumulative += e.shares
            if e.exec_id == ex.exec_id:
                break
        side = "BOT" if o.action == "BUY" else "SLD"
        # execDetails: reqId, orderId, contract (11), execId, time, acctNumber, exchange, side,
        # shares, price, permId, clientId, liquidation, cumQty, avgPrice, orderRef, evRule,
        # evMultiplier, modelCode, lastLiquidity
        return [
            "11", req_id, o.order_id, *_contract(o, self._con_id(o.symbol)),
            ex.exec_id, ex.time, ACCOUNT, ex.exchange, side, _num(ex.shares), _num(ex.price),
            o.perm_id, o.client_id, "0", _num(cumulative), _num(self._average(o.order_id)),
            o.order_ref, "", "", "", "1",
        ]  # fmt: skip

    def _commission(self, r: Report) -> list[object]:
        # commissionReport: version, execId, commission, currency, realizedPNL, yield, yieldRedemptionDate
        realized = UNSET if r.realized is None else _num(r.realized)
        return ["59", "1", r.exec_id, _num(r.commission), r.currency, realized, UNSET, ""]

    def _order_head(self, o: Placed) -> list[object]:
        # action, totalQuantity, orderType, lmtPrice, auxPrice, tif, ocaGroup, account, openClose, origin, orderRef
        return [o.action, _num(o.quantity), o.order_type, o.limit, o.aux, o.tif, "", o.account, "", "0", o.order_ref]

    def _open_order(self, o: Placed) -> list[object]:
        return [
            "5", o.order_id, *_contract(o, self._con_id(o.symbol)), *self._order_head(o),
            o.client_id, o.perm_id,
            # outsideRth, hidden, discretionaryAmt, goodAfterTime, (sharesAllocation), faGroup,
            # faMethod, faPercentage, faProfile (server version < 177)
            "0", "0", "", "", "", "", "", "", "",
            # modelCode ... deltaNeutralAuxPrice (29 fields, deltaNeutralOrderType empty)
            *[""] * 29,
            # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, basisPoints,
            # basisPointsType, comboLegsDescrip
            *[""] * 7,
            # combo legs, order combo legs, smart combo routing params: none
            "0", "0", "0",
            # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement, hedgeType
            "", "", "", "",
            # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, deltaNeutralContract present
            "", "", "", "", "0",
            # algoStrategy
            "",
            # solicited, whatIf, status, 14 order-state margin and commission fields, randomizeSize, randomizePrice
            "", "0", o.status, *[""] * 14, "", "",
            # conditions: none
            "0",
            # adjustedOrderType ... usePriceMgmtAlgo (16 fields)
            *[""] * 16,
            # duration (>= 159), postToAts (>= 160), autoCancelParent (>= 162),
            # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole, midOffsetAtHalf (>= 170)
            *[""] * 8,
        ]  # fmt: skip

    def _completed_order(self, o: Placed) -> list[object]:
        reason = {"Filled": "Filled Size: " + _num(o.filled), "Cancelled": "Cancelled by Trader"}.get(o.status, "")
        return [
            "101", *_contract(o, self._con_id(o.symbol)), *self._order_head(o), o.perm_id,
            # outsideRth, hidden, discretionaryAmt, goodAfterTime, faGroup, faMethod, faPercentage, faProfile
            "0", "0", "", "", "", "", "", "",
            # modelCode ... deltaNeutralAuxPrice (23 fields, deltaNeutralOrderType empty)
            *[""] * 23,
            # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, comboLegsDescrip
            *[""] * 5,
            "0", "0", "0",
            # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement, hedgeType
            "", "", "", "",
            # clearingAccount, clearingIntent, notHeld, deltaNeutralContract present, algoStrategy
            "", "", "", "0", "",
            # solicited, status, randomizeSize, randomizePrice, conditions
            "", o.status, "", "", "0",
            # trailStopPrice, lmtPriceOffset, cashQty, dontUseAutoPriceForHedge, isOmsContainer, autoCancelDate
            *[""] * 6,
            _num(o.filled),
            # refFuturesConId, autoCancelParent, shareholder, imbalanceOnly, routeMarketableToBbo, parentPermId
            *[""] * 6,
            "20240102 10:31:00 America/New_York", reason,
            # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole, midOffsetAtHalf (>= 170)
            *[""] * 5,
        ]  # fmt: skip


def auto_fill(price: Callable[[Placed], float], commission: float = 1.0,
              drop_after: frozenset[int] = frozenset()) -> OrderScript:
    """A script filling every order at once and in full at ``price(order)``, its commission reported.

    For the orders whose place in arrival order (0 the first) is in ``drop_after`` the connection
    drops right after the execution: the commission report and the Filled status happen at the
    broker unseen (a later ``reqExecutions`` and ``reqCompletedOrders`` replay them).
    """
    count = [0]

    def script(o: Placed) -> list[Step]:
        i, k = o.order_id, count[0]
        count[0] += 1
        exec_id = f"0000e0d5.{0x65943c00 + i:08x}.01.01"
        steps: list[Step] = [OpenOrder(i, "Submitted"), Status(i, "Submitted"), Exec(i, exec_id, o.quantity, price(o))]
        if k in drop_after:
            steps.append(Drop())
        return [*steps, Report(exec_id, commission), Status(i, "Filled")]

    return script


async def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()
    return port
