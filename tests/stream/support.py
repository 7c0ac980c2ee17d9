"""Random bar files and the comparison of a streaming run's outputs with the in-memory run's."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

import fbt

DAY = 86_400 * 10**9
MINUTE = 60 * 10**9
FILES = ("equity.csv", "fills.csv", "trades.csv", "journal.jsonl")
#: statistics whose streaming value may differ from the in-memory one in the last bits (see fbt.stream.tally)
ROUNDED = {"sharpe_ratio", "annual_volatility", "sortino_ratio", "turnover", "average_win", "average_loss",
           "expectancy", "profit_factor", "calmar_ratio"}


def write_symbol(path: Path, stamps: np.ndarray, close: np.ndarray, *, daily: bool) -> None:
    """One Yahoo-style CSV: Date, Open, High, Low, Close, Adj Close, Volume."""
    labels = np.datetime_as_string(stamps.astype("datetime64[ns]"), unit="D" if daily else "s")
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    for k, (label, c) in enumerate(zip(labels.tolist(), close.tolist(), strict=True)):
        o = close[k - 1] if k else c
        lines.append(f"{label.replace('T', ' ')},{o:.2f},{max(o, c) + 0.05:.2f},{min(o, c) - 0.01:.2f},{c:.2f},"
                     f"{c:.2f},{100 + 7 * k}")
    path.write_text("\n".join(lines) + "\n")


def random_dir(folder: Path, seed: int, n_bars: int, n_symbols: int = 1, *, shared: bool = True,
               daily: bool = True) -> Path:
    """Seeded random walks; with ``shared=False`` each symbol keeps a random subset of the clock."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    step = DAY if daily else MINUTE
    clock = np.int64(1_262_304_000 * 10**9) + np.arange(n_bars, dtype=np.int64) * step
    for s in range(n_symbols):
        keep = np.ones(n_bars, dtype=bool) if shared or s == 0 else rng.random(n_bars) < 0.7
        if not shared and s == 1:  # starts late and ends early
            keep[: n_bars // 3] = False
            keep[-n_bars // 5 :] = False
        if not keep.any():
            keep[n_bars // 2] = True
        close = np.round(50.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n_bars))), 2)
        write_symbol(folder / f"S{s}.csv", clock[keep], np.maximum(close[keep], 0.5), daily=daily)
    return folder


def compare(streamed: Path, in_memory: Path) -> None:
    """The files are equal byte for byte; the statistics equal, or within a few ulps where documented."""
    for name in FILES:
        a, b = (streamed / name).read_text(), (in_memory / name).read_text()
        if a != b:
            la, lb = a.splitlines(), b.splitlines()
            first = next((k for k, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y), min(len(la), len(lb)))
            raise AssertionError(f"{name} differs at line {first + 1}: {la[first:first + 1]} != {lb[first:first + 1]}"
                                 f" ({len(la)} vs {len(lb)} lines)")
    sa = json.loads((streamed / "stats.json").read_text())
    sb = json.loads((in_memory / "stats.json").read_text())
    assert list(sa) == list(sb)
    for key in sa:
        close_enough(key, sa[key], sb[key])


def close_enough(key: str, a: Any, b: Any) -> None:
    if key in ROUNDED and isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (key, a, b)
    else:
        assert a == b, (key, a, b)


def both(strategy: fbt.Strategy[Any], folder: Path, out: Path, chunk_bars: int, **options: Any) -> None:
    """Run streaming and in memory on the same folder and compare their outputs."""
    fbt.run(strategy, fbt.load_dir(folder), **options).write(out / "memory")
    fbt.run_stream(strategy, folder, out / "stream", chunk_bars=chunk_bars, **options)
    compare(out / "stream", out / "memory")
