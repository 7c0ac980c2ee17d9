"""Encoding many event lines at once: a block of events to the journal's bytes, column by column.

:func:`encode_block` gives exactly the bytes of :func:`fbt.journal.codec._event_line` applied to
each event in turn (each line followed by ``\\n``); it is how journals are written and hashed.
Per record type in the block it reads each field as a column, folds a column that holds one
object into the line's constant text, formats each *distinct* value of the others once by the
line encoder's rule (floats told apart by their bits, so ``-0.0`` and ``0.0`` stay apart; a column
of plain ints cast to text by Arrow; anything else by identity, which is safe because records are
immutable), leaves out a field marked ``JOURNAL_OPTIONAL`` where it is None, joins the columns into
lines with Arrow (``binary_join_element_wise``) and puts the lines back in the block's order. A
short block, or bars that are not plain integers, takes the line encoder itself.

>>> import numpy as np
>>> from fbt.core.events import SignalEvent, SignalType
>>> from fbt.journal.codec import _event_line
>>> events = [SignalEvent(timestamp=t, strategy_id="s", symbol="A", signal_type=SignalType.LONG) for t in range(3)]
>>> block = bytes(encode_block(7, np.array([1, 1, 2]), events, shortest=0))
>>> block == "".join(_event_line(7 + k, b, e) + "\\n" for k, (b, e) in enumerate(zip([1, 1, 2], events))).encode()
True
"""

from __future__ import annotations

import enum
import itertools
import operator
import typing
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from fbt.journal.codec import _event_line, _layout, _optional_names, _text

#: Blocks shorter than this are written by the line encoder (Arrow's fixed costs outweigh it).
SHORTEST: Final = 64
#: How many events the writers encode, write and hash at a time (a few MiB of text).
BLOCK: Final = 1 << 15

Rule = Callable[[Any], str]
_RULES: dict[type, tuple[Rule, ...]] = {}


def _rules(cls: type) -> tuple[Rule, ...]:
    """Per field of ``cls`` (in canonical order): the line encoder's text of one value.

    That is :func:`~fbt.journal.codec._text` for every field but one declared as an enum, whose
    members (and values equal to one) take their value's text, as the line encoder does.
    """
    known = _RULES.get(cls)
    if known is not None:
        return known
    _, keys = _layout(cls)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: every field takes the general rule
        hints = {}
    rules: list[Rule] = []
    for field, _key in keys:
        hint = hints.get(field)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            table = {member: _text(member.value) for member in hint}

            def rule(v: Any, table: dict[Any, str] = table) -> str:
                return table.get(v) or _text(v)

            rules.append(rule)
        else:
            rules.append(_text)
    _RULES[cls] = result = tuple(rules)
    return result


def _texts(values: Sequence[Any], rule: Rule) -> str | Any:
    """One column's texts: a ``str`` when every row has the same text, else an Arrow string array."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]  # (no type stubs)

    m, first = len(values), values[0]
    if all(map(operator.is_, values, itertools.repeat(first))):  # one object throughout (None, a symbol, ...)
        return rule(first)
    kinds = set(map(type, values))
    if kinds == {float}:
        bits = np.fromiter(values, np.float64, m).view(np.int64)
        if (bits == bits[0]).all():
            return rule(first)
        unique, codes = np.unique(bits, return_inverse=True)
        # floats with the same bits are the same value, so they have the same text
        distinct = unique.view(np.float64)
        if rule is _text and np.isfinite(distinct).all():  # the rule of a finite float: its repr
            texts = list(map(float.__repr__, distinct.tolist()))
        else:
            texts = list(map(rule, distinct.tolist()))
        return pa.array(texts, pa.string()).take(pa.array(codes.reshape(-1).astype(np.int32)))
    if kinds == {int} and rule is _text:
        try:
            ints = np.fromiter(values, np.int64, m)
        except OverflowError:  # beyond int64: by identity below
            pass
        else:
            if (ints == ints[0]).all():
                return rule(first)
            return pa.array(ints).cast(pa.string())  # the decimal text, as int.__repr__ writes it
    # anything else by identity: the same object always has the same text
    ids = np.fromiter(map(id, values), np.uint64, m)  # ``values`` holds the objects: no id is reused
    _, first_at, codes = np.unique(ids, return_index=True, return_inverse=True)
    texts = [rule(values[k]) for k in first_at.tolist()]
    return pa.array(texts, pa.string()).take(pa.array(codes.reshape(-1).astype(np.int32)))


def _int_texts(values: npt.NDArray[np.int64]) -> str | Any:
    import pyarrow as pa

    if (values == values[0]).all():
        return int.__repr__(int(values[0]))
    return pa.array(values).cast(pa.string())


def _join(parts: Sequence[str | Any]) -> str | Any:
    """Join texts row by row (``str`` parts are the same in every row): a ``str`` if every part is one."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    merged: list[Any] = []
    literal = ""
    for part in parts:
        if isinstance(part, str):
            literal += part
            continue
        if literal:
            merged.append(pa.scalar(literal, pa.string()))
            literal = ""
        merged.append(part)
    if not merged:
        return literal
    if literal:
        merged.append(pa.scalar(literal, pa.string()))
    return pc.binary_join_element_wise(*merged, pa.scalar("", pa.string()))


