"""Run keys and the sweep's cache: strategy references, parameter checks and the ``sweep.jsonl`` store."""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import inspect
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

import attrs
import numpy as np

from fbt.core.errors import ConfigError
from fbt.models.identity import IDENTITY, named_fields
from fbt.research.sweep.space import Factory, Value
from fbt.research.sweep.worker import Outcome, RunConfig

CACHE_FILE: Final = "sweep.jsonl"
RESULT_FILE: Final = "sweep.csv"


# --------------------------------------------------------------------------------------------------
# Strategies by spec


@attrs.frozen
class StrategyRef:
    """A strategy factory as a sweep sends it: ``ref`` is a spec string workers re-import, or the
    callable itself (pickled); ``name`` names it in cache keys; ``factory`` is the callable here."""

    ref: str | Callable[..., Any]
    name: str
    factory: Callable[..., Any]


def strategy_ref(strategy: Factory) -> StrategyRef:
    """Resolve a factory or a spec into what workers need to rebuild it.

    A spec ``path/to/file.py:factory`` is made absolute (workers may run elsewhere); a callable
    defined at the top of an importable module is sent as ``module:factory``, one defined in a file
    loaded by path (or in ``__main__``) as ``/abs/file.py:factory``; anything else (a lambda, a
    closure) is sent pickled, which works serially and in processes that can unpickle it.

    >>> strategy_ref("fbt.sample.strategies:moving_average_crossover").ref
    'fbt.sample.strategies:moving_average_crossover'
    >>> from fbt.sample.strategies import moving_average_crossover
    >>> strategy_ref(moving_average_crossover).name
    'fbt.sample.strategies:moving_average_crossover'
    """
    from fbt.io.factory import load_factory

    if isinstance(strategy, str):
        factory = load_factory(strategy)
        target, _, attr = strategy.rpartition(":")
        if target.endswith(".py") or "/" in target or "\\" in target:
            spec = f"{Path(target).resolve()}:{attr}"
            return StrategyRef(spec, spec, factory)
        return StrategyRef(strategy, strategy, factory)
    if not callable(strategy):
        raise ConfigError(f"strategy: expected a factory returning fbt.Strategy, or a spec 'file.py:factory', "
                          f"got {type(strategy).__name__}")
    module_name = getattr(strategy, "__module__", None)
    qualname = getattr(strategy, "__qualname__", "")
    simple = bool(qualname) and "." not in qualname and "<" not in qualname
    if simple and module_name and module_name != "__main__":
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, qualname, None) is strategy:
            spec = f"{module_name}:{qualname}"
            return StrategyRef(spec, spec, strategy)
    if simple:
        with contextlib.suppress(TypeError, OSError):
            source = inspect.getsourcefile(strategy)
            if source and os.path.isfile(source):
                spec = f"{Path(source).resolve()}:{qualname}"
                return StrategyRef(spec, spec, strategy)
    return StrategyRef(strategy, f"{module_name}.{qualname or type(strategy).__qualname__}", strategy)


def check_params(factory: Callable[..., Any], names: Sequence[str]) -> None:
    """Raise :class:`ConfigError` for a name the factory does not take, or a required one not given."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    label = getattr(factory, "__name__", "the factory")
    parameters = signature.parameters.values()
    known = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"grid: unknown parameter {name!r} for {label}; it takes {', '.join(known) or 'none'}"
                )
    for p in parameters:
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty and p.name not in names:
            raise ConfigError(f"grid: {label} needs a value for {p.name!r}; add it to the grid")


# --------------------------------------------------------------------------------------------------
# Keys and the cache file


# A key is stored in sweep.jsonl and must outlive code moves, so the configuration record is named by
# the path it had when the key format was fixed, not by wherever the class happens to live now.
_KEY_NAMES: dict[type, str] = {RunConfig: "fbt.sweep.worker.RunConfig"}


def _identity(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return _identity(value.item())
    if isinstance(value, tuple | list):
        return [_identity(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _identity(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return _identity(value.value)
    cls: Any = type(value)
    if attrs.has(cls):
        named = named_fields(value)  # a field marked IDENTITY: UNLESS_DEFAULT at its default is left out
        fields = {a.name: _identity(getattr(value, a.name)) for a in attrs.fields(cls)
                  if a in named or a.metadata.get(IDENTITY) is False}
        return {"type": _KEY_NAMES.get(cls) or _qualified(cls), "fields": fields}
    if isinstance(value, functools.partial):
        return {"partial": _identity(value.func), "args": _identity(value.args), "keywords": _identity(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": _qualified(value)}
    return {"object": _qualified(type(value)), "repr": re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))}


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


def run_key(fingerprint: str, strategy: str, params: Mapping[str, Value], config: RunConfig,
            window: tuple[int, int] | None = None) -> str:
    """Return the cache key of one run: sha256 of its data fingerprint, strategy, parameters, configuration.

    >>> a = run_key("d", "s", {"x": 1}, RunConfig())
    >>> a == run_key("d", "s", {"x": 1}, RunConfig()), a == run_key("d", "s", {"x": 2}, RunConfig())
    (True, False)
    """
    from fbt import __version__

    payload = {
        "fbt": __version__,
        "data": fingerprint,
        "window": list(window) if window is not None else None,
        "strategy": strategy,
        "params": {k: _identity(v) for k, v in sorted(params.items())},
        "config": _identity(config),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Cache:
    """``OUT/sweep.jsonl``: one JSON object a line, appended and flushed as runs finish."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None
        self._fh: IO[str] | None = None

    def load(self) -> dict[str, dict[str, Any]]:
        """Return the successful runs recorded so far, by key (a torn last line is ignored)."""
        found: dict[str, dict[str, Any]] = {}
        if self.path is None or not self.path.exists():
            return found
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if (isinstance(record, dict) and isinstance(record.get("key"), str)
                        and record.get("error") is None and isinstance(record.get("statistics"), dict)):
                    found[record["key"]] = record["statistics"]
        return found

    def open(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():  # drop a torn last line left by a killed run
            with open(self.path, "rb+") as raw:
                content = raw.read()
                if content and not content.endswith(b"\n"):
                    raw.truncate(content.rfind(b"\n") + 1)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def append(self, outcome: Outcome, params: Mapping[str, Value], window: tuple[int, int] | None) -> None:
        if self._fh is None:
            return
        record = {"key": outcome.key, "params": dict(params), "window": list(window) if window else None,
                  "statistics": outcome.statistics, "error": outcome.error}
        self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
