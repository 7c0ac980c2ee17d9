"""When and at what price an order fills: the execution modes and the trigger rules of each order type.

Outside book mode the broker looks at a working order once per bar, on the bar's open, high, low
and close scaled to the ``adj_close`` scale (``x * adj_close / close``, as backtrader's Yahoo feed
does), so that fills and marks share one price scale. The rules below return the base price of a
fill (before slippage) or NaN for "no fill on this bar". A returned price always lies in the bar's
``[low, high]`` when the bar is consistent (``low <= open, close <= high``); the broker clamps it
into that range otherwise.

>>> Execution("next-open"), market_price(Execution.NEXT_CLOSE, open=10.0, close=11.0)
(<Execution.NEXT_OPEN: 'next-open'>, 11.0)
"""

from __future__ import annotations

import enum
import math

__all__ = ["Execution", "limit_price_fill", "market_price", "stop_limit_fill", "stop_price_fill"]

NAN = math.nan


class Execution(enum.Enum):
    """When a market order fills.

    - ``BOOK``: at once, at the signal bar's ``adj_close`` (the seed; no cash check, no waiting);
    - ``NEXT_OPEN``: at the open of the next bar the symbol really trades (backtrader, backtesting.py);
    - ``NEXT_CLOSE``: at the close of that bar (zipline).
    """

    BOOK = "book"
    NEXT_OPEN = "next-open"
    NEXT_CLOSE = "next-close"


def market_price(execution: Execution, *, open: float, close: float) -> float:
    """Return a market order's base price on the bar it fills: its open (next-open) or close.

    >>> market_price(Execution.NEXT_OPEN, open=10.0, close=11.0)
    10.0
    """
    return close if execution is Execution.NEXT_CLOSE else open


def limit_price_fill(sign: int, limit: float, *, open: float, high: float, low: float) -> float:
    """Return a limit order's fill price on a bar, or NaN when the limit is not reached.

    Buy (``sign = +1``): ``open`` if ``open <= limit`` (the bar opened through the limit: the better
    price), else ``limit`` if ``low <= limit``. Sell: ``open`` if ``open >= limit``, else ``limit``
    if ``high >= limit``.

    >>> limit_price_fill(1, 9.5, open=10.0, high=10.5, low=9.0), limit_price_fill(1, 10.5, open=10.0, high=11, low=9)
    (9.5, 10.0)
    >>> limit_price_fill(-1, 12.0, open=10.0, high=11.0, low=9.0)
    nan
    """
    if sign > 0:
        if open <= limit:
            return open
        return limit if low <= limit else NAN
    if open >= limit:
        return open
    return limit if high >= limit else NAN


def stop_price_fill(sign: int, stop: float, *, open: float, high: float, low: float) -> float:
    """Return a stop order's fill price on a bar, or NaN when the stop is not touched.

    Buy stop: ``open`` if ``open >= stop`` (a gap through the stop fills at the open, not at the
    stop), else ``stop`` if ``high >= stop``. Sell stop: ``open`` if ``open <= stop``, else ``stop``
    if ``low <= stop``.

    >>> stop_price_fill(-1, 9.0, open=10.0, high=10.5, low=8.5), stop_price_fill(-1, 9.0, open=8.0, high=9, low=7)
    (9.0, 8.0)
    """
    if sign > 0:
        if open >= stop:
            return open
        return stop if high >= stop else NAN
    if open <= stop:
        return open
    return stop if low <= stop else NAN


def stop_limit_fill(
    sign: int, stop: float, limit: float, *, triggered: bool, open: float, high: float, low: float
) -> tuple[float, bool]:
    """Return ``(fill price or NaN, triggered)`` for a stop-limit order on a bar.

    Once triggered (on an earlier bar, or at this bar's open: a buy with ``open >= stop``) it is a
    limit order at ``limit`` for the whole bar. Triggered inside the bar (a buy with
    ``open < stop <= high``), the price at the trigger is ``stop``: it fills there when the limit
    allows it (buy: ``limit >= stop``), otherwise it waits as a limit order for later bars — the
    path inside a bar is unknown, so fbt does not assume the price came back. Sells mirror buys.

    >>> stop_limit_fill(1, 10.2, 10.5, triggered=False, open=10.0, high=11.0, low=9.8)
    (10.2, True)
    >>> stop_limit_fill(1, 10.2, 10.1, triggered=False, open=10.0, high=11.0, low=9.8)
    (nan, True)
    >>> stop_limit_fill(1, 10.2, 10.1, triggered=True, open=10.4, high=10.6, low=10.0)
    (10.1, True)
    """
    if not triggered:
        gapped = open >= stop if sign > 0 else open <= stop
        if not gapped:
            touched = high >= stop if sign > 0 else low <= stop
            if not touched:
                return NAN, False
            marketable = limit >= stop if sign > 0 else limit <= stop
            return (stop if marketable else NAN), True
    return limit_price_fill(sign, limit, open=open, high=high, low=low), True
