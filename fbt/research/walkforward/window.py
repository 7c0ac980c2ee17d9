"""Walk-forward windows: splitting the bars by count into in-sample and out-of-sample stretches."""

from __future__ import annotations

import attrs

from fbt.core.errors import ConfigError


@attrs.frozen
class Window:
    """One walk-forward window: bar ranges ``[start, stop)`` in and out of sample."""

    index: int
    in_sample: tuple[int, int]
    out_of_sample: tuple[int, int]


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a whole number of bars >= 1, got {value!r}")
    return value


def windows(bars: int, *, in_sample: int, out_of_sample: int, anchored: bool = False) -> tuple[Window, ...]:
    """Return the walk-forward windows over ``bars`` bars.

    Window ``k`` has out-of-sample bars ``[in_sample + k * out_of_sample, ... + out_of_sample)`` (the
    last one cut at ``bars``) and the ``in_sample`` bars just before them (from bar 0 when
    ``anchored``). Out-of-sample ranges are consecutive, never overlap, and never overlap their own
    in-sample range.

    >>> [(w.in_sample, w.out_of_sample) for w in windows(10, in_sample=4, out_of_sample=4, anchored=True)]
    [((0, 4), (4, 8)), ((0, 8), (8, 10))]
    """
    _count(in_sample, "in_sample")
    _count(out_of_sample, "out_of_sample")
    if in_sample >= bars:
        raise ConfigError(f"in_sample: {in_sample} bars leave no out-of-sample bars in {bars}")
    found = []
    for k, start in enumerate(range(in_sample, bars, out_of_sample)):
        stop = min(start + out_of_sample, bars)
        found.append(Window(k, (0 if anchored else start - in_sample, start), (start, stop)))
    return tuple(found)
