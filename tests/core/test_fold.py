"""The fold: scan agrees with fold, the derived curve agrees with the reducers, runs are
deterministic, strategies cannot look ahead, and a misbehaving strategy is a clear StrategyError."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.errors import ConfigError, StrategyError
from fbt.core.events import Direction, FillEvent, MarketEvent, OrderEvent, SignalEvent, SignalType
from fbt.core.market import FIELDS, BarData, align
from fbt.core.state import Portfolio
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.loop import fold, scan, start
from fbt.kernel.portfolio import mark
from fbt.models.commission import ib_seed_commission
from fbt.results.curve import derive
from fbt.testing.strategies import BASE, DAY, bar_data, scenarios, scripted

ADJ = FIELDS.index("adj_close")
ROOT = Path(__file__).resolve().parents[2]


Scenario = tuple[BarData, tuple[Strategy[Any], ...], Config]


# --- fold and scan ----------------------------------------------------------------------------


@settings(max_examples=120)
@given(scenario=scenarios(min_price=0.01))
def test_fold_equals_scan(scenario: Scenario) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    steps = list(scan(strategies, data, config))

    assert [s.index for s in steps] == list(range(len(data)))
    for s in steps:
        market = s.events[0]
        assert isinstance(market, MarketEvent) and market.index == s.index
        assert not any(isinstance(e, MarketEvent) for e in s.events[1:])
    scanned = tuple(e for s in steps for e in s.events[1:])
    bars = [s.index for s in steps for _ in s.events[1:]]
    assert scanned == run.events
    assert run.event_bars.tolist() == bars
    last = steps[-1].world
    assert last.portfolio == run.final.portfolio
    assert last.strategies == run.final.strategies
    assert last.broker == run.final.broker
    assert run.final.strategies == tuple((len(data), sum(isinstance(e, SignalEvent) and e.strategy_id == s.name
                                                        for e in run.events)) for s in strategies)


@settings(max_examples=120)
@given(scenario=scenarios(min_price=0.01), contracts=st.data())
def test_derived_curve_equals_the_reducer_at_every_bar(scenario: Scenario, contracts: st.DataObject) -> None:
    data, strategies, config = scenario
    if contracts.draw(st.booleans(), label="futures"):  # random contract multipliers: still exact
        config = attrs.evolve(config, instruments={
            s: fbt.Instrument(multiplier=contracts.draw(st.sampled_from([1.0, 50.0, 0.1, 12.5, 1_000.0])))
            for s in data.symbols})
    run = fold(strategies, data, config)
    multipliers = run.context.multipliers
    curve = derive(run)
    _, world = start(strategies, data, config)
    before = world.portfolio
    assert before == Portfolio.initial(capital=config.capital, n_symbols=len(data.symbols))
    for s in scan(strategies, data, config):
        i = s.index
        holdings, total = mark(before, MarketEvent(i, data), multipliers)  # recorded before bar i's fills
        assert curve.cash[i] == before.cash
        assert curve.commission[i] == before.commission
        assert tuple(curve.positions[:, i].tolist()) == before.positions
        assert tuple(curve.holdings[:, i].tolist()) == holdings
        assert curve.total[i] == total
        before = s.world.portfolio
    final = run.final.portfolio
    _, final_total = mark(final, MarketEvent(len(data) - 1, data), multipliers)
    assert curve.final_equity == final_total
    assert curve.final_cash == final.cash
    assert curve.final_commission == final.commission
    assert tuple(curve.final_positions.tolist()) == final.positions


@settings(max_examples=120)
@given(scenario=scenarios(min_price=0.01))
def test_cash_plus_holdings_is_total(scenario: Scenario) -> None:
    data, strategies, config = scenario
    curve = derive(fold(strategies, data, config))
    for i in range(len(data)):
        total = float(curve.cash[i])
        for s in range(len(data.symbols)):
            total = total + float(curve.holdings[s, i])
        assert total == curve.total[i]
    assert np.isfinite(curve.total).all()


@settings(max_examples=120)
@given(scenario=scenarios(min_price=0.01))
def test_positions_are_the_signed_sum_of_fills(scenario: Scenario) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    curve = derive(run)
    n_sym = len(data.symbols)
    held = [0.0] * n_sym
    by_bar: dict[int, list[FillEvent]] = {}
    for bar, e in zip(run.event_bars.tolist(), run.events, strict=True):
        if isinstance(e, FillEvent):
            by_bar.setdefault(bar, []).append(e)
    for i in range(len(data)):
        assert curve.positions[:, i].tolist() == held  # fills of earlier bars only
        for f in by_bar.get(i, ()):
            held[data.symbols.index(f.symbol)] += f.direction.sign * f.quantity
    assert list(run.final.portfolio.positions) == held
    assert curve.final_positions.tolist() == held


@settings(max_examples=120)
@given(scenario=scenarios(min_price=0.01))
def test_every_order_fills_at_once_at_the_bar_adj_close(scenario: Scenario) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    orders = [(b, e) for b, e in zip(run.event_bars.tolist(), run.events, strict=True) if isinstance(e, OrderEvent)]
    fills = [(b, e) for b, e in zip(run.event_bars.tolist(), run.events, strict=True) if isinstance(e, FillEvent)]
    assert [o.order_id for _, o in orders] == list(range(1, len(orders) + 1))
    assert len(fills) == len(orders)
    for (ob, o), (fb, f) in zip(orders, fills, strict=True):
        assert ob == fb
        assert (f.order_id, f.symbol, f.quantity, f.direction) == (o.order_id, o.symbol, o.quantity, o.direction)
        assert f.timestamp == int(data.timestamps[fb])
        assert f.price == data.values[ADJ, data.symbols.index(f.symbol), fb]
        assert f.commission == config.commission(f.quantity, f.price)
    assert run.final.portfolio.orders_sent == len(orders)
    assert run.final.broker.pending == ()


# --- round trips --------------------------------------------------------------------------------


def constant_data(price: float, n: int) -> BarData:
    return BarData.from_columns(
        symbols=("A",), timestamps=BASE + np.arange(n, dtype=np.int64) * DAY, columns={"close": np.full((1, n), price)}
    )


@settings(max_examples=60)
@given(
    quarters=st.integers(1, 400_000),
    quantity=st.integers(1, 2_000),
    capital=st.integers(1, 10**7),
    bars=st.tuples(st.integers(0, 20), st.integers(1, 20), st.integers(0, 5)),
    side=st.sampled_from([SignalType.LONG, SignalType.SHORT]),
)
def test_round_trip_at_a_constant_price_loses_exactly_two_commissions(
    quarters: int, quantity: int, capital: int, bars: tuple[int, int, int], side: SignalType
) -> None:
    # quarter-cent prices, whole quantities, whole capital and a 1.25 commission: every amount is
    # exact in binary floating point, so the loss must be exactly two commissions.
    price = quarters / 4
    enter, hold, after = bars
    n = enter + hold + after + 1
    script = [(enter, 0, side), (enter + hold, 0, SignalType.EXIT)]
    result = fbt.run(scripted("rt", script), constant_data(price, n), capital=capital, quantity=quantity,
                     commission=lambda q, p: 1.25)
    assert len(result.fills) == 2
    assert result.statistics["final_equity"] == capital - 2 * 1.25
    assert result.run.final.portfolio.positions == (0.0,)
    assert result.run.final.portfolio.commission == 2.5


@settings(max_examples=60)
@given(
    price=st.floats(0.01, 1_000.0),
    quantity=st.sampled_from([1.0, 100.0, 500.0, 501.0, 1_000.0]),
    capital=st.floats(1_000.0, 1e6),
    side=st.sampled_from([SignalType.LONG, SignalType.SHORT]),
)
def test_round_trip_with_the_ib_schedule(price: float, quantity: float, capital: float, side: SignalType) -> None:
    script = [(1, 0, side), (3, 0, SignalType.EXIT)]
    result = fbt.run(scripted("rt", script), constant_data(price, 5), capital=capital, quantity=quantity)
    c = ib_seed_commission(quantity)
    assert result.run.final.portfolio.commission == c + c
    tolerance = 1e-9 * (capital + price * quantity)
    assert result.statistics["final_equity"] == pytest.approx(capital - 2 * c, rel=0, abs=tolerance)
    assert result.fills["commission"].tolist() == [c, c]


# --- determinism --------------------------------------------------------------------------------


def random_walk(seed: int, n: int, symbols: Sequence[str]) -> BarData:
    rng = np.random.default_rng(seed)
    per = {}
    for k, s in enumerate(symbols):
        steps = rng.normal(0.0, 0.02, n) * (rng.random(n) < 0.8)  # about one flat bar in five
        close = np.round(20.0 * (k + 1) * np.exp(np.cumsum(steps)), 2)
        rows = np.arange(k * 7, n, dtype=np.int64)
        per[s] = (BASE + rows * DAY, {"close": close[rows], "adj_close": close[rows] * 0.9})
    return align(per, time_format="date")


def test_two_runs_are_identical(tmp_path: Path, crossover: Callable[..., Strategy[Any]]) -> None:
    data = random_walk(7, 300, ("ORCL", "YHOO", "NVDA"))
    script = scripted("s", [(i, i % 3, list(SignalType)[i % 3]) for i in range(0, 300, 7)])
    a = fbt.run([crossover(5, 20), script], data)
    b = fbt.run([crossover(5, 20), script], data)
    assert len(a.fills) > 10
    assert a.run.events == b.run.events
    assert a.run.final.portfolio == b.run.final.portfolio
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    for name in ("equity.csv", "fills.csv", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


HASHSEED_SCRIPT = textwrap.dedent(
    """
    import importlib.util, sys
    import numpy as np
    import fbt
    from fbt.core.market import align
    spec = importlib.util.spec_from_file_location("mac", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(3)
    per = {}
    for k, symbol in enumerate(sorted({"ORCL", "YHOO", "NVDA", "FXY"})):
        close = np.round(30.0 * np.exp(np.cumsum(rng.normal(0, 0.02, 250) * (rng.random(250) < 0.8))), 2)
        per[symbol] = (np.arange(k, 250, dtype=np.int64) * 86_400 * 10**9, {"close": close[k:]})
    data = align(per, time_format="date")
    fbt.run(module.moving_average_crossover(3, 12), data).write(sys.argv[1])
    """
)


def test_runs_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    package_parent = str(Path(fbt.__file__).resolve().parents[1])
    example = str(ROOT / "examples" / "moving_average_crossover.py")
    written = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run([sys.executable, "-c", HASHSEED_SCRIPT, str(out), example], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        written.append({name: (out / name).read_bytes() for name in ("equity.csv", "fills.csv", "stats.json")})
    assert written[0] == written[1]
    assert written[0]["fills.csv"].count(b"\n") > 5


# --- no lookahead -------------------------------------------------------------------------------


@settings(max_examples=60)
@given(data=bar_data(min_bars=2, max_bars=50, min_price=0.01), windows=st.tuples(st.integers(1, 6), st.integers(1, 12)),
       pick=st.data())
def test_crossover_cannot_look_ahead(
    crossover: Callable[..., Strategy[Any]], data: BarData, windows: tuple[int, int], pick: st.DataObject
) -> None:
    strategy = crossover(*windows)
    full = fold([strategy], data)
    for k in sorted(set(pick.draw(st.lists(st.integers(0, len(data)), min_size=1, max_size=4), label="cuts"))):
        cut = fold([strategy], data.head(k))
        keep = full.event_bars < k
        assert cut.events == tuple(e for e, b in zip(full.events, keep.tolist(), strict=True) if b)
        assert cut.event_bars.tolist() == full.event_bars[keep].tolist()


# --- misbehaving strategies ---------------------------------------------------------------------

BAD_BAR = 3


def misbehaving(name: str, bad: Callable[[MarketEvent], Any]) -> Strategy[Any]:
    """A strategy that behaves until bar BAD_BAR, then returns (or raises) what ``bad`` gives."""

    def build(data: BarData) -> tuple[int, Callable[..., Any]]:
        def step(state: int, event: MarketEvent) -> Any:
            if event.index == BAD_BAR:
                return bad(event)
            return state + 1, ()

        return 0, step

    return Strategy(name=name, build=build)


def _long(event: MarketEvent, symbol: str = "A") -> SignalEvent:
    return SignalEvent(timestamp=event.timestamp, strategy_id="bad_strategy", symbol=symbol,
                       signal_type=SignalType.LONG)


def _raise(event: MarketEvent) -> Any:
    raise ZeroDivisionError("boom")


BAD_RESULTS: dict[str, Callable[[MarketEvent], Any]] = {
    "raises": _raise,
    "returns None": lambda e: None,
    "returns a list pair": lambda e: [0, ()],
    "returns a string": lambda e: "oops",
    "returns a triple": lambda e: (0, (), None),
    "signals None": lambda e: (0, None),
    "signals a bare SignalEvent": lambda e: (0, _long(e)),
    "signals a string": lambda e: (0, "LONG"),
    "list with a non-signal": lambda e: (0, [_long(e), "LONG"]),
    "tuple with an order": lambda e: (0, (OrderEvent(timestamp=e.timestamp, symbol="A", quantity=1.0,
                                                     direction=Direction.BUY),)),
    "unknown symbol": lambda e: (0, (_long(e, "ZZZ"),)),
}


def five_bars() -> BarData:
    return BarData.from_columns(symbols=("A",), timestamps=BASE + np.arange(5, dtype=np.int64) * DAY,
                                columns={"close": np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])})


@pytest.mark.parametrize("case", list(BAD_RESULTS))
@pytest.mark.parametrize("how", ["fold", "scan", "run"])
def test_misbehaving_strategy_is_a_strategy_error_naming_it_and_the_bar(case: str, how: str) -> None:
    strategy = misbehaving("bad_strategy", BAD_RESULTS[case])
    runner: dict[str, Callable[[], object]] = {
        "fold": lambda: fold([strategy], five_bars()),
        "scan": lambda: list(scan([strategy], five_bars())),
        "run": lambda: fbt.run(strategy, five_bars()),
    }
    with pytest.raises(StrategyError) as info:
        runner[how]()
    message = str(info.value)
    assert "bad_strategy" in message
    assert f"bar {BAD_BAR}" in message
    if case == "raises":
        assert isinstance(info.value.__cause__, ZeroDivisionError)
        assert "boom" in message
    if case == "unknown symbol":
        assert "ZZZ" in message


def test_second_strategy_is_named_when_it_misbehaves() -> None:
    good = scripted("good", [(0, 0, SignalType.LONG)])
    with pytest.raises(StrategyError, match=r"'bad_strategy'.*bar 3"):
        fold([good, misbehaving("bad_strategy", lambda e: None)], five_bars())


def test_strategy_that_fails_to_build_is_a_strategy_error() -> None:
    def build(data: BarData) -> Any:
        raise KeyError("missing")

    with pytest.raises(StrategyError, match="broken"):
        fold([Strategy(name="broken", build=build)], five_bars())


def test_no_strategy_is_a_strategy_error() -> None:
    with pytest.raises(StrategyError):
        fold([], five_bars())


@settings(max_examples=80)
@given(scenario=scenarios(min_price=0.01), cut=st.floats(0.0, 1.0), every=st.sampled_from([None, 1, 3]))
def test_fold_continued_from_a_world_equals_one_fold(scenario: Scenario, cut: float, every: int | None) -> None:
    data, strategies, config = scenario
    k = int(cut * len(data))
    whole = fold(strategies, data, config, checkpoint_every=every)
    first = fold(strategies, data.head(k), config) if k else None
    rest = fold(strategies, data, config, world=first.final if first else None, begin=k, checkpoint_every=every)
    head_events = first.events if first else ()
    head_bars = first.event_bars.tolist() if first else []
    assert head_events + rest.events == whole.events
    assert head_bars + rest.event_bars.tolist() == whole.event_bars.tolist()
    assert (rest.final.strategies, rest.final.portfolio, rest.final.broker) == (
        whole.final.strategies, whole.final.portfolio, whole.final.broker)
    if every == 1:
        assert [b for b, _ in rest.checkpoints] == list(range(k, len(data)))
        assert [w for b, w in rest.checkpoints] == [w for b, w in whole.checkpoints if b >= k]


def test_fold_refuses_a_begin_outside_the_data() -> None:
    data = five_bars()
    with pytest.raises(ConfigError, match="begin"):
        fold([scripted("s", [])], data, begin=len(data) + 1)
