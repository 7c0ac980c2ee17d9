"""Drawdown statistics: the deepest drawdown, Calmar, the drawdown curve and durations."""

from __future__ import annotations

import math

import numpy as np

from fbt.results.stats.returns import FloatArray, IntArray, _array, cagr


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


def calmar_ratio(equity: FloatArray, *, years: float, fraction: FloatArray | None = None) -> float:
    """Return ``cagr(equity, years) / max(drawdown_fraction(equity))``.

    NaN when the curve never fell below a peak or the CAGR is undefined. ``fraction``: the curve's
    :func:`drawdown_fraction`, when the caller has it already.

    >>> import numpy as np
    >>> round(calmar_ratio(np.array([100.0, 80.0, 121.0]), years=2.0), 12)   # 10 % a year / 20 %
    0.5
    """
    if fraction is None:
        fraction = drawdown_fraction(equity)
    worst = float(np.nanmax(fraction)) if fraction.size and not np.isnan(fraction).all() else 0.0
    growth = cagr(equity, years=years)
    if worst <= 0.0 or math.isnan(growth):
        return math.nan
    return growth / worst


def drawdown_curve(equity_curve: FloatArray, peak: float | None = None) -> FloatArray:
    """Return ``hwm - curve`` per bar, the high-water mark ``hwm[t] = max(0, curve[0..t])``.

    ``peak``: the high-water mark before the first bar (a curve continued from an earlier piece).

    >>> import numpy as np
    >>> drawdown_curve(np.array([1.0, 0.5, 0.75, 1.0])).tolist(), drawdown_curve(np.array([0.5]), peak=1.0).tolist()
    ([0.0, 0.5, 0.25, 0.0], [0.5])
    """
    curve = _array(equity_curve)
    if peak is None:
        return np.maximum.accumulate(np.maximum(curve, 0.0)) - curve
    hwm = np.maximum.accumulate(np.maximum(np.concatenate(([peak], curve)), 0.0))[1:]
    return hwm - curve


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
    drawdown = drawdown_curve(curve)
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
    drawdown = drawdown_curve(curve)
    under = drawdown != 0.0
    if not under.any():
        return 0
    idx = np.arange(curve.size)
    peak = np.maximum.accumulate(np.where(under, -1, idx))  # the last bar at the high-water mark
    start = ts[np.maximum(peak, 0)]
    return int(np.max(np.where(under, ts - start, 0)))
