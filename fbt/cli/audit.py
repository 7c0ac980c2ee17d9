"""The ``fbt diff``, ``fbt debug`` and ``fbt check-lookahead`` commands: the audit of a run, from the
command line (argument parsing and printing only; each calls :mod:`fbt.audit`).

Exit status: 0 when runs are identical / the walk reached its stop / the check passed; 1 when runs
differ / the stop condition never held / lookahead was found; 2 on an error (printed as one line).
"""

from __future__ import annotations

import argparse
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fbt.cli.options import Parents, load_data, whole
from fbt.core.errors import ConfigError

if TYPE_CHECKING:
    from fbt.audit import When
    from fbt.audit.debug import Condition, Frame
    from fbt.backtest.result import Result
    from fbt.cli.options import Subparsers
    from fbt.core.market import BarData
    from fbt.core.state import World
    from fbt.core.strategy import Strategy

__all__ = ["EXHAUSTIVE_UP_TO", "MAX_PREFIXES", "describe_state", "parse_when", "register"]

#: :mod:`fbt.audit.lookahead`'s defaults, spelled here so that building the parser imports nothing (a test
#: holds them equal)
EXHAUSTIVE_UP_TO = 300
MAX_PREFIXES = 200


def parse_when(text: str) -> When:
    """Parse a bar option: whole numbers are bar indices, anything else a time.

    >>> parse_when("12"), parse_when("2020-01-31")
    (12, '2020-01-31')
    """
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped


def _event_kind(text: str) -> tuple[str, str | None]:
    from fbt.journal import event_types

    kind, _, symbol = text.partition(":")
    known = event_types()
    wanted = kind.strip().lower()
    for name in known:
        if wanted in (name.lower(), name.lower().removesuffix("event")):
            return name, symbol.strip() or None
    raise ConfigError(f"--until: unknown event type {kind!r}; expected one of {', '.join(sorted(known))} "
                      f"(or fill, order, signal), optionally :SYMBOL")


def describe_state(world: World, data: BarData, names: tuple[str, ...] = ()) -> str:
    """Return a world as indented lines: cash, commission, positions, orders, strategy states."""
    from fbt.audit.debug import describe_event

    p = world.portfolio
    positions = ", ".join(f"{s}={q!r}" for s, q in zip(data.symbols, p.positions, strict=False))
    pending = ", ".join(describe_event(o) for o in world.broker.pending) or "none"
    lines = [
        f"  cash            {p.cash!r}",
        f"  commission      {p.commission!r}",
        f"  positions       {positions}",
        f"  orders sent     {p.orders_sent}",
        f"  pending orders  {pending}",
    ]
    labels = [names[k] if k < len(names) else f"strategy {k}" for k in range(len(world.strategies))]
    lines += [f"  {label:<15} {state!r}" for label, state in zip(labels, world.strategies, strict=True)]
    return "\n".join(lines)


def _inputs(args: argparse.Namespace) -> tuple[Strategy[Any], BarData]:
    from fbt.io.factory import make_strategy

    strategy = make_strategy(args.strategy, dict(args.param))
    return strategy, load_data(args.data, args.symbols)


def _label(strategy: Strategy[Any], data: BarData) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in strategy.params)
    return f"{strategy.name}({params}) on {', '.join(data.symbols)}: {len(data)} bars"


def cmd_diff(args: argparse.Namespace) -> int:
    from fbt.audit import diff, same_inputs
    from fbt.journal import read_journal

    a, b = read_journal(args.a), read_journal(args.b)
    result = diff(a, b)
    print(result.describe())
    same_code, same_data = same_inputs(a, b)  # a live journal's bars are inline: compared as data too
    if not (same_code and same_data):
        labels = [", ".join(j.header.strategy_labels()) for j in (a, b)]
        print(f"(the inputs differ: A ran {labels[0]}, B ran {labels[1]}; "
              f"{'same' if same_data else 'different'} market data)")
    return 0 if result.identical else 1


