"""The identity rule of configuration records: which fields name a run.

A run's identity (the journal's header, the input fingerprint, the sweep cache key) is made of the
fields of its configuration and of the records inside it. A field's ``attrs`` metadata under
:data:`IDENTITY` says how it enters:

- absent or ``True``: always;
- ``False``: never (the field changes how a run is measured or kept, not its events);
- :data:`UNLESS_DEFAULT`: only when its value differs from its default, so that adding such a
  field leaves every earlier run's identity exactly as it was.

>>> import attrs
>>> @attrs.frozen
... class Terms:
...     size: float = 1.0
...     margin: float | None = attrs.field(default=None, metadata={IDENTITY: UNLESS_DEFAULT})
>>> [a.name for a in named_fields(Terms())], [a.name for a in named_fields(Terms(margin=5.0))]
(['size'], ['size', 'margin'])
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["IDENTITY", "UNLESS_DEFAULT", "named_fields"]

#: metadata key of a configuration field: ``False`` for a field left out of a run's identity,
#: :data:`UNLESS_DEFAULT` for one left out while it holds its default
IDENTITY = "fbt.identity"

#: the value of :data:`IDENTITY` for a field that enters a run's identity only when not at its default
UNLESS_DEFAULT = "unless-default"


def _at_default(field: attrs.Attribute, value: object) -> bool:  # type: ignore[type-arg]
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return False
    return bool(value is default or (type(value) is type(default) and value == default))


def named_fields(record: Any) -> tuple[attrs.Attribute, ...]:  # type: ignore[type-arg]
    """The fields of an ``attrs`` record that enter its identity, in declaration order (rules above)."""
    out = []
    for field in attrs.fields(type(record)):
        rule = field.metadata.get(IDENTITY, True)
        if rule is False or (rule == UNLESS_DEFAULT and _at_default(field, getattr(record, field.name))):
            continue
        out.append(field)
    return tuple(out)
