"""Grids of parameter sets, and constraints over their names: :func:`grid`, :func:`grid_random`, :func:`constraint`."""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeAlias

import attrs
import numpy as np

from fbt.core.errors import ConfigError
from fbt.core.strategy import Strategy

#: A parameter value: what a grid may hold (it is written to CSV and JSON as it is).
Value: TypeAlias = bool | int | float | str | None
#: A constraint: an expression over the parameter names, or a predicate on one parameter set.
Constraint: TypeAlias = str | Callable[[Mapping[str, Value]], bool]
#: A strategy for a sweep: a factory, or its spec ``path/to/file.py:factory`` / ``package.module:factory``.
Factory: TypeAlias = str | Callable[..., Strategy[Any]]
GridLike: TypeAlias = "Grid | Mapping[str, Value | Sequence[Value]] | Sequence[Mapping[str, Value]]"
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
    fbt.core.errors.ConfigError: where: 'abs(a) > 1': a call is not allowed; use parameter names, numbers, ...
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
