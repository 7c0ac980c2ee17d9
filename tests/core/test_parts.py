"""The execution port: the fold runs on the parts it is given, and its fast paths equal the plain one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.errors import StrategyError
from fbt.core.events import Event, FillEvent, MarketEvent, OrderEvent, SignalEvent, SignalType
from fbt.core.market import FIELDS
from fbt.core.state import Broker, Portfolio, World
from fbt.kernel import Context, ExecutionPort, Parts, book_parts, drain, make_step, parts_for, simulated_parts
from fbt.kernel.loop import fold, scan, start
from fbt.testing.strategies import bar_data, configs, portfolios, scenarios, signals

ADJ = FIELDS.index("adj_close")


@settings(max_examples=150, deadline=None)
@given(data=st.data(), config=configs())
def test_the_fused_book_chain_equals_draining_the_plain_step(data: st.DataObject, config: fbt.Config) -> None:
    bars = data.draw(bar_data(), label="bars")
    bar = data.draw(st.integers(0, len(bars) - 1), label="bar")
    portfolio = data.draw(portfolios(n_symbols=len(bars.symbols)), label="portfolio")
    sent = data.draw(st.lists(signals(symbols=bars.symbols), max_size=6), label="signals")
    ctx = Context(data=bars, config=config, strategy_names=("s",), steps=(None,))
    parts = book_parts(ctx)
    assert parts.fused is not None
    world = World(market=MarketEvent(bar, bars), strategies=(), portfolio=portfolio)
    try:
        plain_world, plain_events = drain(make_step(ctx, attrs.evolve(parts, fused=None)), world, sent)
    except StrategyError as exc:  # a symbol with no price yet: both paths give the same clear error
        with pytest.raises(StrategyError, match="no price yet"):
            parts.fused(portfolio, bar, sent)
        assert "no price yet" in str(exc)
        return
    fused_portfolio, fused_events = parts.fused(portfolio, bar, sent)
    assert fused_events == plain_events
    assert fused_portfolio == plain_world.portfolio


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios())
def test_the_default_parts_are_the_ones_the_configuration_describes(
        scenario: tuple[fbt.BarData, tuple[fbt.Strategy[Any], ...], fbt.Config]) -> None:
    data, strategies, config = scenario
    chosen = parts_for(config)
    assert fold(strategies, data, config).events == fold(strategies, data, config, parts=chosen).events
    other = simulated_parts if chosen is book_parts else book_parts
    if other is simulated_parts:
        book = fold(strategies, data, config)
        simulated = fold(strategies, data, config, parts=other)
        signalled = [(bar, e.symbol) for bar, e in zip(book.event_bars.tolist(), book.events, strict=True)
                     if isinstance(e, SignalEvent)]
        if len(signalled) == len(set(signalled)):
            # the book's engine is the simulated broker with nothing configured ...
            assert book.events == simulated.events
        else:
            # ... but for a bar's second signal for a symbol, which the book sizes from the position alone (the
            # textbook's portfolio, which can so open twice), the simulated broker from the position and the bar's
            # earlier orders (an EXIT or CANCEL withdraws them): its position never exceeds the book's order size
            held = dict.fromkeys(data.symbols, 0.0)
            for e in simulated.events:
                if isinstance(e, FillEvent):
                    held[e.symbol] += e.direction.sign * e.quantity
                    assert abs(held[e.symbol]) <= config.quantity


def _shifted_port(ctx: Context) -> Parts:
    """A port that fills every order at once one cent worse than the bar's adj_close, commission-free."""
    base = book_parts(ctx)

    def submit(broker: Broker, portfolio: Portfolio, order: OrderEvent,
               market: MarketEvent) -> tuple[Broker, Sequence[Event]]:
        mark = float(ctx.data.values[ADJ, ctx.symbol_index[order.symbol], market.index])
        price = mark + 0.01 * order.direction.sign
        return broker, (FillEvent(timestamp=market.timestamp, symbol=order.symbol, quantity=order.quantity,
                                  direction=order.direction, price=price, commission=0.0, order_id=order.order_id,
                                  exchange="TEST"),)

    port = ExecutionPort(name="shifted", submit=submit, work=base.execution.work, cancel=base.execution.cancel)
    return Parts(orders=base.orders, book=base.book, execution=port, sees_in_flight=base.sees_in_flight)


def _trader(data: fbt.BarData) -> fbt.Strategy[Any]:
    def step(state: int, event: MarketEvent) -> tuple[int, tuple[SignalEvent, ...]]:
        kind = SignalType.LONG if event.index % 4 == 0 else SignalType.EXIT if event.index % 4 == 2 else None
        if kind is None:
            return state + 1, ()
        return state + 1, (SignalEvent(timestamp=event.timestamp, strategy_id="t", symbol="A", signal_type=kind),)

    return fbt.strategy(step, initial=0, name="t")


def test_an_injected_port_decides_the_fills_and_the_portfolio_books_them() -> None:
    close = np.array([[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]])
    data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(8, dtype=np.int64), columns={"close": close})
    run = fold([_trader(data)], data, parts=_shifted_port)
    fills = [e for e in run.events if isinstance(e, FillEvent)]
    assert [(f.exchange, f.price, f.direction.value) for f in fills] == [
        ("TEST", 10.01, "BUY"), ("TEST", 11.99, "SELL"), ("TEST", 14.01, "BUY"), ("TEST", 15.99, "SELL")]
    # by hand: 100 * (11.99 - 10.01) + 100 * (15.99 - 14.01), no commission
    assert run.final.portfolio.cash == pytest.approx(100_000.0 + 198.0 + 198.0)
    assert run.final.portfolio.positions == (0.0,)
    # scan steps through the same parts, so a replay sees what the run did
    scanned = [e for s in scan([_trader(data)], data, parts=_shifted_port) for e in s.events[1:]]
    assert tuple(scanned) == run.events
    ctx, _ = start([_trader(data)], data, fbt.Config(), _shifted_port)
    assert ctx.parts is _shifted_port


@pytest.mark.parametrize("n_strategies", [1, 2])
@pytest.mark.parametrize("how", ["fold", "scan"])
def test_a_failing_strategy_is_called_once_and_named(n_strategies: int, how: str) -> None:
    calls: list[int] = []

    def step(state: int, event: MarketEvent) -> tuple[int, tuple[()]]:
        calls.append(event.index)
        if event.index == 3:
            raise ZeroDivisionError("boom")
        return state, ()

    def quiet(state: int, event: MarketEvent) -> tuple[int, tuple[()]]:
        return state, ()

    data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(6, dtype=np.int64),
                                    columns={"close": np.ones((1, 6))})
    others = [fbt.strategy(quiet, initial=0, name="q")] if n_strategies == 2 else []
    strategies = [*others, fbt.strategy(step, initial=0, name="boomer")]
    with pytest.raises(StrategyError, match=r"strategy 'boomer' raised at bar 3 .*ZeroDivisionError: boom"):
        if how == "fold":
            fold(strategies, data)
        else:
            list(scan(strategies, data))
    assert calls == [0, 1, 2, 3]
