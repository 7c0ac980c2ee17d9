"""The fold: the only loop. It replays a bar stream through the run's parts.

For every bar, a local FIFO queue is drained in the seed's order: the MARKET event (strategies in
order), then every SIGNAL, ORDER and FILL it caused, each handled by the step
(:func:`fbt.kernel.step.make_step`) made of the parts the caller chose (:mod:`fbt.kernel.parts`:
the book's, the simulated broker's, a live broker's), before the next bar. :func:`fold` returns
the ordered event log and the final world; :func:`scan` yields the world after every bar, for
debugging.

:func:`fold` runs its bars through :func:`fbt.kernel.fast.run_bars` (quiet bars the short way,
book mode's signals through the fused chain); :func:`scan` takes the plain path on every bar.
Tests hold the two equal.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from fbt.core.errors import ConfigError, StrategyError
from fbt.core.events import Direction, Event, FillEvent, MarketEvent
from fbt.core.market import BarData
from fbt.core.state import Portfolio, World
from fbt.core.strategy import Strategy
from fbt.kernel.config import Config
from fbt.kernel.context import Context, scaled_bars
from fbt.kernel.fast import PROGRESS_EVERY, run_bars
from fbt.kernel.parts import PartsFactory, parts_of
from fbt.kernel.portfolio import fill_applier
from fbt.kernel.step import drain, make_step
from fbt.models.fill import Execution

__all__ = ["PROGRESS_EVERY", "BarStep", "Run", "close_positions", "drain", "fold", "paused_gc", "scan", "start"]


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


def start(strategies: Sequence[Strategy[Any]], data: BarData, config: Config,
          parts: PartsFactory | None = None) -> tuple[Context, World]:
    """Build the strategies on the data and return the run's context and initial world.

    ``parts`` chooses the run's step parts (:mod:`fbt.kernel.parts`); None takes the simulated
    ones ``config`` describes.
    """
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
    ctx = Context(data=data, config=config, strategy_names=tuple(s.name for s in strategies), steps=tuple(steps),
                  parts=parts)
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


def close_positions(ctx: Context, world: World) -> tuple[World, tuple[FillEvent, ...]]:
    """Close every open position of ``world`` with a fill on the data's last bar (``close_at_end``).

    The fill price is the last bar's open in ``next-open`` mode (adjusted as the broker fills,
    :func:`fbt.kernel.context.scaled_bars`) and its close otherwise (``adj_close``); the commission
    is the configuration's, on one unit's value. An order still working at the broker is an error:
    closing the position under it would leave the order to reopen one.
    """
    data, config = ctx.data, ctx.config
    if world.broker.pending:
        o = world.broker.pending[0].order
        raise ConfigError(f"close_at_end: order {o.order_id} ({o.direction.value} {o.quantity:g} {o.symbol}) is still "
                          f"working after the last bar; the positions cannot be closed under it (send no order on "
                          f"the last bar, or run without close_at_end)")
    last = len(data) - 1
    timestamp = int(data.timestamps[last])
    bars = ctx.bars if ctx.bars is not None else scaled_bars(data)
    row = 0 if config.execution is Execution.NEXT_OPEN else 3
    apply = fill_applier(ctx)
    portfolio = world.portfolio
    fills: list[FillEvent] = []
    for s, q in enumerate(world.portfolio.positions):
        if q == 0:
            continue
        price = float(bars[row, s, last])
        unit = price if ctx.multipliers is None else price * ctx.multipliers[s]
        fill = FillEvent(timestamp=timestamp, symbol=data.symbols[s], quantity=abs(q),
                         direction=Direction.SELL if q > 0 else Direction.BUY, price=price,
                         commission=config.commission(abs(q), unit), order_id=0)
        portfolio = apply(portfolio, fill, ctx)
        fills.append(fill)
    if not fills:
        return world, ()
    return attrs.evolve(world, portfolio=portfolio), tuple(fills)


def scan(
    strategies: Sequence[Strategy[Any]], data: BarData, config: Config | None = None, *,
    parts: PartsFactory | None = None,
) -> Iterator[BarStep]:
    """Yield the world after every bar, with the events that bar caused (market event first)."""
    ctx, world = start(strategies, data, config or Config(), parts)
    step = make_step(ctx)
    for i in range(len(data)):
        world, handled = drain(step, world, (MarketEvent(i, data),))
        if ctx.config.close_at_end and i == len(data) - 1:  # as fold closes the positions after the last bar
            world, closing = close_positions(ctx, world)
            handled = [*handled, *closing]
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
    parts: PartsFactory | None = None,
) -> Run:
    """Run the strategies over every bar of ``data`` and return the event log and final world.

    With ``checkpoint_every=k`` the world after every k-th bar (bars k-1, 2k-1, ...) is kept.
    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` bars and at the end (the shell
    draws progress bars with it; it must not touch the fold's data).

    ``world`` and ``begin`` continue a run on bars ``[begin, len(data))``: ``world`` is the world
    after the bar before ``begin`` (strategy states, portfolio, broker), perhaps of an earlier chunk
    of the same stream; the bars before ``begin`` are history the strategies were built on (their
    indicators' warm-up) and are not stepped. The log's bars are indices into ``data``.

    ``parts`` chooses how signals become orders and orders fills (:mod:`fbt.kernel.parts`); None
    takes the simulated parts ``config`` describes (:func:`fbt.kernel.parts.parts_for`).
    """
    config = config or Config()
    ctx, world0 = start(strategies, data, config, parts)
    if not 0 <= begin <= len(data):
        raise ConfigError(f"begin: expected 0 <= begin <= {len(data)}, got {begin!r}")
    if world is not None:
        if len(world.strategies) != len(world0.strategies) or len(world.portfolio.positions) != len(data.symbols):
            raise ConfigError("world: its strategies and symbols do not match this run's")
        world0 = World(market=world.market, strategies=world.strategies, portfolio=world.portfolio,
                       broker=world.broker)
    world = world0
    initial = world
    every = checkpoint_every or 0
    if every < 0:
        raise ConfigError(f"checkpoint_every: expected a whole number >= 1, got {checkpoint_every!r}")
    built = parts_of(ctx)  # start() put the caller's factory, if any, on the context
    with paused_gc():
        final, log, log_bars, checkpoints = run_bars(ctx, built, world, begin, every, progress)
    if config.close_at_end and len(data) > begin:
        final, closing = close_positions(ctx, final)
        log = [*log, *closing]
        log_bars = [*log_bars, *([len(data) - 1] * len(closing))]
    if progress is not None:
        progress(len(data), len(data))
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
