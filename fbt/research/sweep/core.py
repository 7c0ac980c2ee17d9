"""The sweep itself: :func:`sweep` and :func:`engine`, and the rows they write."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pandas as pd

from fbt.backtest.result import configure
from fbt.core.errors import ConfigError
from fbt.core.market import BarData
from fbt.io.outdir import SWEEP_FOLDER, check_folder, output_folder
from fbt.kernel.config import Config
from fbt.research.sweep.cache import CACHE_FILE, RESULT_FILE, StrategyRef, _Cache, check_params, run_key, strategy_ref
from fbt.research.sweep.executor import _open_pool, _Pool, execute, sweep_progress
from fbt.research.sweep.space import Constraint, Factory, Grid, GridLike, Value, _as_grid
from fbt.research.sweep.worker import _DATA, _FACTORIES, _LAST_SLICE, Job, Outcome, RunConfig, _describe

# --------------------------------------------------------------------------------------------------
# The public entry point


#: the fields a sweep's cache key names on their own; the others travel as sorted ``options``
_SHARED = ("capital", "quantity", "commission", "periods")


def run_config(config: Config | None, data: BarData | None, overrides: Mapping[str, Any]) -> RunConfig:
    """Check the configuration every run of a sweep shares and return its wire form.

    ``config`` and ``overrides`` are :func:`fbt.run`'s (checked as it checks them, ``periods="auto"``
    resolved against ``data``). The wire form names capital, quantity, commission and periods, then
    every other field that was given (as an override, or set away from its default in ``config``)
    as sorted ``options``: what the cache key hashes and what workers rebuild the
    :class:`~fbt.kernel.config.Config` from.

    >>> run_config(None, None, {"execution": "next-open"}).options
    (('execution', 'next-open'),)
    >>> run_config(Config(risk_free=0.02), None, {}).options
    (('risk_free', 0.02),)
    """
    given = dict(overrides)
    legacy = given.pop("run_options", None)  # the earlier spelling: a mapping of further fbt.run arguments
    if legacy is not None:
        if not isinstance(legacy, Mapping):
            raise ConfigError(f"run_options: expected a mapping of fbt.run arguments, got {type(legacy).__name__}")
        given.update(legacy)
    full = configure(config, data, **given)
    base = config if config is not None else Config()
    defaults = Config()
    options = {a.name: getattr(base, a.name) for a in attrs.fields(Config)
               if a.name not in _SHARED and getattr(base, a.name) != getattr(defaults, a.name)}
    options.update((k, v) for k, v in given.items() if k not in _SHARED)
    periods = given.get("periods", base.periods)
    return RunConfig(capital=full.capital, quantity=given.get("quantity", base.quantity), commission=full.commission,
                     periods=full.periods if isinstance(periods, str) else periods,
                     options=tuple(sorted(options.items())))


def checked_points(g: Grid, ref: StrategyRef, where: Constraint | None) -> tuple[Grid, list[dict[str, Value]]]:
    """Check the grid's names against the factory, filter it by ``where`` (refusing a filter that keeps
    nothing) and return the grid kept and its parameter sets in order."""
    check_params(ref.factory, g.names)
    if where is not None:
        kept = g.where(where)
        if not len(kept):
            raise ConfigError(f"where: {where if isinstance(where, str) else 'the constraint'!r} filters out "
                              f"all {len(g)} parameter sets")
        g = kept
    return g, list(g)


def _unique(jobs: Iterable[Job]) -> list[Job]:
    seen: set[str] = set()
    unique = []
    for job in jobs:
        if job.key not in seen:
            seen.add(job.key)
            unique.append(job)
    return unique


def _check_sendable(ref: StrategyRef, executor: cf.Executor | str | None) -> None:
    if isinstance(ref.ref, str) or executor == "serial" or isinstance(executor, cf.ThreadPoolExecutor):
        return
    if executor is None or executor == "local" or isinstance(executor, cf.ProcessPoolExecutor):
        import pickle

        try:
            pickle.dumps(ref.ref)
        except Exception as exc:
            raise ConfigError(
                f"strategy: {ref.name} cannot be sent to worker processes ({_describe(exc)}); define the factory "
                "at the top level of a module, pass its spec 'path/to/file.py:factory', or use executor='serial'"
            ) from None


@contextlib.contextmanager
def engine(
    strategy: Factory,
    data: BarData,
    *,
    executor: cf.Executor | str | None,
    workers: int | None,
    out: str | os.PathLike[str] | None,
    connect_timeout: float,
) -> Iterator[tuple[StrategyRef, str, _Cache, Callable[[int], _Pool]]]:
    """Set up what a sweep or a walk-forward needs; the pool is opened lazily, only if there is work."""
    if not isinstance(data, BarData):
        raise ConfigError(f"data: expected fbt.BarData (see fbt.load and fbt.load_dir), got {type(data).__name__}")
    from fbt.journal import data_fingerprint

    ref = strategy_ref(strategy)
    fingerprint = data_fingerprint(data)
    cache = _Cache(Path(out) if out is not None else None)
    pools: list[_Pool] = []

    def pool(jobs: int) -> _Pool:
        if not pools:
            _check_sendable(ref, executor)
            if jobs == 0:
                return _Pool(None, 1, "nothing to run")
            pools.append(_open_pool(executor, workers, data, fingerprint, connect_timeout, jobs))
        return pools[0]

    known = _FACTORIES.get(ref.ref) if isinstance(ref.ref, str) else None
    if isinstance(ref.ref, str):
        _FACTORIES[ref.ref] = ref.factory  # in this process (serial, threads, forked workers): no re-import
    cache.open()
    try:
        yield ref, fingerprint, cache, pool
    finally:
        cache.close()
        for p in pools:
            p.close()
        _DATA.pop(fingerprint, None)
        _LAST_SLICE.clear()
        if isinstance(ref.ref, str):
            if known is None:
                _FACTORIES.pop(ref.ref, None)
            else:
                _FACTORIES[ref.ref] = known


def sweep(
    strategy: Factory,
    grid: GridLike,
    data: BarData,
    config: Config | None = None,
    *,
    where: Constraint | None = None,
    executor: cf.Executor | str | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = False,
    connect_timeout: float = 5.0,
    **overrides: Any,
) -> pd.DataFrame:
    """Run one backtest per parameter set; return one row per set, in the grid's order.

    ``strategy`` is a factory returning an :class:`fbt.Strategy` (called with each set as keyword
    arguments) or its spec ``path/to/file.py:factory`` / ``package.module:factory``. ``grid`` is a
    :class:`Grid` (:func:`grid`, :func:`grid_points`, :func:`grid_random`), a mapping of names to
    value lists (their product) or a list of dicts. ``where`` (an expression over the names, see
    :func:`constraint`, or a predicate) filters the grid before anything runs.

    ``executor``: None or ``"local"`` (processes over the machine's cores, ``workers`` of them),
    ``"serial"``, ``"dask://HOST:PORT"``, ``"dask-local"``, a ``distributed.Client``, or any
    :class:`concurrent.futures.Executor`. ``chunk_size`` parameter sets travel together (default:
    about eight chunks per worker, at most 64 sets each). With ``out``, finished runs are appended
    to ``OUT/sweep.jsonl`` as they land and reused on a rerun; ``OUT/sweep.csv`` is written at the end,
    the folder swapped whole (:func:`fbt.io.outdir.output_folder`; the cache is carried over).

    Columns: the parameter names, then every statistic under the keys of ``stats.json``, then
    ``error`` (None, or why that run failed; the sweep goes on). ``frame.attrs`` holds ``computed``,
    ``reused``, ``failed``, ``data_sends`` and ``seconds``.

    >>> import fbt
    >>> from fbt.sample.data import sample_dir
    >>> data = fbt.load_dir(sample_dir(), ["SYNA"]).head(300)
    >>> frame = sweep("fbt.sample.strategies:moving_average_crossover",
    ...               {"short_window": [5, 10], "long_window": [20, 50]},
    ...               data, where="short_window < long_window", executor="serial")
    >>> frame[["short_window", "long_window", "fills"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'short_window': 5, 'long_window': 20, 'fills': 19}, {'short_window': 5, 'long_window': 50, 'fills': 13},
     {'short_window': 10, 'long_window': 20, 'fills': 19}, {'short_window': 10, 'long_window': 50, 'fills': 11}]
    """
    g = _as_grid(grid)
    if not len(g):
        raise ConfigError("grid: expected at least one parameter set, got none")
    if out is not None:
        check_folder(out, SWEEP_FOLDER)  # before anything runs
    shared = run_config(config, data, overrides)
    with engine(strategy, data, executor=executor, workers=workers, out=out,
                connect_timeout=connect_timeout) as (ref, fingerprint, cache, pool):
        g, points = checked_points(g, ref, where)
        keys = [run_key(fingerprint, ref.name, p, shared) for p in points]
        jobs = _unique(Job(k, tuple(p.items()), 0, len(data)) for k, p in zip(keys, points, strict=True))
        wanted = {j.key for j in jobs}
        reused = {k: s for k, s in cache.load().items() if k in wanted}
        bar = sweep_progress(progress, len(jobs))
        try:
            outcomes, tally = execute(jobs, data, fingerprint, ref, shared, pool(len(jobs) - len(reused)),
                                      chunk_size=chunk_size, cache=cache, progress=bar, reused=reused,
                                      params_of=dict(zip(keys, points, strict=True)))
        finally:
            if bar is not None:
                bar.close()
    rows = [(p, outcomes[k]) for p, k in zip(points, keys, strict=True)]
    frame = _frame(g.names, rows)
    frame.attrs.update(attrs.asdict(tally))
    frame.attrs["failed"] = sum(o.error is not None for _, o in rows)
    if out is not None:  # the folder is replaced whole; the cache, appended in place as runs finished, carried over
        with output_folder(out, SWEEP_FOLDER, carry=(CACHE_FILE,)) as folder:
            write_rows(folder / RESULT_FILE, g.names, rows)
    return frame


def stat_names(outcomes: Iterable[Outcome]) -> list[str]:
    """Return the statistics' keys in the order runs report them (the union, first seen first).

    >>> stat_names([Outcome("a", {"x": 1, "y": 2}), Outcome("b", None, "failed"), Outcome("c", {"x": 1, "z": 3})])
    ['x', 'y', 'z']
    """
    names: dict[str, None] = {}
    for o in outcomes:
        for k in o.statistics or ():
            names.setdefault(k, None)
    return list(names)


def _frame(names: Sequence[str], rows: Sequence[tuple[Mapping[str, Value], Outcome]]) -> pd.DataFrame:
    stats = stat_names(o for _, o in rows)
    records = [[*(p[n] for n in names), *((o.statistics or {}).get(s) for s in stats), o.error] for p, o in rows]
    columns = [*names, *stats, "error"]
    frame = pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
    return frame


def text_of(value: object) -> str:
    """Format one CSV cell: floats as the shortest text that reads back exactly, None as empty.

    >>> [text_of(v) for v in (0.1, 3, None, True, "x")]
    ['0.1', '3', '', 'true', 'x']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_rows(path: Path, names: Sequence[str], rows: Sequence[tuple[Mapping[str, Value], Outcome]]) -> None:
    """Write ``sweep.csv`` whole (to a temporary name, then moved into place): parameters, statistics, error."""
    import csv
    import io

    stats = stat_names(o for _, o in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*names, *stats, "error"])
    for p, o in rows:
        writer.writerow([*(text_of(p[n]) for n in names), *(text_of((o.statistics or {}).get(s)) for s in stats),
                         text_of(o.error)])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
