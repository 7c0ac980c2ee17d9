"""The Interactive Brokers adapter: TWS or IB Gateway through ``ib_async``, behind the broker protocol.

:class:`IBAdapter` implements :class:`fbt.live.adapter.BrokerAdapter`. It turns an
:class:`~fbt.live.messages.OrderIntent` into ``IB.placeOrder(contract, order)`` with
``order.orderRef`` set to the intent's deterministic ``order_ref`` and ``order.orderId`` taken from
the session's next valid id, and turns ``ib_async``'s events into
:data:`~fbt.live.messages.BrokerMessage` records on :meth:`IBAdapter.messages`:

- ``execDetailsEvent`` -> :class:`~fbt.live.messages.ExecutionReport` (the execution's own time);
- ``commissionReportEvent`` -> :class:`~fbt.live.messages.CommissionReport` (IB's commission);
- ``orderStatusEvent`` -> :class:`~fbt.live.messages.OrderStatus`. The Cancelled status
  ``ib_async`` gives an order an error ended (a rejection, code 201) comes right after that error's
  :class:`~fbt.live.messages.VenueError`, with the error's code and text as ``error_code`` and
  ``reason``; the PendingCancel it makes up on a cancel request is left out (the venue's own
  statuses follow);
- ``errorEvent`` -> :class:`~fbt.live.messages.VenueError` with the order's ``order_ref`` where the
  error names one of this adapter's orders; codes 1100, 1101 and 1102 ->
  :class:`~fbt.live.messages.Connection` ``LOST``, ``RESTORED_DATA_LOST``, ``RESTORED_DATA_KEPT``;
- ``disconnectedEvent`` -> :class:`~fbt.live.messages.Connection` ``DISCONNECTED``.

``ib_async`` itself drops an execution it has already seen in the session and a status that
changes nothing; it passes a repeated commission report on, and the normaliser absorbs it.

Times are integer nanoseconds UTC: an execution's time is the broker's (a time IB sends without a
zone is read in ``tws_timezone``, else the machine's zone, as ``ib_async`` does); statuses, errors and
connection changes carry no broker time and are stamped with the adapter's ``clock`` on arrival.

Order ids: IB rejects an order id it has seen before (error 103). The adapter takes every id from
the session's next valid id and keeps the highest it has used, so across a reconnect (where TWS
announces a new next valid id) an id is never handed out twice, even by a TWS that restarted its
count.

Market data: :meth:`IBAdapter.realtime_bars` subscribes IB's 5-second real-time bars
(``reqRealTimeBars(contract, 5, "TRADES", False)``) for each symbol and yields them as
:class:`fbt.live.bars.RealTimeBar` records in arrival order. While it is subscribed the adapter
resubscribes by itself when IB says data were lost (1101), and after a dropped socket it
reconnects by itself (the session's later :meth:`~IBAdapter.reconnect` then finds it reconnected)
and resubscribes; :meth:`~IBAdapter.close` cancels the subscriptions. An error IB sends about a
subscription (no market data permission, unknown contract) ends the stream with :class:`IBError`.

While IB reports its link lost (code 1100, until 1101 or 1102) :meth:`IBAdapter.submit` refuses
to send. Faults: :meth:`IBAdapter.connect` raises one-line :class:`IBError` for nothing listening on the
port, a client id in use (IB code 326), a peer that hangs up during the handshake and a handshake
that does not finish in ``timeout`` seconds. :meth:`IBAdapter.reconnect` retries with the same
client id on a capped exponential schedule (:func:`fbt.live.backoff.backoff_delays`) through an
injectable ``sleep``; afterwards the session resubscribes and replays :meth:`IBAdapter.executions`.

``ib_async`` is an optional dependency (``pip install 'fbt[ib]'``), imported only inside this
module's functions: importing this module needs nothing, using the adapter without it raises
:class:`IBError` saying what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import time as _time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from fbt.core.errors import ConfigError, FbtError
from fbt.core.kinds import Direction, OrderType, TimeInForce
from fbt.live.backoff import backoff_delays
from fbt.live.bars import RealTimeBar
from fbt.live.contracts import ContractSpec, default_contract
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

if TYPE_CHECKING:
    import ib_async

__all__ = [
    "CLIENT_ID_IN_USE",
    "CONNECTION_CODES",
    "IBAdapter",
    "IBError",
    "ib_contract",
    "ib_order",
    "to_nanos",
]

#: IB's error code for a client id another connection already uses.
CLIENT_ID_IN_USE = 326

#: IB's connectivity notices and the link state each one means.
CONNECTION_CODES: Mapping[int, ConnectionState] = {
    1100: ConnectionState.LOST,
    1101: ConnectionState.RESTORED_DATA_LOST,
    1102: ConnectionState.RESTORED_DATA_KEPT,
}

_INSTALL = "the Interactive Brokers adapter needs the ib_async package: pip install 'fbt[ib]'"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_STATES = {state.value: state for state in OrderState}

_SIDES = {"BOT": Direction.BUY, "BUY": Direction.BUY, "SLD": Direction.SELL, "SELL": Direction.SELL}

_T = TypeVar("_T")


class IBError(FbtError):
    """A fault talking to TWS or IB Gateway, in one line: what failed, where, and what to do."""


def _require() -> None:
    """Raise :class:`IBError` naming the extra to install when ``ib_async`` is missing."""
    try:
        import ib_async  # noqa: F401
    except ImportError as exc:
        raise IBError(_INSTALL) from exc


def to_nanos(moment: dt.datetime) -> int:
    """Return an aware datetime as integer nanoseconds since the epoch, UTC, exactly.

    >>> to_nanos(dt.datetime(2024, 1, 2, 15, 30, tzinfo=dt.UTC))
    1704209400000000000
    >>> to_nanos(dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC))
    1000
    >>> to_nanos(dt.datetime(2024, 1, 2))
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: time: expected a time with a zone, got 2024-01-02 00:00:00
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(f"time: expected a time with a zone, got {moment}")
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def _known(value: float) -> bool:
    """Whether an ``ib_async`` number is a value (not IB's "unset", the largest double) and positive."""
    return math.isfinite(value) and 0 < value < 1e300


