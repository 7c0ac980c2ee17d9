"""The block encoder writes exactly the line encoder's bytes: for arbitrary events (awkward floats,
ints beyond int64, bools and numpy scalars where numbers are declared, unicode text, nested records,
enums and values equal to their members), for any block size and split, in plain and gzip journals,
and its hash is the events fingerprint."""

from __future__ import annotations

import enum
import gzip
import hashlib
import io
import itertools
import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbt.core.events as ev
from fbt.journal import JournalHeader, JournalWriter, _event_line, canonical_json, encode_record
from fbt.journal.blocks import encode_block

# --- the oracles ----------------------------------------------------------------------------------


def line_bytes(first: int, bars: list[int], events: list[Any]) -> bytes:
    """The reference: the line encoder, one event at a time, each line followed by a line end."""
    return "".join(_event_line(first + k, b, e) + "\n" for k, (b, e) in enumerate(zip(bars, events, strict=True))
                   ).encode()


def plain_bytes(first: int, bars: list[int], events: list[Any]) -> bytes:
    """The format's definition: canonical JSON of each event's plain form."""
    out = []
    for k, (b, e) in enumerate(zip(bars, events, strict=True)):
        plain = encode_record(e)
        out.append(canonical_json({"seq": first + k, "bar": b, "type": plain["type"], "fields": plain["fields"]}))
    return "".join(line + "\n" for line in out).encode()


def old_writer_bytes(header: JournalHeader, bars: list[int], events: list[Any], compress: bool) -> bytes:
    """A journal as the line-at-a-time text writer wrote it (gzip through a text layer)."""
    raw = io.BytesIO()
    if compress:
        packed = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        fh: Any = io.TextIOWrapper(packed, encoding="utf-8", newline="")
    else:
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    digest = hashlib.sha256()
    fh.write(canonical_json(header.to_plain()) + "\n")
    for k, (b, e) in enumerate(zip(bars, events, strict=True)):
        line = _event_line(k, b, e) + "\n"
        fh.write(line)
        digest.update(line.encode())
    fh.write(canonical_json({"type": "trailer", "count": len(events), "events_fingerprint": digest.hexdigest(),
                             "market_count": 0, "market_fingerprint": None}) + "\n")
    fh.flush()
    if compress:
        packed.close()
    return raw.getvalue()


# --- arbitrary events -----------------------------------------------------------------------------

AWKWARD = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
           1e16, 1e-7, 0.1, 1 / 3, 100.0, 99.87, 1.3, 123456789012345678.0]


def floats(*, finite: bool = True, positive: bool = False) -> st.SearchStrategy[Any]:
    """Floats by the dozen kinds: awkward constants (signed zeros, subnormals, extremes), repeats, any."""
    base = st.floats(allow_nan=not finite, allow_infinity=not finite, allow_subnormal=True)
    pick = st.sampled_from(AWKWARD + ([] if finite else [math.nan, math.inf, -math.inf, -math.nan]))
    values = st.one_of(pick, base, st.integers(-10, 10).map(float))
    if positive:
        values = values.filter(lambda v: v > 0 and math.isfinite(v))
    return values


def numbers(*, finite: bool = True, positive: bool = False) -> st.SearchStrategy[Any]:
    """Mostly floats; sometimes an int, a bool or a numpy scalar in a float field (the text rule differs)."""
    other = st.one_of(st.integers(1 if positive else -5, 5), st.sampled_from([True] if positive else [True, False]),
                      floats(finite=finite, positive=positive).map(np.float64))
    return st.one_of(floats(finite=finite, positive=positive), floats(finite=finite, positive=positive), other)


def whole() -> st.SearchStrategy[Any]:
    """Ints of the sizes a run has, beyond int64 now and then, bools sometimes."""
    return st.one_of(st.integers(0, 10), st.integers(-(2**63), 2**63 - 1),
                     st.sampled_from([2**63, -(2**63) - 1, 2**70, True]), st.integers(1_577_959_200 * 10**9, 2**62))


