"""Results derived after the fold, vectorised: equity curve, fills and statistics.

The run records events; the per-bar equity curve is computed from the fills and the price columns
afterwards, with the same arithmetic in the same order as the portfolio reducer, so it equals what
the reducer says at every bar bit for bit (a property test holds this).

Book semantics: the row for bar ``i`` is taken when bar ``i``'s MARKET event is handled, *before*
that bar's fills: positions and cash include fills of earlier bars only; holdings are those
positions marked at bar ``i``'s ``adj_close``. The state after the last bar's fills closes the
curve for the statistics (the seed's trailing row, here labelled as the end state) and gives the
final equity.

Realistic semantics (``next-open``, ``next-close``): the row for bar ``i`` is the state at the end
of bar ``i`` — *after* the fills the broker made on bar ``i`` (orders of earlier bars), marked at
bar ``i``'s ``adj_close``. Orders sent on bar ``i`` fill on a later bar, so nothing happens after
the row: the last row is the final state and the statistics use the curve as it is.

Contract multipliers (``Config.instruments``): a fill's cash flow is ``sign * price * quantity *
multiplier + commission`` and a holding ``position * adj_close * multiplier``, multiplied in that
order, as the reducers do; with every multiplier 1 the product is left out, as before.

The accounting (average cost, realised and unrealised P&L per symbol, round trips) is derived from
the fills by :mod:`fbt.results.accounting` and laid on the same rows.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.events import Direction, FillEvent
from fbt.core.market import FIELDS
from fbt.kernel.loop import Run
from fbt.models.fill import Execution
from fbt.results.accounting import Ledger, Trades, account
from fbt.results.stats import drawdown_curve

__all__ = ["Accounts", "Carry", "Curve", "FillTable", "Ledgers", "account_columns", "account_names", "accounts",
           "derive", "fill_table", "ledgers"]

FloatArray = npt.NDArray[np.float64]
_ADJ = FIELDS.index("adj_close")

@attrs.frozen(eq=False, kw_only=True)
class FillTable:
    """The run's fills as columns, in the order they happened."""

    bar: npt.NDArray[np.int64]
    symbol: npt.NDArray[np.int64]  # index into data.symbols
    sign: FloatArray  # +1 buy, -1 sell
    quantity: FloatArray
    price: FloatArray
    commission: FloatArray
    order_id: npt.NDArray[np.int64] = attrs.field(factory=lambda: np.zeros(0, dtype=np.int64))
    slippage: FloatArray = attrs.field(factory=lambda: np.zeros(0))


@attrs.frozen(eq=False, kw_only=True)
class Curve:
    """The per-bar equity curve (one entry per aligned bar) and the final state after all fills."""

    positions: FloatArray  # (n_symbols, n_bars)
    holdings: FloatArray  # (n_symbols, n_bars)
    cash: FloatArray
    commission: FloatArray
    total: FloatArray
    returns: FloatArray
    equity_curve: FloatArray
    drawdown: FloatArray
    final_positions: FloatArray
    final_cash: float
    final_commission: float
    final_equity: float


def fill_table(run: Run) -> FillTable:
    """Collect the fills of a run as columns."""
    index = {s: k for k, s in enumerate(run.data.symbols)}
    events = run.events
    at = [k for k, cls in enumerate(map(type, events)) if cls is FillEvent]
    fills: list[FillEvent] = [events[k] for k in at]  # type: ignore[misc]
    def column(name: str, dtype: type) -> npt.NDArray[Any]:
        return np.fromiter(map(operator.attrgetter(name), fills), dtype=dtype, count=len(fills))

    directions = np.fromiter(map(operator.attrgetter("direction"), fills), dtype=object, count=len(fills))
    return FillTable(
        bar=run.event_bars[np.asarray(at, dtype=np.int64)],
        symbol=np.fromiter(map(index.__getitem__, map(operator.attrgetter("symbol"), fills)), dtype=np.int64,
                           count=len(fills)),
        sign=np.where(directions == Direction.BUY, 1.0, -1.0) if fills else np.zeros(0),
        quantity=column("quantity", np.float64),
        price=column("price", np.float64),
        commission=column("commission", np.float64),
        order_id=column("order_id", np.int64),
        slippage=column("slippage", np.float64),
    )


def _side(run: Run) -> Literal["left", "right"]:
    """Which fills an equity row includes: earlier bars' (book) or its own bar's too (realistic)."""
    return "left" if run.config.execution is Execution.BOOK else "right"


