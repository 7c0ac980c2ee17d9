"""Replaying a journal: rerunning its inputs and checking the events match."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from fbt.core.market import BarData
from fbt.core.state import World
from fbt.core.strategy import Strategy
from fbt.journal import (
    Journal,
    JournalError,
    JournalHeader,
    config_text,
    data_fingerprint,
    fbt_version,
    read_journal,
    strategy_label,
    strategy_text,
)
from fbt.kernel.config import Config
from fbt.kernel.loop import Run, fold

# --- replay -------------------------------------------------------------------------------------


def replay(
    journal: Journal | str | os.PathLike[str],
    data: BarData | None,
    strategies: Strategy[Any] | Sequence[Strategy[Any]],
    *,
    config: Config | None = None,
) -> World:
    """Refold a journal's run through the reducers and return its rebuilt final world, exactly.

    The journal (a :class:`~fbt.journal.Journal`, a file or an output folder) must name the same
    inputs: the data's content, the strategies' names and parameters, and the configuration, each
    checked first. The strategies are then run on the data's bars and every event they cause is
    checked against the journal in order; the first difference is a :class:`~fbt.journal.JournalError`
    naming its ``seq``, bar and both versions. ``data=None`` replays a journal holding its bars
    inline (a live session's).
    """
    j = journal if isinstance(journal, Journal) else read_journal(journal)
    chosen = (strategies,) if isinstance(strategies, Strategy) else tuple(strategies)
    config = config or Config()
    header = j.header
    if header.fbt_version != fbt_version():
        raise JournalError(f"the journal was written by fbt {header.fbt_version}; this is fbt {fbt_version()}: "
                           f"replay needs the fbt version that made the journal (its reducers may differ)")
    if data is None:
        data = j.market_data()
    elif j.markets and data_fingerprint(j.market_data()) != data_fingerprint(data):
        raise JournalError("the data given differs from the bars journalled inline")
    check_inputs(header, chosen, data, config)
    run = fold(chosen, data, config)
    _check_events(j, run)
    return run.final


def check_inputs(header: JournalHeader, strategies: Sequence[Strategy[Any]], data: BarData, config: Config) -> None:
    """Raise a JournalError saying which input (data, strategies, configuration) differs from the journal's."""
    problems = []
    if tuple(data.symbols) != header.symbols:
        problems.append(f"symbols: the journal has {', '.join(header.symbols)}, the data has {', '.join(data.symbols)}")
    if header.n_bars is not None and header.n_bars != len(data):
        problems.append(f"bars: the journal has {header.n_bars}, the data has {len(data)}")
    if header.data_fingerprint is not None and header.data_fingerprint != data_fingerprint(data):
        problems.append(f"market data: the journal was written for data {header.data_fingerprint[:12]}, the data "
                        f"given is {data_fingerprint(data)[:12]} (other prices, times or bars)")
    texts = tuple(strategy_text(s) for s in strategies)
    if texts != header.strategies:
        given = ", ".join(strategy_label(_loads(t)) for t in texts)
        problems.append(f"strategies: the journal has {', '.join(header.strategy_labels())}, given {given}")
    given_config = config_text(config)
    if given_config != header.config:
        was, now = _loads(header.config), _loads(given_config)
        changed = [f"{k} {_short(was.get(k))} -> {_short(now.get(k))}" for k in sorted(set(was) | set(now))
                   if was.get(k) != now.get(k)]
        problems.append(f"configuration: {'; '.join(changed)}")
    if problems:
        raise JournalError("the journal does not match the inputs given: " + "; ".join(problems))


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def _short(value: object) -> str:
    if isinstance(value, dict) and set(value) == {"callable"}:
        return str(value["callable"])
    return repr(value)


def _check_events(j: Journal, run: Run) -> None:
    expected, made = j.events, run.events
    ebars, mbars = j.event_bars, run.event_bars
    common = min(len(expected), len(made))
    differ = np.flatnonzero(ebars[:common] != mbars[:common])
    limit = int(differ[0]) if differ.size else common
    for k in range(limit):
        if expected[k] != made[k]:
            limit = k
            break
    if limit == common and len(expected) == len(made):
        return
    k = limit
    if k < common:
        raise JournalError(
            f"replay diverges at seq {k}: the journal has {expected[k]!r} at bar {int(ebars[k])}, the replay made "
            f"{made[k]!r} at bar {int(mbars[k])}"
        )
    if k < len(expected):
        raise JournalError(f"replay diverges at seq {k}: the journal has {expected[k]!r} at bar {int(ebars[k])}, "
                           f"the replay made no more events ({len(made)} in all)")
    raise JournalError(f"replay diverges at seq {k}: the replay made {made[k]!r} at bar {int(mbars[k])}, the journal "
                       f"ends after {len(expected)} events")
