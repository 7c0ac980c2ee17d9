"""The one error type fbt raises, and its kinds.

Every error fbt raises on purpose is an :class:`FbtError`; the command line prints it as one line
and exits with status 2. Messages name what was wrong and where: ``PATH:ROW: COLUMN: expected X,
got Y`` for data, the argument name for configuration.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "FbtError", "StrategyError"]


class FbtError(Exception):
    """Base class of every error fbt raises on purpose."""


class DataError(FbtError):
    """Market data that cannot be loaded or aligned: a missing file, a bad row, a bad column."""


class ConfigError(FbtError):
    """A bad argument: capital, parameters, symbols, a strategy that cannot be found."""


class StrategyError(FbtError):
    """A strategy that raised, returned something other than signals, or named an unknown symbol."""
