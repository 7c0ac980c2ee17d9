"""Accounting derived from the fills: average cost, realised and unrealised P&L, round-trip trades.

Average-cost method, per symbol, one fill at a time (:func:`book_fill`):

- a fill that opens or adds to a position moves the average cost to the quantity-weighted mean
  ``(|position| * average_cost + quantity * price) / |position + sign * quantity|`` and realises
  nothing;
- a fill against the position realises ``closed * (price - average_cost) * side`` on the
  ``closed = min(quantity, |position|)`` units it closes (``side`` +1 long, -1 short); the rest of
  the position keeps its average cost; a fill that reverses the position opens the new side at the
  fill price.

Unrealised P&L at a bar is ``position * (adj_close - average_cost)``. With a contract multiplier
(futures) realised and unrealised P&L are in currency, ``* multiplier``; prices and average costs
stay per unit. With ``C`` the commission
paid, ``R`` realised and ``U`` unrealised P&L summed over the symbols, every equity row satisfies
``total = capital + R + U - C`` (up to rounding; a property test holds it).

A round trip runs from flat to flat (a reversal closes one and opens the next); its entry and exit
prices are quantity-weighted means of the fills that opened and closed it, its P&L the realised P&L
of those fills, and its commission theirs (a reversing fill's commission is split by quantity).

Pure numpy and a loop over the fills, after the fold; nothing here is on the per-bar path. (The
loop in :func:`account` inlines :func:`book_fill` for speed; a property test holds the two equal.)

>>> book_fill(100.0, 10.0, -1, 40.0, 12.0)
(60.0, 10.0, 80.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["Books", "Ledger", "Trades", "account", "account_from", "book_fill"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def book_fill(
    position: float, average_cost: float, sign: int, quantity: float, price: float, multiplier: float = 1.0
) -> tuple[float, float, float]:
    """Return ``(position, average_cost, realised)`` after one fill (formulas in the module doc).

    ``realised`` is in currency: ``closed * (price - average_cost) * side * multiplier``.

    >>> book_fill(0.0, 0.0, 1, 100.0, 10.0)
    (100.0, 10.0, 0.0)
    >>> book_fill(100.0, 10.0, 1, 100.0, 12.0)
    (200.0, 11.0, 0.0)
    >>> book_fill(-50.0, 20.0, 1, 80.0, 18.0)   # covers 50 at a 100 profit, then long 30 at 18
    (30.0, 18.0, 100.0)
    >>> book_fill(2.0, 4500.0, -1, 2.0, 4510.0, 50.0)   # two ES contracts, 10 points: 2 * 10 * 50
    (0.0, 0.0, 1000.0)
    """
    after = position + sign * quantity
    if position == 0:
        return after, price, 0.0
    if (position > 0) == (sign > 0):
        return after, (abs(position) * average_cost + quantity * price) / abs(after), 0.0
    closed = min(quantity, abs(position))
    realised = closed * (price - average_cost) * (1.0 if position > 0 else -1.0)
    if multiplier != 1.0:
        realised = realised * multiplier
    if after == 0:
        return 0.0, 0.0, realised
    if (after > 0) == (position > 0):
        return after, average_cost, realised
    return after, price, realised


@attrs.frozen(eq=False, kw_only=True)
class Ledger:
    """Per fill, in fill order: its symbol's position and average cost after it, and what it realised."""

    position: FloatArray
    average_cost: FloatArray
    realised: FloatArray


@attrs.frozen(eq=False, kw_only=True)
class Trades:
    """Closed round trips, in the order they closed.

    ``quantity`` is the units entered, signed: positive for a long trade, negative for a short.
    ``pnl`` is gross (before commission); the commission of the trade's fills is apart.
    """

    symbol: IntArray
    entry_bar: IntArray
    exit_bar: IntArray
    quantity: FloatArray
    entry_price: FloatArray
    exit_price: FloatArray
    pnl: FloatArray
    commission: FloatArray

    def __len__(self) -> int:
        return int(self.symbol.shape[0])


@attrs.frozen(eq=False, kw_only=True)
class Books:
    """The accounting state between fills: per symbol the position, its average cost and its open trade.

    An open trade is ``(entry bar, side, entered, entered value, exited, exited value, pnl,
    commission)``, or ``()`` while flat. :func:`account` starts from :meth:`empty` books; a run read
    in pieces (:mod:`fbt.stream`) carries the books of one piece into the next.
    """

    position: tuple[float, ...]
    average_cost: tuple[float, ...]
    open_trades: tuple[tuple[float, ...], ...]

    @classmethod
    def empty(cls, n_symbols: int) -> Books:
        """Flat books: no position, no open trade.

        >>> Books.empty(2).position
        (0.0, 0.0)
        """
        return cls(position=(0.0,) * n_symbols, average_cost=(0.0,) * n_symbols, open_trades=((),) * n_symbols)


