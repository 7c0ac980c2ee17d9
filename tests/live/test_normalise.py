"""The normaliser: hand-computed scripts, then hypothesis laws over random venue scripts.

Laws: fills are invariant under duplicated messages and under the order of arrival of executions
and commission reports; the sum of an order's fills equals the venue's final filled quantity; each
execution is booked once; a disconnect followed by a replay of every execution changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbt.core.errors import ConfigError
from fbt.core.events import FillEvent, OrderCancelled, OrderRejected
from fbt.core.kinds import CancelReason, Direction, RejectReason, TimeInForce
from fbt.live.events import AnomalyKind, BrokerAnomaly, FillCorrected, OrderAccepted
from fbt.live.messages import (
    BrokerMessage,
    CommissionReport,
    Connection,
    ConnectionState,
    ExecutionReport,
    OrderIntent,
    OrderState,
    OrderStatus,
    VenueError,
)
from fbt.live.normalise import (
    NormaliserState,
    Output,
    cancel_requested,
    check,
    flush,
    initial,
    normalise,
    normalise_all,
    register,
    split_exec_id,
)

REF = "fbt-0123456789ab-0-0"


def intent(ref: str = REF, quantity: float = 100, direction: Direction = Direction.BUY, order_id: int = 1,
           tif: TimeInForce = TimeInForce.GTC) -> OrderIntent:
    return OrderIntent(order_ref=ref, bar=0, order_id=order_id, symbol="A", direction=direction, quantity=quantity,
                       time_in_force=tif)


def ex(exec_id: str, quantity: float, price: float = 10.0, ref: str = REF, time: int = 1,
       direction: Direction = Direction.BUY, exchange: str = "") -> ExecutionReport:
    return ExecutionReport(exec_id=exec_id, order_ref=ref, broker_order_id=7, symbol="A", direction=direction,
                           quantity=quantity, price=price, time=time, exchange=exchange)


def com(exec_id: str, commission: float = 1.0) -> CommissionReport:
    return CommissionReport(exec_id=exec_id, commission=commission)


def status(state: OrderState, filled: float, ref: str = REF, time: int = 2, quantity: float = 100,
           reason: str = "", error_code: int = 0, broker_order_id: int = 7) -> OrderStatus:
    return OrderStatus(order_ref=ref, broker_order_id=broker_order_id, state=state, filled=filled,
                       remaining=quantity - filled, time=time, reason=reason, error_code=error_code)


def run(messages: Sequence[BrokerMessage], *intents: OrderIntent) -> tuple[NormaliserState, tuple[Output, ...]]:
    state = initial("IB")
    for i in intents or (intent(),):
        state = register(state, i)
    return normalise_all(state, messages)


def of(kind: type, events: Sequence[Output]) -> list[Output]:
    return [e for e in events if isinstance(e, kind)]


def net(events: Sequence[Output]) -> Counter[FillEvent]:
    """The fills a portfolio ends up with: every fill, each correction undoing one and booking another."""
    fills: Counter[FillEvent] = Counter()
    for e in events:
        if isinstance(e, FillEvent):
            fills[e] += 1
        elif isinstance(e, FillCorrected):
            assert fills[e.replaced] > 0, "a correction replaces a fill that was booked"
            fills[e.replaced] -= 1
            fills[e.fill] += 1
    return +fills


# --- hand-computed -------------------------------------------------------------------------------


def test_partial_fills_joined_to_their_commissions() -> None:
    state, events = run([status(OrderState.SUBMITTED, 0), ex("e1.01", 40, 10.0, time=3), com("e1.01", 0.4),
                         com("e2.01", 0.6), ex("e2.01", 60, 10.5, time=4, exchange="ISLAND"),
                         status(OrderState.FILLED, 100, time=5)])
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "FillEvent", "FillEvent"]
    f1, f2 = of(FillEvent, events)
    assert (f1.timestamp, f1.quantity, f1.price, f1.commission, f1.exchange, f1.order_id, f1.symbol) == (
        3, 40.0, 10.0, 0.4, "IB", 1, "A")
    assert (f2.quantity, f2.price, f2.commission, f2.exchange) == (60.0, 10.5, 0.6, "IB:ISLAND")
    assert state.orders[REF].filled == state.orders[REF].venue_filled == 100
    assert check(state, 9) == (state, ())
    assert state.fills() == (f1, f2)


def test_repeated_messages_change_nothing() -> None:
    script: list[BrokerMessage] = [ex("e1.01", 40), com("e1.01"), status(OrderState.SUBMITTED, 40)]
    state, _ = run(script)
    again, more = normalise_all(state, script)
    assert more == () and again == state


def test_correction_after_the_fill_replaces_it() -> None:
    state, events = run([ex("e1.01", 40, 10.0), com("e1.01", 1.0), ex("e1.02", 40, 10.2, time=6), com("e1.02", 1.1)])
    first, corrected = events[1], events[2]
    assert isinstance(first, FillEvent) and isinstance(corrected, FillCorrected)
    assert corrected.replaced == first and corrected.replaced_exec_id == "e1.01" and corrected.exec_id == "e1.02"
    assert (corrected.fill.price, corrected.fill.commission, corrected.fill.timestamp) == (10.2, 1.1, 6)
    assert state.orders[REF].filled == 40 and state.fills() == (corrected.fill,)


def test_correction_before_the_fill_leaves_only_the_corrected_one() -> None:
    _, events = run([ex("e1.01", 40, 10.0), ex("e1.02", 40, 10.2), com("e1.01"), com("e1.02", 2.0)])
    fills = of(FillEvent, events)
    assert len(fills) == 1 and fills[0].price == 10.2 and fills[0].commission == 2.0
    assert not of(FillCorrected, events)


def test_an_older_suffix_after_a_newer_one_is_ignored() -> None:
    state, events = run([ex("e1.02", 40, 10.2), com("e1.02"), ex("e1.01", 40, 10.0), com("e1.01"),
                         ex("e1.02", 40, 10.2)])
    assert len(of(FillEvent, events)) == 1 and not of(FillCorrected, events)
    assert state.fills()[0].price == 10.2


def test_a_fill_beyond_the_order_is_an_error_never_applied() -> None:
    state, events = run([ex("e1.01", 80), com("e1.01"), ex("e2.01", 30), com("e2.01"), ex("e2.01", 30)])
    anomalies = of(BrokerAnomaly, events)
    assert len(anomalies) == 1 and anomalies[0].kind is AnomalyKind.OVERFILL and anomalies[0].exec_id == "e2.01"
    assert "would take the order to 110 of 100" in anomalies[0].detail
    assert [f.quantity for f in of(FillEvent, events)] == [80.0]
    assert state.orders[REF].filled == 80


def test_a_correction_may_not_overfill_either() -> None:
    state, events = run([ex("e1.01", 60), com("e1.01"), ex("e2.01", 40), com("e2.01"), ex("e1.02", 70), com("e1.02")])
    assert [a.kind for a in of(BrokerAnomaly, events)] == [AnomalyKind.OVERFILL]
    assert state.orders[REF].filled == 100 and not of(FillCorrected, events)


def test_cancelled_after_a_partial_fill() -> None:
    _, events = run([status(OrderState.SUBMITTED, 0), ex("e1.01", 40), com("e1.01"),
                     status(OrderState.CANCELLED, 40, time=8)])
    (cancel,) = of(OrderCancelled, events)
    assert (cancel.quantity, cancel.reason, cancel.timestamp, cancel.order_id) == (60, CancelReason.REQUESTED, 8, 1)


def test_a_day_order_cancelled_unasked_expired() -> None:
    day = intent(tif=TimeInForce.DAY)
    _, events = run([status(OrderState.CANCELLED, 0)], day)
    assert of(OrderCancelled, events)[0].reason is CancelReason.EXPIRED  # type: ignore[attr-defined]
    state = cancel_requested(register(initial("IB"), day), REF)
    _, events = normalise(state, status(OrderState.CANCELLED, 0))
    assert of(OrderCancelled, events)[0].reason is CancelReason.REQUESTED  # type: ignore[attr-defined]


def test_inactive_is_a_rejection_with_the_venues_reason() -> None:
    _, events = run([VenueError(code=201, message="Order rejected - reason: insufficient funds", time=1,
                                broker_order_id=7, order_ref=REF),
                     status(OrderState.INACTIVE, 0)])
    (reject,) = of(OrderRejected, events)
    assert reject.reason is RejectReason.BROKER and reject.quantity == 100
    assert reject.detail == "201: Order rejected - reason: insufficient funds"


def test_an_error_by_venue_order_id_is_joined_once_the_id_is_known() -> None:
    _, events = run([status(OrderState.SUBMITTED, 0), VenueError(code=201, message="no", time=1, broker_order_id=7),
                     status(OrderState.CANCELLED, 0)])
    assert of(OrderRejected, events)[0].detail == "201: no"  # type: ignore[attr-defined]


def test_a_cancel_ending_in_an_error_code_is_a_rejection_but_202_is_a_cancel() -> None:
    _, events = run([status(OrderState.CANCELLED, 0, reason="No security definition", error_code=200)])
    assert of(OrderRejected, events)[0].detail == "200: No security definition"  # type: ignore[attr-defined]
    _, events = run([status(OrderState.CANCELLED, 0, reason="Order Canceled", error_code=202)])
    assert of(OrderCancelled, events) and not of(OrderRejected, events)
    _, events = run([VenueError(code=399, message="warning", time=1, order_ref=REF), status(OrderState.CANCELLED, 0)])
    assert of(OrderCancelled, events)


def test_life_cycle_events_come_once() -> None:
    _, events = run([status(OrderState.PENDING_SUBMIT, 0), status(OrderState.PRE_SUBMITTED, 0),
                     status(OrderState.SUBMITTED, 0), status(OrderState.SUBMITTED, 0),
                     status(OrderState.CANCELLED, 0), status(OrderState.CANCELLED, 0), status(OrderState.INACTIVE, 0)])
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "OrderCancelled"]
    accepted = events[0]
    assert isinstance(accepted, OrderAccepted) and accepted.broker_order_id == 7 and accepted.order_ref == REF


def test_filled_before_the_last_execution_is_checked_only_when_asked() -> None:
    state, events = run([ex("e1.01", 40), com("e1.01"), status(OrderState.FILLED, 100)])
    assert not of(BrokerAnomaly, events)
    # asked too early (the session's promise that every execution can have arrived is false): reported
    early, anomalies = check(state, 5)
    assert [a.kind for a in anomalies] == [AnomalyKind.FILLED_MISMATCH]  # type: ignore[attr-defined]
    assert "the venue says 100 of 100 filled, its executions add up to 40" in anomalies[0].detail  # type: ignore
    assert check(early, 6) == (early, ())  # once
    # asked when it should be: after the last execution, nothing to report
    state, events = normalise_all(state, [ex("e2.01", 60), com("e2.01")])
    assert len(of(FillEvent, events)) == 1 and check(state, 7) == (state, ())


def test_working_orders_are_not_checked() -> None:
    state, _ = run([ex("e1.01", 40), com("e1.01"), status(OrderState.SUBMITTED, 60)])
    assert check(state, 1)[1] == ()


def test_unknown_orders_are_reported_once_and_never_applied() -> None:
    other = "fbt-ffffffffffff-0-0"
    state, events = run([ex("x.01", 5, ref=other), com("x.01"), ex("x.01", 5, ref=other),
                         status(OrderState.FILLED, 5, ref=other), status(OrderState.FILLED, 5, ref=other)])
    assert [a.kind for a in of(BrokerAnomaly, events)] == [AnomalyKind.UNKNOWN_ORDER] * 2
    assert not of(FillEvent, events) and state.fills() == ()


def test_an_execution_on_the_wrong_side_is_refused() -> None:
    _, events = run([ex("e1.01", 10, direction=Direction.SELL), com("e1.01")])
    assert [a.kind for a in of(BrokerAnomaly, events)] == [AnomalyKind.BAD_EXECUTION]
    assert not of(FillEvent, events)


def test_sells_take_the_intents_side_and_order_id() -> None:
    sell = intent(direction=Direction.SELL, order_id=42)
    _, events = run([ex("e1.01", 10, direction=Direction.SELL), com("e1.01")], sell)
    (fill,) = of(FillEvent, events)
    assert fill.direction is Direction.SELL and fill.order_id == 42  # type: ignore[attr-defined]


def test_flush_books_a_fill_whose_commission_never_came_and_a_late_report_corrects_it() -> None:
    state, events = run([ex("e1.01", 40, time=3)])
    assert not of(FillEvent, events)
    state, flushed = flush(state, 10)
    assert [type(e).__name__ for e in flushed] == ["BrokerAnomaly", "FillEvent"]
    assert flushed[0].kind is AnomalyKind.COMMISSION_MISSING and flushed[1].commission == 0.0  # type: ignore
    assert flush(state, 11) == (state, ())
    state, late = normalise(state, com("e1.01", 0.7))
    (corrected,) = late
    assert isinstance(corrected, FillCorrected) and corrected.replaced == flushed[1]
    assert corrected.fill == attrs.evolve(flushed[1], commission=0.7)  # type: ignore[misc]
    assert normalise(state, com("e1.01", 0.7)) == (state, ())


def test_bad_commissions() -> None:
    state, events = run([ex("e1.01", 40), com("e1.01", -0.25)])
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "BrokerAnomaly", "FillEvent"]
    assert of(FillEvent, events)[0].commission == 0.0  # type: ignore[attr-defined]
    state, events = run([com("e1.01", 1.7976931348623157e308), ex("e1.01", 40)])
    assert not of(FillEvent, events) and state.pending
    state, events = run([ex("e1.01", 40), com("e1.01", float("nan"))])
    assert [a.kind for a in of(BrokerAnomaly, events)] == [AnomalyKind.BAD_COMMISSION] and not of(FillEvent, events)


def test_connection_messages_and_notices_change_nothing() -> None:
    state = register(initial("IB"), intent())
    for m in (Connection(state=ConnectionState.LOST, time=1), VenueError(code=1100, message="lost", time=1),
              VenueError(code=2104, message="farm ok", time=1)):
        assert normalise(state, m) == (state, ())


def test_registration() -> None:
    state = register(initial("IB"), intent())
    assert register(state, intent()) is state
    with pytest.raises(ConfigError, match="registered twice with different orders"):
        register(state, intent(quantity=5))
    with pytest.raises(ConfigError, match="venue: expected the broker's name"):
        initial("")
    with pytest.raises(TypeError, match="expected a broker message"):
        normalise(state, "Filled")  # type: ignore[arg-type]


def test_split_exec_id() -> None:
    assert split_exec_id("0000e0d5.6556f0a1.01.01") == ("0000e0d5.6556f0a1.01", (1, "01"))
    assert split_exec_id("a.0f")[1] > split_exec_id("a.0a")[1] > split_exec_id("a.09")[1]
    assert split_exec_id("a.zz")[1] == (-1, "zz")


# --- random scripts -------------------------------------------------------------------------------


@attrs.frozen
class Script:
    """A venue's messages for some orders, and what the fills must come to."""

    intents: tuple[OrderIntent, ...]
    messages: tuple[BrokerMessage, ...]
    finals: tuple[ExecutionReport, ...]  # the last version of each execution
    commission: dict[str, float]
    filled: dict[str, float]


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    intents, messages, finals, commission, filled = [], [], [], {}, {}
    statuses: list[OrderStatus] = []
    time = 0
    for k in range(draw(st.integers(1, 3))):
        ref = f"fbt-0123456789ab-{k}-0"
        quantity = draw(st.integers(1, 500))
        side = draw(st.sampled_from(Direction))
        intents.append(OrderIntent(order_ref=ref, bar=k, order_id=k + 1, symbol=f"S{k}", direction=side,
                                   quantity=quantity))
        left, done = quantity, 0
        statuses.append(status(OrderState.SUBMITTED, 0, ref=ref, quantity=quantity, broker_order_id=100 + k))
        for j in range(draw(st.integers(0, 4))):
            if left == 0:
                break
            q = draw(st.integers(1, left))
            left -= q
            done += q
            versions = draw(st.integers(1, 3))
            for v in range(1, versions + 1):
                time += 1
                e = ExecutionReport(exec_id=f"{k:04x}.{j:04x}.{v:02x}", order_ref=ref, broker_order_id=100 + k,
                                    symbol=f"S{k}", direction=side,
                                    quantity=q if v == versions else draw(st.integers(1, q)),
                                    price=draw(st.sampled_from([9.5, 10.0, 10.25])), time=time)
                c = draw(st.sampled_from([0.0, 0.35, 1.0]))
                messages += [e, com(e.exec_id, c)]
                if v == versions:
                    finals.append(e)
                    commission[e.exec_id] = c
            statuses.append(status(OrderState.SUBMITTED, done, ref=ref, quantity=quantity, broker_order_id=100 + k))
        filled[ref] = done
        final = OrderState.FILLED if done == quantity else OrderState.CANCELLED
        statuses.append(status(final, done, ref=ref, quantity=quantity, time=time + 1, broker_order_id=100 + k))
    return Script(tuple(intents), tuple(messages + statuses), tuple(finals), commission, filled)


