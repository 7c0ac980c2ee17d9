"""fbt's benchmark harness: fbt against backtrader and a vectorised numpy reference, on the same data.

    python benchmarks/run.py                      # the engine comparison (~2 min on a quiet 2-core machine)
    python benchmarks/run.py --bars 100000 --bt-bars 20000 --repeat 1     # a quick look
    python benchmarks/run.py --scaling [--huge]   # fbt bars/s and memory vs size and symbol count
    python benchmarks/run.py --grid               # 1,000 crossover runs on 2,500 daily bars, one core
    python benchmarks/run.py --path-dependent     # crossover vs a trailing stop (state changes every bar)
    python benchmarks/run.py --compare --grid     # several sections in one go
    python benchmarks/run.py --nt-bars 1000000 --repeat 1   # nautilus_trader on 1M bars too (benchmarks/README.md)

With no section flag the engine comparison runs; ``--compare`` adds it to other sections. Every
time is the median of ``--repeat`` runs (default 3) on this machine; other load on it shows up in the
figures (the header prints the load average).

Data: a seeded random walk of 1-minute bars for one symbol (log-returns N(0, 0.0002) from 100.00,
every price rounded to cents, so about one bar in five is flat and SMAs tie), on a plain
minute clock, with Yahoo's columns ``Date,Open,High,Low,Close,Adj Close,Volume`` (``Adj Close`` ==
``Close``), written to CSV in a temporary folder. backtrader runs on the first ``--bt-bars`` bars of
the same series (it is ~100x slower), and fbt and numpy run on that prefix too so fills can be
compared bar for bar.

The engines, all the book's crossover (SMA 5/20 of the close, the mean of the available bars while
fewer exist; OUT/IN latch; 100 units at the same bar's close; IB seed commission; no cash check):

- fbt: in process, ``fbt.load_dir`` + ``fbt.run`` (CSV to statistics), and the fold alone
  (``fbt.kernel.loop.fold`` on loaded data); whole process, ``python -m fbt.cli run ... --out DIR``;
- numpy (``benchmarks/ref_numpy.py``): in process, ``pd.read_csv`` + the vectorised rules, and the
  rules alone; whole process, the same module run as a script;
- backtrader (``benchmarks/ref_backtrader.py``, the ``bench`` extra; skipped when not importable):
  always in its own process; in process = ``pd.read_csv`` + ``cerebro.run`` timed inside it;
- nautilus_trader (``benchmarks/peer_nautilus.py``, the ``bench-nautilus`` extra in a venv of its
  own, ``.venv-nautilus``; skipped with one line when absent): on the first ``--nt-bars`` bars, in its
  own process; in process = ``pd.read_csv`` + ``BarDataWrangler`` + engine set-up + ``BacktestEngine.run()``.
  Its fills are not fbt's, by design of its simulated venue; the harness rebuilds them from the bars
  and says why each differs (``benchmarks/nautilus_compare.py``, ``benchmarks/README.md``).

"in process" excludes interpreter start and imports; "whole process" is the wall time of the
subprocess; "peak RSS" is that subprocess's ``ru_maxrss`` (interpreter and libraries included).
Fills are compared as lists of (bar, side, price), exactly; a difference prints MISMATCH.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

import fbt
from fbt.journal import write_journal
from fbt.kernel.loop import fold
from fbt.sample.strategies import moving_average_crossover

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nautilus_compare  # noqa: E402
import ref_numpy  # noqa: E402
import trailing_stop  # noqa: E402

SEED = 20240611
CAPITAL = 100_000.0
SHORT, LONG = 5, 20
SYMBOL = "SYN"
MINUTE_NS = 60_000_000_000
DAY_NS = 86_400_000_000_000
T = TypeVar("T")

Fill = tuple[int, str, float]


# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Bars:
    """Generated OHLCV bars: ``timestamps`` (int64 ns), and ``(n_symbols, n_bars)`` float64 columns."""

    timestamps: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    daily: bool = False

    @property
    def n_bars(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def n_symbols(self) -> int:
        return int(self.close.shape[0])

    def head(self, n: int) -> Bars:
        return Bars(self.timestamps[:n], self.open[:, :n], self.high[:, :n], self.low[:, :n], self.close[:, :n],
                    self.volume[:, :n], self.daily)

    def symbols(self) -> tuple[str, ...]:
        return (SYMBOL,) if self.n_symbols == 1 else tuple(f"S{k:03d}" for k in range(self.n_symbols))


def generate(n_bars: int, n_symbols: int = 1, *, daily: bool = False, seed: int = SEED) -> Bars:
    """Seeded random-walk bars rounded to cents (flat bars occur); minute clock, or business days."""
    rng = np.random.default_rng(seed)
    sigma = 0.01 if daily else 0.0002
    close = np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, (n_symbols, n_bars)), axis=1)), 2)
    close = np.maximum(close, 0.01)
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    wick = sigma * 50.0
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0.0, wick, close.shape)), 2)
    low = np.maximum(np.round(np.minimum(open_, close) - np.abs(rng.normal(0.0, wick, close.shape)), 2), 0.01)
    volume = rng.integers(100, 10_000, close.shape).astype(np.float64)
    if daily:
        days = pd.bdate_range("2010-01-04", periods=n_bars).as_unit("ns")
        stamps = days.asi8.astype(np.int64)
    else:
        start = pd.Timestamp("2020-01-02 09:30").as_unit("ns").value
        stamps = start + np.arange(n_bars, dtype=np.int64) * MINUTE_NS
    return Bars(stamps, open_, high, low, close, volume, daily)


def write_csv(bars: Bars, directory: Path) -> list[Path]:
    """Write one Yahoo-style CSV per symbol into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    dates = pd.DatetimeIndex(bars.timestamps.astype("datetime64[ns]"))
    paths = []
    for k, symbol in enumerate(bars.symbols()):
        frame = pd.DataFrame({
            "Date": dates.date if bars.daily else dates,
            "Open": bars.open[k], "High": bars.high[k], "Low": bars.low[k], "Close": bars.close[k],
            "Adj Close": bars.close[k], "Volume": bars.volume[k].astype(np.int64),
        })
        path = directory / f"{symbol}.csv"
        frame.to_csv(path, index=False, float_format="%.2f")
        paths.append(path)
    return paths


