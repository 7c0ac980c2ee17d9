"""fbt: a functional, event-driven backtester.

Frozen records, pure reducers ``(state, event) -> (state, events)`` and one fold that replays a
bar stream through them, faithful to the event-driven engine of the book it follows.

>>> import fbt
>>> sorted(fbt.__all__) == fbt.__all__
True
"""

from fbt.audit import Diff, diff, replay
from fbt.audit.debug import Frame, break_at, has_event, walk
from fbt.audit.lookahead import LookaheadReport, check_lookahead
from fbt.backtest.result import Result, run
from fbt.core.errors import ConfigError, DataError, FbtError, StrategyError
from fbt.core.events import (
    CancelReason,
    Direction,
    FillEvent,
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
from fbt.models.sizing import FixedCash, FixedQuantity, Kelly, PercentOfEquity, TargetWeight, VolatilityTarget
from fbt.models.slippage import FixedBps, HalfSpread, SquareRootImpact, VolumeShare
from fbt.report import write_report
from fbt.research.sweep import Grid, grid, grid_points, grid_random, sweep
from fbt.research.walkforward import WalkForward, walk_forward
from fbt.results.stats import detect_frequency, drawdowns, sharpe_ratio
from fbt.stream import StreamResult, read_chunks, run_stream
from fbt.version import __version__ as __version__

__all__ = [
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
