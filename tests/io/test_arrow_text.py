"""The Arrow formatter of output columns gives the bytes of the row-by-row Python formatter it replaced.

The reference below is that formatter: ``repr`` of each float (``int`` text for a whole column),
and labels through numpy's ``datetime_as_string``. Every text must also read back to the value,
bit for bit.
"""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbt.core.units import NS_PER_DAY
from fbt.io.text import float_texts, is_whole, time_texts, write_csv_table, write_table_rows
from fbt.io.writers import format_floats, format_timestamps


def reference_floats(values: npt.NDArray[np.float64], whole: bool | None = None) -> list[str]:
    v = np.asarray(values, dtype=np.float64)
    if whole is None:
        whole = is_whole(v)
    if whole:
        return [repr(int(x)) for x in v.tolist()]
    return [repr(x) for x in v.tolist()]


def reference_timestamps(timestamps: npt.NDArray[np.int64], time_format: str) -> list[str]:
    ts = np.asarray(timestamps, dtype=np.int64)
    if time_format == "date":
        return [str(d) for d in np.datetime_as_string((ts // NS_PER_DAY).astype("datetime64[D]")).tolist()]
    unit = next((u for u, k in (("s", 10**9), ("ms", 10**6), ("us", 10**3)) if not (ts % k).any()), "ns")
    texts = np.datetime_as_string(ts.astype("datetime64[ns]"), unit=unit).tolist()  # type: ignore[call-overload]
    return [t.replace("T", " ") for t in texts]


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


EDGES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308,
         -1.7976931348623157e308, math.inf, -math.inf, math.nan, 1e16, 9999999999999998.0, 1e15, 1.5e15, 1e14,
         123456789012345.6, 1e-4, 9.999999999999999e-05, 1e-5, 9.999999999999999e-06, 1e-6, 9.99e-07, 1e-7, 1e-9,
         1e-10, 0.1, 0.30000000000000004, 100.0, -100.0, 2.0**53, 2.0**53 + 2, -21.999999999999886, 1e22, 1e300]

floats = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
scaled = st.builds(lambda m, e: m * 10.0**e, st.integers(-(10**6), 10**6), st.integers(-12, 22))
values = st.lists(floats | scaled | st.sampled_from(EDGES), max_size=80)


@settings(max_examples=400)
@given(values)
def test_floats_are_the_reference_text_and_read_back_bit_identical(items: list[float]) -> None:
    v = np.array(items, dtype=np.float64)
    texts = float_texts(v, whole=False).to_pylist()
    assert texts == reference_floats(v, whole=False)
    for text, x in zip(texts, v.tolist(), strict=True):
        if not math.isnan(x):
            assert bits(float(text)) == bits(x)


@settings(max_examples=200)
@given(values)
def test_a_column_decides_whole_as_the_reference_does(items: list[float]) -> None:
    v = np.array(items, dtype=np.float64)
    assert format_floats(v) == reference_floats(v)


@settings(max_examples=200)
@given(st.lists(st.integers(-(2**53) + 1, 2**53 - 1).map(float) | st.just(-0.0), min_size=1, max_size=60))
def test_whole_columns_are_integers_that_read_back(items: list[float]) -> None:
    v = np.array(items, dtype=np.float64)
    assert is_whole(v)
    texts = float_texts(v).to_pylist()
    assert texts == reference_floats(v, whole=True)
    assert [float(t) for t in texts] == v.tolist()  # -0.0 reads back as 0.0: equal, as the old writer wrote it


@settings(max_examples=100)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.5, 2.0, 1e-05, math.nan]), max_size=80))
def test_runs_of_equal_values_are_formatted_as_each_value(items: list[float]) -> None:
    v = np.array(items, dtype=np.float64)
    assert float_texts(v).to_pylist() == reference_floats(v)


def test_a_million_random_bit_patterns_and_every_magnitude() -> None:
    rng = np.random.default_rng(7)
    patterns = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 200_000, dtype=np.int64).view(np.float64)
    magnitudes = 10.0 ** rng.uniform(-12, 22, 200_000) * rng.choice([-1.0, 1.0], 200_000)
    for v in (patterns, magnitudes, np.round(magnitudes, 2), np.round(magnitudes * 1e7) / 1e7):
        assert float_texts(v, whole=False).to_pylist() == reference_floats(v, whole=False)


def test_hand_written_examples() -> None:
    v = np.array([0.1, 100.0, -0.0, 1e-05, 3.5e-06, -1e-06, 1.2e-07, 1e16, 1e15, 5e-324, math.nan, -math.inf])
    assert float_texts(v).to_pylist() == ["0.1", "100.0", "-0.0", "1e-05", "3.5e-06", "-1e-06", "1.2e-07", "1e+16",
                                          "1000000000000000.0", "5e-324", "nan", "-inf"]
    assert float_texts(np.array([3.0, -0.0, -7.0])).to_pylist() == ["3", "0", "-7"]
    assert float_texts(np.array([])).to_pylist() == []


labels = st.integers(-(2**63) + NS_PER_DAY, 2**63 - 1)  # a day above NaT, so that flooring to a day stays in range


@settings(max_examples=300)
@given(st.lists(labels, max_size=40), st.sampled_from([1, 10**3, 10**6, 10**9, 60 * 10**9, NS_PER_DAY]),
       st.sampled_from(["date", "datetime"]))
def test_timestamps_are_the_reference_text(items: list[int], step: int, time_format: str) -> None:
    ts = np.array([x // step * step for x in items], dtype=np.int64)
    assert time_texts(ts, time_format).to_pylist() == reference_timestamps(ts, time_format)
    assert format_timestamps(ts, time_format) == reference_timestamps(ts, time_format)


def test_timestamps_by_hand() -> None:
    ts = np.array([0, 90 * 10**9, -1], dtype=np.int64)
    assert time_texts(ts, "datetime").to_pylist() == ["1970-01-01 00:00:00.000000000", "1970-01-01 00:01:30.000000000",
                                                      "1969-12-31 23:59:59.999999999"]
    assert time_texts(ts[:2], "datetime").to_pylist() == ["1970-01-01 00:00:00", "1970-01-01 00:01:30"]
    assert time_texts(ts, "date").to_pylist() == ["1970-01-01", "1970-01-01", "1969-12-31"]


@settings(max_examples=100)
@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=30))
def test_rows_are_joined_as_text_whatever_they_hold(rows: list[tuple[str, str]]) -> None:
    fh = io.BytesIO()
    write_table_rows(fh, [[a for a, _ in rows], [b for _, b in rows]])
    assert fh.getvalue() == "".join(f"{a},{b}\n" for a, b in rows).encode()


def test_a_table_is_written_whole_under_its_header(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_csv_table(path, ["a", "b"], [["x", "y"], float_texts(np.array([1.0, 0.5]))])
    assert path.read_bytes() == b"a,b\nx,1.0\ny,0.5\n"
    write_csv_table(path, ["a"], [[]])
    assert path.read_bytes() == b"a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
    with pytest.raises(ValueError):
        write_csv_table(path, ["a", "b"], [["x"], ["y", "z"]])
    assert path.read_bytes() == b"a\n"