def cmd_debug(args: argparse.Namespace) -> int:
    from fbt.audit import bar_of
    from fbt.audit.debug import break_at, has_event, walk
    from fbt.backtest.result import run

    strategy, data = _inputs(args)
    result = run(strategy, data, capital=args.capital, periods=args.periods, checkpoint_every=args.checkpoint_every)
    start = parse_when(args.start) if args.start is not None else 0
    first = bar_of(data, start)
    condition: When | Condition | None = None
    if args.stop_at is not None and args.until is not None:
        raise ConfigError("give --stop-at or --until, not both")
    if args.stop_at is not None:
        condition = parse_when(args.stop_at)
        reason = f"bar {args.stop_at}"
    elif args.until is not None:
        kind, symbol = _event_kind(args.until)
        condition = has_event(kind, symbol=symbol) if symbol else has_event(kind)
        reason = f"the first {kind}" + (f" of {symbol}" if symbol else "")
    print(f"fbt debug: {_label(strategy, data)}")
    shown: Callable[[Frame], bool] = (lambda f: True) if args.all_bars else (lambda f: bool(f.events))
    if args.interactive:
        return _interactive(result, first, condition, shown)
    if condition is None:
        count, last = 0, None
        for frame in walk(result, start=first):
            if shown(frame):
                print(frame.describe(state=False))
                count += 1
                last = frame
                if args.limit and count >= args.limit:
                    break
        if last is None:
            print(f"no events from bar {first} to the end")
            return 0
        print(f"state after bar {last.bar} ({last.time}):")
        print(describe_state(last.world, data, result.run.context.strategy_names))
        return 0
    target = break_at(result, condition, start=first)
    if target is None or target.bar < first:
        print(f"{reason} never happens from bar {first} on")
        return 1
    before: deque[Frame] = deque(maxlen=args.limit or None)
    if target.bar > first:
        for frame in walk(result, start=first, stop=target.bar - 1):
            if shown(frame):
                before.append(frame)
    for frame in before:
        print(frame.describe(state=False))
    print(f"stopped at bar {target.bar} ({target.time}): {reason}")
    print(target.describe(state=False))
    print(f"state after bar {target.bar}:")
    print(describe_state(target.world, data, result.run.context.strategy_names))
    return 0


def _interactive(result: Result, first: int, condition: When | Condition | None,
                 shown: Callable[[Frame], bool]) -> int:
    from fbt.audit import format_time
    from fbt.audit.debug import break_at, walk

    data = result.run.data
    stop_bar = None
    if condition is not None:
        target = break_at(result, condition, start=first)
        stop_bar = None if target is None else target.bar
    print("keys: [Enter] next bar with events, n next bar, s state, c continue to the stop, q quit")
    mode = "events"  # pause at: "events" the next shown bar, "bar" the next bar, "stop" the stop bar
    for frame in walk(result, start=first):
        at_stop = frame.bar == stop_bar
        if not (at_stop or frame.bar == first or mode == "bar" or (mode == "events" and shown(frame))):
            continue
        print(frame.describe(state=False))
        if at_stop:
            print(f"stopped at bar {frame.bar} ({frame.time})")
            print(describe_state(frame.world, data, result.run.context.strategy_names))
        while True:
            try:
                key = input("(fbt debug) ").strip().lower()
            except EOFError:
                return 0
            if key == "q":
                return 0
            if key == "s":
                print(describe_state(frame.world, data, result.run.context.strategy_names))
                continue
            if key == "c" and stop_bar is not None and stop_bar > frame.bar:
                mode = "stop"
            elif key == "n":
                mode = "bar"
            else:
                if key == "c":
                    print("no stop ahead: stepping to the next bar with events")
                mode = "events"
            break
    print(f"end of the run (bar {len(data) - 1}, {format_time(int(data.timestamps[-1]), data.time_format)})")
    return 0


