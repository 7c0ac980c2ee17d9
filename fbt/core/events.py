"""Every event record: frozen, slotted, validated at the boundary (the enums they hold, from
:mod:`fbt.core.kinds`, are exported here too).

Events are facts stamped with the *bar time* (integer nanoseconds since the epoch, the data's own
label), never the wall clock, so the same inputs always give the same events.

>>> from fbt.core.events import OrderEvent, Direction
>>> order = OrderEvent(timestamp=0, symbol="ORCL", quantity=100, direction=Direction.BUY, order_id=1)
>>> order.direction.sign, order.order_type.value
(1, 'MKT')
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from fbt.core.errors import StrategyError
from fbt.core.kinds import CancelReason, Direction, OrderType, RejectReason, SignalType, SizeBasis, TimeInForce
from fbt.core.market import FIELDS, Bar, BarData, FloatArray

__all__ = [
    "JOURNAL_OPTIONAL",
    "CancelReason",
    "Direction",
    "Event",
    "FillEvent",
    "FillQuantity",
    "MarketEvent",
    "OrderCancelled",
    "OrderConditions",
    "OrderEvent",
    "OrderRejected",
    "OrderTerms",
    "OrderType",
    "RejectReason",
    "SignalEvent",
    "SignalType",
    "SizeBasis",
    "TimeInForce",
]

#: ``attrs`` metadata key of an event field the journal writes only when it is not None, so that
#: adding such a field leaves every earlier journal's lines (and fingerprints) exactly as they were.
JOURNAL_OPTIONAL = "fbt.journal.optional"


def _finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def _positive_quantity(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive finite number, got {value!r}")


def _price_or_none(value: float | None, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite price or None, got {value!r}")


def _check_order_fields(
    order_type: OrderType, limit_price: float | None, stop_price: float | None, time_in_force: TimeInForce
) -> None:
    """Raise unless the order type, its prices and the time in force fit together."""
    if not isinstance(order_type, OrderType):
        raise TypeError(f"order_type must be an OrderType, got {order_type!r}")
    if not isinstance(time_in_force, TimeInForce):
        raise TypeError(f"time_in_force must be a TimeInForce, got {time_in_force!r}")
    _price_or_none(limit_price, "limit_price")
    _price_or_none(stop_price, "stop_price")
    needs_limit = order_type in (OrderType.LMT, OrderType.STP_LMT)
    needs_stop = order_type in (OrderType.STP, OrderType.STP_LMT)
    for name, needed, value in (("limit_price", needs_limit, limit_price), ("stop_price", needs_stop, stop_price)):
        if needed != (value is not None):
            verb = "need" if needed else "take no"
            raise ValueError(f"{name}: {order_type.value} orders {verb} {name}, got {value!r}")


_FIELD = {name: k for k, name in enumerate(FIELDS)}


@attrs.frozen
class MarketEvent:
    """A new bar: a read-only cursor at bar ``index`` of the run's :class:`~fbt.core.market.BarData`.

    It offers the seed's accessors and shows nothing after the current bar. Before a symbol's first
    real bar the symbol has no bars: ``latest_values`` is empty and ``latest_value`` is NaN.

    >>> import numpy as np
    >>> from fbt.core.market import BarData
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(4, dtype=np.int64),
    ...                             columns={"close": np.array([[1.0, 2.0, 3.0, 4.0]])})
    >>> event = MarketEvent(2, data)
    >>> event.latest_values("A", "close", 10).tolist(), event.latest_value("A", "close")
    ([1.0, 2.0, 3.0], 3.0)
    """

    index: int
    data: BarData

    @property
    def timestamp(self) -> int:
        """The bar time in integer nanoseconds."""
        return int(self.data.timestamps[self.index])

    def latest_datetime(self, symbol: str | None = None) -> np.datetime64:
        """Return the current bar's time (all symbols share the aligned clock)."""
        return np.datetime64(self.timestamp, "ns")

    def label(self) -> str:
        """Return the bar's time as the data writes it: ``YYYY-MM-DD`` for daily data, else with the time.

        >>> import numpy as np
        >>> from fbt.core.market import BarData
        >>> data = BarData.from_columns(symbols=("A",), timestamps=np.array([90 * 10**9], dtype=np.int64),
        ...                             columns={"close": np.array([[1.0]])})
        >>> MarketEvent(0, data).label()
        '1970-01-01 00:01:30'
        """
        when = np.datetime64(self.timestamp, "ns")
        if self.data.time_format == "date":
            return str(when.astype("datetime64[D]"))
        if self.timestamp % 10**9 == 0:
            when = when.astype("datetime64[s]")
        return str(when).replace("T", " ")

    def _s(self, symbol: str) -> int:
        try:
            return self.data.symbols.index(symbol)
        except ValueError:
            raise StrategyError(
                f"unknown symbol {symbol!r}; the data has {', '.join(self.data.symbols)}"
            ) from None

    def _f(self, field: str) -> int:
        try:
            return _FIELD[field]
        except KeyError:
            raise StrategyError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}") from None

    def latest_value(self, symbol: str, field: str = "adj_close") -> float:
        """Return one field of the symbol's latest bar (NaN before its first bar)."""
        row = self.data._rows.get((symbol, field))
        if row is None:
            self._f(field)  # an unknown name is the strategy's error (StrategyError), checked once
            self._s(symbol)
            row = self.data.row(symbol, field)
        return row.item(self.index)

    def latest_values(self, symbol: str, field: str = "adj_close", n: int = 1) -> FloatArray:
        """Return the last ``n`` values of a field, or fewer if fewer bars exist (read-only view)."""
        s = self._s(symbol)
        start = max(self.data.first[s], self.index + 1 - n)
        return self.data.values[self._f(field), s, start : self.index + 1]

    def latest_bars(self, symbol: str, n: int = 1) -> tuple[Bar, ...]:
        """Return the last ``n`` bars of a symbol, or fewer if fewer bars exist."""
        s = self._s(symbol)
        start = max(self.data.first[s], self.index + 1 - n)
        v, ts = self.data.values, self.data.timestamps
        return tuple(Bar(timestamp=int(ts[i]), **{f: float(v[k, s, i]) for k, f in enumerate(FIELDS)})
                     for i in range(start, self.index + 1))

    def latest_bar(self, symbol: str) -> Bar:
        """Return the symbol's latest bar; a symbol with no bar yet is an error."""
        bars = self.latest_bars(symbol, 1)
        if not bars:
            raise StrategyError(f"{symbol} has no bar yet at {self.label()}")
        return bars[0]

    def is_real(self, symbol: str) -> bool:
        """Tell whether the symbol's current bar came from the data (not forward filled)."""
        return bool(self.data.real[self._s(symbol), self.index])


