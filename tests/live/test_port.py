"""The live port's booking of a venue's correction: undo the replaced fill, book the new one."""

from __future__ import annotations

import math
import types

import attrs
from hypothesis import given
from hypothesis import strategies as st

from fbt.core.events import Direction, FillEvent
from fbt.core.state import Portfolio
from fbt.kernel.portfolio import apply_fill, apply_fill_multiplied
from fbt.live.events import FillCorrected
from fbt.live.port import correct_fill, undo_fill

SYMBOLS = ("A", "B")
CTX = types.SimpleNamespace(symbol_index={"A": 0, "B": 1}, multipliers=(1.0, 50.0))


def book(portfolio: Portfolio, fill: FillEvent) -> Portfolio:
    return apply_fill(portfolio, fill, CTX)  # type: ignore[arg-type]


prices = st.floats(0.01, 10_000, allow_nan=False, allow_infinity=False)
fills = st.builds(
    lambda symbol, buy, quantity, price, commission: FillEvent(
        timestamp=1, symbol=symbol, quantity=float(quantity), direction=Direction.BUY if buy else Direction.SELL,
        price=price, commission=commission, order_id=1),
    st.sampled_from(SYMBOLS), st.booleans(), st.integers(1, 10_000), prices, st.floats(0, 100))
portfolios = st.builds(
    lambda cash, a, b, c: Portfolio(cash=cash, commission=c, positions=(float(a), float(b))),
    st.floats(-1e7, 1e7), st.integers(-10_000, 10_000), st.integers(-10_000, 10_000), st.floats(0, 1e4))


def close(a: Portfolio, b: Portfolio) -> bool:
    return (a.positions == b.positions
            and math.isclose(a.cash, b.cash, rel_tol=1e-12, abs_tol=1e-6)
            and math.isclose(a.commission, b.commission, rel_tol=1e-12, abs_tol=1e-9))


@given(portfolios, fills)
def test_undoing_a_fill_gives_the_portfolio_before_it(portfolio: Portfolio, fill: FillEvent) -> None:
    assert close(undo_fill(book, book(portfolio, fill), fill), portfolio)


@given(portfolios, fills, st.integers(1, 10_000), prices, st.floats(0, 100))
def test_booking_then_correcting_equals_booking_only_the_corrected_fill(
    portfolio: Portfolio, old: FillEvent, quantity: int, price: float, commission: float
) -> None:
    new = attrs.evolve(old, quantity=float(quantity), price=price, commission=commission)
    correction = FillCorrected(timestamp=2, order_ref="r", exec_id="e.02", replaced_exec_id="e.01", replaced=old,
                               fill=new)
    assert close(correct_fill(book, book(portfolio, old), correction), book(portfolio, new))


@given(portfolios, fills, fills)
def test_a_correction_leaves_other_fills_alone(portfolio: Portfolio, old: FillEvent, other: FillEvent) -> None:
    correction = FillCorrected(timestamp=2, order_ref="r", exec_id="e.02", replaced_exec_id="e.01", replaced=old,
                               fill=attrs.evolve(old, commission=old.commission + 1.0))
    corrected = correct_fill(book, book(book(portfolio, other), old), correction)
    assert close(corrected, book(book(portfolio, other), correction.fill))


def test_by_hand_a_price_and_commission_correction() -> None:
    p = Portfolio.initial(capital=10_000.0, n_symbols=2)
    old = FillEvent(timestamp=1, symbol="A", quantity=100, direction=Direction.BUY, price=10.0, commission=1.0)
    new = attrs.evolve(old, price=10.5, commission=1.3, quantity=80)
    c = FillCorrected(timestamp=2, order_ref="r", exec_id="e.02", replaced_exec_id="e.01", replaced=old, fill=new)
    after = correct_fill(book, book(p, old), c)
    assert after.positions == (80.0, 0.0)
    assert after.cash == 10_000.0 - 80 * 10.5 - 1.3  # 9158.7: 10000 - 1001 + 1001 - 841.3
    assert math.isclose(after.commission, 1.3)


def test_with_a_contract_multiplier_the_cost_undone_is_the_multiplied_one() -> None:
    def multiplied(portfolio: Portfolio, fill: FillEvent) -> Portfolio:
        return apply_fill_multiplied(portfolio, fill, CTX)  # type: ignore[arg-type]

    p = Portfolio.initial(capital=100_000.0, n_symbols=2)
    old = FillEvent(timestamp=1, symbol="B", quantity=2, direction=Direction.SELL, price=100.0, commission=4.0)
    booked = multiplied(p, old)
    assert booked.cash == 100_000.0 + 2 * 100.0 * 50.0 - 4.0
    assert undo_fill(multiplied, booked, old) == p
