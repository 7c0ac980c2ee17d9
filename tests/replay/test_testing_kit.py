"""fbt.testing: its generators make valid data, and its laws hold for fbt's strategies and break, with
a LawViolation naming the law, for strategies that are not deterministic, hide state, change their
state in place, peek, or whose books do not balance."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import fbt
import fbt.results.curve
import fbt.testing as ft
import fbt.testing.laws
from fbt.core.events import MarketEvent, SignalEvent, SignalType
from fbt.core.market import FIELDS, Bar, BarData
from fbt.core.state import Portfolio
from fbt.kernel.config import Config
from fbt.sample.strategies import moving_average_crossover
from tests.replay import peeking

Scenario = tuple[BarData, tuple[fbt.Strategy[Any], ...], Config]
OPEN, HIGH, LOW, CLOSE = (FIELDS.index(f) for f in ("open", "high", "low", "close"))


@settings(max_examples=100)
@given(bar=ft.bars())
def test_bars_have_valid_ohlc(bar: Bar) -> None:
    assert 0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert bar.volume >= 0 and bar.open_interest >= 0


@settings(max_examples=50)
@given(data=ft.bar_data())
def test_bar_data_is_aligned_valid_and_forward_filled(data: BarData) -> None:
    n = len(data)
    assert 1 <= n <= 60 and 1 <= len(data.symbols) <= 3
    assert (np.diff(data.timestamps) > 0).all()
    assert data.real[0].all()  # the first symbol trades every bar
    v = data.values
    for s in range(len(data.symbols)):
        first = data.first[s]
        assert not data.real[s, :first].any() and data.real[s, first]
        assert np.isnan(v[CLOSE, s, :first]).all()
        real = data.real[s]
        assert (v[LOW, s, real] <= np.minimum(v[OPEN, s, real], v[CLOSE, s, real])).all()
        assert (v[HIGH, s, real] >= np.maximum(v[OPEN, s, real], v[CLOSE, s, real])).all()
        assert (v[LOW, s, real] > 0).all()
        for i in range(first + 1, n):
            if not real[i]:
                assert (v[:, s, i] == v[:, s, i - 1]).all()  # forward filled, never back filled


@settings(max_examples=25)
@given(event=ft.market_events())
def test_market_events_point_into_their_data(event: MarketEvent) -> None:
    assert 0 <= event.index < len(event.data)


@settings(max_examples=50)
@given(signal=ft.signals(), order=ft.orders(), fill=ft.fills(), portfolio=ft.portfolios())
def test_records_are_valid(signal: Any, order: Any, fill: Any, portfolio: Portfolio) -> None:
    assert signal.symbol in ft.strategies.SYMBOLS and isinstance(signal.signal_type, SignalType)
    assert order.quantity > 0 and order.order_id >= 1
    assert fill.price > 0 and fill.commission >= 0
    assert len(portfolio.positions) == 3


# --- the laws hold for well-behaved strategies ------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(scenario=ft.scenarios(max_bars=40))
def test_every_law_holds_for_scripted_strategies(scenario: Scenario) -> None:
    data, strategies, config = scenario
    ft.check_laws(strategies, data, config=config)


@settings(max_examples=25, deadline=None)
@given(data=ft.bar_data(min_bars=2, max_bars=50), config=ft.configs())
def test_every_law_holds_for_the_crossover(data: BarData, config: Config) -> None:
    ft.check_laws(moving_average_crossover(2, 5), data, config=config)


# --- and break for badly behaved ones -------------------------------------------------------------


def _sample() -> BarData:
    from fbt.sample.data import sample_dir

    return fbt.load_dir(sample_dir()).head(300)


def _signal(event: MarketEvent, name: str) -> tuple[SignalEvent, ...]:
    return (SignalEvent(timestamp=event.timestamp, strategy_id=name, symbol="SYNA", signal_type=SignalType.LONG),)


def test_determinism_breaks_for_a_strategy_with_global_state() -> None:
    counter = itertools.count()

    def build(data: BarData) -> tuple[int, Any]:
        when = next(counter) % 7 + 3  # each build picks another bar

        def step(state: int, event: MarketEvent) -> tuple[int, tuple[SignalEvent, ...]]:
            return state, (_signal(event, "global") if event.index == when else ())

        return 0, step

    with pytest.raises(ft.LawViolation, match="determinism: two runs of the same inputs differ at event 0"):
        ft.assert_deterministic(fbt.Strategy(name="global", build=build), _sample())


def test_determinism_breaks_for_a_strategy_that_writes_its_data() -> None:
    def build(data: BarData) -> tuple[int, Any]:
        def step(state: int, event: MarketEvent) -> tuple[int, tuple[SignalEvent, ...]]:
            if event.index == 5:  # fbt's arrays are read-only: this strategy forces its way in
                values = event.data.values
                values.flags.writeable = True
                values[3, 0, 0] += 1.0
            return state, ()

        return 0, step

    data = _sample()
    data = BarData.from_columns(symbols=data.symbols, timestamps=data.timestamps, real=data.real,
                                columns={f: data.values[k].copy() for k, f in enumerate(FIELDS)})
    with pytest.raises(ft.LawViolation, match="changed its inputs"):
        ft.assert_deterministic(fbt.Strategy(name="writer", build=build), data)


def test_split_fold_breaks_for_memory_outside_the_state() -> None:
    def build(data: BarData) -> tuple[None, Any]:
        seen = [0]  # memory in the closure, not in the state

        def step(state: None, event: MarketEvent) -> tuple[None, tuple[SignalEvent, ...]]:
            seen[0] += 1
            return state, (_signal(event, "closure") if seen[0] == 200 else ())

        return None, step

    strategy = fbt.Strategy(name="closure", build=build)
    ft.assert_deterministic(strategy, _sample())  # two fresh runs agree ...
    with pytest.raises(ft.LawViolation, match=r"split fold at bar 150: .*events, one fold has 3"):
        ft.assert_split_fold(strategy, _sample())  # ... but the memory is lost across the split


def test_split_fold_breaks_for_a_state_changed_in_place() -> None:
    def step(state: list[int], event: MarketEvent) -> tuple[list[int], tuple[SignalEvent, ...]]:
        state.append(event.index)
        return state, ()

    with pytest.raises(ft.LawViolation, match="changes its state in place"):
        ft.assert_split_fold(fbt.Strategy(name="in_place", build=lambda data: ([], step)), _sample())


def test_no_lookahead_breaks_for_a_peek() -> None:
    with pytest.raises(ft.LawViolation, match="no lookahead: LOOKAHEAD: the events changed"):
        ft.assert_no_lookahead(peeking.next_bar(), _sample())
    with pytest.raises(AssertionError):  # a LawViolation is an AssertionError for test runners
        ft.assert_no_lookahead(peeking.peek_at(40), _sample())


def test_accounting_breaks_when_the_books_do_not_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    real_derive = fbt.testing.laws.derive

    def skewed(run: Any) -> Any:
        curve = real_derive(run)
        curve.cash[50:] += 0.01
        return curve

    monkeypatch.setattr(fbt.testing.laws, "derive", skewed)
    with pytest.raises(ft.LawViolation, match=r"accounting at bar \d+: the equity curve's cash"):
        ft.assert_accounting(moving_average_crossover(5, 20), _sample())


@pytest.mark.parametrize("execution", ["next-open", "next-close"])
def test_accounting_holds_in_the_realistic_modes_where_the_row_is_after_the_fills(execution: str) -> None:
    strategy = moving_average_crossover(5, 20)
    ft.assert_accounting(strategy, _sample(), config=Config(execution=execution))
    futures = Config(execution=execution, instruments={"SYNA": fbt.Instrument(multiplier=50, tick_size=0.01)},
                     risk=fbt.Risk(cash_check=False))
    ft.assert_accounting(strategy, _sample(), config=futures)  # contract multipliers balance too


def test_accounting_breaks_for_a_next_open_curve_with_the_books_of_another_mode(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(execution="next-open")
    real_derive = fbt.testing.laws.derive

    def skewed(run: Any) -> Any:
        curve = real_derive(run)
        curve.total[60:] -= 0.01
        return curve

    monkeypatch.setattr(fbt.testing.laws, "derive", skewed)
    with pytest.raises(ft.LawViolation, match=r"accounting at bar \d+: the equity curve's total"):
        ft.assert_accounting(moving_average_crossover(5, 20), _sample(), config=config)
    monkeypatch.setattr(fbt.testing.laws, "derive", real_derive)
    monkeypatch.setattr(fbt.results.curve, "_side", lambda run: "left")  # book rows (before the fills) on next-open
    with pytest.raises(ft.LawViolation, match=r"accounting at bar \d+: the equity curve's cash"):
        ft.assert_accounting(moving_average_crossover(5, 20), _sample(), config=config)


def test_law_violations_are_fbt_errors() -> None:
    assert issubclass(ft.LawViolation, fbt.FbtError) and issubclass(ft.LawViolation, AssertionError)
    assert sorted(ft.__all__) == ft.__all__
