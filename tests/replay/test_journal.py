"""The journal: round trips, canonical lines, generic event types, fingerprints, and every kind of
bad journal (truncated, edited, reordered, another format, not a journal) as a clear JournalError."""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbt
import fbt.core.events
import fbt.testing as ft
from fbt.core.market import BarData
from fbt.journal import (
    JOURNAL_FILE,
    JournalError,
    JournalHeader,
    JournalWriter,
    _event_line,
    canonical_json,
    data_fingerprint,
    decode_record,
    encode_record,
    fingerprints,
    input_fingerprint,
    journal_of,
    read_journal,
    write_journal,
)
from fbt.kernel.config import Config
from fbt.kernel.loop import fold
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover

TMP = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def sample() -> BarData:
    return fbt.load_dir(sample_dir())


@pytest.fixture(scope="module")
def written(sample: BarData, tmp_path_factory: pytest.TempPathFactory) -> tuple[fbt.Result, Path]:
    result = fbt.run(moving_average_crossover(5, 20), sample)
    path = tmp_path_factory.mktemp("journal") / JOURNAL_FILE
    write_journal(result, path)
    return result, path


# --- round trips ------------------------------------------------------------------------------


@TMP
@given(scenario=ft.scenarios())
def test_a_journal_reads_back_to_the_same_events_and_bars(scenario: Any, tmp_path: Path) -> None:
    data, strategies, config = scenario
    run = fold(strategies, data, config)
    path = tmp_path / "j.jsonl"
    prints = write_journal(run, path)
    journal = read_journal(path)
    assert journal.events == run.events
    assert journal.event_bars.tolist() == run.event_bars.tolist()
    assert journal.events_fingerprint == prints.events_fingerprint == fingerprints(run).events_fingerprint
    assert journal.header.input_fingerprint == input_fingerprint(strategies, data, config)
    assert journal.header.data_fingerprint == data_fingerprint(data)
    assert journal.header.n_bars == len(data) and journal.header.symbols == data.symbols
    assert path.read_text().count("\n") == len(run.events) + 2  # header + events + trailer


def test_journal_lines_are_documented_json(written: tuple[fbt.Result, Path]) -> None:
    result, path = written
    lines = path.read_text(encoding="utf-8").splitlines()
    header, *events, trailer = (json.loads(line) for line in lines)
    assert header["type"] == "header" and header["format"] == "fbt-journal" and header["format_version"] == 1
    assert header["market"] == "reference" and header["n_bars"] == 2520
    assert header["strategies"] == [{"name": "moving_average_crossover",
                                     "params": [["long_window", 20], ["short_window", 5]]}]
    assert [e["seq"] for e in events] == list(range(len(result.run.events)))
    assert events[0]["type"] == "SignalEvent" and events[0]["fields"]["signal_type"] == "LONG"
    assert set(events[0]) == {"seq", "bar", "type", "fields"}
    prints = result.fingerprints
    assert trailer == {"type": "trailer", "count": len(events), "events_fingerprint": prints.events_fingerprint,
                       "market_count": 0, "market_fingerprint": None}
    for line in lines:  # canonical: what canonical_json writes, byte for byte
        assert canonical_json(json.loads(line)) == line


event_records = st.one_of(ft.signals(), ft.orders(), ft.fills())


@settings(max_examples=200)
@given(event=event_records, seq=st.integers(0, 10**6), bar=st.integers(0, 10**6))
def test_the_fast_line_writer_is_canonical_json(event: Any, seq: int, bar: int) -> None:
    line = _event_line(seq, bar, event)
    plain = encode_record(event)
    assert line == canonical_json({"seq": seq, "bar": bar, "type": plain["type"], "fields": plain["fields"]})
    assert decode_record(plain) == event
    assert decode_record(json.loads(json.dumps(plain))) == event


class Reason(enum.Enum):
    TARGET = "target"
    STOP = "stop"


@attrs.frozen(kw_only=True)
class PositionClosed:
    """A made-up future event: enums, optional floats, tuples and a nested record."""

    timestamp: int
    symbol: str
    reason: Reason
    pnl: float
    exit_price: float | None = None
    legs: tuple[int, ...] = ()
    closing_fill: fbt.FillEvent | None = None


