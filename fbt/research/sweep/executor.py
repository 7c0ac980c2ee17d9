"""Executors: process pools, dask clients and any concurrent.futures executor, and running jobs on them."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from fbt.core.errors import ConfigError, FbtError
from fbt.core.market import BarData
from fbt.io.progress import Progress, ProgressCallback
from fbt.research.sweep.cache import StrategyRef, _Cache
from fbt.research.sweep.space import Value
from fbt.research.sweep.worker import Job, Outcome, RunConfig, _Chunk, _describe, _install, _run_chunk, _worker_start

# --------------------------------------------------------------------------------------------------
# Executors


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    """How the local pool starts its workers: fork while this process has one thread (fast, and the
    workers inherit the data and the factory), else forkserver (forking a threaded process can
    deadlock); spawn where fork is unsafe or missing (macOS, Windows)."""
    import threading

    if sys.platform.startswith("linux"):
        return "fork" if threading.active_count() == 1 else "forkserver"
    return "spawn"


@attrs.define
class _Pool:
    """The driver's handle on where chunks run."""

    executor: cf.Executor | None  # None: serially, in this process
    workers: int
    label: str
    data_arg: Any = None  # a Dask future of the scattered data, passed to every task
    closers: list[Callable[[], None]] = attrs.field(factory=list)
    sends: int = 0  # how many times the data was handed to a worker (or broadcast to all)

    def close(self) -> None:
        while self.closers:
            closer = self.closers.pop()
            with contextlib.suppress(Exception):
                closer()


def _dask_address(text: str) -> str | None:
    if text == "dask-local":
        return None
    rest = text[len("dask://"):]
    if not rest:
        raise ConfigError(f"executor: expected dask://HOST:PORT, got {text!r}")
    return rest if "://" in rest else f"tcp://{rest}"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError("executor: Dask needs the optional extra: pip install 'fbt[dask]'") from None
    return distributed


def _open_dask(address: str | None, workers: int | None, timeout: float, data: BarData) -> _Pool:
    distributed = _import_distributed()
    closers: list[Callable[[], None]] = []
    if address is None:
        n = workers or _cpu_count()
        try:
            cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address="127.0.0.1:0")
        except Exception as exc:
            raise ConfigError(f"executor: cannot start a local Dask cluster: {_describe(exc)}") from None
        closers.append(cluster.close)
        client = distributed.Client(cluster)
        label = f"a local Dask cluster of {n} workers"
    else:
        try:
            client = distributed.Client(address, timeout=timeout)
        except Exception as exc:
            raise ConfigError(
                f"executor: cannot reach the Dask scheduler at {address} within {timeout:g} s ({_describe(exc)}); "
                "is `dask scheduler` running there, and are its workers started?"
            ) from None
        label = f"the Dask scheduler at {address}"
    closers.append(client.close)
    try:
        pool = _client_pool(client, data, label, timeout)
    except BaseException:
        for closer in reversed(closers):
            with contextlib.suppress(Exception):
                closer()
        raise
    pool.closers[:0] = closers
    return pool


def _client_pool(client: Any, data: BarData, label: str, timeout: float) -> _Pool:
    """Scatter the data to every worker once; tasks then name it by reference (a Dask future)."""
    if not client.nthreads():
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception:
            raise ConfigError(f"executor: {label} has no workers (waited {timeout:g} s); start some with "
                              "`dask worker SCHEDULER_ADDRESS`") from None
    n = max(1, sum(client.nthreads().values()))
    future = client.scatter(data, broadcast=True, hash=False)
    executor = client.get_executor(pure=False)
    pool = _Pool(executor, n, label, data_arg=future)
    pool.sends = len(client.nthreads())
    pool.closers.append(future.release)
    pool.closers.append(lambda: executor.shutdown(wait=False))
    return pool


def _open_pool(executor: cf.Executor | str | None, workers: int | None, data: BarData, fingerprint: str,
               timeout: float, jobs: int) -> _Pool:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers: expected a whole number >= 1, got {workers!r}")
    if executor is None or executor == "local":
        n = min(workers or _cpu_count(), max(1, jobs))
        context = multiprocessing.get_context(_start_method())
        pool_executor = cf.ProcessPoolExecutor(max_workers=n, mp_context=context, initializer=_worker_start,
                                               initargs=(fingerprint, data))
        pool = _Pool(pool_executor, n, f"{n} local processes")
        pool.sends = n
        pool.closers.append(lambda: pool_executor.shutdown(wait=True, cancel_futures=True))
        return pool
    if executor == "serial":
        return _Pool(None, 1, "this process, serially")
    if isinstance(executor, str):
        if executor == "dask-local" or executor.startswith("dask://"):
            return _open_dask(_dask_address(executor), workers, timeout, data)
        raise ConfigError(f"executor: expected local, serial, dask://HOST:PORT or dask-local, got {executor!r}")
    client = getattr(executor, "_client", None) if type(executor).__module__.startswith("distributed") else None
    if client is None and type(executor).__module__.startswith("distributed") and hasattr(executor, "scatter"):
        client = executor  # a distributed.Client given directly
    if client is not None:
        return _client_pool(client, data, "the Dask cluster", timeout)
    if not isinstance(executor, cf.Executor):
        raise ConfigError(f"executor: expected a concurrent.futures.Executor, got {type(executor).__name__}")
    size = getattr(executor, "_max_workers", None)
    n = size if isinstance(size, int) and size > 0 else _cpu_count()
    return _Pool(executor, n, type(executor).__name__)


