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

import ast
import concurrent.futures as cf
import contextlib
import enum
import functools
import hashlib
import inspect
import itertools
import json
import math
import multiprocessing
import operator
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from fbt.errors import ConfigError, FbtError, StrategyError
from fbt.market import BarData
from fbt.models.commission import CommissionModel, ib_seed_commission
from fbt.strategy import Strategy

__all__ = [
    "Grid",
    "constraint",
    "grid",
    "grid_points",
    "grid_random",
    "slice_bars",
    "sweep",
]

#: A parameter value: what a grid may hold (it is written to CSV and JSON as it is).
Value: TypeAlias = bool | int | float | str | None
#: A constraint: an expression over the parameter names, or a predicate on one parameter set.
Constraint: TypeAlias = str | Callable[[Mapping[str, Value]], bool]
#: A strategy for a sweep: a factory, or its spec ``path/to/file.py:factory`` / ``package.module:factory``.
Factory: TypeAlias = str | Callable[..., Strategy[Any]]
GridLike: TypeAlias = "Grid | Mapping[str, Value | Sequence[Value]] | Sequence[Mapping[str, Value]]"

FloatArray = npt.NDArray[np.float64]

CACHE_FILE: Final = "sweep.jsonl"
RESULT_FILE: Final = "sweep.csv"
_POW_LIMIT: Final = 64  # largest exponent a constraint may raise to


# --------------------------------------------------------------------------------------------------
# Grids


def _plain_value(value: object, where: str) -> Value:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ConfigError(f"{where}: expected a number, text, true/false or None, got {type(value).__name__} {value!r}")


@attrs.frozen
class Grid:
    """Parameter sets in a fixed order: ``names`` and one tuple of values per set.

    Iterating gives one ``{name: value}`` dict per set; ``+`` appends another grid's sets (same
    names); :meth:`where` keeps the sets a constraint accepts.

    >>> g = grid(a=[1, 2]) + grid_points([{"a": 9}])
    >>> len(g), g.names, [p["a"] for p in g]
    (3, ('a',), [1, 2, 9])
    """

    names: tuple[str, ...]
    points: tuple[tuple[Value, ...], ...]

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[dict[str, Value]]:
        for point in self.points:
            yield dict(zip(self.names, point, strict=True))

    def __add__(self, other: Grid) -> Grid:
        if not isinstance(other, Grid):
            return NotImplemented
        if not other.points:
            return self
        if not self.points:
            return other
        if set(other.names) != set(self.names):
            raise ConfigError(f"grid: cannot join grids over {', '.join(self.names)} and {', '.join(other.names)}")
        order = [other.names.index(n) for n in self.names]
        return Grid(self.names, self.points + tuple(tuple(p[k] for k in order) for p in other.points))

    def where(self, keep: Constraint) -> Grid:
        """Return the sets that ``keep`` accepts (an expression over the names, or a predicate)."""
        test = constraint(keep, self.names) if isinstance(keep, str) else keep
        kept = tuple(p for p, params in zip(self.points, self, strict=True) if test(params))
        return Grid(self.names, kept)


def grid(**values: Value | Sequence[Value]) -> Grid:
    """Return the product of value lists, the last name varying fastest; a single value is fixed.

    >>> list(grid(short_window=[5, 10], long_window=[20, 40], quantity=1))   # doctest: +NORMALIZE_WHITESPACE
    [{'short_window': 5, 'long_window': 20, 'quantity': 1}, {'short_window': 5, 'long_window': 40, 'quantity': 1},
     {'short_window': 10, 'long_window': 20, 'quantity': 1}, {'short_window': 10, 'long_window': 40, 'quantity': 1}]
    """
    lists: list[tuple[Value, ...]] = []
    for name, given in values.items():
        items = [given] if isinstance(given, str | bytes) or not isinstance(given, Iterable) else list(given)
        lists.append(tuple(_plain_value(v, f"grid: {name}") for v in items))
    return Grid(tuple(values), tuple(itertools.product(*lists)) if lists else ())


