"""The time to write a 1,000,000-bar run's journal (``journal.jsonl``), as ``fbt run`` writes it.

    python benchmarks/journal.py               # 1,000,000 minute bars (~190k events), median of 3
    python benchmarks/journal.py --bars 100000 --repeat 5
    python benchmarks/journal.py --reference   # also the line-by-line encoder, same process

Data: ``benchmarks/run.py``'s (a seeded random walk of 1-minute bars for one symbol, written to CSV
in a temporary folder and read back with ``fbt.load_dir``, as the main benchmark's ``fbt run``
does), run with the book's crossover 5/20, 100 units, capital 100,000.

Timed: :func:`fbt.journal.write_journal` of that run into a fresh file, the header included and the
data fingerprint already known (``fbt run`` computes it once; its own time is printed apart), every
event line encoded, hashed and written. The median of ``--repeat`` runs; other load on this machine
shows in the figures, so compare figures taken back to back. ``--reference`` also times the
line-by-line encoder (``fbt.journal.codec._event_line`` for each event, joined, hashed and written
as text), the one the block encoder must match byte for byte, and checks that the bytes agree.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fbt  # noqa: E402
from fbt.journal import data_fingerprint, write_journal  # noqa: E402
from fbt.journal.codec import _event_line  # noqa: E402
from fbt.sample.strategies import moving_average_crossover  # noqa: E402

SHORT, LONG, CAPITAL = 5, 20, 100_000.0


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def reference_write(result: fbt.Result, path: Path) -> bytes:
    """The event lines by the line encoder, each with its ``\\n``, hashed and written as text; the bytes."""
    run = result.run
    text = "".join(line + "\n" for line in map(_event_line, range(len(run.events)), run.event_bars.tolist(),
                                               run.events))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    data = text.encode()
    hashlib.sha256(data).hexdigest()
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reference", action="store_true", help="also time the line-by-line encoder and compare bytes")
    a = ap.parse_args()

    import run as harness  # benchmarks/run.py: the main benchmark's data

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        harness.write_csv(harness.generate(a.bars), folder / "data")
        data = fbt.load_dir(folder / "data")
        result = fbt.run(moving_average_crossover(SHORT, LONG), data, capital=CAPITAL)
        t = time.perf_counter()
        data_fingerprint(data)
        t_data = time.perf_counter() - t
        path = folder / "journal.jsonl"
        t_write = median_time(lambda: write_journal(result, path), a.repeat)
        size = path.stat().st_size
        events = len(result.run.events)
        print(f"{a.bars:,} minute bars, crossover {SHORT}/{LONG}: {events:,} events, journal {size:,} bytes; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"  write journal.jsonl (encode + hash + write), median of {a.repeat}  {t_write:7.3f} s")
        print(f"  data fingerprint (once per run, apart)                    {t_data:7.3f} s")
        if a.reference:
            ref_path = folder / "reference.jsonl"
            t_ref = median_time(lambda: reference_write(result, ref_path), a.repeat)
            lines = path.read_bytes().split(b"\n", 1)[1].rsplit(b"\n", 2)[0] + b"\n"
            same = lines == ref_path.read_bytes()
            print(f"  event lines by the line encoder (reference), median of {a.repeat} {t_ref:7.3f} s; "
                  f"bytes {'identical' if same else 'DIFFER'}")
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
