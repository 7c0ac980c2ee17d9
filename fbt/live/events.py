"""The events a live session adds to the kernel's: an order accepted, a fill corrected, an anomaly.

The normaliser (:mod:`fbt.live.normalise`) emits these beside the kernel's own
:class:`~fbt.core.events.FillEvent`, :class:`~fbt.core.events.OrderCancelled` and
:class:`~fbt.core.events.OrderRejected`. They are frozen records stamped with the venue's times.

>>> from fbt.core.events import Direction, FillEvent
>>> old = FillEvent(timestamp=1, symbol="A", quantity=10, direction=Direction.BUY, price=5.0, commission=1.0)
>>> FillCorrected(timestamp=2, order_ref="r", exec_id="e.02", replaced_exec_id="e.01", replaced=old,
...               fill=attrs.evolve(old, price=5.1)).fill.price
5.1
"""

from __future__ import annotations

import enum

import attrs

from fbt.core.events import FillEvent

__all__ = ["AnomalyKind", "BrokerAnomaly", "FillCorrected", "LiveEvent", "OrderAccepted"]


@attrs.frozen(kw_only=True)
class OrderAccepted:
    """The venue took an order (IB: the first PreSubmitted, Submitted or later state, or an execution)."""

    timestamp: int
    order_ref: str
    order_id: int
    symbol: str
    broker_order_id: int


@attrs.frozen(kw_only=True)
class FillCorrected:
    """The venue replaced an execution (IB: same ``execId`` up to its last ``.``, higher suffix).

    The portfolio undoes ``replaced`` (position less its signed quantity; cash back its cost and
    commission) and books ``fill`` in its place. A fill booked with its commission pending
    (:func:`fbt.live.normalise.flush`) is corrected the same way once the report arrives, with
    ``exec_id == replaced_exec_id``.
    """

    timestamp: int
    order_ref: str
    exec_id: str
    replaced_exec_id: str
    replaced: FillEvent
    fill: FillEvent


class AnomalyKind(enum.Enum):
    """What was wrong with what the venue said (see :class:`BrokerAnomaly`)."""

    #: an execution would take the order's filled quantity beyond its quantity: not applied
    OVERFILL = "overfill"
    #: an execution or status of an order this session never registered: not applied
    UNKNOWN_ORDER = "unknown-order"
    #: an execution on the other side of the order, or with a quantity or price that is no number: not applied
    BAD_EXECUTION = "bad-execution"
    #: a commission that is no finite number (ignored) or negative (booked as 0)
    BAD_COMMISSION = "bad-commission"
    #: the order is final but the venue's filled quantity is not the sum of its executions
    FILLED_MISMATCH = "filled-mismatch"
    #: an execution still had no commission report when the session flushed: booked with commission 0
    COMMISSION_MISSING = "commission-missing"


@attrs.frozen(kw_only=True)
class BrokerAnomaly:
    """Something the venue said that fbt did not apply as it was, with the figures in ``detail``."""

    timestamp: int
    kind: AnomalyKind
    order_ref: str
    detail: str
    exec_id: str = ""
    order_id: int = 0
    symbol: str = ""


#: What the normaliser emits beside the kernel's events.
LiveEvent = OrderAccepted | FillCorrected | BrokerAnomaly