def grid_points(points: Iterable[Mapping[str, Value]]) -> Grid:
    """Return a grid of explicit parameter sets, in the order given (each names the same parameters).

    >>> grid_points([{"short_window": 5, "long_window": 20}, {"long_window": 60, "short_window": 10}]).points
    ((5, 20), (10, 60))
    """
    names: tuple[str, ...] | None = None
    rows: list[tuple[Value, ...]] = []
    for k, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise ConfigError(f"grid: set {k}: expected a mapping of parameter names to values, got {point!r}")
        if names is None:
            names = tuple(point)
        elif set(point) != set(names):
            raise ConfigError(
                f"grid: set {k} names {', '.join(sorted(point)) or 'nothing'}; "
                f"every set must name {', '.join(names)}"
            )
        rows.append(tuple(_plain_value(point[n], f"grid: set {k}: {n}") for n in names))
    return Grid(names or (), tuple(rows))


def grid_random(n: int, *, seed: int, **ranges: Value | tuple[float, float] | Sequence[Value]) -> Grid:
    """Return ``n`` parameter sets drawn with ``numpy.random.default_rng(seed)`` (deterministic).

    For each name, in the order given: a tuple ``(low, high)`` of whole numbers draws an integer in
    ``[low, high]`` (both included); a tuple with a decimal draws a float uniformly in ``[low, high)``;
    a list draws one of its values; a single value is fixed. Duplicate sets are possible; a sweep
    computes each distinct set once.

    >>> g = grid_random(3, seed=1, short_window=(5, 50), long_window=(100, 400), mode=["a", "b"])
    >>> g == grid_random(3, seed=1, short_window=(5, 50), long_window=(100, 400), mode=["a", "b"])
    True
    >>> all(5 <= p["short_window"] <= 50 and 100 <= p["long_window"] <= 400 for p in g)
    True
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"grid: expected a whole number of samples >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    columns: list[list[Value]] = []
    for name, given in ranges.items():
        where = f"grid: {name}"
        if isinstance(given, tuple):
            ends = [x for x in given if isinstance(x, int | float) and not isinstance(x, bool)]
            if len(ends) != 2 or len(given) != 2:
                raise ConfigError(f"{where}: expected a range (low, high) of two numbers, got {given!r}")
            low, high = float(ends[0]), float(ends[1])
            if not low <= high:
                raise ConfigError(f"{where}: expected low <= high, got {given!r}")
            if isinstance(ends[0], int) and isinstance(ends[1], int):
                columns.append([int(x) for x in rng.integers(ends[0], ends[1], size=n, endpoint=True).tolist()])
            else:
                columns.append([float(x) for x in rng.uniform(low, high, size=n).tolist()])
        elif isinstance(given, list):
            if not given:
                raise ConfigError(f"{where}: expected at least one value to choose from, got none")
            choices = [_plain_value(v, where) for v in given]
            columns.append([choices[int(i)] for i in rng.integers(0, len(choices), size=n).tolist()])
        else:
            columns.append([_plain_value(given, where)] * n)
    points = tuple(zip(*columns, strict=True)) if columns else ()
    return Grid(tuple(ranges), points)


def _as_grid(given: object) -> Grid:
    if isinstance(given, Grid):
        return given
    if isinstance(given, Mapping):
        return grid(**{str(k): v for k, v in given.items()})
    if isinstance(given, Iterable) and not isinstance(given, str | bytes):
        return grid_points(given)
    raise ConfigError(f"grid: expected fbt.Grid, a mapping of names to value lists, or a list of dicts, got {given!r}")


# --------------------------------------------------------------------------------------------------
# Constraints: a safe expression language over parameter names


Evaluate: TypeAlias = Callable[[Mapping[str, Value]], Any]


def _power(a: Any, b: Any) -> Any:
    if isinstance(b, int | float) and abs(b) > _POW_LIMIT:
        raise ValueError(f"exponent {b!r} is larger than {_POW_LIMIT}")
    return operator.pow(a, b)


_BINARY: Final[Mapping[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _power,
}
_UNARY: Final[Mapping[type[ast.unaryop], Callable[[Any], Any]]] = {
    ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_COMPARE: Final[Mapping[type[ast.cmpop], Callable[[Any, Any], Any]]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def constraint(expression: Constraint, names: Sequence[str]) -> Callable[[Mapping[str, Value]], bool]:
    """Compile a constraint into a predicate on one parameter set.

    An expression may use the parameter ``names``, numbers, ``True``/``False``, arithmetic
    (``+ - * / // % **``), comparisons (chained too), ``and``/``or``/``not`` and parentheses, and
    nothing else: no calls, attributes, subscripts or other names. It is checked once and never
    passed to ``eval``. A callable is returned as it is.

    >>> keep = constraint("short_window < long_window and long_window % 10 == 0", ["short_window", "long_window"])
    >>> keep({"short_window": 5, "long_window": 20}), keep({"short_window": 5, "long_window": 25})
    (True, False)
    >>> constraint("abs(a) > 1", ["a"])
    Traceback (most recent call last):
    ...
    fbt.errors.ConfigError: where: 'abs(a) > 1': a call is not allowed; use parameter names, numbers, ...
    """
    if callable(expression):
        return expression
    if not isinstance(expression, str):
        raise ConfigError(f"where: expected an expression or a callable, got {expression!r}")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"where: {expression!r}: not a valid expression ({exc.msg})") from None
    evaluate = _compile(tree.body, tuple(names), expression)

    def keep(params: Mapping[str, Value]) -> bool:
        try:
            return bool(evaluate(params))
        except Exception as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            raise ConfigError(f"where: {expression!r} failed for {shown}: {type(exc).__name__}: {exc}") from None

    return keep


_WHAT: Final = {ast.Call: "a call", ast.Attribute: "an attribute", ast.Subscript: "a subscript",
                ast.Lambda: "a lambda", ast.IfExp: "a conditional expression"}


def _compile(node: ast.expr, names: tuple[str, ...], text: str) -> Evaluate:
    def refuse(what: str) -> ConfigError:
        return ConfigError(
            f"where: {text!r}: {what} is not allowed; use parameter names, numbers, arithmetic, comparisons, and/or/not"
        )

    match node:
        case ast.Constant(value=value) if isinstance(value, bool | int | float):
            return lambda params: value
        case ast.Constant(value=value):
            raise refuse(f"the constant {value!r}")
        case ast.Name(id=name):
            if name not in names:
                known = ", ".join(names) or "nothing"
                raise ConfigError(f"where: {text!r}: unknown name {name!r}; the grid has {known}")
            return lambda params: params[name]
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            fn, lhs, rhs = _BINARY[type(op)], _compile(left, names, text), _compile(right, names, text)
            return lambda params: fn(lhs(params), rhs(params))
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            un, arg = _UNARY[type(op)], _compile(operand, names, text)
            return lambda params: un(arg(params))
        case ast.BoolOp(op=op, values=values):
            parts = [_compile(v, names, text) for v in values]
            if isinstance(op, ast.And):
                return lambda params: all(p(params) for p in parts)
            return lambda params: any(p(params) for p in parts)
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            if not all(type(o) in _COMPARE for o in ops):
                raise refuse("'in' or 'is'")
            terms = [_compile(left, names, text), *(_compile(c, names, text) for c in comparators)]
            tests = [_COMPARE[type(o)] for o in ops]

            def compare(params: Mapping[str, Value]) -> bool:
                values = [t(params) for t in terms]
                return all(test(a, b) for test, a, b in zip(tests, values, values[1:], strict=False))

            return compare
        case _:
            raise refuse(_WHAT.get(type(node), f"'{ast.unparse(node)}'"))


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
        from fbt.cli import load_factory

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
    from fbt.backtest import run

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


# --------------------------------------------------------------------------------------------------
# Strategies by spec


@attrs.frozen
class StrategyRef:
    """A strategy factory as a sweep sends it: ``ref`` is a spec string workers re-import, or the
    callable itself (pickled); ``name`` names it in cache keys; ``factory`` is the callable here."""

    ref: str | Callable[..., Any]
    name: str
    factory: Callable[..., Any]


def strategy_ref(strategy: Factory) -> StrategyRef:
    """Resolve a factory or a spec into what workers need to rebuild it.

    A spec ``path/to/file.py:factory`` is made absolute (workers may run elsewhere); a callable
    defined at the top of an importable module is sent as ``module:factory``, one defined in a file
    loaded by path (or in ``__main__``) as ``/abs/file.py:factory``; anything else (a lambda, a
    closure) is sent pickled, which works serially and in processes that can unpickle it.

    >>> strategy_ref("fbt.strategies:moving_average_crossover").ref
    'fbt.strategies:moving_average_crossover'
    >>> from fbt.strategies import moving_average_crossover
    >>> strategy_ref(moving_average_crossover).name
    'fbt.strategies:moving_average_crossover'
    """
    from fbt.cli import load_factory

    if isinstance(strategy, str):
        factory = load_factory(strategy)
        target, _, attr = strategy.rpartition(":")
        if target.endswith(".py") or "/" in target or "\\" in target:
            spec = f"{Path(target).resolve()}:{attr}"
            return StrategyRef(spec, spec, factory)
        return StrategyRef(strategy, strategy, factory)
    if not callable(strategy):
        raise ConfigError(f"strategy: expected a factory returning fbt.Strategy, or a spec 'file.py:factory', "
                          f"got {type(strategy).__name__}")
    module_name = getattr(strategy, "__module__", None)
    qualname = getattr(strategy, "__qualname__", "")
    simple = bool(qualname) and "." not in qualname and "<" not in qualname
    if simple and module_name and module_name != "__main__":
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, qualname, None) is strategy:
            spec = f"{module_name}:{qualname}"
            return StrategyRef(spec, spec, strategy)
    if simple:
        with contextlib.suppress(TypeError, OSError):
            source = inspect.getsourcefile(strategy)
            if source and os.path.isfile(source):
                spec = f"{Path(source).resolve()}:{qualname}"
                return StrategyRef(spec, spec, strategy)
    return StrategyRef(strategy, f"{module_name}.{qualname or type(strategy).__qualname__}", strategy)


def check_params(factory: Callable[..., Any], names: Sequence[str]) -> None:
    """Raise :class:`ConfigError` for a name the factory does not take, or a required one not given."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    label = getattr(factory, "__name__", "the factory")
    parameters = signature.parameters.values()
    known = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"grid: unknown parameter {name!r} for {label}; it takes {', '.join(known) or 'none'}"
                )
    for p in parameters:
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty and p.name not in names:
            raise ConfigError(f"grid: {label} needs a value for {p.name!r}; add it to the grid")