def cmd_check_lookahead(args: argparse.Namespace) -> int:
    from fbt.audit.lookahead import check_lookahead
    from fbt.backtest.result import configure

    strategy, data = _inputs(args)
    cuts = None
    if args.cuts:
        try:
            cuts = [int(c) for c in args.cuts.split(",") if c.strip()]
        except ValueError:
            raise ConfigError(f"--cuts: expected comma-separated whole numbers, got {args.cuts!r}") from None
    config = configure(None, data, capital=args.capital, periods=args.periods)
    report = check_lookahead(strategy, data, config=config, cuts=cuts, exhaustive_up_to=args.exhaustive_up_to,
                             max_prefixes=args.max_prefixes)
    print(f"fbt check-lookahead: {_label(strategy, data)}, {len(report.cuts)} prefixes")
    print(report.describe())
    return 0 if report.passed else 1


def register(subparsers: Subparsers, parents: Parents) -> None:
    """Add the ``diff``, ``debug`` and ``check-lookahead`` commands to ``fbt``'s parser."""
    d = subparsers.add_parser("diff", help="compare two runs to their first divergent event",
                              description="Compare two runs: output folders of `fbt run` or journal files. Exit 0 "
                                          "and 'identical' when their events are, 1 and the first divergent event "
                                          "when not, 2 on an error.")
    d.add_argument("a", metavar="A", help="an output folder of `fbt run`, or a journal.jsonl file")
    d.add_argument("b", metavar="B", help="another one")
    d.set_defaults(func=cmd_diff)

    g = subparsers.add_parser("debug", help="walk a run bar by bar, showing each bar's events and the state",
                              parents=[parents.strategy, parents.data, parents.capital, parents.periods],
                              description="Backtest a strategy as `fbt run` does, then walk it bar by bar. Without "
                                          "a stop, shows the first --limit bars with events from --start; with "
                                          "--stop-at or --until, the last --limit bars before the stop, then the "
                                          "stop bar and the full state after it.")
    g.add_argument("--start", help="the first bar to walk: an index or a time (default 0)")
    g.add_argument("--stop-at", metavar="BAR|TIME", help="stop at this bar: an index or a time")
    g.add_argument("--until", metavar="TYPE[:SYMBOL]",
                   help="stop at the first bar with such an event, e.g. fill:ORCL, signal, OrderEvent:AAPL")
    g.add_argument("--all-bars", action="store_true", help="show bars without events too")
    g.add_argument("--limit", type=whole("--limit", 0), default=20, help="bars to show (default 20; 0: no limit)")
    g.add_argument("--checkpoint-every", type=whole("--checkpoint-every"), default=1_000, metavar="K",
                   help="keep the state every K bars, so starting anywhere steps at most K bars (default 1000)")
    g.add_argument("-i", "--interactive", action="store_true", help="step with the keyboard")
    g.set_defaults(func=cmd_debug)

    c = subparsers.add_parser("check-lookahead", help="check that a strategy cannot see the future",
                              parents=[parents.strategy, parents.data, parents.capital, parents.periods],
                              description="Run the strategy on prefixes of the data, each a fresh run with the "
                                          "strategy built anew, and compare each prefix's events with the full "
                                          "run's up to that point. Exit 0 on a pass, 1 on a finding.")
    c.add_argument("--cuts", metavar="N,N,...", help="prefix lengths (bars) to check instead of the default choice")
    c.add_argument("--exhaustive-up-to", type=whole("--exhaustive-up-to", 0), default=EXHAUSTIVE_UP_TO, metavar="N",
                   help=f"check every prefix of data up to N bars (default {EXHAUSTIVE_UP_TO})")
    c.add_argument("--max-prefixes", type=whole("--max-prefixes", 0), default=MAX_PREFIXES, metavar="N",
                   help=f"on longer data, about N prefixes: half after event bars, half evenly spread, plus the "
                        f"first 20 (default {MAX_PREFIXES})")
    c.set_defaults(func=cmd_check_lookahead)