def _wall_clock() -> int:
    return _time.time_ns()


def _multiplier_text(value: float) -> str:
    return f"{value:g}"


def ib_contract(spec: ContractSpec) -> ib_async.Contract:
    """Build the ``ib_async`` contract a :class:`~fbt.live.contracts.ContractSpec` names.

    Stocks become ``Stock``, futures ``Future`` (expiry as ``lastTradeDateOrContractMonth``,
    multiplier as IB's text), other security types a plain ``Contract`` of that ``secType``.
    """
    _require()
    from ib_async import Contract, Future, Stock

    extra: dict[str, Any] = {}
    if spec.primary_exchange:
        extra["primaryExchange"] = spec.primary_exchange
    if spec.local_symbol:
        extra["localSymbol"] = spec.local_symbol
    if spec.trading_class:
        extra["tradingClass"] = spec.trading_class
    if spec.sec_type == "STK":
        return Stock(spec.symbol, spec.exchange, spec.currency, **extra)
    if spec.sec_type == "FUT":
        return Future(
            spec.symbol,
            spec.expiry,
            spec.exchange,
            multiplier=_multiplier_text(spec.multiplier),
            currency=spec.currency,
            **extra,
        )
    if spec.multiplier != 1.0:
        extra["multiplier"] = _multiplier_text(spec.multiplier)
    return Contract(secType=spec.sec_type, symbol=spec.symbol, exchange=spec.exchange, currency=spec.currency, **extra)


def _price(intent: OrderIntent, name: str, value: float | None) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise ConfigError(
            f"order {intent.order_ref}: a {intent.order_type.value} order needs a positive {name}, got {value!r}"
        )
    return float(value)