def account(
    *,
    bar: IntArray,
    symbol: IntArray,
    sign: FloatArray,
    quantity: FloatArray,
    price: FloatArray,
    commission: FloatArray,
    n_symbols: int,
    multipliers: Sequence[float] | None = None,
) -> tuple[Ledger, Trades]:
    """Return the ledger of a run's fills and its closed round trips (fills as columns, in fill order).

    ``multipliers`` (per symbol, None for all 1) turn realised P&L into currency (module doc).

    >>> import numpy as np
    >>> ledger, trades = account(bar=np.array([1, 3]), symbol=np.array([0, 0]), sign=np.array([1.0, -1.0]),
    ...                          quantity=np.array([10.0, 10.0]), price=np.array([5.0, 6.0]),
    ...                          commission=np.array([1.0, 1.0]), n_symbols=1)
    >>> ledger.realised.tolist(), trades.pnl.tolist(), trades.commission.tolist(), trades.exit_bar.tolist()
    ([0.0, 10.0], [10.0], [2.0], [3])
    """
    if multipliers is None:
        quick = _open_close(bar=bar, symbol=symbol, sign=sign, quantity=quantity, price=price,
                            commission=commission, n_symbols=n_symbols)
        if quick is not None:
            return quick
    ledger, trades, _ = account_from(Books.empty(n_symbols), bar=bar, symbol=symbol, sign=sign, quantity=quantity,
                                     price=price, commission=commission, multipliers=multipliers)
    return ledger, trades


def _open_close(
    *, bar: IntArray, symbol: IntArray, sign: FloatArray, quantity: FloatArray, price: FloatArray,
    commission: FloatArray, n_symbols: int,
) -> tuple[Ledger, Trades] | None:
    """:func:`account` vectorised for the common case, or None: every fill opens a position from flat
    or closes it to flat in full (the book's crossover, any strategy trading one size in and out).

    The same arithmetic as the loop in :func:`account_from`, element by element in the same order
    (a property test holds the two equal bit for bit): an opening fill's average cost is its price;
    a closing one realises ``quantity * (price - entry price) * side``; a trade's P&L, exit value and
    exited quantity start from 0.0 as the loop's running sums do.
    """
    n = int(bar.shape[0])
    if not n:
        return None
    flow = sign * quantity
    before = np.zeros(n)
    after = np.zeros(n)
    opens = np.zeros(n, dtype=bool)
    entry = np.zeros(n, dtype=np.int64)  # for a closing fill: the fill that opened its trade
    for s in range(n_symbols):
        mine = np.flatnonzero(symbol == s)
        if not mine.size:
            continue
        held_after = np.add.accumulate(np.concatenate(([0.0], flow[mine])))  # the loop's running position
        opening = held_after[:-1] == 0.0
        if (held_after[1:][~opening] != 0.0).any():
            return None  # an add, a partial close or a reversal: the loop handles it
        # (an opening fill never ends flat: its quantity is positive; so opens and closes alternate)
        before[mine], after[mine], opens[mine] = held_after[:-1], held_after[1:], opening
        shut = np.flatnonzero(~opening)
        entry[mine[shut]] = mine[shut - 1]
    close_at = np.flatnonzero(~opens)
    entry_of = entry[close_at]
    cost = np.where(opens, price, 0.0)
    entry_price = price[entry_of]
    side = np.where(before[close_at] > 0, 1.0, -1.0)
    closed = -before[close_at] * sign[close_at]  # min(q, |held|): |held|, which is exactly q on a full close
    realised_close = closed * (price[close_at] - entry_price) * side
    realised = np.zeros(n)
    realised[close_at] = realised_close
    entered = quantity[entry_of]
    trades = Trades(
        symbol=symbol[close_at].astype(np.int64),
        entry_bar=bar[entry_of].astype(np.int64),
        exit_bar=bar[close_at].astype(np.int64),
        quantity=sign[entry_of] * entered,
        entry_price=(entered * entry_price) / entered,
        exit_price=(0.0 + closed * price[close_at]) / (0.0 + closed),
        pnl=0.0 + realised_close,
        commission=commission[entry_of] + commission[close_at],  # a full close: all of its commission
    )
    return Ledger(position=after, average_cost=cost, realised=realised), trades


