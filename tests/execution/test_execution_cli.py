"""``fbt run`` with the execution, cost, sizing and risk options: choices printed, files written,
one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import fbt
from fbt.cli.app import main
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "moving_average_crossover.py") + ":moving_average_crossover"
BASE_ARGS = ["run", EXAMPLE, "--data", str(sample_dir()), "--symbols", "SYNA,SYNB", "--param", "short_window=5",
             "--param", "long_window=20"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_prints_the_books_choices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, *BASE_ARGS, "--out", str(tmp_path))
    assert code == 0, err
    assert "Execution book  Commission ib-seed  Slippage none  Sizing book(100)  Risk none" in out
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["execution_model"] == "book" and stats["rejected"] == 0 and stats["cancelled"] == 0
    with open(tmp_path / "trades.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["symbol", "direction", "entry_time", "exit_time", "quantity", "entry_price", "exit_price",
                       "pnl", "commission", "net_pnl", "bars"]
    assert len(rows) - 1 == stats["trades"] > 10


def test_realistic_options_reach_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, *BASE_ARGS, "--out", str(tmp_path), "--execution", "next-open",
                         "--commission", "ib-fixed+per-share:0.0002", "--slippage", "fixed-bps:5",
                         "--sizing", "percent:45", "--max-position", "0.6", "--long-only",
                         "--group", "both=SYNA,SYNB:0.9", "--volume-limit", "0.5")
    assert code == 0, err
    assert ("Execution next-open  Commission ib-fixed + per-share(rate=0.0002)  Slippage fixed-bps  "
            "Sizing percent(percent=45.0)  Risk cash-check, max-position(0.6), long-only, group(both:0.9), "
            "volume-limit(0.5)") in out
    assert "Rejected " in out and "Trades " in out and "Slippage " in out
    stats = json.loads((tmp_path / "stats.json").read_text())
    data = fbt.load_dir(sample_dir(), ["SYNA", "SYNB"])
    expected = fbt.run(
        moving_average_crossover(5, 20), data, execution="next-open",
        commission=fbt.combined(fbt.IBFixed(), fbt.PerShare(rate=0.0002)), slippage=fbt.FixedBps(bps=5),
        sizing=fbt.PercentOfEquity(percent=45),
        risk=fbt.Risk(max_position=0.6, allow_short=False, volume_limit=0.5,
                      groups=(fbt.Group(name="both", symbols=("SYNA", "SYNB"), limit=0.9),)),
    )
    assert stats["final_equity"] == expected.statistics["final_equity"]
    assert stats["rejected"] == expected.statistics["rejected"] > 0
    assert stats["sizing_model"] == "percent(percent=45.0)"


def test_cash_check_and_margin_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, *BASE_ARGS, "--out", str(tmp_path), "--no-cash-check", "--execution", "next-close")
    assert code == 0 and "Risk none" in out
    code, out, _ = cli(capsys, *BASE_ARGS, "--out", str(tmp_path), "--margin", "2", "--execution", "next-close")
    assert code == 0 and "Risk margin(2)" in out
    code, out, _ = cli(capsys, *BASE_ARGS, "--out", str(tmp_path), "--cash-check")
    assert code == 0 and "Execution book" in out and "Risk cash-check" in out


@pytest.mark.parametrize(("args", "expected"), [
    (["--execution", "tomorrow"], None),
    (["--commission", "ib-fix"], "--commission: unknown model 'ib-fix'; did you mean 'ib-fixed'?"),
    (["--slippage", "fixed-bps:x"], "--slippage: fixed-bps: bps: expected a float, got 'x'"),
    (["--sizing", "percent:0"], "--sizing: percent: percent: expected a positive finite number, got 0.0"),
    (["--group", "tech"], "--group: expected NAME=SYMBOL,SYMBOL:LIMIT"),
    (["--group", "tech=NOPE:0.5"], "group 'tech': unknown symbol 'NOPE'"),
    (["--margin", "0.5"], "margin: expected a multiple of equity >= 1"),
    (["--volume-limit", "0.1"], "volume_limit: book mode fills at once or not at all"),
    (["--max-leverage", "-1"], "--max-leverage: expected a positive finite number"),
])
def test_bad_model_options_are_one_line_errors(args: list[str], expected: str | None, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    if expected is None:  # argparse's own choices check
        with pytest.raises(SystemExit) as info:
            main([*BASE_ARGS, "--out", str(tmp_path), *args])
        assert info.value.code == 2
        assert "invalid choice: 'tomorrow'" in capsys.readouterr().err
        return
    code, _, err = cli(capsys, *BASE_ARGS, "--out", str(tmp_path), *args)
    assert code == 2
    assert err.startswith("fbt: error: ") and expected in err and "Traceback" not in err
