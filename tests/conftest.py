"""Shared test setup: hypothesis profiles, the shared real-data folder, the crossover example."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder ``../shared/data``; skips the test when it is not there."""
    path = ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip("../shared/data not present")
    return path


@pytest.fixture(scope="session")
def crossover() -> Callable[..., Any]:
    """The book's moving-average crossover factory, loaded from ``examples/`` by file path."""
    path = ROOT / "examples" / "moving_average_crossover.py"
    spec = importlib.util.spec_from_file_location("example_moving_average_crossover", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.moving_average_crossover  # type: ignore[no-any-return]