@attrs.frozen(kw_only=True)
class Carry:
    """Where a curve starts: the state after the bars before it (a run derived in pieces, :mod:`fbt.stream`).

    ``cash``, ``commission`` and ``positions`` after the earlier bars' fills; ``total`` the earlier
    row's total (the capital at the start), ``curve`` its ``equity_curve`` (1.0 at the start) and
    ``peak`` the curve's high-water mark so far (0.0 at the start).
    """

    cash: float
    commission: float
    positions: tuple[float, ...]
    total: float
    curve: float = 1.0
    peak: float = 0.0

    @classmethod
    def start(cls, capital: float, n_symbols: int) -> Carry:
        """The state before the first bar: the capital in cash, flat.

        >>> Carry.start(100.0, 1)
        Carry(cash=100.0, commission=0.0, positions=(0.0,), total=100.0, curve=1.0, peak=0.0)
        """
        return cls(cash=capital, commission=0.0, positions=(0.0,) * n_symbols, total=capital)

    def after(self, curve: Curve) -> Carry:
        """The state after a piece's curve (the next piece starts from it)."""
        if not curve.total.size:
            return self
        return Carry(cash=curve.final_cash, commission=curve.final_commission,
                     positions=tuple(curve.final_positions.tolist()), total=float(curve.total[-1]),
                     curve=float(curve.equity_curve[-1]),
                     peak=float(np.maximum.reduce(np.maximum(np.concatenate(([self.peak], curve.equity_curve)), 0.0))))


def _fills_before(bar: npt.NDArray[np.int64], n: int, side: Literal["left", "right"]) -> npt.NDArray[np.int64]:
    """For every bar ``i < n``: how many fills (bars in ascending order) come before it (``left``: at
    earlier bars; ``right``: at bars up to ``i``); ``np.searchsorted(bar, arange(n), side)``, in O(n)."""
    upto = np.cumsum(np.bincount(bar, minlength=n)[:n])
    if side == "right":
        return upto
    return np.concatenate((np.zeros(1, dtype=upto.dtype), upto[:-1])) if n else upto


def derive(run: Run, fills: FillTable | None = None, *, carry: Carry | None = None) -> Curve:
    """Compute the equity curve of a run from its fills and the ``adj_close`` columns.

    With ``carry`` the curve continues from that state (the fills and bars are then a later piece of
    one run): every value equals the whole run's, bit for bit, because each is an element-wise
    operation or a running sum, product or maximum in bar order.
    """
    f = fills if fills is not None else fill_table(run)
    data, capital = run.data, run.config.capital
    start = carry if carry is not None else Carry.start(capital, len(data.symbols))
    n, n_sym = len(data), len(data.symbols)
    multipliers = run.context.multipliers
    # cash and commission after each fill, accumulated in fill order exactly as the reducer does
    if multipliers is None:
        flows = f.sign * f.price * f.quantity + f.commission
    else:
        flows = f.sign * f.price * f.quantity * np.asarray(multipliers)[f.symbol] + f.commission
    cash_after = np.subtract.accumulate(np.concatenate(([start.cash], flows)))
    commission_after = np.add.accumulate(np.concatenate(([start.commission], f.commission)))
    side = _side(run)
    before = _fills_before(f.bar, n, side)  # book: fills of earlier bars; realistic: up to this bar
    cash = cash_after[before]
    commission = commission_after[before]
    positions = np.zeros((n_sym, n))
    final_positions = np.zeros(n_sym)
    for s in range(n_sym):
        mine = f.symbol == s
        held_after = np.add.accumulate(np.concatenate(([start.positions[s]], f.sign[mine] * f.quantity[mine])))
        positions[s] = held_after[_fills_before(f.bar[mine], n, side) if n_sym > 1 else before]
        final_positions[s] = held_after[-1]
    prices = data.values[_ADJ]
    with np.errstate(invalid="ignore"):
        value = positions * prices if multipliers is None else positions * prices * np.asarray(multipliers)[:, None]
        holdings = np.where(positions == 0.0, 0.0, value)
    total = cash.copy()
    for s in range(n_sym):
        total += holdings[s]
    final_equity = float(cash_after[-1])
    if n:
        for s in range(n_sym):
            q = float(final_positions[s])
            held = 0.0 if q == 0.0 else q * float(prices[s, n - 1])
            final_equity = final_equity + (held if multipliers is None or q == 0.0 else held * multipliers[s])
    previous = np.concatenate(([start.total], total[:-1]))
    # an equity of exactly 0 before a bar makes its return inf or nan, as the book's pct_change does
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = total / previous - 1.0
        if carry is None:
            equity_curve = np.cumprod(1.0 + returns, dtype=np.float64)
            drawdown = drawdown_curve(equity_curve)
        else:  # the same running product and high-water mark, continued
            equity_curve = np.cumprod(np.concatenate(([start.curve], 1.0 + returns)), dtype=np.float64)[1:]
            drawdown = drawdown_curve(equity_curve, peak=start.peak)
    return Curve(
        positions=positions,
        holdings=holdings,
        cash=cash,
        commission=commission,
        total=total,
        returns=returns,
        equity_curve=equity_curve,
        drawdown=drawdown,
        final_positions=final_positions,
        final_cash=float(cash_after[-1]),
        final_commission=float(commission_after[-1]),
        final_equity=final_equity,
    )


