"""An output folder is one run's, always (fbt.io.outdir): swapped whole, never a mix, repaired after a crash.

Three levels: the module's rules one by one; crashes at every stage of the swap (a forked child
stopped by the module's test hook, in both swap modes, and a hypothesis sequence of runs and
crashes); and ``fbt run`` itself killed (SIGKILL, SIGINT) at many points of its writing phase,
the folder compared after each kill against complete copies of the old and the new run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbt.core.errors import ConfigError
from fbt.io import outdir
from fbt.io.outdir import RUN_FOLDER, STAGES, check_folder, output_folder, recover, siblings

ROOT = Path(__file__).resolve().parents[2]
NAMES = frozenset({"a.csv", "b.csv", "c.json"})
SPEC = f"{ROOT / 'examples' / 'moving_average_crossover.py'}:moving_average_crossover"


def contents(folder: Path) -> dict[str, bytes] | None:
    """Every file of a folder by name (None when the folder is missing)."""
    if not folder.exists():
        return None
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def write_set(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).write_bytes(data)


@contextlib.contextmanager
def env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def crash_writing(target: Path, files: dict[str, bytes], stage: str | None, swap: str) -> int:
    """Write ``files`` as the new set of ``target`` in a forked child stopped (os._exit) at ``stage``."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery, no clean-up, just the write and the exit
        code = 0
        try:
            os.environ["FBT_TEST_OUTDIR_SWAP"] = swap
            if stage is not None:
                os.environ["FBT_TEST_OUTDIR_STOP"] = f"{stage}:exit"
            with output_folder(target, NAMES) as folder:
                write_set(folder, files)
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


# --------------------------------------------------------------------------------------------------
# The rules


def test_the_old_set_stays_until_the_new_one_is_complete_then_the_folder_is_the_new_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"1", "b.csv": b"1"})
    with output_folder(out, NAMES) as folder:
        assert folder.parent == out.parent and folder.name.startswith("out.fbt-") and folder.name.endswith(".tmp")
        write_set(folder, {"a.csv": b"2"})
        assert contents(out) == {"a.csv": b"1", "b.csv": b"1"}
    assert contents(out) == {"a.csv": b"2"}  # b.csv of the first run is not carried into the second
    assert siblings(out) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("swap", ["exchange", "renames"])
def test_the_swap_gives_the_folder_the_new_set_inode_in_both_modes(tmp_path: Path, swap: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_bytes(b"old")
    with env(FBT_TEST_OUTDIR_SWAP=swap), output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"new"})
        staged = os.stat(folder).st_ino
    assert os.stat(out).st_ino == staged and contents(out) == {"a.csv": b"new"} and siblings(out) == []


def test_the_exchange_is_what_runs_here_on_linux(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    assert outdir._exchange(a, b)  # the swap's primitive, checked where it runs
    assert (b / "x").read_text() == "a" and not (a / "x").exists()


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
def test_an_error_in_the_block_leaves_the_folder_untouched_and_no_staging_behind(tmp_path: Path,
                                                                                error: BaseException) -> None:
    out = tmp_path / "out"
    with output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"old"})
    with pytest.raises(type(error)) as caught, output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"new", "b.csv": b"new"})
        raise error
    assert contents(out) == {"a.csv": b"old"} and siblings(out) == []
    notes = getattr(caught.value, "__notes__", [])
    assert notes == ([f"{out} is unchanged: it still holds the previous run's files"]
                     if isinstance(error, KeyboardInterrupt) else [])


def test_an_interrupted_first_run_says_nothing_was_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt) as caught, output_folder(out, NAMES):
        raise KeyboardInterrupt
    assert caught.value.__notes__ == [f"{out} is unchanged: nothing was written there"] and not out.exists()


