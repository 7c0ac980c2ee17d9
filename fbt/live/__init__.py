"""Live and paper trading: the backtest's strategy and portfolio driven by a broker.

The kernel never awaits and never reads a clock; this package is the imperative shell around it.
Pure parts (normalising broker messages, order identity, contracts, bar aggregation) sit beside the
adapters that talk to a broker (``sim`` for paper trading with the backtest's own execution
models, ``ib`` for Interactive Brokers through the optional ``ib_async`` extra).
"""
