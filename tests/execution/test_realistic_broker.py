"""Hand examples of the realistic execution modes: fill timing and prices per order type, time in force,
cancels, brackets and one-cancels-other, partial fills, rejections, and what an equity row means."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import fbt
from fbt.core.events import (
    CancelReason,
    Direction,
    FillEvent,
    OrderCancelled,
    OrderRejected,
    OrderTerms,
    OrderType,
    RejectReason,
    SignalType,
    TimeInForce,
)
from fbt.core.market import align
from fbt.testing import scripted
from tests.execution.support import BASE, DAY, bars_from, events_of

# (open, high, low, close, volume); the close path rises, bar 3 gaps down
ROWS = [
    (10.0, 10.5, 9.5, 10.0, 1_000.0),
    (10.2, 10.8, 9.8, 10.6, 1_000.0),
    (10.6, 11.5, 10.4, 11.2, 1_000.0),
    (9.0, 9.6, 8.5, 9.4, 1_000.0),
    (9.5, 10.0, 9.2, 9.8, 1_000.0),
    (9.9, 10.3, 9.7, 10.1, 1_000.0),
]
LONG, SHORT, EXIT, CANCEL = SignalType.LONG, SignalType.SHORT, SignalType.EXIT, SignalType.CANCEL


def run(script: list[tuple[int, int, SignalType, float, OrderTerms | None]], data: fbt.BarData | None = None,
        **kw: Any) -> fbt.Result:
    kw.setdefault("execution", "next-open")
    kw.setdefault("commission", fbt.zero_commission)
    return fbt.run(scripted("s", script), data if data is not None else bars_from(ROWS), **kw)


def fills(result: fbt.Result) -> list[tuple[int, str, float, float]]:
    return [(b, f.direction.value, f.quantity, f.price) for b, f in events_of(result.run, FillEvent)]


def cancels(result: fbt.Result) -> list[tuple[int, int, str, float]]:
    return [(b, c.order_id, c.reason.value, c.quantity) for b, c in events_of(result.run, OrderCancelled)]


def rejects(result: fbt.Result) -> list[tuple[int, int, str]]:
    return [(b, r.order_id, r.reason.value) for b, r in events_of(result.run, OrderRejected)]


# --- market orders: when and at what price ------------------------------------------------------


def test_next_open_fills_a_market_order_at_the_next_bars_open() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, EXIT, 1.0, None)])
    assert fills(result) == [(1, "BUY", 100.0, 10.2), (3, "SELL", 100.0, 9.0)]


def test_next_close_fills_at_the_next_bars_close() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, EXIT, 1.0, None)], execution="next-close")
    assert fills(result) == [(1, "BUY", 100.0, 10.6), (3, "SELL", 100.0, 9.4)]


def test_market_on_open_and_on_close_ignore_the_execution_mode() -> None:
    moo, moc = OrderTerms(order_type=OrderType.MOO), OrderTerms(order_type=OrderType.MOC)
    assert fills(run([(0, 0, LONG, 1.0, moo)], execution="next-close")) == [(1, "BUY", 100.0, 10.2)]
    assert fills(run([(0, 0, LONG, 1.0, moc)], execution="next-open")) == [(1, "BUY", 100.0, 10.6)]


def test_an_order_sent_on_the_last_bar_is_still_working_at_the_end() -> None:
    result = run([(5, 0, LONG, 1.0, None)])
    assert fills(result) == []
    assert result.statistics["working"] == 1 and result.statistics["orders"] == 1
    assert result.run.final.broker.pending[0].remaining == 100.0


def test_fills_and_marks_share_the_adjusted_scale() -> None:
    data = bars_from(ROWS, adj=0.5)  # adj_close = close / 2: the open is halved too
    result = run([(0, 0, LONG, 1.0, None)], data=data)
    assert fills(result) == [(1, "BUY", 100.0, 5.1)]
    assert result.equity["A_holdings"].iloc[1] == 100 * 5.3


def test_no_fill_on_a_forward_filled_bar() -> None:
    stamps = BASE + np.arange(4, dtype=np.int64) * DAY
    cols = {k: np.array(v, dtype=float) for k, v in zip(("open", "high", "low", "close", "volume"),
                                                         zip(*ROWS[:4], strict=True), strict=True)}
    b_rows = [0, 2, 3]  # B has no bar 1
    b_cols = {k: v[b_rows] * 2 for k, v in cols.items()}
    data = align({"A": (stamps, cols), "B": (stamps[b_rows], b_cols)}, time_format="date")
    assert not data.real[1, 1]
    result = run([(0, 1, LONG, 1.0, None)], data=data)
    assert fills(result) == [(2, "BUY", 100.0, 2 * 10.6)]


# --- limit, stop, stop-limit --------------------------------------------------------------------


def test_buy_limit_waits_for_the_low_then_fills_at_the_limit() -> None:
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=9.7)
    assert fills(run([(0, 0, LONG, 1.0, terms)])) == [(3, "BUY", 100.0, 9.0)]  # bar 3 opens below: at the open
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=9.9)
    assert fills(run([(0, 0, LONG, 1.0, terms)])) == [(1, "BUY", 100.0, 9.9)]  # bar 1 trades down to 9.8


def test_sell_stop_fills_at_the_stop_or_at_a_gap_open() -> None:
    stop = OrderTerms(order_type=OrderType.STP, stop_price=10.45)
    assert fills(run([(0, 0, LONG, 1.0, None), (1, 0, EXIT, 1.0, stop)])) == [
        (1, "BUY", 100.0, 10.2), (2, "SELL", 100.0, 10.45)]  # bar 2's low 10.4 goes through the stop
    stop = OrderTerms(order_type=OrderType.STP, stop_price=10.3)
    assert fills(run([(0, 0, LONG, 1.0, None), (1, 0, EXIT, 1.0, stop)])) == [
        (1, "BUY", 100.0, 10.2), (3, "SELL", 100.0, 9.0)]  # bar 3 gaps below the stop: the open, not 10.3
    # an EXIT on the LONG's own bar withdraws the LONG's order while it is still in flight (queued behind the
    # EXIT): nothing is bought, so the next bar's stop EXIT has nothing to close
    stop = OrderTerms(order_type=OrderType.STP, stop_price=9.9)
    assert fills(run([(0, 0, LONG, 1.0, None), (0, 0, EXIT, 1.0, None), (1, 0, EXIT, 1.0, stop)])) == []


def test_buy_stop_triggers_on_the_high() -> None:
    terms = OrderTerms(order_type=OrderType.STP, stop_price=11.0)
    assert fills(run([(0, 0, LONG, 1.0, terms)])) == [(2, "BUY", 100.0, 11.0)]


def test_stop_limit_fills_at_the_stop_when_the_limit_allows_else_waits_as_a_limit() -> None:
    marketable = OrderTerms(order_type=OrderType.STP_LMT, stop_price=11.0, limit_price=11.3)
    assert fills(run([(0, 0, LONG, 1.0, marketable)])) == [(2, "BUY", 100.0, 11.0)]
    waiting = OrderTerms(order_type=OrderType.STP_LMT, stop_price=11.0, limit_price=9.6)
    # triggered on bar 2 (high 11.5) but the limit is below the stop: bar 3 opens at 9.0 <= 9.6
    assert fills(run([(0, 0, LONG, 1.0, waiting)])) == [(3, "BUY", 100.0, 9.0)]
    result = run([(0, 0, LONG, 1.0, waiting)], data=bars_from(ROWS[:3]))
    assert result.run.final.broker.pending[0].triggered


# --- time in force and cancels ------------------------------------------------------------------


def test_a_day_order_expires_after_its_first_day() -> None:
    day = OrderTerms(order_type=OrderType.LMT, limit_price=9.0, time_in_force=TimeInForce.DAY)
    result = run([(0, 0, LONG, 1.0, day)])
    assert fills(result) == []
    assert cancels(result) == [(2, 1, "expired", 100.0)]
    gtc = OrderTerms(order_type=OrderType.LMT, limit_price=9.0)
    assert fills(run([(0, 0, LONG, 1.0, gtc)])) == [(3, "BUY", 100.0, 9.0)]


def test_cancel_withdraws_the_working_orders_of_the_symbol() -> None:
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=9.0)
    result = run([(0, 0, LONG, 1.0, terms), (1, 0, CANCEL, 1.0, None)])
    assert fills(result) == [] and cancels(result) == [(1, 1, "requested", 100.0)]
    assert result.statistics["cancelled"] == 1 and result.statistics["working"] == 0


def test_an_entry_still_working_blocks_a_second_entry() -> None:
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=9.0)
    result = run([(0, 0, LONG, 1.0, terms), (1, 0, LONG, 1.0, None)])
    assert result.statistics["orders"] == 1
    assert fills(result) == [(3, "BUY", 100.0, 9.0)]


# --- brackets and one-cancels-other --------------------------------------------------------------


def test_bracket_children_work_on_the_entry_bar_when_the_entry_filled_at_the_open() -> None:
    terms = OrderTerms(stop_loss=9.9, take_profit=12.0)
    result = run([(0, 0, LONG, 1.0, terms)])
    # entry at bar 1's open 10.2; bar 1's low 9.8 touches the stop at 9.9; the take-profit is cancelled
    assert fills(result) == [(1, "BUY", 100.0, 10.2), (1, "SELL", 100.0, 9.9)]
    assert cancels(result) == [(1, 3, "oco", 100.0)]
    assert result.run.final.portfolio.positions == (0.0,)


def test_take_profit_fills_and_cancels_the_stop() -> None:
    terms = OrderTerms(stop_loss=9.0, take_profit=11.0)
    result = run([(0, 0, LONG, 1.0, terms)])
    assert fills(result) == [(1, "BUY", 100.0, 10.2), (2, "SELL", 100.0, 11.0)]
    assert cancels(result) == [(2, 2, "oco", 100.0)]


def test_bracket_children_of_a_limit_entry_start_on_the_next_bar() -> None:
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=10.0, stop_loss=9.85, take_profit=20.0)
    result = run([(0, 0, LONG, 1.0, terms)])
    # the entry fills at 10.0 inside bar 1 (low 9.8 also below the stop): the stop works from bar 2
    assert fills(result)[:2] == [(1, "BUY", 100.0, 10.0), (3, "SELL", 100.0, 9.0)]


def test_children_of_an_entry_that_never_fills_are_cancelled() -> None:
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=5.0, time_in_force=TimeInForce.DAY, stop_loss=4.0,
                       take_profit=6.0)
    result = run([(0, 0, LONG, 1.0, terms)])
    assert fills(result) == []
    assert cancels(result) == [(2, 1, "expired", 100.0), (2, 2, "parent", 100.0), (2, 3, "parent", 100.0)]
    assert result.statistics["working"] == 0


def test_exit_with_levels_places_a_one_cancels_other_pair() -> None:
    result = run([(0, 0, LONG, 1.0, None), (1, 0, EXIT, 1.0, OrderTerms(stop_loss=9.3, take_profit=11.4))])
    assert fills(result) == [(1, "BUY", 100.0, 10.2), (2, "SELL", 100.0, 11.4)]
    assert cancels(result) == [(2, 2, "oco", 100.0)]


def test_exit_cancels_working_orders_then_closes() -> None:
    protect = OrderTerms(stop_loss=5.0, take_profit=50.0)
    result = run([(0, 0, LONG, 1.0, protect), (2, 0, EXIT, 1.0, None)])
    assert fills(result) == [(1, "BUY", 100.0, 10.2), (3, "SELL", 100.0, 9.0)]
    assert cancels(result) == [(2, 2, "requested", 100.0), (2, 3, "requested", 100.0)]


def test_a_short_bracket_mirrors_a_long_one() -> None:
    terms = OrderTerms(stop_loss=11.0, take_profit=9.2)
    result = run([(0, 0, SHORT, 1.0, terms)])
    assert fills(result) == [(1, "SELL", 100.0, 10.2), (2, "BUY", 100.0, 11.0)]


# --- partial fills ------------------------------------------------------------------------------


def test_a_volume_cap_fills_in_parts_over_later_bars() -> None:
    rows = [(10.0, 10.0, 10.0, 10.0, 300.0)] * 6
    result = run([(0, 0, LONG, 1.0, None)], data=bars_from(rows), risk=fbt.Risk(volume_limit=0.1))
    assert fills(result) == [(1, "BUY", 30.0, 10.0), (2, "BUY", 30.0, 10.0), (3, "BUY", 30.0, 10.0),
                             (4, "BUY", 10.0, 10.0)]
    assert result.run.final.portfolio.positions == (100.0,)


def test_a_bar_without_volume_fills_nothing_under_a_cap() -> None:
    rows = [(10.0, 10.0, 10.0, 10.0, 0.0), (10.0, 10.0, 10.0, 10.0, 0.0), (10.0, 10.0, 10.0, 10.0, 5_000.0)]
    result = run([(0, 0, LONG, 1.0, None)], data=bars_from(rows), risk=fbt.Risk(volume_limit=0.5))
    assert fills(result) == [(2, "BUY", 100.0, 10.0)]


def test_the_cap_is_shared_by_the_orders_of_a_symbol_on_a_bar() -> None:
    rows = [(10.0, 10.0, 10.0, 10.0, 100.0)] * 4
    terms = OrderTerms(order_type=OrderType.MOO)
    result = run([(0, 0, LONG, 1.0, terms)], data=bars_from(rows), risk=fbt.Risk(volume_limit=0.5))
    assert [q for _, _, q, _ in fills(result)] == [50.0, 50.0]


# --- slippage -----------------------------------------------------------------------------------


def test_slippage_moves_the_price_against_the_trader_and_is_recorded() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, EXIT, 1.0, None)], slippage=fbt.FixedBps(bps=100))
    (_, buy), (_, sell) = events_of(result.run, FillEvent)
    assert buy.price == pytest.approx(10.2 * 1.01) and buy.slippage == pytest.approx(0.102)
    assert sell.price == pytest.approx(9.0 * 0.99)
    assert result.statistics["slippage"] == pytest.approx(100 * (0.102 + 0.09))


def test_volume_share_slippage_grows_with_the_participation() -> None:
    rows = [(10.0, 10.0, 10.0, 10.0, 1_000.0)] * 3
    result = run([(0, 0, LONG, 1.0, None)], data=bars_from(rows), slippage=fbt.VolumeShare(price_impact=0.1))
    (_, fill), = events_of(result.run, FillEvent)
    assert fill.price == pytest.approx(10.0 * (1 + 0.1 * 0.1**2))


# --- rejections ---------------------------------------------------------------------------------


def test_cash_check_rejects_what_cash_cannot_pay_and_changes_nothing() -> None:
    result = run([(0, 0, LONG, 1.0, None)], capital=500.0)
    assert fills(result) == [] and rejects(result) == [(1, 1, "cash")]
    assert result.run.final.portfolio.cash == 500.0 and result.statistics["rejected"] == 1
    off = run([(0, 0, LONG, 1.0, None)], capital=500.0, risk=fbt.Risk(cash_check=False))
    assert fills(off) == [(1, "BUY", 100.0, 10.2)] and off.run.final.portfolio.cash < 0


def test_margin_allows_borrowing_up_to_the_multiple() -> None:
    ok = run([(0, 0, LONG, 1.0, None)], capital=600.0, risk=fbt.Risk(margin=2.0))
    assert fills(ok) == [(1, "BUY", 100.0, 10.2)]
    no = run([(0, 0, LONG, 1.0, None)], capital=500.0, risk=fbt.Risk(margin=2.0))
    assert rejects(no) == [(1, 1, "margin")]


def test_long_only_rejects_a_short() -> None:
    result = run([(0, 0, SHORT, 1.0, None)], risk=fbt.Risk(allow_short=False))
    assert rejects(result) == [(1, 1, "short")]


@pytest.mark.parametrize(("risk", "reason"), [
    (fbt.Risk(max_position=0.005), "position"),
    (fbt.Risk(max_leverage=0.005), "leverage"),
    (fbt.Risk(groups=(fbt.Group(name="all", symbols=("A",), limit=0.005),)), "group"),
])
def test_exposure_limits_reject_an_entry_that_breaks_them(risk: fbt.Risk, reason: str) -> None:
    result = run([(0, 0, LONG, 1.0, None)], risk=risk)
    assert rejects(result) == [(1, 1, reason)]
    assert fills(run([(0, 0, LONG, 1.0, None)], risk=fbt.Risk(max_position=0.02))) == [(1, "BUY", 100.0, 10.2)]


def test_an_exit_always_passes_the_exposure_limits() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, EXIT, 1.0, None)], risk=fbt.Risk(max_position=0.011))
    assert len(fills(result)) == 2  # the position grew above 1.1% of equity on bar 2's marks: the exit is a cut


def test_sizing_that_cannot_size_is_a_rejection_with_order_id_zero() -> None:
    result = run([(0, 0, LONG, 1.0, None)], sizing=fbt.FixedCash(amount=5.0))
    (bar, rejection), = events_of(result.run, OrderRejected)
    assert (bar, rejection.order_id, rejection.reason) == (0, 0, RejectReason.SIZING)
    assert "rounds to 0" in rejection.detail and result.statistics["orders"] == 0


# --- sizing -------------------------------------------------------------------------------------


def test_percent_of_equity_sizes_from_the_signal_bars_close() -> None:
    result = run([(0, 0, LONG, 1.0, None)], sizing=fbt.PercentOfEquity(percent=50), capital=10_000.0)
    assert fills(result) == [(1, "BUY", 500.0, 10.2)]  # floor(0.5 * 10,000 / 10.0)


def test_strength_scales_the_size() -> None:
    result = run([(0, 0, LONG, 0.5, None)], sizing=fbt.FixedQuantity(quantity=100))
    assert fills(result) == [(1, "BUY", 50.0, 10.2)]


def test_target_weight_rebalances_on_every_signal() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, LONG, 1.0, None), (3, 0, SHORT, 1.0, None)],
                 sizing=fbt.TargetWeight(weight=0.1), capital=10_000.0, risk=fbt.Risk(cash_check=False))
    got = fills(result)
    assert got[0] == (1, "BUY", 100.0, 10.2)  # 0.1 * 10,000 / 10.0
    assert got[1][1] == "SELL" and got[2][1] == "SELL"  # bar 2: trim to the weight at 11.2; bar 3: to -10%
    assert result.run.final.portfolio.positions[0] < 0


def test_fractional_sizes() -> None:
    result = run([(0, 0, LONG, 1.0, None)], sizing=fbt.FixedCash(amount=1_000.0),
                 risk=fbt.Risk(fractional=True))
    assert fills(result)[0][2] == pytest.approx(100.0)
    result = run([(0, 0, LONG, 1.0, None)], sizing=fbt.FixedCash(amount=1_005.0),
                 risk=fbt.Risk(fractional=True))
    assert fills(result)[0][2] == pytest.approx(100.5)


# --- equity rows, statistics, trades ------------------------------------------------------------


def test_a_realistic_equity_row_is_after_its_bars_fills_at_its_close() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, EXIT, 1.0, None)], commission=fbt.PerTrade(amount=1.0))
    eq = result.equity
    assert eq["A_position"].tolist() == [0, 100, 100, 0, 0, 0]
    assert eq["cash"].iloc[1] == 100_000 - 1020.0 - 1.0
    assert eq["total"].iloc[1] == eq["cash"].iloc[1] + 100 * 10.6
    assert result.statistics["final_equity"] == eq["total"].iloc[-1]
    assert result.statistics["final_equity"] == pytest.approx(100_000 + 100 * (9.0 - 10.2) - 2.0)


def test_trades_and_positions() -> None:
    result = run([(0, 0, LONG, 1.0, None), (2, 0, EXIT, 1.0, None), (3, 0, SHORT, 1.0, None)],
                 commission=fbt.PerTrade(amount=1.0))
    trades = result.trades
    assert trades.shape[0] == 1
    row = trades.iloc[0]
    assert (row["symbol"], row["direction"], row["quantity"], row["bars"]) == ("A", "LONG", 100.0, 2)
    assert row["entry_time"] == np.datetime64(BASE + DAY, "ns")
    assert row["pnl"] == pytest.approx(100 * (9.0 - 10.2)) and row["commission"] == 2.0
    assert row["net_pnl"] == pytest.approx(row["pnl"] - 2.0)
    positions = result.positions
    assert positions.loc["A", "position"] == -100.0 and positions.loc["A", "average_cost"] == 9.5
    assert positions.loc["A", "unrealised"] == pytest.approx(-100 * (10.1 - 9.5))
    assert result.statistics["trades"] == 1 and result.statistics["win_rate"] == 0.0


def test_book_mode_refuses_order_terms() -> None:
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=9.0)
    with pytest.raises(fbt.StrategyError, match="next-open"):
        run([(0, 0, LONG, 1.0, terms)], execution="book")
    with pytest.raises(fbt.StrategyError, match="next-open"):
        run([(0, 0, LONG, 1.0, terms)], execution="book", sizing=fbt.FixedQuantity())


def test_book_mode_with_models_fills_at_once() -> None:
    result = run([(0, 0, LONG, 1.0, None)], execution="book", sizing=fbt.PercentOfEquity(percent=10),
                 slippage=fbt.FixedBps(bps=10), risk=fbt.Risk(max_position=0.5))
    ((bar, fill),) = events_of(result.run, FillEvent)
    assert (bar, fill.quantity, fill.direction) == (0, 1000.0, Direction.BUY)
    assert fill.price == pytest.approx(10.0 * 1.001)


def test_book_mode_rejects_a_volume_cap() -> None:
    with pytest.raises(fbt.ConfigError, match="volume_limit"):
        run([], execution="book", risk=fbt.Risk(volume_limit=0.1))


def test_rejection_and_cancellation_records() -> None:
    result = run([(0, 0, LONG, 1.0, None)], capital=500.0)
    ((_, r),) = events_of(result.run, OrderRejected)
    assert r.quantity == 100.0 and r.direction is Direction.BUY and "cash" in r.detail
    assert math.isfinite(result.statistics["final_equity"])
    assert CancelReason("oco") is CancelReason.OCO


def test_bracket_children_of_a_close_fill_start_on_the_next_bar() -> None:
    rows = [(10.0, 10.0, 10.0, 10.0, 1_000.0), (10.0, 10.5, 9.0, 10.0, 1_000.0), (10.0, 10.0, 10.0, 10.0, 1_000.0)]
    terms = OrderTerms(stop_loss=9.5)  # bar 1 opens and closes at 10.0 but trades down to 9.0 in between
    result = run([(0, 0, LONG, 1.0, terms)], data=bars_from(rows), execution="next-close")
    assert fills(result) == [(1, "BUY", 100.0, 10.0)]  # filled at bar 1's close: the low came before it
    result = run([(0, 0, LONG, 1.0, terms)], data=bars_from(rows), execution="next-open")
    assert fills(result) == [(1, "BUY", 100.0, 10.0), (1, "SELL", 100.0, 9.5)]
