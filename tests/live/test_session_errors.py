"""Bad input to ``fbt live``: each one clear line on standard error, exit status 2, no traceback, and
the journal left as it was."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from fbt.sample.data import sample_dir

ROOT = pathlib.Path(__file__).resolve().parents[2]
CROSSOVER = ["fbt.sample.strategies:moving_average_crossover", "--param", "short_window=3", "--param",
             "long_window=12"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("data")
    for symbol in ("SYNA", "SYNB"):
        lines = (pathlib.Path(sample_dir()) / f"{symbol}.csv").read_text().splitlines()
        (folder / f"{symbol}.csv").write_text("\n".join(lines[:80]) + "\n")
    return folder


def live(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FBT_LIVE_NO_FSYNC": "1"}
    return subprocess.run([sys.executable, "-m", "tests.live.live_main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fbt: error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def session(data_dir: pathlib.Path, journal: pathlib.Path, *extra: str) -> list[str]:
    return [*CROSSOVER, "--feed", f"replay:{data_dir}", "--journal", str(journal), "--out",
            str(journal.parent / "out"), *extra]


def test_a_corrupted_journal_is_named_with_its_line(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    journal = tmp_path / "journal.jsonl"
    assert live(*session(data_dir, journal)).returncode == 0
    lines = journal.read_bytes().split(b"\n")
    lines[5] = lines[5][:20] + b"#" + lines[5][21:]
    journal.write_bytes(b"\n".join(lines))
    before = journal.read_bytes()
    refused(live(*session(data_dir, journal)), f"{journal}:6")
    assert journal.read_bytes() == before


def test_a_torn_last_line_is_dropped_and_the_session_resumes(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    whole = tmp_path / "whole"
    whole.mkdir()
    assert live(*session(data_dir, whole / "journal.jsonl")).returncode == 0
    journal = tmp_path / "journal.jsonl"
    killed = subprocess.run([sys.executable, "-m", "tests.live.live_main", *session(data_dir, journal)], cwd=ROOT,
                            env={**os.environ, "FBT_LIVE_NO_FSYNC": "1", "FBT_LIVE_KILL_AT": "120+"},
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9
    journal.write_bytes(journal.read_bytes()[:-9])  # the last line cut short, as a crash mid-write leaves it
    done = live(*session(data_dir, journal))
    assert done.returncode == 0, done.stderr
    assert "cut short by a crash; dropped" in done.stdout
    for name in ("fills.csv", "equity.csv", "stats.json"):
        assert (tmp_path / "out" / name).read_bytes() == (whole / "out" / name).read_bytes()


def test_a_journal_of_another_strategy_is_refused(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    journal = tmp_path / "journal.jsonl"
    assert live(*session(data_dir, journal)).returncode == 0
    before = journal.read_bytes()
    other = session(data_dir, journal)
    other[4] = "long_window=13"
    refused(live(*other), "another session", "long_window=13")
    refused(live(*session(data_dir, journal, "--execution", "next-open")), "another session")
    assert journal.read_bytes() == before


def test_an_unknown_symbol_is_refused(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    refused(live(*session(data_dir, tmp_path / "journal.jsonl", "--symbols", "SYNA,NOPE")), "NOPE")
    assert not (tmp_path / "journal.jsonl").exists()


def test_a_strategy_without_lookback_is_refused_as_streaming_refuses_it(tmp_path: pathlib.Path,
                                                                        data_dir: pathlib.Path) -> None:
    (tmp_path / "mine.py").write_text(
        "import fbt\n\ndef mine():\n    return fbt.strategy(lambda s, e: (s, ()), initial=None, name='mine')\n")
    args = session(data_dir, tmp_path / "journal.jsonl")
    args[: len(CROSSOVER)] = [f"{tmp_path / 'mine.py'}:mine"]
    refused(live(*args), "does not declare its lookback")


def test_a_venue_that_disagrees_halts_new_orders(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    journal = tmp_path / "journal.jsonl"
    assert live(*session(data_dir, journal)).returncode == 0
    pathlib.Path(f"{journal}.venue").unlink()  # a venue that knows none of the session's orders
    done = live(*session(data_dir, journal))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "halted  position mismatch after reconciliation" in done.stdout, done.stdout + done.stderr
    assert done.stderr.strip().startswith("fbt live: halted: position mismatch"), done.stderr
    assert b'"type":"Halted"' in journal.read_bytes()
    assert not pathlib.Path(f"{journal}.venue").read_text().strip()  # nothing was sent


def test_the_help_says_what_each_exit_status_means() -> None:
    done = live("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "exit status:" in text
    for code in ("0 the session ended", "2 bad input", "3 halted"):
        assert code in text, done.stdout