@attrs.frozen(kw_only=True)
class OrderTerms:
    """How a strategy wants a signal's order placed (``SignalEvent.order``); needs a realistic execution.

    - ``order_type``, ``limit_price``, ``stop_price``, ``time_in_force``: the entry order (LONG,
      SHORT) or the exit order (EXIT) — see :class:`OrderType` for the prices each type needs;
    - ``stop_loss``, ``take_profit``: with LONG or SHORT, a *bracket*: once the entry has filled, a
      stop at ``stop_loss`` and a limit at ``take_profit`` close it, one cancelling the other; with
      EXIT, the same one-cancels-other pair closes the position instead of one order (then leave
      ``order_type`` a market order).

    Prices are on the run's price scale (``adj_close``; see the README).

    >>> OrderTerms(order_type=OrderType.LMT, limit_price=9.5, stop_loss=9.0).time_in_force
    <TimeInForce.GTC: 'GTC'>
    >>> OrderTerms(order_type=OrderType.LMT)
    Traceback (most recent call last):
    ...
    ValueError: limit_price: LMT orders need limit_price, got None
    """

    order_type: OrderType = OrderType.MKT
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    stop_loss: float | None = None
    take_profit: float | None = None

    def __attrs_post_init__(self) -> None:
        _check_order_fields(self.order_type, self.limit_price, self.stop_price, self.time_in_force)
        _price_or_none(self.stop_loss, "stop_loss")
        _price_or_none(self.take_profit, "take_profit")

    @property
    def bracket(self) -> bool:
        """True when a stop-loss or a take-profit is given."""
        return self.stop_loss is not None or self.take_profit is not None


