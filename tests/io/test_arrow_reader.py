"""Arrow's CSV reader takes a file only when the pandas reader and checker would read the same bars from it.

Every file Arrow reads (:func:`fbt.io.csv_reader.read_arrow`) must give, bit for bit, the bars the
reader without Arrow gives (pandas' parser and the row-by-row checks), and every file it leaves
must still be read, or refused with the same message, by that reader.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbt.io.loaders
from fbt.core.errors import DataError
from fbt.io.csv_reader import read_arrow
from fbt.io.loaders import csv_layout, read_bars
from fbt.io.symbol_bars import SymbolBars

LABELS = ["2024-01-02", "2024-01-02 09:30:00", "2024-01-02T09:30:00", "2024-01-02 09:30", "2024-01-02 09",
          "2024-01-02 09:30:00.5", "2024-01-02 09:30:00.123456789", "20240102", "2024/01/02", "2024-02-30",
          "2024-01-02 24:00:00", "2024-01-02 9:30:00", "2024-01-02Z", "2024-01-02T09:30:00Z",
          "2024-01-02 09:30:00+01:00", " 2024-01-02", "2024-01-02 ", "1500-01-01", "2300-01-01", "", "x"]
NUMBERS = ["1", "1.5", "10.25", "1e2", "1E2", ".5", "5.", "+1.5", " 2.5", "2.5 ", "-0", "0", "-1", "nan", "NaN", "inf",
           "-inf", "", "1_0", "0x10", "1,5", "\u0661", "100.00000000000001", "0.30000000000000004", "9" * 30, "1e400"]


def _same(a: SymbolBars, b: SymbolBars) -> bool:
    return (a.timestamps.tobytes() == b.timestamps.tobytes() and a.has_time == b.has_time
            and list(a.columns) == list(b.columns)
            and all(a.columns[k].tobytes() == b.columns[k].tobytes() for k in a.columns))


def _without_arrow(path: Path, monkeypatch: pytest.MonkeyPatch) -> SymbolBars | str:
    with monkeypatch.context() as m:
        m.setattr(fbt.io.loaders, "read_arrow", lambda *args: None)
        try:
            return read_bars(path)
        except DataError as exc:
            return str(exc)


def _with_arrow(path: Path) -> SymbolBars | str:
    try:
        return read_bars(path)
    except DataError as exc:
        return str(exc)


days = st.integers(0, 3000).map(lambda d: np.datetime64("2015-01-01") + np.timedelta64(d, "D"))
minutes = st.integers(0, 24 * 60 - 1)


@st.composite
def files(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 12))
    stamps = sorted(draw(st.lists(st.tuples(days, minutes), min_size=n, max_size=n, unique=True)))
    separate = draw(st.booleans())
    header = "Date,Time,Open,Close,Volume" if separate else draw(st.sampled_from(["Date,Open,Close,Volume",
                                                                                    "Datetime,Open,Close,Volume"]))
    rows = []
    for day, minute in stamps:
        clock = f"{minute // 60:02d}:{minute % 60:02d}:00"
        label = f"{day},{clock}" if separate else draw(st.sampled_from([f"{day} {clock}", f"{day}T{clock}", str(day)]))
        if draw(st.integers(0, 9)) == 0:
            label = draw(st.sampled_from(LABELS)) + ("," + clock if separate else "")
        price = draw(st.floats(0.01, 1e6, allow_nan=False).map(repr) | st.sampled_from(NUMBERS[:4]))
        if draw(st.integers(0, 9)) == 0:
            price = draw(st.sampled_from(NUMBERS))
        volume = draw(st.integers(0, 10**6).map(str) | st.sampled_from(NUMBERS))
        rows.append(f"{label},{price},{price},{volume}")
    return header + "\n" + "\n".join(rows) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files())
def test_arrow_reads_only_what_the_other_reader_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               text: str) -> None:
    path = tmp_path / "X.csv"
    path.write_bytes(text.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            source, layout, _, first_line = csv_layout(path)
        except DataError:  # the header or the first row's width: refused before any reader
            return
        fast = read_arrow(source, layout, 1, first_line)
        reference = _without_arrow(path, monkeypatch)
        result = _with_arrow(path)
    if fast is not None:
        assert isinstance(reference, SymbolBars), reference
        assert _same(fast, reference)
    if isinstance(reference, SymbolBars):
        assert isinstance(result, SymbolBars) and _same(result, reference)
    else:
        assert result == reference


def test_arrow_reads_a_plain_file_and_its_values(tmp_path: Path) -> None:
    path = tmp_path / "A.csv"
    path.write_text("Date,Open,Close,Volume\n2024-01-02 09:30:00,1.5,2.25,100\n2024-01-02 09:31:00,2,3,0\n")
    source, layout, _, first_line = csv_layout(path)
    bars = read_arrow(source, layout, 1, first_line)
    assert bars is not None and bars.has_time
    assert bars.timestamps.tolist() == [1704187800 * 10**9, 1704187860 * 10**9]
    assert bars.columns["close"].tolist() == [2.25, 3.0] and bars.columns["volume"].tolist() == [100.0, 0.0]


@pytest.mark.parametrize("text", [
    "Date,Close\n2024-01-02,1\n2024-01-02,2\n",  # a duplicate: the checker's message
    "Date,Close\n2024-01-02,\"1\"\n",  # quotes
    "Date,Close\n20240102,1\n",  # another layout
    "Date,Close\n2024-01-02T09:30:00+01:00,1\n",  # a zone
    "Date,Close\n2024-01-02,1\n2024-01-03,1,2\n",  # a wide row
    "Date,Close\n2024-01-02,nan\n",  # a missing price
])
def test_arrow_leaves_the_unusual_to_the_other_reader(tmp_path: Path, text: str) -> None:
    path = tmp_path / "A.csv"
    path.write_text(text)
    source, layout, _, first_line = csv_layout(path)
    assert read_arrow(source, layout, 1, first_line) is None
