"""Value and row validation: the checks on parsed bars, and their messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from fbt.core.units import NS_PER_DAY
from fbt.io.column import _AMOUNTS, _HUMAN, _MAX_SHOWN, _PRICES
from fbt.io.symbol_bars import BoolArray, FloatArray, IntArray, SymbolBars
from fbt.io.value import _Stamps

# --------------------------------------------------------------------------------------------------
# Checks and messages


@attrs.frozen(eq=False)
class _Finding:
    key: str  # "date", "time" or an fbt field
    rows: IntArray  # positions of the bad rows, increasing
    say: Callable[[int], str]  # "expected X, got Y" for one row
    order: int  # column position, to order problems of one row
    name: str  # column name to show


def _check(
    stamps: _Stamps,
    values: Mapping[str, FloatArray],
    not_number: Mapping[str, BoolArray],
    got: Callable[[str, int], str],
    display: Mapping[str, tuple[int, str]],
) -> list[_Finding]:
    findings: list[_Finding] = []

    def add(key: str, rows: IntArray, say: Callable[[int], str]) -> None:
        if rows.size:
            order, name = display[key]
            findings.append(_Finding(key, rows, say, order, name))

    expected = stamps.expected
    add("date", np.flatnonzero(stamps.bad_date), lambda p: f"expected {expected}, got {got('date', p)}")
    if "time" in display:
        add(
            "time",
            np.flatnonzero(stamps.bad_time & ~stamps.bad_date),
            lambda p: f"expected a time of day like 09:30:00, got {got('time', p)}",
        )
    good = np.flatnonzero(~(stamps.bad_date | stamps.bad_time))
    ts = stamps.ns[good]
    if ts.size > 1:
        step = np.diff(ts)
        show_time = bool((ts % NS_PER_DAY).any()) or "time" in display

        def label(v: int) -> str:
            stamp = pd.Timestamp(v)
            return str(stamp) if show_time else stamp.strftime("%Y-%m-%d")

        if ts.size > 2 and bool((step < 0).all()):
            add(
                "date",
                good[1:2],
                lambda p: (
                    f"expected a timestamp after the previous row's {label(int(ts[0]))}, "
                    f"got {label(int(ts[1]))}: the rows are in decreasing time order (newest first); "
                    "sort them oldest first"
                ),
            )
        else:
            at = np.flatnonzero(step <= 0)
            before = dict(zip(good[at + 1].tolist(), ts[at].tolist(), strict=True))

            def order_say(p: int) -> str:
                prev, cur = before[p], int(stamps.ns[p])
                what = "again (duplicate timestamp)" if prev == cur else "(rows out of time order)"
                return f"expected a timestamp after the previous row's {label(prev)}, got {label(cur)} {what}"

            add("date", good[at + 1], order_say)

    def text_check(key: str) -> BoolArray:
        bad = not_number.get(key)
        if bad is not None:
            add(key, np.flatnonzero(bad), lambda p: f"expected a number, got {got(key, p)}")
            return bad
        return np.zeros(values[key].shape, dtype=np.bool_)

    valid: dict[str, BoolArray] = {}

    def range_check(key: str, allow_zero: bool, expected: str) -> None:
        v = values[key]
        text_bad = text_check(key)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v) & ((v >= 0) if allow_zero else (v > 0))
        add(key, np.flatnonzero(~ok & ~text_bad), lambda p: f"expected {expected}, got {got(key, p)}")
        valid[key] = ok

    for key in _PRICES:
        if key in values:
            range_check(key, False, "a positive finite price")
    for key in _AMOUNTS:
        if key in values:
            range_check(key, True, "a finite non-negative number")
    if "high" in values and "low" in values:
        below = valid["high"] & valid["low"] & (values["high"] < values["low"])
        low = display["low"][1]
        add(
            "high",
            np.flatnonzero(below),
            lambda p: f"expected at least {low} {got('low', p)}, got {got('high', p)}",
        )
    return findings


def _lines(
    groups: Sequence[tuple[_Finding, Callable[[int], str], Callable[[int], int]]],
    extra: Sequence[tuple[int, str]],
    extra_total: int,
) -> list[str]:
    """Render at most ten problems, the first first; the rest are counted."""
    items: list[tuple[int, int, str]] = [(key, -2, text) for key, text in extra]
    total = extra_total
    for finding, where, sort_key in groups:
        total += int(finding.rows.size)
        for pos in finding.rows[:_MAX_SHOWN].tolist():
            text = f"{where(pos)}: {finding.name}: {finding.say(pos)}"
            items.append((sort_key(pos), finding.order, text))
    items.sort(key=lambda item: (item[0], item[1]))
    shown = [text for _, _, text in items[:_MAX_SHOWN]]
    if total > len(shown):
        shown.append(f"... and {total - len(shown)} more")
    return shown


def _finish(extra: Sequence[tuple[int, str]], total: int) -> list[str]:
    return _lines([], extra, total)


def _message(
    groups: Sequence[tuple[_Finding, Callable[[int], str], Callable[[int], int]]],
    extra: Sequence[tuple[int, str]],
) -> str:
    return "\n".join(_lines(groups, extra, len(extra)))


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.flags.writeable = False
    return array


def _bars(
    stamps: _Stamps, values: Mapping[str, FloatArray], time_column: bool, source: str, *, copy: bool
) -> SymbolBars:
    """Build the record; ``copy=False`` when the arrays are our own (freshly parsed), not a caller's."""
    ns = np.ascontiguousarray(stamps.ns, dtype=np.int64)
    has_time = time_column or bool((ns % NS_PER_DAY).any())
    columns = {
        f: _readonly(np.array(values[f], dtype=np.float64, copy=True if copy else None))
        for f in _HUMAN
        if f in values
    }
    return SymbolBars(_readonly(ns), columns, has_time, source)
