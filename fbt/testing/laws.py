"""Laws a pure strategy obeys, each checked in one line; a broken law is a :class:`LawViolation`.

- :func:`assert_deterministic`: two fresh runs give the same events, final world and fingerprints,
  and leave the data unchanged;
- :func:`assert_split_fold`: folding bars ``[0, k)`` and then resuming over ``[k, n)`` — with the
  strategy built anew, so everything it remembers must be in its state — equals one fold over
  ``[0, n)``, and resuming does not change the world it started from;
- :func:`assert_no_lookahead`: :func:`fbt.check_lookahead` passes;
- :func:`assert_accounting`: at every equity row cash plus the market value of the positions is the
  total equity (the row taken where the run's mode takes it: before the bar's fills in book mode,
  after them in ``next-open`` / ``next-close``), and the final cash, commission and positions are the
  sums of the fills, bit for bit.

>>> import numpy as np, fbt
>>> from fbt.sample.strategies import moving_average_crossover as mac
>>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(50, dtype=np.int64),
...                                 columns={"close": 10 + np.sin(np.arange(50.0) / 4).reshape(1, 50)})
>>> check_laws(mac(2, 5), data)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from fbt.audit import resume
from fbt.audit.lookahead import check_lookahead
from fbt.core.errors import FbtError
from fbt.core.events import Direction, FillEvent, MarketEvent
from fbt.core.market import BarData
from fbt.core.state import World
from fbt.core.strategy import Strategy
from fbt.journal import data_fingerprint, fingerprints, input_fingerprint
from fbt.kernel.config import Config
from fbt.kernel.loop import Run, drain, fold, start
from fbt.kernel.portfolio import mark
from fbt.kernel.step import make_step
from fbt.models.fill import Execution
from fbt.results.curve import derive

__all__ = [
    "LawViolation",
    "assert_accounting",
    "assert_deterministic",
    "assert_no_lookahead",
    "assert_split_fold",
    "check_laws",
]

Strategies = Strategy[Any] | Sequence[Strategy[Any]]


class LawViolation(FbtError, AssertionError):
    """A strategy broke one of fbt's laws (an AssertionError, so test runners report it as a failure)."""


def _chosen(strategy: Strategies) -> tuple[Strategy[Any], ...]:
    return (strategy,) if isinstance(strategy, Strategy) else tuple(strategy)


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # numpy arrays in a state: compare their text
        return repr(a) == repr(b)


def _first_event_difference(a: Run, b: Run) -> str | None:
    for k, (x, y) in enumerate(zip(a.events, b.events, strict=False)):
        if x != y or a.event_bars[k] != b.event_bars[k]:
            return f"event {k}: {x!r} at bar {int(a.event_bars[k])} vs {y!r} at bar {int(b.event_bars[k])}"
    if len(a.events) != len(b.events):
        return f"{len(a.events)} events vs {len(b.events)}"
    return None


def _compare_worlds(what: str, a: World, b: World) -> None:
    for part in ("portfolio", "broker", "strategies"):
        x, y = getattr(a, part), getattr(b, part)
        if not _same(x, y):
            raise LawViolation(f"{what}: the {part} differs: {x!r} vs {y!r}")


def assert_deterministic(strategy: Strategies, data: BarData, *, config: Config | None = None) -> None:
    """Assert that two fresh runs agree in every event and the final world, and leave the data unchanged."""
    chosen, config = _chosen(strategy), config or Config()
    before = data_fingerprint(data)
    identity = input_fingerprint(chosen, data, config)
    a = fold(chosen, data, config)
    b = fold(chosen, data, config)
    difference = _first_event_difference(a, b)
    if difference is not None:
        raise LawViolation(f"determinism: two runs of the same inputs differ at {difference}")
    _compare_worlds("determinism: two runs of the same inputs end differently", a.final, b.final)
    if fingerprints(a) != fingerprints(b):
        raise LawViolation("determinism: two runs of the same inputs have different events fingerprints")
    fresh = data.head(len(data))  # a copy: the strategy must not have written to the data
    if data_fingerprint(fresh) != before or input_fingerprint(chosen, data, config) != identity:
        raise LawViolation("determinism: the run changed its inputs (the data or the strategies' parameters)")


