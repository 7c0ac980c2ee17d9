"""The progress bar: bars per second on a terminal; silent when output is not a terminal or --quiet is given."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import fbt
from fbt.cli.app import main
from fbt.io.progress import Progress, progress_bar, render
from fbt.sample.data import sample_dir


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def ticking(times: list[float]) -> Callable[[], float]:
    values: Iterator[float] = iter(times)
    return lambda: next(values)


def test_silent_unless_a_terminal_and_not_quiet() -> None:
    assert progress_bar("x", stream=io.StringIO()) is None
    assert progress_bar("x", stream=Terminal(), quiet=True) is None
    assert isinstance(progress_bar("x", stream=Terminal()), Progress)


def test_a_long_job_leaves_its_final_line_with_the_rate() -> None:
    out = Terminal()
    bar = Progress("fbt run", stream=out, clock=ticking([0.0, 0.0, 0.05, 1.0, 2.5]))
    bar(0, 5000)
    bar(100, 5000)  # too soon after the last drawing: skipped
    bar(2000, 5000)
    bar(5000, 5000)
    text = out.getvalue()
    assert text.count("\r\033[K") == 3 and text.endswith("\n")
    final = text.rsplit("\r\033[K", 1)[1]
    assert final == render("fbt run", 5000, 5000, 2.5) + "\n"
    assert "100%  5,000/5,000 bars  2,000 bars/s  2.5 s" in final
    bar(5000, 5000)  # finished: nothing more
    assert out.getvalue() == text


def test_a_quick_job_leaves_nothing_behind() -> None:
    out = Terminal()
    bar = Progress("fbt run", stream=out, clock=ticking([0.0, 0.0, 0.2]))
    bar(0, 10)
    bar(10, 10)
    assert out.getvalue().endswith("\r\033[K") and "\n" not in out.getvalue()
    closed = Terminal()
    unfinished = Progress("x", stream=closed, clock=ticking([0.0, 0.0]))
    unfinished(1, 10)
    unfinished.close()
    assert closed.getvalue().endswith("\r\033[K")


def test_run_reports_its_bars(crossover: Callable[..., Any]) -> None:
    data = fbt.load_dir(sample_dir())
    calls: list[tuple[int, int]] = []
    result = fbt.run(crossover(), data, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))
    assert result.fingerprints == fbt.run(crossover(), data).fingerprints


def test_ingest_reports_its_rows(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from fbt.io.sql import ingest

    calls: list[tuple[int, int]] = []
    ingest(sample_dir(), f"sqlite:///{tmp_path / 'm.db'}", progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 7560) and calls[-1] == (7560, 7560)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_the_command_line_is_silent_when_not_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "fbt.sample.strategies:moving_average_crossover", "--data", str(sample_dir()),
                 "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().err == ""


def test_the_command_line_shows_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["run", "fbt.sample.strategies:moving_average_crossover", "--data", str(sample_dir()),
                 "--out", str(tmp_path / "a")]) == 0
    assert "fbt run  [" in terminal.getvalue() and "2,520 bars" in terminal.getvalue()
    quiet = Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main(["run", "fbt.sample.strategies:moving_average_crossover", "--data", str(sample_dir()),
                 "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert quiet.getvalue() == ""
    capsys.readouterr()