def to_bardata(bars: Bars) -> fbt.BarData:
    """The same bars as fbt's in-memory store (no CSV)."""
    return fbt.BarData.from_columns(
        symbols=bars.symbols(), timestamps=bars.timestamps,
        columns={"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close,
                 "adj_close": bars.close, "volume": bars.volume},
        time_format="date" if bars.daily else "datetime",
    )


# ------------------------------------------------------------------------------------------ measuring
def timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median wall time of ``repeat`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        result = None  # free the last call's result before the clock starts, not inside the next timing
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result  # type: ignore[return-value]


@dataclass(frozen=True)
class Proc:
    seconds: float
    maxrss: int  # bytes
    stdout: str


# A small launcher between the harness and the measured command. Linux carries a process's peak RSS
# across fork/vfork + exec, so a command spawned straight from this (large) harness would report the
# harness's own peak; spawned from this launcher (~10 MB) it reports its own. The launcher times the
# command from spawn to exit and writes "seconds maxrss_kib exit_status" to the file named first.
_LAUNCHER = """
import os, sys, time
t = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t
with open(sys.argv[1], "w") as fh:
    fh.write(f"{seconds!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_process(cmd: Sequence[str]) -> Proc:
    """Run a command to its end; its wall time and peak resident memory (``ru_maxrss``)."""
    with tempfile.TemporaryDirectory() as tmp:
        report, out, err = Path(tmp, "report"), Path(tmp, "out"), Path(tmp, "err")
        with out.open("wb") as fo, err.open("wb") as fe:
            subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *cmd], stdout=fo, stderr=fe,
                           check=True)
        seconds, maxrss, status = report.read_text().split()
        stdout, stderr = out.read_text(), err.read_text()
    if int(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {status}:\n{stderr}")
    return Proc(float(seconds), int(maxrss) * 1024, stdout)


def processes(cmd: Sequence[str], repeat: int) -> tuple[float, int, list[Proc]]:
    """Median wall time and the largest peak RSS of ``repeat`` runs of a command."""
    runs = [run_process(cmd) for _ in range(max(1, repeat))]
    return statistics.median(r.seconds for r in runs), max(r.maxrss for r in runs), runs


def traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes that ``fn`` allocated on top of what existed before (tracemalloc; numpy included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ----------------------------------------------------------------------------------------------- fills
def fbt_fills(result: fbt.Result, data: fbt.BarData) -> list[Fill]:
    f = result.fills
    bars = np.searchsorted(data.timestamps, f["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64))
    return list(zip(bars.tolist(), f["direction"].tolist(), f["price"].tolist(), strict=True))


def numpy_fills(r: ref_numpy.Fills) -> list[Fill]:
    sides = ["BUY" if s > 0 else "SELL" for s in r.side.tolist()]
    return list(zip(r.bar.tolist(), sides, r.price.tolist(), strict=True))


def same_fills(label: str, a_name: str, a: list[Fill], b_name: str, b: list[Fill]) -> bool:
    """Compare two fill lists exactly; print one line, or a loud MISMATCH with the first difference."""
    if a == b:
        print(f"  fills {label}: {a_name} == {b_name}: {len(a):,} fills, identical (bar, side, price)")
        return True
    first = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    print(f"  !!!!!!!! MISMATCH fills {label}: {a_name} {len(a):,} fills, {b_name} {len(b):,} fills; "
          f"first difference at fill #{first}: {a_name} {a[first] if first < len(a) else None} vs "
          f"{b_name} {b[first] if first < len(b) else None}")
    return False


def same_equity(label: str, a_name: str, a: float, b_name: str, b: float) -> bool:
    ok = abs(a - b) <= 1e-9 * max(1.0, abs(a))
    tag = "equal" if a == b else ("equal to 1e-9" if ok else "!!!!!!!! MISMATCH")
    print(f"  final equity {label}: {a_name} {a:,.6f}  {b_name} {b:,.6f}  {tag}")
    return ok


# ------------------------------------------------------------------------------------------- engines
def crossover_cli(data_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "fbt.cli", "run", "fbt.sample.strategies:moving_average_crossover", "--data",
            str(data_dir), "--param", f"short_window={SHORT}", "--param", f"long_window={LONG}", "--out", str(out)]


def fbt_in_process(data_dir: Path) -> tuple[fbt.BarData, fbt.Result, float]:
    """``fbt.load_dir`` then ``fbt.run``; the data, the result, and the seconds ``load_dir`` took."""
    t = time.perf_counter()
    data = fbt.load_dir(data_dir)
    loaded = time.perf_counter() - t
    return data, fbt.run(moving_average_crossover(SHORT, LONG), data, capital=CAPITAL), loaded


def numpy_in_process(csv: Path) -> ref_numpy.Fills:
    return ref_numpy.crossover(ref_numpy.read_close(str(csv)), SHORT, LONG, CAPITAL)


def backtrader_version() -> str | None:
    """backtrader's version if it imports here, else None (after saying why)."""
    if importlib.util.find_spec("backtrader") is None:
        print("backtrader: not installed; skipped (pip install -e '.[bench]' to include it)")
        return None
    try:
        import backtrader
    except Exception as exc:
        print(f"backtrader: installed but does not import ({type(exc).__name__}: {exc}); skipped")
        return None
    return str(backtrader.__version__)


def row(name: str, bars: int, t_in: float | None, t_whole: float | None, rss: int | None) -> str:
    def rate(t: float | None) -> str:
        return f"{bars / t:>12,.0f}" if t and bars else f"{'-':>12}"

    def secs(t: float | None) -> str:
        return f"{t:>9.3f}" if t else f"{'-':>9}"

    mem = f"{rss / 2**20:>9,.0f}" if rss else f"{'-':>9}"
    count = f"{bars:>11,}" if bars else f"{'-':>11}"
    return f"{name:<52}{count}{secs(t_in)}{rate(t_in)}{secs(t_whole)}{rate(t_whole)}{mem}"


def reads_back(out: Path, result: fbt.Result) -> bool:
    """Check that ``fbt run``'s equity.csv, fills.csv and trades.csv read back bit-identical to ``result``'s frames."""
    import pyarrow.csv as pacsv

    same = True
    for name, frame in (("equity.csv", result.equity), ("fills.csv", result.fills), ("trades.csv", result.trades)):
        table = pacsv.read_csv(out / name)
        for column in frame.columns:
            expected = frame[column].to_numpy()
            if expected.dtype.kind != "f" or column not in table.column_names:
                continue
            got = table[column].to_numpy(zero_copy_only=False).astype(np.float64)
            if got.tobytes() != expected.astype(np.float64).tobytes():
                print(f"  !!!!!!!! MISMATCH {name} column {column} does not read back bit-identical")
                same = False
    if same:
        print(f"  check: equity.csv ({len(result.equity):,} rows), fills.csv and trades.csv read back bit-identical "
              f"to the in-memory results (every float column)")
    return same


def compare(args: argparse.Namespace, tmp: Path) -> bool:
    """The engine comparison: same data, same rules, fills checked, one table."""
    n, n_bt, n_nt, rep = args.bars, min(args.bt_bars, args.bars), min(args.nt_bars, args.bars), args.repeat
    print(f"\n== engines: SMA {SHORT}/{LONG} crossover, 1 symbol, 1-minute bars; fbt and numpy on {n:,} bars, "
          f"backtrader on the first {n_bt:,}, nautilus_trader on the first {n_nt:,}; medians of {rep} ==")
    bars = generate(n)
    big_dir, small_dir = tmp / "big", tmp / "small"
    (big_csv,) = write_csv(bars, big_dir)
    (small_csv,) = write_csv(bars.head(n_bt), small_dir)
    ok = True
    rows: list[str] = []

    # fbt
    loads: list[float] = []

    def fbt_big() -> tuple[fbt.BarData, fbt.Result]:
        data, result, loaded = fbt_in_process(big_dir)
        loads.append(loaded)
        return data, result

    t_fbt, (data, result) = timed(fbt_big, rep)
    t_load = statistics.median(loads)
    strategy = moving_average_crossover(SHORT, LONG)
    config = fbt.Config(capital=CAPITAL)
    t_fold, _ = timed(lambda: fold((strategy,), data, config), rep)
    t_run, _ = timed(lambda: fbt.run(strategy, data, capital=CAPITAL), rep)
    t_cli, rss_cli, _ = processes(crossover_cli(big_dir, tmp / "out"), rep)
    stats = json.loads((tmp / "out" / "stats.json").read_text())
    f_fbt = fbt_fills(result, data)
    if stats["fills"] != len(f_fbt) or stats["final_equity"] != result.statistics["final_equity"]:
        print(f"  !!!!!!!! MISMATCH `fbt run` vs fbt.run: {stats['fills']} vs {len(f_fbt)} fills, final equity "
              f"{stats['final_equity']!r} vs {result.statistics['final_equity']!r}")
        ok = False
    ok &= reads_back(tmp / "out", result)
    rows.append(row("fbt (load_dir + fbt.run) | `fbt run` CLI", n, t_fbt, t_cli, rss_cli))
    rows.append(row("  fbt fold alone (loaded data -> final state)", n, t_fold, None, None))
    rows.append(row("  fbt.load_dir part (CSV -> BarData)", n, t_load, None, None))
    rows.append(row("  fbt.run alone (loaded data -> results in memory)", n, t_run, None, None))
    t_write, _ = timed(lambda: result.write(tmp / "out-in-process"), rep)
    t_journal, _ = timed(lambda: write_journal(result, tmp / f"journal-{time.perf_counter_ns()}.jsonl"), rep)
    t_start, rss_start, _ = processes([sys.executable, "-c", "import fbt.cli.app"], rep)
    t_import, _, _ = processes([sys.executable, "-c", "import fbt"], rep)
    t_help, _, _ = processes([sys.executable, "-m", "fbt.cli", "--help"], rep)
    rows.append(row("  fbt Result.write (the CLI's output files)", n, t_write, None, None))
    rows.append(row("  start-up: python -c 'import fbt.cli.app'", 0, None, t_start, rss_start))

    # numpy
    for w in (SHORT, LONG):
        if not ref_numpy.check_sma_exact(bars.close[0], w):
            print(f"  !!!!!!!! MISMATCH numpy sliding-window mean differs from per-window np.mean (window {w})")
            ok = False
    t_np, r_np = timed(lambda: numpy_in_process(big_csv), rep)
    close = ref_numpy.read_close(str(big_csv))
    t_np_core, _ = timed(lambda: ref_numpy.crossover(close, SHORT, LONG, CAPITAL), rep)
    t_np_proc, rss_np, np_runs = processes([sys.executable, str(HERE / "ref_numpy.py"), str(big_csv),
                                            "--short", str(SHORT), "--long", str(LONG)], rep)
    rows.append(row("numpy (read_csv + rules) | script", n, t_np, t_np_proc, rss_np))
    rows.append(row("  numpy rules alone (loaded closes -> fills)", n, t_np_core, None, None))
    t_np_start, rss_np_start, _ = processes([sys.executable, "-c", "import numpy, pandas"], rep)
    rows.append(row("  start-up: python -c 'import numpy, pandas'", 0, None, t_np_start, rss_np_start))

    print("  checks:")
    ok &= same_fills(f"on {n:,} bars", "fbt", f_fbt, "numpy", numpy_fills(r_np))
    ok &= same_equity(f"on {n:,} bars", "fbt", result.statistics["final_equity"], "numpy", r_np.final_equity)
    script_equity = float(np_runs[-1].stdout.split("final_equity=")[1])
    ok &= same_equity("numpy script vs in process", "script", script_equity, "numpy", r_np.final_equity)

    # backtrader, and fbt/numpy on its prefix of the data
    version = backtrader_version()
    t_fbt_small, (data_small, result_small, _) = timed(lambda: fbt_in_process(small_dir), rep)
    f_fbt_small = fbt_fills(result_small, data_small)
    f_np_small = numpy_fills(numpy_in_process(small_csv))
    ok &= same_fills(f"on {n_bt:,} bars", "fbt", f_fbt_small, "numpy", f_np_small)
    t_bt = t_bt_run = None
    if version is not None:
        cmd = [sys.executable, str(HERE / "ref_backtrader.py"), str(small_csv), "--short", str(SHORT),
               "--long", str(LONG), "--capital", str(CAPITAL), "--json", str(tmp / "bt.json")]
        in_proc, run_only, procs = [], [], []
        for _ in range(max(1, rep)):
            procs.append(run_process(cmd))
            out = json.loads((tmp / "bt.json").read_text())
            in_proc.append(out["load_s"] + out["run_s"])
            run_only.append(out["run_s"])
        t_bt, t_bt_run = statistics.median(in_proc), statistics.median(run_only)
        t_bt_proc, rss_bt = statistics.median(p.seconds for p in procs), max(p.maxrss for p in procs)
        rows.append(row(f"backtrader {version} (read_csv + run) | script", n_bt, t_bt, t_bt_proc, rss_bt))
        rows.append(row("  backtrader cerebro.run alone", n_bt, t_bt_run, None, None))
        f_bt = [(int(b), str(s), float(p)) for b, s, p, _ in out["fills"]]
        last = n_bt - 1
        dropped = [f for f in f_fbt_small if f[0] == last]
        if dropped:
            print(f"  note: fbt fills {dropped} on the last bar, which backtrader's cheat-on-close cannot "
                  "(it executes on the following bar): left out of the backtrader comparison")
        ok &= same_fills(f"on {n_bt:,} bars", "fbt", [f for f in f_fbt_small if f[0] != last], "backtrader", f_bt)
        ok &= same_fills(f"on {n_bt:,} bars", "numpy", [f for f in f_np_small if f[0] != last], "backtrader", f_bt)
        if not dropped:
            ok &= same_equity(f"on {n_bt:,} bars", "fbt", result_small.statistics["final_equity"], "backtrader",
                              out["final_equity"])
    rows.append(row("fbt on backtrader's data (load_dir + fbt.run)", n_bt, t_fbt_small, None, None))
    t_run_small, _ = timed(lambda: fbt.run(strategy, data_small, capital=CAPITAL), rep)
    t_nt_run, t_fbt_nt, explained = nautilus(args, tmp, bars, rows)
    ok &= explained

    print()
    print(f"{'engine':<52}{'bars':>11}{'in-process':>21}{'whole process':>21}{'peak RSS':>9}")
    print(f"{'':<52}{'':>11}{'s':>9}{'bars/s':>12}{'s':>9}{'bars/s':>12}{'MiB':>9}")
    for r in rows:
        print(r)
    print()
    if t_bt:
        print(f"  fbt / backtrader, in-process bars/s: {(n / t_fbt) / (n_bt / t_bt):.1f}x "
              f"(fbt on {n:,} bars vs backtrader on {n_bt:,}); on the same {n_bt:,} bars: "
              f"{(n_bt / t_fbt_small) / (n_bt / t_bt):.1f}x")
        print(f"  fbt fold / cerebro.run alone, bars/s: {(n / t_fold) / (n_bt / t_bt_run):.1f}x")
        in_memory = (n / t_run) / (n_bt / t_bt_run)
        print(f"  in process, data loaded -> results in memory (fbt.run on {n:,} bars vs cerebro.run on {n_bt:,}), "
              f"bars/s: {in_memory:.1f}x")
    if t_nt_run and t_fbt_nt:
        vs_nt = (n / t_run) / (n_nt / t_nt_run)
        print(f"  in process, data loaded -> results in memory (fbt.run on {n:,} bars vs nautilus "
              f"BacktestEngine.run() on {n_nt:,}), bars/s: {vs_nt:.1f}x; on the same {n_nt:,} bars: "
              f"{t_nt_run / t_fbt_nt:.1f}x")
    print(f"  fbt whole process / numpy whole process ({n:,} bars): {t_cli:.2f} s / {t_np_proc:.2f} s = "
          f"{t_cli / t_np_proc:.1f}x;  in process: {t_fbt / t_np:.1f}x;  fold / numpy rules: {t_fold / t_np_core:.1f}x")
    whole = t_cli / t_np_proc
    print(f"  `fbt run` whole process {t_cli:.2f} s; its parts timed here: start-up {t_start:.2f} + load_dir "
          f"{t_load:.2f} + fbt.run {t_run:.2f} + Result.write {t_write:.2f} (journal {t_journal:.2f}) = "
          f"{t_start + t_load + t_run + t_write:.2f} s")
    written = sum(f.stat().st_size for f in (tmp / "out").iterdir()) / 2**20
    targets: list[tuple[str, str, bool | None, str]] = []
    without_write = (t_cli - t_write) / t_np_proc
    targets.append((f"whole process, `fbt run` / numpy script ({n:,} bars)", f"{whole:.2f}x <= 1.5x (stretch 1.2x)",
                    whole <= 1.5, f"`fbt run` writes {written:,.0f} MiB (equity.csv at full precision, the journal, "
                    f"fills, trades) that the numpy script does not: Result.write alone is {t_write:.2f} s; without "
                    f"it {without_write:.2f}x; the fold calls the Python strategy on every bar ({t_fold:.2f} s) where "
                    f"the script's rules are vectorised ({t_np_core:.2f} s)"))
    targets.append(("`import fbt` wall time", f"{t_import:.3f} s <= 0.15 s", t_import <= 0.15,
                    "the interpreter's own start-up is most of it"))
    targets.append(("`fbt --help` wall time", f"{t_help:.3f} s <= 0.15 s", t_help <= 0.15,
                    "the interpreter's own start-up is most of it"))
    targets.append((f"journal of the {n:,}-bar run ({len(result.run.events):,} events) written",
                    f"{t_journal:.3f} s < 0.3 s", t_journal < 0.3,
                    "every event line is canonical JSON with a running SHA-256 (the format is fixed)"))
    if t_bt_run:
        same = (n_bt / t_run_small) / (n_bt / t_bt_run)
        targets.append((f"fbt.run vs backtrader's cerebro.run, same {n_bt:,} bars, bars/s", f"{same:.1f}x >= 100x",
                        same >= 100, "fbt.run's fixed costs (results, statistics) weigh more on fewer bars"))
    if t_nt_run and t_fbt_nt:
        same_nt = t_nt_run / t_fbt_nt
        targets.append((f"fbt.run vs nautilus_trader's BacktestEngine.run(), same {n_nt:,} bars, bars/s",
                        f"{same_nt:.1f}x >= 100x", same_nt >= 100,
                        "fbt.run's fixed costs (results, statistics) weigh more on fewer bars"))
    targets.append(("per-bar path O(1) per symbol", "held by tests/perf/test_per_bar_o1.py in the test suite", None,
                    ""))
    targets.append(("streaming >= 600k bars/s at 10M bars, peak RSS flat from 1M to 10M",
                    "measured by python benchmarks/run.py --stream", None, ""))
    print("\n  TARGETS")
    for name, figure, met, reason in targets:
        verdict = "" if met is None else ": met" if met else ": MISSED"
        print(f"  TARGET {name}: {figure}{verdict}" + ("" if met is not False or not reason else f" ({reason})"))
    print(f"  fills: {len(f_fbt):,} on {n:,} bars; all engines agree: {'yes' if ok else 'NO (MISMATCH above)'}")
    return ok


def nautilus(args: argparse.Namespace, tmp: Path, bars: Bars,
             rows: list[str]) -> tuple[float | None, float | None, bool]:
    """nautilus_trader's ``BacktestEngine`` on the first ``--nt-bars`` bars, in its own process, rows added to
    ``rows``; the median seconds of ``BacktestEngine.run()`` and of ``fbt.run`` on the same bars (None
    when skipped), and whether every difference of its fills from fbt's there was accounted for."""
    found = nautilus_compare.find_python(args.nautilus_python)
    if found is None:
        return None, None, True
    python, version = found
    n_nt, rep = min(args.nt_bars, args.bars), args.repeat
    (csv,) = write_csv(bars.head(n_nt), tmp / "nautilus")
    cmd = [python, str(HERE / "peer_nautilus.py"), str(csv), "--short", str(SHORT), "--long", str(LONG),
           "--capital", str(CAPITAL), "--json", str(tmp / "nt.json")]
    outs, procs = [], []
    for _ in range(max(1, rep)):
        procs.append(run_process(cmd))
        outs.append(json.loads((tmp / "nt.json").read_text()))
    parts = {k: statistics.median(o[k] for o in outs) for k in ("load_s", "wrangle_s", "setup_s", "run_s")}
    t_in = statistics.median(o["load_s"] + o["wrangle_s"] + o["setup_s"] + o["run_s"] for o in outs)
    rows.append(row(f"nautilus {version} (read_csv + wrangle + run) | script", n_nt, t_in,
                    statistics.median(p.seconds for p in procs), max(p.maxrss for p in procs)))
    rows.append(row("  nautilus BarDataWrangler.process + engine set-up", n_nt, parts["wrangle_s"] + parts["setup_s"],
                    None, None))
    rows.append(row("  nautilus BacktestEngine.run() alone", n_nt, parts["run_s"], None, None))
    data = fbt.load_dir(csv.parent)
    t_fbt, result = timed(lambda: fbt.run(moving_average_crossover(SHORT, LONG), data, capital=CAPITAL), rep)
    rows.append(row("fbt.run on nautilus's data (loaded)", n_nt, t_fbt, None, None))
    columns = {k: data.column(SYMBOL, k) for k in ("open", "high", "low", "close", "volume")}
    lines, explained = nautilus_compare.explain(outs[-1]["fills"], fbt_fills(result, data), columns, SHORT, LONG, 100.0)
    print(f"  fills on {n_nt:,} bars, nautilus_trader vs fbt (not expected to be equal; benchmarks/README.md):")
    for line in lines:
        print(f"    {line}")
    print(f"    final equity on {n_nt:,} bars: fbt {result.statistics['final_equity']:,.6f}, nautilus (from its fills) "
          f"{outs[-1]['final_equity']:,.6f}")
    return parts["run_s"], t_fbt, explained


# -------------------------------------------------------------------------------------------- scaling
def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` figure of this process, in KiB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS; False where Linux does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        _status_kib("VmHWM")
        return True
    except OSError:
        return False


