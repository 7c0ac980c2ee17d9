"""Replay rebuilds the final world exactly, edits are caught, mismatched inputs are named; time
travel (state_at, events_between) equals the scan at every bar whatever the checkpoint spacing; a
split fold equals one fold."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbt
import fbt.testing as ft
from fbt.audit import events_between, replay, resume, state_at
from fbt.core.errors import ConfigError
from fbt.core.events import FillEvent, SignalEvent
from fbt.core.market import BarData
from fbt.journal import Journal, JournalError, canonical_json, journal_of, read_journal
from fbt.kernel.config import Config
from fbt.kernel.loop import fold, scan, start
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

Scenario = tuple[BarData, tuple[fbt.Strategy[Any], ...], Config]
TMP = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def sample() -> BarData:
    return fbt.load_dir(sample_dir())


# --- replay -------------------------------------------------------------------------------------


@TMP
@given(scenario=ft.scenarios())
def test_replay_rebuilds_the_final_world_exactly(scenario: Scenario, tmp_path: Path) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    path = tmp_path / "journal.jsonl"
    fbt.write_journal(run, path)
    assert replay(path, data, strategies, config=config) == run.final
    assert replay(journal_of(run), data, strategies, config=config) == run.final


def _edited(journal: Journal, k: int, event: Any) -> Journal:
    events = (*journal.events[:k], event, *journal.events[k + 1 :])
    return attrs.evolve(journal, events=events)


@TMP
@given(scenario=ft.scenarios(), pick=st.data())
def test_editing_one_event_fails_replay_or_the_hash(scenario: Scenario, pick: st.DataObject, tmp_path: Path) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    if not run.events:
        return
    k = pick.draw(st.integers(0, len(run.events) - 1), label="k")
    event = run.events[k]
    if isinstance(event, SignalEvent):
        other = attrs.evolve(event, strength=event.strength + 1.0)
    elif isinstance(event, FillEvent):
        other = attrs.evolve(event, price=event.price * 1.5)
    else:
        other = attrs.evolve(event, quantity=event.quantity + 1.0)
    # an edit that kept the journal's hash in step (rewritten through the writer): replay names it
    path = tmp_path / "edited.jsonl"
    _edited(journal_of(run), k, other).write(path)
    with pytest.raises(JournalError, match=rf"replay diverges at seq {k}: the journal has .* at bar "
                                           rf"{int(run.event_bars[k])}, the replay made"):
        replay(path, data, strategies, config=config)
    # an edit of the file alone: the hash check refuses it
    fbt.write_journal(run, path)
    lines = path.read_text().splitlines(keepends=True)
    line = json.loads(lines[k + 1])
    line["fields"] = {**line["fields"], **{f: v for f, v in _plain_fields(other).items()}}
    lines[k + 1] = canonical_json(line) + "\n"
    path.write_text("".join(lines))
    with pytest.raises(JournalError, match="an event line was edited"):
        replay(path, data, strategies, config=config)


def _plain_fields(event: Any) -> dict[str, Any]:
    from fbt.journal import encode_record

    fields = encode_record(event)["fields"]
    assert isinstance(fields, dict)
    return fields


def test_replay_names_the_input_that_does_not_match(sample: BarData, tmp_path: Path) -> None:
    strategy = moving_average_crossover(5, 20)
    result = fbt.run(strategy, sample)
    result.write(tmp_path)
    assert replay(tmp_path, sample, strategy) == result.final_world
    values = sample.values.copy()
    values[:, 0, 1000] *= 1.01
    other = BarData.from_columns(symbols=sample.symbols, timestamps=sample.timestamps, real=sample.real,
                                 columns={f: values[k] for k, f in enumerate(fbt.core.market.FIELDS)})
    with pytest.raises(JournalError, match=r"market data: the journal was written for data [0-9a-f]{12}, the data"):
        replay(tmp_path, other, strategy)
    with pytest.raises(JournalError, match=r"bars: the journal has 2520, the data has 2000"):
        replay(tmp_path, sample.head(2000), strategy)
    with pytest.raises(JournalError, match=r"strategies: the journal has moving_average_crossover\(long_window=20, "
                                           r"short_window=5\), given moving_average_crossover\(long_window=21"):
        replay(tmp_path, sample, moving_average_crossover(5, 21))
    with pytest.raises(JournalError, match=r"configuration: capital 100000.0 -> 5000.0"):
        replay(tmp_path, sample, strategy, config=Config(capital=5000))
    with pytest.raises(JournalError, match=r"symbols: the journal has SYNA, SYNB, SYNC, the data has SYNA"):
        replay(tmp_path, fbt.load_dir(sample_dir(), ["SYNA"]), strategy)


def test_replay_refuses_a_journal_of_another_fbt_version(sample: BarData, tmp_path: Path) -> None:
    strategy = moving_average_crossover(5, 20)
    journal = fbt.run(strategy, sample).journal()
    old = attrs.evolve(journal, header=attrs.evolve(journal.header, fbt_version="0.0.1"))
    old.write(tmp_path / "old.jsonl")
    with pytest.raises(JournalError, match=r"written by fbt 0.0.1; this is fbt 0.1.0"):
        replay(tmp_path / "old.jsonl", sample, strategy)


def test_a_strategy_changed_since_the_run_is_caught_on_replay(sample: BarData, tmp_path: Path) -> None:
    strategy = moving_average_crossover(5, 20)
    fbt.run(strategy, sample).write(tmp_path)
    changed = attrs.evolve(moving_average_crossover(5, 21), params=strategy.params)  # same name and params, new code
    with pytest.raises(JournalError, match=r"replay diverges at seq \d+"):
        replay(tmp_path, sample, changed)


# --- time travel --------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(scenario=ft.scenarios(), every=st.one_of(st.none(), st.integers(1, 70)))
def test_state_at_every_bar_is_the_scanned_world(scenario: Scenario, every: int | None) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config, checkpoint_every=every)
    for step in scan(strategies, data, config):
        assert state_at(run, step.index) == step.world


@settings(max_examples=25, deadline=None)
@given(scenario=ft.scenarios(), spacings=st.tuples(st.integers(1, 70), st.integers(1, 70)), pick=st.data())
def test_checkpoint_spacing_does_not_change_state_at(scenario: Scenario, spacings: tuple[int, int],
                                                     pick: st.DataObject) -> None:
    data, strategies, config = scenario
    a = fold(strategies, data, config, checkpoint_every=spacings[0])
    b = fold(strategies, data, config, checkpoint_every=spacings[1])
    assert len(a.checkpoints) == len(data) // spacings[0]  # memory O(n / k)
    for bar in pick.draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=10), label="bars"):
        assert state_at(a, bar) == state_at(b, bar)


def counting(calls: list[int]) -> fbt.Strategy[int]:
    """A crossover-free strategy that counts how often it is called (through a test-only side channel)."""

    def step(state: int, event: fbt.MarketEvent) -> tuple[int, tuple[SignalEvent, ...]]:
        calls.append(event.index)
        return state + 1, ()

    return fbt.strategy(step, initial=0, name="counting")


@pytest.mark.parametrize("every", [1, 7, 100])
def test_state_at_steps_at_most_k_bars(sample: BarData, every: int) -> None:
    calls: list[int] = []
    result = fbt.run([moving_average_crossover(5, 20), counting(calls)], sample, checkpoint_every=every)
    for bar in (0, 5, 6, 7, 99, 100, 1234, 2519):
        calls.clear()
        world = result.state_at(bar)
        assert len(calls) <= every
        assert world.strategies[1] == bar + 1


def test_state_at_takes_times(sample: BarData) -> None:
    result = fbt.run(moving_average_crossover(5, 20), sample, checkpoint_every=50)
    bar = 777
    ts = pd.Timestamp(int(sample.timestamps[bar]))
    expected = result.state_at(bar)
    for when in (ts, ts.strftime("%Y-%m-%d"), np.datetime64(int(sample.timestamps[bar]), "ns"), ts.to_pydatetime(),
                 ts.date(), ts + pd.Timedelta(hours=12)):
        assert result.state_at(when) == expected, when
    assert result.state_at(ts.tz_localize("UTC")) == expected
    assert result.state_at(datetime.datetime(ts.year, ts.month, ts.day, tzinfo=datetime.UTC)) == expected


@pytest.mark.parametrize("when", [2520, -1, "2009-12-31", "2030-01-01", True, "yesterday", 1.5])
def test_state_at_out_of_range_is_a_clear_error(sample: BarData, when: Any) -> None:
    result = fbt.run(moving_average_crossover(5, 20), sample)
    with pytest.raises(ConfigError, match=r"out of range: the run has bars 0 \.\. 2519 \(2010-01-04 \.\. 2019-08-30\)"
                                          r"|expected a bar index or a time"):
        result.state_at(when)


@settings(max_examples=25, deadline=None)
@given(scenario=ft.scenarios(), pick=st.data())
def test_events_between_is_the_window_of_the_log(scenario: Scenario, pick: st.DataObject) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    a = pick.draw(st.integers(0, len(data) - 1), label="a")
    b = pick.draw(st.integers(a, len(data) - 1), label="b")
    window = events_between(run, a, b)
    expected = [(k, int(bar), e) for k, (bar, e) in enumerate(zip(run.event_bars, run.events, strict=True))
                if a <= bar <= b]
    assert [(e.seq, e.bar, e.event) for e in window] == expected
    assert events_between(journal_of(run), a, b) == window


def test_events_between_takes_times_and_checks_its_window(sample: BarData) -> None:
    result = fbt.run(moving_average_crossover(5, 20), sample)
    window = result.events_between("2012-01-01", "2012-03-31")
    assert window and all(
        np.datetime64("2012-01-01") <= np.datetime64(int(sample.timestamps[e.bar]), "ns") <= np.datetime64("2012-03-31")
        for e in window)
    with pytest.raises(ConfigError, match=r"ends .* before it starts"):
        result.events_between(100, 50)
    with pytest.raises(ConfigError, match="takes bar indices"):
        events_between(result.journal(), "2012-01-01", 5)
    with pytest.raises(ConfigError, match="out of range"):
        events_between(result.journal(), 0, 2520)


# --- the split fold -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(scenario=ft.scenarios(), pick=st.data())
def test_a_split_fold_equals_one_fold(scenario: Scenario, pick: st.DataObject) -> None:
    data, strategies, config = scenario
    at = pick.draw(st.integers(0, len(data)), label="at")
    whole = fold(strategies, data, config)
    context, initial = start(strategies, data, config)
    first = resume(context, initial, start=0, stop=at)
    assert first.world == state_at(whole, at - 1) if at else first.world == initial
    second = resume(context, first.world, start=at)
    assert first.events + second.events == whole.events
    assert np.concatenate([first.event_bars, second.event_bars]).tolist() == whole.event_bars.tolist()
    assert second.world == whole.final
    ft.assert_split_fold(strategies, data, at=at, config=config)


def test_resume_checks_its_bars(sample: BarData) -> None:
    context, initial = start([moving_average_crossover(5, 20)], sample, Config())
    with pytest.raises(ConfigError, match="start <= stop"):
        resume(context, initial, start=10, stop=5)


def test_replay_works_on_the_read_journal_object(sample: BarData, tmp_path: Path) -> None:
    strategies = [moving_average_crossover(5, 20), moving_average_crossover(3, 9)]
    result = fbt.run(strategies, sample, commission=fbt.zero_commission)
    result.write(tmp_path)
    journal = read_journal(tmp_path)
    assert replay(journal, sample, strategies, config=Config(commission=fbt.zero_commission)) == result.final_world
    with pytest.raises(JournalError, match=r"configuration: commission fbt.models.commission.zero_commission -> "
                                           r"fbt.models.commission.ib_seed_commission"):
        replay(journal, sample, strategies)
    with pytest.raises(JournalError, match="strategies"):
        replay(journal, sample, strategies[:1], config=Config(commission=fbt.zero_commission))
