"""Fingerprints: hashes of the data, the inputs and the event log that identify a run."""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from fbt.core.market import FIELDS, BarData
from fbt.core.strategy import Strategy
from fbt.journal.blocks import BLOCK, encode_block
from fbt.journal.codec import _ADDRESS, _EXACT, JournalError, _plain, _sha256, canonical_json
from fbt.journal.record import Fingerprints, JournalHeader
from fbt.kernel.config import Config
from fbt.kernel.loop import Run
from fbt.models.identity import named_fields
from fbt.version import __version__

# --- fingerprints -------------------------------------------------------------------------------

_DATA_FINGERPRINTS: weakref.WeakKeyDictionary[BarData, str] = weakref.WeakKeyDictionary()
_RUN_FINGERPRINTS: weakref.WeakKeyDictionary[Run, Fingerprints] = weakref.WeakKeyDictionary()


def data_fingerprint(data: BarData) -> str:
    """Return the SHA-256 of the market data's content (symbols, timestamps, values, real mask).

    Where the data came from (paths, file names) does not enter; NaN has one canonical form.

    >>> import numpy as np
    >>> def make():
    ...     return BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64),
    ...                                 columns={"close": np.array([[1.0, 2.0, 3.0]])})
    >>> data_fingerprint(make()) == data_fingerprint(make())
    True
    """
    known = _DATA_FINGERPRINTS.get(data)
    if known is not None:
        return known
    h = hashlib.sha256()
    h.update(canonical_json({"fields": list(FIELDS), "n_bars": len(data), "symbols": list(data.symbols)}).encode())
    h.update(b"\ntimestamps\n")
    h.update(np.ascontiguousarray(data.timestamps, dtype="<i8").tobytes())
    values = np.ascontiguousarray(data.values, dtype="<f8")
    nan = np.isnan(values)
    if nan.any():
        values = np.where(nan, np.nan, values)
    h.update(b"\nvalues\n")
    h.update(values.data)  # the array's own bytes, hashed in place (no copy of the data)
    h.update(b"\nreal\n")
    h.update(np.ascontiguousarray(data.real, dtype=np.bool_).tobytes())
    digest = h.hexdigest()
    _DATA_FINGERPRINTS[data] = digest
    return digest


def _identity(value: object) -> object:
    """Plain data naming a parameter or configuration value (lenient: any value gets a stable name)."""
    cls = value.__class__
    if cls in _EXACT:
        return value
    if isinstance(value, enum.Enum):
        return _identity(value.value)
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"array": hashlib.sha256(array.tobytes()).hexdigest(), "dtype": array.dtype.str,
                "shape": list(array.shape)}
    if isinstance(value, np.generic):
        return _identity(value.item())
    if isinstance(value, bool | int | float | str):
        return _plain(value)
    if isinstance(value, tuple | list):
        return [_identity(v) for v in value]
    if isinstance(value, Mapping):
        return {"mapping": sorted(([_identity(k), _identity(v)] for k, v in value.items()), key=canonical_json)}
    if isinstance(value, set | frozenset):
        return {"set": sorted((_identity(v) for v in value), key=canonical_json)}
    if attrs.has(cls):
        return {"type": _qualified(cls), "fields": {a.name: _identity(getattr(value, a.name))
                                                    for a in named_fields(value)}}
    if isinstance(value, functools.partial):
        return {"partial": _identity(value.func), "args": _identity(value.args), "keywords": _identity(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": _qualified(value)}
    return {"object": _qualified(cls), "repr": _ADDRESS.sub("", repr(value))}


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def strategy_text(strategy: Strategy[Any]) -> str:
    return canonical_json({"name": strategy.name, "params": _identity(strategy.params)})


def config_text(config: Config) -> str:
    """The configuration's identity text: the fields that name the run (:func:`fbt.models.identity.named_fields`)."""
    return canonical_json({a.name: _identity(getattr(config, a.name)) for a in named_fields(config)})


def input_hash(data: str | None, strategies: Sequence[str], config: str) -> str:
    return _sha256(canonical_json({"config": json.loads(config), "data": data,
                                   "strategies": [json.loads(s) for s in strategies]}))


def input_fingerprint(strategies: Strategy[Any] | Sequence[Strategy[Any]], data: BarData,
                      config: Config | None = None) -> str:
    """Return the hash of a run's inputs: the data's content, the strategies' names and parameters,
    and the configuration.

    >>> import numpy as np, fbt
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(3, dtype=np.int64),
    ...                             columns={"close": np.array([[1.0, 2.0, 3.0]])})
    >>> from fbt.sample.strategies import moving_average_crossover as mac
    >>> input_fingerprint(mac(2, 3), data) == input_fingerprint(mac(2, 3), data, Config())
    True
    >>> input_fingerprint(mac(2, 3), data) == input_fingerprint(mac(2, 4), data)
    False
    """
    chosen = (strategies,) if isinstance(strategies, Strategy) else tuple(strategies)
    return input_hash(data_fingerprint(data), [strategy_text(s) for s in chosen], config_text(config or Config()))


def as_run(source: object) -> Run:
    if isinstance(source, Run):
        return source
    inner = getattr(source, "run", None)
    if isinstance(inner, Run):
        return inner
    raise JournalError(f"expected an fbt.Result or fbt.kernel.loop.Run, got {type(source).__name__}")


def _header_for(run: Run, market: str) -> JournalHeader:
    if market not in ("reference", "inline"):
        raise JournalError(f"market: expected 'reference' or 'inline', got {market!r}")
    strategies = tuple(strategy_text(s) for s in run.strategies)
    config = config_text(run.config)
    data = data_fingerprint(run.data)
    return JournalHeader(
        fbt_version=fbt_version(),
        input_fingerprint=input_hash(data, strategies, config),
        data_fingerprint=data,
        n_bars=len(run.data),
        symbols=run.data.symbols,
        time_format=run.data.time_format,
        strategies=strategies,
        config=config,
        market=market,
    )


def fbt_version() -> str:
    return __version__


def remember_fingerprints(run: Run, prints: Fingerprints) -> None:
    """Record fingerprints computed elsewhere (by a journal written in another process) for ``run``."""
    _RUN_FINGERPRINTS[run] = prints


def fingerprints(source: object) -> Fingerprints:
    """Return a run's input and events fingerprints (from an ``fbt.Result`` or a fold ``Run``).

    >>> import numpy as np, fbt
    >>> data = BarData.from_columns(symbols=("A",), timestamps=np.arange(30, dtype=np.int64),
    ...                             columns={"close": 10.0 + np.sin(np.arange(30.0)).reshape(1, 30)})
    >>> from fbt.sample.strategies import moving_average_crossover as mac
    >>> a, b = fbt.run(mac(2, 5), data), fbt.run(mac(2, 5), data)
    >>> fingerprints(a) == fingerprints(b)
    True
    >>> len(fingerprints(a).events_fingerprint)
    64
    """
    run = as_run(source)
    known = _RUN_FINGERPRINTS.get(run)
    if known is not None:
        return known
    h = hashlib.sha256()
    for lo in range(0, len(run.events), BLOCK):
        h.update(encode_block(lo, run.event_bars[lo : lo + BLOCK], run.events[lo : lo + BLOCK]))
    header = _header_for(run, "reference")
    assert header.input_fingerprint is not None
    prints = Fingerprints(input_fingerprint=header.input_fingerprint, events_fingerprint=h.hexdigest())
    _RUN_FINGERPRINTS[run] = prints
    return prints
