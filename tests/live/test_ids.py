"""Client order ids: deterministic, injective over (bar, position), parsed back exactly, safe for IB."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbt.core.errors import ConfigError
from fbt.live.ids import OrderRef, is_ours, order_ref, parse_order_ref

fingerprints = st.text(alphabet="0123456789abcdef", min_size=12, max_size=64)
indices = st.integers(min_value=0, max_value=10**12)
FP = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_hand_computed() -> None:
    assert order_ref(FP, 0, 0) == "fbt-9f86d081884c-0-0"
    assert order_ref(FP, 1234, 17) == "fbt-9f86d081884c-1234-17"
    assert parse_order_ref("fbt-9f86d081884c-1234-17") == OrderRef("9f86d081884c", 1234, 17)


@given(fingerprints, indices, indices)
def test_parse_round_trips(fp: str, bar: int, position: int) -> None:
    ref = order_ref(fp, bar, position)
    assert parse_order_ref(ref) == OrderRef(fp[:12], bar, position)
    assert re.fullmatch(r"[0-9a-z-]+", ref) and len(ref) <= 4 + 12 + 2 + 13 + 13
    assert is_ours(ref, fp)


@given(fingerprints, indices, indices, indices, indices)
def test_injective_over_bar_and_position(fp: str, b1: int, p1: int, b2: int, p2: int) -> None:
    assert (order_ref(fp, b1, p1) == order_ref(fp, b2, p2)) == ((b1, p1) == (b2, p2))


@given(fingerprints, fingerprints, indices, indices)
def test_other_runs_are_not_ours(fp: str, other: str, bar: int, position: int) -> None:
    assert is_ours(order_ref(other, bar, position), fp) == (fp[:12] == other[:12])


def test_stable_across_processes() -> None:
    code = f"from fbt.live.ids import order_ref; print(order_ref({FP!r}, 99, 3))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed}).stdout.strip() for seed in ("0", "1", "random")}
    assert outs == {order_ref(FP, 99, 3)} == {"fbt-9f86d081884c-99-3"}


@pytest.mark.parametrize("fp", ["", "0123456789a", "0123456789aG", "0123456789AB", "g" * 64, 12345678901234])
def test_refuses_a_fingerprint_that_is_not_hex(fp: object) -> None:
    with pytest.raises(ConfigError, match="order id: fingerprint: expected at least 12 lowercase hex digits"):
        order_ref(fp, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        is_ours("fbt-0123456789ab-0-0", fp)  # type: ignore[arg-type]


@pytest.mark.parametrize("bar", [-1, 1.0, True, "1", None])
def test_refuses_a_bad_index(bar: object) -> None:
    with pytest.raises(ConfigError, match="order id: bar: expected a whole number >= 0"):
        order_ref(FP, bar, 0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="order id: position: expected a whole number >= 0"):
        order_ref(FP, 0, bar)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "fbt-9f86d081884c-1", "fbt-9f86d081884c-1-2-3", "fbt-9f86d081884-1-2",
                                  "fbt-9F86D081884C-1-2", "fbt-9f86d081884c-01-2", "fbt-9f86d081884c--1-2",
                                  "xfbt-9f86d081884c-1-2", "fbt-9f86d081884c-1-2 ", "fbt-9f86d081884c-١-2"])
def test_parse_refuses_anything_order_ref_does_not_write(text: str) -> None:
    with pytest.raises(ConfigError, match="order id: expected fbt-<12 hex digits>-<bar>-<position>"):
        parse_order_ref(text)
    assert not is_ours(text, FP)