@attrs.frozen(kw_only=True)
class SignalEvent:
    """A strategy's advice for one symbol at one bar.

    ``strength`` scales the size under every sizing model (``fbt.models.sizing``); the book's
    naive sizing (the default) ignores it, as the book does. ``order`` (None: the book's market
    order) says how to place the order: type, prices, time in force, bracket (:class:`OrderTerms`).

    >>> s = SignalEvent(timestamp=0, strategy_id="s", symbol="A", signal_type=SignalType.LONG,
    ...                 order=OrderTerms(order_type=OrderType.STP, stop_price=10.5, take_profit=12.0))
    >>> s.order.order_type.value, s.order.bracket
    ('STP', True)
    """

    timestamp: int
    strategy_id: str
    symbol: str
    signal_type: SignalType = attrs.field(validator=attrs.validators.instance_of(SignalType))
    strength: float = attrs.field(default=1.0, validator=_finite)
    order: OrderTerms | None = None

    def __attrs_post_init__(self) -> None:
        order = self.order
        if order is None:
            return
        if order.__class__ is not OrderTerms:
            raise TypeError(f"order must be an OrderTerms or None, got {order!r}")
        if self.signal_type is SignalType.CANCEL:
            raise ValueError("order: a CANCEL signal places no order, so it takes no order terms")
        if self.signal_type is SignalType.EXIT and order.bracket and order.order_type is not OrderType.MKT:
            raise ValueError("order: an EXIT with stop_loss/take_profit places those orders; leave order_type MKT")


@attrs.frozen(kw_only=True)
class OrderConditions:
    """The conditions of one broker order beyond a plain market order (``OrderEvent.conditions``).

    ``limit_price`` and ``stop_price`` as the order type needs them; ``time_in_force``;
    ``parent_id`` (not 0) makes the order a bracket child that starts working once its parent has
    filled; orders sharing a non-zero ``oco_group`` are one-cancels-other: when one fills, the broker
    cancels the others.

    >>> OrderConditions(stop_price=9.0, parent_id=3, oco_group=3).time_in_force.value
    'GTC'
    """

    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    parent_id: int = 0
    oco_group: int = 0

    def __attrs_post_init__(self) -> None:
        _price_or_none(self.limit_price, "limit_price")
        _price_or_none(self.stop_price, "stop_price")
        if not isinstance(self.time_in_force, TimeInForce):
            raise TypeError(f"time_in_force must be a TimeInForce, got {self.time_in_force!r}")


_PLAIN = OrderConditions()


@attrs.frozen(kw_only=True)
class FillQuantity:
    """How many units an order takes, resolved when it fills (``OrderEvent.at_fill``).

    The broker spends a *budget* at the fill price: ``amount`` of cash (basis ``cash``, a broker's
    cash-quantity order), ``amount`` percent of the equity at the fill (``equity``), or ``amount``
    times the cash available at the fill (``all-cash``; 1 is all of it). The units are the most
    whose cost, commission included, stays within the budget, whole unless the run trades
    fractional units. The order's own ``quantity`` is the estimate at the signal bar's close.

    >>> FillQuantity(basis=SizeBasis.EQUITY, amount=50.0).budget(cash=400.0, equity=1_000.0)
    500.0
    >>> FillQuantity(basis=SizeBasis.ALL_CASH).budget(cash=400.0, equity=1_000.0)
    400.0
    """

    basis: SizeBasis = attrs.field(validator=attrs.validators.instance_of(SizeBasis))
    amount: float = attrs.field(default=1.0, validator=_positive_quantity)

    def budget(self, *, cash: float, equity: float) -> float:
        """The cash this order may spend, given the cash and the equity at its fill."""
        if self.basis is SizeBasis.CASH:
            return self.amount
        if self.basis is SizeBasis.EQUITY:
            return self.amount / 100.0 * equity
        return self.amount * cash

    def describe(self) -> str:
        """The request in words, for rejections and logs.

        >>> FillQuantity(basis=SizeBasis.CASH, amount=2500.0).describe()
        'a cash quantity of 2500'
        """
        if self.basis is SizeBasis.CASH:
            return f"a cash quantity of {self.amount:g}"
        if self.basis is SizeBasis.EQUITY:
            return f"{self.amount:g}% of equity"
        return "all available cash" if self.amount == 1.0 else f"{self.amount:g} of the available cash"


