"""Run ``fbt live`` in a subprocess: ``python -m tests.live.live_main ARGS`` (``fbt``'s own program,
with the live command registered if the program does not list it yet)."""

from __future__ import annotations

import sys

from fbt.cli import app

if __name__ == "__main__":
    if "fbt.cli.live" not in app.COMMANDS:
        app.COMMANDS = (*app.COMMANDS, "fbt.cli.live")
    sys.exit(app.main(["live", *sys.argv[1:]]))
