"""Position sizing: how many units a LONG or SHORT signal buys or sells.

A sizing model returns the signed *target position* of the symbol (units, unrounded); the portfolio
orders the difference from the current position, rounded toward zero to whole units unless
``Risk.fractional`` is on. EXIT always closes the whole position, whatever the model.

Every model here multiplies its size by the signal's ``strength``.

Resolved at the fill: :class:`AllCash`, and :class:`FixedCash` / :class:`PercentOfEquity` with
``at_fill=True``, size the order when it fills instead, from the fill price and the cash or
equity at that moment (a broker's cash-quantity order, Interactive Brokers' ``cashQty``;
backtesting.py's ``buy()``): the model still gives the estimate at the signal bar's close (the
order's ``quantity``, which working-order accounting uses), and :meth:`fill_quantity` the request
the broker resolves (:class:`fbt.core.events.FillQuantity`). That needs a fill after the signal:
``execution`` next-open or next-close. The *entry* models (fixed
quantity, fixed cash, percent of equity, volatility target, Kelly) size entries from flat, as the
book does: while a position is open they return it unchanged. :class:`TargetWeight` rebalances
the position to its weight on every LONG (to ``+weight``) or SHORT (to ``-weight``).

Inputs: ``side`` (+1 LONG, -1 SHORT), ``strength``, ``price`` (the signal bar's ``adj_close``),
``equity`` (cash plus positions at that bar's ``adj_close``), ``held`` (the current position),
``history`` (the symbol's ``adj_close`` up to and including the signal bar) and ``periods`` (bars
per year). NaN means "cannot size" (no price, too little history); the portfolio turns it into an
``OrderRejected`` with reason ``sizing``.

>>> PercentOfEquity(percent=10)(side=1, strength=1.0, price=25.0, equity=100_000.0, held=0.0,
...                             history=np.array([25.0]), periods=252.0)
400.0
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.errors import ConfigError
from fbt.core.events import FillQuantity, SizeBasis
from fbt.models.identity import IDENTITY, UNLESS_DEFAULT

__all__ = [
    "AllCash",
    "FixedCash",
    "FixedQuantity",
    "Kelly",
    "PercentOfEquity",
    "SizingModel",
    "TargetWeight",
    "VolatilityTarget",
    "fill_quantity_of",
    "round_quantity",
]

FloatArray = npt.NDArray[np.float64]
NAN = math.nan


class SizingModel(Protocol):
    """``(side, strength, price, equity, held, history, periods) -> signed target position``."""

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float: ...


def fill_quantity_of(model: object, strength: float) -> FillQuantity | None:
    """The request a model's entry is resolved by at its fill (None: its size is final when sent).

    >>> fill_quantity_of(AllCash(), 0.5), fill_quantity_of(FixedQuantity(), 1.0)
    (FillQuantity(basis=<SizeBasis.ALL_CASH: 'all-cash'>, amount=0.5), None)
    """
    at_fill = getattr(model, "fill_quantity", None)
    return None if at_fill is None else at_fill(strength)


def round_quantity(quantity: float, *, fractional: bool) -> float:
    """Round an unsigned quantity down to whole units (unless fractional); ``1e-9`` absorbs float noise.

    >>> round_quantity(199.99999999999997, fractional=False), round_quantity(3.7, fractional=False)
    (200.0, 3.0)
    >>> round_quantity(3.7, fractional=True)
    3.7
    """
    if fractional:
        return quantity
    return float(math.floor(quantity + 1e-9))


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{attribute.name}: expected a positive finite number, got {value!r}")


def _window(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigError(f"{attribute.name}: expected a whole number >= 2, got {value!r}")


def _entry(side: int, held: float, units: float) -> float:
    return held if held != 0 else side * units


@attrs.frozen(kw_only=True)
class FixedQuantity:
    """A fixed number of units per entry: ``target = side * quantity * strength`` from flat.

    >>> FixedQuantity(quantity=100)(side=-1, strength=0.5, price=10.0, equity=1e5, held=0.0,
    ...                             history=np.array([10.0]), periods=252.0)
    -50.0
    """

    quantity: float = attrs.field(default=100.0, validator=_positive)
    rebalances: ClassVar[bool] = False

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        return _entry(side, held, self.quantity * strength)


@attrs.frozen(kw_only=True)
class FixedCash:
    """A fixed amount of cash per entry: ``target = side * amount * strength / price`` from flat.

    >>> FixedCash(amount=10_000)(side=1, strength=1.0, price=30.0, equity=1e5, held=0.0,
    ...                          history=np.array([30.0]), periods=252.0)
    333.3333333333333
    """

    amount: float = attrs.field(default=10_000.0, validator=_positive)
    at_fill: bool = attrs.field(default=False, metadata={IDENTITY: UNLESS_DEFAULT})
    rebalances: ClassVar[bool] = False

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        return _entry(side, held, self.amount * strength / price)

    def fill_quantity(self, strength: float) -> FillQuantity | None:
        """With ``at_fill``: a cash quantity of ``amount * strength``, resolved at the fill price."""
        return FillQuantity(basis=SizeBasis.CASH, amount=self.amount * strength) if self.at_fill else None


@attrs.frozen(kw_only=True)
class PercentOfEquity:
    """A percentage of equity per entry: ``target = side * percent / 100 * equity * strength / price``.

    >>> PercentOfEquity(percent=50)(side=1, strength=1.0, price=20.0, equity=1_000.0, held=0.0,
    ...                             history=np.array([20.0]), periods=252.0)
    25.0
    """

    percent: float = attrs.field(default=10.0, validator=_positive)
    at_fill: bool = attrs.field(default=False, metadata={IDENTITY: UNLESS_DEFAULT})
    rebalances: ClassVar[bool] = False

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        return _entry(side, held, self.percent / 100 * equity * strength / price)

    def fill_quantity(self, strength: float) -> FillQuantity | None:
        """With ``at_fill``: ``percent * strength`` percent of the equity at the fill."""
        return FillQuantity(basis=SizeBasis.EQUITY, amount=self.percent * strength) if self.at_fill else None


@attrs.frozen(kw_only=True)
class AllCash:
    """All the cash available at the fill, in whole units of the fill price (backtesting.py's ``buy()``).

    An entry from flat; ``fraction`` (times ``strength``) of the cash, 1 by default. The estimate
    at the signal bar is ``fraction * strength * equity / price``; the broker resolves the order
    when it fills: the most units whose cost and commission the cash then available pays.

    >>> AllCash()(side=-1, strength=1.0, price=40.0, equity=1_000.0, held=0.0, history=np.array([40.0]),
    ...           periods=252.0)
    -25.0
    """

    fraction: float = attrs.field(default=1.0, validator=_positive)
    rebalances: ClassVar[bool] = False

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        return _entry(side, held, self.fraction * strength * equity / price)

    def fill_quantity(self, strength: float) -> FillQuantity:
        """A fraction ``fraction * strength`` of the cash available at the fill."""
        return FillQuantity(basis=SizeBasis.ALL_CASH, amount=self.fraction * strength)


@attrs.frozen(kw_only=True)
class TargetWeight:
    """Rebalance to a weight of equity: ``target = side * weight * strength * equity / price``.

    Unlike the entry models it trades on every LONG or SHORT, also while a position is open, by the
    difference to the target (so a LONG while short buys it back and goes long).

    >>> TargetWeight(weight=0.5)(side=1, strength=1.0, price=10.0, equity=1_000.0, held=20.0,
    ...                          history=np.array([10.0]), periods=252.0)
    50.0
    """

    weight: float = attrs.field(default=1.0, validator=_positive)
    rebalances: ClassVar[bool] = True

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        return side * self.weight * strength * equity / price


def _returns(history: FloatArray, window: int) -> FloatArray:
    prices = history[-(window + 1):]
    return prices[1:] / prices[:-1] - 1.0


@attrs.frozen(kw_only=True)
class VolatilityTarget:
    """Size an entry so the position's annualised volatility is ``target`` of equity.

    ``weight = min(max_weight, target / (std(r) * sqrt(periods)))`` with ``r`` the last ``window``
    simple returns of ``adj_close`` (population std), and ``target = side * weight * strength *
    equity / price`` from flat. NaN (cannot size) with fewer than two returns; ``max_weight`` when
    the price never moved.

    >>> h = np.array([100.0, 101.0, 100.0, 101.0, 100.0])
    >>> round(VolatilityTarget(target=0.1, window=4)(side=1, strength=1.0, price=100.0, equity=1e5, held=0.0,
    ...                                               history=h, periods=252.0), 2)
    633.07
    """

    target: float = attrs.field(default=0.10, validator=_positive)
    window: int = attrs.field(default=20, validator=_window)
    max_weight: float = attrs.field(default=1.0, validator=_positive)
    rebalances: ClassVar[bool] = False

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        if held != 0:
            return held
        r = _returns(history, self.window)
        if r.size < 2:
            return NAN
        volatility = float(np.std(r)) * math.sqrt(periods)
        weight = self.max_weight if volatility == 0 else min(self.max_weight, self.target / volatility)
        return side * weight * strength * equity / price


@attrs.frozen(kw_only=True)
class Kelly:
    """A fraction of the Kelly bet, capped: ``weight = min(cap, max(0, fraction * side * mean(r) / var(r)))``.

    ``r`` are the last ``window`` simple returns of ``adj_close`` (population variance); the Kelly
    fraction of equity for a return stream is ``mean / variance``, for a short ``-mean / variance``.
    ``target = side * weight * strength * equity / price`` from flat. ``fraction`` scales it down
    (half Kelly is common), ``cap`` bounds the leverage. NaN with fewer than two returns; a weight
    of 0 (no edge on this side) sizes nothing and the entry is rejected.

    >>> h = np.array([100.0, 101.0, 100.5, 102.0, 103.0])
    >>> round(Kelly(fraction=0.5, window=4, cap=1.0)(side=1, strength=1.0, price=103.0, equity=1e5, held=0.0,
    ...                                              history=h, periods=252.0), 2)
    970.87
    """

    fraction: float = attrs.field(default=0.5, validator=_positive)
    window: int = attrs.field(default=60, validator=_window)
    cap: float = attrs.field(default=1.0, validator=_positive)
    rebalances: ClassVar[bool] = False

    def __call__(
        self, *, side: int, strength: float, price: float, equity: float, held: float, history: FloatArray,
        periods: float,
    ) -> float:
        if held != 0:
            return held
        r = _returns(history, self.window)
        if r.size < 2:
            return NAN
        mean, variance = float(np.mean(r)), float(np.var(r))
        if variance == 0:
            weight = self.cap if side * mean > 0 else 0.0
        else:
            weight = min(self.cap, max(0.0, self.fraction * side * mean / variance))
        return side * weight * strength * equity / price
