"""fbt: a functional, event-driven backtester.

Frozen records, pure reducers ``(state, event) -> (state, events)`` and one fold that replays a
bar stream through them, faithful to the event-driven engine of the book it follows.

>>> import fbt
>>> sorted(fbt.__all__) == fbt.__all__
True
"""

from fbt.backtest import Result, run
from fbt.config import Config
from fbt.errors import ConfigError, DataError, FbtError, StrategyError
from fbt.events import Direction, FillEvent, MarketEvent, OrderEvent, OrderType, SignalEvent, SignalType
from fbt.fold import BarStep, Run, fold, scan
from fbt.indicators import rolling_mean
from fbt.io.loaders import DataWarning, load, load_dir
from fbt.market import Bar, BarData
from fbt.models.commission import ib_seed_commission, zero_commission
from fbt.state import Broker, Portfolio, World
from fbt.stats import drawdowns, sharpe_ratio
from fbt.strategy import Strategy, strategy

__version__ = "0.1.0"

__all__ = [
    "Bar",
    "BarData",
    "BarStep",
    "Broker",
    "Config",
    "ConfigError",
    "DataError",
    "DataWarning",
    "Direction",
    "FbtError",
    "FillEvent",
    "MarketEvent",
    "OrderEvent",
    "OrderType",
    "Portfolio",
    "Result",
    "Run",
    "SignalEvent",
    "SignalType",
    "Strategy",
    "StrategyError",
    "World",
    "drawdowns",
    "fold",
    "ib_seed_commission",
    "load",
    "load_dir",
    "rolling_mean",
    "run",
    "scan",
    "sharpe_ratio",
    "strategy",
    "zero_commission",
]
