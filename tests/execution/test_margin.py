"""Per-contract margin (``Instrument(margin=...)``): broker cash, the cash check, leverage, identity."""

from __future__ import annotations

import hashlib

import attrs
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import fbt
from fbt.core.events import FillEvent, OrderRejected, RejectReason
from fbt.core.state import Portfolio
from fbt.journal.fingerprint import config_text, input_fingerprint
from fbt.kernel.portfolio import margin_cash
from fbt.models.identity import IDENTITY, UNLESS_DEFAULT
from fbt.models.instrument import Instrument, parse_instrument
from fbt.models.risk import Risk, check_fill
from fbt.sample.strategies import moving_average_crossover
from tests.execution.support import bars_from, events_of

ROWS = [(100.0 + k, 101.0 + k, 99.0 + k, 100.5 + k, 1e6) for k in range(30)]


def run(margin: float | None, **overrides: object) -> fbt.Result:
    data = bars_from([(o, h, lo, c, v) for o, h, lo, c, v in ROWS[:5]] + [(130 - k, 131 - k, 129 - k, 130 - k, 1e6)
                                                                          for k in range(10)] + ROWS[5:20])
    kwargs: dict[str, object] = {"capital": 5_000, "quantity": 10, "execution": "next-open",
                                 "instruments": {"A": Instrument(multiplier=10, margin=margin)}}
    kwargs.update(overrides)
    return fbt.run(moving_average_crossover(2, 4), data, **kwargs)  # type: ignore[arg-type]


def test_margin_lets_a_contract_trade_that_the_notional_cannot_pay_for() -> None:
    # 10 contracts x ~110 x 10 = ~11,000 of notional against 5,000 of cash: refused without margin
    without = run(None)
    assert any(e.reason is RejectReason.CASH for _, e in events_of(without.run, OrderRejected))
    assert not events_of(without.run, FillEvent)
    held = run(300.0)  # 10 x 300 = 3,000 of margin: paid for
    assert events_of(held.run, FillEvent)
    assert not events_of(held.run, OrderRejected)


def test_margin_above_what_the_account_holds_is_refused_by_the_cash_check() -> None:
    result = run(600.0)  # 10 x 600 = 6,000 > 5,000
    reasons = [e for _, e in events_of(result.run, OrderRejected)]
    assert reasons and reasons[0].reason is RejectReason.CASH and "margin held" in reasons[0].detail


def test_a_margin_not_below_the_contract_value_is_refused() -> None:
    result = run(5_000.0, capital=1e9)  # one contract is worth ~1,100
    (first, *_) = [e for _, e in events_of(result.run, OrderRejected)]
    assert first.reason is RejectReason.MARGIN and "smaller than price x multiplier" in first.detail


def test_leverage_counts_the_margin_held() -> None:
    # gross notional ~11,000 is 2.2 x equity; the margin held, 3,000, is 0.6 x
    assert not events_of(run(300.0, risk=Risk(max_leverage=1.0)).run, OrderRejected)
    assert events_of(run(None, risk=Risk(max_leverage=1.0, cash_check=False)).run, OrderRejected)


def test_margin_changes_neither_fills_nor_value_when_nothing_is_refused() -> None:
    a, b = run(None, risk=Risk(cash_check=False)), run(300.0, risk=Risk(cash_check=False))
    assert a.fills.equals(b.fills)
    assert a.statistics["final_equity"] == b.statistics["final_equity"]


@given(cash=st.floats(-1e6, 1e6), q=st.integers(-50, 50), price=st.floats(1.0, 1e4), mult=st.floats(1.0, 100.0),
       margin=st.floats(1.0, 1e4))
def test_broker_cash_is_value_less_the_margin_held(cash: float, q: int, price: float, mult: float,
                                                   margin: float) -> None:
    p = Portfolio(cash=cash, commission=0.0, positions=(float(q),), orders_sent=0)
    reported, held = margin_cash(p, (price,), (mult,), (margin,))
    value = cash + (0.0 if q == 0 else q * price * mult)
    assert held == abs(q) * margin
    assert np.isclose(reported + held, value, rtol=1e-12, atol=1e-6)
    assert margin_cash(p, (price,), (mult,), (None,)) == (cash, 0.0)


@given(cash=st.floats(0.0, 1e6), q=st.integers(1, 20), price=st.floats(10.0, 1e3), margin=st.floats(1.0, 9.0))
def test_the_cash_check_with_margin_refuses_exactly_when_broker_cash_would_go_negative(
        cash: float, q: int, price: float, margin: float) -> None:
    failed = check_fill(Risk(), cash_check=True, cash=cash, positions=(0.0,), marks=(price,), symbol=0, sign=1.0,
                        quantity=q, price=price, commission=1.0, margins=(margin,))
    assert (failed is not None) == (cash - 1.0 - q * margin < -1e-9 * max(1.0, cash)) or abs(
        cash - 1.0 - q * margin) < 1e-6


def test_margin_enters_the_identity_only_when_set() -> None:
    field = attrs.fields(Instrument).margin
    assert field.metadata[IDENTITY] == UNLESS_DEFAULT
    stock = fbt.Config(instruments={"A": Instrument(multiplier=10)})
    assert '"fields":{"multiplier":10.0,"tick_size":null}' in config_text(stock)
    margined = config_text(attrs.evolve(stock, instruments={"A": Instrument(multiplier=10, margin=5)}))
    assert '"fields":{"margin":5.0,"multiplier":10.0,"tick_size":null}' in margined
    # the identity texts (journal header's config, input fingerprint) of runs without a margin are
    # the ones they had before margins existed (sha256 of config_text, taken from that version)
    before = {fbt.Config(): "0bc6357fec73e3c6768ec439b2c0cfd1b77056e172b24afd4cda33567ef07f61",
              fbt.Config(instruments={"A": Instrument(multiplier=10, tick_size=0.5)}, execution="next-open"):
              "b0265e762f29e592c89682bde7a5b4c1cb3eb88b8fbee04ea5bf113ae83c4974"}
    for config, digest in before.items():
        assert hashlib.sha256(config_text(config).encode()).hexdigest() == digest
    data = bars_from(ROWS[:10])
    s = moving_average_crossover(2, 4)
    assert input_fingerprint(s, data, stock) != input_fingerprint(
        s, data, attrs.evolve(stock, instruments={"A": Instrument(multiplier=10, margin=5)}))


def test_parse_instrument_takes_a_margin() -> None:
    assert parse_instrument("ES:multiplier=50,margin=12000") == ("ES", Instrument(multiplier=50, margin=12_000))
