"""The README's table of statistics ("Statistics, defined"), held against the runs that produce them.

Two hand-made equity curves give every key of ``result.statistics`` from numbers worked out by
hand: one in book mode (the book's commission, the equity row taken before the bar's fills, the
curve closed by the final state) and one filling at the next open with no commission. Hypothesis
then checks that for any run the table's formulas, applied to the run's own equity rows, fills
and round trips, give its statistics, and the laws between the figures the table implies.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fbt
from fbt.core.events import SignalType
from fbt.core.market import BarData, align
from fbt.kernel.config import Config
from fbt.models.commission import zero_commission
from fbt.models.fill import Execution
from fbt.models.instrument import Instrument
from fbt.results.stats import (
    annualised_volatility,
    average_loss,
    average_win,
    cagr,
    calmar_ratio,
    drawdown_fraction,
    expectancy,
    profit_factor,
    sharpe_ratio,
    sortino_ratio,
    win_rate,
)
from fbt.testing.strategies import BASE, DAY, scenarios, scripted

YEAR = 365.25  # days: CAGR's years run from the first bar's time to the last's


def _daily(open_: list[float], close: list[float]) -> BarData:
    o, c = np.array(open_), np.array(close)
    ts = BASE + np.arange(o.size, dtype=np.int64) * DAY
    return align({"A": (ts, {"open": o, "high": np.maximum(o, c), "low": np.minimum(o, c), "close": c,
                             "adj_close": c, "volume": np.full(o.size, 1e6)})}, time_format="date")


def _pop_std(r: list[float]) -> float:
    m = sum(r) / len(r)
    return math.sqrt(sum((x - m) ** 2 for x in r) / len(r))


# --- hand-computed examples ---------------------------------------------------------------------


def test_book_mode_statistics_of_a_hand_made_curve() -> None:
    # adj_close 10, 11, 12, 9, 10, 13; LONG on bar 1, EXIT on bar 3, LONG on bar 4 (left open).
    # Book mode fills 100 units at once at the bar's adj_close, commission max(1.30, 0.013 * 100) = 1.30,
    # and takes each equity row before its bar's fills: totals 1000, 1000, 1098.7, 798.7, 797.4, 1096.1.
    data = _daily([10.0, 11.0, 12.0, 9.0, 10.0, 13.0], [10.0, 11.0, 12.0, 9.0, 10.0, 13.0])
    s = scripted("s", [(1, 0, SignalType.LONG), (3, 0, SignalType.EXIT), (4, 0, SignalType.LONG)])
    got = fbt.run(s, data, capital=1000.0).statistics

    final = 1000.0 - 1100.0 + 900.0 - 1000.0 - 3 * 1.3 + 100 * 13.0  # cash after the fills + the open position
    assert final == pytest.approx(1096.1)
    assert got["final_equity"] == pytest.approx(final, rel=1e-12)
    assert got["commission"] == pytest.approx(3.9, rel=1e-12)
    assert got["total_return"] == pytest.approx(0.0961, rel=1e-12)
    # the per-bar returns of the rows, then the closing return final / last row - 1 (= 0: no fill on bar 5)
    r = [0.0, 0.0, 0.0987, 798.7 / 1098.7 - 1, 797.4 / 798.7 - 1, 1096.1 / 797.4 - 1, 0.0]
    mean, std = sum(r) / 7, _pop_std(r)
    assert got["sharpe_ratio"] == pytest.approx(math.sqrt(252) * mean / std, rel=1e-9)
    assert got["annual_volatility"] == pytest.approx(std * math.sqrt(252), rel=1e-9)
    downside = math.sqrt(((798.7 / 1098.7 - 1) ** 2 + (797.4 / 798.7 - 1) ** 2) / 7)  # over all 7 returns
    assert got["sortino_ratio"] == pytest.approx(math.sqrt(252) * mean / downside, rel=1e-9)
    # the book's drawdown: on the curve normalised to 1, in units of the starting capital
    assert got["max_drawdown"] == pytest.approx(1.0987 - 0.7974, rel=1e-9)
    assert got["drawdown_duration"] == 4  # bars 3, 4, 5 and the closing point are under 1.0987
    # the drop from the peak as a fraction of the peak, on the equity [capital, rows..., final]
    assert got["max_drawdown_from_peak"] == pytest.approx(1 - 797.4 / 1098.7, rel=1e-12)
    assert got["drawdown_duration_days"] == 3.0  # from the peak (bar 2) to the last point under it (bar 5)
    growth = (1096.1 / 1000) ** (YEAR / 5) - 1  # five days from the first bar to the last
    assert got["cagr"] == pytest.approx(growth, rel=1e-9)
    assert got["calmar_ratio"] == pytest.approx(growth / (1 - 797.4 / 1098.7), rel=1e-9)
    # rows hold the position after the earlier bars' fills: 0, 0, 100, 100, 0, 100
    assert got["exposure"] == 0.5
    rows = [1000.0, 1000.0, 1098.7, 798.7, 797.4, 1096.1]
    assert got["turnover"] == pytest.approx((1100 + 900 + 1000) / (sum(rows) / 6), rel=1e-12)
    # one round trip closed, (9 - 11) * 100 less 2 * 1.30 of commission; the last LONG is still open
    assert got["trades"] == 1
    assert (got["win_rate"], got["profit_factor"], got["average_win"]) == (0.0, 0.0, None)
    for key in ("average_loss", "expectancy", "best_trade", "worst_trade"):
        assert got[key] == pytest.approx(-202.6, rel=1e-12)
    assert (got["bars"], got["signals"], got["orders"], got["fills"], got["periods"]) == (6, 3, 3, 3, 252.0)
    assert (got["frequency"], got["risk_free"], got["slippage"], got["working"]) == ("daily", 0.0, 0.0, 0)


OPEN = [10.0, 10.0, 12.0, 9.0, 9.0, 12.0, 13.0]
CLOSE = [10.0, 11.0, 12.0, 9.0, 12.5, 13.0, 12.0]
ROUND_TRIPS = [(0, 0, SignalType.LONG), (2, 0, SignalType.EXIT), (3, 0, SignalType.LONG), (5, 0, SignalType.EXIT)]
# next open, no commission, 100 units: buy 10 (bar 1), sell 9 (bar 3), buy 9 (bar 4), sell 13 (bar 6);
# each row after its bar's fills: totals 1000, 1100, 1200, 900, 1250, 1300, 1300
NEXT_OPEN_RETURNS = [0.0, 0.1, 1 / 11, -0.25, 350 / 900, 0.04, 0.0]


def test_next_open_statistics_of_a_hand_made_curve() -> None:
    s = scripted("s", ROUND_TRIPS)
    got = fbt.run(s, _daily(OPEN, CLOSE), capital=1000.0, execution="next-open",
                  commission=zero_commission).statistics
    r = NEXT_OPEN_RETURNS
    mean, std = sum(r) / 7, _pop_std(r)
    assert (got["final_equity"], got["trades"], got["rejected"]) == (1300.0, 2, 0)
    assert got["total_return"] == pytest.approx(0.3, rel=1e-12)
    assert got["sharpe_ratio"] == pytest.approx(math.sqrt(252) * mean / std, rel=1e-9)
    assert got["annual_volatility"] == pytest.approx(std * math.sqrt(252), rel=1e-9)
    assert got["sortino_ratio"] == pytest.approx(math.sqrt(252) * mean / math.sqrt(0.25**2 / 7), rel=1e-9)
    # 1200 -> 900: 0.3 of the starting capital (the book's), 0.25 of the peak (from the peak)
    assert got["max_drawdown"] == pytest.approx(0.3, rel=1e-9)
    assert got["max_drawdown_from_peak"] == 0.25
    assert got["drawdown_duration"] == 1
    assert got["drawdown_duration_days"] == 1.0  # peak on bar 2, last under water bar 3 (bar 4 is a new high)
    growth = 1.3 ** (YEAR / 6) - 1
    assert got["cagr"] == pytest.approx(growth, rel=1e-9)
    assert got["calmar_ratio"] == pytest.approx(growth / 0.25, rel=1e-9)
    # the row of a bar holds its own fills: positions 0, 100, 100, 0, 100, 100, 0 — the exit bars are flat
    assert got["exposure"] == pytest.approx(4 / 7, rel=1e-15)
    assert got["turnover"] == pytest.approx((1000 + 900 + 900 + 1300) / (8050 / 7), rel=1e-12)
    # round trips -100 and +400
    assert (got["win_rate"], got["average_win"], got["average_loss"]) == (0.5, 400.0, -100.0)
    assert (got["profit_factor"], got["expectancy"], got["best_trade"], got["worst_trade"]) == (4.0, 150.0, 400.0,
                                                                                                  -100.0)


def test_a_yearly_risk_free_rate_is_spread_evenly_over_the_bars() -> None:
    s = scripted("s", ROUND_TRIPS)
    got = fbt.run(s, _daily(OPEN, CLOSE), capital=1000.0, execution="next-open", commission=zero_commission,
                  risk_free=0.0252).statistics
    x = [v - 0.0252 / 252 for v in NEXT_OPEN_RETURNS]  # 0.0001 a bar, subtracted (not compounded)
    mean = sum(x) / 7
    # the Sharpe ratio divides by the std of the returns (the same as the excess returns'), ...
    assert got["sharpe_ratio"] == pytest.approx(math.sqrt(252) * mean / _pop_std(NEXT_OPEN_RETURNS), rel=1e-9)
    # ... the Sortino ratio by the shortfall below the risk-free bar rate: the two flat bars now count
    downside = math.sqrt(sum(min(v, 0.0) ** 2 for v in x) / 7)
    assert got["sortino_ratio"] == pytest.approx(math.sqrt(252) * mean / downside, rel=1e-9)
    assert got["risk_free"] == 0.0252
    # nothing else moves: CAGR, volatility and Calmar take no risk-free rate
    plain = fbt.run(s, _daily(OPEN, CLOSE), capital=1000.0, execution="next-open",
                    commission=zero_commission).statistics
    for key in ("cagr", "annual_volatility", "calmar_ratio", "total_return", "max_drawdown_from_peak"):
        assert got[key] == plain[key]


def test_a_run_that_never_loses_a_trade_has_no_finite_profit_factor() -> None:
    s = scripted("s", [(0, 0, SignalType.LONG), (1, 0, SignalType.EXIT)])
    got = fbt.run(s, _daily(OPEN, CLOSE), capital=1000.0, execution="next-open",
                  commission=zero_commission).statistics
    # bought at 10 (bar 1), sold at 12 (bar 2)
    assert (got["trades"], got["win_rate"], got["average_win"]) == (1, 1.0, 200.0)
    # gains over no loss is infinite: written null, as the undefined average loss
    assert (got["profit_factor"], got["average_loss"]) == (None, None)


def test_turnover_of_a_futures_run_counts_the_contract_multiplier() -> None:
    s = scripted("s", [(1, 0, SignalType.LONG), (3, 0, SignalType.EXIT)])
    data = _daily([10.0, 11.0, 12.0, 9.0, 10.0, 13.0], [10.0, 11.0, 12.0, 9.0, 10.0, 13.0])
    result = fbt.run(s, data, capital=100_000.0, instruments={"A": Instrument(multiplier=10)})
    notional = float((result.fills["quantity"] * result.fills["price"] * 10).sum())  # 100 * 10 * (11 + 9)
    assert notional == 20_000.0
    assert result.statistics["turnover"] == pytest.approx(notional / result.equity["total"].mean(), rel=1e-12)


# --- the table's formulas hold for any run ------------------------------------------------------


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == pytest.approx(b, rel=1e-9, abs=1e-12))


def _longest_under_water(points: np.ndarray, times: np.ndarray) -> int:
    """From the peak to the last point below it, the longest such span (a loop, unlike fbt's)."""
    longest, peak, peak_time = 0, -math.inf, int(times[0])
    for value, t in zip(points.tolist(), times.tolist(), strict=True):
        if value >= peak:
            peak, peak_time = value, t
        else:
            longest = max(longest, t - peak_time)
    return longest


def _table(result: fbt.Result, config: Config) -> dict[str, Any]:
    """The README table's formulas applied to the run's equity rows, fills and round trips."""
    equity, fills, trades, s = result.equity, result.fills, result.trades, result.statistics
    total, r = equity["total"].to_numpy(), equity["returns"].to_numpy()
    ts = np.asarray(result.run.data.timestamps, dtype=np.int64)
    capital, final, periods = config.capital, s["final_equity"], config.periods
    if config.execution is Execution.BOOK:  # the curve closed by the final state
        r = np.append(r, final / total[-1] - 1)
        points, times = np.concatenate(([capital], total, [final])), np.concatenate((ts[:1], ts, ts[-1:]))
    else:
        points, times = np.concatenate(([capital], total)), np.concatenate((ts[:1], ts))
    n = r.size
    mean, std = float(np.sum(r)) / n, math.sqrt(float(np.sum((r - np.sum(r) / n) ** 2)) / n)
    shortfall = math.sqrt(float(np.sum(np.minimum(r, 0.0) ** 2)) / n)
    years = (int(ts[-1]) - int(ts[0])) / (YEAR * DAY)
    growth = (final / capital) ** (1 / years) - 1 if years > 0 and final >= 0 else math.nan
    from_peak = float(np.max(1 - points / np.maximum.accumulate(points)))
    held = np.column_stack([equity[f"{sym}_position"].to_numpy() != 0 for sym in result.run.data.symbols])
    net = trades["net_pnl"].to_numpy()
    wins, losses = net[net > 0], net[net < 0]
    return {
        "total_return": final / capital - 1,
        "sharpe_ratio": _finite_or_none(math.sqrt(periods) * mean / std if std > 0 else math.nan),
        "annual_volatility": std * math.sqrt(periods),
        "sortino_ratio": _finite_or_none(math.sqrt(periods) * mean / shortfall if shortfall > 0 else math.nan),
        "cagr": _finite_or_none(growth),
        "max_drawdown_from_peak": from_peak,
        "calmar_ratio": _finite_or_none(growth / from_peak if from_peak > 0 else math.nan),
        "drawdown_duration_days": _longest_under_water(points, times) / DAY,
        "exposure": float(np.mean(held.any(axis=1))),
        "turnover": float(np.sum(fills["quantity"] * fills["price"])) / float(np.mean(total)),
        "trades": len(trades),
        "win_rate": float(np.mean(net > 0)) if net.size else None,
        "average_win": float(np.mean(wins)) if wins.size else None,
        "average_loss": float(np.mean(losses)) if losses.size else None,
        "profit_factor": _finite_or_none(float(np.sum(wins)) / -float(np.sum(losses))) if losses.size else None,
        "expectancy": float(np.mean(net)) if net.size else None,
        "best_trade": float(np.max(net)) if net.size else None,
        "worst_trade": float(np.min(net)) if net.size else None,
    }


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios(min_bars=2, max_bars=40), execution=st.sampled_from(list(Execution)))
def test_every_run_statistic_is_its_table_formula(scenario: tuple[BarData, tuple[Any, ...], Config],
                                                  execution: Execution) -> None:
    data, strategies, config = scenario
    config = Config(capital=config.capital, quantity=config.quantity, commission=config.commission,
                    execution=execution)
    result = fbt.run(list(strategies), data, config)
    equity = result.equity
    assume(bool((equity["total"] > 0).all()) and result.statistics["final_equity"] > 0)
    assume(np.isfinite(equity["returns"].to_numpy()).all())
    got, want = result.statistics, _table(result, config)
    for key, value in want.items():
        assert _close(got[key], value), (key, got[key], value)
    # the book's drawdown is in units of the starting capital, the other a fraction of the peak, which is
    # never below the capital (the first row is the capital: no fill comes before it): so the book's is
    # never the smaller, and the two agree while the equity never rises above the capital
    assert got["max_drawdown_from_peak"] <= got["max_drawdown"] + 1e-9
    if float(equity["total"].max()) <= config.capital and got["final_equity"] <= config.capital:
        assert got["max_drawdown_from_peak"] == pytest.approx(got["max_drawdown"], rel=1e-9, abs=1e-12)


