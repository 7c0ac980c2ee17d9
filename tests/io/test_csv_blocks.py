"""A CSV file written a block of rows at a time has the bytes of the file written from whole columns.

The reference is ``",".join`` of each row; the columns' own decisions (whole numbers printed as
integers, the labels' unit) are taken on the whole column and handed to each block.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbt.io.text import (
    float_texts,
    is_whole,
    time_texts,
    time_unit,
    write_csv_blocks,
    write_csv_table,
    write_table_rows,
)

floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 100.0, 1e-05, 1e16, 2.5])
wholes = st.integers(-(10**6), 10**6).map(float)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.integers(0, 40), st.integers(1, 50), st.booleans())
def test_blocks_give_the_bytes_of_whole_columns(data: st.DataObject, rows: int, size: int, daily: bool) -> None:
    a = np.array(data.draw(st.lists(floats, min_size=rows, max_size=rows)), dtype=np.float64)
    b = np.array(data.draw(st.lists(wholes, min_size=rows, max_size=rows)), dtype=np.float64)
    step = 86_400 * 10**9 if daily else data.draw(st.sampled_from([10**9, 1_500_000, 7]))
    ts = np.arange(rows, dtype=np.int64) * step
    fmt = "date" if daily else "datetime"
    whole_a, whole_b, unit = is_whole(a), is_whole(b), time_unit(ts, fmt)

    def block(lo: int, hi: int) -> list[Any]:
        return [time_texts(ts[lo:hi], fmt, unit), float_texts(a[lo:hi], whole=whole_a),
                float_texts(b[lo:hi], whole=whole_b)]

    out = io.BytesIO()
    write_table_rows(out, [time_texts(ts, fmt), float_texts(a), float_texts(b)])
    expected = b"t,a,b\n" + out.getvalue()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.csv"
        write_csv_blocks(path, ["t", "a", "b"], rows, block, size=size)
        assert path.read_bytes() == expected
    reference = "".join(",".join(r) + "\n" for r in zip(*(c.to_pylist() for c in block(0, rows)), strict=True))
    assert expected == b"t,a,b\n" + reference.encode()


def test_a_block_arrow_refuses_is_written_once(tmp_path: Path) -> None:
    # a comma in the second chunk of a block: Arrow may have written the first chunk before refusing
    names = pa.chunked_array([["a", "b"], ["c", "d,e"]])
    values = pa.chunked_array([["1", "2"], ["3", "4"]])
    path = tmp_path / "x.csv"
    write_csv_blocks(path, ["s", "v"], 4, lambda lo, hi: [names.slice(lo, hi - lo), values.slice(lo, hi - lo)],
                     size=4)
    assert path.read_bytes() == b"s,v\na,1\nb,2\nc,3\nd,e,4\n"
    write_csv_blocks(path, ["s", "v"], 4, lambda lo, hi: [names.slice(lo, hi - lo), values.slice(lo, hi - lo)],
                     size=3)
    assert path.read_bytes() == b"s,v\na,1\nb,2\nc,3\nd,e,4\n"


def test_rows_after_a_refused_row_in_a_later_block_are_not_repeated() -> None:
    rows = 300_000  # more than one block
    names = ["x"] * rows
    names[-1] = "y,z"
    fh = io.BytesIO()
    write_table_rows(fh, [names, ["1"] * rows])
    text = fh.getvalue()
    assert text.count(b"\n") == rows
    assert text.endswith(b"x,1\ny,z,1\n")


def test_a_block_of_the_wrong_length_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_csv_table(path, ["a"], [["old"]])
    with pytest.raises(ValueError, match=r"x\.csv: expected 2 rows in each column of rows 0\.\.2, got \[1\]"):
        write_csv_blocks(path, ["a"], 3, lambda lo, hi: [["z"]], size=2)
    assert path.read_bytes() == b"a\nold\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]
    with pytest.raises(ValueError, match="size must be at least 1"):
        write_csv_blocks(path, ["a"], 1, lambda lo, hi: [["z"]], size=0)


def test_no_rows_is_the_header_alone(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_csv_blocks(path, ["a", "b"], 0, lambda lo, hi: [[], []])
    assert path.read_bytes() == b"a,b\n"
