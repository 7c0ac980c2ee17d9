"""The fixed context of one run, shared by every reducer of that run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.errors import ConfigError
from fbt.core.market import FIELDS, BarData
from fbt.core.strategy import StepFunction
from fbt.kernel.config import Config
from fbt.models.fill import Execution
from fbt.models.risk import SymbolGroups

if TYPE_CHECKING:
    from fbt.kernel.parts import PartsFactory

__all__ = ["Context", "scaled_bars"]

FloatArray = npt.NDArray[np.float64]
_OPEN, _HIGH, _LOW, _CLOSE, _ADJ = (FIELDS.index(f) for f in ("open", "high", "low", "close", "adj_close"))


def scaled_bars(data: BarData) -> FloatArray:
    """Return open, high, low, close on the ``adj_close`` scale, shape ``(4, n_symbols, n_bars)``.

    Each is multiplied by ``adj_close / close`` of its bar (backtrader's Yahoo feed does the same),
    so the close becomes ``adj_close`` and fills share the marks' price scale. Where the data has no
    ``Adj Close`` the factor is 1 and the prices are the data's own.

    >>> d = BarData.from_columns(symbols=("A",), timestamps=np.arange(1, dtype=np.int64),
    ...     columns={"open": np.array([[10.0]]), "close": np.array([[20.0]]), "adj_close": np.array([[10.0]])})
    >>> scaled_bars(d)[:, 0, 0].tolist()
    [5.0, 10.0, 10.0, 10.0]
    """
    v = data.values
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(v[_ADJ] == v[_CLOSE], 1.0, v[_ADJ] / v[_CLOSE])
        out = np.stack((v[_OPEN] * factor, v[_HIGH] * factor, v[_LOW] * factor, v[_ADJ]))
    out.flags.writeable = False
    return out


@attrs.frozen(eq=False, kw_only=True)
class Context:
    """What every reducer of a run may read and nobody changes: data, configuration, strategies.

    ``parts`` is the factory of the run's step parts (:mod:`fbt.kernel.parts`): None for the
    simulated ones its configuration describes, else the caller's (a live broker's, say).

    Derived once: ``symbol_index``; outside book mode ``bars`` (see :func:`scaled_bars`); the risk
    groups each symbol belongs to (``groups``, as symbol indices); from ``config.instruments``, aligned
    to the data's symbols, ``multipliers`` (None when every one is 1: the stock path, unchanged) and
    ``ticks`` (None when no symbol has a tick size; else a tick size or None per symbol) and
    ``margins`` (None when no symbol has a per-contract margin; else a margin or None per symbol).
    """

    data: BarData
    config: Config
    strategy_names: tuple[str, ...]
    steps: tuple[StepFunction[Any], ...]
    parts: PartsFactory | None = None
    symbol_index: dict[str, int] = attrs.field(init=False)
    bars: FloatArray | None = attrs.field(init=False)
    groups: tuple[SymbolGroups, ...] = attrs.field(init=False)
    multipliers: tuple[float, ...] | None = attrs.field(init=False)
    ticks: tuple[float | None, ...] | None = attrs.field(init=False)
    margins: tuple[float | None, ...] | None = attrs.field(init=False)

    @symbol_index.default
    def _index(self) -> dict[str, int]:
        return {s: k for k, s in enumerate(self.data.symbols)}

    @bars.default
    def _bars(self) -> FloatArray | None:
        return None if self.config.execution is Execution.BOOK else scaled_bars(self.data)

    @groups.default
    def _groups(self) -> tuple[SymbolGroups, ...]:
        per_symbol: list[list[tuple[str, tuple[int, ...], float]]] = [[] for _ in self.data.symbols]
        for group in self.config.risk.groups:
            unknown = [s for s in group.symbols if s not in self.symbol_index]
            if unknown:
                raise ConfigError(f"group {group.name!r}: unknown symbol {unknown[0]!r}; the data has "
                                  f"{', '.join(self.data.symbols)}")
            members = tuple(self.symbol_index[s] for s in group.symbols)
            for k in members:
                per_symbol[k].append((group.name, members, group.limit))
        return tuple(tuple(g) for g in per_symbol)

    @multipliers.default
    def _multipliers(self) -> tuple[float, ...] | None:
        known = dict(self.config.instruments)
        unknown = [s for s in known if s not in self.symbol_index]
        if unknown:
            raise ConfigError(f"instruments: unknown symbol {unknown[0]!r}; the data has "
                              f"{', '.join(self.data.symbols)}")
        if not self.config.multiplied:
            return None
        return tuple(known[s].multiplier if s in known else 1.0 for s in self.data.symbols)

    @ticks.default
    def _ticks(self) -> tuple[float | None, ...] | None:
        return self._optional_terms("tick_size")

    @margins.default
    def _margins(self) -> tuple[float | None, ...] | None:
        return self._optional_terms("margin")

    def _optional_terms(self, name: str) -> tuple[float | None, ...] | None:
        """One optional instrument term per symbol (None where a symbol has none), or None when no symbol has one."""
        known = {s: getattr(i, name) for s, i in self.config.instruments}
        if all(v is None for v in known.values()):
            return None
        return tuple(known.get(s) for s in self.data.symbols)
