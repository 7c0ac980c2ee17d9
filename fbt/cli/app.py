"""The ``fbt`` program: its parser, made of the command modules, and :func:`main`, which runs it.

Each module named in :data:`COMMANDS` adds its subcommands with ``register(subparsers, parents)``
(see :mod:`fbt.cli`); :func:`main` parses, calls the chosen command's handler, and turns an
:class:`~fbt.core.errors.FbtError` into one line on standard error (``fbt: error: ...``), exit
status 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fbt.cli.options import parents
from fbt.core.errors import FbtError

if TYPE_CHECKING:
    from fbt.cli.options import Parents, Subparsers

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules, in the order ``fbt --help`` lists their subcommands: one line per module.
COMMANDS: tuple[str, ...] = (
    "fbt.cli.run",  # run, demo
    "fbt.cli.audit",  # diff, debug, check-lookahead
    "fbt.cli.sweep",  # sweep, walk-forward
    "fbt.cli.ingest",  # ingest
    "fbt.cli.report",  # report
    "fbt.cli.live",  # live
)

def build_parser() -> argparse.ArgumentParser:
    """Return the ``fbt`` parser with every command of :data:`COMMANDS` registered."""
    parser = argparse.ArgumentParser(prog="fbt", description="A functional, event-driven backtester.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    shared = parents()
    for name in COMMANDS:
        register: Callable[[Subparsers, Parents], None] = importlib.import_module(name).register
        register(subparsers, shared)
    return parser

def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a negative answer, 2 error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # the options' converters raise ConfigError naming the option
        handler: Callable[[argparse.Namespace], int] = args.func
        return int(handler(args))
    except FbtError as exc:
        print(f"fbt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # the notes say what became of the output folder
        print("; ".join(["fbt: interrupted", *getattr(exc, "__notes__", ())]), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): results are on disk
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
