"""One producer of the statistics dict, for in-memory and streamed runs alike."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fbt
from fbt.results.stats import STAT_KEYS, stat_table
from fbt.results.stats.table import FIGURES
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover


@pytest.mark.parametrize("execution", ["book", "next-open"])
def test_memory_and_stream_runs_write_the_same_keys_in_order(tmp_path: Path, execution: str) -> None:
    strategy = moving_average_crossover(5, 20)
    whole = fbt.run(strategy, fbt.load_dir(sample_dir()), execution=execution).stats
    streamed = fbt.run_stream(strategy, sample_dir(), tmp_path, execution=execution, chunk_bars=400).statistics
    assert list(whole.index) == list(STAT_KEYS) == list(streamed)
    for key in ("final_equity", "total_return", "max_drawdown", "drawdown_duration", "fills", "trades", "win_rate"):
        assert streamed[key] == whole[key], key


finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none())


@given(st.fixed_dictionaries({k: finite_or_not for k in FIGURES}))
def test_undefined_figures_are_none_and_defined_ones_kept(figures: dict[str, float | None]) -> None:
    table = stat_table(counts={"FillEvent": 3}, frequency="daily", **figures)
    assert list(table) == list(STAT_KEYS)
    assert table["fills"] == 3 and table["signals"] == 0 and table["frequency"] == "daily"
    for key in ("sharpe_ratio", "cagr", "profit_factor", "worst_trade"):
        value = figures[key]
        assert table[key] == (value if value is not None and math.isfinite(value) else None)
    assert table["final_equity"] is figures["final_equity"]  # the book's figures pass through as computed


def test_a_missing_or_unknown_figure_is_refused() -> None:
    figures = dict.fromkeys(FIGURES, 0.0)
    del figures["cagr"]
    with pytest.raises(TypeError, match=r"missing \['cagr'\], unknown \['speed'\]"):
        stat_table(counts={}, frequency="daily", speed=1.0, **figures)
