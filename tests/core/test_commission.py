"""The seed's Interactive Brokers commission schedule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import fbt.testing as ft
from fbt.models.commission import ib_seed_commission

quantities = ft.quantities(min_value=1e-6, max_value=1e7, max_whole=100_000)
prices = ft.prices(min_value=0.0, max_value=1e6)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, 1.3), (100, 1.3), (400, 5.2), (500, 6.5), (501, 4.008), (1000, 8.0)],
)
def test_hand_examples(quantity: float, expected: float) -> None:
    assert ib_seed_commission(quantity) == pytest.approx(expected, rel=1e-12)
    assert ib_seed_commission(quantity, 123.45) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=200)
@given(quantity=quantities, price=prices)
def test_never_below_the_minimum(quantity: float, price: float) -> None:
    assert ib_seed_commission(quantity, price) >= 1.30


@settings(max_examples=200)
@given(quantity=quantities, price=prices)
def test_follows_the_schedule(quantity: float, price: float) -> None:
    rate = 0.013 if quantity <= 500 else 0.008
    assert ib_seed_commission(quantity, price) == max(1.30, rate * quantity)


@settings(max_examples=100)
@given(quantity=quantities, a=prices, b=prices)
def test_price_does_not_enter(quantity: float, a: float, b: float) -> None:
    assert ib_seed_commission(quantity, a) == ib_seed_commission(quantity, b)
