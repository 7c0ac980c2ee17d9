"""Diff: a run with itself is identical, a one-event change is found exactly, the states before the
divergence are the run's own, different symbols are an error; `fbt diff` exits 0 / 1 / 2."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbt
import fbt.testing as ft
from fbt.audit import diff
from fbt.cli.app import main
from fbt.core.errors import ConfigError
from fbt.core.events import FillEvent, MarketEvent, SignalEvent
from fbt.core.market import BarData
from fbt.core.state import World
from fbt.journal import Journal, journal_of
from fbt.kernel.config import Config
from fbt.kernel.loop import Run, fold, start
from fbt.kernel.step import make_step
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

Scenario = tuple[BarData, tuple[fbt.Strategy[Any], ...], Config]
TMP = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25, deadline=None)
SAMPLE = str(sample_dir())


@pytest.fixture(scope="module")
def sample() -> BarData:
    return fbt.load_dir(sample_dir())


@TMP
@given(scenario=ft.scenarios())
def test_a_run_diffed_with_itself_is_identical(scenario: Scenario, tmp_path: Path) -> None:
    data, strategies, config = scenario
    a, b = fold(strategies, data, config), fold(strategies, data, config)
    fbt.write_journal(a, tmp_path / "a.jsonl")
    for left, right in [(a, a), (a, b), (journal_of(a), b), (tmp_path / "a.jsonl", a), (tmp_path / "a.jsonl",
                                                                                         journal_of(b))]:
        d = diff(left, right)
        assert d.identical and d.seq is None and d.count_a == d.count_b == len(a.events)
        assert str(d) == f"identical: {len(a.events)} events"


def _with(journal: Journal, events: tuple[Any, ...], bars: list[int]) -> Journal:
    return attrs.evolve(journal, events=events, event_bars=np.asarray(bars, dtype=np.int64), events_fingerprint="x")


@settings(max_examples=40, deadline=None)
@given(scenario=ft.scenarios(), pick=st.data())
def test_a_one_event_change_is_found_exactly(scenario: Scenario, pick: st.DataObject) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    if not run.events:
        return
    journal = journal_of(run)
    events, bars = list(run.events), run.event_bars.tolist()
    k = pick.draw(st.integers(0, len(events) - 1), label="k")
    how = pick.draw(st.sampled_from(["field", "drop", "insert", "bar"]), label="how")
    event = events[k]
    if how == "field":
        changed = attrs.evolve(event, timestamp=event.timestamp + 1)
        events[k] = changed
    elif how == "drop":
        del events[k]
        del bars[k]
    elif how == "insert":
        changed = SignalEvent(timestamp=event.timestamp, strategy_id="intruder", symbol=data.symbols[0],
                              signal_type=fbt.SignalType.EXIT)
        events.insert(k, changed)
        bars.insert(k, bars[k])
    else:
        bars = bars[:k] + [b + len(data) for b in bars[k:]]
    other = _with(journal, tuple(events), bars)
    if how == "drop":  # dropping one of equal neighbours shows where the runs differ: after the last of them
        same = [a == b for a, b in zip(run.events, run.events[1:], strict=False)]
        while k + 1 < len(run.events) and same[k] and run.event_bars[k + 1] == run.event_bars[k]:
            k += 1
    d = diff(run, other)
    assert not d.identical and d.seq == k
    assert d.a is not None and d.a.event == run.events[k] and d.a.bar == int(run.event_bars[k])
    if how == "drop" and k == len(run.events) - 1:
        assert d.b is None and "no event" in str(d)
    else:
        assert d.b is not None and d.b.event == events[k] and d.b.bar == bars[k]
    assert d.bar == min(int(run.event_bars[k]), bars[k] if k < len(bars) else len(data))
    assert d.state_a == world_before_by_hand(run, k)
    assert d.state_b is None  # a journal holds events, not states
    assert f"runs differ at event seq {k} (bar {d.bar}" in str(d)
    assert diff(other, run).seq == k


def world_before_by_hand(run: Run, k: int) -> World:
    """The world just before the run's event ``k``: step from the start, one event at a time."""
    context, world = start(run.strategies, run.data, run.config)
    step = make_step(context)
    handled = 0
    for i in range(len(run.data)):
        todo = deque([MarketEvent(i, run.data)])
        first = True
        while todo:
            if not first and handled == k:
                return world
            event = todo.popleft()
            world, caused = step(world, event)
            todo.extend(caused)
            if not first:
                handled += 1
            first = False
    return world


