"""Aligning symbols on the union of their timestamps; cutting data to its first bars."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt.testing as ft
from fbt.core.errors import DataError
from fbt.core.market import FIELDS, BarData, align

Inputs = dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]

prices = ft.prices(min_value=0.01, max_value=1e5)


@st.composite
def per_symbol(draw: st.DrawFn, min_bars: int = 1) -> Inputs:
    """1-3 symbols, each with its own non-empty set of timestamps and random prices.

    Some symbols carry an ``adj_close`` column, some a ``volume``; the others leave them out.
    """
    n_sym = draw(st.integers(1, 3))
    out: Inputs = {}
    for k in range(n_sym):
        stamps = draw(st.sets(st.integers(-10**12, 10**12), min_size=min_bars, max_size=25))
        ts = np.array(sorted(stamps), dtype=np.int64)
        m = ts.shape[0]
        cols = {"close": np.array(draw(st.lists(prices, min_size=m, max_size=m)))}
        if draw(st.booleans()):
            cols["adj_close"] = np.array(draw(st.lists(prices, min_size=m, max_size=m)))
        if draw(st.booleans()):
            cols["volume"] = np.array(draw(st.lists(prices, min_size=m, max_size=m)))
        out[f"S{k}"] = (ts, cols)
    return out


def own_value(ts: np.ndarray, col: np.ndarray, t: int) -> float:
    """The value of the symbol's latest own bar at or before ``t`` (NaN if none): forward fill."""
    j = int(np.searchsorted(ts, t, side="right")) - 1
    return float("nan") if j < 0 else float(col[j])


def expected_column(ts: np.ndarray, cols: Mapping[str, np.ndarray], field: str) -> np.ndarray:
    if field in cols:
        return cols[field]
    if field in ("volume", "open_interest"):
        return np.zeros(ts.shape[0])
    return cols["close"]


@settings(max_examples=150)
@given(inputs=per_symbol())
def test_align_properties(inputs: Inputs) -> None:
    data = align(inputs)
    union = sorted(set().union(*(ts.tolist() for ts, _ in inputs.values())))

    # the union of timestamps, strictly increasing
    assert data.symbols == tuple(inputs)
    assert data.timestamps.tolist() == union
    assert data.timestamps.dtype == np.int64
    assert len(data) == len(union)
    n = len(union)
    assert data.values.shape == (len(FIELDS), len(inputs), n)
    assert data.real.shape == (len(inputs), n)

    for s, (symbol, (ts, cols)) in enumerate(inputs.items()):
        own = set(ts.tolist())
        first = union.index(int(ts[0]))
        assert data.first[s] == first
        # real mask: exactly the symbol's own timestamps
        assert data.real[s].tolist() == [t in own for t in union]
        for field in FIELDS:
            column = data.column(symbol, field)
            # NaN before the first bar, never back filled
            assert np.isnan(column[:first]).all()
            assert not np.isnan(column[first:]).any()
            # forward filled from the symbol's own bars, never from a later one
            source = expected_column(ts, cols, field)
            expected = [own_value(ts, source, t) for t in union]
            np.testing.assert_array_equal(column, np.array(expected))


@settings(max_examples=150)
@given(inputs=per_symbol(), pick=st.data())
def test_head_equals_aligning_the_truncated_inputs(inputs: Inputs, pick: st.DataObject) -> None:
    data = align(inputs)
    latest_start = max(data.first)
    n = pick.draw(st.integers(latest_start + 1, len(data)), label="n")
    cut = int(data.timestamps[n - 1])
    truncated = {
        symbol: (ts[ts <= cut], {name: col[ts <= cut] for name, col in cols.items()})
        for symbol, (ts, cols) in inputs.items()
    }
    head, expected = data.head(n), align(truncated)
    assert len(head) == n
    assert head.symbols == expected.symbols
    assert head.first == expected.first
    np.testing.assert_array_equal(head.timestamps, expected.timestamps)
    np.testing.assert_array_equal(head.values, expected.values)
    np.testing.assert_array_equal(head.real, expected.real)
    # and it is the full data's prefix, left unchanged
    np.testing.assert_array_equal(head.values, data.values[:, :, :n])
    assert head.time_format == data.time_format


@settings(max_examples=50)
@given(inputs=per_symbol(), extra=st.integers(0, 5))
def test_head_clamps_and_keeps_late_starts_unstarted(inputs: Inputs, extra: int) -> None:
    data = align(inputs)
    whole = data.head(len(data) + extra)
    np.testing.assert_array_equal(whole.values, data.values)
    assert whole.first == data.first
    for n in range(len(data) + 1):
        head = data.head(n)
        assert len(head) == n
        # a symbol that has not started within the first n bars reports first == n
        assert head.first == tuple(min(f, n) for f in data.first)
        assert head.real.sum() == data.real[:, :n].sum()


def test_arrays_are_read_only() -> None:
    data = align({"A": (np.array([1, 2], dtype=np.int64), {"close": np.array([1.0, 2.0])})})
    for array in (data.timestamps, data.values, data.real, data.head(1).values, data.column("A", "close")):
        with pytest.raises(ValueError):
            array[..., 0] = 0


def test_align_hand_example() -> None:
    data = align({
        "A": (np.array([10, 30, 40], dtype=np.int64), {"close": np.array([1.0, 3.0, 4.0])}),
        "B": (np.array([20, 40], dtype=np.int64), {"close": np.array([2.0, 4.5]), "adj_close": np.array([1.9, 4.4])}),
    })
    assert data.timestamps.tolist() == [10, 20, 30, 40]
    np.testing.assert_array_equal(data.column("A", "close"), [1.0, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(data.column("A", "adj_close"), [1.0, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(data.column("B", "close"), [np.nan, 2.0, 2.0, 4.5])
    np.testing.assert_array_equal(data.column("B", "adj_close"), [np.nan, 1.9, 1.9, 4.4])
    assert data.real.tolist() == [[True, False, True, True], [False, True, False, True]]
    assert data.first == (0, 1)


def test_align_needs_a_symbol_and_data_needs_close() -> None:
    with pytest.raises(DataError):
        align({})
    with pytest.raises(DataError, match="close"):
        BarData.from_columns(symbols=("A",), timestamps=np.arange(2, dtype=np.int64),
                             columns={"open": np.array([[1.0, 2.0]])})