# --- laws between the figures -------------------------------------------------------------------

returns = hnp.arrays(np.float64, st.integers(2, 120),
                     elements=st.floats(-0.2, 0.2, allow_nan=False, allow_infinity=False, allow_subnormal=False))
pnls = hnp.arrays(np.float64, st.integers(1, 60),
                  elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, allow_subnormal=False))
positive_curves = hnp.arrays(np.float64, st.integers(2, 150),
                             elements=st.floats(0.01, 1000.0, allow_nan=False, allow_infinity=False,
                                                allow_subnormal=False))


def _varies(r: np.ndarray) -> bool:
    return float(np.std(r)) > 1e-6 * max(1.0, float(np.abs(r).max()))


@given(returns, st.sampled_from([1.0, 12.0, 52.0, 252.0, 98_280.0]))
def test_sharpe_is_the_arithmetic_yearly_mean_over_the_yearly_volatility(r: np.ndarray, periods: float) -> None:
    assume(_varies(r))
    # neither compounds: Sharpe * volatility = periods * mean(r)
    product = sharpe_ratio(r, periods=periods) * annualised_volatility(r, periods=periods)
    assert product == pytest.approx(periods * float(np.mean(r)), rel=1e-9, abs=1e-12)


@given(returns, st.floats(-0.1, 0.2), st.sampled_from([12.0, 252.0]))
def test_the_risk_free_rate_moves_sharpe_by_its_bar_rate_over_the_std(r: np.ndarray, rf: float,
                                                                       periods: float) -> None:
    assume(_varies(r))
    shift = math.sqrt(periods) * (rf / periods) / float(np.std(r))
    assert sharpe_ratio(r, periods=periods, risk_free=rf) == pytest.approx(
        sharpe_ratio(r, periods=periods) - shift, rel=1e-9, abs=1e-9)


