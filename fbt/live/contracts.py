"""Contracts: which of the venue's instruments each fbt symbol trades, as plain frozen records.

A :class:`ContractSpec` holds what Interactive Brokers needs to name a contract (security type,
exchange, primary exchange, currency; for futures the expiry and multiplier) and nothing of a broker
library, so the IB adapter builds its ``ib_async.Contract`` from it and tests need no venue. A
symbol without a configured contract trades as a SMART-routed US-dollar stock
(:func:`default_contract`), as in the book's IB handler.

Contracts are configured per symbol in a TOML or JSON file, one table per fbt symbol::

    [ES]
    sec_type = "FUT"
    exchange = "CME"
    expiry = "202412"
    multiplier = 50

    [BRK_B]
    symbol = "BRK B"          # the venue's symbol, when it differs from fbt's
    primary_exchange = "NYSE"

A contract's ``multiplier`` must agree with the symbol's :class:`fbt.Instrument` when both are
given: the backtest values a position with the instrument's, the venue with the contract's.

>>> c = default_contract("ORCL")
>>> c.sec_type, c.exchange, c.primary_exchange, c.currency, c.multiplier
('STK', 'SMART', '', 'USD', 1.0)
>>> ContractSpec(symbol="ES", sec_type="FUT", exchange="CME", expiry="202412", multiplier=50).multiplier
50.0
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from fbt.core.errors import ConfigError
from fbt.models.instrument import Instrument

__all__ = ["CONTRACT_FIELDS", "SEC_TYPES", "ContractSpec", "check_instruments", "default_contract", "load_contracts"]

#: Security types a contract may have (IB's ``secType``): stock, future, spot FX, CFD, index, commodity.
SEC_TYPES = ("STK", "FUT", "CASH", "CFD", "IND", "CMDTY")

#: Security types that need an expiry.
_DATED = ("FUT",)

_EXPIRY = re.compile(r"\d{6}(\d{2})?")


def _text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{attribute.name}: expected text, got {value!r}")


def _nonempty(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    _text(instance, attribute, value)
    if not str(value).strip():
        raise ConfigError(f"{attribute.name}: expected a non-empty text, got {value!r}")


def _sec_type(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in SEC_TYPES:
        raise ConfigError(f"sec_type: expected one of {', '.join(SEC_TYPES)}, got {value!r}")


def _currency(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not (isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()):
        raise ConfigError(f"currency: expected a three-letter code such as 'USD', got {value!r}")


def _expiry(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    _text(instance, attribute, value)
    if value == "":
        return
    text = str(value)
    good = _EXPIRY.fullmatch(text) is not None and 1 <= int(text[4:6]) <= 12
    if not good or (len(text) == 8 and not 1 <= int(text[6:]) <= 31):
        raise ConfigError(f"expiry: expected YYYYMM or YYYYMMDD, got {value!r}")


def _multiplier(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"multiplier: expected a positive finite number, got {value!r}")
    return float(value)


@attrs.frozen(kw_only=True)
class ContractSpec:
    """One venue contract: what IB's ``Contract`` needs, with its defaults a SMART-routed USD stock.

    - ``symbol``: the venue's symbol (usually fbt's);
    - ``sec_type``: one of :data:`SEC_TYPES`; ``FUT`` needs ``expiry``;
    - ``exchange``: where orders are routed (``SMART``: IB's best-execution router);
    - ``primary_exchange``: the listing exchange, to tell apart a symbol listed twice ("" none);
    - ``currency``: three-letter code;
    - ``expiry``: futures only, ``YYYYMM`` (the contract month) or ``YYYYMMDD``;
    - ``multiplier``: currency per point per unit (:class:`fbt.Instrument`'s), 1 for stocks;
    - ``local_symbol``, ``trading_class``: the venue's exact names, "" to let it resolve them.

    >>> ContractSpec(symbol="ES", sec_type="FUT", exchange="CME")
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: expiry: a FUT contract needs an expiry (YYYYMM or YYYYMMDD)
    >>> ContractSpec(symbol="A", currency="usd")
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: currency: expected a three-letter code such as 'USD', got 'usd'
    """

    symbol: str = attrs.field(validator=_nonempty)
    sec_type: str = attrs.field(default="STK", validator=_sec_type)
    exchange: str = attrs.field(default="SMART", validator=_nonempty)
    primary_exchange: str = attrs.field(default="", validator=_text)
    currency: str = attrs.field(default="USD", validator=_currency)
    expiry: str = attrs.field(default="", validator=_expiry)
    multiplier: float = attrs.field(default=1.0, converter=_multiplier)
    local_symbol: str = attrs.field(default="", validator=_text)
    trading_class: str = attrs.field(default="", validator=_text)

    def __attrs_post_init__(self) -> None:
        if self.sec_type in _DATED and not self.expiry:
            raise ConfigError(f"expiry: a {self.sec_type} contract needs an expiry (YYYYMM or YYYYMMDD)")
        if self.sec_type not in _DATED and self.expiry:
            raise ConfigError(f"expiry: a {self.sec_type} contract has no expiry, got {self.expiry!r}")


#: The fields a contract file may set for a symbol.
CONTRACT_FIELDS = tuple(a.name for a in attrs.fields(ContractSpec))


def default_contract(symbol: str) -> ContractSpec:
    """Return the contract of a symbol nobody configured: a SMART-routed US-dollar stock.

    >>> default_contract("AAPL").exchange, default_contract("AAPL").currency
    ('SMART', 'USD')
    """
    return ContractSpec(symbol=symbol)


def _read(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the contracts file: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not a valid TOML file: {exc}") from None
    if suffix == ".json":
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: not a valid JSON file: {exc}") from None
    raise ConfigError(f"{path}: expected a contracts file ending in .toml or .json")


def _spec(file: str, key: str, table: object) -> ContractSpec:
    where = f"{file}: {key}"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of contract fields, got {table!r}")
    unknown = sorted(set(table) - set(CONTRACT_FIELDS))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], CONTRACT_FIELDS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: {unknown[0]}: unknown field{hint}; a contract takes {', '.join(CONTRACT_FIELDS)}")
    fields = {"symbol": key, **table}
    try:
        return ContractSpec(**fields)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check_instruments(
    contracts: Mapping[str, ContractSpec], instruments: Mapping[str, Instrument], where: str = "contracts"
) -> None:
    """Raise :class:`~fbt.core.errors.ConfigError` where a contract's multiplier is not its instrument's.

    >>> check_instruments({"ES": ContractSpec(symbol="ES", sec_type="FUT", exchange="CME", expiry="202412")},
    ...                   {"ES": Instrument(multiplier=50)})
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: contracts: ES: multiplier: the contract says 1, the instrument (--instrument) says 50
    """
    for symbol, contract in contracts.items():
        instrument = instruments.get(symbol)
        if instrument is not None and instrument.multiplier != contract.multiplier:
            raise ConfigError(
                f"{where}: {symbol}: multiplier: the contract says {contract.multiplier:g}, "
                f"the instrument (--instrument) says {instrument.multiplier:g}"
            )


def load_contracts(
    path: str | Path | None, symbols: Iterable[str], *, instruments: Mapping[str, Instrument] | None = None
) -> dict[str, ContractSpec]:
    """Return the contract of each symbol, from a TOML or JSON file ``{SYMBOL: {field: value}}``.

    ``path`` None reads no file. Symbols the file does not name get :func:`default_contract`; the
    file may name symbols the run does not trade. A contract that gives no ``multiplier`` takes
    the symbol's instrument's; one that gives it must agree with the instrument. A symbol with an
    instrument multiplier other than 1 needs a contract in the file (a stock's is 1).

    >>> load_contracts(None, ["A"])["A"] == default_contract("A")
    True
    """
    instruments = dict(instruments or {})
    symbols = list(symbols)
    where = "contracts"
    tables: Mapping[str, object] = {}
    if path is not None:
        path = Path(path)
        where = str(path)
        data = _read(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a table {{SYMBOL: {{field: value}}}}, got {type(data).__name__}")
        tables = data
    out: dict[str, ContractSpec] = {}
    for symbol in symbols:
        table = tables.get(symbol)
        instrument = instruments.get(symbol)
        if table is None:
            if instrument is not None and instrument.multiplier != 1.0:
                raise ConfigError(
                    f"{where}: {symbol}: the instrument's multiplier is {instrument.multiplier:g} but there is no "
                    f"contract for it (a stock's is 1); add one with its sec_type, exchange, expiry and multiplier"
                )
            out[symbol] = default_contract(symbol)
            continue
        spec = _spec(where, symbol, table)
        if isinstance(table, Mapping) and "multiplier" not in table and instrument is not None:
            spec = attrs.evolve(spec, multiplier=instrument.multiplier)
        out[symbol] = spec
    check_instruments(out, instruments, where)
    return out
