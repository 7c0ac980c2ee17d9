"""A CSV written a chunk at a time by :class:`fbt.stream.output.CsvSink` is the file the in-memory writer writes.

Chunks whose text choices change late (a whole column that turns fractional, labels that gain a
time of day or a finer unit) are rewritten at the end, by Arrow's kernels or row by row when the
text holds quotes; either way the bytes are those of the whole columns written at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbt.core.units import NS_PER_DAY
from fbt.io.text import float_texts, time_texts
from fbt.io.writers import write_csv
from fbt.stream.output import CsvSink

values = st.sampled_from([0.0, -0.0, 1.0, 100.0, -3.0, 0.5, 1e-05, 2.5e16]) | st.floats(-1e6, 1e6)
steps = st.sampled_from([NS_PER_DAY, 60 * 10**9, 10**9 + 10**6, 1])


@st.composite
def chunks(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray, list[str], bool]]:
    out = []
    t = 1_700_000_000 * 10**9 // NS_PER_DAY * NS_PER_DAY
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(0, 12))
        step = draw(steps)
        ts = t + np.arange(n, dtype=np.int64) * step
        t = int(ts[-1]) + NS_PER_DAY if n else t
        v = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
        names = draw(st.lists(st.sampled_from(["A", "B", 'q"x']), min_size=n, max_size=n))
        daily = bool(step == NS_PER_DAY)
        out.append((ts, v, names, daily))
    return out


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks())
def test_chunks_written_are_the_whole_written_at_once(tmp_path: Path, parts: list) -> None:  # type: ignore[type-arg]
    sink = CsvSink(tmp_path / "s.csv", ["t", "v", "name"], ["time", "float", "text"])
    daily_so_far = True
    for ts, v, names, daily in parts:
        daily_so_far = daily_so_far and daily and not (ts % NS_PER_DAY).any()
        sink.append([ts, v, names], time_format="date" if daily_so_far else "datetime")
    time_format = "date" if daily_so_far else "datetime"
    sink.finish(time_format=time_format)
    sink.commit()
    ts = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    names = [x for p in parts for x in p[2]]
    write_csv(tmp_path / "w.csv", ["t", "v", "name"], [time_texts(ts, time_format), float_texts(v), names])
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "w.csv").read_bytes()