def ib_order(intent: OrderIntent, account: str = "") -> ib_async.Order:
    """Build the ``ib_async`` order of an intent (without its ``orderId``, which the session assigns).

    ``MKT``, ``LMT`` (``lmtPrice``), ``STP`` (``auxPrice`` is the stop), ``STP LMT`` (both);
    market-on-open is IB's ``MKT`` with time in force ``OPG``, market-on-close IB's ``MOC``. Time in
    force ``GTC`` or ``DAY`` otherwise. ``orderRef`` is the intent's ``order_ref``.
    """
    _require()
    from ib_async import Order

    if not (isinstance(intent.quantity, int | float) and math.isfinite(intent.quantity) and intent.quantity > 0):
        raise ConfigError(f"order {intent.order_ref}: quantity: expected a positive number, got {intent.quantity!r}")
    tif = intent.time_in_force.value if intent.time_in_force in (TimeInForce.GTC, TimeInForce.DAY) else "GTC"
    fields: dict[str, Any] = {}
    kind = intent.order_type
    if kind is OrderType.MKT:
        order_type = "MKT"
    elif kind is OrderType.LMT:
        order_type = "LMT"
        fields["lmtPrice"] = _price(intent, "limit_price", intent.limit_price)
    elif kind is OrderType.STP:
        order_type = "STP"
        fields["auxPrice"] = _price(intent, "stop_price", intent.stop_price)
    elif kind is OrderType.STP_LMT:
        order_type = "STP LMT"
        fields["lmtPrice"] = _price(intent, "limit_price", intent.limit_price)
        fields["auxPrice"] = _price(intent, "stop_price", intent.stop_price)
    elif kind is OrderType.MOO:
        order_type, tif = "MKT", "OPG"
    elif kind is OrderType.MOC:
        order_type, tif = "MOC", "DAY"
    else:  # pragma: no cover - every OrderType is handled above
        raise ConfigError(f"order {intent.order_ref}: order type {kind.value} has no IB equivalent")
    return Order(
        action=intent.direction.value,
        totalQuantity=float(intent.quantity),
        orderType=order_type,
        tif=tif,
        orderRef=intent.order_ref,
        account=account,
        transmit=True,
        **fields,
    )


