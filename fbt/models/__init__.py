"""Pure pricing rules: one concern per module, each formula in its docstring."""

from fbt.models.commission import CommissionModel, ib_seed_commission, zero_commission

__all__ = ["CommissionModel", "ib_seed_commission", "zero_commission"]
