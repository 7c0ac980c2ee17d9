"""Reading market data: CSV files and DataFrames into checked, aligned :class:`~fbt.core.market.BarData`."""

from fbt.io.loaders import DataWarning, SymbolBars, bars_from_frame, load, load_dir, read_bars

__all__ = ["DataWarning", "SymbolBars", "bars_from_frame", "load", "load_dir", "read_bars"]
