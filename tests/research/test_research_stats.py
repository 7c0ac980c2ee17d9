"""The statistics beyond the seed's four: hand-computed examples and hypothesis properties."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fbt
from fbt.results import stats
from fbt.results.stats import (
    annualised_volatility,
    average_loss,
    average_win,
    best_trade,
    cagr,
    calmar_ratio,
    detect_frequency,
    drawdown_duration_time,
    drawdown_fraction,
    drawdowns,
    expectancy,
    exposure,
    profit_factor,
    sharpe_ratio,
    sortino_ratio,
    turnover,
    win_rate,
    worst_trade,
    years_between,
)

DAY = 86_400 * 10**9
MINUTE = 60 * 10**9

finite = st.floats(-0.2, 0.2, allow_nan=False, allow_infinity=False, allow_subnormal=False)
returns = hnp.arrays(np.float64, st.integers(2, 120), elements=finite)
positive_curves = hnp.arrays(
    np.float64, st.integers(1, 150),
    elements=st.floats(0.01, 1000.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)
pnls = hnp.arrays(
    np.float64, st.integers(1, 60),
    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)


def varies(r: np.ndarray) -> bool:
    return float(np.std(r)) > 1e-6 * max(1.0, float(np.abs(r).max()))


# --- hand-computed examples ---------------------------------------------------------------------


def test_hand_examples_of_the_return_statistics() -> None:
    r = np.array([0.02, -0.01, 0.03, -0.02])  # mean 0.005, population std sqrt(0.000425)
    assert annualised_volatility(r, periods=252) == pytest.approx(math.sqrt(0.000425) * math.sqrt(252), rel=1e-12)
    assert sharpe_ratio(r, periods=252) == pytest.approx(math.sqrt(252) * 0.005 / math.sqrt(0.000425), rel=1e-12)
    # downside deviation over all four bars: sqrt((0.01**2 + 0.02**2) / 4)
    assert sortino_ratio(r, periods=252) == pytest.approx(math.sqrt(252) * 0.005 / math.sqrt(0.0005 / 4), rel=1e-12)
    # a 2.52 % yearly risk-free rate is 0.0001 a bar at 252 bars a year
    assert sharpe_ratio(r, periods=252, risk_free=0.0252) == pytest.approx(
        math.sqrt(252) * 0.0049 / math.sqrt(0.000425), rel=1e-12)
    below = np.minimum(r - 0.0001, 0.0)
    assert sortino_ratio(r, periods=252, risk_free=0.0252) == pytest.approx(
        math.sqrt(252) * 0.0049 / math.sqrt(np.mean(below**2)), rel=1e-12)


def test_hand_examples_of_the_curve_statistics() -> None:
    curve = np.array([100.0, 120.0, 90.0, 150.0, 135.0])
    assert drawdown_fraction(curve).tolist() == pytest.approx([0.0, 0.0, 0.25, 0.0, 0.1])
    assert cagr(curve, years=2.0) == pytest.approx(1.35**0.5 - 1.0, rel=1e-12)
    assert calmar_ratio(curve, years=2.0) == pytest.approx((1.35**0.5 - 1.0) / 0.25, rel=1e-12)
    times = np.array([0, 1, 5, 6, 10]) * DAY
    # under water on bars 2 (after the peak on bar 1) and 4 (after the peak on bar 3): 4 days, then 4 days
    assert drawdown_duration_time(curve / 100, times) == 4 * DAY
    assert drawdowns(curve / 100)[2] == 1
    assert years_between(0, int(365.25 * DAY)) == 1.0


def test_hand_examples_of_positions_and_trades() -> None:
    assert exposure(np.array([[0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0, 0.0]])) == 0.6
    assert exposure(np.zeros((2, 0))) == 0.0
    assert turnover(np.array([-500.0, 500.0]), np.array([1000.0, 1000.0])) == 1.0
    pnl = np.array([30.0, -10.0, 0.0, 20.0, -40.0])
    assert win_rate(pnl) == 0.4
    assert average_win(pnl) == 25.0
    assert average_loss(pnl) == -25.0
    assert profit_factor(pnl) == 1.0
    assert expectancy(pnl) == 0.0
    assert (best_trade(pnl), worst_trade(pnl)) == (30.0, -40.0)
    empty = np.zeros(0)
    for f in (win_rate, average_win, average_loss, profit_factor, expectancy, best_trade, worst_trade):
        assert math.isnan(f(empty))
    assert profit_factor(np.array([5.0])) == math.inf


@pytest.mark.parametrize(
    ("step", "name", "periods"),
    [
        (MINUTE, "1-minute", 252 * 6.5 * 60),
        (5 * MINUTE, "5-minute", 252 * 6.5 * 12),
        (60 * MINUTE, "1-hour", 252 * 6.5),
        (DAY, "daily", 252.0),
        (7 * DAY, "weekly", 52.0),
        (30 * DAY, "monthly", 12.0),
        (91 * DAY, "quarterly", 4.0),
        (365 * DAY, "yearly", 1.0),
    ],
)
def test_detect_frequency_from_the_median_spacing(step: int, name: str, periods: float) -> None:
    ts = np.cumsum(np.full(50, step, dtype=np.int64))
    ts[10:12] += 3 * step  # a gap or two (a weekend, a night) does not move the median
    found = detect_frequency(np.sort(ts))
    assert (found.name, found.periods) == (name, pytest.approx(periods))


def test_detect_frequency_on_too_little_data() -> None:
    assert detect_frequency(np.array([5], dtype=np.int64)).name == "unknown"
    assert stats.resolve_periods(12, np.array([0])) == 12.0
    with pytest.raises(ValueError, match="auto"):
        stats.resolve_periods("daily", np.array([0]))


# --- properties ---------------------------------------------------------------------------------


@given(positive_curves)
def test_drawdown_fraction_of_a_positive_curve_is_between_0_and_1(curve: np.ndarray) -> None:
    fraction = drawdown_fraction(curve)
    assert fraction.shape == curve.shape
    assert bool(((fraction >= 0) & (fraction < 1)).all())
    assert fraction[0] == 0.0
    peak = np.maximum.accumulate(curve)
    assert bool((fraction[curve == peak] == 0).all())  # at a new high there is no drawdown


@given(returns, st.floats(0.01, 100.0))
def test_sharpe_sortino_are_invariant_to_scaling_the_returns(r: np.ndarray, c: float) -> None:
    assume(varies(r))
    assert sharpe_ratio(r * c) == pytest.approx(sharpe_ratio(r), rel=1e-6, abs=1e-9)
    so, so_scaled = sortino_ratio(r), sortino_ratio(r * c)
    assert (math.isnan(so) and math.isnan(so_scaled)) or so_scaled == pytest.approx(so, rel=1e-6, abs=1e-9)
    assert annualised_volatility(r * c) == pytest.approx(c * annualised_volatility(r), rel=1e-9)


@given(returns, st.randoms(use_true_random=False))
def test_return_statistics_ignore_the_order_of_the_returns(r: np.ndarray, rng: object) -> None:
    assume(varies(r))
    shuffled = r.copy()
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    for f in (sharpe_ratio, annualised_volatility):
        assert f(shuffled) == pytest.approx(f(r), rel=1e-9, abs=1e-12)
    assert sharpe_ratio(r[::-1]) == pytest.approx(sharpe_ratio(r), rel=1e-9, abs=1e-12)


@given(st.floats(-0.5, 2.0), st.integers(2, 400), st.floats(0.1, 30.0))
def test_cagr_of_constant_growth_is_its_rate(rate: float, points: int, years: float) -> None:
    t = np.linspace(0.0, years, points)
    curve = 1000.0 * (1.0 + rate) ** t
    assume(bool((curve > 0).all()))
    assert cagr(curve, years=years) == pytest.approx(rate, rel=1e-9, abs=1e-9)


@given(positive_curves, st.floats(1.0, 30.0))  # (a huge yearly rate leaves 1 + cagr few significant digits)
def test_cagr_depends_on_the_ends_only_and_reversal_inverts_growth(curve: np.ndarray, years: float) -> None:
    assume(curve.size >= 2)
    forward = cagr(curve, years=years)
    backward = cagr(curve[::-1], years=years)
    assert (1 + forward) * (1 + backward) == pytest.approx(1.0, rel=1e-6)
    middle = curve.copy()
    middle[1:-1] = middle[1:-1][::-1]
    assert cagr(middle, years=years) == forward


@given(st.lists(st.floats(0.001, 0.2), min_size=1, max_size=80))
def test_a_falling_curve_reversed_has_no_drawdown(drops: list[float]) -> None:
    falling = 100.0 * np.cumprod(1.0 - np.array(drops))
    assert drawdown_fraction(falling[::-1]).max() == 0.0
    assert float(drawdown_fraction(falling)[-1]) == pytest.approx(1.0 - falling[-1] / falling[0], rel=1e-9)


@given(pnls, st.randoms(use_true_random=False))
def test_trade_statistics_ignore_the_order_of_the_trades_and_add_up(pnl: np.ndarray, rng: object) -> None:
    shuffled = pnl.copy()
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    for f in (win_rate, average_win, average_loss, profit_factor, expectancy, best_trade, worst_trade):
        a, b = f(pnl), f(shuffled)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-9)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    parts = (wins.size * (average_win(pnl) if wins.size else 0.0)
             + losses.size * (average_loss(pnl) if losses.size else 0.0)) / pnl.size
    assert expectancy(pnl) == pytest.approx(parts, rel=1e-9, abs=1e-6)
    tolerance = 1e-9 * max(1.0, float(np.abs(pnl).max()))
    assert worst_trade(pnl) - tolerance <= expectancy(pnl) <= best_trade(pnl) + tolerance


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 50)),
                  elements=st.sampled_from([0.0, 0.0, 100.0, -100.0])))
def test_exposure_is_a_fraction_of_the_bars(positions: np.ndarray) -> None:
    value = exposure(positions)
    assert 0.0 <= value <= 1.0
    assert value == float(np.mean((positions != 0).any(axis=0)))


# --- in a run -----------------------------------------------------------------------------------

NEW_KEYS = ("frequency", "risk_free", "cagr", "annual_volatility", "sortino_ratio", "calmar_ratio",
            "max_drawdown_from_peak", "drawdown_duration_days", "exposure", "turnover", "trades", "win_rate",
            "average_win", "average_loss", "profit_factor", "expectancy", "best_trade", "worst_trade")


def test_a_run_has_every_statistic_and_the_book_figures_stay(crossover: object, shared_data: Path) -> None:
    data = fbt.load({"ORCL": shared_data / "backtrader" / "orcl-1995-2014.txt"})
    result = fbt.run(crossover(100, 400), data)  # type: ignore[operator]
    s = result.statistics
    for key in NEW_KEYS:
        assert key in s
    # the book's printed figures, unchanged (Sharpe at the configured 252)
    assert (f"{s['total_return'] * 100:.2f}", f"{s['sharpe_ratio']:.2f}", f"{s['max_drawdown'] * 100:.2f}",
            s["drawdown_duration"]) == ("3.11", "0.22", "2.94", 3604)
    assert s["periods"] == 252.0 and s["frequency"] == "daily"
    assert s["trades"] == 6  # 13 fills: six round trips closed, the last buy still open
    net = result.trades["net_pnl"].to_numpy()
    assert s["win_rate"] == win_rate(net) and s["profit_factor"] == profit_factor(net)
    assert s["best_trade"] == net.max() and s["worst_trade"] == net.min()
    years = years_between(int(data.timestamps[0]), int(data.timestamps[-1]))
    assert s["cagr"] == pytest.approx((1 + s["total_return"]) ** (1 / years) - 1, rel=1e-9)
    # the drawdown duration in time spans at least as many calendar days as its bars are trading days
    assert s["drawdown_duration_days"] >= s["drawdown_duration"]
    held = result.equity[["ORCL_position"]].to_numpy().T
    assert s["exposure"] == exposure(held)


def test_stats_json_and_the_printed_table_hold_them_all(tmp_path: Path) -> None:
    from fbt.sample.data import crossover, sample_dir

    result = fbt.run(crossover(), fbt.load_dir(sample_dir()))
    written = json.loads((result.write(tmp_path) / "stats.json").read_text())
    for key in NEW_KEYS:
        assert key in written
    table = result.summary()
    for label in ("CAGR", "Volatility", "Sortino", "Calmar", "Max DD of Peak", "Longest Drawdown", "Exposure",
                  "Turnover", "Avg Win", "Avg Loss", "Profit Factor", "Expectancy", "Best", "Worst",
                  "Annualised at 252 bars a year (daily data)"):
        assert label in table


def _minute_data() -> fbt.BarData:
    n = 600
    ts = np.datetime64("2024-01-02T14:30", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * MINUTE
    close = 50 + np.cumsum(np.sin(np.arange(n) / 7.0) * 0.05)
    return fbt.BarData.from_columns(symbols=("A",), timestamps=ts, columns={"close": close.reshape(1, n)})


def test_periods_auto_annualises_at_the_data_frequency(crossover: object) -> None:
    data = _minute_data()
    book = fbt.run(crossover(5, 20), data)  # type: ignore[operator]
    auto = fbt.run(crossover(5, 20), data, periods="auto")  # type: ignore[operator]
    assert book.statistics["periods"] == 252.0 and auto.statistics["periods"] == 98_280.0
    assert auto.statistics["frequency"] == "1-minute"
    assert auto.statistics["sharpe_ratio"] == pytest.approx(
        book.statistics["sharpe_ratio"] * math.sqrt(98_280 / 252), rel=1e-9)
    assert auto.statistics["annual_volatility"] == pytest.approx(
        book.statistics["annual_volatility"] * math.sqrt(98_280 / 252), rel=1e-9)
    # explicit periods win over detection
    assert fbt.run(crossover(5, 20), data, periods=1000).statistics["periods"] == 1000.0  # type: ignore[operator]
    with pytest.raises(fbt.ConfigError, match="auto"):
        fbt.run(crossover(5, 20), data, periods="hourly")  # type: ignore[operator]


def test_risk_free_rate_lowers_sharpe_as_the_formula_says(crossover: object) -> None:
    from fbt.sample.data import sample_dir

    data = fbt.load_dir(sample_dir())
    base = fbt.run(crossover(20, 80), data)  # type: ignore[operator]
    rf = fbt.run(crossover(20, 80), data, risk_free=0.03)  # type: ignore[operator]
    r = base.equity["returns"].to_numpy()
    closing = base.statistics["final_equity"] / base.equity["total"].iloc[-1] - 1
    full = np.concatenate((r, [closing]))
    assert rf.statistics["sharpe_ratio"] == pytest.approx(sharpe_ratio(full, periods=252, risk_free=0.03), rel=1e-12)
    assert rf.statistics["sharpe_ratio"] < base.statistics["sharpe_ratio"]
    assert rf.statistics["risk_free"] == 0.03
    with pytest.raises(fbt.ConfigError, match="risk_free"):
        fbt.run(crossover(20, 80), data, risk_free=math.nan)  # type: ignore[operator]
