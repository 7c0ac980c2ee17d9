"""Naming a bar: by index or by time, and showing a bar's time."""

from __future__ import annotations

import datetime
from typing import TypeAlias

import numpy as np

from fbt.core.errors import ConfigError
from fbt.core.market import BarData

#: A bar index, or a time naming the last bar at or before it.
When: TypeAlias = int | str | datetime.date | np.datetime64


# --- naming bars --------------------------------------------------------------------------------


def _to_ns(when: object) -> int:
    if isinstance(when, np.datetime64):
        return int(when.astype("datetime64[ns]").astype(np.int64))
    if isinstance(when, datetime.datetime):
        value = getattr(when, "value", None)  # pandas.Timestamp: int nanoseconds (UTC if zoned)
        if isinstance(value, int):
            return value
        if when.tzinfo is not None:
            when = when.astimezone(datetime.UTC).replace(tzinfo=None)
        return int(np.datetime64(when, "ns").astype(np.int64))
    if isinstance(when, datetime.date):
        return int(np.datetime64(when, "ns").astype(np.int64))
    if isinstance(when, str):
        try:
            return int(np.datetime64(when.strip().replace(" ", "T", 1), "ns").astype(np.int64))
        except ValueError:
            raise ConfigError(f"expected a bar index or a time such as 2020-01-31 or 2020-01-31 10:00, "
                              f"got {when!r}") from None
    raise ConfigError(f"expected a bar index or a time, got {type(when).__name__} {when!r}")


def format_time(ns: int, time_format: str = "datetime") -> str:
    """Format a bar time (int nanoseconds) as text: a date for daily data, else date and time.

    >>> format_time(86_400 * 10**9, "date"), format_time(90 * 10**9)
    ('1970-01-02', '1970-01-01 00:01:30')
    """
    if time_format == "date":
        unit = "D"
    else:
        unit = next(u for u, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)) if ns % scale == 0)
    text = np.datetime_as_string(np.array([ns], dtype="datetime64[ns]"), unit=unit)  # type: ignore[call-overload]
    return str(text[0]).replace("T", " ")


def bar_of(data: BarData, when: When) -> int:
    """Return the bar a :data:`When` names: an index as given, a time the last bar at or before it.

    >>> import numpy as np
    >>> day = 86_400 * 10**9
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64) * day,
    ...                             columns={"close": np.array([[1.0, 2.0, 3.0]])}, time_format="date")
    >>> bar_of(data, 2), bar_of(data, "1970-01-02"), bar_of(data, "1970-01-02 12:00")
    (2, 1, 1)
    >>> bar_of(data, 3)
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: bar 3 is out of range: the run has bars 0 .. 2 (1970-01-01 .. 1970-01-03)
    """
    n = len(data)
    span = (f"bars 0 .. {n - 1} ({format_time(int(data.timestamps[0]), data.time_format)} .. "
            f"{format_time(int(data.timestamps[-1]), data.time_format)})") if n else "no bars"
    if isinstance(when, bool):
        raise ConfigError(f"expected a bar index or a time, got {when!r}")
    if isinstance(when, int | np.integer):
        if not 0 <= int(when) < n:
            raise ConfigError(f"bar {int(when)} is out of range: the run has {span}")
        return int(when)
    ns = _to_ns(when)
    if not n or ns < int(data.timestamps[0]) or ns > int(data.timestamps[-1]):
        raise ConfigError(f"time {format_time(ns, 'datetime')} is out of range: the run has {span}")
    return int(np.searchsorted(data.timestamps, ns, side="right")) - 1
