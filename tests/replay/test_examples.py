"""The examples: the user's own strategy in examples/tested_strategy.py passes its own law tests, runs
from the command line, and every example passes the lookahead check."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import fbt
from fbt.cli.app import main
from fbt.sample.data import sample_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE = str(sample_dir())


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TESTED = _load("tested_strategy")


@pytest.mark.parametrize("name", sorted(n for n in vars(TESTED) if n.startswith("test_")))
def test_the_example_strategy_passes_its_own_tests(name: str) -> None:
    getattr(TESTED, name)()


def test_the_example_runs_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{EXAMPLES}/tested_strategy.py:channel_breakout", "--data", SAMPLE, "--param",
                 "lookback=30", "--out", str(tmp_path)]) == 0
    assert "channel_breakout(lookback=30)" in capsys.readouterr().out
    assert fbt.read_journal(tmp_path).events


def _factories() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.py")):
        module = _load(path.stem)
        for name in getattr(module, "__all__", ()):
            factory = getattr(module, name)
            if callable(factory) and isinstance(_try(factory), fbt.Strategy):
                found.append((f"{path.stem}:{name}", factory))
    return found


def _try(factory: Callable[..., Any]) -> object:
    try:
        return factory()
    except TypeError:
        return None


@pytest.mark.parametrize(("label", "factory"), _factories(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_example_passes_the_lookahead_check(label: str, factory: Callable[..., Any]) -> None:
    data = fbt.load_dir(sample_dir())
    report = fbt.check_lookahead(factory(), data, max_prefixes=60)  # 80 prefixes: first 20, events, spread
    assert report.passed, f"{label}: {report}"