def _check_args(host: object, port: object, client_id: object, timeout: object) -> None:
    if not isinstance(host, str) or not host:
        raise ConfigError(f"host: expected a host name or address, got {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"port: expected a TCP port 1..65535, got {port!r}")
    if isinstance(client_id, bool) or not isinstance(client_id, int) or client_id < 0:
        raise ConfigError(f"client_id: expected a whole number >= 0, got {client_id!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise ConfigError(f"timeout: expected a positive number of seconds, got {timeout!r}")


class IBAdapter:
    """Interactive Brokers behind :class:`~fbt.live.adapter.BrokerAdapter` (see the module docstring).

    ``contracts`` maps fbt symbols to their contracts (a symbol not in it trades as
    :func:`~fbt.live.contracts.default_contract`); ``account`` the account orders go to and
    positions are read from ("" the only one the login manages); ``timeout`` bounds the handshake
    and every request, in seconds. ``clock`` returns nanoseconds UTC for messages without a broker
    time; ``sleep`` is awaited between reconnect attempts; ``reconnect_attempts``, ``backoff_initial``,
    ``backoff_factor`` and ``backoff_cap`` shape the reconnect schedule. ``tws_timezone`` is the zone
    TWS reports times in when it sends them without one.
    """

    name = "ib"

    def __init__(
        self,
        host: str,
        port: int,
        client_id: int,
        contracts: Mapping[str, ContractSpec] | None = None,
        account: str = "",
        timeout: float = 10.0,
        *,
        clock: Callable[[], int] = _wall_clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        reconnect_attempts: int = 8,
        backoff_initial: float = 1.0,
        backoff_factor: float = 2.0,
        backoff_cap: float = 30.0,
        tws_timezone: str = "",
    ) -> None:
        _check_args(host, port, client_id, timeout)
        self.host = host
        self.port = port
        self.client_id = client_id
        self.account = account
        self.timeout = float(timeout)
        self.contracts: Mapping[str, ContractSpec] = dict(contracts or {})
        for symbol, spec in self.contracts.items():
            if not isinstance(spec, ContractSpec):
                raise ConfigError(f"contracts: {symbol}: expected a ContractSpec, got {type(spec).__name__}")
        self._clock = clock
        self._sleep = sleep
        self._schedule = backoff_delays(
            reconnect_attempts, initial=backoff_initial, factor=backoff_factor, cap=backoff_cap
        )
        self._tws_timezone = tws_timezone
        self._ib: ib_async.IB | None = None
        self._queue: asyncio.Queue[BrokerMessage | None] = asyncio.Queue()
        self._closed = False
        self._connecting = False
        self._lost = False  # between IB's 1100 (link lost) and its 1101/1102 (restored)
        self._linked = asyncio.Event()  # set while not lost
        self._linked.set()
        self._local = 0  # > 0 while ib_async runs a call that emits statuses it makes up
        self._next_id = 0  # every order id handed out is >= this; it only grows
        self._sent_ids: list[int] = []
        self._ref_of_id: dict[int, str] = {}
        self._orders: dict[str, ib_async.Order] = {}
        self._symbol_of_ref: dict[str, str] = {}
        self._ended: dict[int, OrderStatus] = {}  # statuses ib_async made up on an error, until the error
        self._bar_symbols: tuple[str, ...] = ()  # the symbols of the real-time bar subscription
        self._bar_lists: dict[str, ib_async.RealTimeBarList] = {}
        self._bar_of_req: dict[int, str] = {}  # request id -> symbol, for IB's errors about a subscription
        self._bars: asyncio.Queue[RealTimeBar | IBError | None] = asyncio.Queue()
        self._reconnecting = False
        self._auto: asyncio.Task[int] | None = None  # the reconnect the adapter started itself
        self._healed = False  # the last drop was reconnected by the adapter itself
        self._attempts = 0  # the attempts the last reconnect took

    # ----------------------------------------------------------------------------------- session

    @property
    def order_ids(self) -> tuple[int, ...]:
        """The IB order ids this adapter has sent, in order (strictly increasing)."""
        return tuple(self._sent_ids)

    def is_connected(self) -> bool:
        """Whether the API session is up."""
        return self._ib is not None and bool(self._ib.isConnected())

    def link_lost(self) -> bool:
        """Whether IB reports its link to TWS lost (code 1100, until 1101 or 1102): nothing is sent then."""
        return self._lost

    async def until_linked(self) -> None:
        """Return once IB's link is not reported lost (at once if it is not)."""
        await self._linked.wait()

    def _set_lost(self, lost: bool) -> None:
        self._lost = lost
        if lost:
            self._linked.clear()
        else:
            self._linked.set()

    async def connect(self) -> None:
        """Connect and wait until TWS has sent ``nextValidId`` and ``managedAccounts``.

        Raises :class:`IBError` with one line for nothing listening, a client id in use (326), a
        peer that closes during the handshake, or no answer within ``timeout``.
        """
        if self._closed:
            raise IBError(f"IB adapter for {self._where()}: connect after close")
        await self._connect_once()
        self._put(Connection(state=ConnectionState.CONNECTED, time=self._clock(), detail=self._where()))

    async def reconnect(self) -> int:
        """Reconnect with the same client id on the backoff schedule; return the attempts it took.

        Before each attempt it awaits ``sleep(delay)`` for the schedule's next delay. On success a
        ``Connection(CONNECTED)`` message says how many attempts it took; the caller then
        resubscribes and replays :meth:`executions`. After the last failed attempt it raises
        :class:`IBError` with the last attempt's reason.
        """
        if self._closed:
            raise IBError(f"IB adapter for {self._where()}: reconnect after close")
        auto = self._auto
        if auto is not None and auto is not asyncio.current_task():
            if not auto.done():
                return await asyncio.shield(auto)  # the adapter is reconnecting by itself
            if self._healed and self.is_connected():
                return self._attempts  # it has reconnected since the drop
        self._reconnecting = True
        try:
            if self._ib is not None and self._ib.isConnected():
                self._ib.disconnect()
            last: IBError | None = None
            for attempt, delay in enumerate(self._schedule, start=1):
                await self._sleep(delay)
                try:
                    await self._connect_once()
                except IBError as exc:
                    last = exc
                    continue
                self._attempts = attempt
                self._subscribe_bars()
                detail = f"{self._where()}: reconnected after {attempt} attempt{'s' if attempt > 1 else ''}"
                self._put(Connection(state=ConnectionState.CONNECTED, time=self._clock(), detail=detail))
                return attempt
        finally:
            self._reconnecting = False
        reason = f": {last}" if last is not None else ""
        raise IBError(f"could not reconnect to {self._where()} in {len(self._schedule)} attempts{reason}")

    async def _reconnect_by_itself(self) -> int:
        try:
            attempts = await self.reconnect()
        except IBError as exc:
            self._bars.put_nowait(exc)
            raise
        self._healed = True
        return attempts

    async def close(self) -> None:
        """Disconnect and end :meth:`messages`; idempotent."""
        if self._closed:
            return
        self._closed = True
        ib, self._ib = self._ib, None
        if ib is not None:
            self._cancel_bars(ib)
            self._unwire(ib)
            ib.disconnect()
        if self._auto is not None and not self._auto.done():
            self._auto.cancel()
        self._queue.put_nowait(None)
        self._bars.put_nowait(None)

    def messages(self) -> AsyncIterator[BrokerMessage]:
        """The venue's messages in arrival order, until :meth:`close`."""
        return self._stream()

    async def _stream(self) -> AsyncIterator[BrokerMessage]:
        while True:
            message = await self._queue.get()
            if message is None:
                self._queue.put_nowait(None)  # every reader ends
                return
            yield message

    # ------------------------------------------------------------------------------- market data

    async def realtime_bars(self, symbols: Sequence[str]) -> AsyncIterator[RealTimeBar]:
        """Subscribe IB's 5-second ``TRADES`` bars of ``symbols`` (all hours) and yield them in arrival order.

        One subscription per adapter; it is renewed after a 1101 or a reconnect, and cancelled when
        the iteration ends or the adapter closes. The stream ends when the adapter closes; an error
        IB sends about a subscription, or a reconnect that gives up, raises :class:`IBError`.
        """
        ib = self._session("real-time bars")
        if self._bar_symbols:
            raise IBError(f"real-time bars: already subscribed to {', '.join(self._bar_symbols)}")
        if not symbols:
            raise ConfigError("real-time bars: expected at least one symbol, got none")
        self._bar_symbols = tuple(symbols)
        for symbol in self._bar_symbols:
            self._subscribe(ib, symbol)
        try:
            while True:
                item = await self._bars.get()
                if item is None:
                    self._bars.put_nowait(None)  # every reader ends
                    return
                if isinstance(item, IBError):
                    raise item
                yield item
        finally:
            if self._ib is not None and not self._closed:
                self._cancel_bars(self._ib)
            self._bar_symbols = ()

    def _subscribe(self, ib: ib_async.IB, symbol: str) -> None:
        bars = ib.reqRealTimeBars(ib_contract(self.contract_of(symbol)), 5, "TRADES", False)
        bars.updateEvent += lambda bars, new: self._on_bar(symbol, bars, new)
        self._bar_lists[symbol] = bars
        self._bar_of_req[int(bars.reqId)] = symbol

    def _subscribe_bars(self) -> None:
        """Subscribe again every symbol of the subscription (after a reconnect: ib_async forgot them)."""
        if self._ib is None or not self._bar_symbols:
            return
        self._bar_lists.clear()
        for symbol in self._bar_symbols:
            self._subscribe(self._ib, symbol)

    def _resubscribe_bars(self) -> None:
        """Cancel and renew the subscription (IB's 1101: the data of the lost link are gone)."""
        if self._ib is None or not self._ib.isConnected() or not self._bar_symbols:
            return
        self._cancel_bars(self._ib)
        self._subscribe_bars()

    def _cancel_bars(self, ib: ib_async.IB) -> None:
        lists, self._bar_lists = self._bar_lists, {}
        if not ib.isConnected():
            return
        for bars in lists.values():
            with contextlib.suppress(ConnectionError):
                ib.cancelRealTimeBars(bars)

    def _on_bar(self, symbol: str, bars: ib_async.RealTimeBarList, new: bool) -> None:
        if not new or not bars or self._bar_lists.get(symbol) is not bars:
            return
        b = bars[-1]
        del bars[:]  # ib_async keeps every bar; the stream is the record
        self._bars.put_nowait(RealTimeBar(symbol=symbol, time=to_nanos(b.time), open=float(b.open_),
                                          high=float(b.high), low=float(b.low), close=float(b.close),
                                          volume=float(b.volume)))

    # ------------------------------------------------------------------------------------ orders

    async def submit(self, intent: OrderIntent) -> None:
        """Place one order, ``orderRef`` = ``intent.order_ref``, ``orderId`` the next valid id.

        An ``order_ref`` this adapter has already sent is refused (:class:`IBError`): an order is
        never sent twice.
        """
        ib = self._session("submit")
        if self._lost:
            raise IBError(f"submit: IB reports its link to TWS at {self._where()} lost (code 1100); sending nothing")
        if intent.order_ref in self._orders:
            raise IBError(f"submit: order {intent.order_ref} was already sent to {self._where()}")
        contract = ib_contract(self.contract_of(intent.symbol))
        order = ib_order(intent, self.account)
        order.orderId = self._take_order_id(ib)
        self._orders[intent.order_ref] = order
        self._ref_of_id[order.orderId] = intent.order_ref
        self._symbol_of_ref[intent.order_ref] = intent.symbol
        self._sent_ids.append(order.orderId)
        ib.placeOrder(contract, order)

    async def cancel(self, order_ref: str) -> None:
        """Ask IB to cancel the working order sent as ``order_ref`` (by this or an earlier session)."""
        ib = self._session("cancel")
        order = self._orders.get(order_ref)
        if order is None:
            trade = next((t for t in ib.openTrades() if t.order.orderRef == order_ref), None)
            if trade is None:
                raise IBError(f"cancel: no working order {order_ref} at {self._where()}")
            order = trade.order
        with self._locally():
            ib.cancelOrder(order)

    def _take_order_id(self, ib: ib_async.IB) -> int:
        order_id = int(ib.client.getReqId())
        if order_id < self._next_id:
            ib.client.updateReqId(self._next_id)  # type: ignore[no-untyped-call]
            order_id = int(ib.client.getReqId())
        self._next_id = order_id + 1
        return order_id

    # ----------------------------------------------------------------------------------- queries

    async def open_orders(self) -> Sequence[OrderStatus]:
        """The account's working orders (``reqAllOpenOrders``), as order statuses."""
        ib = self._session("open orders")
        trades = await self._request("open orders", ib.reqAllOpenOrdersAsync())
        return tuple(s for s in (self._status_of(t) for t in trades if self._mine(t.order.account)) if s is not None)

    async def completed_orders(self) -> Sequence[OrderStatus]:
        """The finished orders of API clients (``reqCompletedOrders(apiOnly=True)``), as order statuses."""
        ib = self._session("completed orders")
        trades = await self._request("completed orders", ib.reqCompletedOrdersAsync(apiOnly=True))
        return tuple(s for s in (self._status_of(t) for t in trades if self._mine(t.order.account)) if s is not None)

    async def executions(self) -> Sequence[BrokerMessage]:
        """This client id's executions (``reqExecutions``), each followed by its commission report if IB sent one."""
        _require()
        from ib_async import ExecutionFilter

        ib = self._session("executions")
        fills = await self._request(
            "executions", ib.reqExecutionsAsync(ExecutionFilter(clientId=self.client_id, acctCode=self.account))
        )
        known = {fill.execution.execId: fill for fill in ib.fills()}
        out: list[BrokerMessage] = []
        for fill in fills:
            out.append(self._execution_of(fill.execution, fill.contract, None))
            report = known.get(fill.execution.execId, fill).commissionReport
            if report.execId:
                out.append(self._commission_of(report))
        return tuple(out)

    async def positions(self) -> Mapping[str, float]:
        """The account's position per fbt symbol (signed units), fresh from ``reqPositions``."""
        ib = self._session("positions")
        rows = await self._request("positions", ib.reqPositionsAsync())
        held: dict[str, float] = {}
        for row in rows:
            if self._mine(row.account):
                symbol = self._symbol_of_contract(row.contract)
                held[symbol] = held.get(symbol, 0.0) + float(row.position)
        return held

    # --------------------------------------------------------------------------------- internals

    def contract_of(self, symbol: str) -> ContractSpec:
        """The contract fbt trades ``symbol`` as (configured, else a SMART-routed USD stock)."""
        spec = self.contracts.get(symbol)
        return spec if spec is not None else default_contract(symbol)

    def _where(self) -> str:
        return f"{self.host}:{self.port} (client id {self.client_id})"

    def _mine(self, account: str) -> bool:
        return not self.account or not account or account == self.account

    def _put(self, message: BrokerMessage) -> None:
        if not self._closed:
            self._queue.put_nowait(message)

    def _session(self, what: str) -> ib_async.IB:
        if self._ib is None or not self._ib.isConnected():
            raise IBError(f"{what}: not connected to {self._where()}")
        return self._ib

    async def _request(self, what: str, pending: Awaitable[_T]) -> _T:
        try:
            return await asyncio.wait_for(pending, self.timeout)
        except TimeoutError:
            raise IBError(f"{what}: no answer from {self._where()} within {self.timeout:g}s") from None
        except ConnectionError as exc:
            raise IBError(f"{what}: the connection to {self._where()} broke: {exc}") from None

    @contextmanager
    def _locally(self) -> Iterator[None]:
        self._local += 1
        try:
            yield
        finally:
            self._local -= 1

    def _make_ib(self) -> ib_async.IB:
        _require()
        from ib_async import IB

        ib = IB()
        ib.TimezoneTWS = self._tws_timezone
        ib.execDetailsEvent += self._on_execution
        ib.commissionReportEvent += self._on_commission
        ib.orderStatusEvent += self._on_status
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected
        return ib

    def _unwire(self, ib: ib_async.IB) -> None:
        ib.execDetailsEvent -= self._on_execution
        ib.commissionReportEvent -= self._on_commission
        ib.orderStatusEvent -= self._on_status
        ib.errorEvent -= self._on_error
        ib.disconnectedEvent -= self._on_disconnected

    async def _connect_once(self) -> None:
        _require()
        from ib_async.ib import StartupFetch

        if self._ib is None:
            self._ib = self._make_ib()
        ib = self._ib
        self._set_lost(False)  # a new session; its own 1100 may come while it synchronises
        loop = asyncio.get_running_loop()
        refused: asyncio.Future[IBError] = loop.create_future()
        where = self._where()

        def on_error(req_id: int, code: int, text: str, contract: object) -> None:
            if code == CLIENT_ID_IN_USE and not refused.done():
                refused.set_result(
                    IBError(f"{where}: client id {self.client_id} is already in use (IB code 326); use another one")
                )

        def on_closed(text: str) -> None:
            if not refused.done():
                said = f": {text}" if text else ""
                refused.set_result(IBError(f"{where} closed the connection during the handshake{said}"))

        fetch = StartupFetch.POSITIONS | StartupFetch.ORDERS_OPEN | StartupFetch.ORDERS_COMPLETE
        fetch |= StartupFetch.EXECUTIONS
        ib.errorEvent += on_error
        ib.client.conn.disconnected += on_closed
        self._connecting = True
        attempt = asyncio.ensure_future(
            ib.connectAsync(
                self.host, self.port, self.client_id, timeout=self.timeout, account=self.account, fetchFields=fetch
            )
        )
        try:
            await asyncio.wait({attempt, refused}, return_when=asyncio.FIRST_COMPLETED)
            code_326 = refused.done() and "IB code 326" in str(refused.result())
            if attempt.done() and not code_326:
                self._raise_connect_failure(attempt)
            else:
                attempt.cancel()
                await asyncio.gather(attempt, return_exceptions=True)
                raise refused.result()
        finally:
            self._connecting = False
            ib.errorEvent -= on_error
            ib.client.conn.disconnected -= on_closed
            if not refused.done():
                refused.cancel()
        ib.client.updateReqId(self._next_id)  # type: ignore[no-untyped-call]

    def _raise_connect_failure(self, attempt: asyncio.Future[Any]) -> None:
        where = self._where()
        exc = attempt.exception()
        if exc is None:
            return
        if isinstance(exc, ConnectionRefusedError):
            raise IBError(
                f"nothing is listening on {self.host}:{self.port}: "
                "start TWS or IB Gateway and enable its API on that port"
            ) from None
        if isinstance(exc, TimeoutError):
            raise IBError(f"{where} did not finish the API handshake within {self.timeout:g}s") from None
        if isinstance(exc, OSError):
            raise IBError(f"cannot connect to {where}: {exc.strerror or exc}") from None
        raise IBError(f"cannot connect to {where}: {exc!r}") from None

    # ------------------------------------------------------------------------------ conversions

    def _ref(self, order: ib_async.Order) -> str:
        return str(order.orderRef) or self._ref_of_id.get(int(order.orderId), "")

    def _symbol_of_contract(self, contract: ib_async.Contract) -> str:
        sec_type, symbol = contract.secType, contract.symbol
        expiry = contract.lastTradeDateOrContractMonth or ""
        matches = [
            name
            for name, spec in self.contracts.items()
            if spec.sec_type == sec_type
            and spec.symbol == symbol
            and (not spec.local_symbol or not contract.localSymbol or spec.local_symbol == contract.localSymbol)
            and (not spec.expiry or not expiry or expiry.startswith(spec.expiry) or spec.expiry.startswith(expiry))
        ]
        if len(matches) == 1:
            return matches[0]
        if sec_type == "FUT" and contract.localSymbol:
            return str(contract.localSymbol)
        return str(symbol)

    def _execution_of(
        self, execution: ib_async.Execution, contract: ib_async.Contract, ref: str | None
    ) -> ExecutionReport:
        order_ref = execution.orderRef or ref or self._ref_of_id.get(int(execution.orderId), "")
        symbol = self._symbol_of_ref.get(order_ref) or self._symbol_of_contract(contract)
        direction = _SIDES.get(str(execution.side))
        if direction is None:
            raise IBError(f"execution {execution.execId}: unknown side {execution.side!r} (expected BOT or SLD)")
        cumulative = float(execution.cumQty)
        return ExecutionReport(
            exec_id=str(execution.execId),
            order_ref=order_ref,
            broker_order_id=int(execution.orderId),
            symbol=symbol,
            direction=direction,
            quantity=float(execution.shares),
            price=float(execution.price),
            time=to_nanos(execution.time),
            cumulative=cumulative if cumulative > 0 else None,
            exchange=str(execution.exchange),
        )

    def _commission_of(self, report: ib_async.CommissionReport) -> CommissionReport:
        return CommissionReport(
            exec_id=str(report.execId),
            commission=float(report.commission),
            currency=str(report.currency) or "USD",
            realized_pnl=float(report.realizedPNL),
        )

    def _status_of(self, trade: ib_async.Trade) -> OrderStatus | None:
        state = _STATES.get(str(trade.orderStatus.status))
        if state is None:
            return None
        order = trade.order
        filled = float(trade.orderStatus.filled)
        if not filled and _known(float(order.filledQuantity)):
            filled = float(order.filledQuantity)  # a completed order says it here, not in a status
        remaining = float(trade.orderStatus.remaining)
        if not remaining and state is not OrderState.FILLED and _known(float(order.totalQuantity)):
            remaining = max(float(order.totalQuantity) - filled, 0.0)
        ref = self._ref(order)
        order_id = int(order.orderId) or (int(self._orders[ref].orderId) if ref in self._orders else 0)
        return OrderStatus(
            order_ref=ref,
            broker_order_id=order_id,
            state=state,
            filled=filled,
            remaining=remaining,
            time=self._clock(),
            reason=str(trade.orderStatus.whyHeld),
        )

    # ---------------------------------------------------------------------------------- events

    def _on_execution(self, trade: ib_async.Trade, fill: ib_async.Fill) -> None:
        self._put(self._execution_of(fill.execution, fill.contract, self._ref(trade.order)))

    def _on_commission(self, trade: ib_async.Trade, fill: ib_async.Fill, report: ib_async.CommissionReport) -> None:
        self._put(self._commission_of(report))

    def _on_status(self, trade: ib_async.Trade) -> None:
        if self._local:
            return  # made up by ib_async on a cancel request; the venue's own statuses follow
        status = self._status_of(trade)
        if status is None:
            return
        if trade.log and trade.log[-1].errorCode:
            # ib_async ends the trade on an error and emits this status just before the error
            # itself: it is sent after the VenueError, with the error's code and text
            self._ended[int(trade.order.orderId)] = status
            return
        self._put(status)

    def _on_error(self, req_id: int, code: int, text: str, contract: object) -> None:
        if code == CLIENT_ID_IN_USE and self._connecting:
            return  # the attempt fails with an IBError saying so
        state = CONNECTION_CODES.get(code)
        if state is not None:
            self._set_lost(state is ConnectionState.LOST)
            self._put(Connection(state=state, time=self._clock(), detail=f"IB {code}: {text}"))
            if state is ConnectionState.RESTORED_DATA_LOST:
                self._resubscribe_bars()
            return
        symbol = self._bar_of_req.get(int(req_id))
        live = self._bar_lists.get(symbol) if symbol is not None else None
        if symbol is not None and live is not None and int(live.reqId) == int(req_id) and not 2100 <= code < 2200:
            self._bars.put_nowait(IBError(f"real-time bars of {symbol} from {self._where()}: IB error {code}: {text}"))
            return
        error = VenueError(
            code=int(code),
            message=str(text),
            time=self._clock(),
            broker_order_id=int(req_id),
            order_ref=self._ref_of_id.get(int(req_id), ""),
        )
        self._put(error)
        ended = self._ended.pop(int(req_id), None)
        if ended is not None:
            self._put(attrs.evolve(ended, reason=error.message, error_code=error.code, time=error.time))

    def _on_disconnected(self) -> None:
        self._put(Connection(state=ConnectionState.DISCONNECTED, time=self._clock(), detail=self._where()))
        if self._bar_symbols and not self._closed and not self._reconnecting and not self._connecting and (
                self._auto is None or self._auto.done()):
            self._healed = False
            self._auto = asyncio.ensure_future(self._reconnect_by_itself())
            self._auto.add_done_callback(lambda task: task.cancelled() or task.exception())


if TYPE_CHECKING:
    from fbt.live.adapter import BrokerAdapter

    def _is_a_broker_adapter(adapter: IBAdapter) -> BrokerAdapter:
        return adapter  # mypy checks that IBAdapter implements the protocol