def test_new_event_types_of_fbt_events_journal_without_code_changes(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    monkeypatch.setattr(fbt.core.events, "PositionClosed", PositionClosed, raising=False)
    monkeypatch.setattr(fbt.core.events, "__all__", [*fbt.core.events.__all__, "PositionClosed"])
    fill = fbt.FillEvent(timestamp=5, symbol="A", quantity=2.0, direction=fbt.Direction.SELL, price=9.5,
                         commission=1.0)
    events = (
        PositionClosed(timestamp=5, symbol="A", reason=Reason.TARGET, pnl=-1.25, legs=(1, 2), closing_fill=fill),
        PositionClosed(timestamp=6, symbol="A", reason=Reason.STOP, pnl=0.1, exit_price=3.0),
    )
    header = JournalHeader(fbt_version=fbt.__version__, input_fingerprint=None, data_fingerprint=None, n_bars=None,
                           symbols=("A",), strategies=(), config="{}")
    with JournalWriter(tmp_path / "j.jsonl", header) as writer:
        for k, event in enumerate(events):
            writer.append(event, bar=k)  # type: ignore[arg-type]
    journal = read_journal(tmp_path / "j.jsonl")
    assert journal.events == events
    assert '"reason":"target"' in (tmp_path / "j.jsonl").read_text()


# --- fingerprints -------------------------------------------------------------------------------


def test_fingerprints_name_the_inputs_not_the_outputs(sample: BarData, tmp_path: Path) -> None:
    a = fbt.run(moving_average_crossover(5, 20), sample)
    b = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir()))
    assert a.fingerprints == b.fingerprints
    assert a.fingerprints != fbt.run(moving_average_crossover(5, 21), sample).fingerprints
    assert a.fingerprints.input_fingerprint != fbt.run(moving_average_crossover(5, 20), sample,
                                                        capital=50_000).fingerprints.input_fingerprint
    a.write(tmp_path / "a")
    b.write(tmp_path / "deeper" / "b")
    for name in ("equity.csv", "fills.csv", JOURNAL_FILE, "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "deeper" / "b" / name).read_bytes(), name
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert stats["input_fingerprint"] == a.fingerprints.input_fingerprint
    assert stats["events_fingerprint"] == a.fingerprints.events_fingerprint
    assert str(tmp_path) not in (tmp_path / "a" / JOURNAL_FILE).read_text()


def test_the_data_fingerprint_is_content_only(sample: BarData) -> None:
    copy = BarData.from_columns(symbols=sample.symbols, timestamps=sample.timestamps.copy(),
                                columns={f: sample.values[k].copy() for k, f in enumerate(fbt.core.market.FIELDS)},
                                real=sample.real.copy(), sources=("elsewhere",))
    assert data_fingerprint(copy) == data_fingerprint(sample)
    values = sample.values.copy()
    values[3, 1, 100] += 0.01
    changed = BarData.from_columns(symbols=sample.symbols, timestamps=sample.timestamps,
                                   columns={f: values[k] for k, f in enumerate(fbt.core.market.FIELDS)},
                                   real=sample.real)
    assert data_fingerprint(changed) != data_fingerprint(sample)
    assert data_fingerprint(sample.head(100)) != data_fingerprint(sample)


HASHSEED_SCRIPT = """
import sys, fbt
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover
result = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir()))
result.write(sys.argv[1])
print(result.fingerprints.input_fingerprint, result.fingerprints.events_fingerprint)
"""


def test_journals_and_fingerprints_do_not_depend_on_the_hash_seed(tmp_path: Path, sample: BarData) -> None:
    outputs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", HASHSEED_SCRIPT, str(tmp_path / seed)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        outputs.append((proc.stdout, (tmp_path / seed / JOURNAL_FILE).read_bytes()))
    assert outputs[0] == outputs[1]
    here = fbt.run(moving_average_crossover(5, 20), sample).fingerprints  # and this process agrees
    assert outputs[0][0].split() == [here.input_fingerprint, here.events_fingerprint]


# --- bad journals -------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _rewrite(tmp_path: Path, lines: list[str]) -> Path:
    out = tmp_path / "bad.jsonl"
    out.write_text("".join(lines), encoding="utf-8")
    return out


def test_a_journal_without_its_trailer_is_truncated(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    bad = _rewrite(tmp_path, lines[:-1])
    with pytest.raises(JournalError, match=rf"bad.jsonl:{len(lines) - 1}: no trailer.*truncated"):
        read_journal(bad)


def test_a_journal_cut_mid_line_is_truncated(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    bad = _rewrite(tmp_path, [*lines[:10], lines[10][:25]])
    with pytest.raises(JournalError, match=r"bad.jsonl:11: the line is cut short.*truncated"):
        read_journal(bad)


def test_an_edited_event_fails_the_hash_check(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    k = next(i for i, line in enumerate(lines) if '"type":"FillEvent"' in line)
    edited = json.loads(lines[k])
    edited["fields"]["price"] += 0.01
    bad = _rewrite(tmp_path, [*lines[:k], canonical_json(edited) + "\n", *lines[k + 1 :]])
    with pytest.raises(JournalError, match=rf"bad.jsonl:{len(lines)}: the events hash to .* an event line was edited"):
        read_journal(bad)


def test_a_hand_edit_names_its_line(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    bad = _rewrite(tmp_path, [*lines[:7], lines[7].replace(",", ", ", 1), *lines[8:]])
    with pytest.raises(JournalError, match=r"edited \(line 8 is not in canonical form\)"):
        read_journal(bad)


def test_a_removed_or_moved_event_is_named(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    with pytest.raises(JournalError, match=r"bad.jsonl:6: seq 5, expected 4: an event is missing"):
        read_journal(_rewrite(tmp_path, [*lines[:5], *lines[6:]]))
    with pytest.raises(JournalError, match=r"bad.jsonl:5: seq 4, expected 3"):
        read_journal(_rewrite(tmp_path, [*lines[:4], lines[5], lines[4], *lines[6:]]))


def test_an_invalid_field_is_named(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    k = next(i for i, line in enumerate(lines) if '"type":"FillEvent"' in line)
    for change, message in [
        (lambda e: e["fields"].update(price="abc"), "FillEvent.price: expected a number"),
        (lambda e: e["fields"].update(direction="UP"), "FillEvent.direction: expected one of"),
        (lambda e: e["fields"].update(quantity=-5.0), "FillEvent: quantity must be a positive"),
        (lambda e: e["fields"].update(colour="red"), "FillEvent has no field 'colour'"),
        (lambda e: e.update(type="FillEvents"), "unknown record type 'FillEvents'"),
    ]:
        edited = json.loads(lines[k])
        change(edited)
        bad = _rewrite(tmp_path, [*lines[:k], canonical_json(edited) + "\n", *lines[k + 1 :]])
        with pytest.raises(JournalError, match=rf"bad.jsonl:{k + 1}: seq {k - 1}: .*{message}"):
            read_journal(bad)


def test_another_format_version_is_refused(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    header = json.loads(lines[0])
    header.update(format_version=2, fbt_version="9.0")
    bad = _rewrite(tmp_path, [canonical_json(header) + "\n", *lines[1:]])
    with pytest.raises(JournalError, match=r"bad.jsonl:1: journal format 2 \(written by fbt 9.0\); this fbt .* reads "
                                           r"format 1"):
        read_journal(bad)


def test_an_edited_header_is_refused(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    lines = _lines(written[1])
    header = json.loads(lines[0])
    header["config"]["capital"] = 1.0
    bad = _rewrite(tmp_path, [canonical_json(header) + "\n", *lines[1:]])
    with pytest.raises(JournalError, match=r"bad.jsonl:1: header: the input fingerprint does not match"):
        read_journal(bad)


def test_other_files_are_not_journals(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("Date,Close\n2020-01-01,1\n")
    with pytest.raises(JournalError, match=r"a.csv:1: not a JSON line"):
        read_journal(tmp_path / "a.csv")
    (tmp_path / "b.jsonl").write_text('{"type": "something"}\n')
    with pytest.raises(JournalError, match=r"b.jsonl:1: not an fbt journal"):
        read_journal(tmp_path / "b.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(JournalError, match=r"empty file"):
        read_journal(tmp_path / "empty.jsonl")
    with pytest.raises(JournalError, match=r"cannot read the journal"):
        read_journal(tmp_path / "missing")


def test_a_live_journal_holds_its_bars_inline(sample: BarData, tmp_path: Path) -> None:
    data = sample.head(300)
    strategy = moving_average_crossover(5, 20)
    result = fbt.run(strategy, data)
    path = tmp_path / "live.jsonl"
    prints = write_journal(result, path, market="inline", sync=True)
    assert prints == result.fingerprints  # the events fingerprint does not depend on how bars are journalled
    text = path.read_text()
    assert text.count('"type":"MarketEvent"') == 300
    journal = read_journal(path)
    assert journal.events == result.run.events and len(journal.markets) == 300
    rebuilt = journal.market_data()
    assert data_fingerprint(rebuilt) == data_fingerprint(data)
    world = fbt.replay(journal, None, strategy)
    assert (world.portfolio, world.strategies, world.broker) == (
        result.final_world.portfolio, result.final_world.strategies, result.final_world.broker)
    assert fbt.replay(path, data, strategy) == result.final_world
    # a market line edited: refused
    lines = _lines(path)
    k = next(i for i, line in enumerate(lines) if '"type":"MarketEvent"' in line and '"bar":7,' in line)
    bad = _rewrite(tmp_path, [*lines[:k], lines[k].replace('"close":', '"close":1', 1), *lines[k + 1 :]])
    with pytest.raises(JournalError, match="a market line was edited"):
        read_journal(bad)


def test_a_live_style_market_line_reads(tmp_path: Path) -> None:
    header = JournalHeader(fbt_version=fbt.__version__, input_fingerprint=None, data_fingerprint=None, n_bars=None,
                           symbols=("A", "B"), strategies=(), config="{}", market="inline")
    path = tmp_path / "live.jsonl"
    lines = [canonical_json(header.to_plain())]
    lines.append('{"type": "MarketEvent", "bar": 0, "bar_data": {"timestamp": 60, "bars": {"A": {"close": 10.0}}}}')
    lines.append('{"type": "MarketEvent", "bar": 1, "bar_data": {"timestamp": 120, "bars": {"B": {"close": 2.0, '
                 '"high": 2.5, "low": 1.5, "open": 2.0, "volume": 10}}}}')
    import hashlib

    digest = hashlib.sha256("".join(line + "\n" for line in lines[1:]).encode()).hexdigest()
    lines.append(canonical_json({"type": "trailer", "count": 0, "events_fingerprint": hashlib.sha256().hexdigest(),
                                 "market_count": 2, "market_fingerprint": digest}))
    path.write_text("".join(line + "\n" for line in lines))
    data = read_journal(path).market_data()
    assert data.timestamps.tolist() == [60, 120]
    assert data.column("A", "close").tolist() == [10.0, 10.0]  # forward filled
    assert np.isnan(data.column("B", "close")[0]) and data.column("B", "high")[1] == 2.5
    assert data.real.tolist() == [[True, False], [False, True]]


def test_journal_of_a_result_is_the_written_journal(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    result, path = written
    journal = result.journal()
    assert journal.events_fingerprint == read_journal(path).events_fingerprint
    journal.write(tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == path.read_bytes()
    assert journal_of(result.run).header == read_journal(path).header
    assert len(journal) == len(result.run.events)
    entries = list(journal.entries())
    assert [e.seq for e in entries[:3]] == [0, 1, 2] and entries[0].event == result.run.events[0]


def test_configuration_models_are_named_by_qualified_name(sample: BarData) -> None:
    a = input_fingerprint(moving_average_crossover(5, 20), sample, Config(commission=fbt.zero_commission))
    b = input_fingerprint(moving_average_crossover(5, 20), sample, Config())
    assert a != b
    header = journal_of(fbt.run(moving_average_crossover(5, 20), sample, commission=fbt.zero_commission)).header
    assert "fbt.models.commission.zero_commission" in header.config


def test_a_gzip_journal_is_reproducible_and_reads_back(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    result, plain = written
    a, b, synced = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "synced.jsonl.gz"
    assert write_journal(result, a) == write_journal(result, b) == result.fingerprints
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size * 5 < plain.stat().st_size
    write_journal(result, synced, sync=True)  # flushed line by line: other bytes, the same journal
    assert read_journal(synced).events == result.run.events
    journal = read_journal(a)
    assert journal.events == result.run.events and journal.header == read_journal(plain).header
    assert fbt.diff(a, plain).identical
    a.write_bytes(a.read_bytes()[: a.stat().st_size // 2])
    with pytest.raises(JournalError, match=r"a\.jsonl\.gz: the compressed journal is damaged or truncated"):
        read_journal(a)


def test_a_journal_exports_to_a_frame_and_parquet(written: tuple[fbt.Result, Path], tmp_path: Path) -> None:
    journal = written[0].journal()
    frame = journal.to_frame()
    assert frame["seq"].tolist() == list(range(len(journal)))
    assert set(frame["type"]) == {"SignalEvent", "OrderEvent", "FillEvent"}
    fills = frame[frame["type"] == "FillEvent"]
    assert fills["price"].tolist() == [e.price for e in journal.events if isinstance(e, fbt.FillEvent)]
    pytest.importorskip("pyarrow")
    import pandas as pd

    back = pd.read_parquet(journal.write_parquet(tmp_path / "journal.parquet"))
    assert back["seq"].tolist() == frame["seq"].tolist() and back["type"].tolist() == frame["type"].tolist()
