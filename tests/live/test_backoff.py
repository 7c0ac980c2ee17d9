"""The reconnect schedule: capped, never shrinking, deterministic."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbt.core.errors import ConfigError
from fbt.live.backoff import backoff_delays

seconds = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
factors = st.floats(min_value=1.0, max_value=10.0, allow_nan=False, allow_infinity=False)


@given(st.integers(0, 60), seconds, factors, seconds)
def test_the_schedule_grows_to_its_cap_and_stays(attempts: int, initial: float, factor: float, cap: float) -> None:
    delays = backoff_delays(attempts, initial=initial, factor=factor, cap=cap)
    assert len(delays) == attempts
    assert all(0 < d <= cap for d in delays)
    assert all(a <= b for a, b in itertools.pairwise(delays))
    if delays:
        assert delays[0] == min(initial, cap)
    for a, b in itertools.pairwise(delays):
        assert b == min(a * factor, cap)
    assert delays == backoff_delays(attempts, initial=initial, factor=factor, cap=cap)


@given(st.integers(1, 40), seconds, seconds)
def test_a_longer_schedule_starts_with_the_shorter(attempts: int, initial: float, cap: float) -> None:
    short = backoff_delays(attempts, initial=initial, cap=cap)
    assert backoff_delays(attempts + 5, initial=initial, cap=cap)[:attempts] == short


def test_by_hand() -> None:
    assert backoff_delays(5, initial=0.25, factor=2.0, cap=1.0) == (0.25, 0.5, 1.0, 1.0, 1.0)
    assert backoff_delays(3, initial=2.0, factor=1.0, cap=5.0) == (2.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": -1}, "attempts: expected a whole number >= 0, got -1"),
        ({"attempts": 2, "initial": 0.0}, "initial: expected a positive finite number of seconds, got 0.0"),
        ({"attempts": 2, "cap": float("inf")}, "cap: expected a positive finite number of seconds, got inf"),
        ({"attempts": 2, "factor": 0.9}, "factor: expected a number >= 1, got 0.9"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, float], message: str) -> None:
    attempts = int(kwargs.pop("attempts"))
    with pytest.raises(ConfigError) as caught:
        backoff_delays(attempts, **kwargs)
    assert str(caught.value) == message