TEXT = st.one_of(st.sampled_from(["SYN", "A", "moving_average_crossover", "", 'q"uote\\', "é€😀", "\n\t\x00"]),
                 st.text(max_size=6))
PRICE = st.one_of(st.none(), floats(positive=True))


@st.composite
def order_terms(draw: st.DrawFn) -> ev.OrderTerms:
    kind = draw(st.sampled_from([ev.OrderType.MKT, ev.OrderType.LMT, ev.OrderType.STP, ev.OrderType.STP_LMT]))
    limit = draw(floats(positive=True)) if kind in (ev.OrderType.LMT, ev.OrderType.STP_LMT) else None
    stop = draw(floats(positive=True)) if kind in (ev.OrderType.STP, ev.OrderType.STP_LMT) else None
    return ev.OrderTerms(order_type=kind, limit_price=limit, stop_price=stop,
                         time_in_force=draw(st.sampled_from(list(ev.TimeInForce))),
                         stop_loss=draw(PRICE), take_profit=draw(PRICE))


def signals() -> st.SearchStrategy[Any]:
    return st.builds(ev.SignalEvent, timestamp=whole(), strategy_id=TEXT, symbol=TEXT,
                     signal_type=st.sampled_from([ev.SignalType.LONG, ev.SignalType.SHORT]),
                     strength=numbers(), order=st.one_of(st.none(), order_terms()))


def orders() -> st.SearchStrategy[Any]:
    conditions = st.builds(ev.OrderConditions, limit_price=PRICE, stop_price=PRICE,
                           time_in_force=st.sampled_from(list(ev.TimeInForce)), parent_id=whole(), oco_group=whole())
    return st.builds(ev.OrderEvent, timestamp=whole(), symbol=TEXT, quantity=numbers(positive=True),
                     direction=st.sampled_from(list(ev.Direction)), order_type=st.just(ev.OrderType.MKT),
                     order_id=whole(), conditions=st.one_of(st.none(), conditions))


def fills() -> st.SearchStrategy[Any]:
    return st.builds(ev.FillEvent, timestamp=whole(), symbol=TEXT, exchange=TEXT, quantity=numbers(positive=True),
                     direction=st.sampled_from(list(ev.Direction)), price=numbers(),
                     commission=numbers().filter(lambda v: v >= 0), order_id=whole(),
                     slippage=numbers(finite=False))


def refusals() -> st.SearchStrategy[Any]:
    rejected = st.builds(ev.OrderRejected, timestamp=whole(), symbol=TEXT, order_id=whole(),
                         direction=st.sampled_from(list(ev.Direction)), quantity=numbers(finite=False),
                         reason=st.sampled_from(list(ev.RejectReason)), detail=TEXT)
    cancelled = st.builds(ev.OrderCancelled, timestamp=whole(), symbol=TEXT, order_id=whole(),
                          direction=st.sampled_from(list(ev.Direction)), quantity=numbers(finite=False),
                          reason=st.sampled_from(list(ev.CancelReason)))
    return st.one_of(rejected, cancelled)


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Side(enum.StrEnum):
    UP = "UP"
    DOWN = "DOWN"


@attrs.frozen
class Custom:
    """A record of any shape: values that are not what the field declares, lists, records inside."""

    level: Level
    side: Side
    amount: float
    count: int
    label: str
    maybe: float | None
    anything: Any


ANYTHING = st.one_of(st.none(), numbers(finite=False), whole(), TEXT, st.sampled_from(list(Level) + list(Side)),
                     st.lists(st.one_of(whole(), floats(finite=False), TEXT), max_size=3).map(tuple),
                     st.builds(lambda p: ev.OrderConditions(limit_price=p), PRICE))


#: The metadata key of a field written only when not None (where this fbt's events have one).
OPTIONAL = getattr(ev, "JOURNAL_OPTIONAL", None)


@attrs.frozen
class Sparse:
    """A record with fields written only when not None: first, inside and last (sorted by name)."""

    a_first: float | None = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})
    b_always: int = 0
    c_inside: Any = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})
    d_always: str = ""
    e_last: Any = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})


