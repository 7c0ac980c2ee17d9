"""Performance statistics: pure functions of the equity curve, as the seed defines them.

>>> import numpy as np
>>> round(sharpe_ratio(np.array([0.01, -0.01, 0.02]), periods=252), 4)
8.4853
>>> drawdowns(np.array([1.0, 1.1, 1.0, 1.05, 1.2]))[1:]
(0.10000000000000009, 2)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["drawdowns", "sharpe_ratio"]

FloatArray = npt.NDArray[np.float64]


def sharpe_ratio(returns: FloatArray, *, periods: float = 252.0) -> float:
    """Return ``sqrt(periods) * mean(returns) / std(returns)`` (population std, risk-free rate 0).

    As the seed's ``create_sharpe_ratio``. NaN when there are no returns or they never vary.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return math.nan
    std = float(np.std(r))
    if std == 0.0 or not math.isfinite(std):
        return math.nan
    return float(np.sqrt(periods) * np.mean(r) / std)


def drawdowns(equity_curve: FloatArray) -> tuple[FloatArray, float, int]:
    """Return ``(drawdown per bar, max drawdown, longest drawdown in bars)``, as ``create_drawdowns``.

    ``drawdown[t] = hwm[t] - curve[t]`` with the high-water mark ``hwm[t] = max(0, curve[0..t])``:
    on a curve normalised to 1 at the start this is the drop below the peak as a fraction of the
    starting capital. The duration counts consecutive bars whose drawdown is not zero.
    """
    curve = np.asarray(equity_curve, dtype=np.float64)
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
