"""The columnar, aligned bar store.

:class:`BarData` holds one run's market data: a strictly increasing union of timestamps (int64
nanoseconds, the data's own labels), and for every symbol one float64 column per field, forward
filled over the union and NaN before the symbol's first real bar. ``real`` says which bars came from
the data and which were filled in. Arrays are read-only; the record is never changed after it is
built.

>>> import numpy as np
>>> data = BarData.from_columns(
...     symbols=("A",),
...     timestamps=np.array([0, 1, 2], dtype=np.int64),
...     columns={"close": np.array([[1.0, 2.0, 3.0]])},
... )
>>> data.column("A", "adj_close").tolist()
[1.0, 2.0, 3.0]
>>> len(data)
3
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.errors import DataError

__all__ = ["FIELDS", "Bar", "BarData", "align", "field_rows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Every field a bar has, in storage order.
FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "adj_close", "volume", "open_interest")
_FIELD_INDEX = {name: k for k, name in enumerate(FIELDS)}


@attrs.frozen(kw_only=True)
class Bar:
    """One symbol's bar at one timestamp (as the seed's ``get_latest_bar`` returns)."""

    timestamp: int
    open: float
    high: float
    low: float
    close: float
    adj_close: float
    volume: float
    open_interest: float


def _readonly(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    a.flags.writeable = False
    return a


@attrs.frozen(eq=False, kw_only=True)
class BarData:
    """Aligned market data for a fixed universe of symbols.

    ``values[f, s, i]`` is field ``FIELDS[f]`` of symbol ``symbols[s]`` at ``timestamps[i]``.
    Equality is identity; compare :attr:`fingerprint`-style digests for content.
    """

    symbols: tuple[str, ...]
    timestamps: IntArray
    values: FloatArray  # shape (len(FIELDS), len(symbols), len(timestamps))
    real: BoolArray  # shape (len(symbols), len(timestamps))
    first: tuple[int, ...]  # index of each symbol's first real bar
    time_format: str = "datetime"  # "date" when every label is a midnight date
    sources: tuple[str, ...] = ()
    # a memo of row views by (symbol, field) for the per-bar accessors: it never changes what is read
    _rows: dict[tuple[str, str], FloatArray] = attrs.field(factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def symbol_index(self) -> dict[str, int]:
        """Map each symbol to its position in :attr:`symbols`."""
        return {s: k for k, s in enumerate(self.symbols)}

    def column(self, symbol: str, field: str) -> FloatArray:
        """Return the whole read-only column of one field of one symbol (for up-front indicators).

        Indicators built from it must be causal: the value at bar ``i`` may use bars ``<= i`` only.
        """
        return self.values[_field(field), self._sym(symbol)]  # type: ignore[no-any-return]

    def row(self, symbol: str, field: str) -> FloatArray:
        """Return :meth:`column` from a memo: the per-bar accessors read through it."""
        found = self._rows.get((symbol, field))
        if found is None:
            found = self._rows.setdefault((symbol, field), self.column(symbol, field))
        return found

    def _sym(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise DataError(f"unknown symbol {symbol!r}; the data has {', '.join(self.symbols)}") from None

    def head(self, n: int) -> BarData:
        """Return the first ``n`` bars as a new BarData (the data a run that stopped there saw)."""
        n = max(0, min(n, len(self)))
        first = tuple(min(f, n) for f in self.first)
        return BarData(
            symbols=self.symbols,
            timestamps=_readonly(self.timestamps[:n].copy()),  # type: ignore[arg-type]
            values=_readonly(self.values[:, :, :n].copy()),  # type: ignore[arg-type]
            real=_readonly(self.real[:, :n].copy()),  # type: ignore[arg-type]
            first=first,
            time_format=self.time_format,
            sources=self.sources,
        )

    @classmethod
    def from_columns(
        cls,
        *,
        symbols: Sequence[str],
        timestamps: IntArray,
        columns: Mapping[str, FloatArray],
        real: BoolArray | None = None,
        time_format: str = "datetime",
        sources: Sequence[str] = (),
    ) -> BarData:
        """Build from already aligned ``(n_symbols, n_bars)`` columns; ``close`` is required.

        Missing ``open``/``high``/``low``/``adj_close`` default to ``close``, ``volume`` and
        ``open_interest`` to 0. ``real`` defaults to "every non-NaN close is real".
        """
        ts = np.ascontiguousarray(timestamps, dtype=np.int64)
        n_sym, n = len(symbols), int(ts.shape[0])
        if "close" not in columns:
            raise DataError("close: expected a close column, got none")
        close = np.asarray(columns["close"], dtype=np.float64).reshape(n_sym, n)
        values = np.empty((len(FIELDS), n_sym, n), dtype=np.float64)
        for f, name in enumerate(FIELDS):
            if name in columns:
                values[f] = np.asarray(columns[name], dtype=np.float64).reshape(n_sym, n)
            elif name in ("volume", "open_interest"):
                values[f] = np.where(np.isnan(close), np.nan, 0.0)
            else:
                values[f] = close
        mask = ~np.isnan(close) if real is None else np.asarray(real, dtype=bool).reshape(n_sym, n)
        first = tuple(int(np.argmax(m)) if m.any() else n for m in mask)
        return cls(
            symbols=tuple(symbols),
            timestamps=_readonly(ts),  # type: ignore[arg-type]
            values=_readonly(values),  # type: ignore[arg-type]
            real=_readonly(mask),  # type: ignore[arg-type]
            first=first,
            time_format=time_format,
            sources=tuple(sources),
        )


def _field(field: str) -> int:
    try:
        return _FIELD_INDEX[field]
    except KeyError:
        raise DataError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}") from None


def field_rows(columns: Mapping[str, FloatArray], *, out: FloatArray | None = None) -> FloatArray:
    """One symbol's columns as a ``(len(FIELDS), n)`` array, the missing ones filled: open, high, low
    and adj_close with the close, volume and open interest with 0 (``close`` is required).

    >>> import numpy as np
    >>> field_rows({"close": np.array([10.0, 11.0]), "volume": np.array([5.0, 6.0])})[:, 1].tolist()
    [11.0, 11.0, 11.0, 11.0, 11.0, 6.0, 0.0]
    """
    close = columns["close"]
    rows = np.empty((len(FIELDS), len(close))) if out is None else out
    for f, name in enumerate(FIELDS):
        given = columns.get(name)
        rows[f] = given if given is not None else (0.0 if name in ("volume", "open_interest") else close)
    return rows


def align(
    per_symbol: Mapping[str, tuple[IntArray, Mapping[str, FloatArray]]],
    *,
    time_format: str = "datetime",
    sources: Sequence[str] = (),
) -> BarData:
    """Align per-symbol bars on the true union of their timestamps.

    Each symbol gives strictly increasing int64 timestamps and its columns (``close`` required).
    The result is forward filled (never back filled): before a symbol's first bar its values are NaN
    and ``real`` is False; after it, a missing bar repeats the last real one.

    >>> import numpy as np
    >>> d = align({
    ...     "A": (np.array([1, 3], dtype=np.int64), {"close": np.array([10.0, 30.0])}),
    ...     "B": (np.array([2, 3], dtype=np.int64), {"close": np.array([2.0, 3.0])}),
    ... })
    >>> d.timestamps.tolist(), d.column("A", "close").tolist(), d.column("B", "close").tolist()
    ([1, 2, 3], [10.0, 10.0, 30.0], [nan, 2.0, 3.0])
    >>> d.real.tolist()
    [[True, False, True], [False, True, True]]
    """
    if not per_symbol:
        raise DataError("no symbols to load")
    symbols = tuple(per_symbol)
    stamps = [np.asarray(ts, dtype=np.int64) for ts, _ in per_symbol.values()]
    if all(t.shape == stamps[0].shape and np.array_equal(t, stamps[0]) for t in stamps[1:]):
        union = stamps[0]  # one shared calendar (strictly increasing already): nothing to merge
    else:
        union = np.unique(np.concatenate(stamps))
    n = int(union.shape[0])
    real = np.zeros((len(symbols), n), dtype=bool)
    present = set().union(*(cols.keys() for _, cols in per_symbol.values()))
    if "close" not in present:
        raise DataError("close: expected a close column, got none")
    # one array for every field, filled in place (NaN before a symbol's first bar, as every field)
    values = np.full((len(FIELDS), len(symbols), n), np.nan)
    arange = np.arange(n)
    for s, (ts, cols) in enumerate(per_symbol.values()):
        if "close" not in cols:
            raise DataError(f"{symbols[s]}: close: expected a close column, got none")
        if len(ts) == n:  # a bar at every timestamp of the union: no filling needed
            real[s] = True
            field_rows(cols, out=values[:, s])
            continue
        pos = np.searchsorted(union, ts)
        real[s, pos] = True
        last = np.where(real[s], arange, -1)
        np.maximum.accumulate(last, out=last)
        started = last >= 0
        # index into the symbol's own rows: how many real bars up to here, minus one
        own = np.cumsum(real[s]) - 1
        values[:, s, started] = field_rows(cols)[:, own[started]]
    first = tuple(int(np.argmax(m)) if m.any() else n for m in real)
    return BarData(
        symbols=symbols,
        timestamps=_readonly(np.ascontiguousarray(union, dtype=np.int64)),  # type: ignore[arg-type]
        values=_readonly(values),  # type: ignore[arg-type]
        real=_readonly(real),  # type: ignore[arg-type]
        first=first,
        time_format=time_format,
        sources=tuple(sources),
    )
