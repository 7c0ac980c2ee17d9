"""Example tests for every case of the book reducers: naive orders, fills, the simulated broker."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from fbt.core.errors import StrategyError
from fbt.core.events import Direction, FillEvent, MarketEvent, OrderEvent, SignalEvent, SignalType
from fbt.core.market import BarData
from fbt.core.state import Broker, Portfolio
from fbt.kernel import Context, apply_fill, execute_order, mark, naive_orders
from fbt.kernel.config import Config

DAY = 86_400 * 10**9


def make_data() -> BarData:
    """A from bar 0, B from bar 2; adj_close differs from close so the fill price is observable."""
    return BarData.from_columns(
        symbols=("A", "B"),
        timestamps=np.arange(4, dtype=np.int64) * DAY,
        columns={
            "close": np.array([[10.0, 11.0, 12.0, 13.0], [np.nan, np.nan, 50.0, 55.0]]),
            "adj_close": np.array([[9.0, 10.0, 11.0, 12.0], [np.nan, np.nan, 45.0, 49.5]]),
        },
    )


def make_ctx(**config: object) -> Context:
    return Context(data=make_data(), config=Config(**config), strategy_names=("s",), steps=())  # type: ignore[arg-type]


def portfolio(positions: tuple[float, float] = (0.0, 0.0), orders_sent: int = 0) -> Portfolio:
    return Portfolio(cash=100_000.0, commission=0.0, positions=positions, orders_sent=orders_sent)


def signal(kind: SignalType, symbol: str = "A", timestamp: int = 5) -> SignalEvent:
    return SignalEvent(timestamp=timestamp, strategy_id="s", symbol=symbol, signal_type=kind)


def order(direction: Direction, quantity: float, order_id: int = 1, symbol: str = "A") -> OrderEvent:
    return OrderEvent(timestamp=5, symbol=symbol, quantity=quantity, direction=direction, order_id=order_id)


# --- naive_orders -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "direction"), [(SignalType.LONG, Direction.BUY), (SignalType.SHORT, Direction.SELL)]
)
def test_long_or_short_from_flat_sends_the_configured_quantity(kind: SignalType, direction: Direction) -> None:
    before = portfolio()
    after, orders = naive_orders(before, signal(kind), make_ctx(quantity=100))
    assert orders == (order(direction, 100.0, order_id=1),)
    assert after == attrs.evolve(before, orders_sent=1)
    assert before == portfolio()  # input unchanged


def test_quantity_comes_from_the_config() -> None:
    _, orders = naive_orders(portfolio(), signal(SignalType.LONG), make_ctx(quantity=7))
    assert orders == (order(Direction.BUY, 7.0),)


@pytest.mark.parametrize("held", [100.0, -100.0])
@pytest.mark.parametrize("kind", [SignalType.LONG, SignalType.SHORT])
def test_long_or_short_while_holding_sends_nothing(kind: SignalType, held: float) -> None:
    before = portfolio((held, 0.0), orders_sent=3)
    after, orders = naive_orders(before, signal(kind), make_ctx())
    assert orders == ()
    assert after == before


def test_exit_long_sells_the_whole_position() -> None:
    after, orders = naive_orders(portfolio((250.0, 0.0), orders_sent=4), signal(SignalType.EXIT), make_ctx())
    assert orders == (order(Direction.SELL, 250.0, order_id=5),)
    assert after.orders_sent == 5
    assert after.positions == (250.0, 0.0)  # positions move on fills only


def test_exit_short_buys_the_whole_position_back() -> None:
    _, orders = naive_orders(portfolio((0.0, -30.0), orders_sent=1), signal(SignalType.EXIT, "B"), make_ctx())
    assert orders == (order(Direction.BUY, 30.0, order_id=2, symbol="B"),)


def test_exit_flat_sends_nothing() -> None:
    before = portfolio((0.0, 100.0), orders_sent=2)
    after, orders = naive_orders(before, signal(SignalType.EXIT), make_ctx())
    assert (after, orders) == (before, ())


def test_order_ids_count_from_one() -> None:
    ctx = make_ctx()
    p = portfolio()
    ids = []
    for kind, symbol in [(SignalType.LONG, "A"), (SignalType.SHORT, "B"), (SignalType.EXIT, "A")]:
        p, orders = naive_orders(p, signal(kind, symbol), ctx)
        ids += [o.order_id for o in orders]
        if symbol == "A" and kind is SignalType.LONG:
            p = attrs.evolve(p, positions=(100.0, p.positions[1]))
        if symbol == "B":
            p = attrs.evolve(p, positions=(p.positions[0], -100.0))
    assert ids == [1, 2, 3]
    assert p.orders_sent == 3


def test_order_carries_the_signal_time() -> None:
    _, orders = naive_orders(portfolio(), signal(SignalType.LONG, timestamp=3 * DAY), make_ctx())
    assert orders[0].timestamp == 3 * DAY


def test_unknown_symbol_is_a_strategy_error_naming_it() -> None:
    with pytest.raises(StrategyError, match="'ZZZ'"):
        naive_orders(portfolio(), signal(SignalType.LONG, "ZZZ"), make_ctx())


# --- apply_fill -------------------------------------------------------------------------------


def test_apply_buy_fill() -> None:
    fill = FillEvent(timestamp=0, symbol="B", quantity=10.0, direction=Direction.BUY, price=45.0, commission=1.3)
    before = Portfolio(cash=1000.0, commission=2.0, positions=(5.0, 1.0), orders_sent=7)
    after = apply_fill(before, fill, make_ctx())
    assert after == Portfolio(cash=1000.0 - (450.0 + 1.3), commission=3.3, positions=(5.0, 11.0), orders_sent=7)
    assert before == Portfolio(cash=1000.0, commission=2.0, positions=(5.0, 1.0), orders_sent=7)


def test_apply_sell_fill() -> None:
    fill = FillEvent(timestamp=0, symbol="A", quantity=100.0, direction=Direction.SELL, price=9.5, commission=1.3)
    after = apply_fill(Portfolio(cash=1000.0, positions=(100.0, 0.0)), fill, make_ctx())
    assert after == Portfolio(cash=1000.0 - (-950.0 + 1.3), commission=1.3, positions=(0.0, 0.0), orders_sent=0)


def test_sell_from_flat_goes_short() -> None:
    fill = FillEvent(timestamp=0, symbol="A", quantity=100.0, direction=Direction.SELL, price=10.0, commission=0.0)
    after = apply_fill(portfolio(), fill, make_ctx())
    assert after.positions == (-100.0, 0.0)
    assert after.cash == 101_000.0


def test_apply_fill_uses_the_fill_price_not_the_bar() -> None:
    fill = FillEvent(timestamp=0, symbol="A", quantity=2.0, direction=Direction.BUY, price=123.0, commission=0.0)
    assert apply_fill(portfolio(), fill, make_ctx()).cash == 100_000.0 - 246.0


# --- execute_order ----------------------------------------------------------------------------


def test_execute_order_fills_at_adj_close_with_bar_time_and_commission() -> None:
    ctx = make_ctx()
    broker = Broker()
    market = MarketEvent(2, ctx.data)
    new_broker, fills = execute_order(broker, order(Direction.BUY, 100.0, order_id=9, symbol="B"), market, ctx)
    assert fills == (
        FillEvent(timestamp=2 * DAY, symbol="B", quantity=100.0, direction=Direction.BUY, price=45.0,
                  commission=1.3, order_id=9),
    )
    assert new_broker == broker


def test_execute_order_passes_quantity_and_price_to_the_commission_model() -> None:
    seen = []

    def model(quantity: float, price: float) -> float:
        seen.append((quantity, price))
        return 0.5 * quantity + price

    ctx = make_ctx(commission=model)
    _, (fill,) = execute_order(Broker(), order(Direction.SELL, 600.0), MarketEvent(3, ctx.data), ctx)
    assert seen == [(600.0, 12.0)]
    assert (fill.price, fill.commission, fill.direction, fill.timestamp) == (12.0, 312.0, Direction.SELL, 3 * DAY)


def test_execute_order_uses_the_ib_schedule_by_default() -> None:
    ctx = make_ctx()
    _, (fill,) = execute_order(Broker(), order(Direction.BUY, 1000.0), MarketEvent(0, ctx.data), ctx)
    assert fill.commission == 8.0
    assert fill.price == 9.0


def test_execute_order_before_the_first_bar_is_a_strategy_error() -> None:
    ctx = make_ctx()
    with pytest.raises(StrategyError, match="B"):
        execute_order(Broker(), order(Direction.BUY, 100.0, symbol="B"), MarketEvent(1, ctx.data), ctx)


# --- mark -------------------------------------------------------------------------------------


def test_mark_values_positions_at_adj_close() -> None:
    ctx = make_ctx()
    holdings, total = mark(Portfolio(cash=1000.0, positions=(10.0, -2.0)), MarketEvent(3, ctx.data))
    assert holdings == (120.0, -99.0)
    assert total == 1000.0 + 120.0 - 99.0


def test_mark_flat_symbol_before_its_first_bar_is_worth_zero() -> None:
    ctx = make_ctx()
    holdings, total = mark(Portfolio(cash=1000.0, positions=(10.0, 0.0)), MarketEvent(0, ctx.data))
    assert holdings == (90.0, 0.0)
    assert total == 1090.0