# --------------------------------------------------------------------------------------------------
# Progress


def sweep_progress(enabled: bool, total: int) -> Progress | None:
    """The progress line of a sweep on standard error: runs done, runs per second, time left."""
    return Progress("fbt sweep", stream=sys.stderr, unit="runs", left=True) if enabled and total > 0 else None


# --------------------------------------------------------------------------------------------------
# The engine


@attrs.frozen
class EngineReport:
    """What an engine call did: runs computed, reused from the cache, failed; data sends; seconds."""

    computed: int
    reused: int
    failed: int
    data_sends: int
    seconds: float
    executor: str


def _chunks(jobs: Sequence[Job], size: int) -> list[tuple[Job, ...]]:
    return [tuple(jobs[i : i + size]) for i in range(0, len(jobs), size)]


def execute(
    jobs: Sequence[Job],
    data: BarData,
    fingerprint: str,
    strategy: StrategyRef,
    config: RunConfig,
    pool: _Pool,
    *,
    chunk_size: int | None,
    cache: _Cache,
    params_of: Mapping[str, Mapping[str, Value]],
    progress: ProgressCallback | None,
    reused: Mapping[str, dict[str, Any]],
) -> tuple[dict[str, Outcome], EngineReport]:
    """Run the jobs not already in ``reused`` on ``pool``; append each outcome to the cache as it lands."""
    started = time.monotonic()
    outcomes: dict[str, Outcome] = {k: Outcome(k, dict(s)) for k, s in reused.items()}
    todo = [j for j in jobs if j.key not in outcomes]
    if chunk_size is None:
        chunk_size = 1 if pool.executor is None else max(1, min(64, math.ceil(len(todo) / (pool.workers * 8))))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size: expected a whole number >= 1, got {chunk_size!r}")
    done = len(jobs) - len(todo)
    failed = 0
    sends = pool.sends

    def record(rows: Iterable[Outcome]) -> None:
        nonlocal done, failed
        for row in rows:
            outcomes[row.key] = row
            if row.error is not None:
                failed += 1
            if not jobs_by_key[row.key].curve:
                cache.append(row, params_of[row.key], windows.get(row.key))
            done += 1
        cache.flush()
        if progress is not None:
            progress(done, len(jobs))

    jobs_by_key = {j.key: j for j in todo}
    windows = {j.key: (j.start, j.stop) for j in todo if (j.start, j.stop) != (0, len(data))}
    if progress is not None:
        progress(done, len(jobs))
    if pool.executor is None:
        _install(fingerprint, data)
        for part in _chunks(todo, chunk_size):
            result = _run_chunk(_Chunk(fingerprint, strategy.ref, config, part), data)
            assert result is not None
            record(result)
    else:
        pending = [_Chunk(fingerprint, strategy.ref, config, part) for part in _chunks(todo, chunk_size)]
        pending.reverse()  # pop() from the end takes the chunks in order
        limit = max(2, 2 * pool.workers)
        flying: dict[cf.Future[tuple[Outcome, ...] | None], _Chunk] = {}
        try:
            while pending or flying:
                while pending and len(flying) < limit:
                    chunk = pending.pop()
                    flying[_submit(pool, chunk, strategy)] = chunk
                finished, _ = cf.wait(flying, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    chunk = flying.pop(future)
                    try:
                        result = future.result()
                    except cf.BrokenExecutor as exc:
                        raise FbtError(f"executor: the workers died ({_describe(exc)}); finished runs are kept "
                                       f"in {cache.path or 'memory'}; rerun to resume") from None
                    except Exception as exc:  # the task could not run: its rows record why
                        result = tuple(Outcome(job.key, None, _describe(exc)) for job in chunk.jobs)
                    if result is None:  # this worker has not seen the data yet: send it along
                        sends += 1
                        pending.append(attrs.evolve(chunk, data=data))
                        continue
                    record(result)
                if progress is not None:
                    progress(done, len(jobs))
        except BaseException:
            for future in flying:
                future.cancel()
            raise
    if progress is not None:
        progress(done, len(jobs))
    report = EngineReport(computed=len(todo), reused=len(jobs) - len(todo), failed=failed, data_sends=sends,
                  seconds=time.monotonic() - started, executor=pool.label)
    return outcomes, report


def _submit(pool: _Pool, chunk: _Chunk, strategy: StrategyRef) -> cf.Future[tuple[Outcome, ...] | None]:
    assert pool.executor is not None
    try:
        if pool.data_arg is not None:
            return pool.executor.submit(_run_chunk, chunk, pool.data_arg)
        return pool.executor.submit(_run_chunk, chunk)
    except RuntimeError as exc:
        raise ConfigError(f"executor: cannot submit work: {exc}") from None
