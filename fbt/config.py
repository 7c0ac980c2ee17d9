"""The run's configuration: a frozen record, validated when built.

>>> Config().capital
100000.0
>>> Config(capital=-1)
Traceback (most recent call last):
...
fbt.errors.ConfigError: capital: expected a positive finite number, got -1
"""

from __future__ import annotations

import math

import attrs

from fbt.errors import ConfigError
from fbt.models.commission import CommissionModel, ib_seed_commission

__all__ = ["Config"]


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


@attrs.frozen(kw_only=True)
class Config:
    """How a run trades and is measured.

    - ``capital``: starting cash (currency units).
    - ``quantity``: units per order for a LONG or SHORT signal from flat (the book's 100).
    - ``commission``: a commission model ``(quantity, price) -> commission``.
    - ``periods``: bars per year for the Sharpe ratio (252 for daily bars, as the seed).
    """

    capital: float = 100_000.0
    quantity: float = 100.0
    commission: CommissionModel = ib_seed_commission
    periods: float = 252.0

    def __attrs_post_init__(self) -> None:
        for name in ("capital", "quantity", "periods"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
