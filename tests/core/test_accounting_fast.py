"""account()'s vectorised open/close path gives the loop's ledger and trades, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fbt.results.accounting import Books, Ledger, Trades, account, account_from

prices = st.sampled_from([0.01, 1.0, 9.99, 10.0, 99.87, 100.0, 123.45, 0.1 + 0.2, 1e6 / 3])
sizes = st.sampled_from([1.0, 100.0, 0.5, 7.0, 1e-3])
fees = st.sampled_from([0.0, 1.3, 2.6000000000000001, 0.013])


@st.composite
def round_trips(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Fills that open from flat and close to flat, per symbol, interleaved; sometimes broken."""
    n_symbols = draw(st.integers(1, 3))
    held = [0.0] * n_symbols
    rows = []
    bar = 0
    for _ in range(draw(st.integers(0, 30))):
        s = draw(st.integers(0, n_symbols - 1))
        bar += draw(st.integers(0, 3))
        p, c = draw(prices), draw(fees)
        if held[s] == 0.0:
            q, sg = draw(sizes), draw(st.sampled_from([1.0, -1.0]))
        else:
            q, sg = abs(held[s]), (-1.0 if held[s] > 0 else 1.0)
            if draw(st.integers(0, 9)) == 0:  # now and then an add, a partial close or a reversal
                q = draw(st.sampled_from([q / 2, q * 2]))
                sg = draw(st.sampled_from([1.0, -1.0]))
        held[s] = held[s] + sg * q
        rows.append((bar, s, sg, q, p, c))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return {"bar": np.array(cols[0], dtype=np.int64), "symbol": np.array(cols[1], dtype=np.int64),
            "sign": np.array(cols[2], dtype=np.float64), "quantity": np.array(cols[3], dtype=np.float64),
            "price": np.array(cols[4], dtype=np.float64), "commission": np.array(cols[5], dtype=np.float64),
            "n_symbols": n_symbols}  # type: ignore[dict-item]


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes() + str(a.dtype).encode() + str(a.shape).encode()


def _same(a: Ledger | Trades, b: Ledger | Trades) -> bool:
    names = [f for f in ("position", "average_cost", "realised", "symbol", "entry_bar", "exit_bar", "quantity",
                         "entry_price", "exit_price", "pnl", "commission") if hasattr(a, f)]
    return all(_bits(getattr(a, f)) == _bits(getattr(b, f)) for f in names)


@settings(max_examples=300)
@given(fills=round_trips())
def test_the_vectorised_path_equals_the_loop(fills: dict[str, np.ndarray]) -> None:
    n_symbols = int(fills.pop("n_symbols"))  # type: ignore[call-overload]
    ledger, trades = account(**fills, n_symbols=n_symbols)  # type: ignore[arg-type]
    loop_ledger, loop_trades, _ = account_from(Books.empty(n_symbols), **fills)  # type: ignore[arg-type]
    assert _same(ledger, loop_ledger)
    assert _same(trades, loop_trades)


def test_a_hand_computed_round_trip() -> None:
    ledger, trades = account(bar=np.array([2, 5]), symbol=np.array([0, 0]), sign=np.array([1.0, -1.0]),
                             quantity=np.array([100.0, 100.0]), price=np.array([99.87, 99.8]),
                             commission=np.array([1.3, 1.3]), n_symbols=1)
    assert ledger.position.tolist() == [100.0, 0.0]
    assert ledger.average_cost.tolist() == [99.87, 0.0]
    assert trades.pnl.tolist() == [100.0 * (99.8 - 99.87)]
    assert trades.commission.tolist() == [2.6]
    assert (trades.entry_bar.tolist(), trades.exit_bar.tolist()) == ([2], [5])