def test_two_different_runs_show_both_states(sample: BarData) -> None:
    a = fbt.run(moving_average_crossover(5, 20), sample)
    b = fbt.run(moving_average_crossover(5, 20), sample, quantity=50)
    d = diff(a, b)
    assert d.seq == 1 and d.a is not None and isinstance(d.a.event, fbt.OrderEvent)
    assert d.state_a == world_before_by_hand(a.run, 1) and d.state_b == world_before_by_hand(b.run, 1)
    assert d.timestamp == int(sample.timestamps[d.bar])
    text = str(d)
    assert "changed: quantity 100.0 -> 50.0" in text and "state before, A: cash 100000.0" in text
    assert f"bar {d.bar}, 2010-" in text


def test_runs_on_different_symbols_cannot_be_diffed(sample: BarData) -> None:
    a = fbt.run(moving_average_crossover(5, 20), sample)
    b = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir(), ["SYNA", "SYNB"]))
    with pytest.raises(ConfigError, match=r"different symbols: A trades SYNA, SYNB, SYNC, B trades SYNA, SYNB"):
        diff(a, b)
    with pytest.raises(ConfigError, match=r"expected an fbt\.Result"):
        diff(a, 42)


# --- the command ----------------------------------------------------------------------------------


def _run(out: Path, *extra: str) -> None:
    assert main(["run", "fbt.sample.strategies:moving_average_crossover", "--data", SAMPLE, "--param", "short_window=5",
                 "--param", "long_window=20", "--out", str(out), *extra]) == 0


def test_fbt_diff_on_output_folders_and_journal_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path / "a")
    _run(tmp_path / "b")
    _run(tmp_path / "c", "--capital", "5000")
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b" / "journal.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("identical: ")
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "c")]) == 0  # same events, other capital
    out = capsys.readouterr().out
    assert "identical" in out and "the inputs differ" in out
    # an edited fill price, rewritten with a valid hash: the first divergent event and its bar's time
    journal = fbt.read_journal(tmp_path / "a")
    k = next(i for i, e in enumerate(journal.events) if isinstance(e, FillEvent))
    fill = journal.events[k]
    assert isinstance(fill, FillEvent)
    edited = attrs.evolve(journal, events=(*journal.events[:k], attrs.evolve(fill, price=fill.price + 1),
                                           *journal.events[k + 1 :]))
    edited_path = edited.write(tmp_path / "edited.jsonl")
    assert main(["diff", str(tmp_path / "a"), str(edited_path)]) == 1
    out = capsys.readouterr().out
    bar = int(journal.event_bars[k])
    day = str(np.datetime64(int(fbt.load_dir(sample_dir()).timestamps[bar]), "ns").astype("datetime64[D]"))
    assert f"runs differ at event seq {k} (bar {bar}, {day})" in out
    assert f"changed: price {fill.price!r} -> {fill.price + 1!r}" in out


def test_fbt_diff_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path / "a")
    assert main(["run", "fbt.sample.strategies:moving_average_crossover", "--data", SAMPLE, "--symbols", "SYNA",
                 "--out", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "nowhere")]) == 2
    assert "cannot read the journal" in capsys.readouterr().err
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "one")]) == 2
    assert "different symbols" in capsys.readouterr().err
    journal = tmp_path / "a" / "journal.jsonl"
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:-1]))
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "one")]) == 2
    assert "truncated" in capsys.readouterr().err
