"""The lookahead check catches the shipped peeking strategies and planted peeks at random positions,
passes the causal ones, stays fast on long data, and `fbt check-lookahead` exits 0 / 1 / 2."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
import fbt.testing as ft
from fbt.audit.lookahead import check_lookahead, cut_points
from fbt.cli.app import main
from fbt.core.errors import ConfigError
from fbt.core.market import BarData, align
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover
from tests.replay import peeking

HERE = Path(__file__).resolve().parent
SAMPLE = str(sample_dir())
DAY = 86_400 * 10**9


@pytest.fixture(scope="module")
def sample() -> BarData:
    return fbt.load_dir(sample_dir())


def random_walk(n: int, symbols: int, seed: int = 11) -> BarData:
    rng = np.random.default_rng(seed)
    per = {}
    for k in range(symbols):
        close = np.round(30.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n))), 2)
        rows = np.arange(k * 5, n, dtype=np.int64)  # later symbols start late
        per[f"S{k}"] = (1_262_304_000 * 10**9 + rows * DAY, {"close": close[rows]})
    return align(per, time_format="date")


@pytest.mark.parametrize("factory", [peeking.centred_mean, peeking.next_bar, peeking.max_normalised])
def test_the_shipped_peeking_strategies_are_caught(sample: BarData, factory: object) -> None:
    report = check_lookahead(factory(), sample)  # type: ignore[operator]
    assert not report.passed and report.finding is not None
    assert "LOOKAHEAD: " in str(report) and "full run:" in str(report)
    f = report.finding
    assert f.bar < f.cut and (f.full is not None or f.prefix is not None)


@pytest.mark.parametrize("window", [3, 5, 11])
def test_a_centred_mean_is_caught_on_random_data(window: int) -> None:
    assert not check_lookahead(peeking.centred_mean(window), random_walk(400, 2)).passed


def test_causal_strategies_pass(sample: BarData) -> None:
    for strategy in (moving_average_crossover(5, 20), moving_average_crossover(100, 400)):
        report = check_lookahead(strategy, sample)
        assert report.passed and report.finding is None and str(report).startswith("PASS")


@settings(max_examples=30, deadline=None)
@given(data=ft.bar_data(min_bars=2, max_bars=60), pick=st.data())
def test_a_peek_planted_at_a_random_bar_is_caught(data: BarData, pick: st.DataObject) -> None:
    bar = pick.draw(st.integers(0, len(data) - 2), label="bar")
    report = check_lookahead([moving_average_crossover(2, 4), peeking.peek_at(bar)], data)
    assert not report.passed and report.finding is not None
    assert report.finding.cut <= bar + 1 and report.finding.bar <= bar


@settings(max_examples=10, deadline=None)
@given(bar=st.integers(0, 3998))
def test_a_planted_peek_is_caught_in_long_data(bar: int) -> None:
    data = random_walk(4000, 1)
    report = check_lookahead(peeking.peek_at(bar), data)
    assert not report.passed and report.finding is not None
    assert report.finding.cut == bar + 1 and report.finding.bar == bar
    assert len(report.cuts) <= 20 + 200


@settings(max_examples=20, deadline=None)
@given(data=ft.bar_data(min_bars=2, max_bars=60), windows=st.tuples(st.integers(1, 6), st.integers(1, 12)))
def test_the_crossover_passes_on_random_data(data: BarData, windows: tuple[int, int]) -> None:
    assert check_lookahead(moving_average_crossover(*windows), data).passed


def test_three_symbols_of_4000_daily_bars_take_well_under_a_minute() -> None:
    data = random_walk(4000, 3)
    began = time.perf_counter()
    report = check_lookahead(moving_average_crossover(10, 40), data)
    took = time.perf_counter() - began
    assert report.passed and took < 20, took
    assert 100 < len(report.cuts) <= 220


def test_cut_points() -> None:
    assert cut_points(1) == () and cut_points(300) == tuple(range(1, 300))
    cuts = cut_points(10_000, np.arange(0, 10_000, 3))
    assert cuts[:20] == tuple(range(1, 21)) and len(cuts) <= 220 and cuts == tuple(sorted(set(cuts)))
    assert max(cuts) <= 9_999
    assert len(cut_points(10_000, (), max_prefixes=1000)) > 500


def test_explicit_cuts(sample: BarData) -> None:
    report = check_lookahead(peeking.peek_at(500), sample, cuts=[100, 501, 1000])
    assert not report.passed and report.finding is not None and report.finding.cut == 501
    assert check_lookahead(peeking.peek_at(500), sample, cuts=[100, 1000]).passed  # the cut matters
    with pytest.raises(ConfigError, match=r"prefix lengths must be 1 \.\. 2520"):
        check_lookahead(peeking.peek_at(500), sample, cuts=[0])


def test_a_prefix_that_fails_is_a_finding(sample: BarData) -> None:
    def build(data: BarData):  # type: ignore[no-untyped-def]
        close = data.column("SYNA", "close")

        def step(state: int, event: fbt.MarketEvent):  # type: ignore[no-untyped-def]
            if event.index < 400:
                _ = close[event.index + 1]  # reads the next bar: past the end of a short prefix
            return state, ()

        return 0, step

    report = check_lookahead(fbt.Strategy(name="reader", build=build), sample.head(500), cuts=[10, 400])
    assert not report.passed and report.finding is not None
    assert report.finding.error is not None and "IndexError" in report.finding.error
    assert report.finding.bar == 9 and "failed where the full run did not" in str(report)


# --- the command ----------------------------------------------------------------------------------


def test_fbt_check_lookahead_passes_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    root = HERE.parents[1]
    for spec, params in [(f"{root}/examples/moving_average_crossover.py:moving_average_crossover",
                          ["--param", "short_window=5", "--param", "long_window=20"]),
                         (f"{root}/examples/tested_strategy.py:channel_breakout", ["--param", "lookback=10"])]:
        assert main(["check-lookahead", spec, "--data", SAMPLE, *params]) == 0
        out = capsys.readouterr().out
        assert "PASS" in out and "2520 bars" in out


@pytest.mark.parametrize("name", ["centred_mean", "next_bar", "max_normalised"])
def test_fbt_check_lookahead_finds_the_peeks(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-lookahead", f"{HERE}/peeking.py:{name}", "--data", SAMPLE, "--symbols", "SYNA,SYNB"]) == 1
    out = capsys.readouterr().out
    assert "LOOKAHEAD: the events changed when the data was cut after bar" in out


def test_fbt_check_lookahead_options_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-lookahead", f"{HERE}/peeking.py:peek_at", "--param", "bar=700", "--data", SAMPLE,
                 "--cuts", "10,20"]) == 0
    assert "2 prefixes" in capsys.readouterr().out
    assert main(["check-lookahead", f"{HERE}/peeking.py:peek_at", "--param", "bar=700", "--data", SAMPLE,
                 "--max-prefixes", "10", "--exhaustive-up-to", "0"]) == 1
    assert main(["check-lookahead", f"{HERE}/peeking.py:peek_at", "--data", SAMPLE, "--cuts", "x"]) == 2
    assert "--cuts" in capsys.readouterr().err
    assert main(["check-lookahead", f"{HERE}/peeking.py:peek_at", "--data", "/nowhere"]) == 2
