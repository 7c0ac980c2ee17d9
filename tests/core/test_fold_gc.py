"""The fold pauses the cycle collector but does not let a strategy's cyclic garbage pile up."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np

import fbt
import fbt.kernel.fast
from fbt.core.events import MarketEvent
from fbt.kernel.loop import fold, paused_gc


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_cyclic_garbage_made_by_a_strategy_is_collected_during_the_fold(monkeypatch: Any) -> None:
    monkeypatch.setattr(fbt.kernel.fast, "YOUNG_LIMIT", 1_000)
    alive: list[weakref.ref[_Node]] = []

    def step(state: int, event: MarketEvent) -> tuple[int, tuple[()]]:
        node = _Node()
        alive.append(weakref.ref(node))
        return state + 1, ()

    n = 20_000
    data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(n, dtype=np.int64),
                                    columns={"close": np.ones((1, n))})
    with paused_gc():
        run = fold([fbt.strategy(step, initial=0)], data, checkpoint_every=500)
        still = sum(r() is not None for r in alive)
    assert run.final.strategies == (n,)
    assert still < n // 2  # most of the cycles were freed while the collector was paused
    assert gc.isenabled()
