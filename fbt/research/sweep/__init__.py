"""Parameter sweeps: one backtest per parameter set, on any executor, resumable and cached.

A run is a pure function of (data, strategy, parameters, configuration), so a grid of runs
parallelises and caches by construction. :func:`sweep` sends the parameter sets to an executor in
chunks and collects one small summary per run (the statistics dict, never an event log):

- ``executor=None`` or ``"local"``: a process pool over the machine's cores; the market data
  reaches each worker once, through the pool's initializer;
- ``"serial"``: in this process, one run after another;
- ``"dask://HOST:PORT"`` or ``"dask-local"`` (the optional extra ``fbt[dask]``), or a
  ``distributed.Client`` / ``client.get_executor()``: the data is scattered to every worker once
  (``client.scatter(data, broadcast=True)``) and each task names it by reference;
- any other :class:`concurrent.futures.Executor`: each task carries the data's fingerprint only;
  a worker that has not seen the data answers "missing" and that chunk is sent again with the data,
  which the worker then keeps (so the data crosses to a worker about once).

Runs are keyed by ``sha256`` of the data's content fingerprint (:func:`fbt.journal.data_fingerprint`),
the strategy's spec, the parameters, the configuration and fbt's version. With ``out``, every
finished run is appended at once to ``OUT/sweep.jsonl``; a rerun reuses the keys found there (a
killed sweep resumes; an identical run is never computed twice) and ``OUT/sweep.csv`` is rewritten
in parameter-index order at the end.

>>> g = grid(short_window=[5, 10], long_window=[20, 40]).where("short_window * 4 <= long_window")
>>> [(p["short_window"], p["long_window"]) for p in g]
[(5, 20), (5, 40), (10, 40)]
"""

from __future__ import annotations

from fbt.research.sweep.cache import CACHE_FILE as CACHE_FILE
from fbt.research.sweep.cache import RESULT_FILE as RESULT_FILE
from fbt.research.sweep.cache import check_params as check_params
from fbt.research.sweep.cache import run_key as run_key
from fbt.research.sweep.core import _unique as _unique
from fbt.research.sweep.core import checked_points as checked_points
from fbt.research.sweep.core import engine as engine
from fbt.research.sweep.core import run_config as run_config
from fbt.research.sweep.core import stat_names as stat_names
from fbt.research.sweep.core import sweep
from fbt.research.sweep.core import text_of as text_of
from fbt.research.sweep.executor import EngineReport as EngineReport
from fbt.research.sweep.executor import execute as execute
from fbt.research.sweep.executor import sweep_progress as sweep_progress
from fbt.research.sweep.space import Constraint as Constraint
from fbt.research.sweep.space import Factory as Factory
from fbt.research.sweep.space import Grid, constraint, grid, grid_points, grid_random
from fbt.research.sweep.space import GridLike as GridLike
from fbt.research.sweep.space import Value as Value
from fbt.research.sweep.space import _as_grid as _as_grid
from fbt.research.sweep.worker import Job as Job
from fbt.research.sweep.worker import Outcome as Outcome
from fbt.research.sweep.worker import slice_bars

__all__ = [
    "Grid",
    "constraint",
    "grid",
    "grid_points",
    "grid_random",
    "slice_bars",
    "sweep",
]
