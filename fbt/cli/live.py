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
    from fbt.live.adapter import BrokerAdapter

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
                   help="where closed bars come from: replay:DIR plays a data directory as fbt run --data DIR; "
                        "ib aggregates IB's 5-second real-time bars into --bar-size bars")
    g.add_argument("--symbols", help="comma-separated symbols to trade (default: every file of replay:DIR; "
                                     "--feed ib needs them)")
    g.add_argument("--bar-size", metavar="SIZE",
                   help="--feed ib: the closed bars made of IB's 5-second bars, e.g. 30s, 1min, 5min, 1h "
                        "(default 1min); labelled by the period's start, as the shared data are")
    g.add_argument("--idle", type=_positive_seconds, metavar="SECONDS",
                   help="--feed ib: end the session after this many seconds without a 5-second bar "
                        "(default: run until Ctrl-C)")
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


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def cmd_live(args: argparse.Namespace) -> int:
    """Run ``fbt live``: the session, then its files into ``--out``, then the summary."""
    from fbt.backtest.result import configure
    from fbt.io.factory import make_strategy
    from fbt.live import ReplayFeed, SimAdapter, feed_from, run_live

    strategy = make_strategy(args.strategy, dict(args.param))
    symbols = symbol_list(args.symbols)
    live_bars = args.feed == "ib"
    if not live_bars and (args.bar_size is not None or args.idle is not None):
        raise ConfigError(f"--{'bar-size' if args.bar_size is not None else 'idle'}: only --feed ib makes "
                          f"bars of IB's 5-second bars")
    if args.contracts and args.broker == "sim" and not live_bars:
        raise ConfigError("--contracts: only --broker ib trades contracts")
    if live_bars and not symbols:
        raise ConfigError("--feed ib: expected --symbols, the symbols to subscribe")
    replay = None if live_bars else feed_from(args.feed, symbols)
    data = replay.data if isinstance(replay, ReplayFeed) else None
    config = configure(None, data, capital=args.capital, periods=args.periods, risk_free=args.risk_free,
                       **model_overrides(args))
    ib = None
    if live_bars or args.broker == "ib":
        from fbt.live.contracts import load_contracts
        from fbt.live.ib import IBAdapter

        traded = list(replay.symbols) if replay is not None else list(symbols or ())
        contracts = load_contracts(args.contracts, traded, instruments=dict(config.instruments))
        ib = IBAdapter(args.host, args.port, args.client_id, contracts)
    feed = replay if replay is not None else feed_from(args.feed, symbols, source=ib, journal=args.journal,
                                                       bar_size=args.bar_size or "1min", idle=args.idle)
    if args.broker == "sim":
        adapter: BrokerAdapter = SimAdapter(f"{args.journal}.venue", config, feed.symbols)
    else:
        assert ib is not None
        adapter = ib

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
