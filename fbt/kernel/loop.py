"""The fold: the only loop. It replays a bar stream through the reducers.

For every bar, a local FIFO queue is drained in the seed's order: the MARKET event (strategies in
order), then every SIGNAL, ORDER and FILL it caused, each handled by :func:`fbt.kernel.make_step`,
before the next bar. :func:`fold` returns the ordered event log and the final world; :func:`scan`
yields the world after every bar, for debugging.

On a bar where no order is pending at the broker, the market step only calls the strategies, so
:func:`fold` calls them directly and builds a world only when they signal; :func:`scan` takes the
general path on every bar. A test holds the two equal.
"""

from __future__ import annotations

import contextlib
import gc
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.errors import ConfigError, StrategyError
from fbt.core.events import Event, MarketEvent
from fbt.core.market import BarData
from fbt.core.state import Portfolio, World
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.context import Context
from fbt.kernel.fast import book_chain
from fbt.kernel.step import Step, call_strategy, check_signals, make_step

__all__ = ["PROGRESS_EVERY", "BarStep", "Run", "drain", "fold", "paused_gc", "scan", "start"]

#: How many bars pass between two calls of a fold's ``progress`` callback (a power of two).
PROGRESS_EVERY = 1 << 16
_PROGRESS_MASK = PROGRESS_EVERY - 1
#: The fold works in blocks of this many bars (a power of two dividing PROGRESS_EVERY); between
#: blocks it reports progress, keeps checkpoints and looks at the collector.
_BLOCK_MASK = (1 << 12) - 1
_NO_SIGNALS: tuple[()] = ()
#: Young container objects allowed to pile up while the collector is paused before the fold collects them.
_YOUNG_LIMIT = 1_000_000
_SET_INDEX = MarketEvent.index.__set__  # type: ignore[attr-defined]
_SET_DATA = MarketEvent.data.__set__  # type: ignore[attr-defined]


@attrs.frozen(eq=False, kw_only=True)
class Run:
    """A finished fold: the ordered non-market events, the bar of each, and the final world.

    ``checkpoints`` holds ``(bar, world after that bar)`` every ``checkpoint_every`` bars (worlds
    are immutable, so a checkpoint is a reference, not a copy); ``context`` is the run's fixed
    context (data, configuration, built strategies), so any bar's world can be rebuilt from the
    nearest checkpoint by stepping forward.
    """

    data: BarData
    config: Config
    strategies: tuple[Strategy[Any], ...]
    events: tuple[Event, ...]
    event_bars: npt.NDArray[np.int64]
    final: World
    context: Context
    initial: World
    checkpoints: tuple[tuple[int, World], ...] = ()

    @property
    def n_bars(self) -> int:
        """How many bars the fold consumed (the strategies were called once on each)."""
        return len(self.data)


@attrs.frozen(eq=False, kw_only=True)
class BarStep:
    """One bar of a :func:`scan`: its index, the world after it, and the events it caused."""

    index: int
    world: World
    events: tuple[Event, ...]


def start(strategies: Sequence[Strategy[Any]], data: BarData, config: Config) -> tuple[Context, World]:
    """Build the strategies on the data and return the run's context and initial world."""
    if not strategies:
        raise StrategyError("no strategy given")
    states, steps = [], []
    for s in strategies:
        try:
            state, step = s.build(data)
        except StrategyError:
            raise
        except Exception as exc:
            raise StrategyError(f"strategy {s.name!r} failed to build: {type(exc).__name__}: {exc}") from exc
        states.append(state)
        steps.append(step)
    ctx = Context(data=data, config=config, strategy_names=tuple(s.name for s in strategies), steps=tuple(steps))
    world = World(
        strategies=tuple(states),
        portfolio=Portfolio.initial(capital=config.capital, n_symbols=len(data.symbols)),
    )
    return ctx, world


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector inside the block (and restore it after).

    The fold's records are acyclic (reference counting frees them), so collecting while the event
    log grows only rescans it, again and again; the collector runs as usual afterwards. (The fold
    still collects the youngest objects once more than ``_YOUNG_LIMIT`` of them have piled up, so
    a strategy that makes reference cycles cannot fill the memory meanwhile.)
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _one(state: Any) -> tuple[Any]:
    return (state,)


def _together(ctx: Context) -> Callable[[tuple[Any, ...], MarketEvent], tuple[tuple[Any, ...], list[Event]]]:
    """The market step of several strategies: each in turn (checked), their signals in strategy order."""
    steps = ctx.steps
    n_strategies = range(len(steps))

    def together(states: tuple[Any, ...], market: MarketEvent) -> tuple[tuple[Any, ...], list[Event]]:
        new_states = list(states)
        queue: list[Event] = []
        for k in n_strategies:
            try:
                result = steps[k](states[k], market)
            except Exception:
                result = None
            if result.__class__ is not tuple or len(result) != 2:
                result = call_strategy(ctx, k, states[k], market)
            new_states[k], signals = result
            if signals:
                queue.extend(check_signals(ctx, k, signals, market))
            elif signals.__class__ is not tuple and signals.__class__ is not list:
                check_signals(ctx, k, signals, market)
        return tuple(new_states), queue

    return together


def drain(step: Step, world: World, queue: Sequence[Event]) -> tuple[World, list[Event]]:
    """Handle ``queue`` and everything it causes, first in first out; return the handled events."""
    todo = deque(queue)
    handled: list[Event] = []
    while todo:
        event = todo.popleft()
        world, caused = step(world, event)
        handled.append(event)
        todo.extend(caused)
    return world, handled