def _lines(cls: type, seqs: npt.NDArray[np.int64], bars: npt.NDArray[np.int64], events: Sequence[Any]) -> Any:
    """The lines (each ending in ``\\n``) of events all of type ``cls``, as an Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name, keys = _layout(cls)
    optional = _optional_names(cls)
    fields: list[str | Any] = []  # each field's text with a comma before it
    leading = True  # is the first field written in every row?
    for (field, key), rule in zip(keys, _rules(cls), strict=True):
        values = list(map(operator.attrgetter(field), events))
        if field in optional:  # written only when not None
            absent = sum(map(operator.is_, values, itertools.repeat(None)))
            if absent == len(values):
                continue
            if absent:
                if not fields:
                    leading = False

                def present(v: Any, key: str = key, rule: Rule = rule) -> str:
                    return "" if v is None else "," + key + rule(v)

                fields.append(_texts(values, present))
                continue
        fields += ["," + key, _texts(values, rule)]
    if leading:
        if fields:
            fields[0] = fields[0][1:]
    else:  # the first field written differs by row: drop the comma before whichever it is
        joined = _join(fields)
        fields = [joined[1:] if isinstance(joined, str) else pc.utf8_slice_codeunits(joined, 1)]
    line = _join(['{"bar":', _int_texts(bars), ',"fields":{', *fields, '},"seq":', _int_texts(seqs),
                  ',"type":' + name + "}\n"])
    return pa.array([line], pa.string()) if isinstance(line, str) else line  # (a str: one row)


def _small(first: int, bars: Sequence[int], events: Sequence[Any]) -> bytes:
    seqs = range(first, first + len(events))
    return "".join(line + "\n" for line in map(_event_line, seqs, bars, events)).encode()


def encode_block(first: int, bars: Sequence[int] | npt.NDArray[np.integer[Any]], events: Sequence[Any], *,
                 shortest: int = SHORTEST) -> bytes | memoryview:
    """Return the journal lines of ``events`` numbered from ``first``, each handled at its bar.

    The bytes are those of the line encoder's lines, each followed by ``\\n``; blocks shorter than
    ``shortest`` events (and bars that are not integers) are encoded by it line by line.
    """
    n = len(events)
    if n != len(bars):
        raise ValueError(f"{n} events but {len(bars)} bars")
    where = np.asarray(bars)
    if n < max(shortest, 2) or where.dtype.kind not in "iu" or where.ndim != 1:
        return _small(first, bars.tolist() if isinstance(bars, np.ndarray) else bars, events)
    import pyarrow as pa

    if where.dtype.kind == "u" and where.size and int(where.max()) > np.iinfo(np.int64).max:
        return _small(first, where.tolist(), events)
    where = where.astype(np.int64, copy=False)
    seqs = np.arange(first, first + n, dtype=np.int64)
    order = dict.fromkeys(map(type, events))
    try:
        if len(order) == 1:
            (cls,) = order
            lines = _lines(cls, seqs, where, events)
        else:  # a record type at a time, then the lines back in the block's order
            number = dict(zip(order, range(len(order)), strict=True))
            kinds = np.fromiter(map(number.__getitem__, map(type, events)), np.int32, n)
            records = np.fromiter(events, object, n)
            grouped: list[Any] = []
            positions: list[npt.NDArray[np.intp]] = []
            for k, cls in enumerate(order):
                at = np.flatnonzero(kinds == k)
                positions.append(at)
                grouped.append(_lines(cls, seqs[at], where[at], records[at].tolist()))
            back = np.empty(n, dtype=np.int64)
            back[np.concatenate(positions)] = np.arange(n, dtype=np.int64)
            lines = pa.concat_arrays(grouped).take(pa.array(back))
    except pa.ArrowCapacityError:  # more than 2 GiB of text in one block
        return _small(first, where.tolist(), events)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + n])
    return memoryview(lines.buffers()[2])[start:end]
