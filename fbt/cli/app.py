"""The ``fbt`` command line: argument parsing only; every command calls the public API.

Errors print as one line on standard error (``fbt: error: ...``) with exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fbt.backtest.result import Result, run
from fbt.cli.research import add_run_options, parse_periods
from fbt.cli.research import register as register_research
from fbt.core.errors import ConfigError, FbtError
from fbt.core.market import BarData
from fbt.core.strategy import Strategy
from fbt.io.factory import describe_params, make_strategy
from fbt.io.loaders import load, load_dir
from fbt.io.progress import progress_bar
from fbt.io.sources import symbol_files
from fbt.models.fill import Execution
from fbt.models.instrument import Instrument
from fbt.models.risk import Group, Risk

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


def load_data(items: Sequence[str], symbols: str | None, *, start: Any = None, end: Any = None) -> BarData:
    """Load ``--data DIR`` (with ``--symbols``), repeated ``--data SYMBOL=FILE``, or ``--data URL`` (SQL)."""
    if not items:
        raise ConfigError("--data: expected a directory or SYMBOL=FILE")
    if any("://" in item for item in items):  # a securities master in SQL (fbt.io.sql)
        if len(items) > 1:
            raise ConfigError("--data: give one database URL (pick symbols with --symbols)")
        from fbt.io.sql import load_sql

        picked = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
        return load_sql(items[0], picked, start=start, end=end)
    sources = symbol_files(items, symbols)
    if sources is not None:
        return load(sources, start=start, end=end)
    if len(items) > 1:
        raise ConfigError("--data: give one directory, or repeat --data as SYMBOL=FILE")
    chosen = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    return load_dir(items[0], chosen, start=start, end=end)


def _capital(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--capital: expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"--capital: expected a positive finite number, got {text!r}")
    return value


def _report(result: Result, strategy: Strategy[Any], out: str, *, report: bool = False) -> None:
    """Write the run's files (and its report) first, then print: a closed pipe loses no result."""
    directory = result.write(out)
    page = None
    if report:
        from fbt.report import write_report

        page = write_report(directory)
    data = result.run.data
    params = describe_params(dict(strategy.params))
    when = f"{len(data)} bars" if not len(data) else (
        f"{len(data)} bars, {_label(data, 0)} .. {_label(data, len(data) - 1)}"
    )
    from fbt.cli.commands import fingerprint_lines  # the run's identity, printed with its statistics

    print(f"{strategy.name}({params}) on {', '.join(data.symbols)}: {when}")
    print(result.summary())
    print(fingerprint_lines(result))
    print(f"Wrote equity.csv, fills.csv, trades.csv, journal.jsonl and stats.json to {directory}")
    if page is not None:
        print(f"Wrote {Path(page).with_name('equity.png')} and {page}")


def _label(data: BarData, i: int) -> str:
    from fbt.io.writers import format_timestamps

    return format_timestamps(data.timestamps[i : i + 1], data.time_format)[0]


