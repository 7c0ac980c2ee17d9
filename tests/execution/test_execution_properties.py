"""Properties of whole runs in the realistic modes, on random OHLCV data and random scripted signals.

- the fold's fast path agrees with the general step (scan);
- the equity curve and the accounting derived after the fold equal what the reducers say at every bar;
- cash + market value == total after every event; with a cash check cash never goes below zero;
- fills lie within their bar's [low, high] before slippage, on real bars after the order's bar;
- partial fills sum to at most the order's quantity, exactly to it when the order completed;
- a rejected order changes nothing but the rejection count;
- runs are deterministic.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.events import (
    FillEvent,
    MarketEvent,
    OrderCancelled,
    OrderEvent,
    OrderRejected,
    OrderType,
    SignalType,
)
from fbt.core.market import BarData
from fbt.core.state import Broker, Portfolio
from fbt.core.strategy import Strategy
from fbt.kernel.broker import accept_order, fill_working
from fbt.kernel.config import Config
from fbt.kernel.context import scaled_bars
from fbt.kernel.loop import fold, scan, start
from fbt.kernel.portfolio import apply_fill, mark
from fbt.models.fill import Execution
from fbt.results.accounting import book_fill
from fbt.results.curve import accounts, derive, fill_table, ledgers
from fbt.testing import ohlcv_data, scripted, signal_scripts
from tests.execution.support import F, events_of, walk

Scenario = tuple[BarData, tuple[Strategy[Any], ...], Config]


@st.composite
def configs(draw: st.DrawFn, *, cash_check: bool | None = None) -> Config:
    risk = fbt.Risk(
        cash_check=draw(st.sampled_from([None, True, False])) if cash_check is None else cash_check,
        allow_short=draw(st.booleans()),
        volume_limit=draw(st.sampled_from([None, None, 0.1, 0.5])),
        max_position=draw(st.sampled_from([None, None, 0.3])),
        fractional=draw(st.booleans()),
    )
    return Config(
        capital=draw(st.sampled_from([500.0, 5_000.0, 100_000.0])),
        quantity=draw(st.sampled_from([1.0, 100.0, 2_000.0])),
        commission=draw(st.sampled_from([fbt.ib_seed_commission, fbt.zero_commission, fbt.IBFixed(),
                                         fbt.PercentOfValue(rate=0.001)])),
        execution=draw(st.sampled_from([Execution.NEXT_OPEN, Execution.NEXT_CLOSE])),
        slippage=draw(st.sampled_from([None, fbt.FixedBps(bps=10), fbt.VolumeShare(), fbt.HalfSpread(spread=0.02)])),
        sizing=draw(st.sampled_from([None, fbt.FixedQuantity(quantity=50), fbt.PercentOfEquity(percent=40),
                                     fbt.TargetWeight(weight=0.5), fbt.FixedCash(amount=2_000)])),
        risk=risk,
    )


@st.composite
def scenarios(draw: st.DrawFn, *, cash_check: bool | None = None) -> Scenario:
    data = draw(ohlcv_data())
    strategies = tuple(scripted(f"s{k}", draw(signal_scripts(data))) for k in range(draw(st.integers(1, 2))))
    return data, strategies, draw(configs(cash_check=cash_check))


def orders_by_id(run: fbt.Run) -> dict[int, tuple[int, OrderEvent]]:
    return {o.order_id: (b, o) for b, o in events_of(run, OrderEvent)}


# --- fold, scan and the derived curve -------------------------------------------------------------


@settings(max_examples=80)
@given(scenario=scenarios(), contracts=st.data())
def test_fold_equals_scan_and_the_curve_equals_the_reducers(scenario: Scenario, contracts: st.DataObject) -> None:
    data, strategies, config = scenario
    if contracts.draw(st.booleans(), label="futures"):  # random multipliers and ticks: still exact
        config = attrs.evolve(config, instruments={
            s: fbt.Instrument(multiplier=contracts.draw(st.sampled_from([1.0, 50.0, 0.1, 12.5, 1_000.0])),
                              tick_size=contracts.draw(st.sampled_from([None, 0.01, 0.25])))
            for s in data.symbols})
    run = fold(strategies, data, config)
    multipliers = run.context.multipliers
    steps = list(scan(strategies, data, config))
    assert tuple(e for s in steps for e in s.events[1:]) == run.events
    assert steps[-1].world.portfolio == run.final.portfolio and steps[-1].world.broker == run.final.broker
    fills = fill_table(run)
    curve = derive(run, fills)
    books = ledgers(run, fills, curve, accounts(run, fills))
    capital = config.capital
    for s in steps:  # realistic rows: after the bar's fills, marked at its adj_close
        i, p = s.index, s.world.portfolio
        holdings, total = mark(p, MarketEvent(i, data), multipliers)
        assert curve.cash[i] == p.cash and curve.commission[i] == p.commission
        assert tuple(curve.positions[:, i].tolist()) == p.positions
        assert tuple(curve.holdings[:, i].tolist()) == holdings
        assert curve.total[i] == total
        rebuilt = capital + books.realised[:, i].sum() + books.unrealised[:, i].sum() - p.commission
        assert rebuilt == pytest.approx(total, rel=1e-9, abs=1e-6 * (1 + abs(capital)))
    assert curve.final_equity == curve.total[-1]


@settings(max_examples=60)
@given(scenario=scenarios())
def test_accounting_equals_a_fill_by_fill_replay(scenario: Scenario) -> None:
    data, strategies, config = scenario
    result = fbt.run(list(strategies), data, capital=config.capital, quantity=config.quantity,
                     commission=config.commission, execution=config.execution, slippage=config.slippage,
                     sizing=config.sizing, risk=config.risk)
    assert result.accounts is not None
    n_sym = len(data.symbols)
    position, cost, realised = [0.0] * n_sym, [0.0] * n_sym, [0.0] * n_sym
    trades_pnl = 0.0
    for k, (_, f) in enumerate(events_of(result.run, FillEvent)):
        s = data.symbols.index(f.symbol)
        position[s], cost[s], r = book_fill(position[s], cost[s], f.direction.sign, f.quantity, f.price)
        realised[s] += r
        assert result.accounts.ledger.position[k] == position[s]
        assert result.accounts.ledger.average_cost[k] == cost[s]
    assert position == list(result.run.final.portfolio.positions)
    trades = result.trades
    closed = sum(realised) - sum(position[s] * 0 for s in range(n_sym))
    trades_pnl = float(trades["pnl"].sum()) if len(trades) else 0.0
    if all(q == 0 for q in position):
        assert trades_pnl == pytest.approx(closed, rel=1e-9, abs=1e-6)
    assert (trades["quantity"] > 0).all() and (trades["bars"] >= 0).all()
    assert result.positions["realised"].sum() == pytest.approx(sum(realised), rel=1e-9, abs=1e-6)


# --- every event ----------------------------------------------------------------------------------


@settings(max_examples=60)
@given(scenario=scenarios())
def test_cash_plus_market_value_is_total_after_every_event(scenario: Scenario) -> None:
    data, strategies, config = scenario
    adj = data.values[F["adj_close"]]
    cash, positions = config.capital, [0.0] * len(data.symbols)
    for bar, event, world in walk(strategies, data, config):
        if isinstance(event, FillEvent):
            s = data.symbols.index(event.symbol)
            positions[s] = positions[s] + event.direction.sign * event.quantity
            cash = cash - (event.direction.sign * event.price * event.quantity + event.commission)
        p = world.portfolio
        assert p.cash == cash and list(p.positions) == positions
        value = 0.0
        for s, q in enumerate(positions):
            value = value + (0.0 if q == 0 else q * float(adj[s, bar]))
        assert mark(p, MarketEvent(bar, data))[1] == pytest.approx(cash + value, rel=1e-12, abs=1e-9)


@settings(max_examples=80)
@given(scenario=scenarios(cash_check=True))
def test_with_a_cash_check_cash_never_goes_below_zero(scenario: Scenario) -> None:
    data, strategies, config = scenario
    for _, _, world in walk(strategies, data, config):
        assert world.portfolio.cash >= 0


# --- fills ----------------------------------------------------------------------------------------


@settings(max_examples=80)
@given(scenario=scenarios())
def test_fills_lie_in_their_bars_range_before_slippage_after_the_order(scenario: Scenario) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    scaled = scaled_bars(data)
    orders = orders_by_id(run)
    for bar, f in events_of(run, FillEvent):
        s = data.symbols.index(f.symbol)
        base = f.price - f.direction.sign * f.slippage
        low, high = scaled[2, s, bar], scaled[1, s, bar]
        assert low - 1e-9 * abs(low) <= base <= high + 1e-9 * abs(high)
        assert f.slippage >= 0 and (f.slippage == 0) == (config.slippage is None or f.slippage == 0)
        assert data.real[s, bar]
        placed, order = orders[f.order_id]
        assert bar > placed and f.direction is order.direction and f.symbol == order.symbol
        if order.order_type is OrderType.MKT:
            expected = scaled[0 if config.execution is Execution.NEXT_OPEN else 3, s, bar]
            assert base == pytest.approx(expected, rel=1e-12)


@settings(max_examples=80)
@given(scenario=scenarios())
def test_partial_fills_never_exceed_the_order_and_complete_it(scenario: Scenario) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    filled: dict[int, float] = {}
    for _, f in events_of(run, FillEvent):
        filled[f.order_id] = filled.get(f.order_id, 0.0) + f.quantity
    ended = {e.order_id: e.quantity for _, e in events_of(run, OrderCancelled)}
    ended.update({e.order_id: e.quantity for _, e in events_of(run, OrderRejected) if e.order_id})
    working = {w.order.order_id: w for w in run.final.broker.pending}
    for order_id, (_, order) in orders_by_id(run).items():
        done = filled.get(order_id, 0.0)
        assert done <= order.quantity * (1 + 1e-12)
        parent = order.terms.parent_id
        if parent:  # a bracket child protects what its parent filled (nothing before it works)
            assert done <= filled.get(parent, 0.0) * (1 + 1e-12)
            continue
        if order_id in working:
            w = working[order_id]
            assert w.filled == pytest.approx(done) and w.remaining + w.filled == pytest.approx(order.quantity)
        elif order_id in ended:
            assert ended[order_id] + done == pytest.approx(order.quantity)
        else:
            assert done == pytest.approx(order.quantity)


# --- rejections -----------------------------------------------------------------------------------


@st.composite
def broker_cases(draw: st.DrawFn) -> tuple[BarData, Config, Broker, Portfolio]:
    data = draw(ohlcv_data(min_bars=2, max_bars=3))
    config = draw(configs(cash_check=True))
    n_sym = len(data.symbols)
    broker = Broker()
    for k in range(draw(st.integers(1, 6))):
        s = draw(st.integers(0, n_sym - 1))
        direction = draw(st.sampled_from(list(fbt.Direction)))
        price = float(data.values[F["close"], s, -1])
        kind = draw(st.sampled_from([OrderType.MKT, OrderType.LMT, OrderType.STP]))
        level = round(price * draw(st.floats(0.8, 1.2)), 2)
        conditions = None if kind is OrderType.MKT else fbt.OrderConditions(
            limit_price=level if kind is OrderType.LMT else None, stop_price=level if kind is OrderType.STP else None)
        order = OrderEvent(timestamp=0, symbol=data.symbols[s], quantity=float(draw(st.integers(1, 3_000))),
                           direction=direction, order_type=kind, order_id=k + 1, conditions=conditions)
        broker = accept_order(broker, order)
    held = tuple(float(draw(st.integers(-500, 500))) for _ in range(n_sym))
    portfolio = Portfolio(cash=float(draw(st.sampled_from([0.0, 1_000.0, 50_000.0]))), positions=held)
    return data, config, broker, portfolio


@settings(max_examples=150)
@given(case=broker_cases())
def test_a_rejected_order_changes_nothing_but_the_rejection_count(case: tuple[BarData, Config, Broker,
                                                                               Portfolio]) -> None:
    data, config, broker, portfolio = case
    ctx, _ = start([scripted("none", [])], data, config)
    market = MarketEvent(len(data) - 1, data)
    _, events = fill_working(broker, portfolio, market, ctx)
    rejected = {e.order_id for e in events if isinstance(e, OrderRejected)}
    fills = [e for e in events if isinstance(e, FillEvent)]
    assert not rejected & {f.order_id for f in fills}  # plain orders: rejected in full or not at all
    without = Broker(pending=tuple(w for w in broker.pending if w.order.order_id not in rejected))
    _, events_without = fill_working(without, portfolio, market, ctx)
    assert [e for e in events if not isinstance(e, OrderRejected)] == list(events_without)
    after = portfolio
    for f in fills:
        after = apply_fill(after, f, ctx)
    after_without = portfolio
    for f in events_without:
        after_without = apply_fill(after_without, f, ctx)  # type: ignore[arg-type]
    assert after == after_without


# --- determinism ----------------------------------------------------------------------------------


@settings(max_examples=30)
@given(scenario=scenarios())
def test_runs_are_deterministic(scenario: Scenario) -> None:
    data, strategies, config = scenario
    a, b = fold(strategies, data, config), fold(strategies, data, config)
    assert a.events == b.events and a.final.portfolio == b.final.portfolio and a.final.broker == b.final.broker


def test_book_configuration_takes_the_books_step() -> None:
    # the default configuration is the book's engine; anything else takes the general step
    assert Config().is_book
    for changed in (dict(execution="next-open"), dict(sizing=fbt.FixedQuantity()), dict(slippage=fbt.FixedBps()),
                    dict(risk=fbt.Risk(cash_check=True))):
        assert not attrs.evolve(Config(), **changed).is_book
    data = BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64),
                                columns={"close": np.array([[1.0, 2.0, 3.0]])})
    script = scripted("s", [(0, 0, SignalType.LONG, 1.0, None)])
    book = fold([script], data, Config())
    general = fold([script], data, Config(sizing=fbt.FixedQuantity(quantity=100)))
    assert book.events == general.events  # the same fills by both steps