@attrs.frozen(eq=False, kw_only=True)
class Accounts:
    """The per-fill ledger and the closed round trips of a run (see :mod:`fbt.results.accounting`)."""

    ledger: Ledger
    trades: Trades


@attrs.frozen(eq=False, kw_only=True)
class Ledgers:
    """Per-symbol accounting on the equity rows: ``(n_symbols, n_bars)`` arrays.

    ``average_cost``, ``realised`` (cumulative, gross) and ``unrealised``, on the same rows as
    :class:`Curve` (book: before the bar's fills; realistic: after them).
    """

    average_cost: FloatArray
    realised: FloatArray
    unrealised: FloatArray


def accounts(run: Run, fills: FillTable, curve: Curve | None = None) -> Accounts:
    """Derive the ledger and the round trips of a run from its fills (see :mod:`fbt.results.accounting`)."""
    ledger, trades = account(bar=fills.bar, symbol=fills.symbol, sign=fills.sign, quantity=fills.quantity,
                             price=fills.price, commission=fills.commission, n_symbols=len(run.data.symbols),
                             multipliers=run.context.multipliers)
    return Accounts(ledger=ledger, trades=trades)


def ledgers(run: Run, fills: FillTable, curve: Curve, books: Accounts) -> Ledgers:
    """Lay the ledger on the equity rows: average cost, realised and unrealised P&L per symbol and bar.

    Vectorised: each symbol's per-fill values picked at every row by its count of fills before the row.
    """
    data = run.data
    n, n_sym = len(data), len(data.symbols)
    side = _side(run)
    average_cost = np.zeros((n_sym, n))
    realised = np.zeros((n_sym, n))
    for s in range(n_sym):
        mine = fills.symbol == s
        at = _fills_before(fills.bar[mine], n, side)
        average_cost[s] = np.concatenate(([0.0], books.ledger.average_cost[mine]))[at]
        realised[s] = np.concatenate(([0.0], np.cumsum(books.ledger.realised[mine])))[at]
    multipliers = run.context.multipliers
    with np.errstate(invalid="ignore"):
        unrealised = np.where(curve.positions == 0.0, 0.0, curve.positions * (data.values[_ADJ] - average_cost))
        if multipliers is not None:
            unrealised = unrealised * np.asarray(multipliers)[:, None]
    return Ledgers(average_cost=average_cost, realised=realised, unrealised=unrealised)


def account_columns(curve: Curve, margins: Sequence[float | None] | None) -> list[tuple[str, FloatArray]]:
    """equity.csv's columns after the holdings: ``cash``, ``commission``, ``total``, ``returns``, ...

    With per-contract margins (``Context.margins``) the cash is the broker's, as backtrader and a
    futures broker report it: ``total - margin`` with ``margin = sum(|position| * margin)`` held
    over the margined symbols, and a ``margin`` column follows it (``total = cash + margin``); the
    holdings stay the contracts' notional value.

    >>> import numpy as np
    >>> c = Curve(positions=np.array([[0.0, 2.0]]), holdings=np.array([[0.0, 80_000.0]]),
    ...           cash=np.array([10_000.0, -70_000.0]), commission=np.zeros(2), total=np.array([10_000.0, 10_000.0]),
    ...           returns=np.zeros(2), equity_curve=np.ones(2), drawdown=np.zeros(2), final_positions=np.array([2.0]),
    ...           final_cash=-70_000.0, final_commission=0.0, final_equity=10_000.0)
    >>> [(name, values.tolist()) for name, values in account_columns(c, (1_000.0,))][:2]
    [('cash', [10000.0, 8000.0]), ('margin', [0.0, 2000.0])]
    """
    tail = [curve.commission, curve.total, curve.returns, curve.equity_curve, curve.drawdown]
    if margins is None:
        return list(zip(account_names(margined=False), [curve.cash, *tail], strict=True))
    held = np.zeros_like(curve.total)
    for s, m in enumerate(margins):
        if m is not None:
            held = held + np.abs(curve.positions[s]) * m
    return list(zip(account_names(margined=True), [curve.total - held, held, *tail], strict=True))


def account_names(*, margined: bool) -> tuple[str, ...]:
    """The names of :func:`account_columns`, with or without per-contract margins.

    >>> account_names(margined=True)[:3]
    ('cash', 'margin', 'commission')
    """
    tail = ("commission", "total", "returns", "equity_curve", "drawdown")
    return ("cash", "margin", *tail) if margined else ("cash", *tail)
