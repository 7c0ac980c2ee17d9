"""Live bar aggregation: hand-computed bars, then hypothesis laws (OHLCV of the parts, closed bars only,
each (symbol, bar) once, a split and resubscribed stream gives the same bars)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbt.core.errors import ConfigError, DataError
from fbt.live.bars import (
    DAY,
    SECOND,
    AggregatorState,
    BarSpec,
    ClosedBar,
    RealTimeBar,
    aggregate,
    initial,
    parse_size,
    tick,
)

FAR = 10**19


def rt(t: int, o: float = 10.0, h: float = 11.0, lo: float = 9.0, c: float = 10.5, v: float = 1.0,
       symbol: str = "A") -> RealTimeBar:
    return RealTimeBar(symbol=symbol, time=t * SECOND, open=o, high=h, low=lo, close=c, volume=v)


def feed(state: AggregatorState, bars: Sequence[RealTimeBar]) -> tuple[AggregatorState, list[ClosedBar]]:
    out: list[ClosedBar] = []
    for b in bars:
        state, closed = aggregate(state, b)
        out += closed
    return state, out


def test_a_minute_of_five_second_bars() -> None:
    bars = [rt(60 + 5 * k, o=10 + k, h=12 + k, lo=8 + k, c=11 + k, v=k) for k in range(12)]
    state, out = feed(initial(BarSpec(size=60 * SECOND)), bars[:-1])
    assert out == [] and state.forming["A"].count == 11  # never a forming bar
    state, out = feed(state, bars[-1:])  # the bar that ends the minute closes it at once
    (b,) = out
    assert (b.symbol, b.bar.timestamp, b.bar.open, b.bar.high, b.bar.low, b.bar.close, b.bar.adj_close,
            b.bar.volume, b.count) == ("A", 60 * SECOND, 10.0, 23.0, 8.0, 22.0, 22.0, 66.0, 12)
    assert not state.forming


def test_a_gap_closes_the_bar_when_the_next_period_starts() -> None:
    _, out = feed(initial(BarSpec(size=60 * SECOND)), [rt(0, v=2), rt(10, v=3), rt(130, v=4)])
    assert [(b.bar.timestamp, b.bar.volume) for b in out] == [(0, 5.0)]


def test_labels() -> None:
    bars = [rt(60), rt(65)]
    assert tick(feed(initial(BarSpec(size=60 * SECOND, label="end")), bars)[0], FAR)[1][0].bar.timestamp == (
        120 * SECOND)
    # 10:00 New York (UTC-5) on 2024-01-02 is 15:00 UTC; the day bar is labelled 2024-01-02
    t = 1704207600 * SECOND
    spec = BarSpec(size=DAY, offset=-5 * 3600 * SECOND, label="date")
    state, _ = aggregate(initial(spec), RealTimeBar(symbol="A", time=t, open=1, high=1, low=1, close=1))
    assert tick(state, FAR)[1][0].bar.timestamp == 1704153600 * SECOND
    # 23:00 New York is the next UTC day, still the same New York session
    state, _ = aggregate(state, RealTimeBar(symbol="A", time=t + 13 * 3600 * SECOND, open=1, high=1, low=1, close=1))
    (b,) = tick(state, FAR)[1]
    assert b.bar.timestamp == 1704153600 * SECOND and b.count == 2


def test_late_and_repeated_bars_are_dropped_and_counted() -> None:
    state, out = feed(initial(BarSpec(size=60 * SECOND)), [rt(0), rt(5), rt(5), rt(60), rt(30), rt(0), rt(60)])
    assert [b.count for b in out] == [2] and state.dropped == {"A": 4} and state.forming["A"].count == 1


def test_resuming_from_a_journal_drops_what_was_emitted() -> None:
    for label in ("start", "end"):
        spec = BarSpec(size=60 * SECOND, label=label)  # type: ignore[arg-type]
        state, out = feed(initial(spec), [rt(0), rt(55), rt(60)])
        again = initial(spec, {"A": out[0].bar.timestamp})
        assert again.emitted == state.emitted
    spec = BarSpec(size=DAY, offset=-5 * 3600 * SECOND, label="date")
    assert initial(spec, {"A": 1704153600 * SECOND}).emitted == {"A": 1704153600 // 86400}


def test_tick_closes_only_ended_periods_in_label_order() -> None:
    state, _ = feed(initial(BarSpec(size=60 * SECOND)), [rt(70, symbol="B"), rt(10, symbol="C"), rt(0, symbol="A")])
    state, out = tick(state, 60 * SECOND)
    assert [b.symbol for b in out] == ["A", "C"] and list(state.forming) == ["B"]
    assert tick(state, 119 * SECOND)[1] == ()


def test_bad_input() -> None:
    with pytest.raises(DataError, match=r"live bar A at 0: expected low <= open, close <= high"):
        aggregate(initial(BarSpec(size=60 * SECOND)), rt(0, h=9.5))
    with pytest.raises(DataError, match="expected positive finite prices"):
        aggregate(initial(BarSpec(size=60 * SECOND)), rt(0, o=float("nan")))
    with pytest.raises(DataError, match="volume: expected a finite number >= 0"):
        aggregate(initial(BarSpec(size=60 * SECOND)), rt(0, v=-2))
    assert aggregate(initial(BarSpec(size=5 * SECOND)), rt(0, v=-1))[1][0].bar.volume == 0.0  # IB's FX volume
    with pytest.raises(ConfigError, match="date labels need one-day bars"):
        BarSpec(size=60 * SECOND, label="date")
    with pytest.raises(ConfigError, match="size: expected a positive whole number"):
        BarSpec(size=0)
    with pytest.raises(ConfigError, match="offset: expected whole nanoseconds within a day"):
        BarSpec(size=DAY, offset=DAY)
    assert parse_size("5s") == 5 * SECOND and parse_size("15m") == 900 * SECOND and parse_size("1h") == 3600 * SECOND
    with pytest.raises(ConfigError, match="bar size: expected a whole number and a unit"):
        parse_size("1 week")


# --- random streams -------------------------------------------------------------------------------

specs = st.builds(BarSpec, size=st.sampled_from([5, 15, 60, 300]).map(lambda s: s * SECOND),
                  offset=st.sampled_from([0, 10 * SECOND, -3600 * SECOND]),
                  label=st.sampled_from(["start", "end"]))


@st.composite
def streams(draw: st.DrawFn, symbol: str = "A") -> list[RealTimeBar]:
    steps = draw(st.lists(st.integers(1, 30), max_size=60))
    out, t = [], draw(st.integers(0, 100))
    for s in steps:
        t += s
        o, c = draw(st.integers(1, 50)), draw(st.integers(1, 50))
        lo = min(o, c) - draw(st.integers(0, 3)) * 0.25
        h = max(o, c) + draw(st.integers(0, 3))
        out.append(RealTimeBar(symbol=symbol, time=t * 5 * SECOND, open=o, high=h, low=max(lo, 0.25), close=c,
                               volume=draw(st.integers(0, 1000))))
    return out


def reference(spec: BarSpec, bars: Sequence[RealTimeBar]) -> list[tuple[str, int, float, float, float, float, float]]:
    """The bars by a plain group-by: open of the first, max high, min low, close of the last, sum of volume."""
    groups: dict[tuple[str, int], list[RealTimeBar]] = {}
    for b in bars:
        groups.setdefault((b.symbol, (b.time + spec.offset) // spec.size), []).append(b)
    out = []
    for (symbol, p), g in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        label = p * spec.size - spec.offset + (spec.size if spec.label == "end" else 0)
        out.append((symbol, label, g[0].open, max(b.high for b in g), min(b.low for b in g), g[-1].close,
                    float(sum(b.volume for b in g))))
    return out


def rows(bars: Sequence[ClosedBar]) -> list[tuple[str, int, float, float, float, float, float]]:
    return [(b.symbol, b.bar.timestamp, b.bar.open, b.bar.high, b.bar.low, b.bar.close, b.bar.volume) for b in bars]


@given(specs, streams())
def test_ohlcv_of_a_bar_is_that_of_its_parts(spec: BarSpec, bars: list[RealTimeBar]) -> None:
    state, out = feed(initial(spec), bars)
    state, rest = tick(state, FAR)
    assert rows(out + list(rest)) == reference(spec, bars)
    assert sum(b.count for b in out + list(rest)) == len(bars) and not state.dropped and not state.forming


@given(specs, streams())
def test_only_closed_bars_are_emitted(spec: BarSpec, bars: list[RealTimeBar]) -> None:
    state = initial(spec)
    for b in bars:
        state, closed = aggregate(state, b)
        for c in closed:  # its period has ended: this short bar is of a later period, or ends this one
            period = spec.period(c.bar.timestamp - (spec.size if spec.label == "end" else 0))
            assert spec.period(b.time) > period or b.time + spec.source >= spec.end(period)
            assert spec.period(b.time) >= period


@given(specs, streams(), st.data())
def test_a_split_and_resubscribed_stream_gives_the_same_bars(spec: BarSpec, bars: list[RealTimeBar],
                                                              data: st.DataObject) -> None:
    whole = feed(initial(spec), bars)[1]
    k = data.draw(st.integers(0, len(bars)))
    overlap = data.draw(st.integers(0, k))
    state, first = feed(initial(spec), bars[:k])
    state, second = feed(state, bars[k - overlap:])  # the resubscription replays the last `overlap` bars
    assert first + second == whole
    assert sum(state.dropped.values()) == overlap
    seen = [(b.symbol, b.bar.timestamp) for b in first + second]
    assert len(seen) == len(set(seen)) and seen == sorted(seen, key=lambda x: x[1])


@given(specs, streams("A"), streams("B"), st.data())
def test_symbols_aggregate_independently(spec: BarSpec, a: list[RealTimeBar], b: list[RealTimeBar],
                                         data: st.DataObject) -> None:
    merged: list[RealTimeBar] = []
    ia = ib = 0
    while ia < len(a) or ib < len(b):
        if ib == len(b) or (ia < len(a) and data.draw(st.booleans())):
            merged.append(a[ia])
            ia += 1
        else:
            merged.append(b[ib])
            ib += 1
    out = feed(initial(spec), merged)[1]
    assert [x for x in out if x.symbol == "A"] == feed(initial(spec), a)[1]
    assert [x for x in out if x.symbol == "B"] == feed(initial(spec), b)[1]