def assert_split_fold(strategy: Strategies, data: BarData, *, at: int | None = None,
                      config: Config | None = None) -> None:
    """Assert that folding bars ``[0, at)`` then resuming over ``[at, n)`` equals one fold.

    The second half runs with the strategies built anew, so a strategy that keeps memory outside
    its state (in its closure, a global) breaks the law; so does one that changes a state in place.
    ``at`` defaults to the middle bar.
    """
    chosen, config = _chosen(strategy), config or Config()
    n = len(data)
    split = n // 2 if at is None else at
    if not 0 <= split <= n:
        raise LawViolation(f"split fold: at={split} is outside 0 .. {n}")
    whole = fold(chosen, data, config)
    context, initial = start(chosen, data, config)
    first = resume(context, initial, start=0, stop=split)
    kept = copy.deepcopy(first.world.strategies)
    fresh, _ = start(chosen, data, config)
    second = resume(fresh, first.world, start=split)
    events = first.events + second.events
    bars = np.concatenate([first.event_bars, second.event_bars])
    for k, (x, y) in enumerate(zip(events, whole.events, strict=False)):
        if x != y or bars[k] != whole.event_bars[k]:
            raise LawViolation(f"split fold at bar {split}: event {k} is {x!r} at bar {int(bars[k])}, one fold has "
                               f"{y!r} at bar {int(whole.event_bars[k])}")
    if len(events) != len(whole.events):
        raise LawViolation(f"split fold at bar {split}: {len(events)} events, one fold has {len(whole.events)}")
    _compare_worlds(f"split fold at bar {split}: the final world", second.world, whole.final)
    if not _same(kept, first.world.strategies):
        raise LawViolation(f"split fold at bar {split}: resuming changed the state it started from (a strategy "
                           f"changes its state in place)")


def assert_no_lookahead(strategy: Strategies, data: BarData, *, config: Config | None = None,
                        cuts: Sequence[int] | None = None) -> None:
    """Assert that the strategies make the same events on prefixes of the data (see :func:`fbt.check_lookahead`)."""
    report = check_lookahead(strategy, data, config=config, cuts=cuts)
    if not report.passed:
        raise LawViolation(f"no lookahead: {report.describe()}")


def assert_accounting(strategy: Strategies, data: BarData, *, config: Config | None = None) -> None:
    """Assert that the books balance at every bar and at the end.

    At every equity row: ``cash + sum(position * adj_close * multiplier) == total`` for the world
    the reducers carry and for the derived equity curve. The row of bar ``i`` is the world the
    run's mode records: in book mode the one *before* bar ``i``'s fills (the seed's), in
    ``next-open`` and ``next-close`` the one *after* them (the state at the end of bar ``i``). At
    the end: cash is the capital less every fill's ``sign * price * quantity * multiplier +
    commission``, commission their sum, each position the sum of its signed fill quantities (all
    accumulated in fill order, so equal exactly).
    """
    chosen, config = _chosen(strategy), config or Config()
    run = fold(chosen, data, config)
    curve = derive(run)
    context, world = start(chosen, data, config)
    step = make_step(context)
    after_fills = config.execution is not Execution.BOOK
    multipliers = context.multipliers
    for i in range(len(data)):
        market = MarketEvent(i, data)
        if after_fills:  # realistic modes: the row is the state at the end of the bar
            world, _ = drain(step, world, (market,))
        holdings, total = mark(world.portfolio, market, multipliers)
        for name, expected, got in (("cash", world.portfolio.cash, curve.cash[i]), ("total", total, curve.total[i])):
            if not expected == got:
                raise LawViolation(f"accounting at bar {i}: the equity curve's {name} is {got!r}, the portfolio "
                                   f"says {expected!r}")
        summed = world.portfolio.cash
        for h in holdings:
            summed = summed + h
        if summed != total:
            raise LawViolation(f"accounting at bar {i}: cash + holdings = {summed!r}, total = {total!r}")
        if not after_fills:  # book mode: the row was taken before the bar's fills
            world, _ = drain(step, world, (market,))
    cash, commission = config.capital, 0.0
    positions = dict.fromkeys(data.symbols, 0.0)
    for event in run.events:
        if isinstance(event, FillEvent):
            sign = 1.0 if event.direction is Direction.BUY else -1.0
            flow = sign * event.price * event.quantity
            if multipliers is not None:
                flow = flow * multipliers[context.symbol_index[event.symbol]]
            cash = cash - (flow + event.commission)
            commission = commission + event.commission
            positions[event.symbol] += sign * event.quantity
    final = run.final.portfolio
    if final.cash != cash or final.commission != commission or final.positions != tuple(positions.values()):
        raise LawViolation(f"accounting: the final portfolio {final!r} is not the sum of the fills (cash {cash!r}, "
                           f"commission {commission!r}, positions {tuple(positions.values())!r})")
    if not _same(world.portfolio, final):
        raise LawViolation("accounting: stepping bar by bar ends with another portfolio than the fold")


def check_laws(strategy: Strategies, data: BarData, *, config: Config | None = None) -> None:
    """Assert every law: determinism, split fold, no lookahead, accounting."""
    assert_deterministic(strategy, data, config=config)
    assert_split_fold(strategy, data, config=config)
    assert_no_lookahead(strategy, data, config=config)
    assert_accounting(strategy, data, config=config)
