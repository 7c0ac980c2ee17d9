"""Replay, time travel and diff: rebuild any bar's world exactly, and find where two runs part.

Everything here goes through the one step function of :mod:`fbt.kernel` and
:func:`fbt.kernel.loop.drain`, so a replayed, resumed or time-travelled world cannot disagree with the run:

- :func:`resume` continues a fold from a given world (the split-fold law: folding bars ``[0, k)``
  and resuming over ``[k, n)`` equals one fold over ``[0, n)``);
- :func:`replay` re-runs the strategies of a journal on its data and checks every event against
  the journal, returning the rebuilt final world;
- :func:`state_at` rebuilds the world after any bar from the nearest checkpoint at or before it,
  stepping at most ``checkpoint_every`` bars;
- :func:`events_between` returns the journalled events of a window of bars;
- :func:`diff` finds the first event where two runs or journals differ.

A bar is named by its index (an ``int``) or by a time: a ``pandas.Timestamp``, a ``datetime``, a
``numpy.datetime64`` or text such as ``"2020-01-31"`` or ``"2020-01-31 10:00"``. A time names the
last bar at or before it.
"""

from __future__ import annotations

from fbt.audit.comparison import Diff, describe_event, describe_world, diff, market_fingerprint, same_inputs
from fbt.audit.core import check_inputs, replay
from fbt.audit.travel import Resumed, events_between, resume, state_at, world_after, world_before
from fbt.audit.when import When, bar_of, format_time

__all__ = [
    "Diff",
    "Resumed",
    "When",
    "bar_of",
    "check_inputs",
    "describe_event",
    "describe_world",
    "diff",
    "events_between",
    "format_time",
    "market_fingerprint",
    "replay",
    "resume",
    "same_inputs",
    "state_at",
    "world_after",
    "world_before",
]
