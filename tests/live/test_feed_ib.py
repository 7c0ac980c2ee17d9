"""Live bars from IB's 5-second real-time bars, against the fake TWS: closed bars only, each once.

The fake sends a script of 5-second bars of two symbols: a duplicate, a bar that comes after the
other symbol's next period has begun (late: dropped), a dropped socket, and after the adapter's own
reconnect and resubscription a replay of the overlap. The closed minute bars are computed by hand.
Then a whole ``fbt live --broker ib --feed ib`` session trades on such bars through the fake, and a
restart with the same journal yields none of the journalled bars again and sends no order twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pathlib
import threading
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest

pytest.importorskip("ib_async")

import fbt
from fbt.cli import app
from fbt.journal import MarketRecord, read_journal
from fbt.live.bars import SECOND, BarSpec, RealTimeBar
from fbt.live.feed import IBFeed, close_bars, feed_state
from fbt.live.ib import IBAdapter
from fbt.sample.strategies import moving_average_crossover
from tests.live.fake_tws import BarStep, Drop, Error, FakeTWS, Placed, RtBar, auto_fill

T = TypeVar("T")
T0 = 1_704_205_800  # 2024-01-02 14:30:00 UTC, a minute's start (epoch seconds)
NS = 10**9


@pytest.fixture(autouse=True)
def _flush_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBT_LIVE_NO_FSYNC", "1")


def run(coro: Coroutine[Any, Any, T], limit: float = 20.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, limit))


def a(k: int) -> RtBar:
    """SYNA's k-th 5-second bar: open 100+k, high +2, low -1, close +1, volume 10+k."""
    return RtBar("SYNA", T0 + 5 * k, 100 + k, 102 + k, 99 + k, 101 + k, 10 + k)


def b(k: int) -> RtBar:
    """SYNB's k-th 5-second bar: open 50+k, high +2, low -1, close +1, volume 5."""
    return RtBar("SYNB", T0 + 5 * k, 50 + k, 52 + k, 49 + k, 51 + k, 5)


def minute_script(index: int) -> list[BarStep]:
    if index == 0:
        first = [bar for k in range(11) for bar in (a(k), b(k))]
        # a duplicate of SYNA's 6th bar; SYNA's 12th, then SYNB's 12th after SYNA's next minute began (late);
        # SYNB sends nothing in the second minute; the socket drops in its middle
        return [*first[:11], a(5), *first[11:], a(11), a(12), b(11), *[a(k) for k in range(13, 18)], Drop()]
    if index == 1:  # after the resubscription: the overlap again, then the rest
        return [*[a(k) for k in range(14, 24)], *[bar for k in range(24, 31) for bar in (a(k), b(k))]]
    return []


def adapter(port: int, client_id: int = 7) -> IBAdapter:
    return IBAdapter("127.0.0.1", port, client_id, timeout=3.0, backoff_initial=0.01, backoff_factor=1.0)


def ohlcv(record: MarketRecord) -> dict[str, tuple[float, ...]]:
    return {s: (bar.open, bar.high, bar.low, bar.close, bar.volume) for s, bar in record.bars}


def test_the_feed_yields_the_hand_computed_closed_bars_once_across_a_drop() -> None:
    async def main() -> tuple[list[MarketRecord], FakeTWS, IBFeed]:
        async with FakeTWS(on_bars=minute_script, lifetime=15) as tws:
            feed = IBFeed(adapter(tws.port), ["SYNA", "SYNB"], BarSpec(size=60 * SECOND), idle=1.0)
            got = [r async for r in feed.bars()]
            for _ in range(100):  # the fake reads the cancellations the adapter sent as it closed
                if len(tws.bar_cancels) >= 2:
                    break
                await asyncio.sleep(0.01)
            return got, tws, feed

    got, tws, feed = run(main())
    assert [(r.bar, r.timestamp) for r in got] == [(0, T0 * NS), (1, (T0 + 60) * NS)]
    # minute 0: SYNA k=0..11 (the duplicate dropped); SYNB k=0..10, its k=11 came late
    assert ohlcv(got[0]) == {"SYNA": (100.0, 113.0, 99.0, 112.0, 186.0), "SYNB": (50.0, 62.0, 49.0, 61.0, 55.0)}
    # minute 1: SYNA k=12..23 (the replayed overlap k=14..17 dropped); SYNB has no real bar
    assert ohlcv(got[1]) == {"SYNA": (112.0, 125.0, 111.0, 124.0, 330.0)}
    assert all(bar.timestamp == r.timestamp and bar.adj_close == bar.close for r in got for _, bar in r.bars)
    # the third minute is forming when the feed ends: never yielded
    assert feed.state is not None and set(feed.state.aggregator.forming) == {"SYNA", "SYNB"}
    assert feed.state.aggregator.dropped == {"SYNA": 5, "SYNB": 1}
    # subscribed on both connections, cancelled at the end
    assert [(i, s) for i, s, _ in tws.bar_requests] == [(0, "SYNA"), (0, "SYNB"), (1, "SYNA"), (1, "SYNB")]
    assert tws.bar_cancels == [r for i, _, r in tws.bar_requests if i == 1]


