"""Strategies: pure reducers ``(state, market_event) -> (state, signals)``.

A :class:`Strategy` is built once per run from the run's market data. Building may compute causal
indicators up front (the value at bar ``i`` from bars ``<= i`` only); the lookahead check rebuilds
the strategy on every prefix of the data, so an indicator that peeks is caught. The step function
it returns is called once per bar and must be pure.

>>> from fbt.core.events import SignalEvent, SignalType
>>> def buy_first_bar(state, event):
...     if state:
...         return state, ()
...     return True, (SignalEvent(timestamp=event.timestamp, strategy_id="once", symbol="A",
...                               signal_type=SignalType.LONG),)
>>> s = strategy(buy_first_bar, initial=False, name="once")
>>> s.name
'once'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from fbt.core.events import MarketEvent, SignalEvent
from fbt.core.market import BarData

__all__ = ["StepFunction", "Strategy", "strategy"]

S = TypeVar("S")

#: A strategy's step: ``(state, market_event) -> (new_state, signals)``; signals a tuple or list.
StepFunction = Callable[[S, MarketEvent], tuple[S, Sequence[SignalEvent]]]


@attrs.frozen(kw_only=True)
class Strategy(Generic[S]):
    """A named strategy: ``build(data)`` returns the initial state and the step function.

    ``params`` records the parameters it was made with (for reports and fingerprints).
    ``lookback`` is how many bars before a bar the strategy reads (through its indicators or the
    event's ``latest_values``): streaming runs build it on each chunk with that many earlier bars
    in front. None means undeclared (streaming refuses it).
    """

    name: str
    build: Callable[[BarData], tuple[S, StepFunction[S]]]
    params: tuple[tuple[str, Any], ...] = ()
    lookback: int | None = attrs.field(default=None)

    @lookback.validator
    def _check_lookback(self, attribute: object, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"lookback: expected a whole number >= 0 or None, got {value!r}")


def strategy(
    step: StepFunction[S],
    *,
    initial: S,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    lookback: int | None = None,
) -> Strategy[S]:
    """Make a :class:`Strategy` from a step function that needs nothing computed up front.

    ``lookback``: how many earlier bars the step reads through ``latest_values`` (0 if it reads
    only the current bar); needed for streaming runs.
    """

    def build(data: BarData) -> tuple[S, StepFunction[S]]:
        return initial, step

    return Strategy(
        name=name or str(getattr(step, "__name__", "strategy")),
        build=build,
        params=tuple(sorted((params or {}).items())),
        lookback=lookback,
    )
