"""Multi-asset: a periodic rebalance to target weights across several symbols.

Every ``every`` bars (from the first bar on which every symbol has a price) the strategy signals,
for each symbol with a positive target weight, LONG with ``strength = weight``; for a symbol whose
weight is 0 that it holds, EXIT. Run it with the target-weight sizing model, which turns a LONG of
strength ``w`` into an order for the difference between the position and ``w * equity / price``
units — so each signal day rebalances the book to its weights:

    fbt run examples/rebalance.py:rebalance --data DIR --sizing target-weight --param every=21
    fbt run examples/rebalance.py:rebalance --data DIR --sizing target-weight \\
        --param weights=ORCL:0.5,NVDA:0.3,YHOO:0.2

``weights`` is ``SYMBOL:WEIGHT,...`` (the rest get 0) or empty for equal weights. With ``top=k``
the weights are recomputed at each rebalance: equal weights on the ``k`` symbols with the best
return over the last ``lookback`` bars (a momentum rotation), 0 on the others. Under the book's
naive sizing (no ``--sizing``) a LONG buys 100 units from flat and nothing more, so the weights
are not kept: use ``target-weight``.
"""

from __future__ import annotations

import numpy as np

import fbt
from fbt.core.strategy import StepFunction

__all__ = ["parse_weights", "rebalance"]


def parse_weights(text: str, symbols: tuple[str, ...]) -> dict[str, float]:
    """Read ``SYMBOL:WEIGHT,...`` (missing symbols weigh 0); empty text gives equal weights.

    >>> parse_weights("A:0.6,B:0.4", ("A", "B", "C"))
    {'A': 0.6, 'B': 0.4, 'C': 0.0}
    >>> parse_weights("", ("A", "B"))
    {'A': 0.5, 'B': 0.5}
    """
    if not text.strip():
        return {s: 1.0 / len(symbols) for s in symbols}
    weights = dict.fromkeys(symbols, 0.0)
    for item in text.split(","):
        name, sep, value = item.partition(":")
        if not sep or name.strip() not in weights:
            raise ValueError(f"weights: expected SYMBOL:WEIGHT for symbols of the data ({', '.join(symbols)}), "
                             f"got {item!r}")
        weight = float(value)
        if not 0 <= weight <= 1:
            raise ValueError(f"weights: expected a weight from 0 to 1, got {item!r}")
        weights[name.strip()] = weight
    if sum(weights.values()) > 1 + 1e-9:
        raise ValueError(f"weights: expected weights summing to at most 1, got {sum(weights.values()):g}")
    return weights


def rebalance(every: int = 21, weights: str = "", top: int = 0, lookback: int = 126) -> fbt.Strategy:
    """Return the periodic rebalancing strategy; its state is the set of symbols it holds, as flags."""
    for name, value, low in (("every", every, 1), ("top", top, 0), ("lookback", lookback, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: expected a whole number >= {low}, got {value!r}")
    strategy_id = "rebalance"

    def build(data: fbt.BarData) -> tuple[tuple[bool, ...], StepFunction[tuple[bool, ...]]]:
        symbols = data.symbols
        fixed = parse_weights(weights, symbols)
        start = max(data.first) if symbols else 0
        prices = [data.column(s, "adj_close") for s in symbols]

        def targets(i: int) -> list[float]:
            if not top:
                return [fixed[s] for s in symbols]
            if i - lookback < start:
                return [0.0] * len(symbols)
            past = np.array([p[i] / p[i - lookback] - 1.0 for p in prices])
            chosen = set(np.argsort(-past, kind="stable")[:top].tolist())
            return [1.0 / top if k in chosen else 0.0 for k in range(len(symbols))]

        def step(
            held: tuple[bool, ...], event: fbt.MarketEvent
        ) -> tuple[tuple[bool, ...], tuple[fbt.SignalEvent, ...]]:
            i = event.index
            if i < start or (i - start) % every:
                return held, ()
            signals: list[fbt.SignalEvent] = []
            now = list(held)
            for k, weight in enumerate(targets(i)):
                if weight > 0:
                    signals.append(fbt.SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id,
                                                   symbol=symbols[k], signal_type=fbt.SignalType.LONG, strength=weight))
                    now[k] = True
                elif held[k]:
                    signals.append(fbt.SignalEvent(timestamp=event.timestamp, strategy_id=strategy_id,
                                                   symbol=symbols[k], signal_type=fbt.SignalType.EXIT))
                    now[k] = False
            # sales first, so that a rebalance frees cash before it spends it
            signals.sort(key=lambda s: s.signal_type is not fbt.SignalType.EXIT)
            return tuple(now), tuple(signals)

        return (False,) * len(symbols), step

    params = (("every", every), ("lookback", lookback), ("top", top), ("weights", weights))
    return fbt.Strategy(name=strategy_id, build=build, params=params)
