"""The chunked reader: the loaded data, chunk by chunk; the loader's errors, block by block."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.core.errors import ConfigError, DataError
from tests.stream.support import random_dir


def joined(chunks: list[fbt.BarData]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.concatenate([c.timestamps for c in chunks]), np.concatenate([c.values for c in chunks], axis=2),
            np.concatenate([c.real for c in chunks], axis=1))


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), n_bars=st.integers(1, 120), n_symbols=st.integers(1, 4), shared=st.booleans(),
       chunk=st.integers(1, 50), block=st.sampled_from([1, 40, 200, 1 << 16]))
def test_chunks_joined_are_the_loaded_data(seed: int, n_bars: int, n_symbols: int, shared: bool, chunk: int,
                                           block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = random_dir(Path(tmp), seed, n_bars, n_symbols, shared=shared)
        whole = fbt.load_dir(folder)
        chunks = list(fbt.read_chunks(folder, chunk_bars=chunk, block_bytes=block))
        assert all(1 <= len(c) <= chunk for c in chunks)
        ts, values, real = joined(chunks)
        np.testing.assert_array_equal(ts, whole.timestamps)
        np.testing.assert_array_equal(values, whole.values)  # NaN where NaN
        np.testing.assert_array_equal(real, whole.real)
        assert chunks[-1].time_format == whole.time_format and chunks[0].symbols == whole.symbols
        seen = [False] * n_symbols
        offset = 0
        for c in chunks:  # first: 0 once a symbol has started, else its first bar in the chunk
            for s in range(n_symbols):
                expected = 0 if seen[s] else (whole.first[s] - offset if whole.first[s] < offset + len(c) else len(c))
                assert c.first[s] == expected
                seen[s] = seen[s] or whole.first[s] < offset + len(c)
            offset += len(c)


def test_start_and_end(tmp_path: Path) -> None:
    folder = random_dir(tmp_path, 1, 50, 2, shared=False)
    whole = fbt.load_dir(folder, start="2010-01-10", end="2010-02-01")
    ts, values, _ = joined(list(fbt.read_chunks(folder, chunk_bars=7, start="2010-01-10", end="2010-02-01")))
    np.testing.assert_array_equal(ts, whole.timestamps)
    np.testing.assert_array_equal(values, whole.values)


def error_of(call: object) -> str:
    with pytest.raises(DataError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value)


ROWS = [f"2024-01-{d:02d},{10 + d}.5" for d in range(2, 30)]


@pytest.mark.parametrize(
    "rows",
    [
        [*ROWS[:20], "2024-01-22,abc", *ROWS[21:]],  # text for a number, late in the file
        [*ROWS[:20], "2024-01-22,-3", *ROWS[21:]],  # a negative price
        [*ROWS[:20], ROWS[19], *ROWS[21:]],  # a duplicate timestamp, the two rows in different blocks
        [*ROWS[:20], "2024-13-40,3", *ROWS[21:]],  # a bad date
        [*ROWS[:20], "2024-01-22,3,4", *ROWS[21:]],  # too many fields
    ],
)
@pytest.mark.parametrize("block", [16, 1 << 16])
def test_bad_rows_are_the_loaders_errors(tmp_path: Path, rows: list[str], block: int) -> None:
    (tmp_path / "A.csv").write_text("Date,Close\n" + "\n".join(rows) + "\n")
    expected = error_of(lambda: fbt.load_dir(tmp_path))
    assert ":" in expected and "A.csv:" in expected
    assert error_of(lambda: list(fbt.read_chunks(tmp_path, chunk_bars=3, block_bytes=block))) == expected


@pytest.mark.parametrize("text", ["", "Date,Close\n", "Date,Open\n2024-01-02,1\n", "Date;Close\n2024-01-02;1\n"])
def test_bad_files_are_the_loaders_errors(tmp_path: Path, text: str) -> None:
    (tmp_path / "A.csv").write_text(text)
    assert error_of(lambda: fbt.read_chunks(tmp_path)) == error_of(lambda: fbt.load_dir(tmp_path))


def test_missing_symbol_and_bad_chunk_size(tmp_path: Path) -> None:
    random_dir(tmp_path, 1, 5)
    assert error_of(lambda: fbt.read_chunks(tmp_path, ["S0", "ZZ"])) == error_of(
        lambda: fbt.load_dir(tmp_path, ["S0", "ZZ"]))
    with pytest.raises(ConfigError, match="chunk_bars"):
        fbt.read_chunks(tmp_path, chunk_bars=0)
