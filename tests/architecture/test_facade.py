"""The facade: every exported name resolves, and none of them hides a subpackage of the same name."""

from __future__ import annotations

import importlib
import pkgutil

import fbt
import fbt.version


def test_no_exported_name_shadows_a_subpackage() -> None:
    subpackages = {m.name for m in pkgutil.iter_modules(fbt.__path__)}
    assert not subpackages & set(fbt.__all__)
    for name in subpackages:  # so `import fbt.x` and `fbt.x` are the same module
        assert importlib.import_module(f"fbt.{name}") is getattr(fbt, name)


def test_every_exported_name_resolves_and_is_listed_once() -> None:
    assert len(set(fbt.__all__)) == len(fbt.__all__)
    for name in fbt.__all__:
        assert getattr(fbt, name) is not None, name
    assert fbt.__version__ == fbt.version.__version__
