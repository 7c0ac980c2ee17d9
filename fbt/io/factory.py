"""Strategy factories named by text, as the command line and sweep workers name them.

``path/to/file.py:factory`` imports a file; ``package.module:factory`` imports a module. Every
problem is a :class:`~fbt.core.errors.ConfigError` naming the text and what was expected.

>>> load_factory("fbt.sample.strategies:moving_average_crossover").__name__
'moving_average_crossover'
>>> make_strategy("fbt.sample.strategies:moving_average_crossover", {"short_window": 5}).name
'moving_average_crossover'
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fbt.core.errors import ConfigError
from fbt.core.strategy import Strategy

__all__ = ["describe_params", "load_factory", "make_strategy"]


def load_factory(spec: str) -> Callable[..., Any]:
    """Find ``path/to/file.py:factory`` or ``package.module:factory``."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigError(f"STRATEGY: expected path/to/file.py:factory or package.module:factory, got {spec!r}")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise ConfigError(f"STRATEGY: no such file {target}")
        module_spec = importlib.util.spec_from_file_location(f"fbt_user_{path.stem}", path)
        if module_spec is None or module_spec.loader is None:
            raise ConfigError(f"STRATEGY: cannot import {target}")
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(f"STRATEGY: importing {target} failed: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"STRATEGY: cannot import module {target!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ConfigError(f"STRATEGY: {target} has no factory {attr!r}; it has {', '.join(names)}")
    return factory  # type: ignore[no-any-return]


def make_strategy(spec: str, params: dict[str, Any]) -> Strategy[Any]:
    """Call the factory named by ``spec`` with ``params``; unknown names are an error."""
    factory = load_factory(spec)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None and not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        known = [n for n, p in signature.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for name in params:
            if name not in known:
                raise ConfigError(
                    f"--param: unknown parameter {name!r} for {factory.__name__}; it takes {', '.join(known) or 'none'}"
                )
    try:
        made = factory(**params)
    except Exception as exc:
        raise ConfigError(f"--param: {factory.__name__}({describe_params(params)}) failed: {exc}") from exc
    if not isinstance(made, Strategy):
        raise ConfigError(f"STRATEGY: {spec} returned {type(made).__name__}, expected an fbt.Strategy")
    return made


def describe_params(params: dict[str, Any]) -> str:
    """``name=value`` pairs as in a call: ``a=1, b='x'``."""
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
