"""Writing outputs on two cores gives the same bytes as writing them in one process."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
import fbt.backtest.result
from fbt.io.parallel import can_fork, run_both
from fbt.io.writers import format_floats, is_whole, join_parts, write_rows
from fbt.sample.strategies import moving_average_crossover

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="this platform cannot fork")


def _data(n: int, seed: int) -> fbt.BarData:
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (2, n)), axis=1)), 2)
    return fbt.BarData.from_columns(symbols=("A", "B"), timestamps=np.arange(n, dtype=np.int64) * 60 * 10**9,
                                    columns={"close": close, "adj_close": close})


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@needs_fork
@pytest.mark.parametrize("n", [1, 7, 300])
def test_split_write_gives_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    result = fbt.run(moving_average_crossover(2, 5), _data(n, n))
    monkeypatch.setenv("FBT_NO_FORK", "1")
    result.write(tmp_path / "one")
    monkeypatch.delenv("FBT_NO_FORK")
    monkeypatch.setattr(fbt.backtest.result, "_SPLIT_BELOW", 0)
    assert can_fork()
    result.write(tmp_path / "two")
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "equity.csv", "fills.csv", "journal.jsonl", "stats.json", "trades.csv"]


def _fails() -> int:
    raise ValueError("the child's words")


@needs_fork
def test_a_failure_in_the_child_is_raised_in_the_parent() -> None:
    with pytest.raises(ValueError, match="the child's words"):
        run_both(_fails, lambda: 1)


def test_both_results_come_back_with_or_without_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_both(lambda: {"a": [1, 2]}, lambda: "b") == ({"a": [1, 2]}, "b")
    monkeypatch.setenv("FBT_NO_FORK", "1")
    assert not can_fork()
    assert run_both(lambda: 3, lambda: 4) == (3, 4)


@settings(max_examples=60)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.0, 2.5]),
                       max_size=60),
       cut=st.floats(0, 1))
def test_a_column_formatted_in_pieces_reads_as_the_whole(values: list[float], cut: float) -> None:
    v = np.array(values, dtype=np.float64)
    k = int(cut * v.size)
    whole = format_floats(v)
    assert format_floats(v[:k], whole=is_whole(v)) + format_floats(v[k:], whole=is_whole(v)) == whole
    assert len(whole) == v.size
    if not is_whole(v):
        assert [float(t) for t in whole] == [float(x) for x in v.tolist()] or np.isnan(v).any()


def test_join_parts_puts_parts_together_and_removes_them(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_rows(a, [["1", "2"], ["x", "y"]], header=["n", "s"])
    write_rows(b, [["3"], ["z"]])
    join_parts(tmp_path / "out.csv", [a, b])
    assert (tmp_path / "out.csv").read_text() == "n,s\n1,x\n2,y\n3,z\n"
    assert not a.exists() and not b.exists()
