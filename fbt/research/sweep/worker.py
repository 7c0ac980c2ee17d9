"""The worker side of a sweep: jobs, their outcomes, and running a chunk of runs on a worker."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.errors import StrategyError
from fbt.core.market import BarData
from fbt.core.strategy import Strategy
from fbt.models.commission import CommissionModel, ib_seed_commission
from fbt.research.sweep.space import Value

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------------
# Data slicing (for walk-forward windows)


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a = a.copy()
    a.flags.writeable = False
    return a


def slice_bars(data: BarData, start: int, stop: int) -> BarData:
    """Return bars ``[start, stop)`` of ``data`` as a new BarData (same symbols and ``time_format``).

    A symbol that started before ``start`` is tradable from the slice's first bar (its
    forward-filled values are there); one that starts later keeps NaN before its first real bar.

    >>> import numpy as np
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(5, dtype=np.int64),
    ...                             columns={"close": np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])}, time_format="date")
    >>> part = slice_bars(data, 1, 3)
    >>> part.timestamps.tolist(), part.column("A", "close").tolist(), part.time_format, part.first
    ([1, 2], [2.0, 3.0], 'date', (0,))
    """
    n = len(data)
    start, stop = max(0, min(start, n)), max(0, min(stop, n))
    stop = max(start, stop)
    if (start, stop) == (0, n):
        return data
    size = stop - start
    return attrs.evolve(
        data,
        timestamps=_frozen(data.timestamps[start:stop]),
        values=_frozen(data.values[:, :, start:stop]),
        real=_frozen(data.real[:, start:stop]),
        first=tuple(min(max(f - start, 0), size) for f in data.first),
    )


# --------------------------------------------------------------------------------------------------
# Jobs, chunks and the worker side


@attrs.frozen
class RunConfig:
    """The configuration every run of a sweep shares (``fbt.run``'s keyword arguments)."""

    capital: float = 100_000.0
    quantity: float = 100.0
    commission: CommissionModel = ib_seed_commission
    periods: float = 252.0
    options: tuple[tuple[str, Any], ...] = ()  # further fbt.run keyword arguments, sorted by name

    def kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments for :func:`fbt.run`."""
        return {"capital": self.capital, "quantity": self.quantity, "commission": self.commission,
                "periods": self.periods, **dict(self.options)}


@attrs.frozen
class Job:
    """One backtest: its cache key, parameters and the bars ``[start, stop)`` it runs on."""

    key: str
    params: tuple[tuple[str, Value], ...]
    start: int
    stop: int
    curve: bool = False  # also return the per-bar total equity (walk-forward's out-of-sample runs)


@attrs.frozen
class Outcome:
    """What a worker sends back for one job: statistics, or an error; never an event log."""

    key: str
    statistics: dict[str, Any] | None
    error: str | None = None
    total: FloatArray | None = None  # per-bar total equity, when the job asked for its curve
    final_equity: float | None = None


@attrs.frozen
class _Chunk:
    fingerprint: str
    factory: str | Callable[..., Any]
    config: RunConfig
    jobs: tuple[Job, ...]
    data: BarData | None = None  # attached only when a worker said it has not seen the data


_DATA: dict[str, BarData] = {}  # per process: the data a worker was given, by fingerprint
_KEEP_DATA: Final = 4
_FACTORIES: dict[str, Callable[..., Any]] = {}  # per process: factories re-imported from their spec
_LAST_SLICE: dict[tuple[str, int, int], BarData] = {}


def _install(fingerprint: str, data: BarData) -> None:
    """Keep the data in this process under its fingerprint (a pool's initializer, or on first sight)."""
    _DATA.pop(fingerprint, None)
    _DATA[fingerprint] = data
    while len(_DATA) > _KEEP_DATA:
        del _DATA[next(iter(_DATA))]


def _worker_start(fingerprint: str, data: BarData) -> None:
    """Initializer of the local process pool: keep the data; let the parent handle Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _install(fingerprint, data)


def _resolve(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    if not isinstance(ref, str):
        return ref
    factory = _FACTORIES.get(ref)
    if factory is None:
        from fbt.io.factory import load_factory

        factory = _FACTORIES[ref] = load_factory(ref)
    return factory


def _plain_stat(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _window(data: BarData, fingerprint: str, start: int, stop: int) -> BarData:
    if (start, stop) == (0, len(data)):
        return data
    key = (fingerprint, start, stop)
    part = _LAST_SLICE.get(key)
    if part is None:
        _LAST_SLICE.clear()
        part = _LAST_SLICE[key] = slice_bars(data, start, stop)
    return part


def _run_job(factory: Callable[..., Any], data: BarData, fingerprint: str, config: RunConfig, job: Job) -> Outcome:
    from fbt.backtest.result import run

    try:
        strategy = factory(**dict(job.params))
        if not isinstance(strategy, Strategy):
            raise StrategyError(f"the factory returned {type(strategy).__name__}, expected an fbt.Strategy")
        result = run(strategy, _window(data, fingerprint, job.start, job.stop), **config.kwargs())
        statistics = {k: _plain_stat(v) for k, v in result.statistics.items()}
        if job.curve:
            total = np.array(result.curve.total, dtype=np.float64)
            return Outcome(job.key, statistics, None, total, float(result.curve.final_equity))
        return Outcome(job.key, statistics)
    except Exception as exc:  # the row records the error and the sweep goes on
        return Outcome(job.key, None, _describe(exc))


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _run_chunk(chunk: _Chunk, data: BarData | None = None) -> tuple[Outcome, ...] | None:
    """Run a chunk of jobs in a worker; ``None`` means "send the data": this worker has not seen it."""
    given = data if data is not None else chunk.data
    if given is not None:
        if _DATA.get(chunk.fingerprint) is not given:
            _install(chunk.fingerprint, given)
        bars = given
    else:
        found = _DATA.get(chunk.fingerprint)
        if found is None:
            return None
        bars = found
    try:
        factory = _resolve(chunk.factory)
    except Exception as exc:
        return tuple(Outcome(job.key, None, _describe(exc)) for job in chunk.jobs)
    return tuple(_run_job(factory, bars, chunk.fingerprint, chunk.config, job) for job in chunk.jobs)