def scaling_case(n_symbols: int, n_bars: int, repeat: int) -> dict[str, Any]:
    """One scaling point, run in its own process: fold and fbt.run times, and fbt.run's peak memory.

    Peak memory is the peak RSS during ``fbt.run`` above the RSS just before it (loaded data included
    in neither), from ``VmHWM`` reset through ``/proc/self/clear_refs``; where that is not allowed,
    the tracemalloc peak of a separate ``fbt.run``.
    """
    data = to_bardata(generate(n_bars, n_symbols))
    strategy = moving_average_crossover(SHORT, LONG)
    config = fbt.Config()
    t_fold, _ = timed(lambda: fold((strategy,), data, config), repeat)
    times, peaks, fills, how = [], [], 0, "rss"
    for _ in range(max(1, repeat)):
        gc.collect()
        base = _status_kib("VmRSS")
        reset = _reset_peak_rss()
        t = time.perf_counter()
        result = fbt.run(strategy, data)
        times.append(time.perf_counter() - t)
        if reset:
            peaks.append((_status_kib("VmHWM") - base) * 1024)
        fills = int(result.statistics["fills"])
        del result
    if not peaks:
        how = "tracemalloc"
        peaks.append(traced_peak(lambda: fbt.run(strategy, data)))
    return {"fold_s": t_fold, "run_s": statistics.median(times), "peak": max(peaks), "how": how,
            "nbytes": int(data.values.nbytes), "fills": fills}


