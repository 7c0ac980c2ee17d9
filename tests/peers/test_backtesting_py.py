"""backtesting.py 0.6.6's own statistics test, reproduced by fbt (backtesting.py need not be installed).

``backtesting/test/_test.py::TestBacktest::test_compute_stats`` runs ``SmaCross(fast=10, slow=30)``
on its GOOG data (``../shared/data/backtesting_py/GOOG.csv``; the tests skip without
``../shared``) with 10,000 of cash, no commission and ``finalize_trades=True``. Its ``buy()`` and
``sell()`` take all the cash available when the order fills, in whole units, at the next bar's
open; ``finalize_trades`` closes what is open at the end. In fbt: ``execution="next-open"``,
``sizing=fbt.AllCash()`` (resolved at the fill), ``close_at_end=True``, the cash check on (the
default outside book mode). The strategy is :func:`tests.peers.ports.sma_cross_bt`, ported by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import fbt
from fbt.core.events import FillEvent, OrderRejected
from tests.execution.support import events_of
from tests.peers.ports import sma_cross_bt

DATA = "backtesting_py/GOOG.csv"


@pytest.fixture(scope="module")
def data(shared_data: Path) -> fbt.BarData:
    return fbt.load({"GOOG": shared_data / DATA})


def config(**changes: object) -> fbt.Config:
    settings: dict[str, object] = {"capital": 10_000, "execution": "next-open", "sizing": fbt.AllCash(),
                                   "commission": fbt.models.commission.zero_commission, "close_at_end": True}
    settings.update(changes)
    return fbt.Config(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def result(data: fbt.BarData) -> fbt.Result:
    return fbt.run(sma_cross_bt(10, 30), data, config())


def test_compute_stats_figures(result: fbt.Result) -> None:
    stats = result.statistics
    # backtesting/test/_test.py::TestBacktest::test_compute_stats: '# Trades': 66
    assert stats["trades"] == 66
    # backtesting/test/_test.py::TestBacktest::test_compute_stats: 'Equity Final [$]': 51422.99
    assert f"{stats['final_equity']:.2f}" == "51422.99"
    # backtesting/test/_test.py::TestBacktest::test_compute_stats: 'Return [%]': 414.2298999999996
    assert stats["total_return"] * 100 == pytest.approx(414.2298999999996, abs=1e-9)
    # backtesting/test/_test.py::TestBacktest::test_compute_stats: 'Max. Drawdown [%]': -47.98012705007589
    assert -stats["max_drawdown_from_peak"] * 100 == pytest.approx(-47.98012705007589, abs=1e-9)
    # backtesting/test/_test.py::TestBacktest::test_compute_stats: 'Win Rate [%]': 46.96969696969697
    assert stats["win_rate"] * 100 == pytest.approx(46.96969696969697, abs=1e-9)


def test_every_order_is_filled_in_whole_units_within_the_cash(result: fbt.Result) -> None:
    run = result.run
    assert events_of(run, OrderRejected) == []
    fills = [f for _, f in events_of(run, FillEvent)]
    assert all(f.quantity == int(f.quantity) and f.quantity > 0 for f in fills)
    # sizing at the fill: no entry could have bought one more unit with the cash it had
    assert min(result.curve.cash) >= 0


def test_sized_at_the_signal_bar_it_is_not_the_peer(data: fbt.BarData) -> None:
    # the same rules sized at the signal bar's close (all of the equity then): the trades are the same, the sizes
    # are not, and with the cash check some reversals are refused because the open gapped up
    sized_early = fbt.run(sma_cross_bt(10, 30), data, config(sizing=fbt.PercentOfEquity(percent=100)))
    assert f"{sized_early.statistics['final_equity']:.2f}" != "51422.99"
    assert events_of(sized_early.run, OrderRejected) != []


def test_the_strategy_and_the_sizing_see_no_future_bar(data: fbt.BarData) -> None:
    # the quantity is resolved at the fill price (the fill's own bar), never from a bar the strategy has not seen;
    # close_at_end is left out: it closes at whichever bar is last, so a prefix of the data closes earlier
    report = fbt.check_lookahead(sma_cross_bt(10, 30), data, config=config(close_at_end=False))
    assert report.passed, report.describe()
