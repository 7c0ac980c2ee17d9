"""The reconnect schedule: capped exponential backoff as a pure, deterministic sequence of delays.

An adapter that lost its venue waits ``delays[0]`` seconds before its first attempt to reconnect,
``delays[1]`` before the second, and so on; each delay is ``factor`` times the one before, never more
than ``cap``. No jitter is drawn: the same settings give the same schedule in every process, and a
test replaces the sleep, not the schedule.

>>> backoff_delays(6, initial=1.0, factor=2.0, cap=10.0)
(1.0, 2.0, 4.0, 8.0, 10.0, 10.0)
>>> backoff_delays(3, initial=0.5, factor=3.0, cap=60.0)
(0.5, 1.5, 4.5)
"""

from __future__ import annotations

import math

from fbt.core.errors import ConfigError

__all__ = ["backoff_delays"]


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: expected a positive finite number of seconds, got {value!r}")
    return float(value)


def backoff_delays(attempts: int, *, initial: float = 1.0, factor: float = 2.0, cap: float = 30.0) -> tuple[float, ...]:
    """Return the delays (seconds) before each of ``attempts`` reconnect attempts.

    The first delay is ``min(initial, cap)``; each later one is the previous times ``factor``, capped
    at ``cap``. ``factor`` must be at least 1 (a schedule never shortens).

    >>> backoff_delays(0)
    ()
    >>> backoff_delays(4, initial=5.0, cap=2.0)
    (2.0, 2.0, 2.0, 2.0)
    >>> backoff_delays(2, factor=0.5)
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: factor: expected a number >= 1, got 0.5
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise ConfigError(f"attempts: expected a whole number >= 0, got {attempts!r}")
    first = _positive("initial", initial)
    top = _positive("cap", cap)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not math.isfinite(factor) or factor < 1:
        raise ConfigError(f"factor: expected a number >= 1, got {factor!r}")
    delays: list[float] = []
    delay = min(first, top)
    for _ in range(attempts):
        delays.append(delay)
        delay = min(delay * float(factor), top)
    return tuple(delays)
