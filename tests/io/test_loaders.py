"""Tests of fbt.io.loaders: CSV and DataFrame reading, validation messages, alignment, directories."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbt.core.errors import ConfigError, DataError
from fbt.io import DataWarning, SymbolBars, bars_from_frame, load, load_dir, read_bars

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DAY = 86_400 * 10**9


def real(*parts: str) -> Path:
    """A file of the shared real-data folder; skips the test when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def ns(text: str) -> int:
    return int(pd.Timestamp(text).as_unit("ns").value)


def error_of(path: Path) -> str:
    with pytest.raises(DataError) as info:
        read_bars(path)
    return str(info.value)


GOOD = "Date,Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,12,10,11.5,200\n"


# --------------------------------------------------------------------------------------------------
# Happy path and column matching


def test_reads_a_simple_file(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", GOOD))
    assert isinstance(bars, SymbolBars)
    assert bars.timestamps.dtype == np.int64
    assert bars.timestamps.tolist() == [ns("2020-01-02"), ns("2020-01-03")]
    assert sorted(bars.columns) == ["close", "high", "low", "open", "volume"]
    assert bars.columns["close"].tolist() == [10.5, 11.5]
    assert bars.columns["volume"].tolist() == [100.0, 200.0]
    assert all(v.dtype == np.float64 for v in bars.columns.values())
    assert bars.has_time is False
    assert bars.source == str(tmp_path / "A.csv")
    assert len(bars) == 2


def test_arrays_are_read_only(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", GOOD))
    with pytest.raises(ValueError):
        bars.timestamps[0] = 0
    with pytest.raises(ValueError):
        bars.columns["close"][0] = 1.0


def test_only_close_is_required(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", "Date,Close\n2020-01-02,1.5\n"))
    assert list(bars.columns) == ["close"]


def test_header_names_ignore_case_spaces_and_underscores(tmp_path: Path) -> None:
    text = "DATE , open,HIGH,low,C l o s e,adj_close,VOLUME,Open Interest\n2020-01-02,1,3,0.5,2,1.9,10,7\n"
    bars = read_bars(write(tmp_path, "A.csv", text))
    assert {k: v.tolist() for k, v in bars.columns.items()} == {
        "open": [1.0],
        "high": [3.0],
        "low": [0.5],
        "close": [2.0],
        "adj_close": [1.9],
        "volume": [10.0],
        "open_interest": [7.0],
    }


@pytest.mark.parametrize("name", ["AdjClose", "adj_close", "Adj Close", "ADJ_CLOSE"])
def test_adj_close_spellings(tmp_path: Path, name: str) -> None:
    bars = read_bars(write(tmp_path, "A.csv", f"Date,Close,{name}\n2020-01-02,2,1.5\n"))
    assert bars.columns["adj_close"].tolist() == [1.5]


@pytest.mark.parametrize("name", ["OpenInterest", "Open Interest", "open_interest", "OI"])
def test_open_interest_spellings(tmp_path: Path, name: str) -> None:
    bars = read_bars(write(tmp_path, "A.csv", f"Date,Close,{name}\n2020-01-02,2,15\n"))
    assert bars.columns["open_interest"].tolist() == [15.0]


@pytest.mark.parametrize("name", ["Date", "Datetime", "Timestamp", "timestamp", "Time", ""])
def test_date_column_names(tmp_path: Path, name: str) -> None:
    bars = read_bars(write(tmp_path, "A.csv", f"{name},Open,Close\n2020-01-02 10:00:00,1,2\n"))
    assert bars.timestamps.tolist() == [ns("2020-01-02 10:00")]
    assert bars.has_time is True


def test_unnamed_first_column_is_the_date(tmp_path: Path) -> None:
    bars = read_bars(
        write(tmp_path, "GOOG.csv", ",Open,High,Low,Close,Volume\n2004-08-19,100,104.06,95.96,100.34,2\n")
    )
    assert bars.timestamps.tolist() == [ns("2004-08-19")]
    assert bars.columns["close"].tolist() == [100.34]


def test_yahoo_old_and_new_column_orders_agree(tmp_path: Path) -> None:
    new = write(
        tmp_path,
        "new.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "1995-01-03,2.179012,2.191358,2.117284,2.117284,1.883304,36301200\n"
        "1995-01-04,2.123457,2.148148,2.092592,2.135803,1.899776,46051600\n",
    )
    old = write(
        tmp_path,
        "old.csv",
        "Date,Open,High,Low,Close,Volume,Adj Close\n"
        "1995-01-03,2.179012,2.191358,2.117284,2.117284,36301200,1.883304\n"
        "1995-01-04,2.123457,2.148148,2.092592,2.135803,46051600,1.899776\n",
    )
    a, b = read_bars(new), read_bars(old)
    assert a.columns["adj_close"].tolist() == b.columns["adj_close"].tolist() == [1.883304, 1.899776]
    assert a.columns["volume"].tolist() == b.columns["volume"].tolist() == [36301200.0, 46051600.0]
    assert a.timestamps.tolist() == b.timestamps.tolist()


def test_other_columns_are_ignored_with_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close,Notes,Dividends\n2020-01-02,1,x,0\n")
    with pytest.warns(DataWarning) as record:
        bars = read_bars(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert str(path) in message and "'Notes'" in message and "'Dividends'" in message
    assert list(bars.columns) == ["close"]


def test_quoted_fields_with_commas_in_an_ignored_column(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", 'Date,Close,Notes\n2020-01-02,1,"a, b"\n2020-01-03,2,""\n')
    with pytest.warns(DataWarning):
        bars = read_bars(path)
    assert bars.columns["close"].tolist() == [1.0, 2.0]


def test_byte_order_mark_blank_lines_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "A.csv"
    path.write_bytes(b"\xef\xbb\xbfDate,Close\r\n2020-01-02,1\r\n\r\n2020-01-03,2\r\n\r\n")
    bars = read_bars(path)
    assert bars.columns["close"].tolist() == [1.0, 2.0]


def test_string_path_and_pathlike_both_work(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", GOOD)
    assert read_bars(str(path)).source == read_bars(path).source == str(path)


# --------------------------------------------------------------------------------------------------
# Timestamps


def test_dates_are_kept_as_labels(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", "Date,Close\n2020-01-02,1\n2020-01-03,2\n"))
    assert bars.timestamps.tolist() == [ns("2020-01-02"), ns("2020-01-03")]
    assert bars.has_time is False


def test_compact_dates(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", "Date,Close\n20200102,1\n20200103,2\n"))
    assert bars.timestamps.tolist() == [ns("2020-01-02"), ns("2020-01-03")]


def test_datetimes_are_kept_as_labels(tmp_path: Path) -> None:
    bars = read_bars(
        write(tmp_path, "A.csv", "timestamp,close\n2023-07-10 13:05:00,1\n2023-07-10 13:30:00,2\n")
    )
    assert bars.timestamps.tolist() == [ns("2023-07-10 13:05"), ns("2023-07-10 13:30")]
    assert bars.has_time is True


def test_utc_offsets_are_converted_to_utc_and_dropped(tmp_path: Path) -> None:
    text = "Timestamp,Close\n2020-01-02T09:30:00+01:00,1\n2020-01-02T09:31:00Z,2\n2020-01-02 09:32:00,3\n"
    bars = read_bars(write(tmp_path, "A.csv", text))
    assert bars.timestamps.tolist() == [
        ns("2020-01-02 08:30"),
        ns("2020-01-02 09:31"),
        ns("2020-01-02 09:32"),
    ]


def test_separate_time_column_is_joined(tmp_path: Path) -> None:
    text = (
        "Date,Time,Open,High,Low,Close,Volume,OpenInterest\n"
        "2006-01-02,09:05:00,3578.73,3587.88,3578.73,3582.99,0,0\n"
        "2006-01-02,09:10:00,3583.01,3588.40,3583.01,3588.03,0,0\n"
        "2006-01-03,00:00:00,3583.01,3588.40,3583.01,3588.03,0,0\n"
    )
    bars = read_bars(write(tmp_path, "A.csv", text))
    assert bars.timestamps.tolist() == [ns("2006-01-02 09:05"), ns("2006-01-02 09:10"), ns("2006-01-03")]
    assert bars.has_time is True
    assert "open_interest" in bars.columns


def test_time_column_makes_has_time_true_even_at_midnight(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", "Date,Time,Close\n2006-01-02,00:00:00,1\n"))
    assert bars.has_time is True


def test_real_five_minute_file_with_date_and_time_columns() -> None:
    bars = read_bars(real("backtrader", "2006-min-005.txt"))
    assert len(bars) == 2142
    assert bars.has_time is True
    assert bars.timestamps[0] == ns("2006-01-02 09:05")
    assert bars.timestamps[-1] == ns("2006-01-30 17:30")


def test_real_orcl_file() -> None:
    bars = read_bars(real("backtrader", "orcl-1995-2014.txt"))
    assert len(bars) == 5036
    assert bars.columns["adj_close"][0] == 1.883304
    assert bars.columns["close"][0] == 2.117284
    assert bars.columns["volume"][0] == 36301200.0
    assert bars.has_time is False
    assert bars.timestamps[0] == ns("1995-01-03")


def test_real_fxy_minute_file() -> None:
    bars = read_bars(real("watstreet_1min", "FXY_1min_2023-07-10_to_2025-07-08.csv"))
    assert len(bars) == 78974
    assert bars.has_time is True
    assert bars.timestamps[0] == ns("2023-07-10 13:05")


def test_real_file_whose_header_lacks_the_time_column() -> None:
    path = real("backtrader", "2006-01-02-volume-min-001.txt")
    message = error_of(path)
    assert message.startswith(f"{path}:2: expected 7 fields")
    assert "got 8" in message and "'09:01:00'" in message and "missing a column" in message


# --------------------------------------------------------------------------------------------------
# Whole-file problems


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert error_of(path) == f"{path}: expected a CSV file, got no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert error_of(tmp_path) == f"{tmp_path}: expected a CSV file, got a directory"


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "")
    assert error_of(path) == f"{path}: expected a header line and rows of bars, got an empty file"


def test_blank_file(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "\n \n")
    assert "empty file" in error_of(path)


def test_header_without_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close\n")
    assert error_of(path) == f"{path}: expected rows of bars after the header, got none"


def test_missing_close(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Open,High\n2020-01-02,1,2\n")
    message = error_of(path)
    assert message.startswith(f"{path}:1: Close: expected a Close column, got 'Date', 'Open', 'High'")


def test_missing_close_and_date_are_both_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Open,High\n1,2\n")
    lines = error_of(path).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:1: Close: expected a Close column")
    assert lines[1].startswith(f"{path}:1: Date: expected a Date")


def test_missing_date_column(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Open,Close\n1,2\n")
    assert error_of(path).startswith(f"{path}:1: Date: expected a Date, Datetime, Timestamp or Time column")


@pytest.mark.parametrize("separator", [";", "\t"])
def test_other_separators_are_named(tmp_path: Path, separator: str) -> None:
    path = write(tmp_path, "A.csv", f"Date{separator}Close\n2020-01-02{separator}1\n")
    message = error_of(path)
    assert message.startswith(f"{path}:1: expected comma-separated columns")
    assert f"separated by {separator!r}" in message


def test_duplicate_field_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close,close\n2020-01-02,1,2\n")
    assert error_of(path).startswith(f"{path}:1: close: expected one Close column, got 'Close' and 'close'")


def test_header_with_fewer_names_than_the_rows(tmp_path: Path) -> None:
    text = (
        "Date,Open,High,Low,Close,Volume,OpenInterest\n"
        "2006-01-02,09:01:00,3602.00,3603.00,3597.00,3599.00,5699,0\n"
        "2006-01-02,09:02:00,3600.00,3601.00,3598.00,3599.00,894,0\n"
    )
    path = write(tmp_path, "A.txt", text)
    message = error_of(path)
    assert message.startswith(f"{path}:2: expected 7 fields as the header on line 1 names")
    assert "got 8" in message and "field 2 is '09:01:00', a time of day" in message


def test_header_with_more_names_than_the_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Open,Close\n2020-01-02,1\n")
    assert error_of(path).startswith(f"{path}:2: expected 3 fields as the header on line 1 names")


# --------------------------------------------------------------------------------------------------
# Row problems


def test_row_with_more_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Open,Close\n2020-01-02,1,2\n2020-01-03,1,2\n2020-01-04,1,2,3\n")
    assert error_of(path) == f"{path}:4: expected 3 fields as the header names, got 4"


def test_row_with_fewer_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Open,Close\n2020-01-02,1,2\n2020-01-03,1\n2020-01-04,1,2\n")
    assert error_of(path) == f"{path}:3: expected 3 fields as the header names, got 2"


def test_short_row_missing_only_an_ignored_column(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close,Notes\n2020-01-02,1,x\n2020-01-03,2\n")
    with pytest.warns(DataWarning):
        message = error_of(path)
    assert message == f"{path}:3: expected 3 fields as the header names, got 2"


def test_unparseable_date(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close\n2020-01-02,1\n2020-13-45,2\n")
    assert error_of(path) == (
        f"{path}:3: Date: expected a date like YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, got '2020-13-45'"
    )


def test_empty_date(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close\n2020-01-02,1\n,2\n")
    assert error_of(path).startswith(f"{path}:3: Date: expected a date like")


def test_unknown_date_layout(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close\n01/02/2020,1\n")
    message = error_of(path)
    assert message.startswith(f"{path}:2: Date: expected a date like YYYY-MM-DD")
    assert message.endswith("got '01/02/2020'")


def test_bad_time_of_day(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Time,Close\n2020-01-02,09:30:00,1\n2020-01-02,25:00:00,2\n")
    assert error_of(path) == f"{path}:3: Time: expected a time of day like 09:30:00, got '25:00:00'"


def test_duplicate_timestamp(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close\n2020-01-02,1\n2020-01-03,2\n2020-01-03,3\n")
    message = error_of(path)
    assert message.startswith(f"{path}:4: Date: expected a timestamp after the previous row's 2020-01-03")
    assert "duplicate" in message


def test_unsorted_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,Close\n2020-01-02,1\n2020-01-04,2\n2020-01-03,3\n2020-01-05,3\n")
    assert error_of(path) == (
        f"{path}:4: Date: expected a timestamp after the previous row's 2020-01-04, got 2020-01-03 "
        "(rows out of time order)"
    )


def test_newest_first_file_is_one_problem(tmp_path: Path) -> None:
    rows = "".join(f"2020-01-{d:02d},1\n" for d in range(20, 0, -1))
    path = write(tmp_path, "A.csv", "Date,Close\n" + rows)
    message = error_of(path)
    assert message.startswith(f"{path}:3: Date:")
    assert "decreasing time order" in message and "\n" not in message


PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Adj Close"]


@pytest.mark.parametrize("column", PRICE_COLUMNS)
@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("", "an empty field"),
        ("nan", "'nan'"),
        ("0", "'0'"),
        ("-1.5", "'-1.5'"),
        ("inf", "'inf'"),
        ("-inf", "'-inf'"),
    ],
)
def test_bad_prices(tmp_path: Path, column: str, cell: str, shown: str) -> None:
    header = "Date,Open,High,Low,Close,Adj Close"
    values = {"Open": "2", "High": "3", "Low": "1", "Close": "2", "Adj Close": "2"}
    values[column] = cell
    bad = ",".join(values[c] for c in PRICE_COLUMNS)
    path = write(tmp_path, "A.csv", f"{header}\n2020-01-02,2,3,1,2,2\n2020-01-03,{bad}\n")
    message = error_of(path)
    assert message.splitlines()[0] == f"{path}:3: {column}: expected a positive finite price, got {shown}"


@pytest.mark.parametrize(
    ("cell", "shown"), [("-5", "'-5'"), ("inf", "'inf'"), ("nan", "'nan'"), ("", "an empty field")]
)
@pytest.mark.parametrize("column", ["Volume", "OpenInterest"])
def test_bad_volume_and_open_interest(tmp_path: Path, column: str, cell: str, shown: str) -> None:
    path = write(tmp_path, "A.csv", f"Date,Close,{column}\n2020-01-02,1,5\n2020-01-03,1,{cell}\n")
    assert error_of(path) == f"{path}:3: {column}: expected a finite non-negative number, got {shown}"


def test_zero_volume_is_fine(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, "A.csv", "Date,Close,Volume\n2020-01-02,1,0\n"))
    assert bars.columns["volume"].tolist() == [0.0]


def test_high_below_low(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "Date,High,Low,Close\n2020-01-02,3,1,2\n2020-01-03,1.5,2.5,2\n")
    assert error_of(path) == f"{path}:3: High: expected at least Low '2.5', got '1.5'"


@pytest.mark.parametrize(
    ("cell", "shown"), [('"1,234.5"', "'1,234.5'"), ("abc", "'abc'"), ("1_000", "'1_000'"), ("NA", "'NA'")]
)
def test_numbers_written_as_text(tmp_path: Path, cell: str, shown: str) -> None:
    path = write(tmp_path, "A.csv", f"Date,Open,Close\n2020-01-02,1,2\n2020-01-03,1,{cell}\n")
    assert error_of(path) == f"{path}:3: Close: expected a number, got {shown}"


def test_unclosed_quote(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", 'Date,Close\n2020-01-02,1\n2020-01-03,"2\n2020-01-04,3\n')
    assert (
        error_of(path)
        == f"{path}:3: expected a closing quote for the field opened here, got the end of the file"
    )


def test_row_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", "\nDate,Close\n2020-01-02,1\n\n\n2020-01-03,-1\n")
    assert error_of(path).startswith(f"{path}:6: Close:")


def test_row_numbers_count_lines_inside_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, "A.csv", 'Date,Close,Notes\n2020-01-02,1,"two\nlines"\n2020-01-03,-1,x\n')
    with pytest.warns(DataWarning):
        message = error_of(path)
    assert message.startswith(f"{path}:4: Close:")


def test_all_problems_are_listed_first_first_and_capped(tmp_path: Path) -> None:
    rows = ["2020-01-01,1,2"]
    rows += [f"2020-01-{d:02d},1,-{d}" for d in range(2, 16)]  # 14 bad closes, lines 3..16
    rows.insert(3, "2020-01-03,1")  # line 5: a short row
    path = write(tmp_path, "A.csv", "Date,Open,Close\n" + "\n".join(rows) + "\n")
    lines = error_of(path).splitlines()
    assert lines[0] == f"{path}:3: Close: expected a positive finite price, got '-2'"
    assert f"{path}:5: expected 3 fields as the header names, got 2" in lines
    assert len(lines) == 11
    assert lines[-1] == "... and 5 more"
    numbers = [
        int(m.group(1)) for m in (re.match(rf"{re.escape(str(path))}:(\d+):", ln) for ln in lines[:-1]) if m
    ]
    assert numbers == sorted(numbers)


def test_several_kinds_of_problem_at_once(tmp_path: Path) -> None:
    text = "Date,High,Low,Close,Volume\n2020-01-02,3,1,2,5\n2020-01-03,1,2,-2,5\n2020-01-03,3,1,2,-1\n"
    lines = error_of(write(tmp_path, "A.csv", text)).splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["High", "Close", "Date", "Volume"]


# --------------------------------------------------------------------------------------------------
# DataFrames


def test_frame_with_datetime_index() -> None:
    index = pd.to_datetime(["2020-01-02", "2020-01-03"])
    bars = bars_from_frame(pd.DataFrame({"Close": [1.0, 2.0], "Volume": [5, 6]}, index=index))
    assert bars.timestamps.tolist() == [ns("2020-01-02"), ns("2020-01-03")]
    assert bars.columns["volume"].tolist() == [5.0, 6.0]
    assert bars.source == "<DataFrame>" and bars.has_time is False


def test_frame_with_date_column_of_text() -> None:
    frame = pd.DataFrame({"date": ["2020-01-02 09:30:00", "2020-01-02 09:31:00"], "close": [1, 2]})
    bars = bars_from_frame(frame, source="mine")
    assert bars.timestamps.tolist() == [ns("2020-01-02 09:30"), ns("2020-01-02 09:31")]
    assert bars.has_time is True and bars.source == "mine"


def test_frame_with_zoned_index_is_converted_to_utc() -> None:
    index = pd.DatetimeIndex(["2020-01-02 10:00"], tz="Europe/Paris")
    assert bars_from_frame(pd.DataFrame({"Close": [1.0]}, index=index)).timestamps.tolist() == [
        ns("2020-01-02 09:00")
    ]


def test_frame_with_date_objects_and_time_column() -> None:
    frame = pd.DataFrame({"Date": [dt.date(2020, 1, 2)], "Time": ["09:30:00"], "Close": [1.0]})
    assert bars_from_frame(frame).timestamps.tolist() == [ns("2020-01-02 09:30")]


def test_frame_does_not_share_memory_with_the_caller() -> None:
    frame = pd.DataFrame({"Close": [1.0, 2.0]}, index=pd.to_datetime(["2020-01-02", "2020-01-03"]))
    bars = bars_from_frame(frame)
    frame.iloc[0, 0] = 99.0
    assert bars.columns["close"].tolist() == [1.0, 2.0]


def test_frame_problems_name_row_and_index_label() -> None:
    index = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-04"])
    frame = pd.DataFrame({"Close": [1.0, -2.0, 3.0], "Volume": [1.0, 2.0, math.inf]}, index=index)
    with pytest.raises(DataError) as info:
        bars_from_frame(frame, source="<DataFrame X>")
    assert str(info.value).splitlines() == [
        "<DataFrame X>:2 (index 2020-01-03): Close: expected a positive finite price, got -2.0",
        "<DataFrame X>:3 (index 2020-01-04): Volume: expected a finite non-negative number, got inf",
    ]


def test_frame_text_numbers_are_quoted() -> None:
    frame = pd.DataFrame({"Date": ["2020-01-02", "2020-01-03"], "Close": ["1", "1,234.5"]}, index=[10, 11])
    with pytest.raises(
        DataError, match=re.escape("<DataFrame>:2 (index 11): Close: expected a number, got '1,234.5'")
    ):
        bars_from_frame(frame)


def test_frame_object_columns_of_mixed_numbers() -> None:
    frame = pd.DataFrame(
        {
            "Date": ["2020-01-02", "2020-01-03", "2020-01-06"],
            "Close": pd.Series([1, 2.5, "3.25"], dtype=object),
        }
    )
    assert bars_from_frame(frame).columns["close"].tolist() == [1.0, 2.5, 3.25]
    frame["Close"] = pd.Series([1, True, None], dtype=object)
    with pytest.raises(DataError) as info:
        bars_from_frame(frame)
    assert str(info.value).splitlines() == [
        "<DataFrame>:2 (index 1): Close: expected a number, got True",
        "<DataFrame>:3 (index 2): Close: expected a positive finite price, got None",
    ]


def test_frame_bad_dates_and_order() -> None:
    frame = pd.DataFrame({"Date": ["2020-01-02", "bad", "2020-01-01"], "Close": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError) as info:
        bars_from_frame(frame)
    assert str(info.value).splitlines() == [
        "<DataFrame>:2 (index 1): Date: expected a date like YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, got 'bad'",
        "<DataFrame>:3 (index 2): Date: expected a timestamp after the previous row's 2020-01-02, "
        "got 2020-01-01 (rows out of time order)",
    ]


def test_frame_without_dates() -> None:
    with pytest.raises(DataError, match=r"^<DataFrame>: Date: expected a DatetimeIndex, a Date"):
        bars_from_frame(pd.DataFrame({"Close": [1.0]}))


def test_frame_without_close() -> None:
    with pytest.raises(DataError, match=r"^<DataFrame>: Close: expected a Close column"):
        bars_from_frame(pd.DataFrame({"Open": [1.0]}, index=pd.to_datetime(["2020-01-02"])))


def test_empty_frame() -> None:
    with pytest.raises(DataError, match="empty DataFrame"):
        bars_from_frame(pd.DataFrame({"Date": [], "Close": []}))


def test_not_a_frame() -> None:
    with pytest.raises(DataError, match="expected a pandas DataFrame, got list"):
        bars_from_frame([1, 2])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Property: what is written is what is read


@st.composite
def bar_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    intraday = draw(st.booleans())
    unit = 60 * 10**9 if intraday else DAY
    steps = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    start = ns("1990-01-01") + draw(st.integers(0, 10_000)) * DAY
    stamps = start + np.cumsum(np.asarray(steps, dtype=np.int64)) * unit
    price = st.floats(min_value=0.0, max_value=1e12, exclude_min=True, allow_nan=False)
    quads = draw(st.lists(st.lists(price, min_size=4, max_size=4), min_size=n, max_size=n))
    quads = [sorted(q) for q in quads]
    adj = draw(st.lists(price, min_size=n, max_size=n))
    volume = draw(st.lists(st.floats(min_value=0.0, max_value=1e15, allow_nan=False), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "Open": [q[1] for q in quads],
            "High": [q[3] for q in quads],
            "Low": [q[0] for q in quads],
            "Close": [q[2] for q in quads],
            "Adj Close": adj,
            "Volume": volume,
        },
        index=pd.DatetimeIndex(stamps.astype("datetime64[ns]"), name="Date"),
    )


def to_csv_text(frame: pd.DataFrame) -> str:
    stamps = pd.DatetimeIndex(frame.index)
    fmt = "%Y-%m-%d" if bool((stamps == stamps.normalize()).all()) else "%Y-%m-%d %H:%M:%S"
    lines = ["Date," + ",".join(frame.columns)]
    for label, row in zip(stamps, frame.itertuples(index=False), strict=True):
        lines.append(label.strftime(fmt) + "," + ",".join(repr(float(v)) for v in row))
    return "\n".join(lines) + "\n"


@settings(max_examples=60)
@given(frame=bar_frames())
def test_csv_round_trip_is_exact(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> None:
    path = tmp_path_factory.mktemp("prop") / "A.csv"
    path.write_text(to_csv_text(frame))
    bars = read_bars(path)
    expected_ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    assert bars.timestamps.tolist() == expected_ts.tolist()
    names = {
        "open": "Open",
        "high": "High",
        "low": "Low",
        "close": "Close",
        "adj_close": "Adj Close",
        "volume": "Volume",
    }
    assert sorted(bars.columns) == sorted(names)
    for field, column in names.items():
        assert bars.columns[field].tolist() == frame[column].tolist()
    from_frame = bars_from_frame(frame)
    assert from_frame.timestamps.tolist() == bars.timestamps.tolist()
    assert {k: v.tolist() for k, v in from_frame.columns.items()} == {
        k: v.tolist() for k, v in bars.columns.items()
    }
    assert from_frame.has_time == bars.has_time == bool((expected_ts % DAY).any())


# --------------------------------------------------------------------------------------------------
# load: alignment and date ranges


def two_symbols(folder: Path) -> dict[str, Path]:
    a = write(folder, "A.csv", "Date,Close,Volume\n2020-01-01,10,1\n2020-01-03,30,3\n2020-01-04,40,4\n")
    b = write(folder, "B.csv", "Date,Close,Volume\n2020-01-02,2,20\n2020-01-03,3,30\n")
    return {"A": a, "B": b}


def test_load_aligns_on_the_union(tmp_path: Path) -> None:
    files = two_symbols(tmp_path)
    data = load(files)
    assert data.symbols == ("A", "B")
    assert data.timestamps.tolist() == [ns(f"2020-01-0{d}") for d in (1, 2, 3, 4)]
    assert data.column("A", "close").tolist() == [10.0, 10.0, 30.0, 40.0]
    b = data.column("B", "close").tolist()
    assert math.isnan(b[0]) and b[1:] == [2.0, 3.0, 3.0]
    assert data.real.tolist() == [[True, False, True, True], [False, True, True, False]]
    assert data.time_format == "date"
    assert data.sources == (str(files["A"]), str(files["B"]))


def test_load_mixes_files_and_frames_and_detects_time(tmp_path: Path) -> None:
    files = two_symbols(tmp_path)
    frame = pd.DataFrame({"Close": [5.0]}, index=pd.to_datetime(["2020-01-02 12:00"]))
    data = load({"A": files["A"], "F": frame})
    assert data.time_format == "datetime"
    assert data.sources == (str(files["A"]), "<DataFrame F>")
    assert ns("2020-01-02 12:00") in data.timestamps.tolist()


def test_load_start_and_end_are_inclusive(tmp_path: Path) -> None:
    data = load(two_symbols(tmp_path), start="2020-01-02", end=pd.Timestamp("2020-01-03"))
    assert data.timestamps.tolist() == [ns("2020-01-02"), ns("2020-01-03")]
    a = data.column("A", "close").tolist()
    assert math.isnan(a[0]) and a[1] == 30.0  # A's 01-01 bar is cut, so nothing to carry forward


def test_load_end_as_a_plain_date_includes_that_day(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"Close": [1.0, 2.0, 3.0]},
        index=pd.to_datetime(["2020-01-02 10:00", "2020-01-02 15:00", "2020-01-03 10:00"]),
    )
    assert len(load({"X": frame}, end="2020-01-02")) == 2
    assert len(load({"X": frame}, end=dt.date(2020, 1, 2))) == 2
    assert len(load({"X": frame}, end="2020-01-02 12:00")) == 1


def test_load_range_with_no_bars(tmp_path: Path) -> None:
    files = two_symbols(tmp_path)
    with pytest.raises(DataError) as info:
        load(files, start="2021-01-01", end="2021-12-31")
    message = str(info.value)
    assert str(files["A"]) in message and "2021-01-01" in message and "2021-12-31" in message


def test_load_bad_bound(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="start: expected a date or timestamp, got 'soon'"):
        load(two_symbols(tmp_path), start="soon")


def test_load_nothing() -> None:
    with pytest.raises(DataError, match="at least one symbol"):
        load({})


# --------------------------------------------------------------------------------------------------
# load_dir


def test_load_dir_picks_csv_then_txt(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", "Date,Close\n2020-01-01,1\n")
    write(tmp_path, "B.txt", "Date,Close\n2020-01-02,2\n")
    data = load_dir(tmp_path, ["B", "A"])
    assert data.symbols == ("B", "A")
    assert data.sources == (str(tmp_path / "B.txt"), str(tmp_path / "A.csv"))


def test_load_dir_all_csv_files_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b.csv", "Date,Close\n2020-01-01,1\n")
    write(tmp_path, "a.csv", "Date,Close\n2020-01-01,2\n")
    write(tmp_path, "c.txt", "Date,Close\n2020-01-01,3\n")
    data = load_dir(tmp_path, start="2020-01-01", end="2020-01-01")
    assert data.symbols == ("a", "b")
    assert data.values[3, :, 0].tolist() == [2.0, 1.0]


def test_load_dir_symbol_names_are_case_sensitive(tmp_path: Path) -> None:
    write(tmp_path, "orcl.csv", "Date,Close\n2020-01-01,1\n")
    write(tmp_path, "X.csv", "Date,Close\n2020-01-01,1\n")
    with pytest.raises(DataError) as info:
        load_dir(tmp_path, ["X", "ORCL"])
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: ORCL: expected a file ORCL.csv or ORCL.txt, got no such file")
    assert "X.csv, orcl.csv" in message


def test_load_dir_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'nope'}: expected a directory of CSV files")):
        load_dir(tmp_path / "nope")


def test_load_dir_without_csv_files(tmp_path: Path) -> None:
    write(tmp_path, "A.txt", "Date,Close\n2020-01-01,1\n")
    with pytest.raises(DataError, match=r"expected \*\.csv files, got none; the directory has A\.txt"):
        load_dir(tmp_path)


def test_load_dir_rejects_a_string_of_symbols(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_dir(tmp_path, "ABC")


def test_load_dir_real_three_stocks() -> None:
    real("backtrader", "orcl-1995-2014.txt")
    data = load_dir(
        DATA / "backtrader", ["orcl-1995-2014", "yhoo-1996-2014", "nvda-1999-2014"], start="1999-01-22"
    )
    assert len(data) == 4012
    assert bool(data.real.all())