def scaling(args: argparse.Namespace) -> None:
    rep = args.repeat
    sizes = [10_000, 100_000, 1_000_000] + ([10_000_000] if args.huge else [])
    print(f"\n== scaling: fbt, SMA {SHORT}/{LONG} crossover on in-memory bars (no CSV), each case in its own "
          f"process; medians of {rep} ==")
    print(f"{'symbols x bars':<22}{'fold bars/s':>14}{'run bars/s':>14}{'run ns/sym-bar':>16}{'peak MiB':>10}"
          f"{'OHLCV MiB':>11}{'peak/OHLCV':>12}{'fills':>9}")
    how = set()
    for n_sym, n in [(1, n) for n in sizes] + [(10, 100_000), (100, 100_000)]:
        proc = run_process([sys.executable, str(HERE / "run.py"), "--scaling-case", str(n_sym), str(n),
                            "--repeat", str(rep)])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        total = n_sym * n
        how.add(r["how"])
        print(f"{f'{n_sym} x {n:,}':<22}{total / r['fold_s']:>14,.0f}{total / r['run_s']:>14,.0f}"
              f"{1e9 * r['run_s'] / total:>16,.0f}{r['peak'] / 2**20:>10,.1f}{r['nbytes'] / 2**20:>11,.1f}"
              f"{r['peak'] / r['nbytes']:>12.2f}{r['fills']:>9,}")
    what = ("peak RSS during fbt.run above the RSS before it" if how == {"rss"}
            else "tracemalloc peak of fbt.run (Python and numpy allocations)")
    print(f"  bars/s counts symbol-bars (symbols x bars); peak = {what}; OHLCV MiB = data.values.nbytes "
          "(7 float64 fields: the loaded data, not in the peak)")


