"""Data sources: each gives exactly the run the same bars give from CSV, and applies every rule of the CSV loader."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fbt
from fbt.io.parquet import read_parquet
from fbt.io.sql import ingest, list_symbols, load_sql
from fbt.sample.data import sample_dir

pytest.importorskip("pyarrow")
pytest.importorskip("sqlalchemy")


def same_data(a: fbt.BarData, b: fbt.BarData) -> None:
    assert a.symbols == b.symbols
    assert np.array_equal(a.timestamps, b.timestamps)
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert np.array_equal(a.real, b.real)
    assert (a.first, a.time_format) == (b.first, b.time_format)


def same_run(a: fbt.Result, b: fbt.Result) -> None:
    assert a.fingerprints == b.fingerprints  # the data's content, the configuration, every event
    pd.testing.assert_frame_equal(a.equity, b.equity)
    pd.testing.assert_frame_equal(a.fills, b.fills)
    assert a.statistics == b.statistics


def to_parquet(path: Path, out: Path) -> Path:
    """Write a CSV file's bars as pandas writes a DataFrame: the dates as a DatetimeIndex."""
    frame = pd.read_csv(path)
    first = frame.columns[0]
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop(first), format="ISO8601"), name="Date")
    frame.to_parquet(out)
    return out


@pytest.fixture(scope="module")
def sample_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("sources")
    parquet = folder / "parquet"
    parquet.mkdir()
    for csv in sorted(sample_dir().glob("*.csv")):
        to_parquet(csv, parquet / f"{csv.stem}.parquet")
    url = f"sqlite:///{folder / 'master.db'}"
    ingest(sample_dir(), url)
    return {"parquet": parquet, "url": url}


def test_parquet_sql_and_dataframes_give_the_csv_run(
    sample_sources: dict[str, Any], crossover: Callable[..., Any]
) -> None:
    strategy = crossover(20, 80)
    csv = fbt.load_dir(sample_dir())
    frames = {s: pd.read_csv(sample_dir() / f"{s}.csv", index_col=0, parse_dates=True) for s in csv.symbols}
    sources = {
        "parquet dir": fbt.load_dir(sample_sources["parquet"]),
        "parquet files": fbt.load({s: sample_sources["parquet"] / f"{s}.parquet" for s in csv.symbols}),
        "sql": load_sql(sample_sources["url"]),
        "dataframes": fbt.load(frames),
    }
    expected = fbt.run(strategy, csv)
    for data in sources.values():
        same_data(data, csv)
        same_run(fbt.run(strategy, data), expected)


def test_start_and_end_on_every_source(sample_sources: dict[str, Any]) -> None:
    window = {"start": "2012-03-01", "end": "2012-06-29"}
    csv = fbt.load_dir(sample_dir(), **window)
    assert fbt.io.writers.format_timestamps(csv.timestamps[[0, -1]], "date") == ["2012-03-01", "2012-06-29"]
    same_data(fbt.load_dir(sample_sources["parquet"], **window), csv)
    same_data(load_sql(sample_sources["url"], **window), csv)
    frames = {s: pd.read_csv(sample_dir() / f"{s}.csv", index_col=0, parse_dates=True) for s in csv.symbols}
    same_data(fbt.load(frames, **window), csv)


@pytest.mark.parametrize("source", ["csv", "parquet", "sql", "dataframe"])
def test_a_range_with_no_bars_is_a_clear_error(source: str, sample_sources: dict[str, Any]) -> None:
    window = {"start": "2030-01-01", "end": "2030-12-31"}
    with pytest.raises(fbt.DataError, match=r"SYNA.*expected bars from 2030-01-01 to 2030-12-31, got none "
                                            r"\(the data runs 2010-01-04 .. 2019-08-30\)"):
        if source == "csv":
            fbt.load_dir(sample_dir(), ["SYNA"], **window)
        elif source == "parquet":
            fbt.load_dir(sample_sources["parquet"], ["SYNA"], **window)
        elif source == "sql":
            load_sql(sample_sources["url"], ["SYNA"], **window)
        else:
            fbt.load({"SYNA": pd.read_csv(sample_dir() / "SYNA.csv", index_col=0, parse_dates=True)}, **window)


