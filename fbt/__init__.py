"""fbt: a functional, event-driven backtester.

Frozen records, pure reducers ``(state, event) -> (state, events)`` and one fold that replays a
bar stream through them, faithful to the event-driven engine of the book it follows.

The names of ``__all__`` are loaded on first use (PEP 562): ``import fbt`` reads only this module
and :mod:`fbt.version`, so the command line can answer ``fbt --help`` without loading pandas.
``fbt.run``, ``from fbt import run`` and ``from fbt import *`` all load the module behind a name
when it is first asked for; the subpackages (``fbt.research``, ``fbt.io``, ...) load the same way.

>>> import fbt
>>> sorted(fbt.__all__) == fbt.__all__
True
>>> fbt.Config.__module__
'fbt.kernel.config'
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from fbt.version import __version__ as __version__

if TYPE_CHECKING:  # the real types, for type checkers; at run time __getattr__ loads each on first use
    from fbt.audit import Diff, diff, replay
    from fbt.audit.debug import Frame, break_at, has_event, walk
    from fbt.audit.lookahead import LookaheadReport, check_lookahead
    from fbt.backtest.result import Result, run
    from fbt.core.errors import ConfigError, DataError, FbtError, StrategyError
    from fbt.core.events import (
        CancelReason,
        Direction,
        FillEvent,
        FillQuantity,
        MarketEvent,
        OrderCancelled,
        OrderConditions,
        OrderEvent,
        OrderRejected,
        OrderTerms,
        OrderType,
        RejectReason,
        SignalEvent,
        SignalType,
        SizeBasis,
        TimeInForce,
    )
    from fbt.core.indicators import rolling_mean
    from fbt.core.market import Bar, BarData
    from fbt.core.state import Broker, Portfolio, Working, World
    from fbt.core.strategy import Strategy, strategy
    from fbt.io.loaders import DataWarning, load, load_dir
    from fbt.io.sql import ingest, load_sql
    from fbt.journal import Fingerprints, Journal, JournalError, fingerprints, read_journal, write_journal
    from fbt.kernel.config import Config
    from fbt.kernel.loop import BarStep, Run, fold, scan
    from fbt.models.commission import (
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
    from fbt.models.instrument import Instrument
    from fbt.models.risk import Group, Risk
    from fbt.models.sizing import (
        AllCash,
        FixedCash,
        FixedQuantity,
        Kelly,
        PercentOfEquity,
        TargetWeight,
        VolatilityTarget,
    )
    from fbt.models.slippage import FixedBps, HalfSpread, SquareRootImpact, VolumeShare
    from fbt.report import write_report
    from fbt.research.sweep import Grid, grid, grid_points, grid_random, sweep
    from fbt.research.walkforward import WalkForward, walk_forward
    from fbt.results.stats import detect_frequency, drawdowns, sharpe_ratio
    from fbt.stream import StreamResult, read_chunks, run_stream

# Where each exported name lives: the module to import when the name is first asked for.
_SOURCES: dict[str, tuple[str, ...]] = {
    "fbt.audit": ("Diff", "diff", "replay"),
    "fbt.audit.debug": ("Frame", "break_at", "has_event", "walk"),
    "fbt.audit.lookahead": ("LookaheadReport", "check_lookahead"),
    "fbt.backtest.result": ("Result", "run"),
    "fbt.core.errors": ("ConfigError", "DataError", "FbtError", "StrategyError"),
    "fbt.core.events": (
        "CancelReason", "Direction", "FillEvent", "FillQuantity", "MarketEvent", "OrderCancelled", "OrderConditions",
        "OrderEvent", "OrderRejected", "OrderTerms", "OrderType", "RejectReason", "SignalEvent", "SignalType",
        "SizeBasis", "TimeInForce",
    ),
    "fbt.core.indicators": ("rolling_mean",),
    "fbt.core.market": ("Bar", "BarData"),
    "fbt.core.state": ("Broker", "Portfolio", "Working", "World"),
    "fbt.core.strategy": ("Strategy", "strategy"),
    "fbt.io.loaders": ("DataWarning", "load", "load_dir"),
    "fbt.io.sql": ("ingest", "load_sql"),
    "fbt.journal": ("Fingerprints", "Journal", "JournalError", "fingerprints", "read_journal", "write_journal"),
    "fbt.kernel.config": ("Config",),
    "fbt.kernel.loop": ("BarStep", "Run", "fold", "scan"),
    "fbt.models.commission": (
        "IBFixed", "IBTiered", "PercentOfValue", "PerShare", "PerTrade", "combined", "ib_seed_commission",
        "zero_commission",
    ),
    "fbt.models.fill": ("Execution",),
    "fbt.models.instrument": ("Instrument",),
    "fbt.models.risk": ("Group", "Risk"),
    "fbt.models.sizing": ("AllCash", "FixedCash", "FixedQuantity", "Kelly", "PercentOfEquity", "TargetWeight",
                          "VolatilityTarget"),
    "fbt.models.slippage": ("FixedBps", "HalfSpread", "SquareRootImpact", "VolumeShare"),
    "fbt.report": ("write_report",),
    "fbt.research.sweep": ("Grid", "grid", "grid_points", "grid_random", "sweep"),
    "fbt.research.walkforward": ("WalkForward", "walk_forward"),
    "fbt.results.stats": ("detect_frequency", "drawdowns", "sharpe_ratio"),
    "fbt.stream": ("StreamResult", "read_chunks", "run_stream"),
}
_MODULE_OF: dict[str, str] = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "AllCash",
    "Bar",
    "BarData",
    "BarStep",
    "Broker",
    "CancelReason",
    "Config",
    "ConfigError",
    "DataError",
    "DataWarning",
    "Diff",
    "Direction",
    "Execution",
    "FbtError",
    "FillEvent",
    "FillQuantity",
    "Fingerprints",
    "FixedBps",
    "FixedCash",
    "FixedQuantity",
    "Frame",
    "Grid",
    "Group",
    "HalfSpread",
    "IBFixed",
    "IBTiered",
    "Instrument",
    "Journal",
    "JournalError",
    "Kelly",
    "LookaheadReport",
    "MarketEvent",
    "OrderCancelled",
    "OrderConditions",
    "OrderEvent",
    "OrderRejected",
    "OrderTerms",
    "OrderType",
    "PerShare",
    "PerTrade",
    "PercentOfEquity",
    "PercentOfValue",
    "Portfolio",
    "RejectReason",
    "Result",
    "Risk",
    "Run",
    "SignalEvent",
    "SignalType",
    "SizeBasis",
    "SquareRootImpact",
    "Strategy",
    "StrategyError",
    "StreamResult",
    "TargetWeight",
    "TimeInForce",
    "VolatilityTarget",
    "VolumeShare",
    "WalkForward",
    "Working",
    "World",
    "break_at",
    "check_lookahead",
    "combined",
    "detect_frequency",
    "diff",
    "drawdowns",
    "fingerprints",
    "fold",
    "grid",
    "grid_points",
    "grid_random",
    "has_event",
    "ib_seed_commission",
    "ingest",
    "load",
    "load_dir",
    "load_sql",
    "read_chunks",
    "read_journal",
    "replay",
    "rolling_mean",
    "run",
    "run_stream",
    "scan",
    "sharpe_ratio",
    "strategy",
    "sweep",
    "walk",
    "walk_forward",
    "write_journal",
    "write_report",
    "zero_commission",
]


def __getattr__(name: str) -> Any:
    """Load an exported name (or a subpackage) on first use, and keep it so the next look-up is direct."""
    module = _MODULE_OF.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")  # a subpackage: ``import fbt; fbt.research``
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes, with the exported names not yet loaded."""
    return sorted({*globals(), *__all__})
