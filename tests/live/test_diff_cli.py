"""``fbt diff`` takes a live journal as it takes a run's: same inputs, same events, no false note."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fbt.cli.app import main
from fbt.sample.data import sample_dir

STRATEGY = "fbt.sample.strategies:moving_average_crossover"


def test_a_live_journal_diffs_clean_against_fbt_run_and_names_a_real_difference(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "bars"
    data.mkdir()
    shutil.copy(Path(sample_dir()) / "SYNA.csv", data / "SYNA.csv")
    params = ["--param", "short_window=3", "--param", "long_window=8"]
    assert main(["live", STRATEGY, *params, "--feed", f"replay:{data}", "--journal", str(tmp_path / "live.jsonl"),
                 "--out", str(tmp_path / "live")]) == 0
    assert main(["run", STRATEGY, *params, "--data", str(data), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "live.jsonl"), str(tmp_path / "run" / "journal.jsonl")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("identical:") and "inputs differ" not in out
    other = ["--param", "short_window=3", "--param", "long_window=9"]
    assert main(["run", STRATEGY, *other, "--data", str(data), "--out", str(tmp_path / "run9"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "live.jsonl"), str(tmp_path / "run9" / "journal.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "the inputs differ" in out and "same market data" in out
