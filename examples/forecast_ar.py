"""Forecasting: an autoregressive model of lagged returns, refitted on a rolling window, traded out of sample.

For each symbol, with ``r[t] = log(adj_close[t] / adj_close[t-1])``, the model is

    r[t] = b0 + b1 * r[t-1] + ... + bp * r[t-p] + e[t]

fitted by ordinary least squares (numpy only) on the ``window`` most recent samples. At bar ``i``
the samples are those whose target return ``r[t]`` ends at a bar ``t <= i`` — all known when bar
``i`` closes — and the forecast is for ``r[i+1]``, the return the trade then earns: the training
window is strictly before the traded bar, and the lookahead check passes (a test runs it).

Trading rule (book sizing: LONG buys 100 units from flat, EXIT closes): a forecast above
``threshold`` goes LONG; one below ``-threshold`` EXITs (and, with ``allow_short``, goes SHORT
from flat). Forecasts are computed once, up front, for every bar (rolling sums of the normal
equations, so each bar's fit uses its own window only), and read at the cursor.

    fbt run examples/forecast_ar.py:forecast_ar --data ORCL=../shared/data/backtrader/orcl-1995-2014.txt \\
        --param lags=5 --param window=500 --report
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import fbt
from fbt.core.strategy import StepFunction

__all__ = ["ar_forecasts", "forecast_ar"]

FloatArray = npt.NDArray[np.float64]


def ar_forecasts(prices: FloatArray, *, lags: int, window: int) -> FloatArray:
    """Return, per bar ``i``, the AR(``lags``) forecast of ``r[i+1]`` fitted on samples ending at ``<= i``.

    NaN until ``window`` samples exist (and before the first price). Each bar's fit uses the sums of
    ``x x'`` and ``x y`` over its own window only (prefix sums, differenced), so the forecast at
    ``i`` is the same whether the data ends at ``i`` or goes on.

    >>> p = 100 * np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.01], 20)]))   # r alternates +1 %, -1 %
    >>> f = ar_forecasts(p, lags=1, window=10)
    >>> bool(np.isnan(f[10])), round(float(f[11]), 6), round(float(f[-1]), 6)   # after +1 % comes -1 %, and back
    (True, -0.01, 0.01)
    """
    n = prices.shape[0]
    out = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(prices), prepend=np.nan)  # r[t] for t >= 1
    k = lags + 1
    # sample t: x = [1, r[t-1], ..., r[t-lags]], y = r[t]; usable from t = lags + 1
    first = lags + 1
    if n <= first + window - 1:
        return out
    t = np.arange(first, n)
    x = np.ones((t.size, k))
    for j in range(1, k):
        x[:, j] = r[t - j]
    y = r[t]
    good = np.isfinite(y) & np.isfinite(x).all(axis=1)
    x = np.where(good[:, None], x, 0.0)
    y = np.where(good, y, 0.0)
    xx = np.cumsum(x[:, :, None] * x[:, None, :], axis=0)
    xy = np.cumsum(x * y[:, None], axis=0)
    count = np.cumsum(good.astype(np.int64))
    # window of samples ending at sample s (bar t[s]): samples s - window + 1 .. s
    s = np.arange(window - 1, t.size)
    before = s - window
    sxx = xx[s] - np.where(before[:, None, None] >= 0, xx[np.maximum(before, 0)], 0.0)
    sxy = xy[s] - np.where(before[:, None] >= 0, xy[np.maximum(before, 0)], 0.0)
    full = (count[s] - np.where(before >= 0, count[np.maximum(before, 0)], 0)) == window
    ridge = 1e-12 * np.eye(k)  # keeps flat stretches (all-zero returns) solvable
    beta = np.linalg.solve(sxx + ridge, sxy[:, :, None])[:, :, 0]
    bars = t[s]
    latest = np.ones((bars.size, k))
    for j in range(1, k):
        latest[:, j] = r[bars - j + 1]  # r[i], r[i-1], ...: the lags for r[i+1]
    forecast = np.sum(latest * beta, axis=1)
    ok = full & np.isfinite(latest).all(axis=1)
    out[bars[ok]] = forecast[ok]
    return out


def forecast_ar(lags: int = 5, window: int = 250, threshold: float = 0.0, allow_short: bool = False) -> fbt.Strategy:
    """Return the AR forecasting strategy (state: per symbol -1 short, 0 flat, +1 long)."""
    for name, value, low in (("lags", lags, 1), ("window", window, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: expected a whole number >= {low}, got {value!r}")
    if window <= lags + 1:
        raise ValueError(f"window: expected more samples than coefficients ({lags + 1}), got {window}")
    if not threshold >= 0:
        raise ValueError(f"threshold: expected a forecast return >= 0, got {threshold!r}")
    strategy_id = "forecast_ar"

    def build(data: fbt.BarData) -> tuple[tuple[int, ...], StepFunction[tuple[int, ...]]]:
        symbols = data.symbols
        forecasts = [ar_forecasts(data.column(s, "adj_close"), lags=lags, window=window).tolist() for s in symbols]
        columns = range(len(symbols))

        def step(state: tuple[int, ...], event: fbt.MarketEvent) -> tuple[tuple[int, ...], tuple[fbt.SignalEvent, ...]]:
            i = event.index
            signals: list[fbt.SignalEvent] = []
            held = list(state)
            for k in columns:
                f = forecasts[k][i]
                if f != f:  # NaN: no model yet
                    continue
                kind = None
                if f > threshold and held[k] <= 0:
                    kind, held[k] = (fbt.SignalType.EXIT, 0) if held[k] < 0 else (fbt.SignalType.LONG, 1)
                elif f < -threshold and held[k] >= 0:
                    if held[k] > 0:
                        kind, held[k] = fbt.SignalType.EXIT, 0
                    elif allow_short:
                        kind, held[k] = fbt.SignalType.SHORT, -1
                if kind is not None:
                    signals.append(fbt.SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id,
                                                   symbol=symbols[k], signal_type=kind))
            return (tuple(held), tuple(signals)) if signals else (state, ())

        return (0,) * len(symbols), step

    params = (("allow_short", allow_short), ("lags", lags), ("threshold", threshold), ("window", window))
    return fbt.Strategy(name=strategy_id, build=build, params=params)