def scan(
    strategies: Sequence[Strategy[Any]], data: BarData, config: Config | None = None
) -> Iterator[BarStep]:
    """Yield the world after every bar, with the events that bar caused (market event first)."""
    ctx, world = start(strategies, data, config or Config())
    step = make_step(ctx)
    for i in range(len(data)):
        world, handled = drain(step, world, (MarketEvent(i, data),))
        yield BarStep(index=i, world=world, events=tuple(handled))


def fold(
    strategies: Sequence[Strategy[Any]],
    data: BarData,
    config: Config | None = None,
    *,
    checkpoint_every: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    world: World | None = None,
    begin: int = 0,
) -> Run:
    """Run the strategies over every bar of ``data`` and return the event log and final world.

    With ``checkpoint_every=k`` the world after every k-th bar (bars k-1, 2k-1, ...) is kept.
    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` bars and at the end (the shell
    draws progress bars with it; it must not touch the fold's data).

    ``world`` and ``begin`` continue a run on bars ``[begin, len(data))``: ``world`` is the world
    after the bar before ``begin`` (strategy states, portfolio, broker), perhaps of an earlier chunk
    of the same stream; the bars before ``begin`` are history the strategies were built on (their
    indicators' warm-up) and are not stepped. The log's bars are indices into ``data``.
    """
    config = config or Config()
    ctx, world0 = start(strategies, data, config)
    if not 0 <= begin <= len(data):
        raise ConfigError(f"begin: expected 0 <= begin <= {len(data)}, got {begin!r}")
    if world is not None:
        if len(world.strategies) != len(world0.strategies) or len(world.portfolio.positions) != len(data.symbols):
            raise ConfigError("world: its strategies and symbols do not match this run's")
        world0 = World(market=world.market, strategies=world.strategies, portfolio=world.portfolio,
                       broker=world.broker)
    world = world0
    initial = world
    step = make_step(ctx)
    every = checkpoint_every or 0
    if every < 0:
        raise ConfigError(f"checkpoint_every: expected a whole number >= 1, got {checkpoint_every!r}")
    checkpoints: list[tuple[int, World]] = []
    next_checkpoint = begin + every - 1 if every else -1
    single = len(world.strategies) == 1
    # one strategy is stepped directly; several through one step that checks each in turn
    strategy_step: Callable[[Any, MarketEvent], Any] = ctx.steps[0] if single else _together(ctx)
    state: Any = world.strategies[0] if single else world.strategies
    pack: Callable[[Any], tuple[Any, ...]] = _one if single else tuple  # the world's tuple of strategy states
    portfolio, broker = world.portfolio, world.broker
    pending = bool(broker.pending)  # kept with the broker: it changes only where the broker does
    chain = book_chain(ctx) if config.is_book else None
    log: list[Event] = []
    log_bars: list[int] = []
    market: MarketEvent | None = world.market
    new, set_index, set_data = object.__new__, _SET_INDEX, _SET_DATA
    n = len(data)
    with paused_gc():
        i = begin
        while i < n:
            # a block of bars up to the next block edge or checkpoint, whichever comes first
            stop = min(n, (i | _BLOCK_MASK) + 1)
            if next_checkpoint >= 0:
                stop = min(stop, next_checkpoint + 1)
            for i in range(i, stop):  # noqa: B020 - the block continues from where the last one stopped
                market = new(MarketEvent)  # the record the fold builds itself, without the constructor's checks
                set_index(market, i)
                set_data(market, data)
                if pending:  # the broker has work on this bar: take the general path
                    world = World(market=market, strategies=pack(state), portfolio=portfolio, broker=broker)
                    world, handled = drain(step, world, (market,))
                    state = world.strategies[0] if single else world.strategies
                    portfolio, broker = world.portfolio, world.broker
                    pending = bool(broker.pending)
                    if len(handled) > 1:
                        log.extend(handled[1:])
                        log_bars.extend([i] * (len(handled) - 1))
                    continue
                # the market step of a quiet broker: the strategies, then what their signals cause
                try:
                    result = strategy_step(state, market)
                except Exception:
                    result = None
                if result.__class__ is not tuple or len(result) != 2:
                    # the checked call raises the clear error (strategies are pure: same outcome again)
                    # (several strategies: their step checks each one and raises the error itself)
                    result = call_strategy(ctx, 0, state, market) if single else strategy_step(state, market)
                state, signals = result
                if signals is _NO_SIGNALS:  # the empty tuple is one object: the common quiet bar costs one test
                    continue
                if signals:
                    signals = check_signals(ctx, 0, signals, market) if single else signals
                    if chain is not None:
                        portfolio, handled = chain(portfolio, i, signals)
                    else:
                        world = World(market=market, strategies=pack(state), portfolio=portfolio, broker=broker)
                        world, handled = drain(step, world, signals)
                        portfolio, broker = world.portfolio, world.broker
                        pending = bool(broker.pending)
                    log.extend(handled)
                    log_bars.extend([i] * len(handled))
                elif signals.__class__ is not tuple and signals.__class__ is not list:
                    check_signals(ctx, 0, signals, market)
            i = stop
            if stop - 1 == next_checkpoint:
                world = World(market=market, strategies=pack(state), portfolio=portfolio, broker=broker)
                checkpoints.append((next_checkpoint, world))
                next_checkpoint += every
            if progress is not None and stop & _PROGRESS_MASK == 0 and stop < n:
                progress(stop, n)
            if gc.get_count()[0] > _YOUNG_LIMIT:
                gc.collect(0)  # a strategy that makes cyclic garbage still has it freed, a batch at a time
    if progress is not None:
        progress(n, n)
    final = World(market=market, strategies=pack(state), portfolio=portfolio, broker=broker)
    return Run(
        data=data,
        config=config,
        strategies=tuple(strategies),
        events=tuple(log),
        event_bars=np.asarray(log_bars, dtype=np.int64),
        final=final,
        context=ctx,
        initial=initial,
        checkpoints=tuple(checkpoints),
    )