@attrs.frozen(kw_only=True)
class OrderEvent:
    """An order the portfolio sent to the broker. ``order_id`` counts orders from 1 in a run.

    ``conditions`` (None: a plain market order, good till cancelled) holds limit and stop prices,
    time in force and bracket / one-cancels-other links (:class:`OrderConditions`). ``at_fill``
    (None: ``quantity`` units) asks for the quantity to be resolved when the order fills
    (:class:`FillQuantity`); ``quantity`` is then the estimate made when it was sent.

    >>> o = OrderEvent(timestamp=0, symbol="A", quantity=10, direction=Direction.SELL, order_type=OrderType.LMT,
    ...                conditions=OrderConditions(limit_price=12.0))
    >>> o.terms.limit_price, OrderEvent(timestamp=0, symbol="A", quantity=10, direction=Direction.BUY).terms.parent_id
    (12.0, 0)
    """

    timestamp: int
    symbol: str
    quantity: float = attrs.field(validator=_positive_quantity)
    direction: Direction = attrs.field(validator=attrs.validators.instance_of(Direction))
    order_type: OrderType = OrderType.MKT
    order_id: int = 0
    conditions: OrderConditions | None = None
    at_fill: FillQuantity | None = attrs.field(default=None, metadata={JOURNAL_OPTIONAL: True})

    def check(self) -> OrderEvent:
        """Return the order if its type and conditions fit together (the broker asks), else raise ValueError.

        Not run on construction: the book's hot path builds one order per signal, and the portfolio
        builds orders only from checked :class:`OrderTerms`.

        >>> OrderEvent(timestamp=0, symbol="A", quantity=1, direction=Direction.BUY, order_type=OrderType.STP).check()
        Traceback (most recent call last):
        ...
        ValueError: stop_price: STP orders need stop_price, got None
        """
        c = self.terms
        if c.__class__ is not OrderConditions:
            raise TypeError(f"conditions must be an OrderConditions or None, got {c!r}")
        _check_order_fields(self.order_type, c.limit_price, c.stop_price, c.time_in_force)
        return self

    @property
    def terms(self) -> OrderConditions:
        """The order's conditions (the plain market order's when ``conditions`` is None)."""
        return _PLAIN if self.conditions is None else self.conditions


@attrs.frozen(kw_only=True)
class FillEvent:
    """An order filled: ``quantity`` units at ``price`` each, paying ``commission`` in total.

    ``slippage`` is how far a slippage model moved the price against the trader, per unit
    (``price = base price + sign * slippage``); the base price lies within the bar's low-high range,
    the slipped price may not.
    """

    timestamp: int
    symbol: str
    exchange: str = "SIM"
    quantity: float = attrs.field(validator=_positive_quantity)
    direction: Direction = attrs.field(validator=attrs.validators.instance_of(Direction))
    price: float = attrs.field(validator=_finite)
    commission: float = attrs.field(validator=[_finite, attrs.validators.ge(0.0)])
    order_id: int = 0
    slippage: float = 0.0


@attrs.frozen(kw_only=True)
class OrderRejected:
    """An order refused, in full or its unfilled rest: nothing of ``quantity`` was or will be filled.

    ``reason`` says which check failed and ``detail`` gives the figures. A rejected order changes
    no cash, position or commission.
    """

    timestamp: int
    symbol: str
    order_id: int
    direction: Direction
    quantity: float
    reason: RejectReason
    detail: str = ""


@attrs.frozen(kw_only=True)
class OrderCancelled:
    """A working order withdrawn with ``quantity`` still unfilled (on request, expiry, OCO or parent)."""

    timestamp: int
    symbol: str
    order_id: int
    direction: Direction
    quantity: float
    reason: CancelReason


#: Any event the fold handles.
Event = MarketEvent | SignalEvent | OrderEvent | FillEvent | OrderRejected | OrderCancelled
