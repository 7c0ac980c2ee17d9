"""Bar frequency: detecting it from timestamps, and the periods per year it implies."""

from __future__ import annotations

import math

import attrs
import numpy as np

from fbt.core.units import NS_PER_SECOND, SECONDS_PER_DAY
from fbt.results.stats.returns import TRADING_DAYS, TRADING_HOURS, IntArray

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
    seconds = float(np.median(np.diff(ts))) / NS_PER_SECOND
    if seconds <= 0:
        return Frequency(name="unknown", periods=TRADING_DAYS, seconds=seconds)
    if seconds < SECONDS_PER_DAY:
        periods = TRADING_DAYS * TRADING_HOURS * 3600.0 / seconds
        if seconds % 3600 == 0:
            name = f"{seconds / 3600:g}-hour"
        elif seconds % 60 == 0:
            name = f"{seconds / 60:g}-minute"
        else:
            name = f"{seconds:g}-second"
        return Frequency(name=name, periods=periods, seconds=seconds)
    days = seconds / SECONDS_PER_DAY
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
