"""fbt's command line: one argparse program (``fbt --help``); every subcommand calls the public API.

Importing this package loads nothing heavy: :func:`main` imports the program when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fbt`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    from fbt.cli.app import main as run_main

    return run_main(argv)
