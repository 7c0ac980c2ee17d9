"""`fbt run` writes the journal, prints the fingerprints and puts them at the top level of stats.json;
every output file is byte-identical whatever --out is and whatever PYTHONHASHSEED is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fbt
from fbt.cli.app import main
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

SAMPLE = str(sample_dir())
RUN = ["run", "fbt.sample.strategies:moving_average_crossover", "--data", SAMPLE, "--param", "short_window=5",
       "--param", "long_window=20"]
OUTPUTS = ("equity.csv", "fills.csv", "journal.jsonl", "stats.json")


def test_fbt_run_writes_the_journal_and_prints_the_fingerprints(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*RUN, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    expected = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir())).fingerprints
    assert f"Input Fingerprint  {expected.input_fingerprint}\n" in out
    assert f"Events Fingerprint {expected.events_fingerprint}\n" in out
    assert "journal.jsonl" in out
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["input_fingerprint"] == expected.input_fingerprint
    assert stats["events_fingerprint"] == expected.events_fingerprint
    journal = fbt.read_journal(tmp_path / "out")
    assert journal.events_fingerprint == expected.events_fingerprint
    assert len(journal) == stats["signals"] + stats["orders"] + stats["fills"]


def test_fbt_demo_writes_the_journal_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert "Events Fingerprint" in capsys.readouterr().out
    assert fbt.read_journal(tmp_path).header.strategy_labels() == (
        "moving_average_crossover(long_window=400, short_window=100)",)


def test_outputs_are_byte_identical_whatever_the_out_folder_and_hash_seed(tmp_path: Path) -> None:
    written = []
    for seed, out in (("1", str(tmp_path / "a")), ("2", "relative/deeper/b")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-m", "fbt.cli", *RUN, "--out", out], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        folder = Path(out) if Path(out).is_absolute() else tmp_path / out
        written.append({name: (folder / name).read_bytes() for name in OUTPUTS})
        assert [line for line in proc.stdout.splitlines() if "Fingerprint" in line]
    assert written[0] == written[1]
    assert str(tmp_path).encode() not in written[0]["journal.jsonl"]