def test_ib_1101_renews_the_subscription() -> None:
    lost = Error(-1, 1101, "Connectivity between IB and TWS has been restored- data lost.")
    script = [*[a(k) for k in range(6)], lost, *[a(k) for k in range(4, 13)]]  # the renewed one sends 4, 5 again

    async def main() -> tuple[list[MarketRecord], FakeTWS]:
        async with FakeTWS(on_bars=lambda index: script, lifetime=15) as tws:
            feed = IBFeed(adapter(tws.port), ["SYNA"], BarSpec(size=60 * SECOND), idle=0.5)
            got = [r async for r in feed.bars()]
            await asyncio.sleep(0.05)
            return got, tws

    got, tws = run(main())
    assert [(i, s) for i, s, _ in tws.bar_requests] == [(0, "SYNA"), (0, "SYNA")]
    first, second = (r for _, _, r in tws.bar_requests)
    assert tws.bar_cancels[:1] == [first] and second != first
    assert [ohlcv(r) for r in got] == [{"SYNA": (100.0, 113.0, 99.0, 112.0, 186.0)}]


def test_a_restarted_feed_yields_no_journalled_bar_again() -> None:
    spec = BarSpec(size=60 * SECOND)
    shorts = [RealTimeBar(symbol=s.symbol, time=s.time * NS, open=s.open, high=s.high, low=s.low, close=s.close,
                          volume=s.volume) for s in minute_script(0) + minute_script(1) if isinstance(s, RtBar)]
    state, whole = feed_state(spec, ["SYNA", "SYNB"]), []
    for short in shorts:
        state, out = close_bars(state, short)
        whole += out
    assert [r.timestamp for r in whole] == [T0 * NS, (T0 + 60) * NS]
    # resumed after the first bar, the same short bars again: only the second bar, as bar 1
    state, again = feed_state(spec, ["SYNA", "SYNB"], whole[:1]), []
    for short in shorts:
        state, out = close_bars(state, short)
        again += out
    assert again == whole[1:]
    # resumed after both: nothing
    state, none = feed_state(spec, ["SYNA", "SYNB"], whole), []
    for short in shorts:
        state, out = close_bars(state, short)
        none += out
    assert none == []


def test_a_symbol_that_joins_in_the_middle_of_a_period_has_no_bar_for_it() -> None:
    spec = BarSpec(size=60 * SECOND)
    state, out = feed_state(spec, ["A", "B"]), []
    for k in range(14):
        for symbol in ("A", "B") if k >= 3 else ("A",):  # B's first bar at 15 s
            state, made = close_bars(state, RealTimeBar(symbol=symbol, time=k * 5 * SECOND, open=1, high=1, low=1,
                                                        close=1))
            out += made
    assert [(r.timestamp, [s for s, _ in r.bars]) for r in out] == [(0, ["A"])]


# --------------------------------------------------------------------------- a whole session


PATH = [100, 99, 98, 97, 98, 100, 102, 104, 103, 101, 99, 97, 98, 100, 103, 105, 104, 102]
STRATEGY = "fbt.sample.strategies:moving_average_crossover"


def ten_second_script(bars: int) -> Sequence[BarStep]:
    """SYNA's 10-second bars along PATH, two 5-second bars each (closes PATH[i] - 0.5, then PATH[i])."""
    out: list[BarStep] = []
    for i, p in enumerate(PATH[:bars]):
        t = T0 + 10 * i
        out += [RtBar("SYNA", t, p - 1, p, p - 1.5, p - 0.5, 100), RtBar("SYNA", t + 5, p - 0.5, p + 0.5, p - 1, p, 50)]
    return [*out, RtBar("SYNA", T0 + 10 * bars, 1, 1, 1, 1, 1)]  # opens the next period: the last one closes


def price(order: Placed) -> float:
    return 100.0 + order.order_id


