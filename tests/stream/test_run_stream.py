"""Streaming runs: what they refuse, what they leave behind on an error, and memory that does not grow."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

import fbt
from fbt.core.errors import ConfigError, DataError
from fbt.sample.strategies import moving_average_crossover
from tests.stream.support import random_dir


def test_undeclared_lookback_is_refused(tmp_path: Path) -> None:
    folder = random_dir(tmp_path / "data", 1, 20)
    mine = fbt.strategy(lambda state, event: (state, ()), initial=None, name="mine")
    with pytest.raises(ConfigError) as caught:
        fbt.run_stream(mine, folder, tmp_path / "out")
    message = str(caught.value)
    assert "'mine'" in message and "lookback=N" in message and "fbt.strategy(step, initial=..., lookback=N)" in message
    assert not (tmp_path / "out").exists()
    declared = fbt.strategy(lambda state, event: (state, ()), initial=None, name="mine", lookback=0)
    assert fbt.run_stream(declared, folder, tmp_path / "out").bars == 20


def test_auto_periods_is_refused(tmp_path: Path) -> None:
    folder = random_dir(tmp_path / "data", 1, 20)
    with pytest.raises(ConfigError, match="periods"):
        fbt.run_stream(moving_average_crossover(2, 4), folder, tmp_path / "out", periods="auto")


def test_a_bad_row_mid_stream_leaves_the_output_folder_as_it_was(tmp_path: Path) -> None:
    folder = random_dir(tmp_path / "data", 2, 400)
    lines = (folder / "S0.csv").read_text().splitlines()
    lines[350] = lines[350].split(",")[0] + ",1,1,1,nan,1,1"
    (folder / "S0.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "equity.csv").write_text("an earlier run\n")
    with pytest.raises(DataError, match=r"S0\.csv:351: Close: expected a positive finite price, got 'nan'"):
        fbt.run_stream(moving_average_crossover(2, 5), folder, out, chunk_bars=10)
    assert sorted(p.name for p in out.iterdir()) == ["equity.csv"]
    assert (out / "equity.csv").read_text() == "an earlier run\n"


def peak(folder: Path, out: Path) -> int:
    tracemalloc.start()
    try:
        fbt.run_stream(moving_average_crossover(5, 20), folder, out, chunk_bars=1_000, block_bytes=1 << 15)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_data(tmp_path: Path) -> None:
    small = random_dir(tmp_path / "small", 3, 5_000, daily=False)
    large = random_dir(tmp_path / "large", 3, 50_000, daily=False)
    peak(small, tmp_path / "warm")  # imports and caches first
    a, b = peak(small, tmp_path / "a"), peak(large, tmp_path / "b")
    assert b < 2 * a, (a, b)  # ten times the bars; a constant few MB either way
