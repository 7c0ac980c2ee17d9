"""The time to write a 1,000,000-bar run's journal (``journal.jsonl``), as ``fbt run`` writes it.

    python benchmarks/journal.py               # 1,000,000 minute bars (~190k events), median of 3
    python benchmarks/journal.py --bars 100000 --repeat 5
    python benchmarks/journal.py --reference   # and the line-by-line writer, interleaved; same bytes?

Data: ``benchmarks/run.py``'s (a seeded random walk of 1-minute bars for one symbol, written to CSV
in a temporary folder and read back with ``fbt.load_dir``, as the main benchmark's ``fbt run``
does), run with the book's crossover 5/20, 100 units, capital 100,000.

Timed: :func:`fbt.journal.write_journal` of that run, into a new file each time (as ``fbt run``
writes into a new folder; removing the file afterwards is not timed), the header included and the
data fingerprint already known, and again with it not yet known (as in ``fbt run``, where the
journal's header is the first to need it; its own time is printed apart too), every event line
encoded, hashed and written: the median and the best of ``--repeat`` runs. Other load
on this machine shows in the figures, so ``--reference`` also times, interleaved with it, what the
writer did before it wrote blocks (the line encoder ``fbt.journal.codec._event_line`` over batches
of 16,384 events, each joined, written as text and hashed), and checks that the event lines are
byte for byte the same.
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
from fbt.journal.fingerprint import _DATA_FINGERPRINTS  # noqa: E402
from fbt.sample.strategies import moving_average_crossover  # noqa: E402

SHORT, LONG, CAPITAL = 5, 20, 100_000.0


def reference_write(result: fbt.Result, path: Path) -> None:
    """The event lines as the line-at-a-time writer wrote them: the line encoder over batches of
    16,384 events, each batch joined, written as text and hashed."""
    run = result.run
    bars, events, digest = run.event_bars.tolist(), run.events, hashlib.sha256()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for lo in range(0, len(events), 1 << 14):
            chunk = events[lo : lo + (1 << 14)]
            text = "\n".join(map(_event_line, range(lo, lo + len(chunk)), bars[lo : lo + (1 << 14)], chunk)) + "\n"
            fh.write(text)
            digest.update(text.encode())


def timed(fn: Callable[[Path], object], path: Path) -> float:
    """Seconds ``fn(path)`` takes; the file is removed afterwards (not timed)."""
    t = time.perf_counter()
    fn(path)
    elapsed = time.perf_counter() - t
    path.unlink()
    return elapsed


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
        write_journal(result, path)
        size, events = path.stat().st_size, len(result.run.events)
        if a.reference:  # the event lines must be the line encoder's, byte for byte
            reference_write(result, folder / "reference.jsonl")
            lines = path.read_bytes().split(b"\n", 1)[1].rsplit(b"\n", 2)[0] + b"\n"
            same = lines == (folder / "reference.jsonl").read_bytes()
        new: list[float] = []
        old: list[float] = []
        cold: list[float] = []
        for k in range(a.repeat):  # a new file each time, as fbt run writes into a new folder
            new.append(timed(lambda p: write_journal(result, p), folder / f"journal-{k}.jsonl"))
            _DATA_FINGERPRINTS.pop(data, None)  # as in fbt run: the journal's header is the first to need it
            cold.append(timed(lambda p: write_journal(result, p), folder / f"cold-{k}.jsonl"))
            if a.reference:  # interleaved, so that both see the same load
                old.append(timed(lambda p: reference_write(result, p), folder / f"reference-{k}.jsonl"))
        print(f"{a.bars:,} minute bars, crossover {SHORT}/{LONG}: {events:,} events, journal {size:,} bytes; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"  write journal.jsonl (encode + hash + write): median of {a.repeat} {statistics.median(new):6.3f} s, "
              f"best {min(new):6.3f} s")
        print(f"  the same, the data not yet hashed (fbt run): median of {a.repeat} {statistics.median(cold):6.3f} s, "
              f"best {min(cold):6.3f} s")
        if a.reference:
            print(f"  the line-by-line writer's event lines:       median of {a.repeat} "
                  f"{statistics.median(old):6.3f} s, best {min(old):6.3f} s; bytes {'identical' if same else 'DIFFER'}")
        print(f"  data fingerprint (once per run, not in the above)        {t_data:6.3f} s")
        if a.reference and not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
