"""Instruments: what one unit of a symbol is worth, and the price grid it trades on.

An :class:`Instrument` describes a symbol beyond its prices (equities, FX and futures alike):

- ``multiplier``: the currency value of a one-point move per unit. A fill of ``q`` units at
  ``price`` costs ``sign * price * q * multiplier + commission``; a position is worth ``position *
  adj_close * multiplier``; P&L is ``Δprice * multiplier * q``. 1 for stocks and spot FX (quantity
  in units of the base currency), 50 for the E-mini S&P 500 (ES), 1,000 for crude oil (CL).
- ``tick_size``: the price grid (None: any price). Outside book mode a fill price after slippage
  is rounded to the grid — **buys up, sells down** (:func:`round_to_tick`): a price between two
  ticks cannot trade, and the trader meets the next tick on the far side, so rounding never gives
  a better price than the model. Where that would take a price the bar's ``[low, high]`` held out
  of the range, it is clamped inward to the nearest tick inside (:func:`tick_fill_price`); limit
  and stop levels round to the side that keeps the order's promise (:func:`tick_level`).

- ``margin``: initial margin per contract (None: the notional is paid, as for a stock). A
  futures-like instrument holds ``|position| * margin`` of the account instead of paying the
  notional; its P&L is marked to cash every bar. The portfolio books fills as before (``cash``
  then holds the notional paid, and ``cash + sum(holdings)`` is the account's value either way);
  cash *as a futures broker reports it* (backtrader's ``getcash()``) is ``value - margin held``
  (:func:`fbt.kernel.portfolio.margin_cash`), and the cash check and the leverage limits count the
  margin held, not the notional (:func:`fbt.models.risk.check_fill`). A margin at or above one
  contract's value at a fill is refused there (reason ``margin``).

Models see one unit's value: sizing models and commission models get ``price * multiplier`` as
their ``price``, so a cash or percent-of-equity size divides by the contract's value and a
value-based commission charges on the notional.

>>> Instrument(multiplier=50, tick_size=0.25)
Instrument(multiplier=50.0, tick_size=0.25)
>>> parse_instrument("ES:multiplier=50,tick=0.25")
('ES', Instrument(multiplier=50.0, tick_size=0.25))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import attrs

from fbt.core.errors import ConfigError
from fbt.models.identity import IDENTITY, UNLESS_DEFAULT

__all__ = ["Instrument", "Instruments", "instruments_of", "parse_instrument", "round_to_tick", "tick_fill_price",
           "tick_level"]

#: Relative tolerance of the tick grid: ``price / tick`` within this of a whole number is on it.
TICK_TOLERANCE = 1e-9


def _multiplier(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"multiplier: expected a positive finite number, got {value!r}")
    return float(value)


def _optional(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: expected a positive finite number or None, got {value!r}")
    return float(value)


def _tick(value: object) -> float | None:
    return _optional("tick_size", value)


def _margin(value: object) -> float | None:
    return _optional("margin", value)


@attrs.frozen(kw_only=True, repr=False)
class Instrument:
    """One symbol's contract terms: ``multiplier`` (currency per point per unit), ``tick_size``, ``margin``.

    The defaults (1, no tick, no margin) are a stock's, and leave a run bit-identical to one
    without it. ``margin`` enters a run's identity only when set (:mod:`fbt.models.identity`).

    >>> Instrument().multiplier, Instrument().tick_size, Instrument().margin
    (1.0, None, None)
    >>> Instrument(multiplier=10, margin=1_000)
    Instrument(multiplier=10.0, tick_size=None, margin=1000.0)
    >>> Instrument(multiplier=0)
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: multiplier: expected a positive finite number, got 0
    >>> Instrument(margin=-5)
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: margin: expected a positive finite number or None, got -5
    """

    multiplier: float = attrs.field(default=1.0, converter=_multiplier)
    tick_size: float | None = attrs.field(default=None, converter=_tick)
    margin: float | None = attrs.field(default=None, converter=_margin, metadata={IDENTITY: UNLESS_DEFAULT})

    def __repr__(self) -> str:
        margin = "" if self.margin is None else f", margin={self.margin!r}"
        return f"Instrument(multiplier={self.multiplier!r}, tick_size={self.tick_size!r}{margin})"


#: Instruments by symbol, sorted by symbol (a tuple: configurations hold no dicts).
Instruments = tuple[tuple[str, Instrument], ...]


def instruments_of(value: Mapping[str, Instrument] | Iterable[tuple[str, Instrument]] | None) -> Instruments:
    """Return ``{symbol: Instrument}`` (or pairs) as sorted, checked pairs.

    >>> instruments_of({"NQ": Instrument(multiplier=20), "ES": Instrument(multiplier=50)})
    (('ES', Instrument(multiplier=50.0, tick_size=None)), ('NQ', Instrument(multiplier=20.0, tick_size=None)))
    """
    if value is None:
        return ()
    pairs = list(value.items()) if isinstance(value, Mapping) else list(value)
    seen: set[str] = set()
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ConfigError(f"instruments: expected {{symbol: fbt.Instrument}}, got an item {pair!r}")
        symbol, instrument = pair
        if not isinstance(symbol, str) or not symbol:
            raise ConfigError(f"instruments: expected a symbol (text), got {symbol!r}")
        if not isinstance(instrument, Instrument):
            raise ConfigError(f"instruments: {symbol}: expected fbt.Instrument, got {type(instrument).__name__}")
        if symbol in seen:
            raise ConfigError(f"instruments: symbol {symbol} given twice")
        seen.add(symbol)
    return tuple(sorted(pairs))


def parse_instrument(text: str) -> tuple[str, Instrument]:
    """Parse ``SYMBOL:multiplier=M,tick=T,margin=X`` (any part may be left out) as ``fbt run --instrument``
    takes it.

    >>> parse_instrument("FDAX:multiplier=10,margin=1000")
    ('FDAX', Instrument(multiplier=10.0, tick_size=None, margin=1000.0))
    >>> parse_instrument("EURUSD:tick=0.00001")
    ('EURUSD', Instrument(multiplier=1.0, tick_size=1e-05))
    >>> parse_instrument("ES:mult=50")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: --instrument: ES: unknown parameter 'mult'; did you mean 'multiplier'? ...
    """
    symbol, sep, params = text.partition(":")
    symbol = symbol.strip()
    if not symbol or not sep or not params.strip():
        raise ConfigError(f"--instrument: expected SYMBOL:multiplier=M,tick=T,margin=X, got {text!r}")
    names = {"multiplier": "multiplier", "tick": "tick_size", "tick_size": "tick_size", "margin": "margin"}
    kwargs: dict[str, float] = {}
    for item in (p.strip() for p in params.split(",") if p.strip()):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            raise ConfigError(f"--instrument: {symbol}: expected NAME=VALUE, got {item!r}")
        if key not in names:
            import difflib

            close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ConfigError(f"--instrument: {symbol}: unknown parameter {key!r}{hint} "
                              f"It takes multiplier, tick, margin")
        try:
            kwargs[names[key]] = float(value)
        except ValueError:
            raise ConfigError(f"--instrument: {symbol}: {key}: expected a number, got {value.strip()!r}") from None
    try:
        return symbol, Instrument(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"--instrument: {symbol}: {exc}") from None


def round_to_tick(price: float, tick: float, up: bool) -> float:
    """Round ``price`` to a multiple of ``tick``: up (``ceil``) or down (``floor``).

    A price already on the grid (within :data:`TICK_TOLERANCE` of a tick) is returned unchanged, so
    data on the grid fills at exactly the prices it would without a tick size.

    >>> round_to_tick(4500.1, 0.25, True), round_to_tick(4500.1, 0.25, False), round_to_tick(4500.25, 0.25, True)
    (4500.25, 4500.0, 4500.25)
    """
    steps = price / tick
    if abs(steps - round(steps)) <= TICK_TOLERANCE * max(1.0, abs(steps)):
        return price  # on the grid already (up to float noise): left exactly as it is
    return float((math.ceil(steps) if up else math.floor(steps)) * tick)


def tick_level(level: float, tick: float, *, buy: bool, limit: bool) -> float:
    """Round a limit or stop level to the grid, keeping the order's promise.

    A buy limit rounds down and a sell limit up (the order never pays more / receives less than
    asked); a buy stop rounds up and a sell stop down (it triggers once a tick at or beyond the
    level has traded).

    >>> tick_level(99.9, 0.25, buy=True, limit=True), tick_level(99.9, 0.25, buy=True, limit=False)
    (99.75, 100.0)
    """
    return round_to_tick(level, tick, buy != limit)


def tick_fill_price(price: float, tick: float, *, sign: int, low: float, high: float) -> float:
    """Round a fill price (after slippage) to the grid: buys up, sells down, clamped inward.

    ``sign`` is +1 for a buy, -1 for a sell. When ``price`` lies in the bar's ``[low, high]`` and the
    adverse rounding would leave the range, the price takes the tick on the other side instead
    (inside the range: rounding never invents a price the bar did not trade). A bar whose range
    holds no tick at all (data off the grid) keeps the unrounded price. A price that slippage has
    already moved outside the range rounds adversely, without a clamp.

    >>> tick_fill_price(4500.1, 0.25, sign=1, low=4499.0, high=4501.0)
    4500.25
    >>> tick_fill_price(4500.1, 0.25, sign=1, low=4499.0, high=4500.1)   # up would leave the bar: down
    4500.0
    >>> tick_fill_price(4500.1, 0.25, sign=-1, low=4500.05, high=4500.2)  # no tick inside the bar
    4500.1
    """
    rounded = round_to_tick(price, tick, sign > 0)
    slack = TICK_TOLERANCE * tick
    if not low <= price <= high or low - slack <= rounded <= high + slack:
        return rounded
    other = round_to_tick(price, tick, sign < 0)
    return other if low - slack <= other <= high + slack else price
