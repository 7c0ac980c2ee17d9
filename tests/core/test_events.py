"""Event records: validated at the boundary, frozen, hashable; the MarketEvent cursor's accessors."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbt.core.errors import StrategyError
from fbt.core.events import Direction, FillEvent, MarketEvent, OrderEvent, SignalEvent, SignalType
from fbt.core.market import FIELDS, Bar, BarData


def signal(**kw: object) -> SignalEvent:
    args: dict[str, object] = dict(timestamp=0, strategy_id="s", symbol="A", signal_type=SignalType.LONG)
    args.update(kw)
    return SignalEvent(**args)  # type: ignore[arg-type]


def order(**kw: object) -> OrderEvent:
    args: dict[str, object] = dict(timestamp=0, symbol="A", quantity=100.0, direction=Direction.BUY, order_id=1)
    args.update(kw)
    return OrderEvent(**args)  # type: ignore[arg-type]


def fill(**kw: object) -> FillEvent:
    args: dict[str, object] = dict(
        timestamp=0, symbol="A", quantity=100.0, direction=Direction.BUY, price=10.0, commission=1.3
    )
    args.update(kw)
    return FillEvent(**args)  # type: ignore[arg-type]


BAD_NUMBERS = [math.nan, math.inf, -math.inf]


# --- validators -------------------------------------------------------------------------------


def test_valid_records_build() -> None:
    assert signal().strength == 1.0
    assert order().quantity == 100.0
    assert fill().commission == 1.3
    assert fill(commission=0.0).commission == 0.0


@pytest.mark.parametrize("price", BAD_NUMBERS)
def test_fill_rejects_non_finite_price(price: float) -> None:
    with pytest.raises(ValueError, match="price"):
        fill(price=price)


@pytest.mark.parametrize("quantity", [0.0, -1.0, -100.0, *BAD_NUMBERS])
def test_fill_rejects_bad_quantity(quantity: float) -> None:
    with pytest.raises(ValueError, match="quantity"):
        fill(quantity=quantity)


@pytest.mark.parametrize("quantity", [0.0, -1.0, -100.0, *BAD_NUMBERS])
def test_order_rejects_bad_quantity(quantity: float) -> None:
    with pytest.raises(ValueError, match="quantity"):
        order(quantity=quantity)


@pytest.mark.parametrize("commission", [-0.01, -1.3, *BAD_NUMBERS])
def test_fill_rejects_negative_or_non_finite_commission(commission: float) -> None:
    with pytest.raises(ValueError, match="commission"):
        fill(commission=commission)


@pytest.mark.parametrize("strength", BAD_NUMBERS)
def test_signal_rejects_non_finite_strength(strength: float) -> None:
    with pytest.raises(ValueError, match="strength"):
        signal(strength=strength)


@pytest.mark.parametrize("kind", ["LONG", Direction.BUY, None, 1])
def test_signal_rejects_wrong_enum(kind: object) -> None:
    with pytest.raises(TypeError):
        signal(signal_type=kind)


@pytest.mark.parametrize("direction", ["BUY", SignalType.LONG, None, 1])
def test_order_and_fill_reject_wrong_enum(direction: object) -> None:
    with pytest.raises(TypeError):
        order(direction=direction)
    with pytest.raises(TypeError):
        fill(direction=direction)


def test_direction_sign() -> None:
    assert (Direction.BUY.sign, Direction.SELL.sign) == (1, -1)


# --- frozen and hashable ----------------------------------------------------------------------


def small_data() -> BarData:
    return BarData.from_columns(
        symbols=("A", "B"),
        timestamps=np.arange(5, dtype=np.int64) * 86_400 * 10**9,
        columns={"close": np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [np.nan, np.nan, 30.0, 40.0, 50.0]])},
    )


def records() -> list[object]:
    return [
        signal(),
        order(),
        fill(),
        MarketEvent(1, small_data()),
        Bar(timestamp=0, open=1.0, high=2.0, low=0.5, close=1.5, adj_close=1.4, volume=10.0, open_interest=0.0),
    ]


@pytest.mark.parametrize("record", records(), ids=lambda r: type(r).__name__)
def test_records_are_frozen(record: object) -> None:
    name = attrs.fields(type(record))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(record, name, getattr(record, name))


@pytest.mark.parametrize("record", records(), ids=lambda r: type(r).__name__)
def test_records_are_hashable(record: object) -> None:
    assert hash(record) == hash(record)
    assert {record, record} == {record}


def test_equal_records_are_equal_and_hash_alike() -> None:
    assert fill() == fill() and hash(fill()) == hash(fill())
    assert signal() == signal() and hash(signal()) == hash(signal())
    assert fill() != fill(price=11.0)
    assert signal() != signal(signal_type=SignalType.EXIT)


# --- MarketEvent accessors --------------------------------------------------------------------


@st.composite
def market_data(draw: st.DrawFn) -> BarData:
    """1-3 symbols over 1-30 bars; each symbol starts at a random bar (NaN before it)."""
    n = draw(st.integers(1, 30))
    n_sym = draw(st.integers(1, 3))
    close = np.full((n_sym, n), np.nan)
    for s in range(n_sym):
        start = draw(st.integers(0, n))  # n: never starts in this data
        values = draw(st.lists(st.floats(0.5, 1000.0), min_size=n - start, max_size=n - start))
        close[s, start:] = values
    return BarData.from_columns(
        symbols=tuple("ABC"[:n_sym]), timestamps=np.arange(n, dtype=np.int64) * 60 * 10**9, columns={"close": close}
    )


@settings(max_examples=100)
@given(data=market_data(), pick=st.data())
def test_latest_values_never_look_past_the_cursor(data: BarData, pick: st.DataObject) -> None:
    i = pick.draw(st.integers(0, len(data) - 1), label="index")
    n = pick.draw(st.integers(1, 40), label="n")
    event = MarketEvent(i, data)
    for s, symbol in enumerate(data.symbols):
        full = data.column(symbol, "close")
        first = data.first[s]
        for field in ("close", "adj_close"):
            got = event.latest_values(symbol, field, n)
            assert got.flags.writeable is False
            assert got.shape[0] <= n
            if i < first:
                assert got.shape[0] == 0
                assert math.isnan(event.latest_value(symbol, field))
                continue
            start = max(first, i + 1 - n)
            assert got.tolist() == full[start : i + 1].tolist()
            assert got.shape[0] == min(n, i + 1 - first)
            assert event.latest_value(symbol, field) == full[i]
        bars = event.latest_bars(symbol, n)
        assert len(bars) == (0 if i < first else min(n, i + 1 - first))
        assert all(b.timestamp <= event.timestamp for b in bars)
        assert [b.close for b in bars] == full[max(first, i + 1 - n) : i + 1].tolist()


def test_latest_values_cannot_write_into_the_data() -> None:
    data = small_data()
    got = MarketEvent(3, data).latest_values("A", "close", 2)
    assert got.tolist() == [3.0, 4.0]
    with pytest.raises(ValueError):
        got[0] = 99.0
    assert data.column("A", "close").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_latest_bar_before_the_first_bar_is_a_strategy_error() -> None:
    event = MarketEvent(1, small_data())
    with pytest.raises(StrategyError, match="B"):
        event.latest_bar("B")
    assert event.latest_values("B", "adj_close", 5).shape == (0,)
    assert event.latest_bars("B", 5) == ()


def test_latest_bar_and_datetime() -> None:
    data = small_data()
    event = MarketEvent(3, data)
    bar = event.latest_bar("B")
    assert bar == Bar(timestamp=3 * 86_400 * 10**9, open=40.0, high=40.0, low=40.0, close=40.0, adj_close=40.0,
                      volume=0.0, open_interest=0.0)
    assert event.timestamp == 3 * 86_400 * 10**9
    assert event.latest_datetime() == np.datetime64("1970-01-04", "ns")
    assert event.is_real("A") and event.is_real("B")
    assert not MarketEvent(0, data).is_real("B")


def test_unknown_symbol_or_field_is_a_strategy_error() -> None:
    event = MarketEvent(2, small_data())
    with pytest.raises(StrategyError, match="'Z'"):
        event.latest_values("Z", "close", 1)
    with pytest.raises(StrategyError, match="'Z'"):
        event.latest_value("Z")
    with pytest.raises(StrategyError, match="nope"):
        event.latest_values("A", "nope", 1)


def test_every_field_is_reachable() -> None:
    event = MarketEvent(4, small_data())
    assert {f: event.latest_value("A", f) for f in FIELDS} == {
        "open": 5.0, "high": 5.0, "low": 5.0, "close": 5.0, "adj_close": 5.0, "volume": 0.0, "open_interest": 0.0
    }
