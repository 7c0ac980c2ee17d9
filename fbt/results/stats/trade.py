"""Position and trade statistics: exposure, turnover, win rate, averages, profit factor, expectancy."""

from __future__ import annotations

import math

import numpy as np

from fbt.results.stats.returns import FloatArray, _array

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