def arrive(draw: st.DrawFn, script: Script) -> list[BrokerMessage]:
    """The script's messages in a random order (each order's statuses keep theirs)."""
    shuffled = draw(st.permutations(script.messages))
    ranks = {id(m): i for i, m in enumerate(script.messages)}
    slots = [i for i, m in enumerate(shuffled) if isinstance(m, OrderStatus)]
    ordered = sorted((m for m in shuffled if isinstance(m, OrderStatus)), key=lambda m: ranks[id(m)])
    out = list(shuffled)
    for i, m in zip(slots, ordered, strict=True):
        out[i] = m
    return out


def expected(script: Script) -> Counter[FillEvent]:
    by_ref = {i.order_ref: i for i in script.intents}
    return Counter(FillEvent(timestamp=e.time, symbol=by_ref[e.order_ref].symbol, exchange="IB",
                             quantity=float(e.quantity), direction=e.direction, price=e.price,
                             commission=script.commission[e.exec_id], order_id=by_ref[e.order_ref].order_id)
                   for e in script.finals)


def with_duplicates(draw: st.DrawFn, messages: list[BrokerMessage]) -> list[BrokerMessage]:
    out = list(messages)
    for _ in range(draw(st.integers(0, 8))):
        if not messages:
            break
        m = draw(st.sampled_from(messages))
        at = draw(st.integers(out.index(m), len(out)))  # a repeat comes after the original
        out.insert(at, m)
    return out


