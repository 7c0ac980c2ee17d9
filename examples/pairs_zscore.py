"""Mean reversion: an intraday pairs trade on two symbols — rolling OLS hedge ratio, z-score entry and exit.

Over the last ``window`` bars of the two ``adj_close`` series ``y`` (``first``) and ``x``
(``second``), as the book's intraday pairs strategy:

    beta   = sum(x * y) / sum(x * x)                 (OLS of y on x, no intercept)
    spread = y - beta * x                            (each bar of the window, with this beta)
    z      = (spread[i] - mean(spread)) / std(spread)   (population std)

Flat, ``z <= -entry`` buys the spread (LONG ``first``, SHORT ``second``) and ``z >= entry`` sells it
(SHORT ``first``, LONG ``second``); in a position, ``|z| <= exit`` closes both legs (EXIT, EXIT).
Both legs are signalled on the same bar, so they are sized and filled together; with the book's
naive sizing each leg is 100 units. The strategy acts only on bars where both symbols have a real
bar (``BarData.real``), and its indicators are rolling sums computed once, up front, each bar from
its own window: causal.

    fbt run examples/pairs_zscore.py:pairs_zscore --data DIR --symbols FXY,INDA \\
        --param first=FXY --param second=INDA --param window=390 --periods auto --report
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import fbt
from fbt.core.strategy import StepFunction

__all__ = ["pairs_zscore", "spread_zscores"]

FloatArray = npt.NDArray[np.float64]


def _window_sum(values: FloatArray, window: int) -> FloatArray:
    """Sum of the last ``window`` values at each bar (NaN before a full window)."""
    total = np.cumsum(values)
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] >= window:
        out[window - 1:] = total[window - 1:] - np.concatenate(([0.0], total[:-window]))
    return out


def spread_zscores(y: FloatArray, x: FloatArray, *, window: int) -> tuple[FloatArray, FloatArray]:
    """Return ``(beta, z)`` per bar from the ``window`` bars up to and including it (formulas in the module doc).

    NaN until both series have ``window`` prices, and where the spread never varied.

    >>> x = np.array([10.0, 11.0, 12.0, 11.0, 10.0, 11.0])
    >>> y = 2 * x + np.array([0.0, 0.1, -0.1, 0.0, 0.1, 0.5])
    >>> beta, z = spread_zscores(y, x, window=4)
    >>> np.round(beta[3:], 3).tolist(), round(float(z[-1]), 2)
    ([2.0, 2.002, 2.011], 1.63)
    """
    both = np.isfinite(y) & np.isfinite(x)
    # centre by a constant before the variance sums (they are translation invariant) to keep precision
    cy = float(y[both][0]) if both.any() else 0.0
    cx = float(x[both][0]) if both.any() else 0.0
    yv, xv = np.where(both, y, 0.0), np.where(both, x, 0.0)
    yc, xc = np.where(both, y - cy, 0.0), np.where(both, x - cx, 0.0)
    n = _window_sum(both.astype(np.float64), window)
    full = n == window
    sxy, sxx = _window_sum(xv * yv, window), _window_sum(xv * xv, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(full, sxy / sxx, np.nan)
        my, mx = _window_sum(yc, window) / window, _window_sum(xc, window) / window
        vy = _window_sum(yc * yc, window) / window - my * my
        vx = _window_sum(xc * xc, window) / window - mx * mx
        cov = _window_sum(xc * yc, window) / window - mx * my
        variance = vy + beta * beta * vx - 2 * beta * cov
        mean_spread = (my + cy) - beta * (mx + cx)
        spread = y - beta * x
        z = (spread - mean_spread) / np.sqrt(variance)
    scale = np.maximum(np.abs(y), 1.0) ** 2
    z = np.where(full & (variance > 1e-12 * scale), z, np.nan)  # a spread that never moved has no z-score
    return beta, z


def pairs_zscore(first: str, second: str, window: int = 100, entry: float = 2.0, exit: float = 0.5) -> fbt.Strategy:
    """Return the pairs strategy on ``first`` (y) against ``second`` (x); its state is the spread position."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 3:
        raise ValueError(f"window: expected a whole number >= 3, got {window!r}")
    if not 0 <= exit < entry:
        raise ValueError(f"entry, exit: expected 0 <= exit < entry, got entry={entry!r}, exit={exit!r}")
    if first == second:
        raise ValueError(f"second: expected a symbol other than first, got {second!r} twice")
    strategy_id = "pairs_zscore"

    def build(data: fbt.BarData) -> tuple[int, StepFunction[int]]:
        for symbol in (first, second):
            if symbol not in data.symbols:
                raise ValueError(f"{symbol!r} is not in the data; it has {', '.join(data.symbols)}")
        y, x = data.column(first, "adj_close"), data.column(second, "adj_close")
        _, z = spread_zscores(y, x, window=window)
        index = data.symbol_index
        tradable = (data.real[index[first]] & data.real[index[second]] & np.isfinite(z)).tolist()
        zs = z.tolist()

        def legs(event: fbt.MarketEvent, a: fbt.SignalType, b: fbt.SignalType) -> tuple[fbt.SignalEvent, ...]:
            return (fbt.SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id, symbol=first, signal_type=a),
                    fbt.SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id, symbol=second, signal_type=b))

        def step(position: int, event: fbt.MarketEvent) -> tuple[int, tuple[fbt.SignalEvent, ...]]:
            i = event.index
            if not tradable[i]:
                return position, ()
            score = zs[i]
            if position == 0:
                if score <= -entry:
                    return 1, legs(event, fbt.SignalType.LONG, fbt.SignalType.SHORT)
                if score >= entry:
                    return -1, legs(event, fbt.SignalType.SHORT, fbt.SignalType.LONG)
            elif abs(score) <= exit:
                return 0, legs(event, fbt.SignalType.EXIT, fbt.SignalType.EXIT)
            return position, ()

        return 0, step

    params = (("entry", entry), ("exit", exit), ("first", first), ("second", second), ("window", window))
    return fbt.Strategy(name=strategy_id, build=build, params=params)
