"""Bars per second of the crossover example: the fold alone, the in-process run, and `fbt run`.

    python benchmarks/bench_core.py            # 1,000,000 bars x 1 symbol and 100,000 x 10 symbols
    python benchmarks/bench_core.py --quick    # 10x smaller

Data: synthetic 1-minute bars (a seeded random walk rounded to cents, so flat bars occur), made
here and, for the end-to-end figure, written to CSV in a temporary folder. Figures are medians of
``--repeat`` runs on this machine; the fold is timed from loaded data to the final state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fbt
from fbt.kernel.loop import fold
from fbt.sample.strategies import moving_average_crossover

ROOT = Path(__file__).resolve().parents[1]


def minute_bars(n_bars: int, n_symbols: int, seed: int = 7) -> fbt.BarData:
    """Random-walk minute bars for ``n_symbols`` symbols sharing one clock."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-01-01T00:00", "ns").astype(np.int64)
    ts = start + np.arange(n_bars, dtype=np.int64) * 60_000_000_000
    steps = rng.normal(0.0, 0.02, (n_symbols, n_bars))
    close = np.round(100.0 + np.cumsum(steps, axis=1), 2)
    close = np.maximum(close, 1.0)
    return fbt.BarData.from_columns(
        symbols=tuple(f"S{k:02d}" for k in range(n_symbols)), timestamps=ts,
        columns={"close": close, "high": close + 0.01, "low": close - 0.01},
    )


def write_csv(data: fbt.BarData, directory: Path) -> None:
    from fbt.io.writers import format_floats, format_timestamps
    from fbt.io.writers import write_csv as write

    stamps = format_timestamps(data.timestamps, "datetime")
    for symbol in data.symbols:
        close = data.column(symbol, "close")
        write(directory / f"{symbol}.csv", ["timestamp", "open", "high", "low", "close", "volume"],
              [stamps, format_floats(close), format_floats(close + 0.01), format_floats(close - 0.01),
               format_floats(close), ["100"] * len(close)])


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench(n_bars: int, n_symbols: int, repeat: int) -> None:
    data = minute_bars(n_bars, n_symbols)
    strategy = moving_average_crossover(5, 20)
    config = fbt.Config()
    total = n_bars * n_symbols
    t_fold = median_time(lambda: fold((strategy,), data, config), repeat)
    t_run = median_time(lambda: fbt.run(strategy, data), repeat)
    result = fbt.run(strategy, data)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        write_csv(data, folder / "data")
        cmd = [sys.executable, "-m", "fbt.cli", "run", "fbt.sample.strategies:moving_average_crossover",
               "--data", str(folder / "data"), "--param", "short_window=5", "--param", "long_window=20",
               "--out", str(folder / "out")]
        env = dict(os.environ, PYTHONPATH=str(ROOT))

        def whole() -> None:
            subprocess.run(cmd, check=True, capture_output=True, env=env)

        t_cli = median_time(whole, repeat)
    print(f"{n_symbols} symbol(s) x {n_bars:,} bars, {result.statistics['fills']:,} fills:")
    print(f"  fold (loaded data -> final state)   {t_fold:8.3f} s  {total / t_fold:12,.0f} bars/s")
    print(f"  fbt.run (fold + curve + statistics) {t_run:8.3f} s  {total / t_run:12,.0f} bars/s")
    print(f"  `fbt run` whole process (CSV in, files out) {t_cli:6.3f} s  {total / t_cli:12,.0f} bars/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10x fewer bars")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    scale = 10 if a.quick else 1
    bench(1_000_000 // scale, 1, a.repeat)
    bench(100_000 // scale, 10, a.repeat)


if __name__ == "__main__":
    main()