# --------------------------------------------------------------------------------------------------
# Keys and the cache file


def _identity(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return _identity(value.item())
    if isinstance(value, tuple | list):
        return [_identity(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _identity(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return _identity(value.value)
    cls: Any = type(value)
    if attrs.has(cls):
        fields = {a.name: _identity(getattr(value, a.name)) for a in attrs.fields(cls)}
        return {"type": _qualified(cls), "fields": fields}
    if isinstance(value, functools.partial):
        return {"partial": _identity(value.func), "args": _identity(value.args), "keywords": _identity(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": _qualified(value)}
    return {"object": _qualified(type(value)), "repr": re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))}


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


def run_key(fingerprint: str, strategy: str, params: Mapping[str, Value], config: RunConfig,
            window: tuple[int, int] | None = None) -> str:
    """Return the cache key of one run: sha256 of its data fingerprint, strategy, parameters, configuration.

    >>> a = run_key("d", "s", {"x": 1}, RunConfig())
    >>> a == run_key("d", "s", {"x": 1}, RunConfig()), a == run_key("d", "s", {"x": 2}, RunConfig())
    (True, False)
    """
    from fbt import __version__

    payload = {
        "fbt": __version__,
        "data": fingerprint,
        "window": list(window) if window is not None else None,
        "strategy": strategy,
        "params": {k: _identity(v) for k, v in sorted(params.items())},
        "config": _identity(config),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Cache:
    """``OUT/sweep.jsonl``: one JSON object a line, appended and flushed as runs finish."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None
        self._fh: IO[str] | None = None

    def load(self) -> dict[str, dict[str, Any]]:
        """Return the successful runs recorded so far, by key (a torn last line is ignored)."""
        found: dict[str, dict[str, Any]] = {}
        if self.path is None or not self.path.exists():
            return found
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if (isinstance(record, dict) and isinstance(record.get("key"), str)
                        and record.get("error") is None and isinstance(record.get("statistics"), dict)):
                    found[record["key"]] = record["statistics"]
        return found

    def open(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():  # drop a torn last line left by a killed run
            with open(self.path, "rb+") as raw:
                content = raw.read()
                if content and not content.endswith(b"\n"):
                    raw.truncate(content.rfind(b"\n") + 1)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def append(self, outcome: Outcome, params: Mapping[str, Value], window: tuple[int, int] | None) -> None:
        if self._fh is None:
            return
        record = {"key": outcome.key, "params": dict(params), "window": list(window) if window else None,
                  "statistics": outcome.statistics, "error": outcome.error}
        self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


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


class Progress:
    """A one-line progress bar on a stream: runs done, runs per second, time left."""

    def __init__(self, total: int, *, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total, self.enabled = total, enabled and total > 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.shown = 0.0
        self.base: int | None = None  # runs already done (reused) when the bar started

    def update(self, done: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        if self.base is None:
            self.base = done
        now = time.monotonic()
        if not force and now - self.shown < 0.1:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        rate = (done - self.base) / elapsed
        left = (self.total - done) / rate if rate > 0 else math.inf
        width = 24
        filled = int(width * done / self.total)
        eta = "--:--" if not math.isfinite(left) else f"{int(left) // 60}:{int(left) % 60:02d}"
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} runs  "
                          f"{rate:,.1f} runs/s  {eta} left ")
        self.stream.flush()

    def close(self, done: int) -> None:
        if self.enabled:
            self.update(done, force=True)
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------------------------------
# The engine


@attrs.frozen
class Tally:
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
    progress: Progress,
    reused: Mapping[str, dict[str, Any]],
) -> tuple[dict[str, Outcome], Tally]:
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
        progress.update(done)

    jobs_by_key = {j.key: j for j in todo}
    windows = {j.key: (j.start, j.stop) for j in todo if (j.start, j.stop) != (0, len(data))}
    progress.update(done, force=True)
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
                progress.update(done)
        except BaseException:
            for future in flying:
                future.cancel()
            raise
    progress.update(done, force=True)
    tally = Tally(computed=len(todo), reused=len(jobs) - len(todo), failed=failed, data_sends=sends,
                  seconds=time.monotonic() - started, executor=pool.label)
    return outcomes, tally


def _submit(pool: _Pool, chunk: _Chunk, strategy: StrategyRef) -> cf.Future[tuple[Outcome, ...] | None]:
    assert pool.executor is not None
    try:
        if pool.data_arg is not None:
            return pool.executor.submit(_run_chunk, chunk, pool.data_arg)
        return pool.executor.submit(_run_chunk, chunk)
    except RuntimeError as exc:
        raise ConfigError(f"executor: cannot submit work: {exc}") from None


# --------------------------------------------------------------------------------------------------
# The public entry point


def run_config(
    *,
    capital: float,
    quantity: float,
    commission: CommissionModel,
    periods: float,
    run_options: Mapping[str, Any] | None,
) -> RunConfig:
    """Check the run configuration shared by every run of a sweep (``run_options``: more ``fbt.run`` arguments)."""
    from fbt.backtest import run

    options = dict(run_options or {})
    shared = ("strategy", "data", "capital", "quantity", "commission", "periods")
    known = [n for n in inspect.signature(run).parameters if n not in shared]
    for name in options:
        if name not in known:
            raise ConfigError(f"run_options: unknown option {name!r}; fbt.run also takes {', '.join(known)}")
    if isinstance(capital, bool) or not isinstance(capital, int | float) or not 0 < capital < math.inf:
        raise ConfigError(f"capital: expected a positive finite number, got {capital!r}")
    return RunConfig(capital=float(capital), quantity=quantity, commission=commission, periods=periods,
                     options=tuple(sorted(options.items())))


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
    *,
    where: Constraint | None = None,
    executor: cf.Executor | str | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    out: str | os.PathLike[str] | None = None,
    capital: float = 100_000.0,
    quantity: float = 100.0,
    commission: CommissionModel = ib_seed_commission,
    periods: float = 252.0,
    run_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    connect_timeout: float = 5.0,
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
    to ``OUT/sweep.jsonl`` as they land and reused on a rerun; ``OUT/sweep.csv`` is written at the end.

    Columns: the parameter names, then every statistic under the keys of ``stats.json``, then
    ``error`` (None, or why that run failed; the sweep goes on). ``frame.attrs`` holds ``computed``,
    ``reused``, ``failed``, ``data_sends`` and ``seconds``.

    >>> import fbt
    >>> from fbt.sample import sample_dir
    >>> data = fbt.load_dir(sample_dir(), ["SYNA"]).head(300)
    >>> frame = sweep("fbt.strategies:moving_average_crossover", {"short_window": [5, 10], "long_window": [20, 50]},
    ...               data, where="short_window < long_window", executor="serial")
    >>> frame[["short_window", "long_window", "fills"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'short_window': 5, 'long_window': 20, 'fills': 19}, {'short_window': 5, 'long_window': 50, 'fills': 13},
     {'short_window': 10, 'long_window': 20, 'fills': 19}, {'short_window': 10, 'long_window': 50, 'fills': 11}]
    """
    g = _as_grid(grid)
    if not len(g):
        raise ConfigError("grid: expected at least one parameter set, got none")
    config = run_config(capital=capital, quantity=quantity, commission=commission, periods=periods,
                        run_options=run_options)
    with engine(strategy, data, executor=executor, workers=workers, out=out,
                connect_timeout=connect_timeout) as (ref, fingerprint, cache, pool):
        check_params(ref.factory, g.names)
        if where is not None:
            kept = g.where(where)
            if not len(kept):
                raise ConfigError(f"where: {where if isinstance(where, str) else 'the constraint'!r} filters out "
                                  f"all {len(g)} parameter sets")
            g = kept
        points = list(g)
        keys = [run_key(fingerprint, ref.name, p, config) for p in points]
        jobs = _unique(Job(k, tuple(p.items()), 0, len(data)) for k, p in zip(keys, points, strict=True))
        wanted = {j.key for j in jobs}
        reused = {k: s for k, s in cache.load().items() if k in wanted}
        bar = Progress(len(jobs), enabled=progress)
        try:
            outcomes, tally = execute(jobs, data, fingerprint, ref, config, pool(len(jobs) - len(reused)),
                                      chunk_size=chunk_size, cache=cache, progress=bar, reused=reused,
                                      params_of=dict(zip(keys, points, strict=True)))
        finally:
            bar.close(len(jobs))
    rows = [(p, outcomes[k]) for p, k in zip(points, keys, strict=True)]
    frame = _frame(g.names, rows)
    frame.attrs.update(attrs.asdict(tally))
    frame.attrs["failed"] = sum(o.error is not None for _, o in rows)
    if out is not None:
        write_rows(Path(out) / RESULT_FILE, g.names, rows)
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
