"""The kernel's fast paths, each held equal to the plain path (the step, drained) by a property test.

Three of them, all here and nowhere else:

- **quiet bars** (:func:`run_bars`, the fold's loop): on a bar where the broker holds no working
  order the market step only calls the strategies, so the loop calls them directly and builds a
  world only when they signal; :func:`fbt.kernel.loop.scan` takes the plain path on every bar
  (``tests/core/test_fold.py``, ``tests/execution/test_execution_properties.py`` hold the two equal);
- **the fused book chain** (:func:`book_chain`): in book mode a SIGNAL causes at most one ORDER,
  an ORDER one FILL at once, and a FILL nothing; the queue is first in first out, so one bar's
  signals are handled first (each against the portfolio as it stands, fills not yet booked), then
  their orders, then their fills. The chain does exactly that in one call, with the same
  arithmetic in the same order as :func:`fbt.kernel.portfolio.naive_orders`,
  :func:`fbt.kernel.broker.execute_order` and :func:`fbt.kernel.portfolio.apply_fill`
  (``tests/core/test_fold.py`` drains the step beside it);
- **unchecked records** (:func:`unchecked`): orders and fills built from values already checked,
  without re-running their validators (the same objects, compared field by field by the tests above).

>>> import numpy as np, fbt
>>> from fbt.core.events import SignalEvent, SignalType
>>> from fbt.kernel.context import Context
>>> from fbt.kernel.parts import book_parts
>>> from fbt.core.state import Portfolio
>>> data = fbt.BarData.from_columns(symbols=("A",), timestamps=np.arange(2, dtype=np.int64),
...                                 columns={"close": np.array([[10.0, 11.0]])})
>>> chain = book_parts(Context(data=data, config=fbt.Config(), strategy_names=("s",), steps=(None,))).fused
>>> long = SignalEvent(timestamp=1, strategy_id="s", symbol="A", signal_type=SignalType.LONG)
>>> portfolio, events = chain(Portfolio.initial(capital=1000.0, n_symbols=1), 1, (long,))  # 1000 - (1100 + 1.30)
>>> [type(e).__name__ for e in events], portfolio.cash, portfolio.positions
(['SignalEvent', 'OrderEvent', 'FillEvent'], -101.29999999999995, (100.0,))
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from fbt.core.events import (
    Direction,
    Event,
    FillEvent,
    MarketEvent,
    OrderEvent,
    OrderType,
    SignalEvent,
    SignalType,
)
from fbt.core.market import FIELDS
from fbt.core.state import Portfolio, World
from fbt.kernel.context import Context
from fbt.kernel.portfolio import book_order_error
from fbt.kernel.step import bad_result, check_signals, drain, make_step, raised

if TYPE_CHECKING:
    from fbt.kernel.parts import Parts

__all__ = ["PROGRESS_EVERY", "YOUNG_LIMIT", "BookChain", "book_chain", "run_bars", "unchecked"]

#: How many bars pass between two calls of a fold's ``progress`` callback (a power of two).
PROGRESS_EVERY = 1 << 16
_PROGRESS_MASK = PROGRESS_EVERY - 1
#: The fold works in blocks of this many bars (a power of two dividing PROGRESS_EVERY); between
#: blocks it reports progress, keeps checkpoints and looks at the collector.
_BLOCK_MASK = (1 << 12) - 1
#: Young container objects allowed to pile up while the collector is paused before the fold collects them.
YOUNG_LIMIT = 1_000_000
_NO_SIGNALS: tuple[()] = ()
_SET_INDEX = MarketEvent.index.__set__  # type: ignore[attr-defined]
_SET_DATA = MarketEvent.data.__set__  # type: ignore[attr-defined]

T = TypeVar("T")

#: ``chain(portfolio, bar, signals) -> (portfolio, handled events)``; the signals come first in the events.
BookChain = Callable[[Portfolio, int, Sequence[SignalEvent]], tuple[Portfolio, list[Event]]]


def unchecked(cls: type[T]) -> Callable[..., T]:
    """Return a positional constructor of a frozen slotted record that skips its validators.

    For records the fold builds itself from values it has already checked (an order from a
    checked signal, a fill at a checked price): the same object as ``cls(**fields)``, cheaper.
    Every field is passed, in the class's field order.

    >>> from fbt.core.events import CancelReason, OrderCancelled
    >>> make = unchecked(OrderCancelled)
    >>> make(5, "A", 1, Direction.BUY, 10.0, CancelReason.EXPIRED) == OrderCancelled(
    ...     timestamp=5, symbol="A", order_id=1, direction=Direction.BUY, quantity=10.0, reason=CancelReason.EXPIRED)
    True
    """
    fields = [a.name for a in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    body = []
    for k, name in enumerate(fields):
        namespace[f"set{k}"] = getattr(cls, name).__set__
        body.append(f" set{k}(self, {name})\n")
    source = f"def make({', '.join(fields)}):\n self = new(cls)\n{''.join(body)} return self\n"
    exec(source, namespace)
    make: Callable[..., T] = namespace["make"]
    return make


_ADJ = FIELDS.index("adj_close")
_INF = float("inf")
_make_order = unchecked(OrderEvent)
_make_fill = unchecked(FillEvent)
_make_portfolio = unchecked(Portfolio)
_BUY, _SELL, _MKT = Direction.BUY, Direction.SELL, OrderType.MKT
_LONG, _SHORT, _EXIT = SignalType.LONG, SignalType.SHORT, SignalType.EXIT


def book_chain(ctx: Context, fallback: BookChain) -> BookChain:
    """Return the fused book-mode chain of a run (see the module's docstring).

    ``fallback`` is the plain path (the step drained over the signals), taken on the rare bar the
    fused path will not handle (no price yet, a commission the fill's validators must judge), so
    that the step raises its clear error.
    """
    index = ctx.symbol_index
    prices = ctx.data.values[_ADJ]
    stamps = ctx.data.timestamps
    commission = ctx.config.commission
    unit = ctx.config.quantity

    def chain(portfolio: Portfolio, bar: int, signals: Sequence[SignalEvent]) -> tuple[Portfolio, list[Event]]:
        if len(signals) == 1:
            return one(portfolio, bar, signals[0])
        positions = portfolio.positions
        sent = portfolio.orders_sent
        orders: list[OrderEvent] = []
        for signal in signals:
            if signal.order is not None:
                raise book_order_error(signal)
            decided = _naive(signal.signal_type, positions[index[signal.symbol]], unit)
            if decided is None:
                continue
            sent += 1
            orders.append(_make_order(signal.timestamp, signal.symbol, decided[0], decided[1], _MKT, sent, None, None))
        events: list[Event] = [*signals, *orders]
        if not orders:
            return portfolio, events
        timestamp = stamps.item(bar)
        cash, paid, held_now = portfolio.cash, portfolio.commission, list(positions)
        for order in orders:
            s = index[order.symbol]
            price = prices.item(s, bar)
            quantity = order.quantity
            fee = commission(quantity, price)
            if price != price or fee.__class__ is not float or not 0.0 <= fee < _INF:
                # no price yet, or a commission the fill's validators must judge: the step's path raises
                return fallback(portfolio, bar, signals)
            fill = _make_fill(timestamp, order.symbol, "SIM", quantity, order.direction, price, fee, order.order_id,
                              0.0)
            events.append(fill)
            sign = 1.0 if order.direction is _BUY else -1.0
            held_now[s] = held_now[s] + sign * quantity
            cash = cash - (sign * price * quantity + fee)
            paid = paid + fee
        return _make_portfolio(cash, paid, tuple(held_now), sent), events

    def one(portfolio: Portfolio, bar: int, signal: SignalEvent) -> tuple[Portfolio, list[Event]]:
        """The same for a bar with one signal (most bars that trade), without the loops."""
        if signal.order is not None:
            raise book_order_error(signal)
        symbol = signal.symbol
        s = index[symbol]
        positions = portfolio.positions
        held = positions[s]
        decided = _naive(signal.signal_type, held, unit)
        if decided is None:
            return portfolio, [signal]
        quantity, direction = decided
        sent = portfolio.orders_sent + 1
        order = _make_order(signal.timestamp, symbol, quantity, direction, _MKT, sent, None, None)
        price = prices.item(s, bar)
        fee = commission(quantity, price)
        if price != price or fee.__class__ is not float or not 0.0 <= fee < _INF:
            return fallback(portfolio, bar, (signal,))
        fill = _make_fill(stamps.item(bar), symbol, "SIM", quantity, direction, price, fee, sent, 0.0)
        sign = 1.0 if direction is _BUY else -1.0
        if len(positions) == 1:
            after: tuple[float, ...] = (held + sign * quantity,)
        else:
            moved = list(positions)
            moved[s] = held + sign * quantity
            after = tuple(moved)
        return _make_portfolio(portfolio.cash - (sign * price * quantity + fee), portfolio.commission + fee, after,
                               sent), [signal, order, fill]

    return chain


def _naive(kind: SignalType, held: float, unit: float) -> tuple[float, Direction] | None:
    """The book's order for a signal and the symbol's position: (quantity, direction), or None for none."""
    if kind is _LONG and held == 0:
        return unit, _BUY
    if kind is _SHORT and held == 0:
        return unit, _SELL
    if kind is _EXIT and held > 0:
        return held, _SELL
    if kind is _EXIT and held < 0:
        return -held, _BUY
    return None


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
            except Exception as exc:
                raise raised(ctx, k, market, exc) from exc
            if result.__class__ is not tuple or len(result) != 2:
                raise bad_result(ctx, k, market, result)
            new_states[k], signals = result
            if signals:
                queue.extend(check_signals(ctx, k, signals, market))
            elif signals.__class__ is not tuple and signals.__class__ is not list:
                check_signals(ctx, k, signals, market)
        return tuple(new_states), queue

    return together


def run_bars(
    ctx: Context, parts: Parts, world: World, begin: int, every: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[World, list[Event], list[int], list[tuple[int, World]]]:
    """The fold's loop: step ``world`` over bars ``[begin, len(data))``; quiet bars take the short way.

    Returns the final world, the handled non-market events with the bar of each, and the
    checkpoints (the world after bars ``begin + every - 1``, ``begin + 2 * every - 1``, ...; none
    when ``every`` is 0). ``progress(done, total)`` is called at block edges every
    ``PROGRESS_EVERY`` bars (the caller reports the end).
    """
    data = ctx.data
    step = make_step(ctx, parts)
    checkpoints: list[tuple[int, World]] = []
    next_checkpoint = begin + every - 1 if every else -1
    single = len(world.strategies) == 1
    # one strategy is stepped directly; several through one step that checks each in turn
    strategy_step: Callable[[Any, MarketEvent], Any] = ctx.steps[0] if single else _together(ctx)
    state: Any = world.strategies[0] if single else world.strategies
    pack: Callable[[Any], tuple[Any, ...]] = _one if single else tuple  # the world's tuple of strategy states
    portfolio, broker = world.portfolio, world.broker
    pending = bool(broker.pending)  # kept with the broker: it changes only where the broker does
    chain = parts.fused
    log: list[Event] = []
    log_bars: list[int] = []
    market: MarketEvent | None = world.market
    new, set_index, set_data = object.__new__, _SET_INDEX, _SET_DATA
    n = len(data)
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
            if pending:  # the broker has work on this bar: take the plain path
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
            except Exception as exc:
                if not single:  # several strategies: their step raised the clear error itself
                    raise
                raise raised(ctx, 0, market, exc) from exc
            if result.__class__ is not tuple or len(result) != 2:
                raise bad_result(ctx, 0, market, result)
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
        if gc.get_count()[0] > YOUNG_LIMIT:
            gc.collect(0)  # a strategy that makes cyclic garbage still has it freed, a batch at a time
    final = World(market=market, strategies=pack(state), portfolio=portfolio, broker=broker)
    return final, log, log_bars, checkpoints
