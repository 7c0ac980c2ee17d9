"""The fixed context of one run, shared by every reducer of that run."""

from __future__ import annotations

from typing import Any

import attrs

from fbt.config import Config
from fbt.market import BarData
from fbt.strategy import StepFunction

__all__ = ["Context"]


@attrs.frozen(eq=False, kw_only=True)
class Context:
    """What every reducer of a run may read and nobody changes: data, configuration, strategies."""

    data: BarData
    config: Config
    strategy_names: tuple[str, ...]
    steps: tuple[StepFunction[Any], ...]
    symbol_index: dict[str, int] = attrs.field(init=False)

    @symbol_index.default
    def _index(self) -> dict[str, int]:
        return {s: k for k, s in enumerate(self.data.symbols)}
