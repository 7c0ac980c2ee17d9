"""fbt's testing kit, shipped to users: hypothesis strategies for fbt's data and laws for strategies.

Needs ``hypothesis`` (``pip install hypothesis``). Test your own strategy in one line a law:

>>> from hypothesis import given, settings
>>> import fbt.testing as ft
>>> from fbt.sample.strategies import moving_average_crossover
>>> @settings(max_examples=5, deadline=None)
... @given(data=ft.bar_data(min_bars=2, max_bars=40))
... def test_my_strategy(data):
...     ft.check_laws(moving_average_crossover(2, 5), data)
>>> test_my_strategy()
"""

from fbt.testing.execution import ohlcv_data, order_terms, signal_scripts
from fbt.testing.laws import (
    LawViolation,
    assert_accounting,
    assert_deterministic,
    assert_no_lookahead,
    assert_split_fold,
    check_laws,
)
from fbt.testing.strategies import (
    ScriptEntry,
    bar_data,
    bars,
    configs,
    fills,
    market_events,
    orders,
    portfolios,
    price_commission,
    prices,
    quantities,
    scenarios,
    scripted,
    scripted_strategies,
    signals,
    timestamps,
)

__all__ = [
    "LawViolation",
    "ScriptEntry",
    "assert_accounting",
    "assert_deterministic",
    "assert_no_lookahead",
    "assert_split_fold",
    "bar_data",
    "bars",
    "check_laws",
    "configs",
    "fills",
    "market_events",
    "ohlcv_data",
    "order_terms",
    "orders",
    "portfolios",
    "price_commission",
    "prices",
    "quantities",
    "scenarios",
    "scripted",
    "scripted_strategies",
    "signal_scripts",
    "signals",
    "timestamps",
]