@attrs.frozen
class Leading:
    """Two fields written only when not None before the first one always written."""

    a: Any = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})
    b: Any = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})
    c: int = 0


@attrs.frozen
class Bare:
    """Only fields written when not None (a line may have no field at all)."""

    a: Any = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})
    b: Any = attrs.field(default=None, metadata={OPTIONAL: True} if OPTIONAL else {})


def sparse() -> st.SearchStrategy[Any]:
    maybe = st.one_of(st.none(), st.none(), floats(finite=False), TEXT)
    return st.one_of(
        st.builds(Sparse, a_first=st.one_of(st.none(), floats()), b_always=whole(), c_inside=maybe,
                  d_always=TEXT, e_last=maybe),
        st.builds(Leading, a=maybe, b=maybe, c=whole()),
        st.builds(Bare, a=maybe, b=maybe),
    )


def customs() -> st.SearchStrategy[Any]:
    return st.builds(Custom,
                     level=st.one_of(st.sampled_from(list(Level)), st.sampled_from([1, 2, 3, 1.0, True])),
                     side=st.one_of(st.sampled_from(list(Side)), st.sampled_from(["UP", "SIDE"])),
                     amount=numbers(finite=False), count=whole(), label=TEXT,
                     maybe=st.one_of(st.none(), floats(finite=False)), anything=ANYTHING)


