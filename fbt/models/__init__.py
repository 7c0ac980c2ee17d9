"""Pure pricing rules: one concern per module, each formula in its docstring.

- :mod:`fbt.models.fill`: execution modes and the trigger rules of each order type;
- :mod:`fbt.models.commission`: commission schedules;
- :mod:`fbt.models.slippage`: slippage and market impact;
- :mod:`fbt.models.sizing`: position sizing;
- :mod:`fbt.models.risk`: risk checks and trading constraints;
- :mod:`fbt.models.instrument`: contract multipliers and tick sizes (futures, FX);
- :mod:`fbt.models.registry`: the models by name, as ``fbt run`` takes them.
"""

from fbt.models.commission import (
    Combined,
    CommissionModel,
    IBFixed,
    IBTiered,
    PercentOfValue,
    PerShare,
    PerTrade,
    combined,
    ib_seed_commission,
    zero_commission,
)
from fbt.models.fill import Execution
from fbt.models.instrument import Instrument, parse_instrument
from fbt.models.risk import Group, Risk, check_fill
from fbt.models.sizing import (
    AllCash,
    FixedCash,
    FixedQuantity,
    Kelly,
    PercentOfEquity,
    SizingModel,
    TargetWeight,
    VolatilityTarget,
)
from fbt.models.slippage import FixedBps, HalfSpread, SlippageModel, SquareRootImpact, VolumeShare

__all__ = [
    "AllCash",
    "Combined",
    "CommissionModel",
    "Execution",
    "FixedBps",
    "FixedCash",
    "FixedQuantity",
    "Group",
    "HalfSpread",
    "IBFixed",
    "IBTiered",
    "Instrument",
    "Kelly",
    "PerShare",
    "PerTrade",
    "PercentOfEquity",
    "PercentOfValue",
    "Risk",
    "SizingModel",
    "SlippageModel",
    "SquareRootImpact",
    "TargetWeight",
    "VolatilityTarget",
    "VolumeShare",
    "check_fill",
    "combined",
    "ib_seed_commission",
    "parse_instrument",
    "zero_commission",
]
