"""Every event record: frozen, slotted, validated at the boundary.

Events are facts stamped with the *bar time* (integer nanoseconds since the epoch, the data's own
label), never the wall clock, so the same inputs always give the same events.

>>> from fbt.events import OrderEvent, Direction
>>> order = OrderEvent(timestamp=0, symbol="ORCL", quantity=100, direction=Direction.BUY, order_id=1)
>>> order.direction.sign, order.order_type.value
(1, 'MKT')
"""

from __future__ import annotations

import enum
import math

import attrs
import numpy as np

from fbt.errors import StrategyError
from fbt.market import FIELDS, Bar, BarData, FloatArray

__all__ = [
    "Direction",
    "Event",
    "FillEvent",
    "MarketEvent",
    "OrderEvent",
    "OrderType",
    "SignalEvent",
    "SignalType",
]


class SignalType(enum.Enum):
    """What a strategy advises: go long, go short, or close the position."""

    LONG = "LONG"
    SHORT = "SHORT"
    EXIT = "EXIT"


class Direction(enum.Enum):
    """The side of an order or a fill."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL."""
        return 1 if self is Direction.BUY else -1


class OrderType(enum.Enum):
    """Order types. The core sends market orders only."""

    MKT = "MKT"


def _finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def _positive_quantity(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive finite number, got {value!r}")


_FIELD = {name: k for k, name in enumerate(FIELDS)}


@attrs.frozen
class MarketEvent:
    """A new bar: a read-only cursor at bar ``index`` of the run's :class:`~fbt.market.BarData`.

    It offers the seed's accessors and shows nothing after the current bar. Before a symbol's first
    real bar the symbol has no bars: ``latest_values`` is empty and ``latest_value`` is NaN.

    >>> import numpy as np
    >>> from fbt.market import BarData
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
        return float(self.data.values[self._f(field), self._s(symbol), self.index])

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
            raise StrategyError(f"{symbol} has no bar yet at {self.latest_datetime()}")
        return bars[0]

    def is_real(self, symbol: str) -> bool:
        """Tell whether the symbol's current bar came from the data (not forward filled)."""
        return bool(self.data.real[self._s(symbol), self.index])


@attrs.frozen(kw_only=True)
class SignalEvent:
    """A strategy's advice for one symbol at one bar.

    ``strength`` scales sizing in later portfolio models; the book's naive sizing ignores it.
    """

    timestamp: int
    strategy_id: str
    symbol: str
    signal_type: SignalType = attrs.field(validator=attrs.validators.instance_of(SignalType))
    strength: float = attrs.field(default=1.0, validator=_finite)


@attrs.frozen(kw_only=True)
class OrderEvent:
    """An order the portfolio sent to the broker. ``order_id`` counts orders from 1 in a run."""

    timestamp: int
    symbol: str
    quantity: float = attrs.field(validator=_positive_quantity)
    direction: Direction = attrs.field(validator=attrs.validators.instance_of(Direction))
    order_type: OrderType = OrderType.MKT
    order_id: int = 0


@attrs.frozen(kw_only=True)
class FillEvent:
    """An order filled: ``quantity`` units at ``price`` each, paying ``commission`` in total."""

    timestamp: int
    symbol: str
    exchange: str = "SIM"
    quantity: float = attrs.field(validator=_positive_quantity)
    direction: Direction = attrs.field(validator=attrs.validators.instance_of(Direction))
    price: float = attrs.field(validator=_finite)
    commission: float = attrs.field(validator=[_finite, attrs.validators.ge(0.0)])
    order_id: int = 0


#: Any event the fold handles.
Event = MarketEvent | SignalEvent | OrderEvent | FillEvent
