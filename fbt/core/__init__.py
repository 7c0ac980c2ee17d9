"""The vocabulary every layer speaks: errors, bars, events, state records and the strategy type.

Nothing here runs a backtest; these are frozen records and the checks made when they are built.
It imports nothing else of fbt.
"""
