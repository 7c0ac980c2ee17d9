"""Walk-forward analysis: optimise in sample, trade out of sample, window after window.

The bars are split by count into consecutive windows (:func:`windows`): in-sample bars
``[s, s + in_sample)`` followed by out-of-sample bars ``[s + in_sample, s + in_sample + out_of_sample)``,
``s`` advancing by ``out_of_sample`` so that the out-of-sample stretches are consecutive and never
overlap (``anchored=True`` keeps every in-sample window starting at bar 0). In each in-sample window
every parameter set runs (one sweep, all windows at once, on any executor); the best by ``metric``
(highest, or lowest for ``max_drawdown`` and ``drawdown_duration``; ties go to the earliest set)
then runs on the out-of-sample bars.

Each out-of-sample run starts flat, from ``capital``, with fresh strategy state on its own bars
only (so indicators warm up inside the window: choose ``out_of_sample`` well above the longest
lookback). The out-of-sample equity curves are stitched by **chaining returns**: window ``k``'s
curve is scaled by ``E[k-1] / capital``, where ``E[k-1]`` is the stitched equity at the end of the
previous window (``E[-1] = capital``), so each window starts where the last one ended. The
stitched statistics follow fbt's definitions (see :func:`fbt.results.stats.sharpe_ratio` and
:func:`fbt.results.stats.drawdowns`); both the in-sample and the out-of-sample statistics of every window
are reported, so that overfitting shows.

>>> [(w.in_sample, w.out_of_sample) for w in windows(10, in_sample=4, out_of_sample=3)]
[((0, 4), (4, 7)), ((3, 7), (7, 10))]
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
from collections.abc import Sequence
from typing import Any, Final

from fbt.core.errors import ConfigError, FbtError
from fbt.core.market import BarData
from fbt.io.outdir import WALK_FORWARD_FOLDER, check_folder
from fbt.kernel.config import Config
from fbt.research.sweep import (
    Constraint,
    Factory,
    GridLike,
    Job,
    Outcome,
    Value,
    _as_grid,
    _unique,
    checked_points,
    engine,
    execute,
    run_config,
    run_key,
    stat_names,
    sweep_progress,
)
from fbt.research.walkforward.result import WalkForward, _assemble
from fbt.research.walkforward.window import Window, windows

__all__ = ["WalkForward", "Window", "walk_forward", "windows"]


#: Statistics where lower is better: walk-forward picks their minimum by default.
LOWER_IS_BETTER: Final = frozenset({"max_drawdown", "drawdown_duration"})


def _metric_value(outcome: Outcome, metric: str) -> float | None:
    if outcome.statistics is None:
        return None
    value = outcome.statistics.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _best(rows: Sequence[tuple[dict[str, Value], Outcome]], metric: str, minimize: bool) -> int | None:
    best: int | None = None
    best_value = math.nan
    for k, (_, outcome) in enumerate(rows):
        value = _metric_value(outcome, metric)
        if value is None:
            continue
        if best is None or (value < best_value if minimize else value > best_value):
            best, best_value = k, value
    return best


def walk_forward(
    strategy: Factory,
    grid: GridLike,
    data: BarData,
    config: Config | None = None,
    *,
    in_sample: int,
    out_of_sample: int,
    metric: str = "sharpe_ratio",
    minimize: bool | None = None,
    anchored: bool = False,
    where: Constraint | None = None,
    executor: cf.Executor | str | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = False,
    connect_timeout: float = 5.0,
    **overrides: Any,
) -> WalkForward:
    """Optimise ``metric`` over ``grid`` in each in-sample window, run the winner out of sample, stitch.

    The arguments are :func:`fbt.sweep`'s, plus the window sizes in bars (see :func:`windows`),
    ``metric`` (a key of ``stats.json``) and ``minimize`` (default: True for ``max_drawdown`` and
    ``drawdown_duration``). With ``out``, the in-sample runs are cached in ``OUT/sweep.jsonl`` (a rerun
    reuses them) and the results written there (:meth:`WalkForward.write`).

    >>> import fbt
    >>> from fbt.sample.data import sample_dir
    >>> data = fbt.load_dir(sample_dir(), ["SYNA"]).head(600)
    >>> wf = walk_forward("fbt.sample.strategies:moving_average_crossover",
    ...                   {"short_window": [5, 10], "long_window": [30, 60]},
    ...                   data, in_sample=300, out_of_sample=150, executor="serial")
    >>> wf.windows[["oos_start_bar", "oos_stop_bar", "short_window", "long_window"]].to_dict("records")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'oos_start_bar': 300, 'oos_stop_bar': 450, 'short_window': 5, 'long_window': 30},
     {'oos_start_bar': 450, 'oos_stop_bar': 600, 'short_window': 10, 'long_window': 30}]
    >>> len(wf.equity), wf.statistics["bars"]
    (300, 300)
    """
    g = _as_grid(grid)
    if not len(g):
        raise ConfigError("grid: expected at least one parameter set, got none")
    if not isinstance(data, BarData):
        raise ConfigError(f"data: expected fbt.BarData (see fbt.load and fbt.load_dir), got {type(data).__name__}")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"metric: expected the name of a statistic, got {metric!r}")
    if out is not None:
        check_folder(out, WALK_FORWARD_FOLDER)  # before anything runs
    lower = metric in LOWER_IS_BETTER if minimize is None else bool(minimize)
    spans = windows(len(data), in_sample=in_sample, out_of_sample=out_of_sample, anchored=anchored)
    shared = run_config(config, data, overrides)
    with engine(strategy, data, executor=executor, workers=workers, out=out,
                connect_timeout=connect_timeout) as (ref, fingerprint, cache, pool):
        g, points = checked_points(g, ref, where)
        keys = {(w.index, k): run_key(fingerprint, ref.name, p, shared, w.in_sample)
                for w in spans for k, p in enumerate(points)}
        jobs = _unique(Job(keys[w.index, k], tuple(p.items()), *w.in_sample) for w in spans
                       for k, p in enumerate(points))
        params_of = {keys[w.index, k]: p for w in spans for k, p in enumerate(points)}
        wanted = set(params_of)
        reused = {key: s for key, s in cache.load().items() if key in wanted}
        bar = sweep_progress(progress, len(jobs))
        try:
            outcomes, _ = execute(jobs, data, fingerprint, ref, shared, pool(len(jobs) - len(reused)),
                                  chunk_size=chunk_size, cache=cache, params_of=params_of, progress=bar,
                                  reused=reused)
        finally:
            if bar is not None:
                bar.close()
        per_window = [[(p, outcomes[keys[w.index, k]]) for k, p in enumerate(points)] for w in spans]
        _check_metric(metric, [o for rows in per_window for _, o in rows])
        chosen = [_best(rows, metric, lower) for rows in per_window]
        oos_jobs = [
            Job(run_key(fingerprint, ref.name, points[c], shared, w.out_of_sample), tuple(points[c].items()),
                *w.out_of_sample, curve=True)
            for w, c in zip(spans, chosen, strict=True) if c is not None
        ]
        oos_params = {j.key: dict(j.params) for j in oos_jobs}
        bar = sweep_progress(progress, len(oos_jobs))
        try:
            oos, _ = execute(oos_jobs, data, fingerprint, ref, shared, pool(len(oos_jobs)), chunk_size=1,
                             cache=cache, params_of=oos_params, progress=bar, reused={})
        finally:
            if bar is not None:
                bar.close()
    oos_outcomes: list[Outcome | None] = []
    it = iter(oos_jobs)
    for c in chosen:
        oos_outcomes.append(oos[next(it).key] if c is not None else None)
    return _assemble(data, spans, g.names, per_window, chosen, oos_outcomes, metric, lower, shared.capital,
                     shared.periods)


def _check_metric(metric: str, outcomes: Sequence[Outcome]) -> None:
    ok = [o for o in outcomes if o.statistics is not None]
    if not ok:
        first = next((o.error for o in outcomes if o.error), "no runs")
        raise FbtError(f"walk-forward: every in-sample run failed; the first: {first}")
    names = stat_names(ok)
    if metric not in names:
        raise ConfigError(f"metric: unknown statistic {metric!r}; the statistics are {', '.join(names)}")