@settings(max_examples=300)
@given(st.data())
def test_laws_over_random_scripts(data: st.DataObject) -> None:
    script = data.draw(scripts())
    messages = arrive(data.draw, script)
    state, events = run(messages, *script.intents)
    # the fills come to the last version of each execution, with its own commission, each booked once
    assert net(events) == expected(script)
    assert Counter(state.fills()) == expected(script)
    assert len(of(FillEvent, events)) == len(script.finals)
    assert not of(BrokerAnomaly, events)
    # the sum of an order's fills is the venue's final filled quantity, and the check agrees
    for ref, done in script.filled.items():
        assert sum(f.quantity for f in net(events).elements() if f.order_id == state.orders[ref].intent.order_id) \
            == done == state.orders[ref].filled == state.orders[ref].venue_filled
    assert check(state, 0)[1] == () and flush(state, 0)[1] == ()
    # one acceptance per order; one cancellation of the rest per order that did not fill in full
    assert Counter(e.order_ref for e in of(OrderAccepted, events)) == Counter(  # type: ignore[attr-defined]
        i.order_ref for i in script.intents)
    cancels = {e.order_id: e.quantity for e in of(OrderCancelled, events)}  # type: ignore[attr-defined]
    assert cancels == {i.order_id: i.quantity - script.filled[i.order_ref] for i in script.intents
                       if script.filled[i.order_ref] < i.quantity}
    assert not of(OrderRejected, events)

    # duplicated messages change nothing at all: the same events, in the same order, and the same state
    dup_state, dup_events = run(with_duplicates(data.draw, messages), *script.intents)
    assert dup_events == events and dup_state == state

    # another arrival order gives the same fills
    other_state, other_events = run(arrive(data.draw, script), *script.intents)
    assert net(other_events) == net(events) and other_state.fills() == state.fills()

    # a disconnect, then the venue replays every execution and its commission: nothing changes
    replay: list[BrokerMessage] = [Connection(state=ConnectionState.LOST, time=0),
                                   Connection(state=ConnectionState.RESTORED_DATA_LOST, time=0)]
    for e in script.finals:
        replay += [e, com(e.exec_id, script.commission[e.exec_id])]
    replay += [m for m in script.messages if isinstance(m, OrderStatus)]
    after, more = normalise_all(state, replay)
    assert more == () and after.fills() == state.fills()


