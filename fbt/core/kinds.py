"""The kinds events are made of: what a signal advises, a side, an order type, a time in force, and
why an order was rejected or cancelled. Enums, each member valued by the text the journal writes.

>>> Direction.SELL.sign, OrderType("STP_LMT").name
(-1, 'STP_LMT')
"""

from __future__ import annotations

import enum

__all__ = ["CancelReason", "Direction", "OrderType", "RejectReason", "SignalType", "SizeBasis", "TimeInForce"]


class SignalType(enum.Enum):
    """What a strategy advises: go long, go short, close the position, or cancel working orders.

    ``CANCEL`` withdraws every working order for the symbol (outside book mode orders can wait at
    the broker); ``EXIT`` does that too before it closes the position.
    """

    LONG = "LONG"
    SHORT = "SHORT"
    EXIT = "EXIT"
    CANCEL = "CANCEL"


class Direction(enum.Enum):
    """The side of an order or a fill."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL."""
        return 1 if self is Direction.BUY else -1


class OrderType(enum.Enum):
    """Order types. Book mode sends market orders only; the other types need a realistic execution.

    - ``MKT`` market: fills when the broker next processes a bar (book: at once at ``adj_close``;
      ``next-open``: at the next bar's open; ``next-close``: at the next bar's close);
    - ``LMT`` limit at ``limit_price``: a buy fills at the limit or lower, a sell at the limit or higher;
    - ``STP`` stop at ``stop_price``: becomes a market order once the price trades through the stop;
    - ``STP_LMT`` stop-limit: becomes a limit order at ``limit_price`` once the stop is touched;
    - ``MOO`` market-on-open and ``MOC`` market-on-close: at the next bar's open or close, whatever
      the run's execution mode.
    """

    MKT = "MKT"
    LMT = "LMT"
    STP = "STP"
    STP_LMT = "STP_LMT"
    MOO = "MOO"
    MOC = "MOC"


class TimeInForce(enum.Enum):
    """How long an unfilled order works: until cancelled, or for one trading day.

    ``DAY`` orders expire at the first bar of a later calendar day (of the bar labels) than the
    first bar they could fill on; with daily bars that is one bar.
    """

    GTC = "GTC"
    DAY = "DAY"


class RejectReason(enum.Enum):
    """Why the broker or the portfolio refused an order (see :class:`OrderRejected`).

    ``cash``, ``margin``, ``leverage``, ``position``, ``group``, ``short``: a risk check failed
    (``fbt.models.risk``); ``sizing``: the sizing model could not size the entry (no price yet, too
    little history, or a size that rounds to zero units); ``volume``: book mode cannot price a fill
    with a volume-based slippage model on a bar without volume; ``broker``: a live venue refused
    the order (its own reason is the rejection's ``detail``).
    """

    CASH = "cash"
    MARGIN = "margin"
    LEVERAGE = "leverage"
    POSITION = "position"
    GROUP = "group"
    SHORT = "short"
    SIZING = "sizing"
    VOLUME = "volume"
    BROKER = "broker"


class CancelReason(enum.Enum):
    """Why a working order stopped working without filling in full (see :class:`OrderCancelled`)."""

    REQUESTED = "requested"
    EXPIRED = "expired"
    OCO = "oco"
    PARENT = "parent"


class SizeBasis(enum.Enum):
    """What an order resolved at its fill spends (see :class:`fbt.core.events.FillQuantity`).

    ``cash``: an amount of cash (a broker's cash-quantity order); ``equity``: a percentage of the
    account's equity at the fill; ``all-cash``: a fraction of the cash available at the fill.
    """

    CASH = "cash"
    EQUITY = "equity"
    ALL_CASH = "all-cash"
