"""What the journal costs: time and disk per 1,000,000 bars of the crossover 5/20 on minute bars.

    python benchmarks/bench_journal.py            # 1,000,000 bars x 1 symbol (~63k fills)
    python benchmarks/bench_journal.py --quick    # 10x smaller

Data: ``bench_core.minute_bars`` (a seeded random walk). Times are medians of ``--repeat`` runs on
this machine: writing the journal (every event line, hashed as it is written; the market by
reference), reading and verifying it, replaying it (read + refold + compare), and ``state_at`` the
middle bar with checkpoints every 1,000 bars.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import minute_bars

import fbt
from fbt.journal import data_fingerprint, read_journal, write_journal
from fbt.sample.strategies import moving_average_crossover


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10x fewer bars")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    n = 100_000 if a.quick else 1_000_000
    data = minute_bars(n, 1)
    strategy = moving_average_crossover(5, 20)
    t_run = median_time(lambda: fbt.run(strategy, data), a.repeat)
    result = fbt.run(strategy, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        t_write = median_time(lambda: write_journal(result, path), a.repeat)
        size = path.stat().st_size
        packed_path = Path(tmp) / "journal.jsonl.gz"
        t_packed = median_time(lambda: write_journal(result, packed_path), a.repeat)
        packed = packed_path.stat().st_size
        t_read = median_time(lambda: read_journal(path), a.repeat)
        t_replay = median_time(lambda: fbt.replay(path, data, strategy), a.repeat)
    fresh = data.head(len(data))  # a new record: its fingerprint is not cached yet
    t_data = median_time(lambda: data_fingerprint(fresh), 1)
    t_state = median_time(lambda: result.state_at(n // 2 + 777), a.repeat)
    s = result.statistics
    events = len(result.run.events)
    print(f"1 symbol x {n:,} minute bars, crossover 5/20: {s['fills']:,} fills, {events:,} journalled events")
    print(f"  fbt.run (fold + curve + statistics)      {t_run:7.3f} s")
    print(f"  write journal.jsonl (hashing included)   {t_write:7.3f} s  {size:,} bytes ({size / events:.0f} B/event)")
    print(f"  write journal.jsonl.gz                   {t_packed:7.3f} s  {packed:,} bytes")
    print(f"  read + verify the journal                {t_read:7.3f} s")
    print(f"  fbt.replay (read + refold + compare)     {t_replay:7.3f} s")
    print(f"  data fingerprint (values + mask)         {t_data:7.3f} s")
    print(f"  state_at(middle bar), checkpoints 1,000  {t_state * 1e3:7.3f} ms")


if __name__ == "__main__":
    main()
