"""Models by name: ``NAME[:PARAMS]`` text (as the command line takes it) to model records, and back.

``PARAMS`` is ``VALUE`` for the model's first parameter, or ``NAME=VALUE`` pairs separated by
commas (the first may be a bare value): ``fixed-bps:5``, ``volatility:target=0.15,window=60``.
Commission models add with ``+``: ``ib-fixed+per-share:0.0002``.

>>> parse_slippage("fixed-bps:5")
FixedBps(bps=5.0)
>>> describe(parse_commission("ib-fixed+per-share:rate=0.0002"))
'ib-fixed + per-share(rate=0.0002)'
>>> parse_sizing("precent:10")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fbt.core.errors.ConfigError: sizing: unknown model 'precent'; did you mean 'percent'? Known: all-cash, book, cash, ...
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import attrs

from fbt.core.errors import ConfigError
from fbt.models.commission import (
    CommissionModel,
    IBFixed,
    IBTiered,
    PercentOfValue,
    PerShare,
    PerTrade,
    combined,
    ib_seed_commission,
    zero_commission,
)
from fbt.models.sizing import (
    AllCash,
    FixedCash,
    FixedQuantity,
    Kelly,
    PercentOfEquity,
    SizingModel,
    TargetWeight,
    VolatilityTarget,
)
from fbt.models.slippage import FixedBps, HalfSpread, SlippageModel, SquareRootImpact, VolumeShare

__all__ = ["COMMISSIONS", "SIZINGS", "SLIPPAGES", "describe", "parse_commission", "parse_sizing", "parse_slippage"]

#: Commission models by name: a record class, or a plain function (no parameters).
COMMISSIONS: Mapping[str, Any] = {
    "ib-seed": ib_seed_commission,
    "ib-fixed": IBFixed,
    "ib-tiered": IBTiered,
    "percent": PercentOfValue,
    "per-share": PerShare,
    "per-trade": PerTrade,
    "zero": zero_commission,
}
#: Slippage models by name; ``none`` is no slippage.
SLIPPAGES: Mapping[str, Any] = {
    "none": None,
    "fixed-bps": FixedBps,
    "half-spread": HalfSpread,
    "volume-share": VolumeShare,
    "sqrt-impact": SquareRootImpact,
}
#: Sizing models by name; ``book`` is the book's naive sizing (``Config.quantity`` units, strength ignored).
SIZINGS: Mapping[str, Any] = {
    "book": None,
    "fixed": FixedQuantity,
    "cash": FixedCash,
    "all-cash": AllCash,
    "percent": PercentOfEquity,
    "target-weight": TargetWeight,
    "volatility": VolatilityTarget,
    "kelly": Kelly,
}
_NAMES: dict[object, str] = {
    v: k for table in (COMMISSIONS, SLIPPAGES, SIZINGS) for k, v in table.items() if v is not None
}


def _value(what: str, name: str, field: attrs.Attribute[Any], text: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    try:
        if kind == "int":
            return int(text)
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        return float(text)
    except ValueError:
        raise ConfigError(f"{what}: {name}: {field.name}: expected a {kind or 'number'}, got {text!r}") from None


def _parse(what: str, spec: str, table: Mapping[str, Any]) -> Any:
    name, _, params = spec.strip().partition(":")
    name = name.strip()
    if name not in table:
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ";"
        raise ConfigError(f"{what}: unknown model {name!r}{hint} Known: {', '.join(sorted(table))}")
    made = table[name]
    if made is None or not isinstance(made, type):
        if params.strip():
            raise ConfigError(f"{what}: {name} takes no parameters, got {params!r}")
        return made
    fields = {f.name: f for f in attrs.fields(made) if f.init}
    order = list(fields)
    kwargs: dict[str, Any] = {}
    for k, item in enumerate(p.strip() for p in params.split(",") if p.strip()):
        key, sep, text = item.partition("=")
        if not sep:
            if k != 0 or not order:
                raise ConfigError(f"{what}: {name}: expected NAME=VALUE, got {item!r}")
            key, text = order[0], item
        key = key.strip()
        if key not in fields:
            raise ConfigError(f"{what}: {name}: unknown parameter {key!r}; it takes {', '.join(order) or 'none'}")
        kwargs[key] = _value(what, name, fields[key], text.strip())
    try:
        return made(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}: {name}: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{what}: {name}: {exc}") from None


def parse_commission(spec: str, *, what: str = "commission") -> CommissionModel:
    """Return the commission model ``spec`` names; ``A+B`` charges both on every fill."""
    parts: list[CommissionModel] = [_parse(what, part, COMMISSIONS) for part in spec.split("+")]
    return parts[0] if len(parts) == 1 else combined(*parts)


def parse_slippage(spec: str, *, what: str = "slippage") -> SlippageModel | None:
    """Return the slippage model ``spec`` names (None for ``none``)."""
    return _parse(what, spec, SLIPPAGES)  # type: ignore[no-any-return]


def parse_sizing(spec: str, *, what: str = "sizing") -> SizingModel | None:
    """Return the sizing model ``spec`` names (None for ``book``)."""
    return _parse(what, spec, SIZINGS)  # type: ignore[no-any-return]


def describe(model: object, *, none: str = "none") -> str:
    """Return a model's name as ``parse_*`` reads it, with the parameters that differ from the defaults.

    >>> describe(ib_seed_commission), describe(FixedBps(bps=2)), describe(None, none="book")
    ('ib-seed', 'fixed-bps(bps=2)', 'book')
    """
    if model is None:
        return none
    parts = getattr(model, "parts", None)
    if isinstance(parts, tuple):
        return " + ".join(describe(p) for p in parts)
    cls = type(model)
    try:
        name = _NAMES.get(cls if attrs.has(cls) else model)
    except TypeError:  # an unhashable user model
        name = None
    if name is None:
        name = getattr(model, "__name__", None) or cls.__name__
    if not attrs.has(cls):
        return name
    changed = [f"{f.name}={getattr(model, f.name)!r}" for f in attrs.fields(cls)
               if f.init and f.default is not attrs.NOTHING and getattr(model, f.name) != f.default]
    return f"{name}({', '.join(changed)})" if changed else name

