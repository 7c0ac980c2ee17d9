"""``close_at_end``: every open position is closed with a fill on the last bar."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import fbt
from fbt.core.errors import ConfigError
from fbt.core.events import Direction, FillEvent
from fbt.journal.fingerprint import config_text
from fbt.sample.strategies import moving_average_crossover
from tests.execution.support import bars_from, events_of

ROWS = [(10.0 + k, 11.0 + k, 9.0 + k, 10.5 + k, 1e6) for k in range(12)]  # rising: LONG and never EXIT


@pytest.mark.parametrize(("execution", "price"), [("next-open", 21.0), ("next-close", 21.5), ("book", 21.5)])
def test_the_open_position_is_closed_on_the_last_bar(execution: str, price: float) -> None:
    data = bars_from(ROWS)
    plain = fbt.run(moving_average_crossover(2, 3), data, execution=execution)
    closed = fbt.run(moving_average_crossover(2, 3), data, execution=execution, close_at_end=True)
    assert plain.run.final.portfolio.positions == (100.0,)
    assert closed.run.final.portfolio.positions == (0.0,)
    bar, last = events_of(closed.run, FillEvent)[-1]
    assert (bar, last.direction, last.quantity, last.price) == (11, Direction.SELL, 100.0, price)
    assert closed.run.events[:-1] == plain.run.events
    assert closed.statistics["final_equity"] == pytest.approx(
        plain.statistics["final_equity"] - 100 * (21.5 - price) - last.commission)
    assert len(closed.trades) == len(plain.trades) + 1 or len(plain.trades) == 0


def test_a_working_order_on_the_last_bar_is_an_error() -> None:
    rows = [*ROWS[:11], (5.0, 6.0, 4.0, 5.0, 1e6)]  # the EXIT comes on the last bar
    with pytest.raises(ConfigError, match=r"close_at_end: order .* still working after the last bar"):
        fbt.run(moving_average_crossover(2, 3), bars_from(rows), execution="next-open", close_at_end=True)


def test_close_at_end_enters_the_identity_only_when_on() -> None:
    assert "close_at_end" not in config_text(fbt.Config())
    assert '"close_at_end":true' in config_text(fbt.Config(close_at_end=True))
    # sha256 of the default configuration's identity text before close_at_end existed
    assert hashlib.sha256(config_text(fbt.Config()).encode()).hexdigest() == (
        "0bc6357fec73e3c6768ec439b2c0cfd1b77056e172b24afd4cda33567ef07f61")
    with pytest.raises(ConfigError, match="close_at_end: expected True or False"):
        fbt.Config(close_at_end=1)  # type: ignore[arg-type]


def test_streamed_and_live_runs_refuse_close_at_end(tmp_path: Path) -> None:
    from fbt.live import ReplayFeed, SimAdapter, run_live
    from fbt.sample.data import sample_dir

    with pytest.raises(fbt.ConfigError, match="close_at_end: a streaming run"):
        fbt.run_stream(moving_average_crossover(5, 20), sample_dir(), tmp_path / "s", close_at_end=True)
    config = fbt.Config(close_at_end=True)
    feed = ReplayFeed(sample_dir())
    with pytest.raises(fbt.ConfigError, match="close_at_end: a live session"):
        run_live(moving_average_crossover(5, 20), feed, SimAdapter(tmp_path / "venue", config, feed.symbols),
                 tmp_path / "journal.jsonl", config)
    assert not (tmp_path / "journal.jsonl").exists()
    # nor does a live session resolve quantities at the fill (it sends each order's quantity)
    config = fbt.Config(execution="next-open", sizing=fbt.AllCash())
    with pytest.raises(fbt.ConfigError, match=r"^sizing: AllCash\(fraction=1\.0\) resolves the quantity at the fill, "
                                              r"which a live session cannot do yet"):
        run_live(moving_average_crossover(5, 20), feed, SimAdapter(tmp_path / "venue", config, feed.symbols),
                 tmp_path / "journal.jsonl", config)
    assert not (tmp_path / "journal.jsonl").exists()


def test_replay_of_a_closed_at_end_run_steps_the_close_too() -> None:
    from fbt.kernel.loop import fold, scan
    from fbt.sample.data import sample_dir

    data = fbt.load_dir(sample_dir(), ["SYNA"]).head(120)
    config = fbt.Config(close_at_end=True, execution="next-open")
    folded = fold([moving_average_crossover(5, 20)], data, config)
    scanned = [e for step in scan([moving_average_crossover(5, 20)], data, config) for e in step.events
               if not isinstance(e, fbt.MarketEvent)]
    assert scanned == list(folded.events)
    assert folded.final.portfolio.positions == (0.0,)
