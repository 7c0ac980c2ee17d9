"""The facade: every exported name resolves, and none of them hides a subpackage of the same name."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import fbt
import fbt.version


def test_no_exported_name_shadows_a_subpackage() -> None:
    subpackages = {m.name for m in pkgutil.iter_modules(fbt.__path__) if m.name != "__main__"}
    assert not subpackages & set(fbt.__all__)
    for name in subpackages:  # so `import fbt.x` and `fbt.x` are the same module
        assert importlib.import_module(f"fbt.{name}") is getattr(fbt, name)


def test_every_exported_name_resolves_and_is_listed_once() -> None:
    assert len(set(fbt.__all__)) == len(fbt.__all__)
    for name in fbt.__all__:
        assert getattr(fbt, name) is not None, name
    assert fbt.__version__ == fbt.version.__version__


def test_the_lazy_map_is_the_type_checkers_imports() -> None:
    """``fbt/__init__.py`` names each export twice (for mypy under TYPE_CHECKING, for __getattr__): the same."""
    tree = ast.parse(Path(fbt.__file__).read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    imported = {alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert imported == fbt._MODULE_OF
    assert sorted(imported) == fbt.__all__
    for name, module in imported.items():
        assert getattr(fbt, name) is getattr(importlib.import_module(module), name), name


def test_dir_and_star_import_list_every_exported_name() -> None:
    assert set(fbt.__all__) <= set(dir(fbt))
    namespace: dict[str, object] = {}
    exec("from fbt import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(fbt.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'fbt' has no attribute 'no_such_thing'"):
        _ = fbt.no_such_thing  # type: ignore[attr-defined]
    assert not hasattr(fbt, "_private")