@contextlib.contextmanager
def fake_in_thread(bars: Sequence[int]) -> Iterator[FakeTWS]:
    """The fake TWS on its own event loop in a thread (the command line runs its own loop); its
    connection ``k`` is sent ``bars[k]`` 10-second bars."""
    ready, holder = threading.Event(), []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with FakeTWS(on_order=auto_fill(price), on_bars=lambda index: ten_second_script(bars[index]),
                           ids_follow_orders=True, lifetime=30) as tws:
            holder.append(tws)
            ready.set()
            await stop.wait()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(serve())
        finally:
            loop.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)


def live(tws: FakeTWS, journal: pathlib.Path, out: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> str:
    if "fbt.cli.live" not in app.COMMANDS:
        app.COMMANDS = (*app.COMMANDS, "fbt.cli.live")
    code = app.main(["live", STRATEGY, "--param", "short_window=2", "--param", "long_window=4", "--broker", "ib",
                     "--feed", "ib", "--symbols", "SYNA", "--bar-size", "10s", "--idle", "0.7", "--journal",
                     str(journal), "--port", str(tws.port), "--client-id", "3", "--wait", "3", "--out", str(out)])
    said = capsys.readouterr()
    assert code == 0, said.err
    return said.out


def test_a_session_with_ib_bars_trades_them_through_the_fake_and_resumes(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "journal.jsonl"
    with fake_in_thread([12, len(PATH)]) as tws:  # the restart is sent the whole script from its start
        said = live(tws, journal, tmp_path / "one", capsys)
        first = list(read_journal(journal).markets)
        # the closed 10-second bars, by hand: open p-1, high p+0.5, low p-1.5, close p, volume 150
        assert [r.timestamp for r in first] == [(T0 + 10 * i) * NS for i in range(12)]
        assert [ohlcv(r)["SYNA"] for r in first] == [(p - 1, p + 0.5, p - 1.5, p, 150.0) for p in PATH[:12]]
        sent = list(tws.order_refs)
        assert sent and len(sent) == len(set(sent)) == len(tws.order_ids) == len(set(tws.order_ids))
        assert said.count("order   ") == len(sent) and said.count("fill    ") == len(sent)
        said = live(tws, journal, tmp_path / "two", capsys)
        markets = list(read_journal(journal).markets)
        assert markets[:12] == first  # the journalled bars were not yielded live again (else a mismatch)
        assert [r.timestamp for r in markets] == [(T0 + 10 * i) * NS for i in range(len(PATH))]
        assert len(tws.order_refs) > len(sent) and len(set(tws.order_refs)) == len(tws.order_refs)
        assert len(set(tws.order_ids)) == len(tws.order_ids)  # no order sent twice
        assert not [line for line in said.splitlines() if line.startswith(("waited", "anomaly", "halted"))], said
    # the session's fills are fbt run's on the journal's bars
    replayed = fbt.run(moving_average_crossover(2, 4), _data(markets))
    fills = [e for e in read_journal(journal).events if isinstance(e, fbt.FillEvent)]
    expected = [e for e in replayed.run.events if isinstance(e, fbt.FillEvent)]
    assert [(f.symbol, f.direction, f.quantity) for f in fills] == [(f.symbol, f.direction, f.quantity)
                                                                    for f in expected]
    assert len(fills) == len(tws.order_refs) >= 4


def _data(markets: list[MarketRecord]) -> fbt.BarData:
    from fbt.live.feed import Tape

    tape = Tape(["SYNA"], "datetime", 1)
    for r in markets:
        tape.add(r)
    return tape.data()


# --------------------------------------------------------------------------- laws of close_bars

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SYMBOLS = ("A", "B", "C")
SPEC = BarSpec(size=20 * SECOND)


@st.composite
def streams(draw: st.DrawFn) -> list[RealTimeBar]:
    """Time-ordered 5-second bars of up to three symbols, each slot with a random subset of them."""
    out = []
    for slot in range(draw(st.integers(1, 24))):
        for symbol in draw(st.lists(st.sampled_from(SYMBOLS), unique=True)):
            p = draw(st.integers(1, 50))
            out.append(RealTimeBar(symbol=symbol, time=slot * 5 * SECOND, open=p, high=p + 2, low=p, close=p + 1,
                                   volume=draw(st.integers(0, 9))))
    return out


def fold(stream: Sequence[RealTimeBar], journalled: Sequence[MarketRecord] = ()) -> list[MarketRecord]:
    state, out = feed_state(SPEC, SYMBOLS, journalled), []
    for short in stream:
        state, made = close_bars(state, short)
        out += made
    return out


def by_hand(stream: Sequence[RealTimeBar]) -> dict[tuple[int, str], tuple[float, ...]]:
    """Each symbol's complete periods (begun at their start, and ended: before the last period, or the
    last one when every symbol sent its final 5-second bar), summed up."""
    last = max((SPEC.period(s.time) for s in stream), default=0)
    final = SPEC.end(last) - 5 * SECOND
    if all(any(s.symbol == sym and s.time == final for s in stream) for sym in SYMBOLS):
        last += 1
    first: dict[str, int] = {}
    parts: dict[tuple[int, str], list[RealTimeBar]] = {}
    for s in stream:
        p = SPEC.period(s.time)
        first.setdefault(s.symbol, p if s.time % SPEC.size == 0 else p + 1)
        if first[s.symbol] <= p < last:
            parts.setdefault((p, s.symbol), []).append(s)
    return {(p * SPEC.size, sym): (bs[0].open, max(b.high for b in bs), min(b.low for b in bs), bs[-1].close,
                                   float(sum(b.volume for b in bs))) for (p, sym), bs in parts.items()}


@settings(max_examples=60, deadline=None)
@given(streams())
def test_closed_bars_are_the_complete_periods_once_in_order(stream: list[RealTimeBar]) -> None:
    out = fold(stream)
    assert [r.bar for r in out] == list(range(len(out)))
    assert all(x.timestamp < y.timestamp for x, y in itertools.pairwise(out))
    got = {(r.timestamp, s): (b.open, b.high, b.low, b.close, b.volume) for r in out for s, b in r.bars}
    assert got == by_hand(stream)
    assert all(r.bars for r in out)


@settings(max_examples=60, deadline=None)
@given(streams(), st.data())
def test_duplicates_and_a_replayed_overlap_change_nothing(stream: list[RealTimeBar], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(stream)))
    back = data.draw(st.integers(0, k))
    repeated = [x for s in stream for x in ((s, s) if data.draw(st.booleans()) else (s,))]
    assert fold(repeated) == fold(stream)
    assert fold([*stream[:k], *stream[back:k], *stream[k:]]) == fold(stream)  # a resubscription's overlap


@settings(max_examples=60, deadline=None)
@given(streams(), st.data())
def test_a_resumed_feed_yields_the_rest(stream: list[RealTimeBar], data: st.DataObject) -> None:
    whole = fold(stream)
    n = data.draw(st.integers(0, len(whole)))
    assert fold(stream, whole[:n]) == whole[n:]


# --------------------------------------------------------------------------- IB 1100 in a session


def test_a_session_waits_while_ib_reports_its_link_lost_then_sends(tmp_path: pathlib.Path) -> None:
    from fbt.live import ReplayFeed, run_live_async
    from fbt.sample.data import sample_dir

    folder = tmp_path / "data"
    folder.mkdir()
    lines = (pathlib.Path(sample_dir()) / "SYNA.csv").read_text().splitlines()
    (folder / "SYNA.csv").write_text("\n".join(lines[:91]) + "\n")
    fill, placed = auto_fill(price), []
    lost = Error(-1, 1100, "Connectivity between IB and Trader Workstation has been lost.")
    said: list[str] = []

    def script(order: Placed) -> list[Any]:
        placed.append(order)
        return [*fill(order), lost] if len(placed) == 1 else list(fill(order))  # the link is lost after the first

    async def main() -> tuple[fbt.Result, FakeTWS]:
        async with FakeTWS(on_order=script, ids_follow_orders=True, lifetime=15) as tws:
            async def restore() -> None:
                while not any(line.startswith("waiting") for line in said):
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)
                assert len(tws.order_refs) == 1  # nothing sent while the link is lost
                tws.notify(Error(-1, 1102, "Connectivity between IB and TWS has been restored- data maintained."))

            helper = asyncio.ensure_future(restore())
            result = await run_live_async(moving_average_crossover(3, 12), ReplayFeed(folder), adapter(tws.port),
                                          tmp_path / "journal.jsonl", fbt.Config(), echo=said.append,
                                          stop_on_interrupt=False, wait=3.0)
            await helper
            return result, tws

    result, tws = run(main())
    fills = [e for e in result.run.events if isinstance(e, fbt.FillEvent)]
    assert len(fills) == len(tws.order_refs) == len(set(tws.order_refs)) >= 2
    steps = [line.split()[0].rstrip(":") for line in said if line.startswith(("order", "waiting", "restored"))]
    assert steps[:4] == ["order", "waiting", "restored", "order"]
    intents = [n for n in read_journal(tmp_path / "journal.jsonl").notes if '"type":"OrderIntent"' in n.record]
    assert len(intents) == len(fills)
