"""Sizing that sees working orders: a bar's signals are sized from the position plus what is still working.

A strategy that sends ``EXIT`` then ``LONG`` on one bar (backtesting.py's ``close(); buy()``) asks for a
close and an open: a rebalancing model must not count the close twice, and an entry model must not
open twice when two entries come on one bar. The law: whatever signals come, in whatever order
within a bar, the position never exceeds what the sizing model allows.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.events import CancelReason, Direction, FillEvent, OrderCancelled, OrderTerms, OrderType, SignalType
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.portfolio import working_quantity
from fbt.models.sizing import FixedQuantity, FloatArray
from fbt.testing.strategies import scripted
from tests.execution.support import bars_from, events_of, walk

UNITS = 10.0
ROWS = [(10.0, 11.0, 9.0, 10.0, 1e6)] * 8  # a flat price: every size is the model's units


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


def test_exit_then_long_while_short_is_a_close_and_an_open() -> None:
    # short 10 from bar 2; on bar 3 close() then buy(): buy 10 to close and 10 to open, not 10 and 20
    position, fills = _fills([(1, 0, S), (3, 0, X), (3, 0, L)])
    assert position == UNITS
    assert sum(q for bar, side, q in fills if bar == 4 and side == Direction.BUY.value) == 2 * UNITS


def test_exit_then_long_while_long_closes_and_reopens() -> None:
    position, fills = _fills([(1, 0, L), (3, 0, X), (3, 0, L)])
    assert position == UNITS
    assert [(bar, side, q) for bar, side, q in fills if bar == 4] == [(4, "SELL", UNITS), (4, "BUY", UNITS)]


def test_one_signal_a_bar_reverses_by_the_difference() -> None:
    # the case that works already: a lone LONG while short buys 20 (close and open in one order)
    assert _fills([(1, 0, S), (3, 0, L)]) == (UNITS, [(2, "SELL", UNITS), (4, "BUY", 2 * UNITS)])


def test_two_entries_on_one_bar_open_once() -> None:
    assert _fills([(1, 0, L), (1, 0, L)]) == (UNITS, [(2, "BUY", UNITS)])


def test_two_exits_on_one_bar_close_once() -> None:
    position, fills = _fills([(1, 0, L), (3, 0, X), (3, 0, X)])
    assert position == 0
    assert fills == [(2, "BUY", UNITS), (4, "SELL", UNITS)]


def test_an_exit_withdraws_the_bar_s_earlier_entry_before_it_reaches_the_broker() -> None:
    # LONG then EXIT on one bar from flat: the LONG's order is cancelled in flight, nothing fills
    run = fbt.run(scripted("s", [(1, 0, L), (1, 0, X)]), bars_from(ROWS), execution="next-open",
                  sizing=FixedTarget()).run
    assert events_of(run, FillEvent) == []
    [(bar, cancelled)] = events_of(run, OrderCancelled)
    assert (bar, cancelled.order_id, cancelled.quantity, cancelled.reason) == (1, 1, UNITS, CancelReason.REQUESTED)


def test_a_limit_entry_waiting_at_the_broker_counts_on_its_own_side_only() -> None:
    # a buy limit far below the price waits: a later LONG does not buy again (the entry is being acted on);
    # a later SHORT sells 10 from flat as the buy limit may never fill (if it did, it would only bring the short
    # back to flat)
    low = OrderTerms(order_type=OrderType.LMT, limit_price=1.0)
    script = [(1, 0, L, 1.0, low), (2, 0, L, 1.0, None), (3, 0, S, 1.0, None)]
    run = fbt.run(scripted("s", script), bars_from(ROWS), execution="next-open", sizing=FixedTarget()).run
    assert [(bar, f.direction.value, f.quantity) for bar, f in events_of(run, FillEvent)] == [(4, "SELL", UNITS)]
    assert run.final.portfolio.positions[0] == -UNITS
    assert [w.order.order_id for w in run.final.broker.pending] == [1]


_BARS = len(ROWS) - 1  # signals on the last bar would still be working at the end
_SCRIPTS = st.lists(st.lists(st.sampled_from([L, S, X]), max_size=3), min_size=1, max_size=_BARS).map(
    lambda bars: [(i, 0, kind) for i, kinds in enumerate(bars) for kind in kinds])


def _positions(strategy: Strategy[object], config: Config) -> list[float]:
    """The position after every event the run handles."""
    return [world.portfolio.positions[0] for _, _, world in walk([strategy], bars_from(ROWS), config)]


@settings(max_examples=80, deadline=None)
@given(script=_SCRIPTS, execution=st.sampled_from(["next-open", "next-close", "book"]),
       rebalancing=st.booleans())
@example(script=[(1, 0, S), (3, 0, X), (3, 0, L)], execution="next-open", rebalancing=True)
@example(script=[(1, 0, L), (1, 0, L)], execution="next-open", rebalancing=False)
@example(script=[(1, 0, L), (3, 0, X), (3, 0, X), (3, 0, S)], execution="book", rebalancing=True)
def test_the_position_never_exceeds_what_the_sizing_allows(
    script: list[tuple[int, int, SignalType]], execution: str, rebalancing: bool
) -> None:
    # "book" with a sizing model is the simulated broker filling at once: the bar's orders still queue behind
    # its later signals
    sizing = FixedTarget() if rebalancing else FixedQuantity(quantity=UNITS)
    config = Config(execution=execution, sizing=sizing)
    assert not config.is_book
    assert max(abs(p) for p in _positions(scripted("s", script), config)) <= UNITS


_TERMS = st.one_of(st.none(), st.builds(lambda level: OrderTerms(order_type=OrderType.LMT, limit_price=level),
                                        st.sampled_from([1.0, 9.5, 10.0, 10.5, 50.0])))


@settings(max_examples=80, deadline=None)
@given(bars=st.lists(st.lists(st.tuples(st.sampled_from([L, S, X]), _TERMS), max_size=3), min_size=1,
                     max_size=_BARS),
       rebalancing=st.booleans())
@example(bars=[[(S, OrderTerms(order_type=OrderType.LMT, limit_price=50.0)), (L, None)]], rebalancing=True)
@example(bars=[[(L, None), (S, OrderTerms(order_type=OrderType.LMT, limit_price=50.0))]], rebalancing=True)
def test_the_position_never_exceeds_the_sizing_with_orders_waiting(
    bars: list[list[tuple[SignalType, OrderTerms | None]]], rebalancing: bool
) -> None:
    # limit orders may wait at the broker for bars, fill (the bars trade 9 to 11) or never fill (1 and 50): the
    # position stays within the model's size after every event, and so would it if every market order and every
    # waiting limit order on either side filled
    script = [(i, 0, kind, 1.0, terms) for i, signals in enumerate(bars) for kind, terms in signals]
    sizing = FixedTarget() if rebalancing else FixedQuantity(quantity=UNITS)
    config = Config(execution="next-open", sizing=sizing)
    settled = {}  # the world at the end of each bar (within one, a fill leaves the broker before it is booked)
    for bar, _, world in walk([scripted("s", script)], bars_from(ROWS), config):
        assert abs(world.portfolio.positions[0]) <= UNITS
        settled[bar] = world
    for world in settled.values():
        held = world.portfolio.positions[0]
        longest, _ = working_quantity(world.broker, world.in_flight, "A", Direction.BUY)
        shortest, _ = working_quantity(world.broker, world.in_flight, "A", Direction.SELL)
        assert held + shortest >= -UNITS and held + longest <= UNITS
