"""backtrader 1.9.78.123's own strategy tests, reproduced by fbt (backtrader need not be installed).

The data is backtrader's ``2006-day-001.txt`` (``../shared/data/backtrader/``); the tests skip
without ``../shared``. backtrader's ``buy()`` buys 1 unit (its default sizer) with market orders
filled at the next bar's open: fbt's ``next-open`` execution with ``quantity=1`` and 10,000 of
cash. The strategy is :func:`tests.peers.ports.sma_cross`, ported by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import fbt
from fbt.core.events import Direction, FillEvent
from fbt.kernel.portfolio import margin_cash
from tests.execution.support import events_of
from tests.peers.ports import sma_cross

DATA = "backtrader/2006-day-001.txt"

# backtrader tests/test_strategy_unoptimized.py: BUYEXEC and SELLEXEC (execution prices, '%.2f')
BUYEXEC = ["3643.35", "3801.03", "3872.37", "3863.57", "3845.32", "3656.43",
           "3542.65", "3639.65", "3799.86", "3840.20", "4047.63", "4052.55"]
SELLEXEC = ["3763.95", "3811.85", "3822.35", "3822.57", "3829.82", "3598.58",
            "3545.92", "3766.80", "3782.15", "3979.73", "4045.05"]

# backtrader tests/test_strategy_optimized.py: CHKVALUES (final value for period = 5 .. 44, '%.2f')
CHKVALUES = ["14525.80", "14525.80", "15408.20", "15408.20", "14763.90",
             "14763.90", "14763.90", "14763.90", "14763.90", "14763.90",
             "14763.90", "14763.90", "14763.90", "14763.90", "13187.10",
             "13187.10", "13187.10", "13684.40", "13684.40", "13684.40",
             "13684.40", "13684.40", "13684.40", "13656.10", "13656.10",
             "13656.10", "13656.10", "12988.10", "12988.10", "12988.10",
             "12988.10", "12988.10", "12988.10", "12988.10", "12988.10",
             "12988.10", "12988.10", "12988.10", "12988.10", "12988.10"]
# backtrader tests/test_strategy_optimized.py: CHKCASH (final cash for period = 5 .. 44, '%.2f')
CHKCASH = ["13525.80", "13525.80", "14408.20", "14408.20", "13763.90",
           "13763.90", "13763.90", "13763.90", "13763.90", "13763.90",
           "13763.90", "13763.90", "13763.90", "13763.90", "12187.10",
           "12187.10", "12187.10", "12684.40", "12684.40", "12684.40",
           "12684.40", "12684.40", "12684.40", "12656.10", "12656.10",
           "12656.10", "12656.10", "11988.10", "11988.10", "11988.10",
           "11988.10", "11988.10", "11988.10", "11988.10", "11988.10",
           "11988.10", "11988.10", "11988.10", "11988.10", "11988.10"]


@pytest.fixture(scope="module")
def data(shared_data: Path) -> fbt.BarData:
    return fbt.load({"BT": shared_data / DATA})


def stock_like(data: fbt.BarData, period: int = 15, once: bool = False) -> fbt.Result:
    """backtrader's default broker: a stock, no commission, cash 10,000, 1 unit per buy()."""
    return fbt.run(sma_cross(period, once), data, capital=10_000, quantity=1, execution="next-open",
                   commission=fbt.models.commission.zero_commission)


def money(x: float) -> str:
    return f"{x:.2f}"


def test_unoptimized_stock_like_value_cash_and_executions(data: fbt.BarData) -> None:
    result = stock_like(data)
    fills = [f for _, f in events_of(result.run, FillEvent)]
    # backtrader tests/test_strategy_unoptimized.py::test_run (stocklike=True): 12 buys, 11 sells
    assert [money(f.price) for f in fills if f.direction is Direction.BUY] == BUYEXEC
    assert [money(f.price) for f in fills if f.direction is Direction.SELL] == SELLEXEC
    # backtrader tests/test_strategy_unoptimized.py::test_run (stocklike=True): getvalue() == '10284.10'
    assert money(result.statistics["final_equity"]) == "10284.10"
    # backtrader tests/test_strategy_unoptimized.py::test_run (stocklike=True): getcash() == '6164.16'
    assert money(result.run.final.portfolio.cash) == "6164.16"


def futures_like(data: fbt.BarData, period: int = 15, once: bool = False) -> fbt.Result:
    """backtrader's ``setcommission(commission=2.0, mult=10.0, margin=1000.0)``: 2 per contract,
    10 currency units per point, 1,000 of margin per contract (the cash check on, as fbt's default)."""
    return fbt.run(sma_cross(period, once), data, capital=10_000, quantity=1, execution="next-open",
                   commission=fbt.models.commission.PerShare(rate=2.0),
                   instruments={"BT": fbt.Instrument(multiplier=10, margin=1_000)})


def broker_cash(result: fbt.Result) -> float:
    """The final cash as backtrader's ``getcash()`` reports it: value - margin held."""
    run = result.run
    prices = [float(run.data.column(s, "adj_close")[-1]) for s in run.data.symbols]
    return margin_cash(run.final.portfolio, prices, run.context.multipliers, run.context.margins)[0]


def test_unoptimized_futures_like_value_and_cash(data: fbt.BarData) -> None:
    result = futures_like(data)
    fills = [f for _, f in events_of(result.run, FillEvent)]
    # backtrader tests/test_strategy_unoptimized.py::test_run (stocklike=False): the same executions
    assert [money(f.price) for f in fills if f.direction is Direction.BUY] == BUYEXEC
    assert [money(f.price) for f in fills if f.direction is Direction.SELL] == SELLEXEC
    # backtrader tests/test_strategy_unoptimized.py::test_run (stocklike=False): getvalue() == '12795.00'
    assert money(result.statistics["final_equity"]) == "12795.00"
    # backtrader tests/test_strategy_unoptimized.py::test_run (stocklike=False): getcash() == '11795.00'
    assert money(broker_cash(result)) == "11795.00"
    # equity.csv reports the broker's cash and the margin held beside it (total = cash + margin)
    last = result.equity.iloc[-1]
    assert (money(last["cash"]), money(last["margin"]), money(last["total"])) == ("11795.00", "1000.00", "12795.00")


def test_optimized_values_and_cash(data: fbt.BarData) -> None:
    results = [futures_like(data, period, once=True) for period in range(5, 45)]
    # backtrader tests/test_strategy_optimized.py::test_run: CHKVALUES == _chkvalues (period=range(5, 45))
    assert [money(r.statistics["final_equity"]) for r in results] == CHKVALUES
    # backtrader tests/test_strategy_optimized.py::test_run: CHKCASH == _chkcash (period=range(5, 45))
    assert [money(broker_cash(r)) for r in results] == CHKCASH
