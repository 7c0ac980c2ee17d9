"""Performance statistics: pure functions of the equity curve, the returns and the trades.

The seed's four — :func:`sharpe_ratio` and :func:`drawdowns` (max drawdown and its duration in
bars) with total return — keep the book's definitions exactly. The rest follow common practice,
each with its formula in its docstring:

- of the per-bar returns ``r``: :func:`annualised_volatility`, :func:`sharpe_ratio` and
  :func:`sortino_ratio` (both with a yearly risk-free rate, default 0 as the seed);
- of the equity curve: :func:`cagr`, :func:`drawdown_fraction` (drop below the running peak as a
  fraction of that peak), :func:`calmar_ratio`, :func:`drawdown_duration_time`;
- of the positions and fills: :func:`exposure`, :func:`turnover`;
- of the net P&L of closed round trips (``fbt.accounting``): :func:`win_rate`,
  :func:`average_win`, :func:`average_loss`, :func:`profit_factor`, :func:`expectancy`,
  :func:`best_trade`, :func:`worst_trade`.

Annualisation multiplies by ``periods`` (bars per year) or its square root; :func:`detect_frequency`
finds it from the median spacing of the bars. A statistic that is undefined (no returns, no
losing trade, ...) is NaN here and ``null`` in ``stats.json``.

>>> import numpy as np
>>> round(sharpe_ratio(np.array([0.01, -0.01, 0.02]), periods=252), 4)
8.4853
>>> drawdowns(np.array([1.0, 1.1, 1.0, 1.05, 1.2]))[1:]
(0.10000000000000009, 2)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pragma: no cover
    from fbt.accounting import Trades
    from fbt.fold import Run
    from fbt.results import Curve, FillTable

__all__ = [
    "DAYS_PER_YEAR",
    "TRADING_DAYS",
    "TRADING_HOURS",
    "Frequency",
    "annualised_volatility",
    "average_loss",
    "average_win",
    "best_trade",
    "cagr",
    "calmar_ratio",
    "detect_frequency",
    "drawdown_duration_time",
    "drawdown_fraction",
    "drawdowns",
    "expectancy",
    "exposure",
    "profit_factor",
    "resolve_periods",
    "run_statistics",
    "sharpe_ratio",
    "sortino_ratio",
    "turnover",
    "win_rate",
    "worst_trade",
    "years_between",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Trading days in a year (the seed's Sharpe annualisation for daily bars).
TRADING_DAYS: Final = 252.0
#: Hours in a regular US equity session (09:30-16:00): intraday bars per year are
#: ``TRADING_DAYS * TRADING_HOURS * 3600 / bar_seconds``.
TRADING_HOURS: Final = 6.5
#: Calendar days in a year, for time spans (CAGR, drawdown durations).
DAYS_PER_YEAR: Final = 365.25
_NS_PER_SECOND: Final = 1_000_000_000
_SECONDS_PER_DAY: Final = 86_400
_NS_PER_YEAR: Final = DAYS_PER_YEAR * _SECONDS_PER_DAY * _NS_PER_SECOND


def _array(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# Returns


def sharpe_ratio(returns: FloatArray, *, periods: float = TRADING_DAYS, risk_free: float = 0.0) -> float:
    """Return ``sqrt(periods) * mean(r - rf / periods) / std(r)`` (population std).

    ``risk_free`` is a yearly rate (0.02 for 2 %), spread evenly over the ``periods`` bars of a
    year. With the default 0 this is the seed's ``create_sharpe_ratio``. NaN when there are no
    returns or they never vary.

    >>> import numpy as np
    >>> sharpe_ratio(np.array([0.01, 0.03]), periods=4)
    4.0
    >>> round(sharpe_ratio(np.array([0.01, 0.03]), periods=4, risk_free=0.04), 12)   # excess mean 0.01
    2.0
    """
    r = _array(returns)
    if r.size == 0:
        return math.nan
    std = float(np.std(r))
    if std == 0.0 or not math.isfinite(std):
        return math.nan
    excess = r - risk_free / periods if risk_free else r
    return float(np.sqrt(periods) * np.mean(excess) / std)


def sortino_ratio(returns: FloatArray, *, periods: float = TRADING_DAYS, risk_free: float = 0.0) -> float:
    """Return ``sqrt(periods) * mean(x) / sqrt(mean(min(x, 0) ** 2))`` with ``x = r - rf / periods``.

    The denominator is the downside deviation below the risk-free rate (the target), over all
    bars. NaN when there are no returns or none falls below the target.

    >>> import numpy as np
    >>> sortino_ratio(np.array([0.02, -0.01, 0.02, -0.01]), periods=1)   # mean 0.005 / sqrt(0.0001 / 2)
    0.7071067811865475
    """
    r = _array(returns)
    if r.size == 0:
        return math.nan
    excess = r - risk_free / periods if risk_free else r
    downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside == 0.0 or not math.isfinite(downside):
        return math.nan
    return float(np.sqrt(periods) * np.mean(excess) / downside)


def annualised_volatility(returns: FloatArray, *, periods: float = TRADING_DAYS) -> float:
    """Return ``std(r) * sqrt(periods)`` (population std), the yearly volatility of the returns.

    >>> import numpy as np
    >>> annualised_volatility(np.array([0.01, -0.01]), periods=4)
    0.02
    """
    r = _array(returns)
    if r.size == 0:
        return math.nan
    return float(np.std(r) * np.sqrt(periods))


# --------------------------------------------------------------------------------------------------
# The equity curve


def years_between(start: int, end: int) -> float:
    """Return the time from ``start`` to ``end`` (int nanoseconds) in years of 365.25 days.

    >>> years_between(0, 365 * 86_400 * 10**9 + 6 * 3_600 * 10**9)
    1.0
    """
    return (int(end) - int(start)) / _NS_PER_YEAR


def cagr(equity: FloatArray, *, years: float) -> float:
    """Return the compound annual growth rate ``(equity[-1] / equity[0]) ** (1 / years) - 1``.

    ``years`` is the time from the first to the last point (:func:`years_between`). NaN when the
    span is not positive, the curve starts at or below 0 or ends below 0.

    >>> import numpy as np
    >>> round(cagr(np.array([100.0, 110.0, 121.0]), years=2.0), 12)
    0.1
    """
    e = _array(equity)
    if e.size < 2 or not years > 0 or not e[0] > 0 or e[-1] < 0:
        return math.nan
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # a span of nanoseconds overflows to inf
        return float(np.power(e[-1] / e[0], 1.0 / years) - 1.0)


def drawdown_fraction(equity: FloatArray) -> FloatArray:
    """Return ``1 - equity[t] / max(equity[0..t])`` per bar: the drop below the running peak as a fraction of it.

    In ``[0, 1]`` while the equity is positive (1 means everything was lost). NaN where the peak
    so far is not positive. The book's :func:`drawdowns` measures the drop in units of the
    starting capital instead; the two agree while the curve has not risen above its start.

    >>> import numpy as np
    >>> drawdown_fraction(np.array([100.0, 200.0, 150.0, 250.0])).tolist()
    [0.0, 0.0, 0.25, 0.0]
    """
    e = _array(equity)
    if e.size == 0:
        return e.copy()
    peak = np.maximum.accumulate(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, 1.0 - e / peak, np.nan)


def calmar_ratio(equity: FloatArray, *, years: float) -> float:
    """Return ``cagr(equity, years) / max(drawdown_fraction(equity))``.

    NaN when the curve never fell below a peak or the CAGR is undefined.

    >>> import numpy as np
    >>> round(calmar_ratio(np.array([100.0, 80.0, 121.0]), years=2.0), 12)   # 10 % a year / 20 %
    0.5
    """
    fraction = drawdown_fraction(equity)
    worst = float(np.nanmax(fraction)) if fraction.size and not np.isnan(fraction).all() else 0.0
    growth = cagr(equity, years=years)
    if worst <= 0.0 or math.isnan(growth):
        return math.nan
    return growth / worst


def drawdowns(equity_curve: FloatArray) -> tuple[FloatArray, float, int]:
    """Return ``(drawdown per bar, max drawdown, longest drawdown in bars)``, as ``create_drawdowns``.

    ``drawdown[t] = hwm[t] - curve[t]`` with the high-water mark ``hwm[t] = max(0, curve[0..t])``:
    on a curve normalised to 1 at the start this is the drop below the peak as a fraction of the
    starting capital. The duration counts consecutive bars whose drawdown is not zero.

    >>> import numpy as np
    >>> drawdowns(np.array([1.0, 0.5, 0.75, 1.0]))
    (array([0.  , 0.5 , 0.25, 0.  ]), 0.5, 2)
    """
    curve = _array(equity_curve)
    if curve.size == 0:
        return curve.copy(), 0.0, 0
    hwm = np.maximum.accumulate(np.maximum(curve, 0.0))
    drawdown = hwm - curve
    under = drawdown != 0.0
    if not under.any():
        return drawdown, 0.0, 0
    # length of each run of consecutive drawdown bars: position minus position of the last non-drawdown bar
    idx = np.arange(curve.size)
    last_zero = np.maximum.accumulate(np.where(under, -1, idx))
    duration = np.where(under, idx - last_zero, 0)
    return drawdown, float(drawdown.max()), int(duration.max())


def drawdown_duration_time(equity_curve: FloatArray, timestamps: IntArray) -> int:
    """Return the longest drawdown as a span of time (int nanoseconds), as :func:`drawdowns` counts bars.

    A drawdown of bars ``a .. b`` (consecutive bars below the high-water mark) lasts from the peak
    bar ``a - 1`` to ``b``: ``timestamps[b] - timestamps[a - 1]`` (from ``timestamps[a]`` when the
    curve starts under water). 0 when it never is.

    >>> import numpy as np
    >>> drawdown_duration_time(np.array([1.0, 0.9, 0.95, 1.1, 1.0]), np.array([0, 10, 20, 30, 40]))
    20
    """
    curve = _array(equity_curve)
    ts = np.asarray(timestamps, dtype=np.int64)
    if curve.shape != ts.shape:
        raise ValueError(f"timestamps: expected {curve.size} timestamps, one per point of the curve, got {ts.size}")
    drawdown, _, _ = drawdowns(curve)
    under = drawdown != 0.0
    if not under.any():
        return 0
    idx = np.arange(curve.size)
    peak = np.maximum.accumulate(np.where(under, -1, idx))  # the last bar at the high-water mark
    start = ts[np.maximum(peak, 0)]
    return int(np.max(np.where(under, ts - start, 0)))


# --------------------------------------------------------------------------------------------------
# Positions and fills


def exposure(positions: FloatArray) -> float:
    """Return the fraction of bars with an open position in any symbol: ``mean(any(position != 0))``.

    ``positions`` is ``(n_bars,)`` for one symbol or ``(n_symbols, n_bars)``. 0 with no bars.

    >>> import numpy as np
    >>> exposure(np.array([[0.0, 100.0, 100.0, 0.0], [0.0, 0.0, -50.0, 0.0]]))
    0.5
    """
    p = _array(positions)
    if p.size == 0 or p.shape[-1] == 0:
        return 0.0
    held = p != 0.0
    if held.ndim > 1:
        held = held.any(axis=0)
    return float(np.mean(held))


def turnover(traded_value: FloatArray, equity: FloatArray) -> float:
    """Return ``sum(|traded_value|) / mean(equity)``: the run's traded notional in multiples of its average equity.

    ``traded_value`` is ``quantity * price`` per fill. A buy and a later sale of a whole portfolio
    is a turnover of 2. NaN when the mean equity is not positive.

    >>> import numpy as np
    >>> turnover(np.array([1000.0, 1100.0]), np.array([1000.0, 1050.0, 1100.0]))
    2.0
    """
    e = _array(equity)
    average = float(np.mean(e)) if e.size else math.nan
    if not average > 0:
        return math.nan
    return float(np.sum(np.abs(_array(traded_value)))) / average


# --------------------------------------------------------------------------------------------------
# Trades (net P&L of closed round trips)


def win_rate(pnl: FloatArray) -> float:
    """Return the share of trades with a positive P&L: ``count(pnl > 0) / count(pnl)``; NaN with none.

    >>> import numpy as np
    >>> win_rate(np.array([10.0, -5.0, 0.0, 3.0]))
    0.5
    """
    p = _array(pnl)
    return float(np.mean(p > 0)) if p.size else math.nan


def average_win(pnl: FloatArray) -> float:
    """Return ``mean(pnl[pnl > 0])``, the average winning trade; NaN with no winner.

    >>> import numpy as np
    >>> average_win(np.array([10.0, -5.0, 20.0]))
    15.0
    """
    p = _array(pnl)
    wins = p[p > 0]
    return float(np.mean(wins)) if wins.size else math.nan


def average_loss(pnl: FloatArray) -> float:
    """Return ``mean(pnl[pnl < 0])``, the average losing trade (negative); NaN with no loser.

    >>> import numpy as np
    >>> average_loss(np.array([10.0, -5.0, -15.0]))
    -10.0
    """
    p = _array(pnl)
    losses = p[p < 0]
    return float(np.mean(losses)) if losses.size else math.nan


def profit_factor(pnl: FloatArray) -> float:
    """Return ``sum(pnl[pnl > 0]) / -sum(pnl[pnl < 0])``, gross profit over gross loss.

    ``inf`` when there are wins and no loss; NaN with neither.

    >>> import numpy as np
    >>> profit_factor(np.array([10.0, -5.0, 20.0, -10.0]))
    2.0
    """
    p = _array(pnl)
    gains, losses = float(np.sum(p[p > 0])), -float(np.sum(p[p < 0]))
    if losses == 0.0:
        return math.inf if gains > 0 else math.nan
    return gains / losses


def expectancy(pnl: FloatArray) -> float:
    """Return ``mean(pnl)``, the average P&L per trade (= win rate x average win + loss rate x average loss).

    >>> import numpy as np
    >>> expectancy(np.array([10.0, -5.0, 20.0, -10.0]))
    3.75
    """
    p = _array(pnl)
    return float(np.mean(p)) if p.size else math.nan


def best_trade(pnl: FloatArray) -> float:
    """Return ``max(pnl)``, the best trade; NaN with none.

    >>> import numpy as np
    >>> best_trade(np.array([10.0, -5.0]))
    10.0
    """
    p = _array(pnl)
    return float(np.max(p)) if p.size else math.nan


def worst_trade(pnl: FloatArray) -> float:
    """Return ``min(pnl)``, the worst trade; NaN with none.

    >>> import numpy as np
    >>> worst_trade(np.array([10.0, -5.0]))
    -5.0
    """
    p = _array(pnl)
    return float(np.min(p)) if p.size else math.nan


# --------------------------------------------------------------------------------------------------
# Frequency and annualisation


@attrs.frozen(kw_only=True)
class Frequency:
    """The bar frequency of some data: a name (``daily``, ``1-minute``, ...), bars per year, the median spacing."""

    name: str
    periods: float
    seconds: float


def detect_frequency(timestamps: IntArray) -> Frequency:
    """Return the data's bar frequency, from the median spacing ``s`` of its timestamps.

    - ``s`` under a day (intraday): ``periods = 252 * 6.5 * 3600 / s`` — 98,280 for 1-minute
      bars (``252 * 6.5 * 60``, as the book's intraday portfolio), 1,638 for hourly;
    - 1 to 4 days: daily, 252; 4 to 10: weekly, 52; 10 to 45: monthly, 12; 45 to 135: quarterly,
      4; longer: yearly, 1.

    Fewer than two bars: ``unknown``, 252.

    >>> import numpy as np
    >>> minute = np.arange(0, 600, 60, dtype=np.int64) * 10**9
    >>> detect_frequency(minute)
    Frequency(name='1-minute', periods=98280.0, seconds=60.0)
    >>> days = np.array([0, 1, 2, 5, 6], dtype=np.int64) * 86_400 * 10**9   # a weekend inside
    >>> detect_frequency(days).name, detect_frequency(days).periods
    ('daily', 252.0)
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.size < 2:
        return Frequency(name="unknown", periods=TRADING_DAYS, seconds=math.nan)
    seconds = float(np.median(np.diff(ts))) / _NS_PER_SECOND
    if seconds <= 0:
        return Frequency(name="unknown", periods=TRADING_DAYS, seconds=seconds)
    if seconds < _SECONDS_PER_DAY:
        periods = TRADING_DAYS * TRADING_HOURS * 3600.0 / seconds
        if seconds % 3600 == 0:
            name = f"{seconds / 3600:g}-hour"
        elif seconds % 60 == 0:
            name = f"{seconds / 60:g}-minute"
        else:
            name = f"{seconds:g}-second"
        return Frequency(name=name, periods=periods, seconds=seconds)
    days = seconds / _SECONDS_PER_DAY
    for limit, name, periods in ((4, "daily", TRADING_DAYS), (10, "weekly", 52.0), (45, "monthly", 12.0),
                                 (135, "quarterly", 4.0)):
        if days < limit:
            return Frequency(name=name, periods=periods, seconds=seconds)
    return Frequency(name="yearly", periods=1.0, seconds=seconds)


def resolve_periods(periods: float | str, timestamps: IntArray) -> float:
    """Return ``periods`` itself, or the detected bars per year when it is ``"auto"``.

    >>> import numpy as np
    >>> resolve_periods(252, np.array([0, 60 * 10**9])), resolve_periods("auto", np.array([0, 60 * 10**9]))
    (252.0, 98280.0)
    """
    if isinstance(periods, str):
        if periods.strip().lower() != "auto":
            raise ValueError(f"periods: expected a number of bars per year or 'auto', got {periods!r}")
        return detect_frequency(timestamps).periods
    return float(periods)


# --------------------------------------------------------------------------------------------------
# A run's statistics


def _plain(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_statistics(
    run: Run,
    curve: Curve,
    fills: FillTable,
    base: Mapping[str, Any],
    *,
    trades: Trades | None = None,
    risk_free: float = 0.0,
) -> dict[str, Any]:
    """Return ``base`` (the run's book statistics, unchanged) followed by the statistics of this module.

    The per-bar returns and the closed curve are those behind ``base``'s Sharpe ratio: in book
    mode the curve is closed by the final state. With a non-zero ``risk_free`` the Sharpe ratio is
    recomputed with it. Keys already in ``base`` (``trades``, ``win_rate``) are kept as they are.
    Added: ``frequency``, ``risk_free``, ``cagr``, ``annual_volatility``, ``sortino_ratio``,
    ``calmar_ratio``, ``max_drawdown_from_peak``, ``drawdown_duration_days``, ``exposure``,
    ``turnover``, ``trades``, ``win_rate``, ``average_win``, ``average_loss``, ``profit_factor``,
    ``expectancy``, ``best_trade``, ``worst_trade`` (trade figures net of commission).
    """
    from fbt.accounting import account
    from fbt.models.fill import Execution

    data, config = run.data, run.config
    capital, periods = config.capital, config.periods
    ts = np.asarray(data.timestamps, dtype=np.int64)
    total = np.asarray(curve.total, dtype=np.float64)
    if config.execution is Execution.BOOK:
        last_total = float(total[-1]) if total.size else capital
        returns = np.concatenate((curve.returns, [curve.final_equity / last_total - 1.0]))
        equity = np.concatenate(([capital], total, [curve.final_equity]))
        times = np.concatenate((ts[:1], ts, ts[-1:])) if ts.size else np.zeros(2, dtype=np.int64)
    else:
        returns = np.asarray(curve.returns, dtype=np.float64)
        equity = np.concatenate(([capital], total))
        times = np.concatenate((ts[:1], ts)) if ts.size else np.zeros(1, dtype=np.int64)
    years = years_between(int(times[0]), int(times[-1]))
    if trades is None:
        _, trades = account(bar=fills.bar, symbol=fills.symbol, sign=fills.sign, quantity=fills.quantity,
                            price=fills.price, commission=fills.commission, n_symbols=len(data.symbols))
    net = trades.pnl - trades.commission
    stats = dict(base)
    if risk_free:
        stats["sharpe_ratio"] = _plain(sharpe_ratio(returns, periods=periods, risk_free=risk_free))
    fraction = drawdown_fraction(equity)
    added: dict[str, Any] = {
        "frequency": detect_frequency(ts).name,
        "risk_free": float(risk_free),
        "cagr": _plain(cagr(equity, years=years)),
        "annual_volatility": _plain(annualised_volatility(returns, periods=periods)),
        "sortino_ratio": _plain(sortino_ratio(returns, periods=periods, risk_free=risk_free)),
        "calmar_ratio": _plain(calmar_ratio(equity, years=years)),
        "max_drawdown_from_peak": _plain(float(np.nanmax(fraction))) if fraction.size else 0.0,
        "drawdown_duration_days": drawdown_duration_time(equity, times) / (_SECONDS_PER_DAY * _NS_PER_SECOND),
        "exposure": exposure(curve.positions),
        "turnover": _plain(turnover(fills.quantity * fills.price, total)),
        "trades": len(trades),
        "win_rate": _plain(win_rate(net)),
        "average_win": _plain(average_win(net)),
        "average_loss": _plain(average_loss(net)),
        "profit_factor": _plain(profit_factor(net)),
        "expectancy": _plain(expectancy(net)),
        "best_trade": _plain(best_trade(net)),
        "worst_trade": _plain(worst_trade(net)),
    }
    for key, value in added.items():
        stats.setdefault(key, value)
    return stats
