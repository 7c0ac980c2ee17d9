"""Commission models: ``(quantity, price) -> commission`` in the account currency.

A commission model is any pure function of the filled quantity (units, unsigned) and the fill price
(per unit) that returns a non-negative commission for the whole fill. The parameterised models are
frozen records with a ``__call__`` (hashable, printable, comparable); :func:`combined` adds several
(e.g. a broker's commission plus an exchange fee).

Each fill pays as its own order. Under per-share schedules with a minimum (all of those here)
splitting an order into parts never lowers the total: every one of them is subadditive,
``f(a) + f(b) >= f(a + b)``. That fails for schedules with a size threshold below which trading
is free or cheaper per unit (``f(a) + f(b) < f(a + b)`` is then possible), and IB itself charges
its minimum once per *order*, so for an order filled in parts fbt's charge is an upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs

from fbt.core.errors import ConfigError

__all__ = [
    "IB_SEED_MINIMUM",
    "Combined",
    "CommissionModel",
    "IBFixed",
    "IBTiered",
    "PerShare",
    "PerTrade",
    "PercentOfValue",
    "combined",
    "ib_seed_commission",
    "zero_commission",
]

CommissionModel = Callable[[float, float], float]

#: Minimum commission per order of the seed's Interactive Brokers schedule, in USD.
IB_SEED_MINIMUM = 1.30
#: Per-share rate up to and including 500 shares, in USD.
IB_SEED_RATE_SMALL = 0.013
#: Per-share rate above 500 shares, in USD.
IB_SEED_RATE_LARGE = 0.008
#: The largest order that pays the small-order rate, in shares.
IB_SEED_BREAK = 500


def ib_seed_commission(quantity: float, price: float = 0.0) -> float:
    """Return the seed's Interactive Brokers commission (US API directed orders) for one fill.

    ``commission = max(1.30, 0.013 * quantity)`` for ``quantity <= 500`` shares, else
    ``max(1.30, 0.008 * quantity)``, in USD. The price does not enter. (The seed's prose says
    0.08 USD above 500 shares; its code and IB's schedule of the time say 0.008, used here.)

    >>> ib_seed_commission(100)
    1.3
    >>> ib_seed_commission(400)
    5.2
    >>> ib_seed_commission(1000)
    8.0
    """
    if quantity <= IB_SEED_BREAK:
        return max(IB_SEED_MINIMUM, IB_SEED_RATE_SMALL * quantity)
    return max(IB_SEED_MINIMUM, IB_SEED_RATE_LARGE * quantity)


def zero_commission(quantity: float, price: float = 0.0) -> float:
    """Return no commission at all.

    >>> zero_commission(100, 10.0)
    0.0
    """
    return 0.0


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{attribute.name}: expected a non-negative finite number, got {value!r}")


#: IB's current fixed plan (US stocks): USD per share, minimum and maximum per order.
IB_FIXED_RATE = 0.005
IB_FIXED_MINIMUM = 1.00
IB_FIXED_MAXIMUM_FRACTION = 0.01
#: IB's tiered plan (US stocks): (monthly shares up to and including, USD per share), then the rest.
IB_TIERS: tuple[tuple[float, float], ...] = (
    (300_000, 0.0035),
    (3_000_000, 0.0020),
    (20_000_000, 0.0015),
    (100_000_000, 0.0010),
    (math.inf, 0.0005),
)
IB_TIERED_MINIMUM = 0.35


@attrs.frozen(kw_only=True)
class IBFixed:
    """Interactive Brokers' fixed plan for US stocks (exchange and regulatory fees included).

    ``commission = min(max(minimum, rate * quantity), maximum_fraction * quantity * price)``:
    USD 0.005 per share, at least USD 1.00, at most 1% of the trade value (when 1% of the value is
    below the minimum, the 1% is charged). Non-decreasing in quantity and in price.

    >>> IBFixed()(100, 50.0), IBFixed()(1_000, 50.0), IBFixed()(10, 5.0)
    (1.0, 5.0, 0.5)
    """

    rate: float = attrs.field(default=IB_FIXED_RATE, validator=_non_negative)
    minimum: float = attrs.field(default=IB_FIXED_MINIMUM, validator=_non_negative)
    maximum_fraction: float = attrs.field(default=IB_FIXED_MAXIMUM_FRACTION, validator=_non_negative)

    def __call__(self, quantity: float, price: float = 0.0) -> float:
        return min(max(self.minimum, self.rate * quantity), self.maximum_fraction * quantity * price)


@attrs.frozen(kw_only=True)
class IBTiered:
    """Interactive Brokers' tiered plan for US stocks, IB's own commission only.

    ``commission = min(max(0.35, rate * quantity), 0.01 * quantity * price)`` in USD, where the
    per-share ``rate`` is the tier of the account's ``monthly_volume`` (shares traded this month):
    0.0035 up to 300,000; 0.0020 up to 3,000,000; 0.0015 up to 20,000,000; 0.0010 up to
    100,000,000; 0.0005 above. fbt does not count the month's volume: declare it. Exchange,
    clearing and regulatory fees are extra; add them with :func:`combined` and :class:`PerShare`
    (IB's clearing fee is USD 0.0002 per share). Non-decreasing in quantity and price.

    >>> IBTiered()(50, 50.0), IBTiered()(1_000, 50.0), IBTiered(monthly_volume=5e6)(1_000, 50.0)
    (0.35, 3.5, 1.5)
    """

    monthly_volume: float = attrs.field(default=0.0, validator=_non_negative)
    minimum: float = attrs.field(default=IB_TIERED_MINIMUM, validator=_non_negative)
    maximum_fraction: float = attrs.field(default=IB_FIXED_MAXIMUM_FRACTION, validator=_non_negative)

    @property
    def rate(self) -> float:
        """The per-share rate of the declared monthly volume's tier."""
        return next(rate for upto, rate in IB_TIERS if self.monthly_volume <= upto)

    def __call__(self, quantity: float, price: float = 0.0) -> float:
        return min(max(self.minimum, self.rate * quantity), self.maximum_fraction * quantity * price)


@attrs.frozen(kw_only=True)
class PercentOfValue:
    """A fraction of the traded value, with an optional minimum per fill.

    ``commission = max(minimum, rate * quantity * price)``; ``rate=0.001`` is 0.1% (10 bp).
    Non-decreasing in quantity and price.

    >>> PercentOfValue(rate=0.001)(100, 50.0)
    5.0
    """

    rate: float = attrs.field(default=0.001, validator=_non_negative)
    minimum: float = attrs.field(default=0.0, validator=_non_negative)

    def __call__(self, quantity: float, price: float = 0.0) -> float:
        return max(self.minimum, self.rate * quantity * price)


@attrs.frozen(kw_only=True)
class PerShare:
    """A rate per unit with an optional minimum per fill (also for exchange or clearing fees).

    ``commission = max(minimum, rate * quantity)``. Non-decreasing in quantity.

    >>> PerShare(rate=0.0002)(1_000), PerShare(rate=0.01, minimum=1.0)(50)
    (0.2, 1.0)
    """

    rate: float = attrs.field(default=0.005, validator=_non_negative)
    minimum: float = attrs.field(default=0.0, validator=_non_negative)

    def __call__(self, quantity: float, price: float = 0.0) -> float:
        return max(self.minimum, self.rate * quantity)


@attrs.frozen(kw_only=True)
class PerTrade:
    """A flat amount per fill, whatever its size: ``commission = amount``.

    >>> PerTrade(amount=4.95)(1, 10.0)
    4.95
    """

    amount: float = attrs.field(default=1.0, validator=_non_negative)

    def __call__(self, quantity: float, price: float = 0.0) -> float:
        return self.amount


@attrs.frozen(kw_only=True)
class Combined:
    """Several charges on the same fill, added: ``commission = sum(part(quantity, price))``.

    >>> Combined(parts=(IBFixed(), PerShare(rate=0.0002)))(1_000, 50.0)
    5.2
    """

    parts: tuple[CommissionModel, ...]

    def __call__(self, quantity: float, price: float = 0.0) -> float:
        total = 0.0
        for part in self.parts:
            total = total + part(quantity, price)
        return total


def combined(*parts: CommissionModel) -> Combined:
    """Return the commission model that charges every one of ``parts`` on each fill.

    >>> combined(PerTrade(amount=1.0), PerShare(rate=0.01))(100, 10.0)
    2.0
    """
    if not parts:
        raise ConfigError("combined: expected at least one commission model")
    return Combined(parts=tuple(parts))