@given(returns, st.floats(-0.1, 0.2))
def test_sortino_has_sharpes_sign_and_is_no_smaller_when_the_mean_excess_is_not_negative(r: np.ndarray,
                                                                                        rf: float) -> None:
    assume(_varies(r))
    sharpe, sortino = sharpe_ratio(r, risk_free=rf), sortino_ratio(r, risk_free=rf)
    assume(not math.isnan(sortino))  # some bar below the target
    excess = float(np.mean(r - rf / 252))
    assume(abs(excess) > 1e-12)
    assert math.copysign(1.0, sharpe) == math.copysign(1.0, sortino)
    if excess > 0:  # every shortfall below the target is no smaller than the deviation below the mean
        assert sortino >= sharpe * (1 - 1e-12)


@given(positive_curves, st.floats(0.1, 30.0))
def test_calmar_is_cagr_over_the_drop_from_the_peak(curve: np.ndarray, years: float) -> None:
    worst = float(np.max(drawdown_fraction(curve)))
    growth = cagr(curve, years=years)
    if worst == 0.0:
        assert math.isnan(calmar_ratio(curve, years=years))
    else:
        assert calmar_ratio(curve, years=years) == pytest.approx(growth / worst, rel=1e-12)
        assert math.copysign(1.0, calmar_ratio(curve, years=years)) == math.copysign(1.0, growth)


@given(pnls)
def test_profit_factor_is_above_one_exactly_when_the_expectancy_is_positive(pnl: np.ndarray) -> None:
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    assume(wins.size and losses.size)
    factor = profit_factor(pnl)
    # the factor is the winners' count times their mean over the losers'
    assert factor == pytest.approx(wins.size * average_win(pnl) / (losses.size * -average_loss(pnl)), rel=1e-9)
    total = float(np.sum(pnl))
    assume(abs(total) > 1e-6 * float(np.sum(np.abs(pnl))))
    assert (factor > 1) == (expectancy(pnl) > 0)
    # and the win rate counts a trade of exactly 0 as not won
    assert win_rate(np.append(pnl, 0.0)) == pytest.approx(wins.size / (pnl.size + 1), rel=1e-12)
