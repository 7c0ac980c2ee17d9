"""The command line as a user meets it: outputs, formats, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fbt.cli.app import main
from fbt.sample.data import generate, sample_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "moving_average_crossover.py") + ":moving_average_crossover"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_writes_the_three_files_in_the_documented_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "run", EXAMPLE, "--data", str(sample_dir()), "--symbols", "SYNA,SYNB",
                             "--param", "short_window=5", "--param", "long_window=20", "--out", str(tmp_path))
    assert code == 0, err
    assert "Sharpe Ratio" in out and "Total Return" in out
    with open(tmp_path / "fills.csv", newline="") as fh:
        fills = list(csv.reader(fh))
    assert fills[0] == ["timestamp", "symbol", "direction", "quantity", "price", "commission"]
    assert {row[2] for row in fills[1:]} == {"BUY", "SELL"}
    assert all(row[3] == "100" and row[1] in ("SYNA", "SYNB") for row in fills[1:])
    assert all(len(row[0]) == 10 for row in fills[1:])  # daily data prints as YYYY-MM-DD
    with open(tmp_path / "equity.csv", newline="") as fh:
        equity = list(csv.reader(fh))
    assert equity[0] == ["timestamp", "SYNA_position", "SYNA_holdings", "SYNB_position", "SYNB_holdings",
                         "cash", "commission", "total", "returns", "equity_curve", "drawdown"]
    assert len(equity) - 1 == 2520
    stats = json.loads((tmp_path / "stats.json").read_text())
    for key in ("total_return", "sharpe_ratio", "max_drawdown", "drawdown_duration", "final_equity", "fills",
                "signals", "orders", "bars"):
        assert key in stats
    assert stats["fills"] == len(fills) - 1
    assert stats["bars"] == 2520
    # the last equity row is taken before the last bar's fills; final equity includes them
    assert float(equity[-1][7]) == pytest.approx(stats["final_equity"], abs=50)


def test_symbol_file_pairs_and_the_book_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    code, out, _ = run_cli(capsys, "run", EXAMPLE, "--data", f"ORCL={shared_data / 'backtrader/orcl-1995-2014.txt'}",
                           "--out", str(tmp_path))
    assert code == 0
    assert "Total Return       3.11%" in out and "Sharpe Ratio       0.22" in out
    assert "Max Drawdown       2.94%" in out and "Drawdown Duration  3604 bars" in out
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["fills"] == 13 and round(stats["final_equity"], 4) == 103107.4395


def test_demo_runs_on_the_bundled_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "demo", "--out", str(tmp_path))
    assert code == 0
    assert "synthetic" in out and "SYNA, SYNB, SYNC" in out
    assert (tmp_path / "equity.csv").exists() and (tmp_path / "stats.json").exists()


def test_bundled_sample_data_is_what_the_generator_makes(tmp_path: Path) -> None:
    for path in generate(tmp_path):
        assert path.read_bytes() == (sample_dir() / path.name).read_bytes()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--param", "nope=3"], "unknown parameter 'nope' for moving_average_crossover; it takes short_window"),
        (["--param", "short_window"], "--param: expected NAME=VALUE"),
        (["--param", "short_window=0"], "short_window: expected a whole number >= 1, got 0"),
        (["--capital", "-5"], "--capital: expected a positive finite number, got '-5'"),
        (["--capital", "lots"], "--capital: expected a positive number, got 'lots'"),
        (["--symbols", "SYNA,NOPE"], "NOPE"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli(capsys, "run", EXAMPLE, "--data", str(sample_dir()), "--out", str(tmp_path), *args)
    assert code == 2
    assert err.startswith("fbt: error: ") and expected in err
    assert "Traceback" not in err


def test_bad_strategy_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for spec, expected in [
        ("nofile.py:f", "no such file nofile.py"),
        (str(ROOT / "examples" / "moving_average_crossover.py") + ":nothing", "has no factory 'nothing'"),
        ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
        ("justaname", "expected path/to/file.py:factory"),
    ]:
        code, _, err = run_cli(capsys, "run", spec, "--data", str(sample_dir()), "--out", str(tmp_path))
        assert code == 2 and expected in err, err


def test_a_strategy_that_raises_is_named_with_its_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "broken.py"
    module.write_text(
        "import fbt\n"
        "def broken():\n"
        "    def step(state, event):\n"
        "        if event.index == 7:\n"
        "            raise ZeroDivisionError('boom')\n"
        "        return state, ()\n"
        "    return fbt.strategy(step, initial=None, name='broken')\n"
    )
    code, _, err = run_cli(capsys, "run", f"{module}:broken", "--data", str(sample_dir()),
                           "--out", str(tmp_path / "out"))
    assert code == 2
    assert "strategy 'broken' raised at bar 7 (2010-01-13" in err and "ZeroDivisionError: boom" in err


def test_a_failed_run_leaves_earlier_results_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_cli(capsys, "run", EXAMPLE, "--data", str(sample_dir()), "--out", str(out))[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "X.csv").write_text("Date,Close\n2020-01-01,1\n2020-01-02,nan\n")
    code, _, err = run_cli(capsys, "run", EXAMPLE, "--data", str(bad), "--out", str(out))
    assert code == 2 and "X.csv:3: Close: expected a positive finite price" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_missing_data_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "run", EXAMPLE, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert code == 2 and "nowhere" in err


def test_console_script_exit_status_and_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fbt.cli", "run", EXAMPLE, "--data", str(tmp_path / "missing"), "--out",
         str(tmp_path / "o")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("fbt: error: ")


def test_a_closed_pipe_loses_no_result(tmp_path: Path) -> None:
    """`fbt run ... | head -1`: the reader goes away early; every output file is still written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fbt.cli", "run", EXAMPLE, "--data", str(sample_dir()), "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait()
    assert "Traceback" not in err
    assert code in (0, 141)
    assert {p.name for p in tmp_path.iterdir()} >= {"equity.csv", "fills.csv", "stats.json", "journal.jsonl"}
