"""fbt's command line: one argparse program (``fbt --help``); every subcommand is a thin call into the public API.

The layout:

- :mod:`fbt.cli.app`: the program. :data:`fbt.cli.app.COMMANDS` lists the command modules, one
  line each; :func:`fbt.cli.app.main` parses and runs, printing an :class:`~fbt.core.errors.FbtError`
  as one line (``fbt: error: ...``) with exit status 2.
- :mod:`fbt.cli.options`: the options several commands share, declared once as parent parsers
  (:class:`fbt.cli.options.Parents`) with ``type=`` converters that name the option and what was
  expected; one default output folder (``fbt-out``).
- one module per family of commands: :mod:`~fbt.cli.run` (``run``, ``demo``), :mod:`~fbt.cli.audit`
  (``diff``, ``debug``, ``check-lookahead``), :mod:`~fbt.cli.sweep` (``sweep``, ``walk-forward``),
  :mod:`~fbt.cli.ingest`, :mod:`~fbt.cli.report`.

Adding a command: write a module with ::

    def register(subparsers: Subparsers, parents: Parents) -> None:
        p = subparsers.add_parser("name", help="...", parents=[parents.strategy, parents.data, parents.out])
        p.add_argument(...)                  # the command's own options
        p.set_defaults(func=cmd_name)        # cmd_name(args: argparse.Namespace) -> int, the exit status

and add its name to :data:`fbt.cli.app.COMMANDS` (one line, in the order ``fbt --help`` lists it).
``parents`` holds the shared families (``strategy`` with ``--param``, ``data``, ``dates``,
``capital``, ``periods``, ``out``, ``quiet``, ``models``, ``executor``); take the ones the command
needs rather than declaring them again. The module imports only the standard library and
``fbt.cli.options`` / ``fbt.core.errors`` at its top; the handler imports what it calls (pandas,
the kernel, ...) inside its body, so that ``fbt --help`` loads none of it (a test checks this).

Importing this package loads nothing heavy: :func:`main` imports the program when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fbt`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    The command line is a process of its own, so it picks Arrow's allocator for it: jemalloc, which
    hands freed pages back (peak memory of a 1M-bar ``fbt run`` ~440 MiB against ~520 with Arrow's
    default, and of a streamed one ~290 against ~360), unless ``ARROW_DEFAULT_MEMORY_POOL`` says
    otherwise. The allocator changes no output.
    """
    import os

    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    from fbt.cli.app import main as run_main

    return run_main(argv)
