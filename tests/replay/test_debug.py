"""Step-through debugging: the walk is the scan from any bar; break_at finds a bar, a time, the first
fill of a symbol or any condition; `fbt debug` prints the bars and the state at the stop."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
import fbt.testing as ft
from fbt.audit.debug import break_at, has_event, walk
from fbt.cli.app import main
from fbt.core.errors import ConfigError, StrategyError
from fbt.core.events import FillEvent
from fbt.core.market import BarData
from fbt.kernel.config import Config
from fbt.kernel.loop import fold, scan
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

Scenario = tuple[BarData, tuple[fbt.Strategy[Any], ...], Config]
SAMPLE = str(sample_dir())
ARGS = ["fbt.sample.strategies:moving_average_crossover", "--data", SAMPLE, "--param", "short_window=5",
        "--param", "long_window=20"]


@pytest.fixture(scope="module")
def result() -> fbt.Result:
    return fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir()), checkpoint_every=64)


@settings(max_examples=25, deadline=None)
@given(scenario=ft.scenarios(), every=st.integers(1, 20), pick=st.data())
def test_the_walk_is_the_scan_from_any_bar(scenario: Scenario, every: int, pick: st.DataObject) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config, checkpoint_every=every)
    first = pick.draw(st.integers(0, len(data) - 1), label="start")
    frames = list(walk(run, start=first))
    steps = list(scan(strategies, data, config))[first:]
    assert [f.bar for f in frames] == [s.index for s in steps]
    for frame, step in zip(frames, steps, strict=True):
        assert frame.world == step.world
        assert frame.events == step.events[1:]
        assert frame.timestamp == int(data.timestamps[frame.bar])
        assert run.events[frame.first_seq : frame.first_seq + len(frame.events)] == frame.events


def test_break_at_a_bar_a_time_or_a_condition(result: fbt.Result) -> None:
    data = result.run.data
    assert break_at(result, 100).bar == 100
    frame = break_at(result, "2015-06-01")
    assert frame is not None and frame.time <= "2015-06-01" and frame.world == result.state_at(frame.bar)
    first_fill = next(k for k, e in enumerate(result.run.events) if isinstance(e, FillEvent) and e.symbol == "SYNB")
    frame = break_at(result, has_event("FillEvent", symbol="SYNB"))
    assert frame is not None and frame.bar == int(result.run.event_bars[first_fill])
    assert frame.world.portfolio.positions[data.symbols.index("SYNB")] == 100.0
    assert any(e == result.run.events[first_fill] for e in frame.events)
    # any condition on the frame: walks bar by bar
    rich = break_at(result, lambda f: f.world.portfolio.cash < 95_000, start=10)
    assert rich is not None and rich.world.portfolio.cash < 95_000
    assert result.state_at(rich.bar - 1).portfolio.cash >= 95_000
    # has_event from a later start, with enum values by name
    later = break_at(result, has_event(fbt.FillEvent, symbol="SYNB", direction="SELL"), start=frame.bar + 1)
    assert later is not None and later.bar > frame.bar
    assert break_at(result, has_event("FillEvent", symbol="NOPE")) is None
    assert break_at(result, lambda f: False, start=2500) is None
    with pytest.raises(ConfigError, match="out of range"):
        break_at(result, 99_999)


def test_frames_describe_their_events_and_state(result: fbt.Result) -> None:
    frame = break_at(result, has_event("FillEvent"))
    assert frame is not None
    text = frame.describe()
    assert text.startswith(f"bar {frame.bar}  {frame.time}  3 event(s)")
    assert "FillEvent symbol=" in text and "direction=BUY" in text and "state: cash" in text


def test_an_impure_strategy_is_caught_by_the_walk() -> None:
    calls = [0]

    def step(state: int, event: fbt.MarketEvent) -> tuple[int, tuple[fbt.SignalEvent, ...]]:
        calls[0] += 1
        if calls[0] == 3:  # depends on how often it was called, not on its state
            return state, (fbt.SignalEvent(timestamp=event.timestamp, strategy_id="impure", symbol="SYNA",
                                           signal_type=fbt.SignalType.LONG),)
        return state, ()

    run = fold([fbt.strategy(step, initial=0, name="impure")], fbt.load_dir(sample_dir()).head(10))
    with pytest.raises(StrategyError, match="not pure"):
        list(walk(run))


# --- the command ----------------------------------------------------------------------------------


def test_fbt_debug_until_the_first_fill_of_a_symbol(capsys: pytest.CaptureFixture[str], result: fbt.Result) -> None:
    assert main(["debug", *ARGS, "--until", "fill:SYNB", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    frame = break_at(result, has_event("FillEvent", symbol="SYNB"))
    assert frame is not None
    assert f"stopped at bar {frame.bar} ({frame.time}): the first FillEvent of SYNB" in out
    assert "positions       SYNA=" in out and "moving_average_crossover" in out
    assert out.count("event(s)") == 3  # two bars before the stop, then the stop


def test_fbt_debug_stop_at_a_time_and_walks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", *ARGS, "--start", "2012-01-02", "--stop-at", "2012-01-31", "--limit", "0"]) == 0
    out = capsys.readouterr().out
    assert "stopped at bar" in out and "(2012-01-31)" in out
    assert main(["debug", *ARGS, "--start", "100", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("event(s)") == 3 and "state after bar" in out
    assert main(["debug", *ARGS, "--start", "2519", "--all-bars"]) == 0
    assert "bar 2519" in capsys.readouterr().out


def test_fbt_debug_when_the_stop_never_comes_or_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", *ARGS, "--until", "fill:NOPE"]) == 1
    assert "never happens" in capsys.readouterr().out
    assert main(["debug", *ARGS, "--until", "party"]) == 2
    assert "unknown event type 'party'" in capsys.readouterr().err
    assert main(["debug", *ARGS, "--stop-at", "1999-01-01"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert main(["debug", *ARGS, "--stop-at", "5", "--until", "fill"]) == 2


def test_fbt_debug_interactive(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\nn\ns\nc\nq\n"))
    assert main(["debug", *ARGS, "--until", "fill:SYNC", "--interactive"]) == 0
    out = capsys.readouterr().out
    assert "keys:" in out and "stopped at bar" in out and out.count("(fbt debug) ") == 5
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["debug", *ARGS, "-i"]) == 0


def test_debug_example_file_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    assert main(["debug", f"{root}/examples/tested_strategy.py:channel_breakout", "--data", SAMPLE,
                 "--until", "signal"]) == 0
    assert "SignalEvent strategy_id=channel_breakout" in capsys.readouterr().out
