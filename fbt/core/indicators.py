"""Causal indicators computed up front, vectorised: the value at bar ``i`` uses bars ``<= i`` only.

>>> import numpy as np
>>> rolling_mean(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
[1.0, 1.5, 2.5, 3.5]
>>> rolling_mean(np.array([np.nan, 2.0, 4.0]), 3).tolist()
[nan, 2.0, 3.0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["rolling_mean"]


def rolling_mean(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """Return the mean of the last ``window`` values at every bar; fewer while fewer exist.

    Leading NaNs (bars before a symbol's first) are skipped: the first value's mean is itself.
    Each mean is ``numpy.mean`` over the window in bar order, bit for bit, as the seed computes it
    bar by bar (a cumulative-sum mean differs in the last bits and flips crossover trades on ties).
    """
    if window < 1:
        raise ValueError(f"window: expected a whole number >= 1, got {window!r}")
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    valid = ~np.isnan(x)
    if not valid.any():
        return out
    first = int(np.argmax(valid))
    y = x[first:]
    warm = min(window - 1, y.shape[0])
    for i in range(warm):
        out[first + i] = np.mean(y[: i + 1])
    if y.shape[0] >= window:
        out[first + window - 1 :] = sliding_window_view(y, window).mean(axis=1)
    return out
