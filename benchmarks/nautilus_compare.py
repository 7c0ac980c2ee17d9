"""The harness's side of the nautilus_trader peer: where its interpreter is, and why its fills differ from fbt's.

nautilus_trader 1.221.0 needs pandas < 3, so it lives in a virtualenv of its own (the
``bench-nautilus`` extra, see ``benchmarks/README.md``) and ``benchmarks/peer_nautilus.py`` runs
there in its own process. This module imports no nautilus: it finds that interpreter, and it
explains the difference between nautilus's fills and fbt's by rebuilding nautilus's from the bars:

- its orders are placed where the book's latch flips when both means are summed left to right
  (:func:`left_to_right_mean`, what its ``SimpleMovingAverage`` does) instead of by ``numpy.mean``;
- each order's first fill is at the bar's close (fbt's price); an order larger than the size its
  L1 book shows after the bar (:func:`shown_size`: a quarter of the volume of the last bar that
  moved the book) fills that size at the close and the rest one cent worse.

:func:`explain` checks both rules fill for fill and says how many fills each accounts for.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-nautilus"
INSTALL = ("in a venv of its own, as nautilus_trader 1.221.0 needs pandas < 3: "
           "python3.11 -m venv .venv-nautilus && .venv-nautilus/bin/pip install -e '.[bench-nautilus]'")
CENT = 0.01

Fill = tuple[int, str, float]


def find_python(given: str | None) -> tuple[str, str] | None:
    """The interpreter that has nautilus_trader and its version, or None after one line saying why.

    Looked for in this order: ``given`` (``--nautilus-python``, or ``FBT_NAUTILUS_PYTHON``), this
    interpreter, then ``.venv-nautilus`` at the repository's root.
    """
    given = given or os.environ.get("FBT_NAUTILUS_PYTHON")
    if given:
        candidates = [given]
    elif importlib.util.find_spec("nautilus_trader") is not None:
        candidates = [sys.executable]
    elif (VENV / "bin" / "python").exists():
        candidates = [str(VENV / "bin" / "python")]
    else:
        print(f"nautilus_trader: not installed; skipped (to include it: {INSTALL})")
        return None
    (python,) = candidates
    try:
        probe = subprocess.run([python, "-c", "import nautilus_trader; print(nautilus_trader.__version__)"],
                               capture_output=True, text=True, check=False)
    except OSError as exc:
        print(f"nautilus_trader: cannot run {python} ({exc.strerror}); skipped")
        return None
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"nautilus_trader: does not import with {python} ({why}); skipped")
        return None
    return python, probe.stdout.strip()


def left_to_right_mean(close: np.ndarray, window: int) -> np.ndarray:
    """The mean of the last ``window`` values, summed left to right from 0.0; of those available while fewer.

    The summation order of nautilus's ``SimpleMovingAverage`` (its ``fast_mean``), bit for bit:
    zeros padded in front change no sum, since ``0.0 + x == x``.

    >>> left_to_right_mean(np.array([1.0, 2.0, 4.0, 8.0]), 2).tolist()
    [1.0, 1.5, 3.0, 6.0]
    >>> float(left_to_right_mean(np.array([0.1, 0.2, 0.3]), 3)[-1]) == (0.1 + 0.2 + 0.3) / 3
    True
    """
    n = close.shape[0]
    padded = np.concatenate([np.zeros(window - 1), close])
    total = np.zeros(n)
    for k in range(window):
        total += padded[k : k + n]
    return total / np.minimum(np.arange(1, n + 1), window)


def latch_orders(short: np.ndarray, long: np.ndarray) -> list[tuple[int, str]]:
    """The book's OUT/IN latch on two mean series: (bar, side) of every order.

    >>> latch_orders(np.array([1.0, 2.0, 2.0, 1.0, 3.0]), np.array([1.0, 1.0, 2.0, 2.0, 2.0]))
    [(1, 'BUY'), (3, 'SELL'), (4, 'BUY')]
    """
    orders, invested = [], False
    for i, (s, lg) in enumerate(zip(short.tolist(), long.tolist(), strict=True)):
        if not invested and s > lg:
            orders.append((i, "BUY"))
            invested = True
        elif invested and s < lg:
            orders.append((i, "SELL"))
            invested = False
    return orders


def shown_size(bars: dict[str, np.ndarray]) -> np.ndarray:
    """The size nautilus's L1 book shows after each bar: a quarter of the volume of the last bar that moved it.

    Its matching engine turns a bar into trade ticks at the open, the high, the low and the close,
    each one only if it moves the last price (open and close: differ from it; high: above it; low:
    below it), every tick sized ``max(volume / 4, 1)`` in whole units (rounded half away from
    zero). A bar whose four prices all equal the last close moves nothing, and the book keeps the
    size of an earlier bar. ``bars`` has ``open``, ``high``, ``low``, ``close`` and ``volume``.

    >>> bars = {"open": np.array([10.0, 10.0, 10.0]), "high": np.array([10.0, 10.0, 10.0]),
    ...         "low": np.array([10.0, 10.0, 9.99]), "close": np.array([10.0, 10.0, 10.0]),
    ...         "volume": np.array([200.0, 4000.0, 142.0])}
    >>> shown_size(bars).tolist()  # bar 1 is flat at the last close: bar 0's size; 142 / 4 = 35.5 -> 36
    [50.0, 50.0, 36.0]
    """
    close = bars["close"]
    last = close[:-1]
    moved = np.ones(close.shape[0], dtype=bool)
    moved[1:] = ~((bars["open"][1:] == last) & (bars["high"][1:] <= last) & (bars["low"][1:] >= last)
                  & (close[1:] == last))
    source = np.maximum.accumulate(np.where(moved, np.arange(close.shape[0]), 0))
    return np.floor(np.maximum(bars["volume"] / 4.0, 1.0) + 0.5)[source]


def expected_fills(orders: Sequence[tuple[int, str]], bars: dict[str, np.ndarray],
                   quantity: float) -> list[tuple[int, str, float, float]]:
    """nautilus's fills of market ``orders``: what the book shows (:func:`shown_size`) at the bar's close, the rest
    one cent worse.

    >>> bars = {"open": np.array([10.0, 10.0]), "high": np.array([10.0, 11.0]), "low": np.array([10.0, 10.0]),
    ...         "close": np.array([10.0, 11.0]), "volume": np.array([1000.0, 200.0])}
    >>> expected_fills([(0, "BUY"), (1, "SELL")], bars, 100)
    [(0, 'BUY', 10.0, 100.0), (1, 'SELL', 11.0, 50.0), (1, 'SELL', 10.99, 50.0)]
    """
    shown, close = shown_size(bars), bars["close"]
    out = []
    for bar, side in orders:
        price, size = float(close[bar]), float(shown[bar])
        if size >= quantity:
            out.append((bar, side, price, float(quantity)))
        else:
            worse = round(price + CENT if side == "BUY" else price - CENT, 2)
            out.append((bar, side, price, size))
            out.append((bar, side, worse, float(quantity - size)))
    return out


def explain(nautilus: Sequence[Sequence[Any]], fbt_fills: Sequence[Fill], bars: dict[str, np.ndarray],
            short: int, long: int, quantity: float) -> tuple[list[str], bool]:
    """Lines that account for every difference between nautilus's fills and fbt's, and whether all were accounted for.

    ``nautilus`` holds (bar, side, price, quantity, commission) rows as ``peer_nautilus.py`` writes them;
    ``bars`` the bars both ran on (see :func:`shown_size`).
    """
    close = bars["close"]
    got = [(int(b), str(s), float(p), float(q)) for b, s, p, q, _ in nautilus]
    per_order = Counter((b, s) for b, s, _, _ in got)
    orders = sorted(per_order)
    ours = {(b, s) for b, s, _ in fbt_fills}
    rebuilt = latch_orders(left_to_right_mean(close, short), left_to_right_mean(close, long))
    want = expected_fills(rebuilt, bars, quantity)
    split = sum(1 for count in per_order.values() if count > 1)
    only_nt, only_fbt = len(set(orders) - ours), len(ours - set(orders))
    at_close = sum(1 for b, _, p, _ in got if p == float(close[b]))
    lines = [
        f"nautilus: {len(got):,} fills of {len(orders):,} orders; fbt: {len(fbt_fills):,} fills, one per order",
        f"  orders on the same (bar, side) as fbt's: {len(set(orders) & ours):,}; only nautilus's: {only_nt:,}; "
        f"only fbt's: {only_fbt:,} (its SMAs sum left to right, fbt's are numpy.mean: on flat stretches of whole-cent "
        "prices the two means tie, and the last bit decides whether the latch flips)",
        f"  fills at the bar's close (fbt's price): {at_close:,}; orders split in two fills: {split:,} (the bar showed "
        f"fewer than {quantity:g} units, a quarter of the volume of the last bar that moved it: the rest filled one "
        "cent worse)",
    ]
    same = got == want
    if same:
        lines.append(f"  the latch on left-to-right means + that fill rule rebuild nautilus's {len(got):,} fills "
                     "exactly")
    else:
        first = next((k for k, (x, y) in enumerate(zip(got, want, strict=False)) if x != y), min(len(got), len(want)))
        lines.append(f"  !!!!!!!! UNEXPLAINED nautilus fills: {len(got):,} vs {len(want):,} rebuilt; first "
                     f"difference at fill #{first}: {got[first] if first < len(got) else None} vs "
                     f"{want[first] if first < len(want) else None}")
    return lines, same
