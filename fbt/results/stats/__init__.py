"""Performance statistics: pure functions of the equity curve, the returns and the trades.

The seed's four — :func:`sharpe_ratio` and :func:`drawdowns` (max drawdown and its duration in
bars) with total return — keep the book's definitions exactly. The rest follow common practice,
each with its formula in its docstring:

- of the per-bar returns ``r``: :func:`annualised_volatility`, :func:`sharpe_ratio` and
  :func:`sortino_ratio` (both with a yearly risk-free rate, default 0 as the seed);
- of the equity curve: :func:`cagr`, :func:`drawdown_fraction` (drop below the running peak as a
  fraction of that peak), :func:`calmar_ratio`, :func:`drawdown_duration_time`;
- of the positions and fills: :func:`exposure`, :func:`turnover`;
- of the net P&L of closed round trips (``fbt.results.accounting``): :func:`win_rate`,
  :func:`average_win`, :func:`average_loss`, :func:`profit_factor`, :func:`expectancy`,
  :func:`best_trade`, :func:`worst_trade`.

Annualisation multiplies by ``periods`` (bars per year) or its square root; :func:`detect_frequency`
finds it from the median spacing of the bars. A statistic that is undefined (no returns, no
losing trade, ...) is NaN here and ``null`` in ``stats.json``.

>>> import numpy as np
>>> round(sharpe_ratio(np.array([0.01, -0.01, 0.02]), periods=252), 4)
8.4853
>>> drawdowns(np.array([1.0, 1.1, 1.0, 1.05, 1.2]))[1:]
(0.10000000000000009, 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from fbt.core.units import NS_PER_SECOND, SECONDS_PER_DAY
from fbt.results.stats.drawdown import (
    calmar_ratio,
    drawdown_curve,
    drawdown_duration_time,
    drawdown_fraction,
    drawdowns,
)
from fbt.results.stats.frequency import Frequency, detect_frequency, resolve_periods
from fbt.results.stats.returns import (
    DAYS_PER_YEAR,
    TRADING_DAYS,
    TRADING_HOURS,
    annualised_volatility,
    cagr,
    sharpe_ratio,
    sortino_ratio,
    years_between,
)
from fbt.results.stats.table import STAT_KEYS, stat_table
from fbt.results.stats.trade import (
    average_loss,
    average_win,
    best_trade,
    expectancy,
    exposure,
    profit_factor,
    turnover,
    win_rate,
    worst_trade,
)

if TYPE_CHECKING:  # pragma: no cover
    from fbt.kernel.loop import Run
    from fbt.results.accounting import Trades
    from fbt.results.curve import Curve, FillTable

__all__ = [
    "DAYS_PER_YEAR",
    "STAT_KEYS",
    "TRADING_DAYS",
    "TRADING_HOURS",
    "Frequency",
    "annualised_volatility",
    "average_loss",
    "average_win",
    "best_trade",
    "cagr",
    "calmar_ratio",
    "detect_frequency",
    "drawdown_curve",
    "drawdown_duration_time",
    "drawdown_fraction",
    "drawdowns",
    "expectancy",
    "exposure",
    "profit_factor",
    "resolve_periods",
    "run_statistics",
    "sharpe_ratio",
    "sortino_ratio",
    "stat_table",
    "turnover",
    "win_rate",
    "worst_trade",
    "years_between",
]


# --------------------------------------------------------------------------------------------------
# A run's statistics


def run_statistics(
    run: Run,
    curve: Curve,
    fills: FillTable,
    *,
    trades: Trades | None = None,
    risk_free: float = 0.0,
) -> dict[str, Any]:
    """Return an in-memory run's statistics (the dict of :func:`~fbt.results.stats.table.stat_table`).

    The book's figures keep the book's definitions: in book mode the per-bar curve is closed by the
    final state (after the last bar's fills) before the Sharpe ratio and drawdowns are taken, as the
    seed's curve ends with that state; realistic modes' curves already end with it. With a non-zero
    ``risk_free`` the Sharpe ratio is taken over the excess returns. Beyond the book's figures:
    ``rejected`` and ``cancelled`` orders, ``working`` (still at the broker at the end),
    ``slippage`` (its total cost), closed round ``trades`` and their ``win_rate`` (share with a
    positive net P&L), then ``frequency``, ``risk_free``, ``cagr``, ``annual_volatility``,
    ``sortino_ratio``, ``calmar_ratio``, ``max_drawdown_from_peak``, ``drawdown_duration_days``,
    ``exposure``, ``turnover``, ``average_win``, ``average_loss``, ``profit_factor``,
    ``expectancy``, ``best_trade``, ``worst_trade`` (trade figures net of commission).
    """
    from fbt.core.events import FillEvent
    from fbt.models.fill import Execution
    from fbt.results.accounting import account

    data, config = run.data, run.config
    capital, periods = config.capital, config.periods
    ts = np.asarray(data.timestamps, dtype=np.int64)
    total = np.asarray(curve.total, dtype=np.float64)
    if config.execution is Execution.BOOK:
        last_total = float(total[-1]) if total.size else capital
        closing_return = curve.final_equity / last_total - 1.0
        returns = np.concatenate((curve.returns, [closing_return]))
        last_curve = float(curve.equity_curve[-1]) if curve.equity_curve.size else 1.0
        closed = np.concatenate((curve.equity_curve, [last_curve * (1.0 + closing_return)]))
        equity = np.concatenate(([capital], total, [curve.final_equity]))
        times = np.concatenate((ts[:1], ts, ts[-1:])) if ts.size else np.zeros(2, dtype=np.int64)
    else:
        returns, closed = np.asarray(curve.returns, dtype=np.float64), curve.equity_curve
        equity = np.concatenate(([capital], total))
        times = np.concatenate((ts[:1], ts)) if ts.size else np.zeros(1, dtype=np.int64)
    _, max_drawdown, duration = drawdowns(closed)
    counts: dict[str, int] = {}
    for e in run.events:
        name = e.__class__.__name__
        counts[name] = counts.get(name, 0) + 1
    slippage = 0.0
    multipliers = run.context.multipliers
    index = run.context.symbol_index
    if config.slippage is not None or run.context.ticks is not None:  # else no fill has any slippage
        for e in run.events:
            if e.__class__ is FillEvent and e.slippage:  # type: ignore[union-attr,unused-ignore]
                cost = e.slippage * e.quantity  # type: ignore[union-attr,unused-ignore]
                slippage += cost if multipliers is None else cost * multipliers[index[e.symbol]]  # type: ignore[union-attr,unused-ignore]
    years = years_between(int(times[0]), int(times[-1]))
    if trades is None:
        _, trades = account(bar=fills.bar, symbol=fills.symbol, sign=fills.sign, quantity=fills.quantity,
                            price=fills.price, commission=fills.commission, n_symbols=len(data.symbols))
    net = trades.pnl - trades.commission
    fraction = drawdown_fraction(equity)
    return stat_table(
        counts=counts,
        frequency=detect_frequency(ts).name,
        total_return=curve.final_equity / capital - 1.0,
        sharpe_ratio=sharpe_ratio(returns, periods=periods, risk_free=risk_free) if risk_free
        else sharpe_ratio(returns, periods=periods),
        max_drawdown=max_drawdown,
        drawdown_duration=duration,
        final_equity=curve.final_equity,
        initial_capital=capital,
        commission=curve.final_commission,
        periods=periods,
        bars=run.n_bars,
        working=len(run.final.broker.pending),
        slippage=slippage,
        trades=len(trades),
        win_rate=float(np.mean(net > 0)) if len(trades) else None,
        risk_free=float(risk_free),
        cagr=cagr(equity, years=years),
        annual_volatility=annualised_volatility(returns, periods=periods),
        sortino_ratio=sortino_ratio(returns, periods=periods, risk_free=risk_free),
        calmar_ratio=calmar_ratio(equity, years=years, fraction=fraction),
        max_drawdown_from_peak=float(np.nanmax(fraction)) if fraction.size else 0.0,
        drawdown_duration_days=drawdown_duration_time(equity, times) / (SECONDS_PER_DAY * NS_PER_SECOND),
        exposure=exposure(curve.positions),
        turnover=turnover(fills.quantity * fills.price if multipliers is None
                          else fills.quantity * fills.price * np.asarray(multipliers)[fills.symbol], total),
        average_win=average_win(net),
        average_loss=average_loss(net),
        profit_factor=profit_factor(net),
        expectancy=expectancy(net),
        best_trade=best_trade(net),
        worst_trade=worst_trade(net),
    )