# ----------------------------------------------------------------------------------------------- grid
def grid(args: argparse.Namespace, tmp: Path) -> None:
    n_runs, n_bars = 1_000, 2_500
    pairs = [(2 + k % 40, 50 + k // 4) for k in range(n_runs)]  # short 2..41, long 50..299, all distinct
    assert len(set(pairs)) == n_runs
    bars = generate(n_bars, daily=True)
    write_csv(bars, tmp / "daily")
    data = fbt.load_dir(tmp / "daily")  # loaded once
    print(f"\n== grid: {n_runs:,} crossover runs (short 2..41, long 50..299, all different) on {n_bars:,} daily "
          f"bars loaded once; one process, one core; medians of {args.repeat} ==")

    def fbt_grid() -> list[float]:
        return [fbt.run(moving_average_crossover(s, lg), data).statistics["final_equity"] for s, lg in pairs]

    close = data.column(SYMBOL, "adj_close")

    def numpy_grid() -> list[float]:
        return [ref_numpy.crossover(close, s, lg, CAPITAL).final_equity for s, lg in pairs]

    t_fbt, eq_fbt = timed(fbt_grid, args.repeat)
    t_np, eq_np = timed(numpy_grid, args.repeat)
    differ = sum(abs(a - b) > 1e-9 * abs(a) for a, b in zip(eq_fbt, eq_np, strict=True))
    for k in range(0, n_runs, 97):  # spot-check fills bar for bar
        s, lg = pairs[k]
        result = fbt.run(moving_average_crossover(s, lg), data)
        if fbt_fills(result, data) != numpy_fills(ref_numpy.crossover(close, s, lg, CAPITAL)):
            differ += 1
            print(f"  !!!!!!!! MISMATCH fills on grid run {s}/{lg}")
    print(f"  fbt.run   {t_fbt:8.2f} s  {n_runs / t_fbt:10,.1f} runs/s  ({n_runs * n_bars / t_fbt:,.0f} bars/s)")
    print(f"  numpy ref {t_np:8.2f} s  {n_runs / t_np:10,.1f} runs/s")
    print(f"  final equity fbt vs numpy: {'all equal' if not differ else f'!!!!!!!! MISMATCH on {differ} runs'}")


# ------------------------------------------------------------------------------------- path dependent
def path_dependent(args: argparse.Namespace) -> None:
    n, rep = min(args.bars, 1_000_000), args.repeat
    bars = generate(n)
    data = to_bardata(bars)
    print(f"\n== path dependence: fbt fold on {n:,} 1-minute bars, 1 symbol; medians of {rep} ==")
    print("  trailing stop: enter when close > SMA 20, exit at 0.07% below the highest close since entry (about as")
    print("  many fills as the crossover); its position and peak are its OWN state (a strategy cannot see the")
    print("  portfolio), updated on every bar while in a position")
    cases = [
        ("never signals (the fold's floor)", fbt.strategy(lambda state, event: (state, ()), initial=None,
                                                          name="idle")),
        ("crossover 5/20 (state changes on signals)", moving_average_crossover(SHORT, LONG)),
        ("trailing stop, close from a column", trailing_stop.trailing_stop(reader="column")),
        ("trailing stop, close via event.latest_value", trailing_stop.trailing_stop(reader="accessor")),
    ]
    expected = trailing_stop.reference(bars.close[0])
    measured, same = [], True
    for name, strategy in cases:
        t, _ = timed(lambda strategy=strategy: fold((strategy,), data, fbt.Config()), rep)
        result = fbt.run(strategy, data)
        fills = [(b, side) for b, side, _ in fbt_fills(result, data)]
        if strategy.name == trailing_stop.STRATEGY_ID and fills != expected:
            print(f"  !!!!!!!! MISMATCH {name}: {len(fills)} fills vs {len(expected)} from the plain loop")
            same = False
        measured.append((name, t, len(fills)))
    base = measured[1][1]
    print(f"  {'strategy':<46}{'s':>8}{'us/bar':>9}{'x crossover':>13}{'fills':>9}")
    for name, t, count in measured:
        print(f"  {name:<46}{t:>8.3f}{1e6 * t / n:>9.3f}{t / base:>13.2f}{count:>9,}")
    if same:
        print(f"  trailing-stop fills equal a plain Python loop of the same rules ({len(expected):,} fills)")


# ----------------------------------------------------------------------------------------------- main
@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fbt-bench-") as tmp:
        yield Path(tmp)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--bars", type=int, default=1_000_000, help="bars for fbt and numpy (default 1,000,000)")
    ap.add_argument("--bt-bars", type=int, default=100_000, help="bars for backtrader (default 100,000)")
    ap.add_argument("--nt-bars", type=int, default=100_000, help="bars for nautilus_trader (default 100,000)")
    ap.add_argument("--nautilus-python", metavar="PYTHON", help="an interpreter with the bench-nautilus extra "
                    "(default: $FBT_NAUTILUS_PYTHON, this one if it has nautilus_trader, else .venv-nautilus)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown (default 3)")
    ap.add_argument("--compare", action="store_true", help="the engine comparison (the default section)")
    ap.add_argument("--scaling", action="store_true", help="fbt bars/s and memory at 10k..1M bars, 10/100 symbols")
    ap.add_argument("--huge", action="store_true", help="with --scaling: add 10,000,000 bars")
    ap.add_argument("--grid", action="store_true", help="1,000 crossover runs on 2,500 daily bars")
    ap.add_argument("--path-dependent", action="store_true", help="crossover vs a trailing-stop strategy")
    ap.add_argument("--scaling-case", nargs=2, type=int, metavar=("SYMBOLS", "BARS"), help=argparse.SUPPRESS)
    ap.add_argument("--stream", action="store_true", help="streaming runs at 1M and 10M bars (benchmarks/stream.py)")
    a = ap.parse_args(argv)
    if a.stream:
        import stream

        return int(stream.main([]))
    if a.scaling_case:  # a worker of --scaling: one case, in its own process, as JSON
        print(json.dumps(scaling_case(*a.scaling_case, a.repeat)))
        return 0
    if a.bars < LONG or a.bt_bars < LONG or a.nt_bars < LONG:
        ap.error(f"--bars, --bt-bars and --nt-bars: expected at least {LONG}")
    sections = a.scaling or a.grid or a.path_dependent
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"fbt {fbt.__version__}, Python {platform.python_version()}, numpy {np.__version__}, pandas "
          f"{pd.__version__}; {os.cpu_count()} CPUs, load average {load}")
    ok = True
    t0 = time.perf_counter()
    with workdir() as tmp:
        if a.compare or not sections:
            ok = compare(a, tmp)
        if a.scaling:
            scaling(a)
        if a.grid:
            grid(a, tmp)
        if a.path_dependent:
            path_dependent(a)
    print(f"\n(total {time.perf_counter() - t0:.0f} s; load average now "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
