"""Live and paper trading: the backtest's strategy and portfolio driven by a broker.

The kernel never awaits and never reads a clock; this package is the imperative shell around it.
Pure parts (normalising broker messages, order identity, contracts, bar aggregation) sit beside the
adapters that talk to a broker (``sim`` for paper trading with the backtest's own execution
models, ``ib`` for Interactive Brokers through the optional ``ib_async`` extra).

The session (:func:`run_live`): a feed of closed bars (:class:`ReplayFeed` plays a data directory,
:class:`IBFeed` aggregates IB's 5-second bars into closed bars), an adapter (:class:`SimAdapter`,
``fbt.live.ib.IBAdapter``), a write-ahead journal; it returns the same :class:`fbt.Result` as
:func:`fbt.run`, and resumes from its journal after a stop or a crash without sending an order twice.
"""

from fbt.live.feed import Feed, IBFeed, ReplayFeed, Tape, feed_from
from fbt.live.session import LiveError, result_of, run_live, run_live_async, session_fingerprint
from fbt.live.sim import SimAdapter

__all__ = ["Feed", "IBFeed", "LiveError", "ReplayFeed", "SimAdapter", "Tape", "feed_from", "result_of", "run_live",
           "run_live_async", "session_fingerprint"]
