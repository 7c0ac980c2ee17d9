"""Helpers of the live session tests: a session on a data directory, the same backtest, their files."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import fbt
from fbt.live import ReplayFeed, SimAdapter, run_live
from fbt.models.registry import parse_sizing, parse_slippage

FILES = ("equity.csv", "fills.csv", "trades.csv", "journal.jsonl", "stats.json")
SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


def config(execution: str = "book", slippage: str = "none", sizing: str = "book") -> fbt.Config:
    return fbt.Config(execution=execution, slippage=parse_slippage(slippage), sizing=parse_sizing(sizing))


def live(strategy: Any, data_dir: str | os.PathLike[str], folder: pathlib.Path, cfg: fbt.Config,
         symbols: list[str] | None = None) -> fbt.Result:
    feed = ReplayFeed(data_dir, symbols)
    venue = SimAdapter(folder / "venue.jsonl", cfg, feed.symbols)
    return run_live(strategy, feed, venue, folder / "journal.jsonl", cfg)


def same_files(a: pathlib.Path, b: pathlib.Path) -> list[str]:
    """The output files that differ between two folders (empty: byte-identical)."""
    return [f for f in FILES if (a / f).read_bytes() != (b / f).read_bytes()]
