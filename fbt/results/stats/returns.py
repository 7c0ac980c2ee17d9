"""Return statistics: Sharpe, Sortino, volatility and growth (CAGR), and the constants they annualise with."""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from fbt.core.units import NS_PER_SECOND, SECONDS_PER_DAY

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Trading days in a year (the seed's Sharpe annualisation for daily bars).
TRADING_DAYS: Final = 252.0
#: Hours in a regular US equity session (09:30-16:00): intraday bars per year are
#: ``TRADING_DAYS * TRADING_HOURS * 3600 / bar_seconds``.
TRADING_HOURS: Final = 6.5
#: Calendar days in a year, for time spans (CAGR, drawdown durations).
DAYS_PER_YEAR: Final = 365.25
_NS_PER_YEAR: Final = DAYS_PER_YEAR * SECONDS_PER_DAY * NS_PER_SECOND


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


#: Shortfalls whose squares are normal floats (neither subnormal nor infinite) are squared as they are.
_SQUARES_EXACT_FROM = 1e-150
_SQUARES_EXACT_UP_TO = 1e150


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
    below = np.minimum(excess, 0.0)
    worst = float(-below.min())
    if worst == 0.0 or not math.isfinite(worst):
        return math.nan
    if _SQUARES_EXACT_FROM <= worst <= _SQUARES_EXACT_UP_TO:
        downside = float(np.sqrt(np.mean(below**2)))
    else:  # squares would underflow or overflow: measure the shortfalls in units of the worst one
        downside = worst * float(np.sqrt(np.mean((below / worst) ** 2)))
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