def test_files_fbt_does_not_write_are_refused_by_name_and_old_temporary_files_dropped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_bytes(b"old")
    (out / ".a.csv.tmp").write_bytes(b"torn")  # an earlier fbt's per-file temporary, left by a kill
    check_folder(out, NAMES)
    (out / "notes.txt").write_text("mine")
    (out / "data").mkdir()
    refused = r"holds data/, notes\.txt, which fbt does not write there.*delete them"
    with pytest.raises(ConfigError, match=refused), output_folder(out, NAMES):
        raise AssertionError("not reached: refused before the block")
    assert sorted(p.name for p in out.iterdir()) == [".a.csv.tmp", "a.csv", "data", "notes.txt"]
    (out / "notes.txt").unlink()
    (out / "data").rmdir()
    with output_folder(out, NAMES) as folder:
        write_set(folder, {"b.csv": b"new"})
    assert contents(out) == {"b.csv": b"new"}


def test_a_file_put_there_while_the_run_writes_is_not_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"notes\.txt"), output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"new"})
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    assert contents(out) == {"notes.txt": b"mine"} and siblings(out) == []


def test_a_file_where_a_folder_is_expected_and_the_root_are_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="expected an output folder, got a file"):
        check_folder(tmp_path / "f", NAMES)
    with pytest.raises(ConfigError, match="root of the file system"):
        check_folder("/", NAMES)


def test_inner_blocks_for_the_same_folder_join_the_outer_one_which_swaps_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_folder(out, NAMES) as outer:
        with output_folder(out, NAMES) as inner:
            assert inner == outer
            write_set(inner, {"a.csv": b"1"})
        assert not out.exists()  # the inner block did not swap
        write_set(outer, {"b.csv": b"2"})
    assert contents(out) == {"a.csv": b"1", "b.csv": b"2"}


def test_kept_and_carried_files_are_links_to_the_old_ones_never_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"run", "b.csv": b"cache", "c.json": b"old report"})
    inode = {n: os.stat(out / n).st_ino for n in ("a.csv", "b.csv")}
    with output_folder(out, NAMES, keep={"a.csv"}, carry={"b.csv"}) as folder:
        assert sorted(os.listdir(folder)) == ["a.csv"] and os.stat(folder / "a.csv").st_ino == inode["a.csv"]
        with (out / "b.csv").open("ab") as cache:  # a cache appended in place while the run goes on
            cache.write(b"+line")
        write_set(folder, {"c.json": b"new report"})
    assert contents(out) == {"a.csv": b"run", "b.csv": b"cache+line", "c.json": b"new report"}
    assert os.stat(out / "b.csv").st_ino == inode["b.csv"]


