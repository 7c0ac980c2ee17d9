"""Crash safety: ``fbt live --broker sim`` killed (SIGKILL) at seeded random points and restarted with
the same journal sends no order twice and ends with the fills of an uninterrupted run.

The process kills itself at its N-th journal write (``FBT_LIVE_KILL_AT=N``: just before it,
``N+``: just after it, so between an intent's journal line and its submission too); the sim venue's
own record says which orders it received.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from fbt.sample.data import sample_dir

from .session_support import FILES

ROOT = pathlib.Path(__file__).resolve().parents[2]
BARS = 160


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("data")
    for symbol in ("SYNA", "SYNB"):
        lines = (pathlib.Path(sample_dir()) / f"{symbol}.csv").read_text().splitlines()
        (folder / f"{symbol}.csv").write_text("\n".join(lines[: BARS + 1]) + "\n")
    return folder


def live(data_dir: pathlib.Path, folder: pathlib.Path, execution: str, kill: str = "") -> int:
    env = {**os.environ, "FBT_LIVE_NO_FSYNC": "1", "FBT_LIVE_KILL_AT": kill}
    args = [sys.executable, "-m", "tests.live.live_main", "fbt.sample.strategies:moving_average_crossover",
            "--param", "short_window=3", "--param", "long_window=12", "--feed", f"replay:{data_dir}",
            "--journal", str(folder / "journal.jsonl"), "--out", str(folder / "out"), "--execution", execution]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, -9), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def received(folder: pathlib.Path) -> list[str]:
    """Every order_ref the venue was sent (accepted or refused as a duplicate), in order."""
    refs = []
    for line in (folder / "journal.jsonl.venue").read_text().splitlines():
        record = json.loads(line)
        if record["kind"] in ("order", "duplicate"):
            refs.append(record["intent"]["fields"]["order_ref"])
    return refs


def writes(folder: pathlib.Path) -> int:
    return len((folder / "journal.jsonl").read_text().splitlines()) - 2  # not the header, not the trailer


def check(folder: pathlib.Path, reference: pathlib.Path) -> None:
    refs = received(folder)
    assert len(refs) == len(set(refs)), "an order was sent twice"
    assert refs == received(reference)
    for name in FILES:
        assert (folder / "out" / name).read_bytes() == (reference / "out" / name).read_bytes(), name


@pytest.mark.parametrize(("execution", "singles", "chain"), [("book", 6, 6), ("next-open", 5, 6)])
def test_killed_and_restarted_sessions_send_no_order_twice(
    tmp_path: pathlib.Path, data_dir: pathlib.Path, execution: str, singles: int, chain: int
) -> None:
    reference = tmp_path / "reference"
    reference.mkdir()
    assert live(data_dir, reference, execution) == 0
    total = writes(reference)
    assert len(received(reference)) > 20
    rng = np.random.default_rng(14 if execution == "book" else 41)
    # single kills: one crash each, then a restart that finishes
    for k in range(singles):
        folder = tmp_path / f"single{k}"
        folder.mkdir()
        point = f"{rng.integers(1, total + 1)}{rng.choice(['', '+'])}"
        assert live(data_dir, folder, execution, point) == -9, point
        assert live(data_dir, folder, execution) == 0
        check(folder, reference)
    # a chain: killed again and again on the same journal, each restart going a little further
    folder = tmp_path / "chain"
    folder.mkdir()
    kills = 0
    for _ in range(chain):
        point = f"{rng.integers(1, max(1, total // chain) + 1)}{rng.choice(['', '+'])}"
        kills += live(data_dir, folder, execution, point) == -9
    assert kills >= chain - 1
    assert live(data_dir, folder, execution) == 0
    check(folder, reference)