def account_from(
    books: Books,
    *,
    bar: IntArray,
    symbol: IntArray,
    sign: FloatArray,
    quantity: FloatArray,
    price: FloatArray,
    commission: FloatArray,
    multipliers: Sequence[float] | None = None,
) -> tuple[Ledger, Trades, Books]:
    """Continue :func:`account` from ``books``: the ledger and the trades closed by these fills, and the books after.

    Accounting a run's fills in pieces, each from the books of the one before, gives the ledger and
    the trades of accounting them at once, bit for bit.

    >>> import numpy as np
    >>> one = dict(symbol=np.array([0]), quantity=np.array([10.0]), commission=np.array([1.0]))
    >>> _, trades, books = account_from(Books.empty(1), bar=np.array([1]), sign=np.array([1.0]),
    ...                                 price=np.array([5.0]), **one)
    >>> len(trades), books.position
    (0, (10.0,))
    >>> _, trades, books = account_from(books, bar=np.array([3]), sign=np.array([-1.0]), price=np.array([6.0]), **one)
    >>> trades.pnl.tolist(), trades.entry_bar.tolist(), books.open_trades
    ([10.0], [1], ((),))
    """
    n = int(bar.shape[0])
    position = list(books.position)
    cost = list(books.average_cost)
    out_position = [0.0] * n
    out_cost = [0.0] * n
    out_realised = [0.0] * n
    # the open trade per symbol: [entry bar, side, entered, entered value, exited, exited value, pnl, commission]
    open_trade: list[list[float]] = [list(t) for t in books.open_trades]
    rows: list[tuple[int, int, int, float, float, float, float, float]] = []
    bars, symbols = bar.tolist(), symbol.tolist()
    signs, quantities, prices, commissions = sign.tolist(), quantity.tolist(), price.tolist(), commission.tolist()
    for k in range(n):
        s, b, sg, q, p, c = symbols[k], bars[k], signs[k], quantities[k], prices[k], commissions[k]
        held = position[s]
        after = held + sg * q
        position[s] = out_position[k] = after
        if held == 0:  # book_fill's rules, inlined: a new position at the fill price
            cost[s] = out_cost[k] = p
            open_trade[s] = [b, sg, q, q * p, 0.0, 0.0, 0.0, c]
            continue
        trade = open_trade[s]
        if (held > 0) == (sg > 0):  # adding: the quantity-weighted mean cost
            cost[s] = out_cost[k] = (abs(held) * cost[s] + q * p) / abs(after)
            trade[2] += q
            trade[3] += q * p
            trade[7] += c
            continue
        closed = q if q < -held * sg else -held * sg  # min(q, |held|)
        realised = closed * (p - cost[s]) * (1.0 if held > 0 else -1.0)
        if multipliers is not None and multipliers[s] != 1.0:
            realised = realised * multipliers[s]
        out_realised[k] = realised
        if after == 0:
            cost[s] = 0.0
        elif (after > 0) != (held > 0):
            cost[s] = p
        out_cost[k] = cost[s]
        trade[4] += closed
        trade[5] += closed * p
        trade[6] += realised
        trade[7] += c if closed == q else c * closed / q
        if after == 0 or (after > 0) != (held > 0):
            rows.append((s, int(trade[0]), b, trade[1] * trade[2], trade[3] / trade[2], trade[5] / trade[4],
                         trade[6], trade[7]))
            if after != 0:
                rest = q - closed
                open_trade[s] = [b, sg, rest, rest * p, 0.0, 0.0, 0.0, c * rest / q]
    out_position_a = np.array(out_position, dtype=np.float64)
    out_cost_a = np.array(out_cost, dtype=np.float64)
    out_realised_a = np.array(out_realised, dtype=np.float64)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    trades = Trades(
        symbol=np.array(columns[0], dtype=np.int64),
        entry_bar=np.array(columns[1], dtype=np.int64),
        exit_bar=np.array(columns[2], dtype=np.int64),
        quantity=np.array(columns[3], dtype=np.float64),
        entry_price=np.array(columns[4], dtype=np.float64),
        exit_price=np.array(columns[5], dtype=np.float64),
        pnl=np.array(columns[6], dtype=np.float64),
        commission=np.array(columns[7], dtype=np.float64),
    )
    after = Books(position=tuple(position), average_cost=tuple(cost),
                  open_trades=tuple(tuple(t) if position[k] != 0 else () for k, t in enumerate(open_trade)))
    return Ledger(position=out_position_a, average_cost=out_cost_a, realised=out_realised_a), trades, after
