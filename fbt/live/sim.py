"""The ``sim`` venue: paper trading with the backtest's own execution models, and a broker's memory.

:class:`SimAdapter` is a :class:`~fbt.live.adapter.BrokerAdapter` whose venue fills orders with the
kernel's simulated execution for the run's configuration (:func:`fbt.kernel.parts.parts_for`): in
book mode at once at the bar's ``adj_close`` with the run's commission (and slippage and risk
checks), in the realistic modes on later bars (:func:`fbt.kernel.broker.fill_working`). It keeps its
own account (cash and positions booked from its fills), so its risk checks see what a broker's
would. It reports like a broker: an :class:`~fbt.live.messages.ExecutionReport` (with the model's
slippage per unit; no exchange, so its fills say ``SIM`` as a backtest's do) and a
:class:`~fbt.live.messages.CommissionReport` per fill, an :class:`~fbt.live.messages.OrderStatus`
after every change.

The venue keeps its **own record**, a file of JSON lines beside the session's journal, each line
written whole and fsynced before the venue answers: every order it received (by ``order_ref``,
including a duplicate, which it refuses with IB's error 103), what each order and each bar did, and
its state after. A client that crashes finds the venue as a broker would leave it: orders received
are known, executions done are reported again by :meth:`SimAdapter.executions`.

The venue sees the bars through :meth:`SimAdapter.on_bar`, which the session calls for every
closed bar before the strategies see it (a real venue has its own market data).
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fbt.core.errors import FbtError
from fbt.core.events import (
    Event,
    FillEvent,
    MarketEvent,
    OrderCancelled,
    OrderConditions,
    OrderEvent,
    OrderRejected,
    TimeInForce,
)
from fbt.core.market import BarData
from fbt.core.state import Broker, Portfolio, Working
from fbt.journal import canonical_json, decode_record, encode_record
from fbt.kernel.config import Config
from fbt.kernel.context import Context
from fbt.kernel.parts import Parts, parts_for
from fbt.live.messages import (
    BrokerMessage,
    CommissionReport,
    ExecutionReport,
    OrderIntent,
    OrderState,
    OrderStatus,
    VenueError,
)

__all__ = ["SimAdapter", "read_venue"]

#: IB's code for a duplicate order id (the sim venue refuses a second order with a known order_ref).
DUPLICATE = 103


_REGISTRY: dict[str, type] = {c.__name__: c for c in (
    Broker, Working, Portfolio, OrderEvent, OrderConditions, OrderIntent, ExecutionReport,
    CommissionReport, OrderStatus, VenueError)}


class VenueFileError(FbtError):
    """The sim venue's record cannot be read."""