def _fraction(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{option}: expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{option}: expected a positive finite number, got {text!r}")
    return value


def parse_group(text: str) -> Group:
    """Parse ``--group NAME=SYM1,SYM2:LIMIT`` (gross exposure of the group at most LIMIT x equity).

    >>> parse_group("tech=ORCL,NVDA:0.5")
    Group(name='tech', symbols=('ORCL', 'NVDA'), limit=0.5)
    """
    name, sep, rest = text.partition("=")
    members, sep2, limit = rest.rpartition(":")
    symbols = tuple(m.strip() for m in members.split(",") if m.strip())
    if not sep or not sep2 or not name.strip() or not symbols:
        raise ConfigError(f"--group: expected NAME=SYMBOL,SYMBOL:LIMIT, got {text!r}")
    return Group(name=name.strip(), symbols=symbols, limit=_fraction("--group", limit.strip()) or 0.0)


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Turn the run's model options into ``fbt.run`` keyword arguments."""
    from fbt.models.registry import parse_commission, parse_sizing, parse_slippage

    risk = Risk(
        cash_check=args.cash_check,
        margin=_fraction("--margin", args.margin),
        max_position=_fraction("--max-position", args.max_position),
        max_leverage=_fraction("--max-leverage", args.max_leverage),
        allow_short=not args.long_only,
        groups=tuple(parse_group(g) for g in args.group),
        volume_limit=_fraction("--volume-limit", args.volume_limit),
        fractional=args.fractional,
    )
    options: dict[str, Any] = {
        "execution": args.execution,
        "commission": parse_commission(args.commission, what="--commission"),
        "slippage": parse_slippage(args.slippage, what="--slippage"),
        "sizing": parse_sizing(args.sizing, what="--sizing"),
        "risk": risk,
    }
    if args.instrument:  # only when given: the options of a stock run stay as they were
        options["instruments"] = parse_instruments(args.instrument)
    return options


def parse_instruments(items: Sequence[str]) -> tuple[tuple[str, Instrument], ...]:
    """Parse repeated ``--instrument SYMBOL:multiplier=M,tick=T`` into ``(symbol, Instrument)`` pairs.

    >>> parse_instruments(["ES:multiplier=50,tick=0.25"])
    (('ES', Instrument(multiplier=50.0, tick_size=0.25)),)
    """
    from fbt.models.instrument import parse_instrument

    chosen: dict[str, Instrument] = {}
    for item in items:
        symbol, instrument = parse_instrument(item)
        if symbol in chosen:
            raise ConfigError(f"--instrument: symbol {symbol} given twice")
        chosen[symbol] = instrument
    return tuple(chosen.items())


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Add the execution, cost, sizing and risk options (defaults: the book's engine)."""
    from fbt.models.registry import COMMISSIONS, SIZINGS, SLIPPAGES

    g = p.add_argument_group("execution, costs, sizing and risk (defaults reproduce the book)")
    g.add_argument("--execution", choices=[e.value for e in Execution], default="book",
                   help="when market orders fill: at once at adj_close (book), at the next bar's open or close")
    g.add_argument("--commission", default="ib-seed", metavar="NAME[:PARAMS][+NAME...]",
                   help=f"commission model: {', '.join(COMMISSIONS)} (default ib-seed; '+' adds models)")
    g.add_argument("--slippage", default="none", metavar="NAME[:PARAMS]",
                   help=f"slippage model: {', '.join(SLIPPAGES)} (default none), e.g. fixed-bps:5")
    g.add_argument("--sizing", default="book", metavar="NAME[:PARAMS]",
                   help=f"sizing model: {', '.join(SIZINGS)} (default book: 100 units), e.g. percent:10")
    cash = g.add_mutually_exclusive_group()
    cash.add_argument("--cash-check", dest="cash_check", action="store_true", default=None,
                      help="refuse fills that cash cannot pay for (default: on, except in book mode)")
    cash.add_argument("--no-cash-check", dest="cash_check", action="store_false", help="allow negative cash")
    g.add_argument("--margin", metavar="M", help="buying power as M x equity (replaces the cash-only check)")
    g.add_argument("--max-position", metavar="F", help="largest position per symbol, as a fraction of equity")
    g.add_argument("--max-leverage", metavar="L", help="largest gross exposure, as a multiple of equity")
    g.add_argument("--long-only", action="store_true", help="refuse fills that would leave a short position")
    g.add_argument("--group", action="append", default=[], metavar="NAME=SYM,SYM:LIMIT",
                   help="largest gross exposure of a group of symbols, as a fraction of equity (repeatable)")
    g.add_argument("--volume-limit", metavar="F",
                   help="fill at most this fraction of a bar's volume; the rest waits (partial fills)")
    g.add_argument("--fractional", action="store_true", help="trade fractions of a unit (FX, crypto)")
    g.add_argument("--instrument", action="append", default=[], metavar="SYMBOL:multiplier=M,tick=T",
                   help="contract terms of a symbol (repeatable): futures multiplier (P&L = price change x M x "
                        "quantity) and tick size (fill prices round to it; not in book mode)")


def cmd_run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    capital = _capital(args.capital)
    models = model_options(args)
    strategy = make_strategy(args.strategy, params)
    if getattr(args, "stream", False):  # data larger than memory: read, run and write in chunks
        from fbt.cli.stream import stream_command

        return stream_command(args, strategy, capital, models)
    data = load_data(args.data, args.symbols, start=args.start, end=args.end)
    progress = progress_bar("fbt run", quiet=args.quiet)
    result = run(strategy, data, capital=capital, periods=args.periods, risk_free=args.risk_free, progress=progress,
                 **models)
    _report(result, strategy, args.out, report=bool(getattr(args, "report", False)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fbt.sample.data import crossover, sample_dir

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
    p.add_argument("--data", action="append", default=[], metavar="DIR|SYMBOL=FILE|URL",
                   help="a directory of SYMBOL.csv files, (repeated) SYMBOL=path/to/file, or a database URL "
                        "(sqlite:///master.db, see fbt ingest)")
    p.add_argument("--symbols", help="comma-separated symbols to load from --data DIR (default: all)")
    p.add_argument("--capital", default="100000", help="starting cash (default 100000)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="keyword argument for the strategy factory (repeatable)")
    p.add_argument("--periods", type=parse_periods, default=252.0,
                   help="bars per year for the Sharpe ratio and other yearly figures (default 252), "
                        "or auto for the data's frequency")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    add_model_options(p)
    add_run_options(p)
    importlib.import_module("fbt.cli.stream").add_stream_options(p)  # --stream, --chunk-bars
    p.set_defaults(func=cmd_run)
    d = sub.add_parser("demo", help="run the crossover example on the bundled synthetic sample data")
    d.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    d.set_defaults(func=cmd_demo)
    from fbt.cli.commands import register  # diff, debug, check-lookahead

    register(sub)
    importlib.import_module("fbt.cli.sweep").register(sub)  # sweep, walk-forward
    register_research(sub)  # ingest, report
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
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): results are on disk
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141

