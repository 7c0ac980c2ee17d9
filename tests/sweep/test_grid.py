"""Grids: products, explicit lists, seeded random samples, and safe constraints."""

from __future__ import annotations

import pytest

import fbt
from fbt.cli.sweep import parse_grid, parse_grid_item
from fbt.research.sweep import Grid, constraint, grid, grid_points, grid_random


def test_product_order_is_the_last_name_fastest() -> None:
    g = grid(a=[1, 2], b=["x", "y"], c=0.5)
    assert g.names == ("a", "b", "c")
    assert g.points == ((1, "x", 0.5), (1, "y", 0.5), (2, "x", 0.5), (2, "y", 0.5))
    assert list(g)[1] == {"a": 1, "b": "y", "c": 0.5}


def test_explicit_points_keep_their_order_and_need_the_same_names() -> None:
    g = grid_points([{"a": 3, "b": 1}, {"b": 2, "a": 1}])
    assert g.points == ((3, 1), (1, 2))
    with pytest.raises(fbt.ConfigError, match="every set must name a, b"):
        grid_points([{"a": 3, "b": 1}, {"a": 1}])
    with pytest.raises(fbt.ConfigError, match="expected a number, text"):
        grid_points([{"a": [1, 2]}])


def test_random_samples_are_deterministic_per_seed_and_within_their_ranges() -> None:
    def draw(seed: int) -> Grid:
        return grid_random(50, seed=seed, w=(5, 50), f=(0.0, 1.0), mode=["a", "b"], fixed=7)

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    for p in draw(3):
        assert isinstance(p["w"], int) and 5 <= p["w"] <= 50
        assert isinstance(p["f"], float) and 0.0 <= p["f"] < 1.0
        assert p["mode"] in ("a", "b") and p["fixed"] == 7
    assert {p["w"] for p in grid_random(400, seed=0, w=(1, 3))} == {1, 2, 3}  # both ends drawn
    with pytest.raises(fbt.ConfigError, match="expected low <= high"):
        grid_random(3, seed=0, w=(5, 1))


def test_grids_join_and_filter() -> None:
    g = grid(a=[1, 2]) + grid_points([{"a": 9}])
    assert [p["a"] for p in g.where("a > 1")] == [2, 9]
    assert [p["a"] for p in g.where(lambda p: p["a"] != 2)] == [1, 9]
    with pytest.raises(fbt.ConfigError, match="cannot join"):
        _ = grid(a=[1]) + grid(b=[1])


@pytest.mark.parametrize(
    ("expression", "params", "expected"),
    [
        ("a < b", {"a": 1, "b": 2}, True),
        ("a < b < 3", {"a": 1, "b": 3}, False),
        ("a * 2 + 1 >= b and not b == 0", {"a": 2, "b": 5}, True),
        ("(a + b) % 2 == 0 or a ** 2 > 10", {"a": 4, "b": 1}, True),
        ("-a // 2 == -2 and a / 2 == 1.5", {"a": 3, "b": 0}, True),
        ("True", {"a": 1, "b": 1}, True),
    ],
)
def test_constraint_expressions(expression: str, params: dict[str, int], expected: bool) -> None:
    assert constraint(expression, ["a", "b"])(params) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "a call is not allowed"),
        ("a.__class__", "an attribute is not allowed"),
        ("[a][0] > 1", "a subscript is not allowed"),
        ("c > 1", "unknown name 'c'; the grid has a, b"),
        ("a in (1, 2)", "'in' or 'is' is not allowed"),
        ("a == 'x'", "the constant 'x' is not allowed"),
        ("lambda: 1", "a lambda is not allowed"),
        ("a <", "not a valid expression"),
    ],
)
def test_constraints_refuse_anything_but_names_numbers_and_operators(expression: str, message: str) -> None:
    with pytest.raises(fbt.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        constraint(expression, ["a", "b"])


def test_constraint_errors_name_the_parameters() -> None:
    keep = constraint("a / b > 1", ["a", "b"])
    with pytest.raises(fbt.ConfigError, match=r"failed for a=1, b=0: ZeroDivisionError"):
        keep({"a": 1, "b": 0})
    with pytest.raises(fbt.ConfigError, match="exponent"):
        constraint("a ** 1000 > 1", ["a"])({"a": 2})


def test_command_line_grid_items() -> None:
    assert parse_grid_item("w=5,10,20") == ("w", [5, 10, 20])
    assert parse_grid_item("w=5:20:5") == ("w", [5, 10, 15, 20])
    assert parse_grid_item("w=5:18:5") == ("w", [5, 10, 15])
    assert parse_grid_item("w=1:3") == ("w", [1, 2, 3])
    assert parse_grid_item("x=0.1:0.5:0.2") == ("x", [0.1, 0.3, 0.5])
    assert parse_grid_item("flag=true,false") == ("flag", [True, False])
    assert parse_grid_item("w=5:50", sampled=True) == ("w", (5, 50))
    for bad, message in [("w", "expected NAME=V1"), ("w=1:2:0", "positive STEP"), ("w=9:1:1", "START <= STOP"),
                         ("w=a:b:1", "expected a number"), ("w=1,,2", "empty one")]:
        with pytest.raises(fbt.ConfigError, match=message):
            parse_grid_item(bad)
    g = parse_grid(["a=1,2", "b=3:4"], ["c=x"], samples=None, seed=0)
    assert list(g) == [{"a": a, "b": b, "c": "x"} for a in (1, 2) for b in (3, 4)]
    sampled = parse_grid(["a=1:100"], [], samples=5, seed=3)
    assert len(sampled) == 5 and sampled == parse_grid(["a=1:100"], [], samples=5, seed=3)
