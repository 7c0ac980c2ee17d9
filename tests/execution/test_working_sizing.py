"""Sizing that sees working orders: a bar's signals are sized from the position plus what is still working.

A strategy that sends ``EXIT`` then ``LONG`` on one bar (backtesting.py's ``close(); buy()``) asks for a
close and an open: a rebalancing model must not count the close twice, and an entry model must not
open twice when two entries come on one bar. The law: whatever signals come, in whatever order
within a bar, the position never exceeds what the sizing model allows.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.events import Direction, FillEvent, SignalType
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.models.sizing import FixedQuantity, FloatArray
from fbt.testing.strategies import scripted
from tests.execution.support import bars_from, events_of, walk

UNITS = 10.0
ROWS = [(10.0, 11.0, 9.0, 10.0, 1e6)] * 8  # a flat price: every size is the model's units

REASON = ("the order rule sizes a bar's later signals without the orders its earlier signals sent: those "
          "are queued behind them and reach the broker only after the bar's signals are planned")


@attrs.frozen
class FixedTarget:
    """A rebalancing fixed size: ``target = side * units * strength``, also while a position is open."""

    units: float = UNITS
    rebalances: ClassVar[bool] = True

    def __call__(self, *, side: int, strength: float, price: float, equity: float, held: float,
                 history: FloatArray, periods: float) -> float:
        return side * self.units * strength


def _fills(script: list[tuple[int, int, SignalType]]) -> tuple[float, list[tuple[int, str, float]]]:
    """The final position and the fills ``(bar, side, quantity)`` of a next-open run under :class:`FixedTarget`."""
    run = fbt.run(scripted("s", script), bars_from(ROWS), execution="next-open", sizing=FixedTarget()).run
    fills = [(bar, f.direction.value, f.quantity) for bar, f in events_of(run, FillEvent)]
    return run.final.portfolio.positions[0], fills


L, S, X = SignalType.LONG, SignalType.SHORT, SignalType.EXIT


@pytest.mark.xfail(strict=True, reason=REASON)
def test_exit_then_long_while_short_is_a_close_and_an_open() -> None:
    # short 10 from bar 2; on bar 3 close() then buy(): buy 10 to close and 10 to open, not 10 and 20
    position, fills = _fills([(1, 0, S), (3, 0, X), (3, 0, L)])
    assert position == UNITS
    assert sum(q for bar, side, q in fills if bar == 4 and side == Direction.BUY.value) == 2 * UNITS


@pytest.mark.xfail(strict=True, reason=REASON)
def test_exit_then_long_while_long_closes_and_reopens() -> None:
    position, fills = _fills([(1, 0, L), (3, 0, X), (3, 0, L)])
    assert position == UNITS
    assert [(bar, side, q) for bar, side, q in fills if bar == 4] == [(4, "SELL", UNITS), (4, "BUY", UNITS)]


def test_one_signal_a_bar_reverses_by_the_difference() -> None:
    # the case that works already: a lone LONG while short buys 20 (close and open in one order)
    assert _fills([(1, 0, S), (3, 0, L)]) == (UNITS, [(2, "SELL", UNITS), (4, "BUY", 2 * UNITS)])


_BARS = len(ROWS) - 1  # signals on the last bar would still be working at the end
_SCRIPTS = st.lists(st.lists(st.sampled_from([L, S, X]), max_size=3), min_size=1, max_size=_BARS).map(
    lambda bars: [(i, 0, kind) for i, kinds in enumerate(bars) for kind in kinds])


def _positions(strategy: Strategy[object], config: Config) -> list[float]:
    """The position after every event the run handles."""
    return [world.portfolio.positions[0] for _, _, world in walk([strategy], bars_from(ROWS), config)]


@pytest.mark.xfail(strict=True, reason=REASON)
@settings(max_examples=60, deadline=None)
@given(script=_SCRIPTS, execution=st.sampled_from(["next-open", "next-close"]),
       rebalancing=st.booleans())
@example(script=[(1, 0, S), (3, 0, X), (3, 0, L)], execution="next-open", rebalancing=True)
@example(script=[(1, 0, L), (1, 0, L)], execution="next-open", rebalancing=False)
def test_the_position_never_exceeds_what_the_sizing_allows(
    script: list[tuple[int, int, SignalType]], execution: str, rebalancing: bool
) -> None:
    sizing = FixedTarget() if rebalancing else FixedQuantity(quantity=UNITS)
    config = Config(execution=execution, sizing=sizing)
    assert max(abs(p) for p in _positions(scripted("s", script), config)) <= UNITS
