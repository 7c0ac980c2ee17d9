"""A run's statistics accumulated chunk by chunk, in memory that does not grow with the run.

Every sum is kept **exactly** (:class:`ExactSum`: a few floats whose exact sum is the exact sum so
far), so the figures do not depend on how the run was cut into chunks. They are the in-memory
run's figures, the same definitions (:mod:`fbt.results.stats`), with two differences in the last bits:

- a mean is the exact sum divided by the count, rounded once; numpy's ``mean`` rounds its pairwise
  sum first, so the two may differ by an ulp or so (relative ~1e-16);
- the population variance is computed exactly from the exact sums of ``r`` and ``r**2`` (each
  square split exactly into two floats), then rounded once; numpy's ``std`` subtracts its rounded
  mean and sums rounded squares. The Sharpe ratio, volatility and Sortino ratio inherit that
  difference (relative ~1e-15).

Everything else — drawdowns and their durations, the high-water marks, counts, extremes, the
commission and slippage totals, the final equity — is the same arithmetic in the same order, bit
for bit. The frequency keeps a count per distinct spacing of the timestamps (a handful on a real
calendar) to take the median exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from itertools import chain
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.events import Event, FillEvent, OrderRejected
from fbt.core.units import NS_PER_SECOND, SECONDS_PER_DAY
from fbt.results.accounting import Trades
from fbt.results.curve import Curve, FillTable
from fbt.results.stats import Frequency, detect_frequency, stat_table, years_between

__all__ = ["ExactSum", "Tally"]

FloatArray = npt.NDArray[np.float64]
_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitter for float64


@attrs.frozen
class ExactSum:
    """The exact sum of every float added, as a few floats (and flags for NaN and infinities).

    >>> s = ExactSum().plus(np.array([1e16, 1.0, -1e16])).plus(np.array([0.1] * 10))
    >>> s.value(), sum([1e16, 1.0, -1e16] + [0.1] * 10)
    (2.0, 0.9999999999999999)
    """

    terms: tuple[float, ...] = ()
    nan: bool = False
    up: bool = False  # +inf seen
    down: bool = False  # -inf seen

    def plus(self, values: FloatArray) -> ExactSum:
        """This sum with ``values`` added."""
        v = np.asarray(values, dtype=np.float64).ravel()
        if not v.size:
            return self
        finite = np.isfinite(v)
        nan, up, down = self.nan, self.up, self.down
        if not finite.all():
            nan = nan or bool(np.isnan(v).any())
            up = up or bool((v == np.inf).any())
            down = down or bool((v == -np.inf).any())
            v = v[finite]
        items = v.tolist()
        items.extend(self.terms)
        terms: list[float] = []
        while True:  # peel the exact sum into floats: each term is the rounded rest of the one before
            t = math.fsum(chain(items, (-x for x in terms)))
            if t == 0.0:
                break
            terms.append(t)
        return ExactSum(tuple(terms), nan, up, down)

    def finite(self) -> bool:
        return not (self.nan or self.up or self.down)

    def value(self) -> float:
        """The sum, rounded once (NaN and infinities as IEEE arithmetic gives them)."""
        if self.nan or (self.up and self.down):
            return math.nan
        if self.up or self.down:
            return math.inf if self.up else -math.inf
        return math.fsum(self.terms)

    def exact(self) -> Fraction:
        """The exact sum (finite sums only)."""
        return sum((Fraction(t) for t in self.terms), Fraction(0))


def _squares(x: FloatArray) -> FloatArray:
    """``x * x`` as two floats per value whose sum is exact (Dekker), concatenated."""
    p = x * x
    c = _SPLIT * x
    hi = c - (c - x)
    lo = x - hi
    e = ((hi * hi - p) + 2.0 * hi * lo) + lo * lo
    return np.concatenate((p, e))


def _mean(total: ExactSum, n: int) -> float:
    if n == 0:
        return math.nan
    if not total.finite():
        return total.value() / n
    return float(total.exact() / n)


def _std(total: ExactSum, squares: ExactSum, n: int) -> float:
    if n == 0 or not (total.finite() and squares.finite()):
        return math.nan
    s1 = total.exact()
    return math.sqrt(float(max(Fraction(0), (squares.exact() - s1 * s1 / n) / n)))


def _nanmax(a: float, b: float) -> float:
    return b if math.isnan(a) or b > a else a


@attrs.frozen(kw_only=True)
class _Returns:
    """Sums over per-bar returns ``r`` and excess returns ``x = r - rf / periods`` (``x is r`` when rf is 0)."""

    n: int = 0
    r: ExactSum = ExactSum()
    r2: ExactSum = ExactSum()
    x: ExactSum = ExactSum()
    down2: ExactSum = ExactSum()  # of min(x, 0) ** 2 as numpy rounds each

    def plus(self, r: FloatArray, excess: float) -> _Returns:
        x = r - excess if excess else r
        return _Returns(n=self.n + r.size, r=self.r.plus(r), r2=self.r2.plus(_squares(r)),
                        x=self.x.plus(x) if excess else self.x, down2=self.down2.plus(np.minimum(x, 0.0) ** 2))


@attrs.frozen(kw_only=True)
class _Drawdown:
    """``fbt.results.stats.drawdowns`` carried over chunks: high-water mark, deepest drop, current and longest run."""

    peak: float = 0.0
    deepest: float = 0.0
    run: int = 0
    longest: int = 0
    any_under: bool = False
    # the time form (``drawdown_duration_time``): the time of the last point at the high-water mark
    peak_time: int | None = None
    span: int = 0

    def plus(self, curve: FloatArray, times: npt.NDArray[np.int64] | None = None) -> _Drawdown:
        if not curve.size:
            return self
        hwm = np.maximum.accumulate(np.maximum(np.concatenate(([self.peak], curve)), 0.0))[1:]
        drawdown = hwm - curve
        under = drawdown != 0.0
        idx = np.arange(curve.size)
        last_zero = np.maximum.accumulate(np.where(under, -1, idx))
        duration = np.where(under, np.where(last_zero >= 0, idx - last_zero, idx + 1 + self.run), 0)
        deepest, any_under = self.deepest, self.any_under or bool(under.any())
        if under.any():
            deepest = float(np.max(np.array([deepest, float(drawdown.max())]))) if self.any_under \
                else float(drawdown.max())
        peak_time, span = self.peak_time, self.span
        if times is not None:
            first = int(times[0]) if peak_time is None else peak_time
            start = np.where(last_zero >= 0, times[np.maximum(last_zero, 0)], first)
            span = max(span, int(np.max(np.where(under, times - start, 0))))
            peak_time = int(times[last_zero[-1]]) if last_zero[-1] >= 0 else first
        return _Drawdown(peak=float(hwm[-1]), deepest=deepest, run=int(duration[-1]),
                         longest=max(self.longest, int(duration.max())), any_under=any_under,
                         peak_time=peak_time, span=span)

    def figures(self) -> tuple[float, int]:
        return (self.deepest, self.longest) if self.any_under else (0.0, 0)


@attrs.frozen(kw_only=True)
class _Equity:
    """The equity points (capital, each row's total, the final equity in book mode) and their times."""

    n: int = 0
    first: float = math.nan
    last: float = math.nan
    first_time: int = 0
    last_time: int = 0
    peak: float = -math.inf
    worst: float = math.nan  # nanmax of drawdown_fraction
    any_fraction: bool = False
    drawdown: _Drawdown = _Drawdown()

    def plus(self, e: FloatArray, times: npt.NDArray[np.int64]) -> _Equity:
        if not e.size:
            return self
        peak = np.maximum.accumulate(np.concatenate(([self.peak], e)))[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.where(peak > 0, 1.0 - e / peak, np.nan)
        worst, any_fraction = self.worst, self.any_fraction
        if not np.isnan(fraction).all():
            worst = _nanmax(worst, float(np.nanmax(fraction)))
            any_fraction = True
        return _Equity(n=self.n + e.size, first=float(e[0]) if self.n == 0 else self.first, last=float(e[-1]),
                       first_time=int(times[0]) if self.n == 0 else self.first_time, last_time=int(times[-1]),
                       peak=float(peak[-1]), worst=worst, any_fraction=any_fraction,
                       drawdown=self.drawdown.plus(e, times))


@attrs.frozen(kw_only=True)
class _Trades:
    n: int = 0
    wins: int = 0
    losses: int = 0
    win_sum: ExactSum = ExactSum()
    loss_sum: ExactSum = ExactSum()
    net_sum: ExactSum = ExactSum()
    best: float = math.nan
    worst: float = math.nan

    def plus(self, trades: Trades) -> _Trades:
        if not len(trades):
            return self
        net = trades.pnl - trades.commission
        wins, losses = net[net > 0], net[net < 0]
        best, worst = float(np.max(net)), float(np.min(net))
        return _Trades(n=self.n + len(trades), wins=self.wins + wins.size, losses=self.losses + losses.size,
                       win_sum=self.win_sum.plus(wins), loss_sum=self.loss_sum.plus(losses),
                       net_sum=self.net_sum.plus(net),
                       best=best if self.n == 0 else float(np.max(np.array([self.best, best]))),
                       worst=worst if self.n == 0 else float(np.min(np.array([self.worst, worst]))))


@attrs.frozen(kw_only=True)
class Tally:
    """What the statistics need, after some chunks: pure :meth:`plus` per chunk, :meth:`statistics` at the end."""

    capital: float
    periods: float
    risk_free: float = 0.0
    book: bool = True
    bars: int = 0
    returns: _Returns = _Returns()
    curve: _Drawdown = _Drawdown()  # the normalised curve (the book's max drawdown and duration)
    equity: _Equity = _Equity()
    last_curve: float = 1.0
    last_total: float = math.nan
    totals: ExactSum = ExactSum()
    traded: ExactSum = ExactSum()
    exposed: int = 0
    spacings: tuple[tuple[int, int], ...] = ()  # (spacing, count), sorted
    last_time: int | None = None
    counts: tuple[tuple[str, int], ...] = ()
    reasons: tuple[tuple[str, int], ...] = ()
    slippage: float = 0.0
    trades: _Trades = _Trades()

    def plus(self, timestamps: npt.NDArray[np.int64], curve: Curve, fills: FillTable, trades: Trades,
             events: tuple[Event, ...], multipliers: tuple[float, ...] | None, index: Mapping[str, int]) -> Tally:
        """This tally with one more chunk: its rows' timestamps and curve, its fills, closed trades and events."""
        ts = np.asarray(timestamps, dtype=np.int64)
        equity = self.equity
        if equity.n == 0 and ts.size:  # the curve starts at the capital, at the first bar's time
            equity = equity.plus(np.array([self.capital]), ts[:1])
        spacings = dict(self.spacings)
        gaps = np.diff(ts if self.last_time is None else np.concatenate(([self.last_time], ts)))
        for gap, count in zip(*np.unique(gaps, return_counts=True), strict=True):
            spacings[int(gap)] = spacings.get(int(gap), 0) + int(count)
        counts = dict(self.counts)
        reasons = dict(self.reasons)
        slippage = self.slippage
        for e in events:
            name = type(e).__name__
            counts[name] = counts.get(name, 0) + 1
            if e.__class__ is FillEvent and e.slippage:  # type: ignore[union-attr,unused-ignore]
                cost = e.slippage * e.quantity  # type: ignore[union-attr,unused-ignore]
                slippage += cost if multipliers is None else cost * multipliers[index[e.symbol]]  # type: ignore[union-attr,unused-ignore]
            elif e.__class__ is OrderRejected:
                reason = e.reason.value  # type: ignore[union-attr,unused-ignore]
                reasons[reason] = reasons.get(reason, 0) + 1
        held = (curve.positions != 0.0).any(axis=0) if curve.positions.size else np.zeros(0, dtype=np.bool_)
        return attrs.evolve(
            self,
            bars=self.bars + ts.size,
            returns=self.returns.plus(curve.returns, self.risk_free / self.periods),
            curve=self.curve.plus(curve.equity_curve),
            equity=equity.plus(curve.total, ts),
            last_curve=float(curve.equity_curve[-1]) if ts.size else self.last_curve,
            last_total=float(curve.total[-1]) if ts.size else self.last_total,
            totals=self.totals.plus(curve.total),
            traded=self.traded.plus(np.abs(fills.quantity * fills.price if multipliers is None else
                                           fills.quantity * fills.price * np.asarray(multipliers)[fills.symbol])),
            exposed=self.exposed + int(np.count_nonzero(held)),
            spacings=tuple(sorted(spacings.items())),
            last_time=int(ts[-1]) if ts.size else self.last_time,
            counts=tuple(sorted(counts.items())),
            reasons=tuple(sorted(reasons.items())),
            slippage=slippage,
            trades=self.trades.plus(trades),
        )

    def frequency(self) -> Frequency:
        """:func:`fbt.results.stats.detect_frequency` of the run's timestamps, from the spacing counts."""
        n = sum(c for _, c in self.spacings)
        if n == 0:
            return detect_frequency(np.zeros(1, dtype=np.int64))
        wanted = [(n - 1) // 2, n // 2] if n % 2 == 0 else [n // 2]
        middle, seen = [], 0
        for gap, count in self.spacings:
            while wanted and wanted[0] < seen + count:
                middle.append(gap)
                wanted.pop(0)
            seen += count
        return detect_frequency(np.cumsum(np.array([0, *middle], dtype=np.int64)))

    def statistics(self, *, final_equity: float, final_commission: float, working: int) -> dict[str, Any]:
        """The figures of :func:`fbt.results.curve.statistics`, then :func:`~fbt.results.stats.run_statistics`."""
        returns, curve, equity = self.returns, self.curve, self.equity
        if self.book:  # the final state closes the curve, as in memory
            last_total = self.last_total if self.bars else self.capital
            closing = final_equity / last_total - 1.0
            returns = returns.plus(np.array([closing]), self.risk_free / self.periods)
            curve = curve.plus(np.array([self.last_curve * (1.0 + closing)]))
            equity = equity.plus(np.array([final_equity]), np.array([self.last_time or 0], dtype=np.int64))
        periods, n = self.periods, returns.n
        mean_r, std = _mean(returns.r, n), _std(returns.r, returns.r2, n)
        root = float(np.sqrt(periods))
        sharpe = math.nan if std == 0.0 or not math.isfinite(std) else float(root * mean_r / std)
        max_drawdown, duration = curve.figures()
        t = self.trades
        mean_x = _mean(returns.x, n) if self.risk_free else mean_r
        if self.risk_free:
            sharpe = math.nan if std == 0.0 or not math.isfinite(std) else float(root * mean_x / std)
        years = years_between(equity.first_time, equity.last_time)
        growth = _cagr(equity, years)
        downside = math.sqrt(_mean(returns.down2, n)) if n else math.nan
        sortino = math.nan if n == 0 or downside == 0.0 or not math.isfinite(downside) else \
            float(root * mean_x / downside)
        worst = equity.worst if equity.any_fraction else 0.0
        calmar = math.nan if worst <= 0.0 or math.isnan(growth) else growth / worst
        average = _mean(self.totals, self.bars)
        gains, losses = t.win_sum.value() if t.wins else 0.0, -(t.loss_sum.value() if t.losses else 0.0)
        factor = (math.inf if gains > 0 else math.nan) if losses == 0.0 else gains / losses
        return stat_table(
            counts=dict(self.counts),
            frequency=self.frequency().name,
            total_return=final_equity / self.capital - 1.0,
            sharpe_ratio=sharpe,
            max_drawdown=max_drawdown,
            drawdown_duration=duration,
            final_equity=final_equity,
            initial_capital=self.capital,
            commission=final_commission,
            periods=periods,
            bars=self.bars,
            working=working,
            slippage=self.slippage,
            trades=t.n,
            win_rate=t.wins / t.n if t.n else None,
            risk_free=float(self.risk_free),
            cagr=growth,
            annual_volatility=std * root if n else math.nan,
            sortino_ratio=sortino,
            calmar_ratio=calmar,
            max_drawdown_from_peak=equity.worst if equity.n else 0.0,
            drawdown_duration_days=(equity.drawdown.span if equity.drawdown.any_under else 0)
            / (SECONDS_PER_DAY * NS_PER_SECOND),
            exposure=self.exposed / self.bars if self.bars else 0.0,
            turnover=self.traded.value() / average if average > 0 else math.nan,
            average_win=_mean(t.win_sum, t.wins),
            average_loss=_mean(t.loss_sum, t.losses),
            profit_factor=factor,
            expectancy=_mean(t.net_sum, t.n),
            best_trade=t.best,
            worst_trade=t.worst,
        )


def _cagr(equity: _Equity, years: float) -> float:
    if equity.n < 2 or not years > 0 or not equity.first > 0 or equity.last < 0:
        return math.nan
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return float(np.power(equity.last / equity.first, 1.0 / years) - 1.0)
