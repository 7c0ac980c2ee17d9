"""Doctests without the optional extras: pytest runs ``--doctest-modules`` over ``fbt/`` and ``tests/``
(pyproject's ``testpaths``), and some modules need a package only an extra installs (matplotlib,
pyarrow, sqlalchemy, dask, backtrader, ib_async, ...). Where that package is missing, their doctests
are skipped with the reason instead of failing (:mod:`tests.optional_extras` finds the packages):

- a module that imports a missing optional package at its top is not imported for doctests at all;
  its doctests are one skipped collector naming the package;
- a module that imports one only inside a function (fbt's way: ``_matplotlib()``, ``_sa()``) keeps
  its doctests, and one of them that fails is reported as skipped, naming the missing package.

With every extra installed (the ``test`` extra, as CI has) nothing here changes a thing. Tests under
``tests/`` that need an extra skip themselves with ``pytest.importorskip``.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from _pytest.doctest import DoctestItem, DoctestModule

from tests.optional_extras import missing_extras, reason


class SkippedDoctests(pytest.File):
    """The doctests of a module that cannot be imported without a missing optional package."""

    def __init__(self, *, why: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.why = why

    def collect(self) -> list[pytest.Item]:
        pytest.skip(self.why)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Generator[None, Any, Any]:
    collected = yield
    if file_path.suffix != ".py" or not any(isinstance(c, DoctestModule) for c in collected):
        return collected
    top, _ = missing_extras(file_path)
    if not top:
        return collected
    return [SkippedDoctests.from_parent(parent, path=file_path, why=reason(top)) if isinstance(c, DoctestModule)
            else c for c in collected]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    if not isinstance(item, DoctestItem):
        return (yield)
    _, anywhere = missing_extras(item.path)
    if not anywhere:
        return (yield)
    try:
        return (yield)
    except Exception:  # a doctest failure: the package it needs is missing
        pytest.skip(reason(anywhere))
