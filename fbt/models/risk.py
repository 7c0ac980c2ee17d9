"""Risk checks and trading constraints: what a fill may do to the portfolio.

The broker runs :func:`check_fill` on every fill it is about to make (book mode: when the order
arrives; otherwise when the order would fill, at the fill's own price), against the portfolio as
it stands after the fills before it. A failed check turns the order (or its unfilled rest) into an
``OrderRejected`` event with a reason; nothing else changes.

Checks, with ``after`` the position after the fill and ``equity = cash_after + sum(position *
mark)`` (the filled symbol marked at the fill price, the others at their last known ``adj_close``;
with contract multipliers every ``price`` and ``mark`` counts ``* multiplier``, the fill's cost
included, in the portfolio's order of operations):

- ``allow_short=False`` (long only): ``after >= 0``;
- cash check without margin: ``cash_after >= 0`` on every fill (nothing bought that cannot be paid
  for, commission included);
- cash check with ``margin=m``: ``gross <= m * equity`` when the fill grows the position, with
  ``gross = sum(|position * mark|)`` (buying power, Reg-T style; ``m = 2`` is Reg-T's);
- ``max_leverage=L``: ``gross <= L * equity`` when the fill grows the position;
- ``max_position=f``: ``|after * price| <= f * equity`` when the fill grows the position;
- each :class:`Group`: ``sum(|position * mark|)`` over its symbols ``<= limit * equity`` when the
  fill grows a position in the group.

Instruments with a per-contract ``margin`` (``margins``, aligned to the symbols; None for the
others) hold ``|position| * margin`` instead of the notional: the cash check is on the cash a
futures broker reports, ``cash_after + sum(position * mark - |position| * margin)`` over them
(the filled symbol marked at the fill price), and their exposure in ``gross``, ``max_position``
and the groups is the margin held, ``|position| * margin``. A fill of a contract whose margin is
at or above its value at the fill price is refused (reason ``margin``).

A fill that shrinks a position is never refused by the exposure checks, so exits always go through
(unless the cash check finds the commission cannot be paid).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import attrs

from fbt.core.errors import ConfigError
from fbt.core.events import RejectReason
from fbt.models.fill import Execution

__all__ = ["Group", "Risk", "check_fill"]


def _optional_positive(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{attribute.name}: expected a positive finite number or None, got {value!r}")


def _margin(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    _optional_positive(instance, attribute, value)
    if value is not None and value < 1:
        raise ConfigError(f"margin: expected a multiple of equity >= 1 (2 is Reg-T), got {value!r}")


def _volume_limit(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    _optional_positive(instance, attribute, value)
    if value is not None and value > 1:
        raise ConfigError(f"volume_limit: expected a fraction of the bar's volume in (0, 1], got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    _optional_positive(instance, attribute, value)  # type: ignore[arg-type]


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _groups(value: Iterable[Group]) -> tuple[Group, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Group:
    """A group of symbols (a sector) whose gross exposure may not exceed ``limit`` times equity.

    >>> Group(name="tech", symbols=("ORCL", "NVDA"), limit=0.5).limit
    0.5
    """

    name: str
    symbols: tuple[str, ...] = attrs.field(converter=_strings)
    limit: float = attrs.field(validator=_positive)


@attrs.frozen(kw_only=True)
class Risk:
    """Risk checks and constraints of a run (all off by default, except the mode's cash check).

    - ``cash_check``: None means on outside book mode and off in book mode (the book has none),
      unless ``margin`` is given;
    - ``margin``: buying power as a multiple of equity; replaces the cash-only rule (see above);
    - ``max_position``, ``max_leverage``: fractions/multiples of equity (None: no limit);
    - ``allow_short``: False is long-only;
    - ``groups``: per-group exposure limits;
    - ``volume_limit``: at most this fraction of a bar's volume fills per symbol and bar; the rest
      of an order waits for later bars (partial fills). A bar with no volume fills nothing then.
      Not in book mode (it fills at once or never);
    - ``fractional``: sizes and partial fills in fractions of a unit (FX, crypto) instead of whole units.

    >>> Risk().cash_check_on(Execution.BOOK), Risk().cash_check_on(Execution.NEXT_OPEN)
    (False, True)
    """

    cash_check: bool | None = None
    margin: float | None = attrs.field(default=None, validator=_margin)
    max_position: float | None = attrs.field(default=None, validator=_optional_positive)
    max_leverage: float | None = attrs.field(default=None, validator=_optional_positive)
    allow_short: bool = True
    groups: tuple[Group, ...] = attrs.field(default=(), converter=_groups)
    volume_limit: float | None = attrs.field(default=None, validator=_volume_limit)
    fractional: bool = False

    def cash_check_on(self, execution: Execution) -> bool:
        """Return whether the cash (or, with ``margin``, buying-power) check runs in this execution mode."""
        if self.cash_check is None:
            return execution is not Execution.BOOK or self.margin is not None
        return self.cash_check

    def checks_fills(self, execution: Execution) -> bool:
        """Return whether any check runs on fills in this execution mode."""
        return (self.cash_check_on(execution) or self.max_position is not None or self.max_leverage is not None
                or not self.allow_short or bool(self.groups))


#: ``(group name, member symbol indices, limit)`` for the groups that hold one symbol.
SymbolGroups = tuple[tuple[str, tuple[int, ...], float], ...]


def check_fill(
    risk: Risk,
    *,
    cash_check: bool,
    cash: float,
    positions: Sequence[float],
    marks: Sequence[float],
    symbol: int,
    sign: float,
    quantity: float,
    price: float,
    commission: float,
    groups: SymbolGroups = (),
    multipliers: Sequence[float] | None = None,
    margins: Sequence[float | None] | None = None,
) -> tuple[RejectReason, str] | None:
    """Return ``(reason, detail)`` if the fill breaks a check, else None (formulas in the module doc).

    >>> check_fill(Risk(), cash_check=True, cash=1_000.0, positions=(0.0,), marks=(10.0,), symbol=0, sign=1.0,
    ...            quantity=100, price=10.0, commission=1.3)
    (<RejectReason.CASH: 'cash'>, 'cash after the fill would be -1.30: the fill costs 1001.30, cash is 1000.00')
    >>> check_fill(Risk(max_position=0.5), cash_check=True, cash=1_000.0, positions=(0.0,), marks=(10.0,),
    ...            symbol=0, sign=1.0, quantity=40, price=10.0, commission=0.0) is None
    True
    """
    held = positions[symbol]
    after = held + sign * quantity
    if multipliers is None:
        cost = sign * price * quantity + commission
    else:
        cost = sign * price * quantity * multipliers[symbol] + commission
    cash_after = cash - cost
    if not risk.allow_short and after < 0:
        return RejectReason.SHORT, f"long only: the position would be {after:g}"
    if margins is not None:
        return _check_margined(risk, cash_check=cash_check, cash_after=cash_after, positions=positions, marks=marks,
                               symbol=symbol, after=after, price=price, groups=groups, multipliers=multipliers,
                               margins=margins)
    if cash_check and risk.margin is None and cash_after < 0:
        return RejectReason.CASH, (f"cash after the fill would be {cash_after:.2f}: the fill costs {cost:.2f}, "
                                   f"cash is {cash:.2f}")
    if abs(after) <= abs(held):
        return None
    margin = risk.margin if cash_check else None
    if margin is None and risk.max_leverage is None and risk.max_position is None and not groups:
        return None
    if multipliers is None:
        values = [0.0 if q == 0 else q * m for q, m in zip(positions, marks, strict=True)]
        values[symbol] = after * price
    else:
        values = [0.0 if q == 0 else q * m * k for q, m, k in zip(positions, marks, multipliers, strict=True)]
        values[symbol] = after * price * multipliers[symbol]
    equity = cash_after
    gross = 0.0
    for v in values:
        equity = equity + v
        gross = gross + abs(v)
    if margin is not None and gross > margin * equity:
        return RejectReason.MARGIN, f"gross exposure {gross:.2f} would exceed {margin:g} x equity {equity:.2f}"
    if risk.max_leverage is not None and gross > risk.max_leverage * equity:
        return RejectReason.LEVERAGE, (f"gross exposure {gross:.2f} would exceed {risk.max_leverage:g} x "
                                       f"equity {equity:.2f}")
    if risk.max_position is not None and abs(values[symbol]) > risk.max_position * equity:
        return RejectReason.POSITION, (f"position value {abs(values[symbol]):.2f} would exceed "
                                       f"{risk.max_position:g} x equity {equity:.2f}")
    for name, members, limit in groups:
        exposure = sum(abs(values[k]) for k in members)
        if exposure > limit * equity:
            return RejectReason.GROUP, (f"group {name!r} exposure {exposure:.2f} would exceed {limit:g} x "
                                        f"equity {equity:.2f}")
    return None


def _check_margined(
    risk: Risk, *, cash_check: bool, cash_after: float, positions: Sequence[float], marks: Sequence[float],
    symbol: int, after: float, price: float, groups: SymbolGroups, multipliers: Sequence[float] | None,
    margins: Sequence[float | None],
) -> tuple[RejectReason, str] | None:
    """:func:`check_fill` when some symbol has a per-contract margin (rules in the module doc)."""
    held = positions[symbol]
    own = margins[symbol]
    unit = price if multipliers is None else price * multipliers[symbol]
    if own is not None and abs(after) > abs(held) and own >= unit:
        return RejectReason.MARGIN, (f"the margin {own:g} per contract is not below the contract's value "
                                     f"{unit:.2f}: expected a margin smaller than price x multiplier")
    equity = cash_after
    reported = cash_after
    gross = 0.0
    exposures: list[float] = []
    for k, q in enumerate(positions):
        if k == symbol:
            q, mark = after, price
        else:
            mark = marks[k]
        value = 0.0 if q == 0 else q * mark * (1.0 if multipliers is None else multipliers[k])
        m = margins[k]
        exposure = abs(value) if m is None else abs(q) * m
        equity = equity + value
        if m is not None and q != 0:
            reported = reported + (value - exposure)
        gross = gross + exposure
        exposures.append(exposure)
    if cash_check and risk.margin is None and reported < 0:
        return RejectReason.CASH, (f"cash after the fill would be {reported:.2f} (the margin held counted, "
                                   f"not the notional)")
    if abs(after) <= abs(held):
        return None
    margin = risk.margin if cash_check else None
    if margin is not None and gross > margin * equity:
        return RejectReason.MARGIN, f"gross exposure {gross:.2f} would exceed {margin:g} x equity {equity:.2f}"
    if risk.max_leverage is not None and gross > risk.max_leverage * equity:
        return RejectReason.LEVERAGE, (f"gross exposure {gross:.2f} would exceed {risk.max_leverage:g} x "
                                       f"equity {equity:.2f}")
    if risk.max_position is not None and exposures[symbol] > risk.max_position * equity:
        return RejectReason.POSITION, (f"position value {exposures[symbol]:.2f} would exceed "
                                       f"{risk.max_position:g} x equity {equity:.2f}")
    for name, members, limit in groups:
        exposure = sum(exposures[k] for k in members)
        if exposure > limit * equity:
            return RejectReason.GROUP, (f"group {name!r} exposure {exposure:.2f} would exceed {limit:g} x "
                                        f"equity {equity:.2f}")
    return None
