"""The pure models, one by one: commission, slippage, fill rules, sizing, risk checks, names.

Hypothesis properties per model (non-negative, monotone where the formula says so, equal to the
formula) and hand examples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
import fbt.testing as ft
from fbt.core.errors import ConfigError
from fbt.core.events import RejectReason
from fbt.models.commission import (
    Combined,
    IBFixed,
    IBTiered,
    PercentOfValue,
    PerShare,
    PerTrade,
    combined,
    ib_seed_commission,
    zero_commission,
)
from fbt.models.fill import Execution, limit_price_fill, market_price, stop_limit_fill, stop_price_fill
from fbt.models.registry import describe, parse_commission, parse_sizing, parse_slippage
from fbt.models.risk import Group, Risk, check_fill
from fbt.models.sizing import (
    FixedCash,
    FixedQuantity,
    Kelly,
    PercentOfEquity,
    TargetWeight,
    VolatilityTarget,
    round_quantity,
)
from fbt.models.slippage import FixedBps, HalfSpread, SquareRootImpact, VolumeShare

quantities = ft.quantities(max_value=1e5, max_whole=100_000)
prices = ft.prices(min_value=0.01, max_value=5_000.0)
volumes = st.floats(1.0, 1e8)

COMMISSIONS = [ib_seed_commission, zero_commission, IBFixed(), IBTiered(), IBTiered(monthly_volume=1e9),
               PercentOfValue(), PercentOfValue(rate=0.002, minimum=1.0), PerShare(), PerShare(rate=0.01, minimum=1.0),
               PerTrade(amount=2.5), combined(IBFixed(), PerShare(rate=0.0002))]
#: per-share schedules with minimums: splitting an order never lowers the total (subadditive)
SUBADDITIVE = COMMISSIONS
#: non-decreasing in the quantity (the seed's schedule is not: it drops from 0.013 to 0.008 at 501 shares)
MONOTONE = [c for c in COMMISSIONS if c is not ib_seed_commission]


# --- commission -----------------------------------------------------------------------------------


@settings(max_examples=200)
@given(quantity=quantities, price=prices, model=st.sampled_from(COMMISSIONS))
def test_commission_is_non_negative_and_finite(quantity: float, price: float,
                                               model: fbt.models.CommissionModel) -> None:
    c = model(quantity, price)
    assert c >= 0 and math.isfinite(c)


@settings(max_examples=200)
@given(a=quantities, b=quantities, price=prices, model=st.sampled_from(MONOTONE))
def test_commission_is_monotone_in_quantity(a: float, b: float, price: float,
                                            model: fbt.models.CommissionModel) -> None:
    low, high = sorted((a, b))
    assert model(low, price) <= model(high, price) * (1 + 1e-12)


@settings(max_examples=200)
@given(a=quantities, b=quantities, price=prices, model=st.sampled_from(SUBADDITIVE))
def test_splitting_an_order_never_lowers_total_commission(a: float, b: float, price: float,
                                                         model: fbt.models.CommissionModel) -> None:
    assert model(a, price) + model(b, price) >= model(a + b, price) * (1 - 1e-12)


def test_splitting_can_lower_commission_where_small_orders_are_free() -> None:
    # the counterexample the README names: a fee charged only from a size up is not subadditive
    def free_below_100(quantity: float, price: float = 0.0) -> float:
        return 0.0 if quantity < 100 else 5.0

    assert free_below_100(60) + free_below_100(60) < free_below_100(120)


@settings(max_examples=200)
@given(quantity=quantities, price=prices)
def test_commission_formulas(quantity: float, price: float) -> None:
    assert IBFixed()(quantity, price) == min(max(1.0, 0.005 * quantity), 0.01 * quantity * price)
    assert IBTiered()(quantity, price) == min(max(0.35, 0.0035 * quantity), 0.01 * quantity * price)
    assert IBTiered(monthly_volume=2e6)(quantity, price) == min(max(0.35, 0.002 * quantity), 0.01 * quantity * price)
    assert PercentOfValue(rate=0.001)(quantity, price) == 0.001 * quantity * price
    assert PerShare(rate=0.01, minimum=1.0)(quantity, price) == max(1.0, 0.01 * quantity)
    assert PerTrade(amount=3.0)(quantity, price) == 3.0
    both = Combined(parts=(IBFixed(), PerShare(rate=0.0002)))
    assert both(quantity, price) == IBFixed()(quantity, price) + 0.0002 * quantity
    expected = max(1.30, (0.013 if quantity <= 500 else 0.008) * quantity)
    assert ib_seed_commission(quantity, price) == expected


def test_ib_tiers_and_hand_examples() -> None:
    assert [IBTiered(monthly_volume=v).rate for v in (0, 300_000, 300_001, 3e6, 2e7, 1e8, 1e8 + 1)] == [
        0.0035, 0.0035, 0.002, 0.002, 0.0015, 0.001, 0.0005]
    assert IBFixed()(100, 25.0) == 1.0  # minimum
    assert IBFixed()(10_000, 25.0) == 50.0  # 0.005 per share
    assert IBFixed()(100, 0.5) == 0.5  # capped at 1% of 50.0
    with pytest.raises(ConfigError, match="rate"):
        IBFixed(rate=-1.0)
    with pytest.raises(ConfigError):
        combined()


# --- slippage -------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(price=prices, quantity=quantities, volume=volumes, bps=st.floats(0, 500), impact=st.floats(0, 1))
def test_slippage_formulas_and_sign(price: float, quantity: float, volume: float, bps: float, impact: float) -> None:
    assert FixedBps(bps=bps)(price, quantity, volume) == price * bps * 1e-4
    assert HalfSpread(spread=0.02, spread_bps=bps)(price, quantity, volume) == 0.01 + price * bps * 1e-4 / 2
    share = quantity / volume
    assert VolumeShare(price_impact=impact)(price, quantity, volume) == pytest.approx(
        price * min(1.0, impact * share**2))
    assert SquareRootImpact(coefficient=impact)(price, quantity, volume) == pytest.approx(
        price * min(1.0, impact * math.sqrt(share)))
    for model in (FixedBps(bps=bps), HalfSpread(spread_bps=bps), VolumeShare(price_impact=impact),
                  SquareRootImpact(coefficient=impact)):
        assert model(price, quantity, volume) >= 0


@settings(max_examples=100)
@given(price=prices, a=quantities, b=quantities, volume=volumes)
def test_impact_grows_with_the_quantity(price: float, a: float, b: float, volume: float) -> None:
    low, high = sorted((a, b))
    for model in (VolumeShare(), SquareRootImpact()):
        assert model(price, low, volume) <= model(price, high, volume)


# --- fill rules -----------------------------------------------------------------------------------


@st.composite
def bars(draw: st.DrawFn) -> tuple[float, float, float, float]:
    low = draw(st.floats(0.5, 100.0))
    high = low + draw(st.floats(0.0, 20.0))
    o = draw(st.floats(low, high))
    c = draw(st.floats(low, high))
    return o, high, low, c


@settings(max_examples=300)
@given(bar=bars(), level=st.floats(0.1, 150.0), second=st.floats(0.1, 150.0), sign=st.sampled_from([1, -1]),
       triggered=st.booleans(), execution=st.sampled_from([Execution.NEXT_OPEN, Execution.NEXT_CLOSE]))
def test_every_fill_rule_fills_within_the_bars_range(bar: tuple[float, float, float, float], level: float,
                                                     second: float, sign: int, triggered: bool,
                                                     execution: Execution) -> None:
    o, h, low, c = bar
    prices_ = [
        market_price(execution, open=o, close=c),
        limit_price_fill(sign, level, open=o, high=h, low=low),
        stop_price_fill(sign, level, open=o, high=h, low=low),
        stop_limit_fill(sign, level, second, triggered=triggered, open=o, high=h, low=low)[0],
    ]
    for p in prices_:
        assert math.isnan(p) or low <= p <= h


@settings(max_examples=300)
@given(bar=bars(), level=st.floats(0.1, 150.0), sign=st.sampled_from([1, -1]))
def test_limits_never_fill_worse_and_stops_only_through_the_level(bar: tuple[float, float, float, float],
                                                                 level: float, sign: int) -> None:
    o, h, low, _ = bar
    p = limit_price_fill(sign, level, open=o, high=h, low=low)
    if not math.isnan(p):
        assert (p <= level) if sign > 0 else (p >= level)
    reached = low <= level if sign > 0 else h >= level
    assert math.isnan(p) != reached
    s = stop_price_fill(sign, level, open=o, high=h, low=low)
    touched = h >= level if sign > 0 else low <= level
    assert math.isnan(s) != touched
    if not math.isnan(s):
        assert s == (o if (o >= level if sign > 0 else o <= level) else level)  # a gap fills at the open


def test_fill_rule_hand_examples() -> None:
    assert limit_price_fill(1, 9.0, open=10.0, high=10.5, low=8.5) == 9.0
    assert limit_price_fill(1, 9.0, open=8.8, high=10.5, low=8.5) == 8.8
    assert math.isnan(limit_price_fill(1, 8.0, open=10.0, high=10.5, low=8.5))
    assert stop_price_fill(1, 10.4, open=10.0, high=10.5, low=9.5) == 10.4
    assert stop_price_fill(1, 10.4, open=11.0, high=11.5, low=10.9) == 11.0
    assert stop_limit_fill(-1, 9.0, 8.9, triggered=False, open=10.0, high=10.2, low=8.0) == (9.0, True)
    assert stop_limit_fill(-1, 9.0, 9.5, triggered=False, open=10.0, high=10.2, low=8.0)[1] is True


# --- sizing ---------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(price=prices, equity=st.floats(1_000.0, 1e7), strength=st.floats(0.1, 3.0), side=st.sampled_from([1, -1]))
def test_sizing_formulas(price: float, equity: float, strength: float, side: int) -> None:
    kw = dict(side=side, strength=strength, price=price, equity=equity, held=0.0, history=np.array([price]),
              periods=252.0)
    assert FixedQuantity(quantity=100)(**kw) == side * 100 * strength
    assert FixedCash(amount=5_000)(**kw) == side * (5_000 * strength / price)
    assert PercentOfEquity(percent=20)(**kw) == side * (20 / 100 * equity * strength / price)
    assert TargetWeight(weight=0.3)(**kw) == side * 0.3 * strength * equity / price
    assert math.isnan(VolatilityTarget()(**kw)) and math.isnan(Kelly()(**kw))  # one price: no returns yet
    held = {**kw, "held": 7.0}
    for model in (FixedQuantity(), FixedCash(), PercentOfEquity(), VolatilityTarget(), Kelly()):
        assert model(**held) == 7.0  # entries from flat only


def test_volatility_target_and_kelly_hand_examples() -> None:
    history = np.array([100.0, 102.0, 100.0, 102.0, 100.0, 102.0])
    kw = dict(side=1, strength=1.0, price=102.0, equity=100_000.0, held=0.0, history=history, periods=252.0)
    r = history[1:] / history[:-1] - 1
    weight = min(1.0, 0.1 / (np.std(r) * math.sqrt(252)))
    assert VolatilityTarget(target=0.1, window=5)(**kw) == pytest.approx(weight * 100_000 / 102.0)
    kelly = min(1.0, max(0.0, 0.5 * np.mean(r) / np.var(r)))
    assert Kelly(fraction=0.5, window=5)(**kw) == pytest.approx(kelly * 100_000 / 102.0)
    assert Kelly(fraction=0.5, window=5)(**{**kw, "side": -1}) == 0.0  # no edge on the short side
    flat = {**kw, "history": np.full(6, 50.0)}
    assert VolatilityTarget(window=5, max_weight=2.0)(**flat) == pytest.approx(2.0 * 100_000 / 102.0)


def test_round_quantity() -> None:
    assert round_quantity(2.9999999999, fractional=False) == 3.0
    assert round_quantity(2.5, fractional=False) == 2.0
    assert round_quantity(2.5, fractional=True) == 2.5
    with pytest.raises(ConfigError, match="window"):
        Kelly(window=1)


# --- risk checks ----------------------------------------------------------------------------------


def check(risk: Risk, *, cash: float = 1_000.0, positions: tuple[float, ...] = (0.0, 0.0), sign: float = 1.0,
          quantity: float = 10.0, price: float = 10.0, symbol: int = 0, cash_check: bool = True,
          groups: tuple[tuple[str, tuple[int, ...], float], ...] = ()) -> RejectReason | None:
    got = check_fill(risk, cash_check=cash_check, cash=cash, positions=positions, marks=(10.0, 20.0), symbol=symbol,
                     sign=sign, quantity=quantity, price=price, commission=1.0, groups=groups)
    return None if got is None else got[0]


def test_risk_checks_hand_examples() -> None:
    assert check(Risk()) is None
    assert check(Risk(), quantity=100.0) is RejectReason.CASH  # 1000 + 1 > 1000
    assert check(Risk(), quantity=100.0, cash_check=False) is None
    assert check(Risk(margin=2.0), quantity=150.0) is None  # gross 1500 <= 2 x 999
    assert check(Risk(margin=2.0), quantity=250.0) is RejectReason.MARGIN
    assert check(Risk(allow_short=False), sign=-1.0) is RejectReason.SHORT
    assert check(Risk(allow_short=False), sign=-1.0, positions=(10.0, 0.0)) is None
    assert check(Risk(max_position=0.05), quantity=10.0) is RejectReason.POSITION  # 100 > 0.05 x 999
    assert check(Risk(max_position=0.11), quantity=10.0) is None
    # gross 100 + 600 against equity 899 + 700: 0.5 lets it through, 0.4 does not
    assert check(Risk(max_leverage=0.5), positions=(0.0, 30.0)) is None
    assert check(Risk(max_leverage=0.4), positions=(0.0, 30.0)) is RejectReason.LEVERAGE
    groups = (("pair", (0, 1), 0.3),)
    assert check(Risk(), positions=(0.0, 20.0), groups=groups) is RejectReason.GROUP  # 100 + 400 > 0.3 x 1399
    assert check(Risk(), positions=(20.0, 20.0), sign=-1.0, groups=groups) is None  # a cut always passes
    assert check(Risk(max_position=0.01), positions=(50.0, 0.0), sign=-1.0) is None


@settings(max_examples=200)
@given(cash=st.floats(0.0, 1e5), held=st.floats(-1e3, 1e3), sign=st.sampled_from([1.0, -1.0]),
       quantity=st.floats(0.01, 1e4), price=st.floats(0.01, 1e3))
def test_a_passing_cash_check_leaves_cash_non_negative(cash: float, held: float, sign: float, quantity: float,
                                                       price: float) -> None:
    got = check_fill(Risk(), cash_check=True, cash=cash, positions=(held,), marks=(price,), symbol=0, sign=sign,
                     quantity=quantity, price=price, commission=1.0)
    if got is None:
        assert cash - (sign * price * quantity + 1.0) >= 0


def test_risk_validation() -> None:
    with pytest.raises(ConfigError, match="margin"):
        Risk(margin=0.5)
    with pytest.raises(ConfigError, match="volume_limit"):
        Risk(volume_limit=1.5)
    with pytest.raises(ConfigError, match="limit"):
        Group(name="g", symbols=("A",), limit=-1.0)
    assert Risk(groups=[Group(name="g", symbols=["A"], limit=0.5)]).groups[0].symbols == ("A",)
    assert Risk().checks_fills(Execution.BOOK) is False and Risk().checks_fills(Execution.NEXT_OPEN) is True


# --- names --------------------------------------------------------------------------------------


def test_models_by_name_and_back() -> None:
    assert parse_commission("ib-seed") is ib_seed_commission
    assert parse_commission("ib-fixed") == IBFixed()
    assert parse_commission("ib-tiered:monthly_volume=500000") == IBTiered(monthly_volume=500_000.0)
    assert parse_commission("per-trade:4.95+per-share:0.0002") == Combined(parts=(PerTrade(amount=4.95),
                                                                                 PerShare(rate=0.0002)))
    assert parse_slippage("none") is None
    assert parse_slippage("volume-share:price_impact=0.2") == VolumeShare(price_impact=0.2)
    assert parse_sizing("book") is None
    assert parse_sizing("volatility:0.15,window=60") == VolatilityTarget(target=0.15, window=60)
    for text in ("ib-seed", "ib-fixed(rate=0.004)", "fixed-bps(bps=2.0)", "kelly(fraction=0.25)",
                 "per-trade(amount=1.5) + percent(rate=0.0001)"):
        name = text.replace("(", ":").replace(")", "").replace(" + ", "+")
        parse = parse_sizing if text.startswith("kelly") else parse_slippage if "bps" in text else parse_commission
        assert describe(parse(name)) == text


@pytest.mark.parametrize(("parse", "spec", "message"), [
    (parse_commission, "ib-fix", "did you mean 'ib-fixed'"),
    (parse_commission, "ib-seed:3", "takes no parameters"),
    (parse_slippage, "fixed-bps:nope", "bps: expected a float, got 'nope'"),
    (parse_slippage, "fixed-bps:size=3", "unknown parameter 'size'; it takes bps"),
    (parse_sizing, "volatility:window=1", "window: expected a whole number >= 2"),
    (parse_sizing, "kelly:window=2.5", "window: expected a int, got '2.5'"),
])
def test_bad_model_names_are_config_errors(parse: object, spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(spec)  # type: ignore[operator]
    assert message in str(info.value)


def test_config_accepts_execution_names() -> None:
    assert fbt.Config(execution="next-close").execution is Execution.NEXT_CLOSE
    with pytest.raises(ConfigError, match="next-open"):
        fbt.Config(execution="tomorrow")
    with pytest.raises(ConfigError, match="slippage"):
        fbt.Config(slippage=5.0)  # type: ignore[arg-type]
    assert fbt.Config().is_book and not fbt.Config(execution="next-open").is_book
