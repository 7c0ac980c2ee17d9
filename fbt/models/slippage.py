"""Slippage and market impact: ``(price, quantity, volume) -> slippage per unit``.

A slippage model returns how far a fill's price moves *against* the trader, per unit, in the price's
own currency: the broker fills a buy at ``price + slippage`` and a sell at ``price - slippage``,
and records the amount on the :class:`~fbt.core.events.FillEvent`. ``price`` is the base fill price (on
the run's price scale, inside the bar's low-high range), ``quantity`` the units filled (unsigned),
``volume`` the bar's volume in units. Models that need the volume set ``uses_volume``; at a bar
with no volume they cannot price a fill, so the order waits. No slippage is ``None`` (the default).

Slippage is what moves a fill outside the bar's range; the base price never lies outside it. The
impact models cap their impact at the whole price (a fraction of 1: a participation far above the
bar's volume is outside any model's range), and the broker never fills a sell below zero.
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol

import attrs

from fbt.core.errors import ConfigError

__all__ = [
    "BASIS_POINT",
    "FixedBps",
    "HalfSpread",
    "SlippageModel",
    "SquareRootImpact",
    "VolumeShare",
    "uses_volume",
]

#: One basis point as a fraction of the price.
BASIS_POINT = 1e-4


class SlippageModel(Protocol):
    """``(price, quantity, volume) -> slippage per unit``, non-negative and finite."""

    def __call__(self, price: float, quantity: float, volume: float) -> float: ...


def uses_volume(model: object) -> bool:
    """Tell whether a slippage model needs the bar's volume (its ``uses_volume``, else False).

    >>> uses_volume(VolumeShare()), uses_volume(FixedBps())
    (True, False)
    """
    return bool(getattr(model, "uses_volume", False))


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{attribute.name}: expected a non-negative finite number, got {value!r}")


@attrs.frozen(kw_only=True)
class FixedBps:
    """A fixed cost in basis points of the price: ``slippage = price * bps / 10_000``.

    >>> FixedBps(bps=5)(20.0, 100, 0.0)
    0.01
    """

    bps: float = attrs.field(default=5.0, validator=_non_negative)
    uses_volume: ClassVar[bool] = False

    def __call__(self, price: float, quantity: float, volume: float) -> float:
        return price * self.bps * BASIS_POINT


@attrs.frozen(kw_only=True)
class HalfSpread:
    """Cross half the bid-ask spread: ``slippage = spread / 2 + price * spread_bps / 2 / 10_000``.

    ``spread`` is in currency per unit on the run's price scale (adjusted prices when the data has
    an ``Adj Close``), ``spread_bps`` relative to the price; give either or both. The bar prices
    are taken as mid prices.

    >>> HalfSpread(spread=0.02)(10.0, 100, 0.0), HalfSpread(spread_bps=10)(10.0, 100, 0.0)
    (0.01, 0.005)
    """

    spread: float = attrs.field(default=0.0, validator=_non_negative)
    spread_bps: float = attrs.field(default=0.0, validator=_non_negative)
    uses_volume: ClassVar[bool] = False

    def __call__(self, price: float, quantity: float, volume: float) -> float:
        return self.spread / 2 + price * self.spread_bps * BASIS_POINT / 2


@attrs.frozen(kw_only=True)
class VolumeShare:
    """Price impact growing with the square of the participation (zipline's volume-share model).

    ``slippage = price * min(1, price_impact * (quantity / volume) ** 2)``. With a participation cap
    (``Risk.volume_limit``, zipline's default is 0.025) large orders fill in parts over several bars.

    >>> VolumeShare(price_impact=0.1)(10.0, 1_000, 10_000)
    0.010000000000000002
    """

    price_impact: float = attrs.field(default=0.1, validator=_non_negative)
    uses_volume: ClassVar[bool] = True

    def __call__(self, price: float, quantity: float, volume: float) -> float:
        share = quantity / volume
        return price * min(1.0, self.price_impact * share * share)


@attrs.frozen(kw_only=True)
class SquareRootImpact:
    """The square-root law of market impact: ``slippage = price * min(1, coefficient * sqrt(quantity / volume))``.

    The law reads ``impact = Y * sigma * sqrt(Q / V)`` with ``sigma`` the volatility over the bar's
    horizon and ``Y`` of order 1; ``coefficient`` stands for ``Y * sigma`` (0.02: Y = 1 and a 2%
    daily volatility for daily bars).

    >>> SquareRootImpact(coefficient=0.02)(50.0, 2_500, 1_000_000)
    0.05
    """

    coefficient: float = attrs.field(default=0.02, validator=_non_negative)
    uses_volume: ClassVar[bool] = True

    def __call__(self, price: float, quantity: float, volume: float) -> float:
        return price * min(1.0, self.coefficient * math.sqrt(quantity / volume))
