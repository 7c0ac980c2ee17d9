"""Strategy factories for the sweep tests, importable by file path in worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from fbt.core.strategy import Strategy
from fbt.sample.strategies import moving_average_crossover

HERE = Path(__file__).resolve().parent
CALLS = {"count": 0, "stop_after": -1}


def crossover(short_window: int = 5, long_window: int = 20) -> Strategy[Any]:
    """The crossover, under another name (a file-path spec)."""
    return moving_average_crossover(short_window, long_window)


def fragile(short_window: int = 5, long_window: int = 20) -> Strategy[Any]:
    """The crossover, except that 13 is unlucky."""
    if short_window == 13:
        raise ValueError("13 is unlucky")
    return moving_average_crossover(short_window, long_window)


def counted(short_window: int = 5, long_window: int = 20) -> Strategy[Any]:
    """The crossover, counting its calls; Ctrl-C (KeyboardInterrupt) after ``stop_after`` calls."""
    CALLS["count"] += 1
    if 0 <= CALLS["stop_after"] < CALLS["count"]:
        raise KeyboardInterrupt
    return moving_average_crossover(short_window, long_window)


def slow(short_window: int = 5, long_window: int = 20) -> Strategy[Any]:
    """The crossover, slowly; each call is logged to $FBT_TEST_CALLS (one line per computed run)."""
    log = os.environ.get("FBT_TEST_CALLS")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{short_window},{long_window}\n")
    time.sleep(0.25)  # slow enough that the kill lands mid-sweep even on a busy machine
    return moving_average_crossover(short_window, long_window)
