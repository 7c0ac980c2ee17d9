"""Performance statistics: the Sharpe ratio and drawdowns as the seed defines them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fbt.results.stats import drawdowns, sharpe_ratio

returns = hnp.arrays(
    np.float64,
    st.integers(2, 200),
    elements=st.floats(-0.5, 0.5, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)
curves = hnp.arrays(
    np.float64,
    st.integers(1, 200),
    elements=st.floats(-2.0, 10.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)


def varies(r: np.ndarray) -> bool:
    """Returns whose spread is clearly above rounding noise, so the ratio is well conditioned."""
    return float(np.std(r)) > 1e-6 * max(1.0, float(np.abs(r).max()))


# --- Sharpe ratio -------------------------------------------------------------------------------


def test_sharpe_hand_example() -> None:
    # mean 0.02, population standard deviation 0.01
    assert sharpe_ratio(np.array([0.01, 0.03]), periods=4) == pytest.approx(4.0, rel=1e-12)
    assert sharpe_ratio(np.array([0.01, 0.03])) == pytest.approx(2.0 * math.sqrt(252.0), rel=1e-12)
    # mean 1/150, population std sqrt(7/45000): sqrt(252) * (1/150) / sqrt(7/45000)
    assert sharpe_ratio(np.array([0.01, -0.01, 0.02]), periods=252) == pytest.approx(
        math.sqrt(252.0) * (1 / 150) / math.sqrt(7 / 45000), rel=1e-9
    )


def test_sharpe_uses_the_population_standard_deviation() -> None:
    r = np.array([0.02, -0.01, 0.04, 0.0])
    assert sharpe_ratio(r, periods=1) == pytest.approx(float(np.mean(r) / np.std(r, ddof=0)), rel=1e-12)
    assert sharpe_ratio(r, periods=1) != pytest.approx(float(np.mean(r) / np.std(r, ddof=1)), rel=1e-6)


@pytest.mark.parametrize("r", [np.array([0.01] * 5), np.array([0.0, 0.0]), np.array([0.3]), np.array([])])
def test_sharpe_is_nan_for_constant_or_no_returns(r: np.ndarray) -> None:
    assert math.isnan(sharpe_ratio(r))


@settings(max_examples=150)
@given(r=returns, c=st.floats(1e-3, 1e3))
def test_sharpe_is_scale_invariant(r: np.ndarray, c: float) -> None:
    assume(varies(r))
    assert sharpe_ratio(r * c) == pytest.approx(sharpe_ratio(r), rel=1e-6, abs=1e-9)


@settings(max_examples=150)
@given(r=returns)
def test_sharpe_flips_sign_with_the_returns(r: np.ndarray) -> None:
    assume(varies(r))
    assert sharpe_ratio(-r) == pytest.approx(-sharpe_ratio(r), rel=1e-9, abs=1e-12)


@settings(max_examples=100)
@given(r=returns, periods=st.floats(1.0, 100_000.0))
def test_sharpe_scales_with_the_root_of_periods(r: np.ndarray, periods: float) -> None:
    assume(varies(r))
    assert sharpe_ratio(r, periods=periods) == pytest.approx(sharpe_ratio(r, periods=1.0) * math.sqrt(periods),
                                                             rel=1e-9)


# --- drawdowns ----------------------------------------------------------------------------------


def test_drawdown_hand_example() -> None:
    curve = np.array([1.0, 1.2, 0.9, 1.0, 1.3, 1.1, 1.25, 1.35])
    drawdown, biggest, duration = drawdowns(curve)
    np.testing.assert_allclose(drawdown, [0.0, 0.0, 0.3, 0.2, 0.0, 0.2, 0.05, 0.0], atol=1e-12)
    assert biggest == pytest.approx(0.3, abs=1e-12)
    assert duration == 2


def test_drawdown_longest_run_need_not_hold_the_deepest_drop() -> None:
    curve = np.array([1.0, 0.5, 1.0, 0.99, 0.98, 0.97, 0.99, 1.01])
    _, biggest, duration = drawdowns(curve)
    assert biggest == pytest.approx(0.5, abs=1e-12)
    assert duration == 4


def test_drawdown_lasting_to_the_end() -> None:
    _, biggest, duration = drawdowns(np.array([1.0, 2.0, 1.5, 1.5, 1.5]))
    assert (biggest, duration) == (0.5, 3)


def test_drawdown_of_an_empty_curve() -> None:
    drawdown, biggest, duration = drawdowns(np.array([]))
    assert drawdown.shape == (0,) and biggest == 0.0 and duration == 0


@settings(max_examples=150)
@given(curve=curves)
def test_drawdown_is_never_negative_and_duration_fits(curve: np.ndarray) -> None:
    drawdown, biggest, duration = drawdowns(curve)
    assert drawdown.shape == curve.shape
    assert (drawdown >= 0).all()
    assert biggest == drawdown.max()
    assert 0 <= duration <= curve.size
    # the duration is the longest run of bars below the high-water mark
    longest = run = 0
    for d in drawdown.tolist():
        run = run + 1 if d != 0 else 0
        longest = max(longest, run)
    assert duration == longest
    assert (duration == 0) == (biggest == 0)


@settings(max_examples=150)
@given(curve=curves)
def test_no_drawdown_on_a_non_decreasing_curve(curve: np.ndarray) -> None:
    rising = np.maximum.accumulate(np.abs(curve))
    drawdown, biggest, duration = drawdowns(rising)
    assert (drawdown == 0).all()
    assert (biggest, duration) == (0.0, 0)


@settings(max_examples=100)
@given(curve=curves)
def test_drawdown_is_the_drop_below_the_running_peak(curve: np.ndarray) -> None:
    drawdown, _, _ = drawdowns(curve)
    peak = 0.0
    for value, d in zip(curve.tolist(), drawdown.tolist(), strict=True):
        peak = max(peak, value)
        assert d == peak - value
