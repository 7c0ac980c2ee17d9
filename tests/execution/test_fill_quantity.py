"""Quantities resolved at the fill: all available cash, a cash amount or a percentage of equity.

An entry sized by :class:`fbt.AllCash`, or by ``FixedCash`` / ``PercentOfEquity`` with
``at_fill=True``, carries its request on the order (``OrderEvent.at_fill``); the broker resolves it
when the order fills, from the fill price and the cash or equity at that moment, in whole units
unless fractional.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.errors import ConfigError
from fbt.core.events import FillEvent, OrderEvent, OrderRejected, RejectReason, SignalType, SizeBasis
from fbt.kernel.broker import resolve_quantity
from fbt.models.commission import IBFixed, PercentOfValue, PerShare, zero_commission
from fbt.models.registry import parse_sizing
from fbt.testing.strategies import scripted
from tests.execution.support import bars_from, events_of

L, S, X = SignalType.LONG, SignalType.SHORT, SignalType.EXIT
# the open gaps from the close: 10 -> 12.5 on bar 2, where the orders of bar 1 fill
ROWS = [(10.0, 10.5, 9.5, 10.0, 1e6), (10.0, 10.5, 9.5, 10.0, 1e6), (12.5, 13.0, 12.0, 12.5, 1e6),
        (12.5, 13.0, 12.0, 12.5, 1e6), (8.0, 8.5, 7.5, 8.0, 1e6), (8.0, 8.5, 7.5, 8.0, 1e6)]


def _run(script: list[tuple[int, int, SignalType]], sizing: object, **overrides: object) -> fbt.Result:
    settings: dict[str, object] = {"capital": 1_000.0, "execution": "next-open", "sizing": sizing,
                                   "commission": zero_commission}
    settings.update(overrides)
    return fbt.run(scripted("s", script), bars_from(ROWS), **settings)  # type: ignore[arg-type]


def _fills(result: fbt.Result) -> list[tuple[int, str, float, float]]:
    return [(bar, f.direction.value, f.quantity, f.price) for bar, f in events_of(result.run, FillEvent)]


# --- hand-computed examples --------------------------------------------------------------------

def test_all_cash_is_sized_at_the_fill_price_not_the_signal_close() -> None:
    # signal at bar 1's close (10): the estimate is 100 units; the fill at bar 2's open (12.5) buys 1,000 / 12.5 = 80
    result = _run([(1, 0, L)], fbt.AllCash())
    [(bar, order)] = events_of(result.run, OrderEvent)
    assert (bar, order.quantity, order.at_fill.basis if order.at_fill else None) == (1, 100.0, SizeBasis.ALL_CASH)
    assert _fills(result) == [(2, "BUY", 80.0, 12.5)]
    assert result.run.final.portfolio.cash == 0.0


def test_a_reversal_closes_then_takes_all_the_cash_the_close_freed() -> None:
    # long 80 at 12.5 (cash 0); on bar 3 EXIT then SHORT: at bar 4's open (8) the close sells 80 (cash 640) and the
    # short sells 640 / 8 = 80 more
    result = _run([(1, 0, L), (3, 0, X), (3, 0, S)], fbt.AllCash())
    assert _fills(result) == [(2, "BUY", 80.0, 12.5), (4, "SELL", 80.0, 8.0), (4, "SELL", 80.0, 8.0)]
    assert result.run.final.portfolio.positions == (-80.0,)


def test_commission_is_paid_out_of_the_budget() -> None:
    # 1 per share: 12.5 + 1 a unit, 1,000 / 13.5 = 74.07 -> 74 units, 74 * 13.5 = 999 <= 1,000
    result = _run([(1, 0, L)], fbt.AllCash(), commission=PerShare(rate=1.0))
    assert _fills(result) == [(2, "BUY", 74.0, 12.5)]
    assert result.run.final.portfolio.cash == pytest.approx(1.0)


def test_a_cash_amount_and_a_percent_of_equity_at_the_fill() -> None:
    assert _fills(_run([(1, 0, L)], fbt.FixedCash(amount=500.0, at_fill=True))) == [(2, "BUY", 40.0, 12.5)]
    # 50 % of the equity at the fill: 500 / 12.5 = 40; sized at the signal it would be 50 units
    assert _fills(_run([(1, 0, L)], fbt.PercentOfEquity(percent=50.0, at_fill=True))) == [(2, "BUY", 40.0, 12.5)]
    assert _fills(_run([(1, 0, L)], fbt.PercentOfEquity(percent=50.0))) == [(2, "BUY", 50.0, 12.5)]


def test_fractional_units_take_the_whole_budget() -> None:
    result = _run([(1, 0, L)], fbt.FixedCash(amount=100.0, at_fill=True), risk=fbt.Risk(fractional=True))
    assert _fills(result) == [(2, "BUY", 8.0, 12.5)]
    result = _run([(1, 0, L)], fbt.FixedCash(amount=110.0, at_fill=True), risk=fbt.Risk(fractional=True))
    assert _fills(result)[0][2] == pytest.approx(8.8)


def test_the_cli_names_the_models() -> None:
    assert parse_sizing("all-cash") == fbt.AllCash()
    assert parse_sizing("percent:percent=100,at_fill=true") == fbt.PercentOfEquity(percent=100, at_fill=True)
    assert parse_sizing("cash:2500,at_fill=true").fill_quantity(1.0).amount == 2500.0  # type: ignore[union-attr]


# --- bad input ---------------------------------------------------------------------------------

def test_no_cash_at_the_fill_is_a_rejection_naming_it() -> None:
    # all the cash goes into a first symbol's position; the second symbol's all-cash order finds none
    two = fbt.load({"A": _frame(), "B": _frame()})
    result = fbt.run(scripted("s", [(1, 0, L), (2, 1, L)]), two, capital=1_000.0, execution="next-open",
                     sizing=fbt.AllCash(), commission=zero_commission)
    [(bar, rejected)] = events_of(result.run, OrderRejected)
    assert (bar, rejected.symbol, rejected.reason) == (3, "B", RejectReason.CASH)
    assert rejected.detail == "all available cash: the budget at the fill is 0.00"
    assert result.run.final.portfolio.positions == (80.0, 0.0)


def test_a_budget_below_one_unit_is_a_sizing_rejection() -> None:
    result = _run([(1, 0, L)], fbt.FixedCash(amount=10.0, at_fill=True))
    [(bar, rejected)] = events_of(result.run, OrderRejected)
    assert (bar, rejected.reason) == (2, RejectReason.SIZING)
    assert "a cash quantity of 10 (10.00) pays for no whole unit at 12.5" in rejected.detail
    assert result.run.final.portfolio.positions == (0.0,)


def test_a_cash_quantity_beyond_the_cash_is_refused_by_the_cash_check() -> None:
    result = _run([(1, 0, L)], fbt.FixedCash(amount=5_000.0, at_fill=True))
    [(_, rejected)] = events_of(result.run, OrderRejected)
    assert rejected.reason is RejectReason.CASH
    assert result.run.final.portfolio.positions == (0.0,)


def test_book_execution_cannot_resolve_at_a_fill_after_the_signal() -> None:
    with pytest.raises(ConfigError, match=r"^sizing: AllCash\(fraction=1\.0\) resolves the quantity at the fill"):
        fbt.Config(sizing=fbt.AllCash())


def _frame() -> object:
    import pandas as pd
    index = pd.date_range("2024-01-01", periods=len(ROWS), freq="D")
    o, h, low, c, v = zip(*ROWS, strict=True)
    return pd.DataFrame({"Open": o, "High": h, "Low": low, "Close": c, "Volume": v}, index=index)


# --- properties --------------------------------------------------------------------------------

_COMMISSIONS = [zero_commission, PerShare(rate=0.01), PercentOfValue(rate=0.001), IBFixed()]


@settings(max_examples=300)
@given(budget=st.floats(0.0, 1e7), price=st.floats(0.01, 1e4), commission=st.sampled_from(_COMMISSIONS),
       fractional=st.booleans())
def test_the_resolved_quantity_is_the_most_the_budget_pays_for(
    budget: float, price: float, commission: object, fractional: bool
) -> None:
    def cost(q: float) -> float:
        return q * price + commission(q, price)  # type: ignore[operator]

    q = resolve_quantity(budget, cost, budget / price, fractional=fractional)
    assert q >= 0 and (fractional or q == math.floor(q))
    if q > 0:
        assert cost(q) <= budget
    if not fractional:
        assert cost(q + 1) > budget  # one more unit is beyond the budget
    elif commission is zero_commission:
        assert q * price == pytest.approx(budget, rel=1e-9, abs=1e-12)  # all of the budget, to rounding


_SCRIPTS = st.lists(st.tuples(st.integers(0, len(ROWS) - 2), st.sampled_from([L, S, X])), max_size=8).map(
    lambda entries: [(bar, 0, kind) for bar, kind in sorted(entries, key=lambda e: e[0])])


@settings(max_examples=100, deadline=None)
@given(script=_SCRIPTS, commission=st.sampled_from(_COMMISSIONS), capital=st.sampled_from([100.0, 1_000.0, 55_555.5]))
def test_all_cash_entries_never_overspend_and_never_leave_a_unit_on_the_table(
    script: list[tuple[int, int, SignalType]], commission: object, capital: float
) -> None:
    result = _run(script, fbt.AllCash(), commission=commission, capital=capital)
    run = result.run
    cash = capital
    position = 0.0
    for _, event in zip(run.event_bars.tolist(), run.events, strict=True):
        if isinstance(event, FillEvent):
            sign = event.direction.sign
            opening = position == 0 or (position > 0) == (sign > 0)
            if opening and event.order_id and _entry(run, event.order_id):
                budget = cash
                assert event.quantity * event.price + event.commission <= budget + 1e-9
                more = event.quantity + 1
                assert more * event.price + commission(more, event.price) > budget  # type: ignore[operator]
            cash -= sign * event.quantity * event.price + event.commission
            position += sign * event.quantity
    assert abs(run.final.portfolio.positions[0] - position) < 1e-9


def _entry(run: fbt.Run, order_id: int) -> bool:
    return any(isinstance(e, OrderEvent) and e.order_id == order_id and e.at_fill is not None for e in run.events)
