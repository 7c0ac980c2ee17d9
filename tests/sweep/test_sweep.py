"""fbt.research.sweep: the same rows on every executor, each equal to its own fbt.run; resumable; clear errors."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fbt
from fbt.research.sweep import CACHE_FILE, RESULT_FILE, grid
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover
from tests.sweep import factories

SPEC = f"{factories.HERE / 'factories.py'}:crossover"
GRID = {"short_window": [3, 5, 8, 13], "long_window": [20, 30, 50]}


@pytest.fixture(scope="module")
def data() -> fbt.BarData:
    return fbt.load_dir(sample_dir(), ["SYNA"]).head(400)


@pytest.fixture(scope="module")
def serial(data: fbt.BarData) -> pd.DataFrame:
    return fbt.sweep(SPEC, GRID, data, executor="serial")


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def test_rows_are_in_parameter_order_with_the_statistics_of_stats_json(serial: pd.DataFrame,
                                                                       data: fbt.BarData) -> None:
    assert list(zip(serial["short_window"], serial["long_window"], strict=True)) == [
        (s, lo) for s in GRID["short_window"] for lo in GRID["long_window"]
    ]
    keys = list(fbt.run(moving_average_crossover(3, 20), data).statistics)
    assert list(serial.columns) == ["short_window", "long_window", *keys, "error"]
    assert serial["error"].isna().all()
    assert serial.attrs["computed"] == 12 and serial.attrs["failed"] == 0


def test_every_row_equals_an_individual_run(serial: pd.DataFrame, data: fbt.BarData) -> None:
    for row in serial.to_dict("records"):
        expected = fbt.run(moving_average_crossover(row["short_window"], row["long_window"]), data).statistics
        for key, value in expected.items():
            got = row[key]
            if value is None:
                assert got is None or math.isnan(got), key
            else:
                assert got == value, (key, row)


def test_local_processes_give_identical_rows(serial: pd.DataFrame, data: fbt.BarData) -> None:
    frame = fbt.sweep(SPEC, GRID, data, executor=None, workers=2, chunk_size=1)
    same(frame, serial)
    assert frame.attrs["data_sends"] == 2  # once per worker, through the pool's initializer


def test_any_executor_spawned_workers_reimport_the_spec_and_get_the_data_about_once(
    serial: pd.DataFrame, data: fbt.BarData
) -> None:
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        frame = fbt.sweep(SPEC, GRID, data, executor=pool, chunk_size=7)
        same(frame, serial)
        # chunks carry the data only after a worker says it has not seen it: at most one per chunk in flight
        assert 1 <= frame.attrs["data_sends"] <= 2
        again = fbt.sweep(SPEC, GRID, data, executor=pool, chunk_size=1)
        same(again, serial)


def test_a_callable_loaded_by_file_path_works_in_processes(serial: pd.DataFrame, data: fbt.BarData,
                                                           crossover: Any) -> None:
    # conftest's factory comes from examples/ by file path: it is sent as "/abs/path.py:moving_average_crossover"
    frame = fbt.sweep(crossover, GRID, data, workers=2)
    assert frame.drop(columns=["error"]).equals(serial.drop(columns=["error"]))


def test_a_dotted_spec_and_a_packaged_callable_work_in_spawned_workers(serial: pd.DataFrame,
                                                                       data: fbt.BarData) -> None:
    # the test helpers are a package: spawned workers import tests.sweep.factories by its dotted name
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        by_name = fbt.sweep("tests.sweep.factories:crossover", GRID, data, executor=pool, chunk_size=4)
        by_callable = fbt.sweep(factories.crossover, GRID, data, executor=pool, chunk_size=4)
    same(by_name, serial)
    same(by_callable, serial)


def test_dask_local_cluster_gives_identical_rows(serial: pd.DataFrame, data: fbt.BarData) -> None:
    distributed = pytest.importorskip("distributed", reason="dask[distributed] missing: pip install 'fbt[dask]'")
    # the scheduler's HTTP server on a free port: with None it takes 8787 and warns (an error here) when taken
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
    try:
        with distributed.Client(cluster) as client:
            frame = fbt.sweep(SPEC, GRID, data, executor=client.get_executor(), chunk_size=5)
            same(frame, serial)
            assert frame.attrs["data_sends"] == 2  # one broadcast scatter to the two workers
        address = cluster.scheduler_address.removeprefix("tcp://")
        frame = fbt.sweep(SPEC, GRID, data, executor=f"dask://{address}", chunk_size=1)
        same(frame, serial)
    finally:
        cluster.close()


def test_unreachable_dask_scheduler_is_a_config_error(data: fbt.BarData) -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    started = time.monotonic()
    with pytest.raises(fbt.ConfigError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        fbt.sweep(SPEC, GRID, data, executor="dask://127.0.0.1:9", connect_timeout=1.0)
    assert time.monotonic() - started < 15


def test_a_run_that_raises_records_its_error_and_the_sweep_goes_on(data: fbt.BarData, tmp_path: Path) -> None:
    fragile = f"{factories.HERE / 'factories.py'}:fragile"
    frame = fbt.sweep(fragile, GRID, data, executor="serial", out=tmp_path)
    failed = frame[frame["error"].notna()]
    assert list(failed["short_window"]) == [13, 13, 13]
    assert set(failed["error"]) == {"ValueError: 13 is unlucky"}
    assert frame.attrs["failed"] == 3 and frame["sharpe_ratio"].notna().sum() == 9
    lines = (tmp_path / CACHE_FILE).read_text().splitlines()
    assert len(lines) == 12  # every finished row is kept, failures too
    csv = pd.read_csv(tmp_path / RESULT_FILE)
    assert list(csv["error"].fillna("")) == ["" if s != 13 else "ValueError: 13 is unlucky"
                                             for s in csv["short_window"]]
    # on a rerun the failed rows are tried again, the others reused
    again = fbt.sweep(fragile, GRID, data, executor="serial", out=tmp_path)
    assert (again.attrs["computed"], again.attrs["reused"]) == (3, 9)


def test_a_failing_run_in_worker_processes(data: fbt.BarData) -> None:
    fragile = f"{factories.HERE / 'factories.py'}:fragile"
    frame = fbt.sweep(fragile, GRID, data, workers=2, chunk_size=2)
    assert frame.attrs["failed"] == 3 and frame["error"].notna().sum() == 3


def test_an_interrupted_sweep_resumes_and_computes_only_the_missing_rows(data: fbt.BarData, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    fbt.sweep(SPEC, GRID, data, executor="serial", out=whole)
    counted = factories.counted  # the module's own counter (a file spec would load a second copy)
    out = tmp_path / "resumed"
    factories.CALLS.update(count=0, stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        fbt.sweep(counted, GRID, data, executor="serial", out=out)
    assert len((out / CACHE_FILE).read_text().splitlines()) == 5
    assert not (out / RESULT_FILE).exists()
    factories.CALLS.update(count=0, stop_after=-1)
    frame = fbt.sweep(counted, GRID, data, executor="serial", out=out)
    assert factories.CALLS["count"] == 7
    assert (frame.attrs["computed"], frame.attrs["reused"]) == (7, 5)
    assert (out / RESULT_FILE).read_bytes() == (whole / RESULT_FILE).read_bytes()
    # a third run computes nothing at all (and starts no processes)
    factories.CALLS.update(count=0)
    frame = fbt.sweep(counted, GRID, data, out=out)
    assert factories.CALLS["count"] == 0 and frame.attrs["computed"] == 0


def test_a_torn_last_line_is_dropped_and_recomputed(data: fbt.BarData, tmp_path: Path) -> None:
    fbt.sweep(SPEC, GRID, data, executor="serial", out=tmp_path)
    cache = tmp_path / CACHE_FILE
    lines = cache.read_text().splitlines(keepends=True)
    cache.write_text("".join(lines[:4]) + lines[4][:30])  # killed while writing the fifth line
    frame = fbt.sweep(SPEC, GRID, data, executor="serial", out=tmp_path)
    assert (frame.attrs["computed"], frame.attrs["reused"]) == (8, 4)
    assert all(json.loads(line) for line in cache.read_text().splitlines())


def test_identical_runs_are_computed_once(data: fbt.BarData) -> None:
    points = [{"short_window": 5, "long_window": 20}, {"short_window": 8, "long_window": 30},
              {"short_window": 5, "long_window": 20}]
    frame = fbt.sweep(SPEC, points, data, executor="serial")
    assert frame.attrs["computed"] == 2 and len(frame) == 3
    assert frame.iloc[0].equals(frame.iloc[2])


def test_the_cache_key_covers_data_strategy_parameters_and_configuration(data: fbt.BarData, tmp_path: Path) -> None:
    small = {"short_window": [5], "long_window": [20]}
    assert fbt.sweep(SPEC, small, data, executor="serial", out=tmp_path).attrs["computed"] == 1
    assert fbt.sweep(SPEC, small, data, executor="serial", out=tmp_path).attrs["computed"] == 0
    assert fbt.sweep(SPEC, small, data.head(300), executor="serial", out=tmp_path).attrs["computed"] == 1
    assert fbt.sweep(SPEC, small, data, executor="serial", out=tmp_path, capital=50_000).attrs["computed"] == 1
    other = "fbt.sample.strategies:moving_average_crossover"
    assert fbt.sweep(other, small, data, executor="serial", out=tmp_path).attrs["computed"] == 1


def test_cache_keys_survive_code_moves() -> None:
    # The key a default configuration got when the key format was fixed; sweep.jsonl files written
    # then are reused only while this holds, so moving or renaming a module must not change it.
    from fbt.research.sweep.cache import run_key
    from fbt.research.sweep.worker import RunConfig

    pinned = "0b3685c752dfe4d028aa1345c55a81a3c0adb01bfaba1898c3d9f51c175033f4"
    assert run_key("d", "s", {"x": 1}, RunConfig()) == pinned


@pytest.mark.parametrize(
    ("grid_", "where", "message"),
    [
        ({}, None, "grid: expected at least one parameter set, got none"),
        ({"short_window": []}, None, "grid: expected at least one parameter set, got none"),
        ({"shortwindow": [5]}, None,
         "grid: unknown parameter 'shortwindow' for crossover; it takes short_window, long_window"),
        (GRID, "short_window > long_window", "filters out all 12 parameter sets"),
        (GRID, "short < long_window", "unknown name 'short'; the grid has short_window, long_window"),
        (GRID, "short_window.real > 1", "an attribute is not allowed"),
    ],
)
def test_bad_input_is_a_clear_config_error(data: fbt.BarData, grid_: Any, where: str | None, message: str) -> None:
    with pytest.raises(fbt.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fbt.sweep(SPEC, grid_, data, where=where, executor="serial")


def test_other_bad_arguments(data: fbt.BarData) -> None:
    with pytest.raises(fbt.ConfigError, match="executor: expected local, serial"):
        fbt.sweep(SPEC, GRID, data, executor="threads")
    with pytest.raises(fbt.ConfigError, match="cannot be sent to worker processes"):
        fbt.sweep(lambda short_window, long_window: moving_average_crossover(short_window, long_window),
                  GRID, data, workers=2)
    with pytest.raises(fbt.ConfigError, match=r"data: expected fbt\.BarData"):
        fbt.sweep(SPEC, GRID, "data", executor="serial")  # type: ignore[arg-type]
    with pytest.raises(fbt.ConfigError, match="speed: not a configuration field; expected one of capital"):
        fbt.sweep(SPEC, GRID, data, executor="serial", speed=2)
    with pytest.raises(fbt.ConfigError, match="STRATEGY: no such file"):
        fbt.sweep("nowhere.py:f", GRID, data, executor="serial")


def test_a_lambda_runs_serially_and_on_threads(serial: pd.DataFrame, data: fbt.BarData) -> None:
    def factory(short_window: int, long_window: int) -> fbt.Strategy[Any]:
        return moving_average_crossover(short_window, long_window)

    same(fbt.sweep(factory, GRID, data, executor="serial"), serial)
    with cf.ThreadPoolExecutor(2) as pool:
        same(fbt.sweep(factory, grid(**GRID), data, executor=pool), serial)


def test_run_options_reach_fbt_run(data: fbt.BarData) -> None:
    frame = fbt.sweep(SPEC, {"short_window": [5], "long_window": [20]}, data, executor="serial",
                      run_options={"execution": "next-open"})
    expected = fbt.run(moving_average_crossover(5, 20), data, execution="next-open").statistics
    assert frame.iloc[0]["final_equity"] == expected["final_equity"]
