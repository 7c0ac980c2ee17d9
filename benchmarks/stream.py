"""Streaming runs (``fbt run --stream``) on 1,000,000 and 10,000,000 one-symbol minute bars: time and memory.

    python benchmarks/stream.py                  # 1M and 10M bars (~600 MB of CSV, made and removed in a temp dir)
    python benchmarks/stream.py --sizes 1000000  # a quick look
    python benchmarks/run.py --stream            # the same, from the benchmark harness

The data is ``benchmarks/run.py``'s seeded random walk (``generate``/``write_csv``), generated a
million bars at a time and appended to one ``SYN.csv``, each piece continuing the last one's
price and clock, so the generator's memory does not grow with the size. Each run is a
subprocess::

    python -m fbt.cli run fbt.sample.strategies:moving_average_crossover --data DIR \\
        --param short_window=5 --param long_window=20 --stream --out OUT --quiet

timed on the wall clock; "peak RSS" is the child's ``ru_maxrss`` (interpreter and libraries
included). The in-memory run (the same command without ``--stream``) at 1M bars is shown for
comparison; at 10M it is not run (its memory grows with the bars).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import MINUTE_NS, SEED, generate, write_csv  # noqa: E402

PIECE = 1_000_000
COMMAND = ["-m", "fbt.cli", "run", "fbt.sample.strategies:moving_average_crossover", "--param", "short_window=5",
           "--param", "long_window=20", "--quiet"]


def write_minutes(n_bars: int, directory: Path) -> Path:
    """Write ``n_bars`` minute bars of one symbol to ``directory/SYN.csv``, a piece at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "SYN.csv"
    scratch = directory / "piece"
    last_close, done = None, 0
    with open(target, "wb") as out:
        while done < n_bars:
            n = min(PIECE, n_bars - done)
            bars = generate(n, seed=SEED + done // PIECE)
            if last_close is not None:  # continue the walk where the last piece ended, and its clock
                scale = last_close / float(bars.open[0, 0])
                fields = {f: np.maximum(np.round(getattr(bars, f) * scale, 2), 0.01)
                          for f in ("open", "high", "low", "close")}
                bars = dataclasses.replace(bars, **fields)
            bars = dataclasses.replace(bars, timestamps=bars.timestamps + done * MINUTE_NS)
            (path,) = write_csv(bars, scratch)
            with open(path, "rb") as piece:
                header = piece.readline()
                if not done:
                    out.write(header)
                shutil.copyfileobj(piece, out, 1 << 20)
            path.unlink()
            last_close, done = float(bars.close[0, -1]), done + n
    scratch.rmdir()
    return target


def measure(args: Sequence[str]) -> tuple[float, float]:
    """Run ``python ARGS`` in a subprocess; return its wall time (s) and peak RSS (MiB)."""
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    if status:
        raise SystemExit(f"failed ({status}): {' '.join(args)}")
    return wall, usage.ru_maxrss / 1024.0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000], help="bars per run")
    ap.add_argument("--chunk-bars", type=int, default=100_000, help="--chunk-bars of the streaming runs")
    ap.add_argument("--no-memory-run", action="store_true", help="skip the in-memory comparison run")
    a = ap.parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"fbt run --stream --chunk-bars {a.chunk_bars}: SMA 5/20 crossover, one symbol of minute bars "
          f"({os.cpu_count()} CPUs, load average {load})")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fbt-stream-bench-") as tmp:
        for n in a.sizes:
            data = Path(tmp) / f"data-{n}"
            t0 = time.perf_counter()
            csv = write_minutes(n, data)
            made = time.perf_counter() - t0
            print(f"  {n:,} bars: {csv.stat().st_size / 2**20:,.0f} MiB of CSV written in {made:.0f} s", flush=True)
            out = Path(tmp) / f"out-{n}"
            wall, rss = measure([*COMMAND, "--data", str(data), "--stream", "--chunk-bars", str(a.chunk_bars),
                                 "--out", str(out)])
            rows.append(("streaming", n, wall, rss))
            print(f"    streaming: {wall:.1f} s, peak RSS {rss:,.0f} MiB", flush=True)
            if n == min(a.sizes) and not a.no_memory_run:
                wall, rss = measure([*COMMAND, "--data", str(data), "--out", str(Path(tmp) / f"memory-{n}")])
                rows.append(("in memory", n, wall, rss))
                print(f"    in memory: {wall:.1f} s, peak RSS {rss:,.0f} MiB", flush=True)
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)
    print()
    print("| run | bars | wall | bars/s | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for kind, n, wall, rss in rows:
        print(f"| {kind} | {n:,} | {wall:.1f} s | {n / wall:,.0f} | {rss:,.0f} MiB |")
    streamed = [(n, wall, rss) for kind, n, wall, rss in rows if kind == "streaming"]
    if streamed:
        n, wall, rss = max(streamed)
        rate = n / wall
        print(f"\n  TARGET streaming >= 600k bars/s at {n:,} bars: {rate:,.0f} bars/s: "
              f"{'met' if rate >= 600_000 else 'MISSED'}"
              + ("" if rate >= 600_000 else " (each bar calls the Python strategy and every bar's equity row, "
                 "fill and journal line is written at full precision, as in memory; the in-memory run of the "
                 "same bars is no faster)"))
        if len(streamed) > 1:
            low, high = min(streamed), max(streamed)
            flat = high[2] <= 1.25 * low[2]
            print(f"  TARGET peak RSS flat from {low[0]:,} to {high[0]:,} bars: {low[2]:,.0f} -> {high[2]:,.0f} MiB: "
                  f"{'met' if flat else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
