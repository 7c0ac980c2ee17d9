"""The run's configuration: a frozen record, validated when built.

>>> Config().capital, Config().execution
(100000.0, <Execution.BOOK: 'book'>)
>>> Config(capital=-1)
Traceback (most recent call last):
...
fbt.core.errors.ConfigError: capital: expected a positive finite number, got -1
>>> Config(execution="next-open").execution
<Execution.NEXT_OPEN: 'next-open'>
"""

from __future__ import annotations

import math

import attrs

from fbt.core.errors import ConfigError
from fbt.models.commission import CommissionModel, ib_seed_commission
from fbt.models.fill import Execution
from fbt.models.instrument import Instruments, instruments_of
from fbt.models.risk import Risk
from fbt.models.sizing import SizingModel
from fbt.models.slippage import SlippageModel

__all__ = ["Config", "Execution"]


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def _execution(value: object) -> Execution:
    if isinstance(value, Execution):
        return value
    try:
        return Execution(value)
    except ValueError:
        names = ", ".join(e.value for e in Execution)
        raise ConfigError(f"execution: expected one of {names}, got {value!r}") from None


@attrs.frozen(kw_only=True)
class Config:
    """How a run trades and is measured. The defaults reproduce the book.

    - ``capital``: starting cash (currency units).
    - ``quantity``: units per order for a LONG or SHORT signal from flat under the book's naive
      sizing (the book's 100; used when ``sizing`` is None).
    - ``commission``: a commission model ``(quantity, price) -> commission`` (``fbt.models.commission``).
    - ``periods``: bars per year for the Sharpe ratio (252 for daily bars, as the seed).
    - ``execution``: when market orders fill — ``book`` (at once at ``adj_close``), ``next-open``,
      ``next-close`` (``fbt.models.fill.Execution``; its value as text is accepted).
    - ``slippage``: a slippage model (``fbt.models.slippage``) or None for none.
    - ``sizing``: a sizing model (``fbt.models.sizing``) or None for the book's naive sizing.
    - ``risk``: risk checks and constraints (``fbt.models.risk.Risk``).
    - ``instruments``: contract terms per symbol (``fbt.models.instrument.Instrument``: multiplier,
      tick size), as ``{symbol: Instrument}`` or pairs, kept as pairs sorted by symbol; symbols not
      named are stocks (multiplier 1, no tick). A tick size needs a realistic execution: book mode
      fills at the bar's ``adj_close``, the book's price, and refuses one with an error.
    """

    capital: float = 100_000.0
    quantity: float = 100.0
    commission: CommissionModel = ib_seed_commission
    periods: float = 252.0
    execution: Execution = attrs.field(default=Execution.BOOK, converter=_execution)
    slippage: SlippageModel | None = None
    sizing: SizingModel | None = None
    risk: Risk = attrs.field(default=Risk(), validator=attrs.validators.instance_of(Risk))
    instruments: Instruments = attrs.field(default=(), converter=instruments_of)

    def __attrs_post_init__(self) -> None:
        for name in ("capital", "quantity", "periods"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        for name in ("commission", "slippage", "sizing"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ConfigError(f"{name}: expected a model (a callable), got {type(value).__name__}")
        if self.execution is Execution.BOOK and self.risk.volume_limit is not None:
            raise ConfigError("volume_limit: book mode fills at once or not at all; use execution next-open or "
                              "next-close for partial fills")
        ticked = [symbol for symbol, instrument in self.instruments if instrument.tick_size is not None]
        if self.execution is Execution.BOOK and ticked:
            raise ConfigError(f"tick_size ({ticked[0]}): book mode fills at once at the bar's adj_close, the book's "
                              f"price, off any tick grid; use execution next-open or next-close for tick rounding")

    @property
    def is_book(self) -> bool:
        """True when the run is exactly the book's engine (the fast, seed-identical path)."""
        return (self.execution is Execution.BOOK and self.slippage is None and self.sizing is None
                and not self.risk.checks_fills(self.execution) and not self.multiplied)

    @property
    def multiplied(self) -> bool:
        """True when some instrument has a multiplier other than 1 (fills and marks then scale by it)."""
        return any(instrument.multiplier != 1.0 for _, instrument in self.instruments)
