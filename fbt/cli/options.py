"""The options several ``fbt`` commands share, declared once as parent parsers, and their converters.

:func:`parents` builds one :class:`Parents`: an ``argparse`` parser without ``-h`` for each family
of options (the strategy and its ``--param``, the data, the date range, ``--capital``,
``--periods``, ``--risk-free``, ``--out``, ``--quiet``, the execution/cost/sizing/risk models, the executor of a
sweep). A command takes the families it needs with ``add_parser(..., parents=[parents.data,
...])``; :func:`load_data` loads what the data family's options name.

Every value is converted where argparse reads it, by a ``type=`` converter: a bad one is a
:class:`~fbt.core.errors.ConfigError` naming the option and what was expected (``--capital:
expected a positive number, got 'lots'``), which the program prints as one line, exit status 2.

This module imports only the standard library and :mod:`fbt.core.errors`, so that ``fbt --help``
answers at once: converters that need the models import them when they run. The names the help
lists (execution modes, model names) are spelled here for that reason; a test holds them equal to
:mod:`fbt.models`'s.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from fbt.core.errors import ConfigError

if TYPE_CHECKING:
    from typing import TypeAlias

    #: what a command module's ``register`` receives: the ``fbt`` parser's subcommands
    from fbt.core.market import BarData

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = [
    "COMMISSION_NAMES",
    "DEFAULT_OUT",
    "EXECUTIONS",
    "SIZING_NAMES",
    "SLIPPAGE_NAMES",
    "Parents",
    "load_data",
    "model_overrides",
    "parents",
    "parse_group",
    "parse_param",
    "parse_periods",
    "parse_risk_free",
    "parse_value",
    "positive",
    "symbol_list",
    "whole",
]

#: the one default output folder of every command that writes files
DEFAULT_OUT = "fbt-out"

#: :class:`fbt.models.fill.Execution`'s values, and the names of :mod:`fbt.models.registry`'s tables
EXECUTIONS = ("book", "next-open", "next-close")
COMMISSION_NAMES = ("ib-seed", "ib-fixed", "ib-tiered", "percent", "per-share", "per-trade", "zero")
SLIPPAGE_NAMES = ("none", "fixed-bps", "half-spread", "volume-share", "sqrt-impact")
SIZING_NAMES = ("book", "fixed", "cash", "all-cash", "percent", "target-weight", "volatility", "kelly")


# Converters: each turns one option's text into its value, or raises a ConfigError naming the option


def _named(name: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    convert.__name__ = name  # what argparse calls the type in its own messages
    return convert


def positive(option: str) -> Callable[[str], float]:
    """Return the converter of a positive finite number for ``option``.

    >>> positive("--capital")("2500")
    2500.0
    >>> positive("--capital")("-5")
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: --capital: expected a positive finite number, got '-5'
    """

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{option}: expected a positive number, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise ConfigError(f"{option}: expected a positive finite number, got {text!r}")
        return value

    return _named("positive number", convert)


def whole(option: str, minimum: int = 1) -> Callable[[str], int]:
    """Return the converter of a whole number ``>= minimum`` for ``option``.

    >>> whole("--top", 0)("5")
    5
    >>> whole("--workers")("two")
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: --workers: expected a whole number >= 1, got 'two'
    """

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise ConfigError(f"{option}: expected a whole number >= {minimum}, got {text!r}")
        return value

    return _named("whole number", convert)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"--connect-timeout: expected a number of seconds >= 0, got {text!r}")
    return value


def parse_periods(text: str) -> float | str:
    """Read ``--periods``: bars per year, or ``auto`` for the data's frequency.

    >>> parse_periods("252"), parse_periods("auto")
    (252.0, 'auto')
    """
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--periods: expected a number of bars per year or auto, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"--periods: expected a positive number of bars per year or auto, got {text!r}")
    return value


def parse_risk_free(text: str) -> float:
    """Read ``--risk-free``: a yearly rate as a fraction (``0.02``) or in percent (``2%``).

    >>> parse_risk_free("0.02"), parse_risk_free("2%")
    (0.02, 0.02)
    """
    stripped = text.strip()
    scale = 100.0 if stripped.endswith("%") else 1.0
    try:
        value = float(stripped.rstrip("%")) / scale
    except ValueError:
        raise ConfigError(f"--risk-free: expected a yearly rate like 0.02 or 2%, got {text!r}") from None
    if value != value or abs(value) == float("inf"):
        raise ConfigError(f"--risk-free: expected a finite yearly rate, got {text!r}")
    return value


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


def parse_param(text: str) -> tuple[str, Any]:
    """Read one ``--param NAME=VALUE`` (``dict()`` of the list gives the factory's keyword arguments).

    >>> parse_param("short_window=5"), parse_param(" flag = true ")
    (('short_window', 5), ('flag', True))
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--param: expected NAME=VALUE, got {text!r}")
    return name.strip(), parse_value(value.strip())


def parse_group(text: str) -> Any:
    """Read ``--group NAME=SYM1,SYM2:LIMIT`` (gross exposure of the group at most LIMIT x equity).

    >>> parse_group("tech=ORCL,NVDA:0.5")
    Group(name='tech', symbols=('ORCL', 'NVDA'), limit=0.5)
    """
    from fbt.models.risk import Group

    name, sep, rest = text.partition("=")
    members, sep2, limit = rest.rpartition(":")
    symbols = tuple(m.strip() for m in members.split(",") if m.strip())
    if not sep or not sep2 or not name.strip() or not symbols:
        raise ConfigError(f"--group: expected NAME=SYMBOL,SYMBOL:LIMIT, got {text!r}")
    return Group(name=name.strip(), symbols=symbols, limit=positive("--group")(limit.strip()))


def _instrument(text: str) -> Any:
    from fbt.models.instrument import parse_instrument

    return parse_instrument(text)


def _model(option: str, parser: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        from fbt.models import registry

        return getattr(registry, parser)(text, what=option)

    return _named("model", convert)


def load_data(items: Sequence[str], symbols: str | None, *, start: Any = None, end: Any = None) -> BarData:
    """Load ``--data DIR`` (with ``--symbols``), repeated ``--data SYMBOL=FILE``, or ``--data URL`` (SQL)."""
    from fbt.io.loaders import load, load_dir
    from fbt.io.sources import symbol_files

    if not items:
        raise ConfigError("--data: expected a directory or SYMBOL=FILE")
    if any("://" in item for item in items):  # a securities master in SQL (fbt.io.sql)
        if len(items) > 1:
            raise ConfigError("--data: give one database URL (pick symbols with --symbols)")
        from fbt.io.sql import load_sql

        return load_sql(items[0], symbol_list(symbols), start=start, end=end)
    sources = symbol_files(items, symbols)
    if sources is not None:
        return load(sources, start=start, end=end)
    if len(items) > 1:
        raise ConfigError("--data: give one directory, or repeat --data as SYMBOL=FILE")
    return load_dir(items[0], symbol_list(symbols), start=start, end=end)


def symbol_list(text: str | None) -> list[str] | None:
    """Split ``--symbols A,B`` into names (None when not given: every symbol).

    >>> symbol_list("ORCL, AAPL,"), symbol_list(None)
    (['ORCL', 'AAPL'], None)
    """
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


# The parent parsers


class Parents(NamedTuple):
    """The option families, one parser each (``add_help=False``), to pass as ``parents=[...]``."""

    strategy: argparse.ArgumentParser
    data: argparse.ArgumentParser
    dates: argparse.ArgumentParser
    capital: argparse.ArgumentParser
    periods: argparse.ArgumentParser
    risk_free: argparse.ArgumentParser
    out: argparse.ArgumentParser
    quiet: argparse.ArgumentParser
    models: argparse.ArgumentParser
    executor: argparse.ArgumentParser


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def parents() -> Parents:
    """Build the shared option families (cheap: nothing is imported)."""
    strategy = _parent()
    strategy.add_argument("strategy", help="path/to/file.py:factory or package.module:factory")
    strategy.add_argument("--param", action="append", default=[], type=parse_param, metavar="NAME=VALUE",
                          help="keyword argument for the strategy factory (repeatable)")
    data = _parent()
    data.add_argument("--data", action="append", default=[], metavar="DIR|SYMBOL=FILE|URL",
                      help="a directory of SYMBOL.csv files, (repeated) SYMBOL=path/to/file, or a database URL "
                           "(sqlite:///master.db, see fbt ingest)")
    data.add_argument("--symbols", help="comma-separated symbols to load from --data DIR (default: all)")
    dates = _parent()
    dates.add_argument("--start", metavar="DATE",
                       help="first bar time to use, e.g. 2005-01-01 (default: the data's first)")
    dates.add_argument("--end", metavar="DATE",
                       help="last bar time to use; a plain date includes that whole day (default: the data's last)")
    capital = _parent()
    capital.add_argument("--capital", type=positive("--capital"), default=100_000.0,
                         help="starting cash (default 100000)")
    periods = _parent()
    periods.add_argument("--periods", type=parse_periods, default=252.0,
                         help="bars per year for the Sharpe ratio and other yearly figures (default 252), "
                              "or auto for the data's frequency")
    risk_free = _parent()
    risk_free.add_argument("--risk-free", type=parse_risk_free, default=0.0, metavar="RATE",
                           help="yearly risk-free rate for the Sharpe and Sortino ratios, 0.02 or 2%% (default 0)")
    out = _parent()
    out.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    quiet = _parent()
    quiet.add_argument("--quiet", action="store_true", help="no progress bar (it shows on a terminal only anyway)")
    return Parents(strategy=strategy, data=data, dates=dates, capital=capital, periods=periods, risk_free=risk_free,
                   out=out, quiet=quiet, models=_models(), executor=_executor())


def _models() -> argparse.ArgumentParser:
    p = _parent()
    g = p.add_argument_group("execution, costs, sizing and risk (defaults reproduce the book)")
    g.add_argument("--execution", choices=EXECUTIONS, default="book",
                   help="when market orders fill: at once at adj_close (book), at the next bar's open or close")
    g.add_argument("--commission", type=_model("--commission", "parse_commission"), default="ib-seed",
                   metavar="NAME[:PARAMS][+NAME...]",
                   help=f"commission model: {', '.join(COMMISSION_NAMES)} (default ib-seed; '+' adds models)")
    g.add_argument("--slippage", type=_model("--slippage", "parse_slippage"), default="none",
                   metavar="NAME[:PARAMS]",
                   help=f"slippage model: {', '.join(SLIPPAGE_NAMES)} (default none), e.g. fixed-bps:5")
    g.add_argument("--sizing", type=_model("--sizing", "parse_sizing"), default="book", metavar="NAME[:PARAMS]",
                   help=f"sizing model: {', '.join(SIZING_NAMES)} (default book: 100 units), e.g. percent:10")
    cash = g.add_mutually_exclusive_group()
    cash.add_argument("--cash-check", dest="cash_check", action="store_true", default=None,
                      help="refuse fills that cash cannot pay for (default: on, except in book mode)")
    cash.add_argument("--no-cash-check", dest="cash_check", action="store_false", help="allow negative cash")
    g.add_argument("--margin", type=positive("--margin"), metavar="M",
                   help="buying power as M x equity (replaces the cash-only check)")
    g.add_argument("--max-position", type=positive("--max-position"), metavar="F",
                   help="largest position per symbol, as a fraction of equity")
    g.add_argument("--max-leverage", type=positive("--max-leverage"), metavar="L",
                   help="largest gross exposure, as a multiple of equity")
    g.add_argument("--long-only", action="store_true", help="refuse fills that would leave a short position")
    g.add_argument("--group", action="append", default=[], type=parse_group, metavar="NAME=SYM,SYM:LIMIT",
                   help="largest gross exposure of a group of symbols, as a fraction of equity (repeatable)")
    g.add_argument("--volume-limit", type=positive("--volume-limit"), metavar="F",
                   help="fill at most this fraction of a bar's volume; the rest waits (partial fills)")
    g.add_argument("--fractional", action="store_true", help="trade fractions of a unit (FX, crypto)")
    g.add_argument("--close-at-end", action="store_true",
                   help="close every open position with a fill on the last bar (at its open in next-open mode, "
                        "else at its close), so the last trade counts")
    g.add_argument("--instrument", action="append", default=[], type=_instrument,
                   metavar="SYMBOL:multiplier=M,tick=T,margin=X",
                   help="contract terms of a symbol (repeatable): futures multiplier (P&L = price change x M x "
                        "quantity), tick size (fill prices round to it; not in book mode) and initial margin per "
                        "contract (held instead of the notional; the cash check and leverage count it)")
    return p


def _executor() -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--executor", default="local", metavar="local|serial|dask://HOST:PORT|dask-local",
                   help="where runs go: local processes (default), serially, or a Dask cluster")
    p.add_argument("--workers", type=whole("--workers"),
                   help="local processes or dask-local workers (default: all cores)")
    p.add_argument("--chunk-size", type=whole("--chunk-size"), metavar="N",
                   help="parameter sets per task (default: automatic)")
    p.add_argument("--connect-timeout", type=_named("seconds", _seconds), default=5.0, metavar="SECONDS",
                   help="how long to wait for a Dask scheduler (default 5)")
    return p


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Turn the parsed model options into the run functions' keyword overrides."""
    from fbt.models.risk import Risk

    risk = Risk(
        cash_check=args.cash_check,
        margin=args.margin,
        max_position=args.max_position,
        max_leverage=args.max_leverage,
        allow_short=not args.long_only,
        groups=tuple(args.group),
        volume_limit=args.volume_limit,
        fractional=args.fractional,
    )
    options: dict[str, Any] = {
        "execution": args.execution,
        "commission": args.commission,
        "slippage": args.slippage,
        "sizing": args.sizing,
        "risk": risk,
    }
    if args.instrument:  # only when given: the options of a stock run stay as they were
        chosen: dict[str, Any] = {}
        for symbol, instrument in args.instrument:
            if symbol in chosen:
                raise ConfigError(f"--instrument: symbol {symbol} given twice")
            chosen[symbol] = instrument
        options["instruments"] = tuple(chosen.items())
    if args.close_at_end:  # only when given, as above
        options["close_at_end"] = True
    return options
