"""fbt's bundled sample data: a small, deterministic, synthetic set of daily bars.

The files in ``fbt/sample/bars/`` are made by :func:`generate` (and a test holds them equal to a
fresh generation). They are SYNTHETIC — a geometric random walk with a fixed seed — for the demo
and the tests, not market data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fbt.core.strategy import Strategy
from fbt.sample.strategies import moving_average_crossover

__all__ = ["SAMPLE_SYMBOLS", "crossover", "generate", "sample_dir"]

#: The synthetic symbols, their yearly drift and yearly volatility.
SAMPLE_SYMBOLS: tuple[tuple[str, float, float], ...] = (
    ("SYNA", 0.08, 0.20),
    ("SYNB", 0.03, 0.30),
    ("SYNC", -0.02, 0.15),
)
SAMPLE_SEED = 20240101
SAMPLE_START = "2010-01-04"
SAMPLE_BARS = 2520  # ten years of business days


def sample_dir() -> Path:
    """Return the folder holding the bundled sample CSV files."""
    return Path(__file__).resolve().parent / "bars"


def crossover() -> Strategy[tuple[bool, ...]]:
    """Return the strategy ``fbt demo`` runs: the book's crossover, 100/400 bars."""
    return moving_average_crossover(100, 400)


def generate(directory: str | os.PathLike[str], *, seed: int = SAMPLE_SEED, bars: int = SAMPLE_BARS) -> list[Path]:
    """Write ``SYMBOL.csv`` daily bars (Yahoo's column order) for each sample symbol; return the paths.

    Closes follow ``close[t] = close[t-1] * exp((mu - sigma**2 / 2) / 252 + sigma / sqrt(252) * z)``
    with standard normal ``z`` from ``numpy.random.default_rng(seed)``; open, high and low are drawn
    around it so that ``low <= open, close <= high``; ``Adj Close`` equals ``Close`` scaled by a
    fixed 0.95 dividend factor; prices are rounded to 4 decimals (and then some repeat, giving flat
    bars as real data has).
    """
    rng = np.random.default_rng(seed)
    days = np.busday_offset(np.datetime64(SAMPLE_START), np.arange(bars), roll="forward")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, (symbol, mu, sigma) in enumerate(SAMPLE_SYMBOLS):
        z = rng.standard_normal(bars)
        close = (20.0 + 15.0 * k) * np.exp(np.cumsum((mu - sigma**2 / 2) / 252 + sigma / np.sqrt(252) * z))
        close = np.round(close, 2)
        gap = rng.normal(0.0, sigma / np.sqrt(252) / 3, bars)
        open_ = np.round(close * np.exp(gap), 2)
        spread = np.abs(rng.normal(0.0, sigma / np.sqrt(252) / 2, (2, bars)))
        high = np.round(np.maximum(open_, close) * (1 + spread[0]), 2)
        low = np.round(np.minimum(open_, close) * (1 - spread[1]), 2)
        adj = np.round(close * 0.95, 4)
        volume = rng.integers(100_000, 5_000_000, bars)
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        lines += [
            f"{d},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{a:.4f},{v}"
            for d, o, h, lo, c, a, v in zip(
                days.astype(str).tolist(), open_.tolist(), high.tolist(), low.tolist(), close.tolist(),
                adj.tolist(), volume.tolist(), strict=True,
            )
        ]
        path = out / f"{symbol}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
