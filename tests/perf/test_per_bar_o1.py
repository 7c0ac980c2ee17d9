"""The fold's per-bar path stays O(1): the work per bar does not grow with the bars before it.

Nothing is timed. A probe strategy, put first in the fold, runs at the start of every bar and
measures what happened since the previous bar (the tested strategy, the portfolio and the broker,
the log, the next market event):

- allocation: with ``tracemalloc`` (which sees numpy's buffers too), the peak bytes allocated above
  the previous bar's level (``transient``) and the live bytes kept (``growth``);
- calls: with ``sys.setprofile``, the Python and C call events (generator resumptions included).

Each is averaged over the second half of the bars, at 10,000 and at 100,000 bars. An O(1) path
gives the same figures at both sizes; a per-bar copy or scan of the growing history makes them
about ten times larger at the larger size. The last tests show that the same measuring helper
does flag such strategies (on smaller sizes, as their cost is quadratic).
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest

import fbt
from fbt.kernel.loop import fold
from fbt.sample.strategies import moving_average_crossover

SMALL, LARGE = 10_000, 100_000


class PerBar(NamedTuple):
    """Per-bar averages over the second half of a fold's bars."""

    transient: float  # peak bytes allocated during a bar above its starting level
    growth: float  # live bytes kept per bar
    calls: float  # profiler call events per bar


def minute_bars(n: int, seed: int = 11) -> fbt.BarData:
    """A seeded random walk rounded to cents (flat bars occur), one symbol ``A``."""
    rng = np.random.default_rng(seed)
    close = np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0002, n))), 2)
    return fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(n, dtype=np.int64) * 60_000_000_000,
                                    columns={"close": close[None, :]})


def _probe(n: int, read: Callable[[], int]) -> tuple[fbt.Strategy[Any], np.ndarray, np.ndarray]:
    """A strategy that records ``read()`` and the bar-window peak (if tracing) at every bar."""
    level = np.zeros(n)
    peak = np.zeros(n)
    tracing = tracemalloc.is_tracing()

    def step(state: None, event: fbt.MarketEvent) -> tuple[None, tuple[()]]:
        i = event.index
        if tracing:
            current, top = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            level[i], peak[i] = current, top
        else:
            level[i] = read()
        return None, ()

    return fbt.strategy(step, initial=None, name="probe"), level, peak


def per_bar(strategy: fbt.Strategy[Any], n: int) -> PerBar:
    """Measure a fold of ``strategy`` over ``n`` bars, as ``fbt.run`` folds (checkpoints every 1,000)."""
    data = minute_bars(n)
    half = slice(n // 2, n)

    # allocation
    tracemalloc.start()
    try:
        probe, level, peak = _probe(n, lambda: 0)
        fold((probe, strategy), data, fbt.Config(), checkpoint_every=1_000)
    finally:
        tracemalloc.stop()
    transient = float(np.mean(peak[1:][half] - level[:-1][half]))
    growth = float((level[-1] - level[n // 2]) / (n - 1 - n // 2))

    # calls
    count = [0]

    def profiler(frame: Any, event: str, arg: Any) -> None:
        if event == "call" or event == "c_call":
            count[0] += 1

    probe, level, _ = _probe(n, lambda: count[0])
    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        fold((probe, strategy), data, fbt.Config(), checkpoint_every=1_000)
    finally:
        sys.setprofile(previous)
    calls = float((level[-1] - level[n // 2]) / (n - 1 - n // 2))
    return PerBar(transient=transient, growth=growth, calls=calls)


def grows(small: PerBar, large: PerBar) -> list[str]:
    """The measures that grew from the small run to the large one by more than a small constant."""
    bounds = {"transient": (1.25, 512.0), "growth": (1.25, 64.0), "calls": (1.10, 2.0)}
    out = []
    for name, (factor, slack) in bounds.items():
        a, b = getattr(small, name), getattr(large, name)
        if b > factor * a + slack:
            out.append(f"{name}: {a:,.1f} per bar at the small size, {b:,.1f} at the large one")
    return out


# ------------------------------------------------------------------------------------ strategies
def quiet_step(state: int, event: fbt.MarketEvent) -> tuple[int, tuple[()]]:
    """Reads a fixed window and the latest value through the accessors; never signals."""
    window = event.latest_values("A", "adj_close", 20)
    if window.size and event.latest_value("A", "close") < 0:  # never true: keeps the reads from being dead code
        return state + 1, ()
    return state, ()


quiet = fbt.strategy(quiet_step, initial=0, name="quiet")


def copies_history(state: float, event: fbt.MarketEvent) -> tuple[float, tuple[()]]:
    """A per-bar numpy copy of the whole history so far (the bug the guard exists for)."""
    history = np.array(event.latest_values("A", "adj_close", event.index + 1))
    return float(history[-1]), ()


def keeps_history(state: tuple[float, ...], event: fbt.MarketEvent) -> tuple[tuple[float, ...], tuple[()]]:
    """A state that copies the growing history into a new tuple every bar."""
    return (*state, event.latest_value("A", "adj_close")), ()


def scans_history(state: tuple[float, ...], event: fbt.MarketEvent) -> tuple[tuple[float, ...], tuple[()]]:
    """A Python-level scan of the growing history every bar (visible to the call counter)."""
    state = (*state, event.latest_value("A", "adj_close"))
    best = max(x for x in state)
    return (state if best > 0 else ()), ()


# ----------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize(
    "strategy", [quiet, moving_average_crossover(5, 20)], ids=["quiet-accessors", "crossover-5-20"]
)
def test_per_bar_cost_does_not_grow_with_history(strategy: fbt.Strategy[Any]) -> None:
    small, large = per_bar(strategy, SMALL), per_bar(strategy, LARGE)
    assert not grows(small, large), (small, large)
    assert small.calls > 0 and small.transient > 0  # the probe saw the bars


def test_the_crossover_trades_in_the_measured_runs() -> None:
    result = fbt.run(moving_average_crossover(5, 20), minute_bars(SMALL))
    assert result.statistics["fills"] > 100  # the signal/order/fill path is part of what is measured


@pytest.mark.parametrize(
    ("step", "initial", "sizes", "flagged"),
    [
        (copies_history, 0.0, (1_000, 10_000), "transient"),
        (keeps_history, (), (1_000, 10_000), "transient"),
        (scans_history, (), (100, 1_000), "calls"),
    ],
    ids=["numpy-copy", "tuple-copy", "python-scan"],
)
def test_the_guard_flags_per_bar_work_on_history(
    step: Callable[..., Any], initial: Any, sizes: tuple[int, int], flagged: str
) -> None:
    strategy = fbt.strategy(step, initial=initial, name=step.__name__)
    small, large = per_bar(strategy, sizes[0]), per_bar(strategy, sizes[1])
    problems = grows(small, large)
    assert any(p.startswith(flagged) for p in problems), (small, large)
