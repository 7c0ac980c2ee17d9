"""Commission models: ``(quantity, price) -> commission`` in the account currency.

A commission model is any pure function of the filled quantity (units, unsigned) and the fill price
(per unit) that returns a non-negative commission for the whole fill.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["IB_SEED_MINIMUM", "CommissionModel", "ib_seed_commission", "zero_commission"]

CommissionModel = Callable[[float, float], float]

#: Minimum commission per order of the seed's Interactive Brokers schedule, in USD.
IB_SEED_MINIMUM = 1.30
#: Per-share rate up to and including 500 shares, in USD.
IB_SEED_RATE_SMALL = 0.013
#: Per-share rate above 500 shares, in USD.
IB_SEED_RATE_LARGE = 0.008
#: The largest order that pays the small-order rate, in shares.
IB_SEED_BREAK = 500


def ib_seed_commission(quantity: float, price: float = 0.0) -> float:
    """Return the seed's Interactive Brokers commission (US API directed orders) for one fill.

    ``commission = max(1.30, 0.013 * quantity)`` for ``quantity <= 500`` shares, else
    ``max(1.30, 0.008 * quantity)``, in USD. The price does not enter. (The seed's prose says
    0.08 USD above 500 shares; its code and IB's schedule of the time say 0.008, used here.)

    >>> ib_seed_commission(100)
    1.3
    >>> ib_seed_commission(400)
    5.2
    >>> ib_seed_commission(1000)
    8.0
    """
    if quantity <= IB_SEED_BREAK:
        return max(IB_SEED_MINIMUM, IB_SEED_RATE_SMALL * quantity)
    return max(IB_SEED_MINIMUM, IB_SEED_RATE_LARGE * quantity)


def zero_commission(quantity: float, price: float = 0.0) -> float:
    """Return no commission at all.

    >>> zero_commission(100, 10.0)
    0.0
    """
    return 0.0
