"""Parity: a live session on the sim venue and a replay feed writes exactly what ``fbt run`` writes."""

from __future__ import annotations

import pathlib

import pytest

import fbt
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

from .session_support import SHARED, config, live, same_files


@pytest.fixture(autouse=True)
def _flush_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBT_LIVE_NO_FSYNC", "1")  # fsync is exercised by fbt.live.session's doctest


CASES = [
    pytest.param(dict(), id="book"),
    pytest.param(dict(execution="next-open", slippage="fixed-bps:5", sizing="percent:10"),
                 id="next-open-slippage-sizing"),
    pytest.param(dict(execution="next-close"), id="next-close"),
    pytest.param(dict(slippage="fixed-bps:5"), id="book-slippage"),
]


@pytest.mark.parametrize("options", CASES)
def test_live_sim_on_the_sample_data_writes_fbt_runs_files(tmp_path: pathlib.Path, options: dict[str, str]) -> None:
    cfg = config(**options)
    strategy = moving_average_crossover(10, 40)
    session = live(strategy, sample_dir(), tmp_path, cfg)
    backtest = fbt.run(strategy, fbt.load_dir(sample_dir()), cfg)
    assert len(backtest.fills) > 10  # the case trades: parity is not vacuous
    session.write(tmp_path / "live")
    backtest.write(tmp_path / "run")
    assert same_files(tmp_path / "live", tmp_path / "run") == []


def test_the_live_journal_holds_every_bar_inline_and_every_order_as_an_intent(tmp_path: pathlib.Path) -> None:
    cfg = config()
    session = live(moving_average_crossover(10, 40), sample_dir(), tmp_path, cfg)
    journal = fbt.journal.read_journal(tmp_path / "journal.jsonl")
    assert journal.header.market == "inline" and len(journal.markets) == len(session.run.data)
    intents = [n for n in journal.notes if '"type":"OrderIntent"' in n.record]
    assert len(intents) == session.stats["orders"]
    assert journal.events == session.run.events


@pytest.mark.skipif(not (SHARED / "backtrader").is_dir(), reason="../shared/data is not here")
@pytest.mark.parametrize("options", CASES[:2])
def test_live_sim_on_real_data_writes_fbt_runs_files(tmp_path: pathlib.Path, options: dict[str, str]) -> None:
    source = tmp_path / "data"
    source.mkdir()
    (source / "ORCL.csv").write_bytes((SHARED / "backtrader" / "orcl-1995-2014.txt").read_bytes())
    cfg = config(**options)
    strategy = moving_average_crossover(10, 40)
    session = live(strategy, source, tmp_path, cfg)
    backtest = fbt.run(strategy, fbt.load_dir(source), cfg)
    session.write(tmp_path / "live")
    backtest.write(tmp_path / "run")
    assert same_files(tmp_path / "live", tmp_path / "run") == []


def test_replay_and_diff_accept_a_live_journal(tmp_path: pathlib.Path) -> None:
    from fbt.audit import diff, market_fingerprint, replay, same_inputs

    cfg = config(execution="next-open")
    strategy = moving_average_crossover(10, 40)
    session = live(strategy, sample_dir(), tmp_path, cfg)
    world = replay(tmp_path / "journal.jsonl", None, strategy, config=cfg)  # the bars come from the journal
    assert world.portfolio.positions == session.final_world.portfolio.positions
    assert world.portfolio.cash == session.final_world.portfolio.cash
    backtest = fbt.run(strategy, fbt.load_dir(sample_dir()), cfg)
    mine, theirs = fbt.journal.read_journal(tmp_path / "journal.jsonl"), backtest.journal()
    assert diff(mine, theirs).identical
    # the live header has no data fingerprint: its inline bars give the run's
    assert mine.header.data_fingerprint is None
    assert market_fingerprint(mine) == theirs.header.data_fingerprint is not None
    assert same_inputs(mine, theirs) == (True, True)
    other = fbt.run(moving_average_crossover(10, 41), fbt.load_dir(sample_dir()), cfg).journal()
    assert same_inputs(mine, other) == (False, True)