def test_real_data_from_every_source(shared_data: Path, tmp_path: Path, crossover: Callable[..., Any]) -> None:
    files = {
        "ORCL": shared_data / "backtrader" / "orcl-1995-2014.txt",
        "NVDA": shared_data / "backtrader" / "nvda-1999-2014.txt",
        "FXY": shared_data / "watstreet_1min" / "FXY_1min_2023-07-10_to_2025-07-08.csv",
        "ES5": shared_data / "backtrader" / "2006-min-005.txt",  # Date and Time columns, no Adj Close
    }
    url = f"sqlite:///{tmp_path / 'master.db'}"
    assert ingest(files, url) == {"ORCL": 5036, "NVDA": 4012, "FXY": 78974, "ES5": 2142}
    assert list_symbols(url) == ["ES5", "FXY", "NVDA", "ORCL"]
    for group in (["ORCL", "NVDA"], ["FXY"], ["ES5"]):
        csv = fbt.load({s: files[s] for s in group})
        sql = load_sql(url, group)
        same_data(sql, csv)
        if group == ["ES5"]:
            frame = pd.read_csv(files["ES5"])
            frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("Date") + " " + frame.pop("Time")), name="Date")
            frame.to_parquet(tmp_path / "ES5.parquet")
        else:
            for s in group:
                to_parquet(files[s], tmp_path / f"{s}.parquet")
        parquet = fbt.load({s: tmp_path / f"{s}.parquet" for s in group})
        # a Parquet file without a Time column has no "time column": minute labels still make it datetime
        same_data(parquet, csv)
        strategy = crossover(5, 20)
        expected = fbt.run(strategy, csv)
        same_run(fbt.run(strategy, sql), expected)
        same_run(fbt.run(strategy, parquet), expected)
    # the book's reference: ORCL 100/400 from the database gives the same final equity
    assert fbt.run(crossover(100, 400), load_sql(url, ["ORCL"])).statistics["final_equity"] == pytest.approx(
        103107.4395, abs=5e-5)


# --- the loader's rules hold for every source ---------------------------------------------------


def _poke(url: str, sql: str, *params: Any) -> None:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE bars SET close = -1 WHERE timestamp = '2024-01-03 00:00:00.000000'",
         r"m\.db ABC:2 \(index 2024-01-03\): close: expected a positive finite price, got -1\.0"),
        ("UPDATE bars SET open = NULL WHERE timestamp = '2024-01-04 00:00:00.000000'",
         r"ABC:3 \(index 2024-01-04\): open: expected a positive finite price, got nan"),
        ("UPDATE bars SET high = 1 WHERE timestamp = '2024-01-02 00:00:00.000000'",
         r"ABC:1 \(index 2024-01-02\): high: expected at least low 9\.0, got 1\.0"),
        ("UPDATE bars SET close = 'ten' WHERE timestamp = '2024-01-02 00:00:00.000000'",
         r"ABC:1 \(index 2024-01-02\): close: expected a number, got 'ten'"),
        ("UPDATE bars SET volume = 'inf' WHERE timestamp = '2024-01-02 00:00:00.000000'",
         r"ABC:1 \(index 2024-01-02\): volume: expected a finite non-negative number, got 'inf'"),
    ],
)
def test_bad_rows_in_the_database_are_errors_naming_row_and_column(  # the column named as in the table
tmp_path: Path, statement: str, message: str) -> None:
    (tmp_path / "ABC.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10.5,100\n"
        "2024-01-04,10,11,9,10.5,100\n"
    )
    url = f"sqlite:///{tmp_path / 'm.db'}"
    ingest(tmp_path, url)
    _poke(url, statement)
    with pytest.raises(fbt.DataError, match=message):
        load_sql(url)


