"""A streaming run writes what the in-memory run writes: equity, fills, trades, journal; and its statistics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.sample.strategies import moving_average_crossover
from tests.stream.support import both, compare, random_dir, write_symbol


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), n_bars=st.integers(1, 150), n_symbols=st.integers(1, 3),
       shared=st.booleans(), chunk=st.integers(1, 60), short=st.integers(1, 8), long=st.integers(1, 25),
       execution=st.sampled_from(["book", "next-open"]))
def test_streaming_equals_in_memory(seed: int, n_bars: int, n_symbols: int, shared: bool, chunk: int, short: int,
                                    long: int, execution: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = random_dir(Path(tmp) / "data", seed, n_bars, n_symbols, shared=shared)
        both(moving_average_crossover(short, long), folder, Path(tmp), chunk, execution=execution)


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_edge_chunks_and_history_longer_than_a_chunk(tmp_path: Path, chunk: int) -> None:
    folder = random_dir(tmp_path / "data", 7, 300, 2, shared=False)
    both(moving_average_crossover(5, 30), folder, tmp_path, chunk)  # lookback 29: many chunks of 1 or 3 bars


def test_minute_bars_with_costs_and_risk(tmp_path: Path) -> None:
    folder = random_dir(tmp_path / "data", 11, 400, 2, shared=False, daily=False)
    both(moving_average_crossover(3, 12), folder, tmp_path, 37, execution="next-open",
         slippage=fbt.FixedBps(bps=5), sizing=fbt.PercentOfEquity(percent=40), risk_free=0.02, periods=98_280)


def test_sizing_window_widens_the_history(tmp_path: Path) -> None:
    folder = random_dir(tmp_path / "data", 5, 200, 1)
    both(moving_average_crossover(2, 6), folder, tmp_path, 4, execution="next-open",
         sizing=fbt.VolatilityTarget(target=0.1, window=15))


def test_text_settles_late_times_of_day_and_fractions(tmp_path: Path) -> None:
    """A time of day first seen in a late chunk, and a sub-second label later still: earlier rows are rewritten."""
    import numpy as np

    data = tmp_path / "data"
    data.mkdir()
    stamps = np.int64(1_262_304_000 * 10**9) + np.arange(60, dtype=np.int64) * 86_400 * 10**9
    stamps[40] += 3_600 * 10**9
    stamps[55] += 1_500_000  # 1.5 ms
    close = 10.0 + np.sin(np.arange(60) / 3.0)
    write_symbol(data / "A.csv", stamps, close, daily=False)
    text = (data / "A.csv").read_text().replace(" 00:00:00,", ",")  # dates only, but for the two
    lines = text.splitlines()
    label = np.datetime_as_string(stamps[55:56].astype("datetime64[ns]"), unit="ms")[0].replace("T", " ")
    lines[56] = label + lines[56][lines[56].index(","):]
    (data / "A.csv").write_text("\n".join(lines) + "\n")
    both(moving_average_crossover(2, 5), data, tmp_path, 9)


def test_parquet_and_csv_mix(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import pandas as pd

    folder = random_dir(tmp_path / "data", 3, 120, 2, shared=False)
    frame = pd.read_csv(folder / "S1.csv", index_col="Date", parse_dates=True)
    (folder / "S1.csv").unlink()
    frame.to_parquet(folder / "S1.parquet")
    both(moving_average_crossover(3, 9), folder, tmp_path, 11)


def test_cli_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fbt.cli.app import main

    folder = random_dir(tmp_path / "data", 9, 90, 2, shared=False)
    base = ["run", "fbt.sample.strategies:moving_average_crossover", "--data", str(folder), "--param", "short_window=3",
            "--param", "long_window=8", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "memory")]) == 0
    in_memory = capsys.readouterr().out
    assert main([*base, "--stream", "--chunk-bars", "13", "--out", str(tmp_path / "stream")]) == 0
    streamed = capsys.readouterr().out
    compare(tmp_path / "stream", tmp_path / "memory")
    assert streamed.replace(str(tmp_path / "stream"), "OUT") == in_memory.replace(str(tmp_path / "memory"), "OUT")


def test_example_with_a_declared_lookback(tmp_path: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "tested_strategy.py"
    spec = importlib.util.spec_from_file_location("example_tested_strategy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = random_dir(tmp_path / "data", 4, 250, 2, shared=False)
    both(module.channel_breakout(10), folder, tmp_path, 7)
