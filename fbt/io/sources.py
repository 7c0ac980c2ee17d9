"""The command line's ``--data`` items: a directory, or ``SYMBOL=FILE`` pairs."""

from __future__ import annotations

from collections.abc import Sequence

from fbt.core.errors import ConfigError

__all__ = ["symbol_files"]


def symbol_files(items: Sequence[str], symbols: str | None) -> dict[str, str] | None:
    """Return ``{SYMBOL: FILE}`` when every item is ``SYMBOL=FILE``; None when none is (a directory).

    >>> symbol_files(["A=a.csv", "B=b.csv"], None)
    {'A': 'a.csv', 'B': 'b.csv'}
    >>> symbol_files(["data/"], None) is None
    True
    """
    mapped = [item for item in items if "=" in item]
    if not mapped:
        return None
    if len(mapped) != len(items):
        raise ConfigError("--data: give either one directory or SYMBOL=FILE items, not both")
    if symbols:
        raise ConfigError("--symbols: only with --data DIR; with SYMBOL=FILE the symbols are named already")
    sources: dict[str, str] = {}
    for item in items:
        symbol, _, path = item.partition("=")
        if not symbol.strip() or not path.strip():
            raise ConfigError(f"--data: expected SYMBOL=FILE, got {item!r}")
        if symbol.strip() in sources:
            raise ConfigError(f"--data: symbol {symbol.strip()} given twice")
        sources[symbol.strip()] = path.strip()
    return sources