def test_bad_parquet_files_are_errors_naming_row_and_column(tmp_path: Path) -> None:
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-04", "2024-01-03"], name="Date")
    pd.DataFrame({"Close": [1.0, 2.0, 3.0]}, index=index).to_parquet(tmp_path / "A.parquet")
    with pytest.raises(fbt.DataError, match=r"A\.parquet:3 \(index 2024-01-03\): Date: expected a timestamp after "
                                            r"the previous row's 2024-01-04, got 2024-01-03"):
        fbt.load({"A": tmp_path / "A.parquet"})
    pd.DataFrame({"Close": [1.0, np.nan]}, index=index[:2]).to_parquet(tmp_path / "B.parquet")
    with pytest.raises(fbt.DataError, match=r"B\.parquet:2 .*Close: expected a positive finite price, got nan"):
        read_parquet(tmp_path / "B.parquet")
    (tmp_path / "C.parquet").write_text("not parquet")
    with pytest.raises(fbt.DataError, match=r"C\.parquet: expected a Parquet file of bars, got one that cannot be"):
        read_parquet(tmp_path / "C.parquet")
    with pytest.raises(fbt.DataError, match="no such file"):
        read_parquet(tmp_path / "D.parquet")
    pd.DataFrame({"Close": [1.0]}, index=index[:1]).to_parquet(tmp_path / "E.parquet")
    (tmp_path / "E.csv").write_text("Date,Close\n2024-01-02,1\n")
    with pytest.raises(fbt.DataError, match="one file per symbol"):
        fbt.load_dir(tmp_path)


def test_ingest_checks_everything_first_and_is_all_or_nothing(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "A.csv").write_text("Date,Close\n2024-01-02,1\n2024-01-03,2\n")
    (bad / "B.csv").write_text("Date,Close\n2024-01-02,1\n")
    (bad / "C.csv").write_text("Date,Close\n2024-01-02,1\n2024-01-02,2\n")
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert ingest(good, url) == {"A": 2}
    with pytest.raises(fbt.DataError, match=r"C\.csv:3: Date: expected a timestamp after the previous row's "
                                            r"2024-01-02, got 2024-01-02 again \(duplicate timestamp\)"):
        ingest(bad, url)
    assert list_symbols(url) == ["A"]  # B was not written either
    with pytest.raises(fbt.DataError, match=r"A: expected a new symbol, got one already in the database"):
        ingest(good, url)
    (good / "A.csv").write_text("Date,Close\n2024-01-02,5\n")
    assert ingest(good, url, replace=True) == {"A": 1}
    assert load_sql(url).column("A", "close").tolist() == [5.0]


def test_database_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(fbt.DataError, match=r"expected an SQLite database file, got no such file"):
        load_sql(f"sqlite:///{tmp_path / 'none.db'}")
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(fbt.DataError, match=r"expected a securities master \(tables symbols and bars\)"):
        load_sql(f"sqlite:///{tmp_path / 'empty.db'}")
    (tmp_path / "A.csv").write_text("Date,Close\n2024-01-02,1\n")
    url = f"sqlite:///{tmp_path / 'm.db'}"
    ingest(tmp_path, url)
    with pytest.raises(fbt.DataError, match=r"ZZZ: expected a symbol of the securities master, got no such symbol; "
                                            r"it has A"):
        load_sql(url, ["ZZZ"])
    with pytest.raises(fbt.ConfigError, match="driver"):
        load_sql("nosuchdialect://x/y")


def test_postgresql_gives_the_csv_run(postgres_url: str, crossover: Callable[..., Any], shared_data: Path) -> None:
    files = {"ORCL": shared_data / "backtrader" / "orcl-1995-2014.txt",
             "FXY": shared_data / "watstreet_1min" / "FXY_1min_2023-07-10_to_2025-07-08.csv"}
    ingest(files, postgres_url, replace=True)
    assert set(list_symbols(postgres_url)) >= {"ORCL", "FXY"}
    for group, window in ((["ORCL"], {}), (["FXY"], {"start": "2024-01-01", "end": "2024-06-30"})):
        csv = fbt.load({s: files[s] for s in group}, **window)
        pg = load_sql(postgres_url, group, **window)
        same_data(pg, csv)
        same_run(fbt.run(crossover(5, 20), pg), fbt.run(crossover(5, 20), csv))
    with pytest.raises(fbt.DataError, match="ORCL: expected a new symbol"):
        ingest({"ORCL": files["ORCL"]}, postgres_url)