def test_a_live_writers_folder_is_left_alone_by_another_writers_clean_up(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_folder(out, NAMES) as folder:
        write_set(folder, {"a.csv": b"1"})
        stale = out.parent / "out.fbt-1-0123abcd.tmp"  # a writer killed long ago
        stale.mkdir()
        (stale / "a.csv").write_bytes(b"torn")
        assert recover(out) is None
        assert folder.is_dir() and not stale.exists()
    assert contents(out) == {"a.csv": b"1"}


@pytest.mark.parametrize(("left", "restored"), [(("new", "old"), b"new"), (("old",), b"old"), (("tmp",), None)])
def test_recover_puts_back_the_new_set_else_the_old_one_when_the_folder_is_missing(
        tmp_path: Path, left: tuple[str, ...], restored: bytes | None) -> None:
    out = tmp_path / "out"
    for k, suffix in enumerate(left):
        folder = tmp_path / f"out.fbt-{10 + k}-0000000{k}.{suffix}"
        folder.mkdir()
        (folder / "a.csv").write_bytes(suffix.encode())
    assert recover(out) == (out if restored is not None else None)
    assert contents(out) == (None if restored is None else {"a.csv": restored})
    assert siblings(out) == []


# --------------------------------------------------------------------------------------------------
# Crashes at every stage of the swap


OLD = {"a.csv": b"old a", "b.csv": b"old b"}
NEW = {"a.csv": b"new a", "c.json": b"new c"}
#: the first stage at which the new set has been swapped in (the point of no return), by swap mode
SWAPPED = {"exchange": STAGES.index("swapped"), "renames": STAGES.index("swapped-out")}


def passes(stage: str, swap: str, existed: bool) -> bool:
    """Whether a write of a folder that ``existed`` (or not) goes through ``stage``."""
    if stage == "swapped-out":
        return existed and swap == "renames"
    if stage == "retired":
        return existed and swap == "exchange"
    return existed or stage != "cleaned"


@pytest.mark.parametrize("swap", ["exchange", "renames"])
@pytest.mark.parametrize("stage", STAGES)
def test_a_crash_at_any_stage_leaves_the_old_set_or_the_new_set(tmp_path: Path, stage: str, swap: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_set(out, OLD)
    code = crash_writing(out, NEW, stage, swap)
    if not passes(stage, swap, True):  # a stage this swap does not go through: the write just finished
        assert code == 0 and contents(out) == NEW
        return
    assert code == 70
    new = STAGES.index(stage) >= SWAPPED[swap]
    seen = contents(out)
    if swap == "renames" and stage == "swapped-out":
        assert seen is None  # the instant between the two renames: no folder, never a mix
    else:
        assert seen == (NEW if new else OLD)
    assert bool(siblings(out)) == (stage != "cleaned")  # what the crash left beside the folder, for recover()
    recover(out)
    assert contents(out) == (NEW if new else OLD) and siblings(out) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.dictionaries(st.sampled_from(sorted(NAMES)), st.binary(max_size=8), min_size=1),
                          st.none() | st.sampled_from(STAGES), st.sampled_from(["exchange", "renames"])),
                min_size=1, max_size=4))
def test_any_sequence_of_runs_and_crashes_leaves_a_complete_set(tmp_path_factory: pytest.TempPathFactory,
                                                               runs: list[tuple[dict[str, bytes], str | None, str]]
                                                               ) -> None:
    out = tmp_path_factory.mktemp("seq") / "out"
    current: dict[str, bytes] | None = None
    for files, stage, swap in runs:
        stopped = stage is not None and passes(stage, swap, current is not None)
        code = crash_writing(out, files, stage, swap)
        assert code == (70 if stopped else 0)
        # no stop, or stopped once the new set was in place; with no folder yet, a complete new set beside
        # it is put in place by recover()
        done = not stopped or STAGES.index(stage) >= (SWAPPED[swap] if current is not None else
                                                      STAGES.index("complete"))
        seen = contents(out)
        assert seen in (current, files) or (seen is None and stage == "swapped-out")
        if done:
            current = files
        recover(out)  # what the next writer (or a reader, for a missing folder) does first
        assert contents(out) == current and siblings(out) == []


# --------------------------------------------------------------------------------------------------
# fbt run, killed while it writes