def runs_of(event: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """Events with runs of one value: constant columns and repeats are what the encoder folds."""
    return st.lists(st.tuples(event, st.integers(1, 40)), min_size=1, max_size=12).map(
        lambda pairs: [e for e, times in pairs for _ in range(times)])


CORE = st.one_of(signals(), orders(), fills(), refusals())
ANY = st.one_of(signals(), orders(), fills(), refusals(), customs(), sparse())
EVENTS = st.one_of(st.lists(ANY, max_size=60), runs_of(ANY), st.lists(fills(), max_size=80),
                   runs_of(sparse()), st.lists(sparse(), max_size=40))


@st.composite
def blocks(draw: st.DrawFn, events_of: st.SearchStrategy[list[Any]] = EVENTS) -> tuple[int, list[int], list[Any]]:
    events = draw(events_of)
    steps = draw(st.lists(st.integers(0, 3), min_size=len(events), max_size=len(events)))
    start = draw(st.sampled_from([0, 7, 2**40]))
    return draw(st.integers(0, 2**33)), (start + np.cumsum(steps, dtype=np.int64)).tolist(), events


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- properties -----------------------------------------------------------------------------------


@SETTINGS
@given(blocks(), st.booleans())
def test_a_block_is_the_line_encoders_bytes(block: tuple[int, list[int], list[Any]], as_array: bool) -> None:
    first, bars, events = block
    where: Any = np.asarray(bars, dtype=np.int64) if as_array else bars
    assert bytes(encode_block(first, where, events, shortest=0)) == line_bytes(first, bars, events)


@SETTINGS
@given(blocks(st.one_of(st.lists(st.one_of(CORE, sparse()), max_size=40), runs_of(st.one_of(CORE, sparse())))))
def test_the_line_encoder_is_the_canonical_form(block: tuple[int, list[int], list[Any]]) -> None:
    # (fields declared as an enum holding an equal non-member, as in Custom, are written by the member's value)
    first, bars, events = block
    assert line_bytes(first, bars, events) == plain_bytes(first, bars, events)


@SETTINGS
@given(blocks(), st.lists(st.integers(0, 80), max_size=4))
def test_blocks_split_anywhere_join_to_the_whole(block: tuple[int, list[int], list[Any]], cuts: list[int]) -> None:
    first, bars, events = block
    edges = sorted({0, len(events), *(min(c, len(events)) for c in cuts)})
    pieces = b"".join(bytes(encode_block(first + lo, bars[lo:hi], events[lo:hi], shortest=0))
                      for lo, hi in itertools.pairwise(edges))
    assert pieces == line_bytes(first, bars, events)


HEADER = JournalHeader(fbt_version="0", input_fingerprint=None, data_fingerprint=None, n_bars=None, symbols=("A",),
                       strategies=(), config="{}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(block=blocks(), compress=st.booleans(), batch=st.sampled_from([1, 3, 64, 1 << 15]))
def test_the_writer_writes_the_old_writers_bytes(tmp_path: Path, block: tuple[int, list[int], list[Any]],
                                                 compress: bool, batch: int) -> None:
    import fbt.journal.writer as writer

    _, bars, events = block
    path = tmp_path / ("j.jsonl.gz" if compress else "j.jsonl")
    saved, writer._BATCH = writer._BATCH, batch
    try:
        with JournalWriter(path, HEADER) as w:
            w.extend(events, np.asarray(bars, dtype=np.int64))
    finally:
        writer._BATCH = saved
    assert path.read_bytes() == old_writer_bytes(HEADER, bars, events, compress)
    assert w.events_fingerprint == hashlib.sha256(line_bytes(0, bars, events)).hexdigest()


# --- examples -------------------------------------------------------------------------------------


def fill(price: float, slippage: float = 0.0, order_id: int = 1) -> ev.FillEvent:
    return ev.FillEvent(timestamp=60, symbol="A", quantity=100.0, direction=ev.Direction.BUY, price=price,
                        commission=1.3, order_id=order_id, slippage=slippage)


def test_a_hand_written_block() -> None:
    events = [fill(99.87), fill(-0.0, slippage=-0.0, order_id=2), fill(0.0, slippage=math.nan, order_id=3)]
    text = bytes(encode_block(5, [3, 3, 4], events, shortest=0)).decode()
    head = '{"bar":%d,"fields":{"commission":1.3,"direction":"BUY","exchange":"SIM","order_id":%d,"price":%s,'
    tail = '"quantity":100.0,"slippage":%s,"symbol":"A","timestamp":60},"seq":%d,"type":"FillEvent"}\n'
    assert text == ((head + tail) % (3, 1, "99.87", "0.0", 5) + (head + tail) % (3, 2, "-0.0", "-0.0", 6)
                    + (head + tail) % (4, 3, "0.0", "NaN", 7))


def test_signed_zeros_and_equal_values_of_other_types_stay_apart() -> None:
    # 0.0 == -0.0 == 0 == False and 1 == 1.0 == True: equal values whose texts differ
    values: list[Any] = [0.0, -0.0, 0, False, 1, 1.0, True, np.float64(1.0), 5e-324, 1e300, -1e-300]
    events = [Custom(level=Level.LOW, side=Side.UP, amount=1.0, count=1, label="x", maybe=None, anything=v)
              for v in values]
    text = bytes(encode_block(0, list(range(len(values))), events, shortest=0)).decode()
    written = [line.split('"anything":')[1].split(",")[0] for line in text.splitlines()]
    assert written == ["0.0", "-0.0", "0", "false", "1", "1.0", "true", "1.0", "5e-324", "1e+300", "-1e-300"]


def test_enum_fields_write_members_and_equal_values_by_the_members_value() -> None:
    events = [Custom(level=v, side=Side.UP, amount=1.0, count=1, label="x", maybe=None, anything=None)
              for v in (Level.LOW, Level.HIGH, 1, 2.0, 3)]  # type: ignore[arg-type]
    text = bytes(encode_block(0, [0] * 5, events, shortest=0)).decode()
    assert [line.split('"level":')[1].split(",")[0] for line in text.splitlines()] == ["1", "2", "1", "2", "3"]


def test_a_block_of_a_real_run_is_the_line_encoders_bytes() -> None:
    import fbt
    from fbt.sample.data import sample_dir
    from fbt.sample.strategies import moving_average_crossover

    result = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir()))
    events, bars = list(result.run.events), result.run.event_bars
    assert len(events) > 100
    assert bytes(encode_block(0, bars, events)) == line_bytes(0, bars.tolist(), events)
