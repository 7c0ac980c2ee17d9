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
from collections.abc import Iterable, Mapping
from typing import TypedDict

import attrs

from fbt.core.errors import ConfigError
from fbt.models.commission import CommissionModel, ib_seed_commission
from fbt.models.fill import Execution
from fbt.models.identity import IDENTITY, UNLESS_DEFAULT
from fbt.models.instrument import Instrument, Instruments, instruments_of
from fbt.models.risk import Risk
from fbt.models.sizing import SizingModel, fill_quantity_of
from fbt.models.slippage import SlippageModel

__all__ = ["IDENTITY", "UNLESS_DEFAULT", "Config", "Execution", "Overrides", "identity_fields", "with_overrides"]

# IDENTITY: the metadata key of a :class:`Config` field: ``False`` for a field that changes no event
# of a run (how it is measured or kept in memory), left out of the journal's header and the
# fingerprints; ``UNLESS_DEFAULT`` for one that enters them only when not at its default
# (fbt.models.identity)


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


def _risk_free(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"risk_free: expected a yearly rate as a finite number (0.02 for 2 %), got {value!r}")
    return float(value)


def _checkpoint_every(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"checkpoint_every: expected a whole number >= 1 or None, got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class Config:
    """How a run trades and is measured. The defaults reproduce the book.

    - ``capital``: starting cash (currency units).
    - ``quantity``: units per order for a LONG or SHORT signal from flat under the book's naive
      sizing (the book's 100; used when ``sizing`` is None).
    - ``commission``: a commission model ``(quantity, price) -> commission`` (``fbt.models.commission``).
    - ``periods``: bars per year for the Sharpe ratio (252 for daily bars, as the seed); the run
      functions also take ``periods="auto"`` for the data's own frequency and resolve it against the
      data before the run starts (:func:`fbt.results.stats.detect_frequency`).
    - ``execution``: when market orders fill — ``book`` (at once at ``adj_close``), ``next-open``,
      ``next-close`` (``fbt.models.fill.Execution``; its value as text is accepted).
    - ``slippage``: a slippage model (``fbt.models.slippage``) or None for none.
    - ``sizing``: a sizing model (``fbt.models.sizing``) or None for the book's naive sizing.
    - ``risk``: risk checks and constraints (``fbt.models.risk.Risk``).
    - ``instruments``: contract terms per symbol (``fbt.models.instrument.Instrument``: multiplier,
      tick size), as ``{symbol: Instrument}`` or pairs, kept as pairs sorted by symbol; symbols not
      named are stocks (multiplier 1, no tick). A tick size needs a realistic execution: book mode
      fills at the bar's ``adj_close``, the book's price, and refuses one with an error.
    - ``risk_free``: a yearly rate (0.02 for 2 %) for the Sharpe and Sortino ratios.
    - ``checkpoint_every``: keep the world after every so many bars, so that ``state_at(bar)``
      steps at most that many (None keeps none).
    - ``close_at_end``: close every open position with a fill on the last bar, at its open in
      ``next-open`` mode and at its close otherwise (``adj_close`` in book mode), so the last trade
      is counted (backtesting.py's ``finalize_trades``). An order still working after the last bar
      is then an error. Off by default; it enters the run's identity only when on.

    ``risk_free`` and ``checkpoint_every`` change how a run is measured and kept, not one of its
    events: they are not part of its identity (the journal's header and the fingerprints leave them
    out; see :data:`IDENTITY`). The book's figures are the defaults; :func:`with_overrides` (what
    ``fbt.run(strategy, data, config, **overrides)`` calls) changes some of them:

    >>> with_overrides(Config(capital=5_000), risk_free=0.02).risk_free
    0.02
    >>> [a.name for a in identity_fields(Config) if a.name in ("risk", "risk_free", "checkpoint_every")]
    ['risk']
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
    risk_free: float = attrs.field(default=0.0, converter=_risk_free, metadata={IDENTITY: False})
    checkpoint_every: int | None = attrs.field(default=1_000, converter=_checkpoint_every,
                                               metadata={IDENTITY: False})
    close_at_end: bool = attrs.field(default=False, metadata={IDENTITY: UNLESS_DEFAULT})

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.close_at_end, bool):
            raise ConfigError(f"close_at_end: expected True or False, got {self.close_at_end!r}")
        for name in ("capital", "quantity", "periods"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        for name in ("commission", "slippage", "sizing"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ConfigError(f"{name}: expected a model (a callable), got {type(value).__name__}")
        if self.execution is Execution.BOOK and self.risk.volume_limit is not None:
            raise ConfigError("volume_limit: book mode fills at once or not at all; use execution next-open or "
                              "next-close for partial fills")
        if self.execution is Execution.BOOK and fill_quantity_of(self.sizing, 1.0) is not None:
            raise ConfigError(f"sizing: {self.sizing!r} resolves the quantity at the fill, which needs a fill after "
                              f"the signal; use execution next-open or next-close (book mode fills at once at the "
                              f"signal bar's adj_close, where the sizing's estimate is the size)")
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


class Overrides(TypedDict, total=False):
    """The keyword overrides every run function takes: :class:`Config`'s fields (``periods`` may
    also be ``"auto"``, resolved against the data; ``risk`` and ``instruments`` may be None)."""

    capital: float
    quantity: float
    commission: CommissionModel
    periods: float | str
    execution: Execution | str
    slippage: SlippageModel | None
    sizing: SizingModel | None
    risk: Risk | None
    instruments: Mapping[str, Instrument] | Iterable[tuple[str, Instrument]] | None
    risk_free: float
    checkpoint_every: int | None
    close_at_end: bool


def identity_fields(cls: type[Config]) -> tuple[attrs.Attribute, ...]:  # type: ignore[type-arg]
    """The fields that name a run (every field not marked ``IDENTITY: False``), in declaration order."""
    return tuple(a for a in attrs.fields(cls) if a.metadata.get(IDENTITY, True))


def with_overrides(config: Config | None, /, **overrides: object) -> Config:
    """Return ``config`` (default: the book's :class:`Config`) with ``overrides`` applied by
    :func:`attrs.evolve`; an unknown name is a :class:`~fbt.core.errors.ConfigError` naming it.

    >>> with_overrides(None, capital=5_000).capital
    5000.0
    >>> with_overrides(None, capitl=5_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: capitl: not a configuration field; expected one of capital, quantity, ...
    """
    base = config if config is not None else Config()
    if not isinstance(base, Config):
        raise ConfigError(f"config: expected fbt.Config, got {type(base).__name__}")
    names = [a.name for a in attrs.fields(Config)]
    for name in overrides:
        if name not in names:
            raise ConfigError(f"{name}: not a configuration field; expected one of {', '.join(names)}")
    if "risk" in overrides and overrides["risk"] is None:
        overrides["risk"] = Risk()
    if "instruments" in overrides and overrides["instruments"] is None:
        overrides["instruments"] = ()
    return attrs.evolve(base, **overrides) if overrides else base  # type: ignore[arg-type]
