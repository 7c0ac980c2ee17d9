"""The ``fbt live`` command: paper or live trading of a strategy, journalled, resumable after a crash.

``fbt live STRATEGY --broker sim --feed replay:DIR --journal PATH`` runs the strategy on the bars
of the feed through the broker (see :func:`fbt.live.run_live`), prints each order, fill and
rejection as it happens, and writes ``fbt run``'s files into ``--out``; the same command with the
same ``--journal`` resumes after a stop or a crash. Ctrl-C finishes the current bar, closes the
journal and writes the outputs. The sim venue keeps its record beside the journal (``PATH.venue``).

Exit status (:data:`EXIT_CODES`): 0 the session ended (the feed ran out, or Ctrl-C); 2 bad input or
a fault, one ``fbt: error:`` line; 3 halted: the venue's positions disagreed with the portfolio
after reconciliation, no new orders were sent, the outputs up to there are written.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from fbt.cli.options import Parents, model_overrides, symbol_list, whole
from fbt.core.errors import ConfigError

if TYPE_CHECKING:
    from fbt.cli.options import Subparsers

__all__ = ["EXIT_CODES", "HALTED", "cmd_live", "register"]

#: The exit status of a session that halted (a position mismatch after reconciliation).
HALTED = 3

#: What each exit status of ``fbt live`` means (printed by ``fbt live --help``).
EXIT_CODES = (
    (0, "the session ended: the feed ran out, or Ctrl-C finished the current bar"),
    (2, "bad input or a fault (journal, data, broker connection): one 'fbt: error:' line"),
    (HALTED, "halted: the venue's positions disagree with the portfolio after reconciliation; no new "
             "orders were sent, the outputs up to the halt are written"),
)


def register(subparsers: Subparsers, parents: Parents) -> None:
    """Add ``live`` to ``fbt``'s parser."""
    p = subparsers.add_parser("live", help="paper or live trading through a broker (sim or ib), resumable",
                              parents=[parents.strategy, parents.capital, parents.periods, parents.risk_free,
                                       parents.out, parents.models],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="exit status:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES))
    g = p.add_argument_group("session")
    g.add_argument("--broker", choices=("sim", "ib"), default="sim",
                   help="sim: the backtest's execution models, no venue (default); ib: Interactive Brokers")
    g.add_argument("--feed", required=True, metavar="replay:DIR|ib",
                   help="where closed bars come from: replay:DIR plays a data directory as fbt run --data DIR")
    g.add_argument("--symbols", help="comma-separated symbols to trade (default: every file of replay:DIR)")
    g.add_argument("--journal", required=True, metavar="PATH",
                   help="the session's write-ahead journal; the same path resumes the session")
    ib = p.add_argument_group("Interactive Brokers (--broker ib)")
    ib.add_argument("--contracts", metavar="FILE", help="contracts per symbol, TOML or JSON (default: SMART USD stock)")
    ib.add_argument("--host", default="127.0.0.1", help="TWS or IB Gateway host (default 127.0.0.1)")
    ib.add_argument("--port", type=whole("--port"), default=7497, help="TWS or IB Gateway port (default 7497, paper)")
    ib.add_argument("--client-id", type=whole("--client-id", 0), default=1, help="API client id (default 1)")
    ib.add_argument("--wait", type=_seconds, default=10.0, metavar="SECONDS",
                    help="after a bar's orders, wait at most this long for each to be final before the next bar "
                         "(default 10; later fills are booked when they come)")
    p.set_defaults(func=cmd_live)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def cmd_live(args: argparse.Namespace) -> int:
    """Run ``fbt live``: the session, then its files into ``--out``, then the summary."""
    from fbt.backtest.result import configure
    from fbt.io.factory import make_strategy
    from fbt.live import ReplayFeed, SimAdapter, feed_from, run_live

    strategy = make_strategy(args.strategy, dict(args.param))
    feed = feed_from(args.feed, symbol_list(args.symbols))
    data = feed.data if isinstance(feed, ReplayFeed) else None
    config = configure(None, data, capital=args.capital, periods=args.periods, risk_free=args.risk_free,
                       **model_overrides(args))
    if args.broker == "sim":
        adapter = SimAdapter(f"{args.journal}.venue", config, feed.symbols)
    else:
        from fbt.live.contracts import load_contracts
        from fbt.live.ib import IBAdapter

        contracts = load_contracts(args.contracts, feed.symbols, instruments=dict(config.instruments))
        adapter = IBAdapter(args.host, args.port, args.client_id, contracts)  # type: ignore[assignment]
    if args.contracts and args.broker == "sim":
        raise ConfigError("--contracts: only --broker ib trades contracts")

    def echo(line: str) -> None:
        print(line, flush=True)

    halted: list[str] = []
    result = run_live(strategy, feed, adapter, args.journal, config, echo=echo, on_halt=halted.append,
                      wait=args.wait)
    directory = result.write(args.out)
    print(result.summary())
    print(f"Journal {args.journal}")
    print(f"Wrote equity.csv, fills.csv, trades.csv, journal.jsonl and stats.json to {directory}")
    sys.stdout.flush()
    if halted:
        print(f"fbt live: halted: {halted[0]}", file=sys.stderr)
        return HALTED
    return 0