BARS = 60_000
#: kill points, as fractions of the time the first whole write took (a forked writer is warm: done by ~0.55)
FRACTIONS = (0.0, 0.03, 0.06, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Minute bars enough for the writing to take a while, and two complete runs over them, A and B."""
    import fbt
    from fbt.sample.strategies import moving_average_crossover

    root = tmp_path_factory.mktemp("killed")
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, BARS)))
    stamps = np.datetime64("2020-01-02T09:30") + np.arange(BARS).astype("timedelta64[m]")
    text = np.datetime_as_string(stamps, unit="s").tolist()
    lines = [f"{t.replace('T', ' ')},{c:.4f},{c * 1.0005:.4f},{c * 0.9995:.4f},{c:.4f},{c:.4f},1000"
             for t, c in zip(text, close.tolist(), strict=True)]
    data = root / "data"
    data.mkdir()
    (data / "SYN.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(lines) + "\n")
    bars = fbt.load_dir(data)
    found: dict[str, Any] = {"root": root, "data": data}
    for name, (short, long) in (("A", (5, 20)), ("B", (10, 40))):
        result = fbt.run(moving_average_crossover(short, long), bars)
        start = time.perf_counter()
        result.write(root / name)
        found[f"{name}_seconds"] = time.perf_counter() - start
        found[name], found[f"{name}_result"] = fingerprint(root / name), result
    assert found["A"] != found["B"] and sorted(found["A"]) == sorted(RUN_FOLDER - {"equity.png", "report.html"})
    return found


def fbt_run(data: Path, out: Path, short: str, long: str) -> list[str]:
    return [sys.executable, "-m", "fbt.cli", "run", SPEC, "--data", str(data), "--param", f"short_window={short}",
            "--param", f"long_window={long}", "--quiet", "--out", str(out)]


def fingerprint(folder: Path) -> dict[str, str] | None:
    """Every file's sha256, by name (None when the folder is missing)."""
    if not folder.is_dir():
        return None
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def over_a(runs: dict[str, Any], tag: str) -> Path:
    out: Path = runs["root"] / tag
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(runs["root"] / "A", out)
    return out


def wait_for_staging(out: Path, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and alive() and not siblings(out):
        time.sleep(0.0005)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_a_writer_killed_at_any_point_leaves_wholly_the_old_run_or_wholly_the_new(runs: dict[str, Any],
                                                                                 fraction: float,
                                                                                 how: signal.Signals) -> None:
    # Result.write of run B over a folder holding run A, in a forked child killed once it has written
    # for ``fraction`` of a whole write's time
    out = over_a(runs, f"fork-{how.name}-{fraction}")
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            runs["B_result"].write(out)
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            code = 1
        os._exit(code)
    wait_for_staging(out, lambda: os.waitpid(pid, os.WNOHANG) == (0, 0))
    time.sleep(fraction * runs["B_seconds"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, how)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    seen = fingerprint(out)
    assert seen in (runs["A"], runs["B"]), f"a mix after {how.name} at {fraction}: {seen}"
    assert code in ((0, -signal.SIGKILL) if how == signal.SIGKILL else (0, 130)), code
    if code == 130:  # an interrupt cleans up after itself
        assert seen == runs["A"] and siblings(out) == []
    if code == 0:
        assert seen == runs["B"]
    if fraction == 0.0:  # killed as the writing began: the test reaches inside the writing phase
        assert seen == runs["A"] and code != 0
    recover(out)  # what the next writer does first
    assert fingerprint(out) == seen and siblings(out) == []


@pytest.mark.parametrize("delay", [0.05, 0.4])
def test_fbt_run_killed_or_interrupted_while_writing(runs: dict[str, Any], delay: float) -> None:
    for how in (signal.SIGKILL, signal.SIGINT):
        out = over_a(runs, f"cli-{how.name}-{delay}")
        process = subprocess.Popen(fbt_run(runs["data"], out, "10", "40"), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        wait_for_staging(out, lambda p=process: p.poll() is None)  # type: ignore[misc]
        time.sleep(delay * runs["B_seconds"])
        process.send_signal(how)
        _, err = process.communicate(timeout=60)
        seen = fingerprint(out)
        assert seen in (runs["A"], runs["B"]), f"a mix after {how.name}: {seen}"
        if process.returncode == 130:
            assert seen == runs["A"] and siblings(out) == []
            assert err.strip().splitlines()[-1] == (f"fbt: interrupted; {out} is unchanged: it still holds the "
                                                    "previous run's files")
        else:
            assert process.returncode in (0, -signal.SIGKILL), (process.returncode, err)
    # the next run cleans what a killed one left and writes its own set
    done = subprocess.run(fbt_run(runs["data"], out, "5", "20"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert fingerprint(out) == runs["A"] and siblings(out) == []


@pytest.mark.parametrize(("stage", "swap", "expected"), [("complete", "exchange", "A"), ("swapped", "exchange", "B"),
                                                         ("swapped-out", "renames", "B")])
def test_fbt_run_killed_at_a_stage_of_the_swap(runs: dict[str, Any], stage: str, swap: str, expected: str) -> None:
    out = over_a(runs, f"stage-{stage}-{swap}")
    environment = {**os.environ, "FBT_TEST_OUTDIR_STOP": f"{stage}:kill", "FBT_TEST_OUTDIR_SWAP": swap}
    done = subprocess.run(fbt_run(runs["data"], out, "10", "40"), env=environment, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == -signal.SIGKILL
    from fbt.report import read_output

    read_output(out)  # a reader repairs a folder a crash left missing
    assert fingerprint(out) == runs[expected]
    recover(out)
    assert fingerprint(out) == runs[expected] and siblings(out) == []


def test_an_interrupt_during_the_swap_waits_for_it_and_says_the_new_run_is_there(runs: dict[str, Any]) -> None:
    out = over_a(runs, "int-during-swap")
    environment = {**os.environ, "FBT_TEST_OUTDIR_STOP": "swapped:int"}
    done = subprocess.run(fbt_run(runs["data"], out, "10", "40"), env=environment, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 130
    assert done.stderr.strip() == (f"fbt: interrupted; {out} holds this run's files: they were complete before the "
                                   "interrupt")
    assert fingerprint(out) == runs["B"] and siblings(out) == []


def test_fbt_run_refuses_a_folder_with_files_it_did_not_write_before_running(runs: dict[str, Any]) -> None:
    out = over_a(runs, "with-notes")
    (out / "notes.txt").write_text("mine")
    done = subprocess.run(fbt_run(runs["data"], out, "10", "40"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith(f"fbt: error: {out}: holds notes.txt, which fbt does not write there")
    assert fingerprint(out) == {**runs["A"], "notes.txt": hashlib.sha256(b"mine").hexdigest()}


def test_a_report_is_swapped_in_with_the_run_it_was_made_from(runs: dict[str, Any]) -> None:
    pytest.importorskip("matplotlib")
    from fbt.report import write_report

    out = over_a(runs, "reported")
    (out / "report.html").write_text("the report of an earlier run")
    assert write_report(out) == out / "report.html"
    files = fingerprint(out)
    assert files is not None and {k: v for k, v in files.items() if k in runs["A"]} == runs["A"]
    assert sorted(files) == sorted([*runs["A"], "equity.png", "report.html"])
    assert "earlier run" not in (out / "report.html").read_text() and siblings(out) == []


def test_a_streamed_run_and_a_sweep_replace_their_folders_whole(runs: dict[str, Any], tmp_path: Path) -> None:
    import fbt
    from fbt.sample.strategies import moving_average_crossover

    out = over_a(runs, "streamed")
    (out / "equity.png").write_bytes(b"a picture of run A")
    streamed = fbt.run_stream(moving_average_crossover(10, 40), runs["data"], out, chunk_bars=20_000)
    files = fingerprint(out)  # the in-memory run's files, line for line; its statistics to the last bits
    assert streamed.out == out and files is not None and sorted(files) == sorted(runs["B"]) and siblings(out) == []
    assert {k: v for k, v in files.items() if k != "stats.json"} == {k: v for k, v in runs["B"].items()
                                                                     if k != "stats.json"}
    grid = {"short_window": [5, 10], "long_window": [20]}
    bars = fbt.load_dir(runs["data"]).head(2_000)
    fbt.sweep("fbt.sample.strategies:moving_average_crossover", grid, bars, executor="serial", out=tmp_path / "s")
    cache = os.stat(tmp_path / "s" / "sweep.jsonl").st_ino
    (tmp_path / "s" / "heatmap.png").write_bytes(b"a heatmap of another sweep")
    fbt.sweep("fbt.sample.strategies:moving_average_crossover", grid, bars, executor="serial", out=tmp_path / "s")
    assert sorted(os.listdir(tmp_path / "s")) == ["sweep.csv", "sweep.jsonl"]  # the old heatmap went with its set
    assert os.stat(tmp_path / "s" / "sweep.jsonl").st_ino == cache and siblings(tmp_path / "s") == []