def read_venue(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the sim venue's record (a torn last line, a write the crash cut short, is dropped)."""
    target = Path(path)
    if not target.exists():
        return []
    lines: list[dict[str, Any]] = []
    raw = target.read_bytes()
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if not line:
            continue
        try:
            lines.append(json.loads(line))
        except ValueError:
            if raw.endswith(b"\n") or lineno != raw.count(b"\n") + 1:
                raise VenueFileError(f"{target}:{lineno}: not a JSON line: the venue's record is damaged") from None
    return lines


class SimAdapter:
    """The paper-trading venue behind the :class:`~fbt.live.adapter.BrokerAdapter` protocol (see the module)."""

    name = "sim"

    def __init__(self, record: str | os.PathLike[str], config: Config, symbols: Sequence[str]) -> None:
        self.path = Path(record)
        self.config = config
        self.symbols = tuple(symbols)
        self._queue: collections.deque[BrokerMessage] = collections.deque()
        self._file: Any = None
        self._broker = Broker()
        self._account = Portfolio.initial(capital=config.capital, n_symbols=len(self.symbols))
        self._start = self._account  # the account before the current bar's fills
        self._orders: dict[str, OrderIntent] = {}
        self._ids: dict[str, int] = {}
        self._refs: dict[int, str] = {}  # the kernel's order id -> order_ref
        self._filled: dict[str, float] = {}
        self._status: dict[str, OrderStatus] = {}
        self._executions: list[BrokerMessage] = []
        self._worked = -1
        self._bar = -1
        self._market: MarketEvent | None = None
        self._parts: Parts | None = None
        self._ctx: Context | None = None

    # --- the record ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the venue: rebuild its state from its record, then append to it."""
        for line in read_venue(self.path):
            self._replay(line)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def _replay(self, line: dict[str, Any]) -> None:
        if line.get("intent") is not None:
            intent = decode_record(line["intent"], _REGISTRY)
            assert isinstance(intent, OrderIntent)
            if line["kind"] == "order":
                self._known(intent)
        for plain in line.get("messages", ()):
            self._remember(decode_record(plain, _REGISTRY))  # type: ignore[arg-type]
        state = line.get("state")
        if state is not None:
            broker, account, start = (decode_record(state[k], _REGISTRY) for k in ("broker", "account", "start"))
            assert isinstance(broker, Broker) and isinstance(account, Portfolio) and isinstance(start, Portfolio)
            self._broker, self._account, self._start = broker, account, start
            self._worked = max(self._worked, int(state["worked"]))

    def _known(self, intent: OrderIntent) -> None:
        self._orders[intent.order_ref] = intent
        self._ids[intent.order_ref] = len(self._ids) + 1
        self._refs[intent.order_id] = intent.order_ref

    def _remember(self, message: BrokerMessage) -> None:
        if isinstance(message, ExecutionReport | CommissionReport):
            self._executions.append(message)
        if isinstance(message, ExecutionReport):
            self._filled[message.order_ref] = self._filled.get(message.order_ref, 0.0) + message.quantity
        if isinstance(message, OrderStatus):
            self._status[message.order_ref] = message

    def _write(self, kind: str, messages: Sequence[BrokerMessage], intent: OrderIntent | None = None) -> None:
        assert self._file is not None, "the venue is not connected"
        line = {"kind": kind, "bar": self._bar, "intent": None if intent is None else encode_record(intent),
                "messages": [encode_record(m) for m in messages],
                "state": {"broker": encode_record(self._broker), "account": encode_record(self._account),
                          "start": encode_record(self._start), "worked": self._worked}}
        self._file.write(canonical_json(line) + "\n")
        self._file.flush()
        if os.environ.get("FBT_LIVE_NO_FSYNC", "") != "1":  # see fbt.live.session.NO_FSYNC_ENV
            os.fsync(self._file.fileno())
        for m in messages:
            self._remember(m)
        self._queue.extend(messages)

    async def close(self) -> None:
        """Close the venue's record; idempotent."""
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- the market ---------------------------------------------------------------------------

    async def on_bar(self, data: BarData, index: int, bar: int) -> None:
        """A bar closed (``data[index]``, the session's bar ``bar``): work the venue's orders on it."""
        self._ctx = Context(data=data, config=self.config, strategy_names=(), steps=())
        self._parts = parts_for(self.config)(self._ctx)
        self._market = MarketEvent(index, data)
        self._bar = bar
        if bar <= self._worked:  # worked before a restart: the record holds what it did
            return
        self._start = self._account
        caused: Sequence[Event] = ()
        if self._broker.pending:
            self._broker, caused = self._parts.execution.work(self._broker, self._account, self._market)
        self._worked = bar
        if caused:
            self._write("bar", self._book(caused))

    def _book(self, events: Sequence[Event]) -> list[BrokerMessage]:
        """The venue's messages for the kernel's events, booking the fills into its account."""
        assert self._parts is not None
        out: list[BrokerMessage] = []
        for e in events:
            ref = self._refs.get(getattr(e, "order_id", -1))
            if ref is None:
                continue
            intent, oid = self._orders[ref], self._ids[ref]
            filled = self._filled.get(ref, 0.0)
            if isinstance(e, FillEvent):
                self._account = self._parts.book(self._account, e)
                filled += e.quantity
                n = sum(1 for m in out if isinstance(m, ExecutionReport) and m.order_ref == ref)
                exec_id = f"sim.{oid:08x}.{e.timestamp:x}.{n + 1:02d}.01"
                out.append(ExecutionReport(exec_id=exec_id, order_ref=ref, broker_order_id=oid, symbol=e.symbol,
                                           direction=e.direction, quantity=e.quantity, price=e.price,
                                           time=e.timestamp, cumulative=filled, slippage=e.slippage))
                out.append(CommissionReport(exec_id=exec_id, commission=e.commission))
                rest = intent.quantity - filled
                out.append(OrderStatus(order_ref=ref, broker_order_id=oid, time=e.timestamp, filled=filled,
                                       remaining=max(rest, 0.0),
                                       state=OrderState.FILLED if rest <= 1e-9 else OrderState.SUBMITTED))
            elif isinstance(e, OrderRejected):
                out.append(OrderStatus(order_ref=ref, broker_order_id=oid, time=e.timestamp, filled=filled,
                                       remaining=e.quantity, state=OrderState.INACTIVE, error_code=201,
                                       reason=e.detail, cause=e.reason.value))
            elif isinstance(e, OrderCancelled):
                out.append(OrderStatus(order_ref=ref, broker_order_id=oid, time=e.timestamp, filled=filled,
                                       remaining=e.quantity, state=OrderState.CANCELLED, reason=e.reason.value,
                                       cause=e.reason.value))
            self._filled[ref] = filled
        return out

    # --- orders -------------------------------------------------------------------------------

    async def submit(self, intent: OrderIntent) -> None:
        """Receive one order: refuse a known ``order_ref`` (error 103), else record it and execute it."""
        assert self._parts is not None and self._market is not None, "an order before the venue saw a bar"
        ref = intent.order_ref
        if ref in self._orders:
            self._write("duplicate", [VenueError(code=DUPLICATE, message=f"duplicate order id {ref}",
                                                 time=self._market.timestamp, broker_order_id=self._ids[ref],
                                                 order_ref=ref)], intent)
            return
        self._known(intent)
        plain = (intent.limit_price is None and intent.stop_price is None
                 and intent.time_in_force is TimeInForce.GTC)
        conditions = None if plain else OrderConditions(limit_price=intent.limit_price, stop_price=intent.stop_price,
                                                        time_in_force=intent.time_in_force)
        order = OrderEvent(timestamp=self._market.timestamp, symbol=intent.symbol, quantity=intent.quantity,
                           direction=intent.direction, order_type=intent.order_type, order_id=intent.order_id,
                           conditions=conditions)
        self._broker, caused = self._parts.execution.submit(self._broker, self._start, order, self._market)
        messages = self._book(caused)
        if not caused:
            oid = self._ids[ref]
            messages.append(OrderStatus(order_ref=ref, broker_order_id=oid, time=self._market.timestamp, filled=0.0,
                                        remaining=intent.quantity, state=OrderState.SUBMITTED))
        self._write("order", messages, intent)

    async def cancel(self, order_ref: str) -> None:
        """Withdraw a working order (the kernel's cancellation, reported as Cancelled)."""
        assert self._market is not None
        intent = self._orders.get(order_ref)
        kept = [w for w in self._broker.pending if intent is None or w.order.order_id != intent.order_id]
        if intent is None or len(kept) == len(self._broker.pending):
            return
        gone = next(w for w in self._broker.pending if w.order.order_id == intent.order_id)
        self._broker = Broker(pending=tuple(kept))
        self._write("cancel", [OrderStatus(order_ref=order_ref, broker_order_id=self._ids[order_ref],
                                           time=self._market.timestamp, filled=gone.filled,
                                           remaining=gone.remaining, state=OrderState.CANCELLED,
                                           reason="requested")], intent)

    # --- what the venue knows -----------------------------------------------------------------

    def received(self) -> tuple[str, ...]:
        """Every order_ref the venue accepted, in order (a duplicate is refused, never accepted)."""
        return tuple(self._orders)

    async def open_orders(self) -> Sequence[OrderStatus]:
        """The working orders' latest status."""
        working = {w.order.order_id for w in self._broker.pending}
        return [s for ref, s in self._status.items() if self._orders[ref].order_id in working]

    async def completed_orders(self) -> Sequence[OrderStatus]:
        """The finished orders' latest status."""
        working = {w.order.order_id for w in self._broker.pending}
        return [s for ref, s in self._status.items() if self._orders[ref].order_id not in working]

    async def executions(self) -> Sequence[BrokerMessage]:
        """Every execution and commission report, in the order they happened."""
        return list(self._executions)

    async def positions(self) -> Mapping[str, float]:
        """The venue account's position per symbol."""
        return dict(zip(self.symbols, self._account.positions, strict=True))

    def ready(self) -> list[BrokerMessage]:
        """The messages the venue has sent since the last call (the session drains them at once)."""
        out = list(self._queue)
        self._queue.clear()
        return out

    async def messages(self) -> AsyncIterator[BrokerMessage]:
        """The venue's messages in arrival order (those ready now; the sim venue answers at once)."""
        for m in self.ready():
            yield m
