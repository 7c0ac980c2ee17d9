"""The ``fbt`` command line: argument parsing only; every command calls the public API.

Errors print as one line on standard error (``fbt: error: ...``) with exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fbt.backtest import Result, run
from fbt.errors import ConfigError, FbtError
from fbt.io.loaders import load, load_dir
from fbt.market import BarData
from fbt.strategy import Strategy

__all__ = ["main"]

DEFAULT_OUT = "fbt-out"


def parse_value(text: str) -> Any:
    """Parse a ``--param`` value: int, then float, then true/false, else the text itself.

    >>> parse_value("100"), parse_value("0.5"), parse_value("true"), parse_value("abc")
    (100, 0.5, True, 'abc')
    """
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``NAME=VALUE`` items into keyword arguments."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param: expected NAME=VALUE, got {item!r}")
        params[name.strip()] = parse_value(value.strip())
    return params


def load_factory(spec: str) -> Callable[..., Any]:
    """Find ``path/to/file.py:factory`` or ``package.module:factory``."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigError(f"STRATEGY: expected path/to/file.py:factory or package.module:factory, got {spec!r}")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise ConfigError(f"STRATEGY: no such file {target}")
        module_spec = importlib.util.spec_from_file_location(f"fbt_user_{path.stem}", path)
        if module_spec is None or module_spec.loader is None:
            raise ConfigError(f"STRATEGY: cannot import {target}")
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(f"STRATEGY: importing {target} failed: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"STRATEGY: cannot import module {target!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ConfigError(f"STRATEGY: {target} has no factory {attr!r}; it has {', '.join(names)}")
    return factory  # type: ignore[no-any-return]


def make_strategy(spec: str, params: dict[str, Any]) -> Strategy[Any]:
    """Call the factory named by ``spec`` with ``params``; unknown names are an error."""
    factory = load_factory(spec)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None and not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        known = [n for n, p in signature.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for name in params:
            if name not in known:
                raise ConfigError(
                    f"--param: unknown parameter {name!r} for {factory.__name__}; it takes {', '.join(known) or 'none'}"
                )
    try:
        made = factory(**params)
    except Exception as exc:
        raise ConfigError(f"--param: {factory.__name__}({_kwargs(params)}) failed: {exc}") from exc
    if not isinstance(made, Strategy):
        raise ConfigError(f"STRATEGY: {spec} returned {type(made).__name__}, expected an fbt.Strategy")
    return made


def _kwargs(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def load_data(items: Sequence[str], symbols: str | None) -> BarData:
    """Load ``--data DIR`` (with ``--symbols``) or repeated ``--data SYMBOL=FILE``."""
    if not items:
        raise ConfigError("--data: expected a directory or SYMBOL=FILE")
    mapped = [item for item in items if "=" in item]
    if mapped:
        if len(mapped) != len(items):
            raise ConfigError("--data: give either one directory or SYMBOL=FILE items, not both")
        if symbols:
            raise ConfigError("--symbols: only with --data DIR; with SYMBOL=FILE the symbols are named already")
        sources: dict[str, str] = {}
        for item in items:
            symbol, _, path = item.partition("=")
            if not symbol.strip() or not path.strip():
                raise ConfigError(f"--data: expected SYMBOL=FILE, got {item!r}")
            if symbol.strip() in sources:
                raise ConfigError(f"--data: symbol {symbol.strip()} given twice")
            sources[symbol.strip()] = path.strip()
        return load(sources)
    if len(items) > 1:
        raise ConfigError("--data: give one directory, or repeat --data as SYMBOL=FILE")
    chosen = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    return load_dir(items[0], chosen)


def _capital(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--capital: expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"--capital: expected a positive finite number, got {text!r}")
    return value


def _report(result: Result, strategy: Strategy[Any], out: str) -> None:
    data = result.run.data
    params = _kwargs(dict(strategy.params))
    when = f"{len(data)} bars" if not len(data) else (
        f"{len(data)} bars, {_label(data, 0)} .. {_label(data, len(data) - 1)}"
    )
    print(f"{strategy.name}({params}) on {', '.join(data.symbols)}: {when}")
    print(result.summary())
    directory = result.write(out)
    print(f"Wrote equity.csv, fills.csv and stats.json to {directory}")


def _label(data: BarData, i: int) -> str:
    from fbt.io.writers import format_timestamps

    return format_timestamps(data.timestamps[i : i + 1], data.time_format)[0]


def cmd_run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    capital = _capital(args.capital)
    strategy = make_strategy(args.strategy, params)
    data = load_data(args.data, args.symbols)
    result = run(strategy, data, capital=capital, periods=args.periods)
    _report(result, strategy, args.out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fbt.sample import crossover, sample_dir

    print(f"fbt demo: the book's moving-average crossover on fbt's synthetic sample data ({sample_dir()})")
    strategy = crossover()
    result = run(strategy, load_dir(sample_dir()))
    _report(result, strategy, args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fbt", description="A functional, event-driven backtester.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="backtest a strategy on CSV data")
    p.add_argument("strategy", help="path/to/file.py:factory or package.module:factory")
    p.add_argument("--data", action="append", default=[], metavar="DIR|SYMBOL=FILE",
                   help="a directory of SYMBOL.csv files, or (repeated) SYMBOL=path/to/file")
    p.add_argument("--symbols", help="comma-separated symbols to load from --data DIR (default: all)")
    p.add_argument("--capital", default="100000", help="starting cash (default 100000)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="keyword argument for the strategy factory (repeatable)")
    p.add_argument("--periods", type=float, default=252.0, help="bars per year for the Sharpe ratio (default 252)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    p.set_defaults(func=cmd_run)
    d = sub.add_parser("demo", help="run the crossover example on the bundled synthetic sample data")
    d.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except FbtError as exc:
        print(f"fbt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fbt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
