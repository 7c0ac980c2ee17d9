"""Markets beyond stocks: contract multipliers (futures), tick sizes, fractional FX units.

- hand examples: an ES round trip (multiplier 50), the same in book mode, an FX trade in fractional
  units on a 0.00001 grid, the CLI's ``--instrument``;
- properties: multiplier m with quantity q equals multiplier 1 with quantity m * q in P&L (no
  commission); tick-rounded fills lie on the grid and inside the bar's range unless slippage moved
  them; with random multipliers and ticks the derived curve still equals the reducers at every bar
  (in ``test_execution_properties`` and ``tests/core/test_fold``);
- the defaults change nothing: an all-default instrument runs the book's fast path, bit for bit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.cli.app import main
from fbt.core.errors import ConfigError
from fbt.core.events import FillEvent, OrderEvent, OrderTerms, OrderType, SignalType
from fbt.kernel.config import Config
from fbt.kernel.context import scaled_bars
from fbt.kernel.loop import fold
from fbt.models.instrument import round_to_tick, tick_fill_price, tick_level
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover
from fbt.testing import ohlcv_data, scripted, signal_scripts
from tests.execution.support import F, bars_from, events_of

ES = fbt.Instrument(multiplier=50, tick_size=0.25)

#: ES daily bars (open, high, low, close, volume): buy at bar 1's open, sell at bar 3's open.
ES_ROWS = [(4500.0, 4510.0, 4490.0, 4505.0, 1e6), (4506.25, 4520.0, 4500.0, 4515.5, 1e6),
           (4515.0, 4530.0, 4510.0, 4528.0, 1e6), (4527.75, 4540.0, 4520.0, 4535.0, 1e6)]


def _es_run(**options: Any) -> fbt.Result:
    data = bars_from(ES_ROWS, symbol="ES")
    script = [(0, 0, SignalType.LONG, 1.0, None), (2, 0, SignalType.EXIT, 1.0, None)]
    options = {"execution": "next-open", "quantity": 2, "commission": fbt.PerShare(rate=2.25),
               "instruments": {"ES": ES}, **options}
    return fbt.run(scripted("es", script), data, capital=1_000_000.0, **options)


# --- hand examples --------------------------------------------------------------------------------


def test_a_futures_round_trip_gains_the_multiplier_times_the_price_change() -> None:
    result = _es_run()
    fills = result.fills
    assert fills["price"].tolist() == [4506.25, 4527.75] and fills["commission"].tolist() == [4.5, 4.5]
    gross = 50 * (4527.75 - 4506.25) * 2  # 2,150.00: 21.5 points on two contracts of 50 USD a point
    assert result.stats["final_equity"] == 1_000_000.0 + gross - 9.0 == 1_002_141.0
    trade = result.trades.iloc[0]
    assert (trade["pnl"], trade["net_pnl"], trade["entry_price"], trade["exit_price"]) == (
        2_150.0, 2_141.0, 4506.25, 4527.75)
    equity = result.equity  # marked at the close, times 50: bar 1 holds 2 x 4515.5 x 50
    assert equity["ES_holdings"].tolist() == [0.0, 2 * 4515.5 * 50, 2 * 4528.0 * 50, 0.0]
    assert equity["cash"].iloc[1] == 1_000_000.0 - 2 * 4506.25 * 50 - 4.5


def test_the_futures_round_trip_in_book_mode_and_its_ledger() -> None:
    result = _es_run(execution="book", instruments={"ES": fbt.Instrument(multiplier=50)})
    assert result.fills["price"].tolist() == [4505.0, 4528.0]  # at once at adj_close
    assert result.stats["final_equity"] == 1_000_000.0 + 50 * 23.0 * 2 - 9.0
    positions = result.positions
    assert positions.loc["ES", "realised"] == 2_300.0 and positions.loc["ES", "market_value"] == 0.0


def test_an_open_futures_position_is_valued_times_the_multiplier() -> None:
    data = bars_from(ES_ROWS, symbol="ES")
    result = fbt.run(scripted("es", [(0, 0, SignalType.LONG, 1.0, None)]), data, quantity=1,
                     commission=fbt.zero_commission, execution="next-open", instruments={"ES": ES},
                     capital=1_000_000.0, risk=fbt.Risk(cash_check=False))
    p = result.positions.loc["ES"]
    assert (p["market_value"], p["unrealised"]) == (4535.0 * 50, (4535.0 - 4506.25) * 50)
    rows = result.ledgers
    assert rows.unrealised[0].tolist() == [0.0, (4515.5 - 4506.25) * 50, (4528.0 - 4506.25) * 50,
                                           (4535.0 - 4506.25) * 50]


def test_sizing_from_cash_divides_by_the_contract_value() -> None:
    result = _es_run(sizing=fbt.FixedCash(amount=500_000), commission=fbt.zero_commission)
    assert result.fills["quantity"].tolist() == [2.0, 2.0]  # 500,000 / (4505 * 50) = 2.2 -> 2 contracts


def test_a_value_commission_charges_on_the_notional() -> None:
    result = _es_run(commission=fbt.PercentOfValue(rate=0.0001))
    assert result.fills["commission"].iloc[0] == pytest.approx(0.0001 * 2 * 4506.25 * 50)


def test_an_fx_trade_in_fractional_units_on_a_pip_grid() -> None:
    # EURUSD, quantity in euros, prices in dollars per euro; a 0.1-pip grid (0.00001)
    rows = [(1.08000, 1.08120, 1.07950, 1.08100, 1e9), (1.081234, 1.08300, 1.08050, 1.08250, 1e9),
            (1.08260, 1.08500, 1.08200, 1.08480, 1e9), (1.08471, 1.08600, 1.08400, 1.08550, 1e9)]
    data = bars_from(rows, symbol="EURUSD")
    script = [(0, 0, SignalType.LONG, 1.0, None), (2, 0, SignalType.EXIT, 1.0, None)]
    result = fbt.run(scripted("fx", script), data, capital=10_000.0, execution="next-open",
                     commission=fbt.zero_commission, sizing=fbt.PercentOfEquity(percent=50),
                     slippage=fbt.FixedBps(bps=0.1), risk=fbt.Risk(fractional=True),
                     instruments={"EURUSD": fbt.Instrument(tick_size=0.00001)})
    buy, sell = result.fills.itertuples()  # type: ignore[misc]
    assert buy.quantity == pytest.approx(5_000 / 1.081) and buy.quantity != round(buy.quantity)
    # buy: 1.081234 + 0.1 bp = 1.0812448..., rounded up to 1.08125; sell: 1.08471 - 0.1 bp = 1.0846991...,
    # rounded down to 1.08469 — both against the trader
    assert (buy.price, sell.price) == (pytest.approx(1.08125, abs=1e-12), pytest.approx(1.08469, abs=1e-12))
    pnl = buy.quantity * (sell.price - buy.price)
    assert result.stats["final_equity"] == pytest.approx(10_000.0 + pnl, abs=1e-9)
    assert pnl == pytest.approx(15.91, abs=0.01)  # 4,625.35 EUR x 34.4 pips


def test_tick_rounding_rounds_limit_and_stop_levels_to_keep_their_promise() -> None:
    data = bars_from(ES_ROWS, symbol="ES")
    terms = OrderTerms(order_type=OrderType.LMT, limit_price=4512.6, stop_loss=4480.1, take_profit=4560.3)
    result = fbt.run(scripted("es", [(0, 0, SignalType.LONG, 1.0, terms)]), data, quantity=1,
                     execution="next-open", instruments={"ES": ES}, capital=1_000_000.0)
    orders = [o for _, o in events_of(result.run, OrderEvent)]
    assert orders[0].conditions is not None and orders[0].conditions.limit_price == 4512.5  # buy limit: down
    assert orders[1].conditions is not None and orders[1].conditions.stop_price == 4480.0  # sell stop: down
    assert orders[2].conditions is not None and orders[2].conditions.limit_price == 4560.5  # sell limit: up


def test_book_mode_refuses_a_tick_size_and_unknown_symbols_are_errors() -> None:
    with pytest.raises(ConfigError, match=r"tick_size \(ES\): book mode fills at once .* next-open or next-close"):
        Config(instruments={"ES": ES})
    data = bars_from(ES_ROWS, symbol="ES")
    with pytest.raises(ConfigError, match="instruments: unknown symbol 'NQ'; the data has ES"):
        fbt.run(scripted("es", []), data, instruments={"NQ": fbt.Instrument(multiplier=20)})
    with pytest.raises(ConfigError, match="multiplier: expected a positive finite number"):
        fbt.Instrument(multiplier=-50)
    with pytest.raises(ConfigError, match="tick_size: expected a positive finite number or None"):
        fbt.Instrument(tick_size=0)


def test_default_instruments_keep_the_book_fast_path_bit_for_bit() -> None:
    data = fbt.load_dir(sample_dir())
    plain = fbt.run(moving_average_crossover(5, 20), data)
    stocks = {s: fbt.Instrument() for s in data.symbols}
    same = fbt.run(moving_average_crossover(5, 20), data, instruments=stocks)
    assert Config(instruments=stocks).is_book
    assert not Config(instruments={"SYNA": fbt.Instrument(multiplier=2)}).is_book
    assert same.run.events == plain.run.events and same.run.context.multipliers is None
    assert same.curve.total.tolist() == plain.curve.total.tolist()
    assert same.statistics["final_equity"] == plain.statistics["final_equity"]


def test_the_command_line_takes_instruments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bars_from(ES_ROWS, symbol="ES")
    csv = tmp_path / "ES.csv"
    rows = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    for k, (o, h, low, c, v) in enumerate(ES_ROWS):
        rows.append(f"2010-01-{k + 1:02d},{o},{h},{low},{c},{c},{v}")
    csv.write_text("\n".join(rows) + "\n")
    strategy = tmp_path / "s.py"
    strategy.write_text(
        "import fbt\n"
        "def buy_then_exit():\n"
        "    def step(state, event):\n"
        "        kind = {0: fbt.SignalType.LONG, 2: fbt.SignalType.EXIT}.get(event.index)\n"
        "        signals = () if kind is None else (fbt.SignalEvent(timestamp=event.timestamp, strategy_id='s',\n"
        "                                                       symbol='ES', signal_type=kind),)\n"
        "        return state, signals\n"
        "    return fbt.strategy(step, initial=None, name='buy_then_exit')\n")
    out = tmp_path / "out"
    code = main(["run", f"{strategy}:buy_then_exit", "--data", f"ES={csv}", "--execution", "next-open",
                 "--instrument", "ES:multiplier=50,tick=0.25", "--commission", "per-share:2.25", "--no-cash-check",
                 "--capital", "1000000", "--out", str(out)])
    assert code == 0 and len(data) == 4
    printed = capsys.readouterr().out
    assert "Instruments ES(multiplier=50, tick=0.25)" in printed
    stats = json.loads((out / "stats.json").read_text())
    assert stats["final_equity"] == 1_000_000.0 + 50 * (4527.75 - 4506.25) * 100 - 2 * 225.0
    assert stats["instruments_model"] == "ES(multiplier=50, tick=0.25)"
    assert main(["run", f"{strategy}:buy_then_exit", "--data", f"ES={csv}", "--instrument", "ES:mult=50"]) == 2
    assert "unknown parameter 'mult'; did you mean 'multiplier'?" in capsys.readouterr().err


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=60)
@given(data=ohlcv_data(), m=st.sampled_from([2.0, 50.0, 0.1, 1_000.0, 12.5]),
       q=st.sampled_from([1.0, 3.0, 0.5]), execution=st.sampled_from(list(fbt.Execution)), st_data=st.data())
def test_multiplier_m_with_quantity_q_is_multiplier_1_with_quantity_m_q(
    data: fbt.BarData, m: float, q: float, execution: fbt.Execution, st_data: st.DataObject,
) -> None:
    script = st_data.draw(signal_scripts(data, terms=execution is not fbt.Execution.BOOK))
    strategies = (scripted("s", script),)
    # zero slippage keeps both runs on the simulated broker: with every multiplier 1 the other would be the book's
    # engine, which sizes a bar's second signal without the first's order (as the textbook does)
    common = {"commission": fbt.zero_commission, "execution": execution, "risk": fbt.Risk(cash_check=False),
              "slippage": fbt.FixedBps(bps=0)}
    futures = {symbol: fbt.Instrument(multiplier=m) for symbol in data.symbols}
    a = fbt.run(list(strategies), data, quantity=q, instruments=futures, **common)
    b = fbt.run(list(strategies), data, quantity=m * q, **common)
    scale = 1.0 + float(np.nanmax(data.values[F["adj_close"]])) * m * q * 30
    tolerance = 1e-9 * scale
    assert a.curve.total == pytest.approx(b.curve.total, abs=tolerance)
    assert a.statistics["final_equity"] == pytest.approx(b.statistics["final_equity"], abs=tolerance)
    assert float(a.trades["pnl"].sum()) == pytest.approx(float(b.trades["pnl"].sum()), abs=tolerance)


def _on_grid(price: float, tick: float) -> bool:
    steps = price / tick
    return abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps))


@settings(max_examples=300)
@given(price=st.floats(0.01, 10_000.0), tick=st.sampled_from([0.25, 0.01, 0.00001, 0.5, 1.0, 0.03125]),
       sign=st.sampled_from([1, -1]), below=st.floats(0.0, 5.0), above=st.floats(0.0, 5.0))
def test_a_tick_rounded_fill_is_on_the_grid_adverse_and_inside_the_bar(
    price: float, tick: float, sign: int, below: float, above: float,
) -> None:
    low, high = price - below, price + above
    rounded = tick_fill_price(price, tick, sign=sign, low=low, high=high)
    has_tick = math.floor(high / tick + 1e-9) * tick >= low - 1e-9 * tick
    slack = 1e-9 * max(tick, abs(price))
    assert low - slack <= rounded <= high + slack  # a price inside the bar stays inside it
    if has_tick:
        assert _on_grid(rounded, tick)
    adverse = round_to_tick(price, tick, sign > 0)
    if low - slack <= adverse <= high + slack:  # no clamp needed: rounded against the trader, by < 1 tick
        assert rounded == adverse and 0 <= sign * (rounded - price) < tick + slack
    outside = tick_fill_price(high + above + tick / 3, tick, sign=sign, low=low, high=high)
    assert _on_grid(outside, tick) and sign * (outside - (high + above + tick / 3)) >= -slack  # no clamp
    assert tick_level(price, tick, buy=sign > 0, limit=True) * sign <= price * sign + slack


@st.composite
def ticked_scenarios(draw: st.DrawFn) -> tuple[fbt.BarData, Any, Config]:
    data = draw(ohlcv_data())
    strategies = tuple(scripted(f"s{k}", draw(signal_scripts(data))) for k in range(draw(st.integers(1, 2))))
    instruments = {s: fbt.Instrument(multiplier=draw(st.sampled_from([1.0, 50.0, 0.5])),
                                     tick_size=draw(st.sampled_from([0.25, 0.01, 0.03]))) for s in data.symbols}
    config = Config(execution=draw(st.sampled_from([fbt.Execution.NEXT_OPEN, fbt.Execution.NEXT_CLOSE])),
                    slippage=draw(st.sampled_from([None, fbt.FixedBps(bps=10), fbt.HalfSpread(spread=0.02)])),
                    capital=1e7, instruments=instruments, commission=fbt.PerShare(rate=1.0))
    return data, strategies, config


@settings(max_examples=80)
@given(scenario=ticked_scenarios())
def test_ticked_fills_lie_on_the_grid_and_in_the_bar_unless_slippage_moved_them(scenario: Any) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    scaled = scaled_bars(data)
    ticks = dict(config.instruments)
    for bar, f in events_of(run, FillEvent):
        s = data.symbols.index(f.symbol)
        tick = ticks[f.symbol].tick_size
        low, high = float(scaled[2, s, bar]), float(scaled[1, s, bar])
        slack = 1e-9 * max(abs(high), 1.0)
        has_tick = math.floor(high / tick + 1e-9) * tick >= low - 1e-9 * tick
        if has_tick or f.price < low - slack or f.price > high + slack:
            assert _on_grid(f.price, tick)
        if config.slippage is None:
            assert low - slack <= f.price <= high + slack
        base = f.price - f.direction.sign * f.slippage  # the rounding counts as slippage: base is in the bar
        assert low - slack <= base <= high + slack and f.slippage >= 0
    assert attrs.evolve(config, instruments={}).is_book is False  # next-open: never the book's fast path
