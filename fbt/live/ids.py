"""Deterministic client order ids: a live order's name from the run, the bar and its place in the bar.

A live order is named ``fbt-<first 12 hex digits of the run's input fingerprint>-<bar>-<position>``
(:func:`order_ref`), where ``bar`` is the index of the bar whose events created the order and
``position`` the order's place among that bar's orders (0, 1, ...). The name travels to the venue
as IB's ``Order.orderRef`` and comes back on every status and execution of the order, so a
restarted session recognises its own orders by recomputing their names: no counter survives a
session, no UUID is drawn, and the same inputs name the same orders in every process.

Names use only lowercase hex digits, decimal digits and ``-`` (safe for IB's ``orderRef``) and are
canonical: :func:`parse_order_ref` accepts exactly the texts :func:`order_ref` writes.

>>> ref = order_ref("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 41, 0)
>>> ref
'fbt-9f86d081884c-41-0'
>>> parse_order_ref(ref)
OrderRef(fingerprint='9f86d081884c', bar=41, position=0)
"""

from __future__ import annotations

import re

import attrs

from fbt.core.errors import ConfigError

__all__ = ["PREFIX", "PREFIX_DIGITS", "OrderRef", "is_ours", "order_ref", "parse_order_ref"]

#: The text every fbt order id starts with.
PREFIX = "fbt-"

#: How many hex digits of the input fingerprint an order id keeps (48 bits).
PREFIX_DIGITS = 12

_HEX = re.compile(r"[0-9a-f]+")
_REF = re.compile(rf"{PREFIX}([0-9a-f]{{{PREFIX_DIGITS}}})-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)")


@attrs.frozen
class OrderRef:
    """An order id taken apart: the fingerprint's first hex digits, the bar and the place in the bar."""

    fingerprint: str
    bar: int
    position: int


def _index(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"order id: {name}: expected a whole number >= 0, got {value!r}")
    return value


def _prefix(fingerprint: object) -> str:
    if not isinstance(fingerprint, str) or len(fingerprint) < PREFIX_DIGITS or not _HEX.fullmatch(fingerprint):
        raise ConfigError(
            f"order id: fingerprint: expected at least {PREFIX_DIGITS} lowercase hex digits "
            f"(a run's input fingerprint), got {fingerprint!r}"
        )
    return fingerprint[:PREFIX_DIGITS]


def order_ref(input_fingerprint: str, bar: int, position_in_bar: int) -> str:
    """Return the client order id of the order at ``position_in_bar`` among bar ``bar``'s orders.

    >>> order_ref("0123456789abcdef", 0, 2)
    'fbt-0123456789ab-0-2'
    >>> order_ref("not hex at all!", 0, 0)
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: order id: fingerprint: expected at least 12 lowercase hex digits (a run's input fingerprint), got 'not hex at all!'
    """  # noqa: E501
    prefix = _prefix(input_fingerprint)
    return f"{PREFIX}{prefix}-{_index(bar, 'bar')}-{_index(position_in_bar, 'position')}"


def parse_order_ref(text: str) -> OrderRef:
    """Take an order id written by :func:`order_ref` apart; anything else is a :class:`ConfigError`.

    >>> parse_order_ref("fbt-0123456789ab-7-1").bar
    7
    >>> parse_order_ref("fbt-0123456789ab-07-1")
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: order id: expected fbt-<12 hex digits>-<bar>-<position>, got 'fbt-0123456789ab-07-1'
    """
    match = _REF.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"order id: expected {PREFIX}<{PREFIX_DIGITS} hex digits>-<bar>-<position>, got {text!r}")
    return OrderRef(match[1], int(match[2]), int(match[3]))


def is_ours(text: str, input_fingerprint: str) -> bool:
    """Tell whether a venue's order reference names an order of the run with this input fingerprint.

    Orders placed by hand, by another program or by another run (another fingerprint) are not ours.

    >>> fp = "0123456789abcdef"
    >>> is_ours(order_ref(fp, 3, 0), fp), is_ours("manual order", fp), is_ours(order_ref("f" * 12, 3, 0), fp)
    (True, False, False)
    """
    prefix = _prefix(input_fingerprint)
    match = _REF.fullmatch(text) if isinstance(text, str) else None
    return match is not None and match[1] == prefix