def test_the_first_commission_report_of_an_execution_counts() -> None:
    _, events = run([com("e1.01", 1.0), com("e1.01", 2.0), ex("e1.01", 40)])
    assert [f.commission for f in of(FillEvent, events)] == [1.0]  # type: ignore[attr-defined]


def test_the_venues_slippage_travels_to_the_fill() -> None:
    state = register(initial("SIM"), intent())
    slipped = attrs.evolve(ex("s.01", 100, price=10.05), slippage=0.05)
    state, events = normalise_all(state, [slipped, CommissionReport(exec_id="s.01", commission=1.3)])
    fill = next(e for e in events if isinstance(e, FillEvent))
    assert (fill.slippage, fill.price, fill.exchange) == (0.05, 10.05, "SIM")


def test_an_fbt_venue_says_its_own_reasons() -> None:
    state = register(register(initial("SIM"), intent()), intent("r2", order_id=2))
    rejected = OrderStatus(order_ref=REF, broker_order_id=7, state=OrderState.INACTIVE, filled=0.0, remaining=100,
                           time=3, error_code=201, reason="needs 1,000.00, has 10.00", cause="cash")
    cancelled = OrderStatus(order_ref="r2", broker_order_id=8, state=OrderState.CANCELLED, filled=0.0, remaining=100,
                            time=4, reason="oco", cause="oco")
    _, events = normalise_all(state, [rejected, cancelled])
    assert events == (
        OrderRejected(timestamp=3, symbol="A", order_id=1, direction=Direction.BUY, quantity=100,
                      reason=RejectReason.CASH, detail="needs 1,000.00, has 10.00"),
        OrderCancelled(timestamp=4, symbol="A", order_id=2, direction=Direction.BUY, quantity=100,
                       reason=CancelReason.OCO),
    )
    # an unknown cause is a broker's word: a rejection with the venue's text
    odd = attrs.evolve(rejected, cause="nonsense")
    _, events = normalise(register(initial("IB"), intent()), odd)
    assert isinstance(events[0], OrderRejected) and events[0].reason is RejectReason.BROKER
